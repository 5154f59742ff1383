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

/// Declares an architecture's cache-line write-back instructions, each as
/// `Variant => FlusherType, c"name"` (`if field` when only CPUs whose
/// `Features` have `field` set have it), and generates from that one list,
/// in the invoking module, with `None` first:
/// - `enum FlushKind` with `COUNT`, `ALL`, `name`, `c_name` and `supported`;
/// - `flush_range`, which dispatches a run-time kind to [`flush_lines`];
/// - `flusher`, the flusher types by variant name, and
///   `by_flush_kind!(make)`: `[make::<flusher::None>(), ...]`, a table of
///   `make`'s results indexed by `FlushKind as usize`, for the copy
///   routines (see [`portable_routines`]).
macro_rules! flush_kinds {
    ($features:ty; $($rest:tt)*) => {
        // The inner macro's `$` must reach it unexpanded: pass it as a token.
        $crate::arch::flush_kinds!(@with ($) $features; $($rest)*);
    };
    (@with ($d:tt) $features:ty; $(
        $(#[$doc:meta])* $variant:ident => $flusher:ident, $name:literal $(if $field:ident)?;
    )*) => {
        /// The instruction that writes a cache line back, or none at all.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum FlushKind {
            None,
            $($(#[$doc])* $variant,)*
        }

        impl FlushKind {
            pub const ALL: [FlushKind; 1 $(+ $crate::arch::one(stringify!($variant)))*] =
                [FlushKind::None, $(FlushKind::$variant),*];
            pub const COUNT: usize = FlushKind::ALL.len();

            pub fn name(self) -> &'static str {
                self.c_name().to_str().unwrap_or("?")
            }

            /// The name as a C string (pmem_get_attr hands it to C).
            pub fn c_name(self) -> &'static core::ffi::CStr {
                match self {
                    FlushKind::None => c"none",
                    $(FlushKind::$variant => $name,)*
                }
            }

            /// Whether this CPU has the instruction.
            #[allow(unused_variables)]
            pub fn supported(self, f: &$features) -> bool {
                match self {
                    FlushKind::None => true,
                    $(FlushKind::$variant => true $(&& f.$field)?,)*
                }
            }
        }

        /// The flusher types by variant name.
        pub mod flusher {
            pub use $crate::arch::NoFlush as None;
            $(pub use super::$flusher as $variant;)*
        }

        /// Writes back every line that overlaps `[addr, addr + len)` with
        /// `kind`.
        ///
        /// # Safety
        /// The range is mapped and does not wrap, and `kind` is supported by
        /// this CPU.
        #[inline]
        #[allow(unused_variables)]
        pub unsafe fn flush_range(kind: FlushKind, addr: *const u8, len: usize) {
            match kind {
                FlushKind::None => {}
                $(
                    // SAFETY: flush_lines's contract is ours; the flusher is
                    // the instruction `kind` names, which the caller says
                    // this CPU has.
                    FlushKind::$variant => unsafe {
                        $crate::arch::flush_lines::<$flusher>(addr, len)
                    },
                )*
            }
        }

        macro_rules! by_flush_kind {
            ($d make:ident) => {
                [
                    $d make::<$crate::arch::flusher::None>(),
                    $($d make::<$crate::arch::flusher::$variant>(),)*
                ]
            };
        }
        #[allow(unused_imports)]
        pub(crate) use by_flush_kind;
    };
}
pub(crate) use flush_kinds;

/// 1 for each argument: `flush_kinds!` counts its variants with it.
pub(crate) const fn one(_: &str) -> usize {
    1
}

/// The table and lookup of the portable copies ([`generic`]) by flush
/// instruction, for the invoking module, after its `flush_kinds!`.
// Not every architecture uses the next two.
#[allow(unused_macros)]
macro_rules! portable_routines {
    () => {
        static ROUTINES: [$crate::arch::Routines; FlushKind::COUNT] = {
            use $crate::arch::generic::routines as make;
            by_flush_kind!(make)
        };

        /// The copy routines for `flush`. Calling them is only sound when
        /// `flush` is supported.
        #[inline]
        pub fn routines(
            _: $crate::arch::CopyIsa,
            flush: FlushKind,
        ) -> &'static $crate::arch::Routines {
            &ROUTINES[flush as usize]
        }
    };
}
#[allow(unused_imports)]
pub(crate) use portable_routines;

