//! The x86 cache-line write-back instructions and SFENCE (the same on
//! 32-bit x86).

use super::Features;
use crate::arch::Flusher;

crate::arch::flush_kinds! { Features;
    Clflush => Clflush, c"clflush" if clflush;
    Clflushopt => Clflushopt, c"clflushopt" if clflushopt;
    Clwb => Clwb, c"clwb" if clwb;
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
