//! Everything that names an instruction set, behind one interface.
//!
//! One module per architecture (as PMDK's `src/libpmem2/<arch>/` and
//! memchr's `src/arch/`); above this module nothing says
//! `cfg(target_arch)`. Each module provides the same items, re-exported
//! below, so a target that lacks one fails to build right here:
//! - [`Features`] and [`detect`]: what this CPU (and kernel) supports;
//! - [`FlushKind`]: the cache-line write-back instructions (always with
//!   `None`), [`flush_range`] to write back a range with one of them, and
//!   [`best_flush`]: the strongest one the CPU has, after the
//!   architecture's own PMEM_* switches;
//! - [`fence`]: what pmem_drain issues so that earlier write-backs (and
//!   streaming stores) are complete;
//! - [`CopyIsa`], [`best_isa`] and [`routines`]: the copy routines by
//!   instruction set and flush instruction;
//! - [`policy_key`]: the CPU's key into the policy table
//!   ([`crate::policy`], which stays portable: x86_64 reads its MOVDIR64B
//!   default in `best_isa` and its streaming knobs in the copies);
//! - facts for the policy and pmem_get_attr: whether the copies have
//!   streaming stores ([`STREAMING_STORES`]), whether drain must fence for
//!   a choice ([`fence_required`]) and the power-fail atomic store size
//!   ([`ATOMIC_STORE`]).
//!
//! The portable parts live here too: the [`Flusher`] trait and its line
//! loop, the [`Routines`] table entry, the copy [`source`]s and the
//! [`generic`] copies (plain stores, then the architecture's write-back over
//! the range) that every target but x86_64 uses.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

// x86_64 has its own copy template; the portable copies are still built
// and unit-tested there.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) mod generic;
pub(crate) mod source;

#[cfg(any(target_arch = "riscv64", target_arch = "loongarch64"))]
mod fence_only;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
use aarch64 as imp;

#[cfg(target_arch = "powerpc64")]
mod powerpc64;
#[cfg(target_arch = "powerpc64")]
use powerpc64 as imp;

#[cfg(target_arch = "riscv64")]
mod riscv64;
#[cfg(target_arch = "riscv64")]
use riscv64 as imp;

#[cfg(target_arch = "loongarch64")]
mod loongarch64;
#[cfg(target_arch = "loongarch64")]
use loongarch64 as imp;

// x86_64 and 32-bit x86 share detection and write-back instructions; only
// x86_64 has the SIMD copy template (see x86_64/mod.rs).
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
pub(crate) mod x86_64;
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
use x86_64 as imp;

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "powerpc64",
    target_arch = "riscv64",
    target_arch = "loongarch64"
)))]
compile_error!("libpmem knows no cache write-back or fence for this architecture");

pub use imp::{
    best_flush, best_isa, detect, fence, fence_required, policy_key, routines, CopyIsa, Features,
    FlushKind, ATOMIC_STORE, STREAMING_STORES,
};

/// The write-back granularity: every flush loop steps by this much. Where
/// a CPU's lines are longer (some aarch64 and POWER parts have 128 bytes)
/// this writes some lines back twice, never one too few.
pub const CACHELINE: usize = 64;

/// A PMEM_* on/off switch as the policy parsed it: `Some(true)` for "1",
/// `Some(false)` for "0", `None` when unset (or unreadable).
pub type Switch<'a> = &'a dyn Fn(&str) -> Option<bool>;

/// One cache-line write-back instruction (or none), as a zero-sized type,
/// so the copy routines can be generated per instruction with no run-time
/// choice.
pub trait Flusher {
    const KIND: FlushKind;

    /// Writes back the cache line holding `p`.
    ///
    /// # Safety
    /// `p` must point into mapped memory.
    unsafe fn line(p: *const u8);
}

/// No write-back: eADR platforms, PMEM_NO_FLUSH=1, PMEM_F_MEM_NOFLUSH.
pub struct NoFlush;

impl Flusher for NoFlush {
    const KIND: FlushKind = FlushKind::None;

    #[inline(always)]
    unsafe fn line(_: *const u8) {}
}

/// Writes back every line that overlaps `[addr, addr + len)` with `F`.
///
/// # Safety
/// The range must be mapped, `addr + len` must not pass the end of the
/// address space (callers check with `crate::range`), and `F`'s instruction
/// must be supported by this CPU.
#[inline(always)]
pub unsafe fn flush_lines<F: Flusher>(addr: *const u8, len: usize) {
    if F::KIND == FlushKind::None || len == 0 {
        return;
    }
    let end = addr as usize + len;
    let mut line = addr as usize & !(CACHELINE - 1);
    while line < end {
        // SAFETY: `line` lies in a line that overlaps the caller's range.
        unsafe { F::line(line as *const u8) };
        line += CACHELINE;
    }
}

/// Writes back every line that overlaps `[addr, addr + len)` with the
/// instruction `kind` chosen at run time.
///
/// # Safety
/// As [`flush_lines`]: the range is mapped and does not wrap, and `kind`
/// is supported by this CPU.
#[inline]
pub unsafe fn flush_range(kind: FlushKind, addr: *const u8, len: usize) {
    // SAFETY: the architecture's flush_range has our contract, passed on.
    unsafe { imp::flush_range(kind, addr, len) }
}

/// How one copy stores: decided per call from the flags, the size and
/// the load-time policy (`crate::policy`), passed in a register. Copies
/// without streaming stores (`STREAMING_STORES` false) ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stores {
    /// Streaming stores for whole lines.
    pub nt: bool,
    /// With `nt`: also 8-byte streaming stores for partial lines of 8 bytes
    /// or more (copies up to a line, or up to 1 KiB), instead of temporal
    /// stores and a write-back.
    pub partial: bool,
    /// With `nt`: long forward copies prefetch their source this many
    /// lines ahead (0: no prefetch).
    pub prefetch: u8,
    /// With `nt`, for disjoint ranges: the partial head and tail lines are
    /// stored and written back before the whole lines stream (else head,
    /// lines, tail, as PMDK does).
    pub parts_first: bool,
}

impl Stores {
    /// Temporal stores, each line written back.
    pub const TEMPORAL: Stores = Stores {
        nt: false,
        partial: false,
        prefetch: 0,
        parts_first: false,
    };
    /// PMDK's streaming copy: whole lines streamed, partial lines temporal.
    pub const NT: Stores = Stores {
        nt: true,
        partial: false,
        prefetch: 0,
        parts_first: false,
    };
}

/// One instruction set's copy routines for one flush instruction, storing
/// as [`Stores`] says. Neither routine fences.
pub struct Routines {
    /// # Safety
    /// The CPU supports the routine's instruction set; `src` readable and
    /// `dst` writable for `len` bytes (they may overlap).
    pub memmove: unsafe fn(dst: *mut u8, src: *const u8, len: usize, st: Stores),
    /// # Safety
    /// The CPU supports the routine's instruction set; `dst` writable for
    /// `len` bytes.
    pub memset: unsafe fn(dst: *mut u8, c: u8, len: usize, st: Stores),
}
