//! 64-bit POWER: `dcbstps` (`dcbf` with L=6: store the line back to
//! persistent storage) for every line and `phwsync` (`sync` with L=4) as
//! the fence, as PMDK chooses. Both are POWER ISA 3.1 forms, which earlier
//! processors execute as `dcbf` (L=0) and `hwsync`; so where the kernel
//! does not report ISA 3.1 (HWCAP2) this module issues those older forms
//! themselves, the same operations by the ISA's definition. (qemu 7.2, for
//! one, rejects the 3.1 forms as illegal on every CPU model, so its runs
//! take the older forms; the choice is tested with injected HWCAP2 words.)
//!
//! All four are emitted as instruction words (`.long`), as PMDK does, so no
//! assembler needs to know the ISA 3.1 mnemonics; the flushed address is
//! therefore pinned to r9, which the words name.
//!
//! Copies are the portable ones (plain stores, then the write-back loop).

pub use super::generic::{
    best_isa, fence_required, policy_key, CopyIsa, ATOMIC_STORE, STREAMING_STORES,
};
use super::{Flusher, Switch};
use core::sync::atomic::{AtomicU8, Ordering};

/// What the kernel reports about this CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    /// POWER ISA 3.1 (POWER10): `dcbstps` and `phwsync` are known.
    pub isa_3_1: bool,
}

/// PPC_FEATURE2_ARCH_3_1 in AT_HWCAP2 (<asm/cputable.h>).
const HWCAP2_ARCH_3_1: u64 = 0x0004_0000;

/// Features from the kernel's AT_HWCAP2 word.
pub fn features_from_hwcap2(hwcap2: u64) -> Features {
    Features {
        isa_3_1: hwcap2 & HWCAP2_ARCH_3_1 != 0,
    }
}

/// Reads AT_HWCAP2 from the auxiliary vector.
pub fn detect() -> Features {
    // SAFETY: getauxval has no preconditions; an absent entry reads 0.
    let hwcap2 = unsafe { libc::getauxval(libc::AT_HWCAP2) };
    features_from_hwcap2(hwcap2)
}

super::flush_kinds! { Features;
    /// `dcbf` (L=0), what `dcbstps` is before ISA 3.1.
    Dcbf => Dcbf, c"dcbf";
    /// `dcbstps` (`dcbf` L=6); "supported" means this CPU knows it by its
    /// own name.
    Dcbstps => Dcbstps, c"dcbstps" if isa_3_1;
}

/// `dcbf 0, r9, L`: X-form, primary opcode 31, extended opcode 86, L in
/// bits 8-10, RA = 0 (no base), RB = r9. (The asm spells the words out: an
/// asm `const` operand needs a newer Rust than the crate's rust-version;
/// the test below checks the spelling.)
#[cfg(test)]
const fn dcbf_r9(l: u32) -> u32 {
    0x7c00_00ac | (l << 21) | (9 << 11)
}

/// `sync L`: X-form, primary opcode 31, extended opcode 598, L in bits 8-10.
#[cfg(test)]
const fn sync(l: u32) -> u32 {
    0x7c00_04ac | (l << 21)
}

/// A flusher issuing one `dcbf` form, as its instruction word with the
/// address in r9. No `nomem`: it must not move across stores.
macro_rules! dcbf_form {
    ($name:ident = $word:literal) => {
        pub struct $name;

        impl Flusher for $name {
            const KIND: FlushKind = FlushKind::$name;

            #[inline(always)]
            unsafe fn line(p: *const u8) {
                // SAFETY: `p` is mapped and this CPU knows the form (the
                // caller's contract); it only writes the line back (and
                // may evict it).
                unsafe {
                    core::arch::asm!(concat!(".long ", $word), in("r9") p,
                        options(nostack, preserves_flags))
                };
            }
        }
    };
}

dcbf_form!(Dcbf = "0x7c0048ac");
dcbf_form!(Dcbstps = "0x7cc048ac");

/// Which sync the fence issues: 0 not yet known, then `HWSYNC` or
/// `PHWSYNC`. Read on every drain (one load and a branch), decided on the
/// first one, which also covers drains before the library's constructor.
static FENCE: AtomicU8 = AtomicU8::new(0);
const HWSYNC: u8 = 1;
const PHWSYNC: u8 = 2;

/// The fence for `f`: `phwsync` with ISA 3.1, else `hwsync` (what
/// `phwsync` is on earlier processors).
fn fence_for(f: &Features) -> u8 {
    if f.isa_3_1 {
        PHWSYNC
    } else {
        HWSYNC
    }
}

/// `phwsync` (or `hwsync` before ISA 3.1): the earlier write-backs are
/// complete.
#[inline(always)]
pub fn fence() {
    let mut which = FENCE.load(Ordering::Relaxed);
    if which == 0 {
        which = fence_for(&detect());
        FENCE.store(which, Ordering::Relaxed);
    }
    if which == PHWSYNC {
        // SAFETY: a barrier has no preconditions; ISA 3.1 was reported.
        unsafe { core::arch::asm!(".long 0x7c8004ac", options(nostack, preserves_flags)) };
    } else {
        // SAFETY: a barrier has no preconditions.
        unsafe { core::arch::asm!(".long 0x7c0004ac", options(nostack, preserves_flags)) };
    }
}

/// `dcbstps` with ISA 3.1, else `dcbf` (what `dcbstps` is on earlier
/// processors). PMDK has no switch for it.
pub fn best_flush(f: &Features, _: Switch) -> FlushKind {
    if f.isa_3_1 {
        FlushKind::Dcbstps
    } else {
        FlushKind::Dcbf
    }
}

super::portable_routines!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_words() {
        // As the kernel's PPC_RAW_PHWSYNC, PPC_RAW_HWSYNC and
        // PPC_RAW_DCBF(0, 9, L) spell them.
        assert_eq!(sync(4), 0x7c80_04ac);
        assert_eq!(sync(0), 0x7c00_04ac);
        assert_eq!(dcbf_r9(6), 0x7cc0_48ac);
        assert_eq!(dcbf_r9(0), 0x7c00_48ac);
    }

    /// The ISA 3.1 forms cannot run under qemu 7.2, so their selection is
    /// tested with injected HWCAP2 words.
    #[test]
    fn isa_3_1_forms_only_where_hwcap2_reports_them() {
        let none = |_: &str| None;
        let p10 = features_from_hwcap2(HWCAP2_ARCH_3_1 | 0x0080_0000);
        assert_eq!(best_flush(&p10, &none), FlushKind::Dcbstps);
        assert_eq!(fence_for(&p10), PHWSYNC);
        let p9 = features_from_hwcap2(!HWCAP2_ARCH_3_1);
        assert_eq!(best_flush(&p9, &none), FlushKind::Dcbf);
        assert_eq!(fence_for(&p9), HWSYNC);
        assert!(!FlushKind::Dcbstps.supported(&p9));
    }

    /// Runs this CPU's write-back over lines of a heap buffer, and its
    /// fence: a wrong instruction word dies of SIGILL, and the first fence
    /// records its choice. What each kind dispatches to is checked in
    /// `arch::tests`.
    #[test]
    fn write_back_and_fence_execute() {
        let v = vec![7u8; 300];
        let kind = best_flush(&detect(), &|_| None);
        // SAFETY: `v` is mapped; the kind is this CPU's.
        unsafe { flush_range(kind, v.as_ptr().add(3), 290) };
        fence();
        assert_eq!(FENCE.load(Ordering::Relaxed), fence_for(&detect()));
    }
}
