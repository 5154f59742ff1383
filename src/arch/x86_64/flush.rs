//! The x86 cache-line write-back instructions and SFENCE (the same on
//! 32-bit x86).

use super::Features;
use crate::arch::{flush_lines, Flusher};
use core::ffi::CStr;

/// The instruction that writes a cache line back, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushKind {
    None = 0,
    Clflush = 1,
    Clflushopt = 2,
    Clwb = 3,
}

impl FlushKind {
    pub const COUNT: usize = 4;
    pub const ALL: [FlushKind; FlushKind::COUNT] = [
        FlushKind::None,
        FlushKind::Clflush,
        FlushKind::Clflushopt,
        FlushKind::Clwb,
    ];

    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("?")
    }

    /// The name as a C string (pmem_get_attr hands it to C).
    pub fn c_name(self) -> &'static CStr {
        match self {
            FlushKind::None => c"none",
            FlushKind::Clflush => c"clflush",
            FlushKind::Clflushopt => c"clflushopt",
            FlushKind::Clwb => c"clwb",
        }
    }

    /// Whether this CPU has the instruction.
    pub fn supported(self, f: &Features) -> bool {
        match self {
            FlushKind::None => true,
            FlushKind::Clflush => f.clflush,
            FlushKind::Clflushopt => f.clflushopt,
            FlushKind::Clwb => f.clwb,
        }
    }
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

/// The flushers by `FlushKind as usize`, for building routine tables.
macro_rules! by_flush_kind {
    ($make:ident) => {
        [
            $make::<$crate::arch::NoFlush>(),
            $make::<$crate::arch::x86_64::flush::Clflush>(),
            $make::<$crate::arch::x86_64::flush::Clflushopt>(),
            $make::<$crate::arch::x86_64::flush::Clwb>(),
        ]
    };
}
pub(crate) use by_flush_kind;

/// # Safety
/// The range is mapped and `kind` is supported by this CPU.
#[inline]
pub unsafe fn flush_range(kind: FlushKind, addr: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe {
        match kind {
            FlushKind::None => {}
            FlushKind::Clflush => flush_lines::<Clflush>(addr, len),
            FlushKind::Clflushopt => flush_lines::<Clflushopt>(addr, len),
            FlushKind::Clwb => flush_lines::<Clwb>(addr, len),
        }
    }
}