/// Everything but `fence` of an architecture with no cache write-back
/// instruction (durability past the caches is the platform's business):
/// pmem_flush writes nothing back and reports "none", drain is the fence
/// alone, and the copies are the portable ones.
#[allow(unused_macros)]
macro_rules! no_write_back {
    () => {
        pub use $crate::arch::generic::{
            best_isa, fence_required, policy_key, CopyIsa, ATOMIC_STORE, STREAMING_STORES,
        };

        /// Nothing to detect.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct Features {}

        pub fn detect() -> Features {
            Features {}
        }

        $crate::arch::flush_kinds!(Features;);

        pub fn best_flush(_: &Features, _: $crate::arch::Switch) -> FlushKind {
            FlushKind::None
        }

        $crate::arch::portable_routines!();
    };
}
#[allow(unused_imports)]
pub(crate) use no_write_back;

/// The architectures, each `module: "target_arch"...` (one line each; a
/// module may serve several `target_arch`s). The module is compiled, and
/// re-exported below, on its targets only; any other target fails to build
/// here. See "How to add an architecture" in the README.
macro_rules! architectures {
    ($($module:ident: $($target:literal)|+;)*) => {
        $(
            #[cfg(any($(target_arch = $target),+))]
            pub(crate) mod $module;
            #[cfg(any($(target_arch = $target),+))]
            use $module as imp;
        )*
        #[cfg(not(any($($(target_arch = $target),+),*)))]
        compile_error!("libpmem knows no cache write-back or fence for this architecture");
    };
}

architectures! {
    aarch64: "aarch64";
    powerpc64: "powerpc64";
    riscv64: "riscv64";
    loongarch64: "loongarch64";
    // x86_64 and 32-bit x86 share detection and write-back instructions;
    // only x86_64 has the SIMD copy template (see x86_64/mod.rs).
    x86_64: "x86_64" | "x86";
}

pub use imp::{
    best_flush, best_isa, detect, fence, fence_required, flusher, policy_key, routines, CopyIsa,
    Features, FlushKind, ATOMIC_STORE, STREAMING_STORES,
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
    /// With `nt`: forward runs of whole lines stream sixteen lines per
    /// step, all loaded before any is stored (else four), where at least
    /// sixteen are left and the source does not start within 64 lines
    /// above the destination (the policy's `forward_block16`).
    pub block16: bool,
}

impl Stores {
    /// Temporal stores, each line written back.
    pub const TEMPORAL: Stores = Stores {
        nt: false,
        partial: false,
        prefetch: 0,
        parts_first: false,
        block16: false,
    };
    /// PMDK's streaming copy: whole lines streamed in wide steps, partial
    /// lines temporal.
    pub const NT: Stores = Stores {
        nt: true,
        partial: false,
        prefetch: 0,
        parts_first: false,
        block16: true,
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

#[cfg(test)]
mod tests {
    use super::*;

    const fn kind_of<F: Flusher>() -> FlushKind {
        F::KIND
    }

    /// The routine tables are indexed by `FlushKind as usize`: entry `i`
    /// must be built with the flusher of `ALL[i]`, and `ALL` must list each
    /// kind at its own index.
    #[test]
    fn each_flush_kind_has_its_own_flusher_and_name() {
        let kinds: [FlushKind; FlushKind::COUNT] = imp::by_flush_kind!(kind_of);
        assert_eq!(kinds, FlushKind::ALL);
        for (i, k) in FlushKind::ALL.into_iter().enumerate() {
            assert_eq!(k as usize, i);
            assert_eq!(k.c_name().to_str().unwrap(), k.name());
            let dup = FlushKind::ALL[..i].iter().find(|o| o.name() == k.name());
            assert_eq!(dup, None, "{k:?} shares its name");
        }
        assert_eq!(FlushKind::ALL[0], FlushKind::None);
        assert_eq!(FlushKind::None.name(), "none");
        assert!(FlushKind::None.supported(&Features::default()));
    }
}
