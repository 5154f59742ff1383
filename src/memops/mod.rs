//! pmem_memmove / pmem_memcpy / pmem_memset: pick temporal or streaming
//! stores and the routine for the load-time ISA and flush instruction,
//! then fence. The routines come from one template (`template.rs`),
//! instantiated per ISA (`isa.rs`).

mod isa;
mod template;

use crate::cpu::{self, Config, CopyIsa, FlushKind};
use crate::ffi::consts::{
    PMEM_F_MEM_NODRAIN, PMEM_F_MEM_NOFLUSH, PMEM_F_MEM_NONTEMPORAL, PMEM_F_MEM_TEMPORAL,
    PMEM_F_MEM_WB, PMEM_F_MEM_WC,
};
use crate::persist::{self, mode_hook, CACHELINE};

/// One ISA's copy routines for one flush instruction. `nt`: streaming
/// stores for whole lines (and 8-byte ones for parts of 8 bytes or more).
/// Neither routine fences.
pub struct Routines {
    pub memmove: unsafe fn(dst: *mut u8, src: *const u8, len: usize, nt: bool),
    pub memset: unsafe fn(dst: *mut u8, c: u8, len: usize, nt: bool),
}

/// memset's source: four lines of the fill byte (a forward streaming
/// round reads four lines). Read only through raw pointers.
#[repr(align(64))]
pub(crate) struct Pattern(#[allow(dead_code)] pub(crate) [u8; 4 * CACHELINE]);

static TABLE: [[Routines; FlushKind::COUNT]; CopyIsa::COUNT] = [
    isa::sse2::ROUTINES,
    isa::avx::ROUTINES,
    isa::avx512f::ROUTINES,
    isa::movdir64b::ROUTINES,
];

/// The routines for `isa` and `flush`. Calling them is only sound when
/// `isa.supported(&cpu::detect())`.
#[inline]
pub fn routines(isa: CopyIsa, flush: FlushKind) -> &'static Routines {
    &TABLE[isa as usize][flush as usize]
}

/// Streaming stores or not, from the flags, the size and the load-time policy.
#[inline]
fn non_temporal(cfg: &Config, len: usize, flags: u32) -> bool {
    if !cfg.movnt {
        return false;
    }
    if flags & (PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_WC) != 0 {
        return true;
    }
    if flags & (PMEM_F_MEM_TEMPORAL | PMEM_F_MEM_WB) != 0 {
        return false;
    }
    len >= cfg.movnt_threshold || (cfg.small_movnt && len >= 8)
}

/// The copy shared by memmove and memset: `op` gets the routines and the
/// store kind; flushing, fencing and the mode hooks are handled here.
#[inline(always)]
fn run(dst: *mut u8, len: usize, flags: u32, op: impl FnOnce(&Routines, bool)) {
    let cfg = cpu::config();
    if mode_hook::current().is_some() {
        // The mode makes the range durable its own way: one flush call
        // per operation, so it sees each pmem_mem* call as one point.
        op(routines(cfg.isa, FlushKind::None), false);
        if flags & PMEM_F_MEM_NOFLUSH == 0 {
            persist::flush(dst, len);
        }
        if flags & PMEM_F_MEM_NODRAIN == 0 {
            persist::drain();
        }
        return;
    }
    if flags & PMEM_F_MEM_NOFLUSH != 0 {
        // NOFLUSH implies NODRAIN (pmem_memmove(3)).
        return op(routines(cfg.isa, FlushKind::None), false);
    }
    op(routines(cfg.isa, cfg.flush), non_temporal(cfg, len, flags));
    if flags & PMEM_F_MEM_NODRAIN == 0 {
        persist::fence();
    }
}

/// # Safety
/// `dst` must be writable and `src` readable for `len` bytes; they may overlap.
#[inline]
pub unsafe fn memmove(dst: *mut u8, src: *const u8, len: usize, flags: u32) {
    // SAFETY: the caller's contract; the routine's ISA is supported (the
    // load-time choice only picks what CPUID reported).
    run(dst, len, flags, |r, nt| unsafe {
        (r.memmove)(dst, src, len, nt)
    });
}

/// # Safety
/// `dst` must be writable for `len` bytes.
#[inline]
pub unsafe fn memset(dst: *mut u8, c: u8, len: usize, flags: u32) {
    // SAFETY: as in memmove.
    run(dst, len, flags, |r, nt| unsafe {
        (r.memset)(dst, c, len, nt)
    });
}
