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
use crate::persist::{self, mode_hook};

/// One ISA's copy routines for one flush instruction. `nt`: streaming
/// stores for whole lines (and 8-byte ones for parts of 8 bytes or more).
/// Neither routine fences.
pub struct Routines {
    pub memmove: unsafe fn(dst: *mut u8, src: *const u8, len: usize, nt: bool),
    pub memset: unsafe fn(dst: *mut u8, c: u8, len: usize, nt: bool),
}

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

/// Overlapping moves shorter than this use temporal stores under the
/// default policy: the source reads have just pulled the destination's
/// lines into the cache, and a streaming store to a cached line must first
/// evict it (on the development machine, AMD EPYC, a 64-byte overlapping
/// move took ~350 ns streamed against ~170 ns stored and written back).
const OVERLAP_TEMPORAL_BELOW: usize = 4096;

/// Streaming stores or not, from the flags, the size, whether the ranges
/// overlap and the load-time policy.
#[inline]
fn non_temporal(cfg: &Config, len: usize, flags: u32, overlap: bool) -> bool {
    if !cfg.movnt {
        return false;
    }
    if flags & (PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_WC) != 0 {
        return true;
    }
    if flags & (PMEM_F_MEM_TEMPORAL | PMEM_F_MEM_WB) != 0 {
        return false;
    }
    if cfg.small_movnt {
        // Our own policy (the user did not set a threshold).
        len >= 8 && !(overlap && len < OVERLAP_TEMPORAL_BELOW)
    } else {
        len >= cfg.movnt_threshold
    }
}

/// Whether `[dst, dst + len)` and `[src, src + len)` intersect.
#[inline(always)]
fn overlapping(dst: *mut u8, src: *const u8, len: usize) -> bool {
    (dst as usize).wrapping_sub(src as usize) < len
        || (src as usize).wrapping_sub(dst as usize) < len
}

/// The copy shared by memmove and memset: `op` gets the routines and the
/// store kind; flushing, fencing and the mode hooks are handled here.
#[inline(always)]
fn run(dst: *mut u8, len: usize, flags: u32, overlap: bool, op: impl FnOnce(&Routines, bool)) {
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
    op(
        routines(cfg.isa, cfg.flush),
        non_temporal(cfg, len, flags, overlap),
    );
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
    run(
        dst,
        len,
        flags,
        overlapping(dst, src, len),
        |r, nt| unsafe { (r.memmove)(dst, src, len, nt) },
    );
}

/// # Safety
/// `dst` must be writable for `len` bytes.
#[inline]
pub unsafe fn memset(dst: *mut u8, c: u8, len: usize, flags: u32) {
    // SAFETY: as in memmove.
    run(dst, len, flags, false, |r, nt| unsafe {
        (r.memset)(dst, c, len, nt)
    });
}
