//! The cache-line write-back instructions, one zero-sized type each, so the
//! copy routines can be generated per instruction with no run-time choice.

use super::CACHELINE;
use crate::cpu::FlushKind;

/// One cache-line write-back instruction (or none).
pub trait Flusher {
    const KIND: FlushKind;

    /// Writes back the cache line holding `p`.
    ///
    /// # Safety
    /// `p` must point into mapped memory.
    unsafe fn line(p: *const u8);
}

/// Inline asm (not intrinsics) so the instruction inlines into code built
/// for any target features. No `nomem`: it must not move across stores.
macro_rules! flusher {
    ($name:ident, $kind:ident, $insn:literal) => {
        pub struct $name;

        impl Flusher for $name {
            const KIND: FlushKind = FlushKind::$kind;

            #[inline(always)]
            unsafe fn line(p: *const u8) {
                // SAFETY: the caller guarantees `p` is mapped; the
                // instruction only writes back (or evicts) the line.
                unsafe {
                    core::arch::asm!(concat!($insn, " byte ptr [{0}]"), in(reg) p,
                        options(nostack, preserves_flags))
                };
            }
        }
    };
}

flusher!(Clwb, Clwb, "clwb");
flusher!(Clflushopt, Clflushopt, "clflushopt");
flusher!(Clflush, Clflush, "clflush");

/// No write-back: eADR platforms, PMEM_NO_FLUSH=1, PMEM_F_MEM_NOFLUSH.
pub struct NoFlush;

impl Flusher for NoFlush {
    const KIND: FlushKind = FlushKind::None;

    #[inline(always)]
    unsafe fn line(_: *const u8) {}
}

/// Writes back every line that overlaps `[addr, addr + len)`.
///
/// # Safety
/// The range must be mapped.
#[inline(always)]
pub unsafe fn range<F: Flusher>(addr: *const u8, len: usize) {
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

/// [`range`] with the instruction chosen at run time.
///
/// # Safety
/// The range must be mapped.
#[inline]
pub unsafe fn range_with(kind: FlushKind, addr: *const u8, len: usize) {
    match kind {
        FlushKind::None => {}
        // SAFETY: the caller's contract.
        FlushKind::Clflush => unsafe { range::<Clflush>(addr, len) },
        // SAFETY: the caller's contract.
        FlushKind::Clflushopt => unsafe { range::<Clflushopt>(addr, len) },
        // SAFETY: the caller's contract.
        FlushKind::Clwb => unsafe { range::<Clwb>(addr, len) },
    }
}
