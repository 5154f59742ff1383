//! aarch64: `DC CVAP` (clean to the point of persistence, ARMv8.2) where the
//! kernel reports DCPOP, else `DC CVAC` (clean to the point of coherency,
//! which every ARMv8 CPU has; on most platforms memory past it survives
//! power loss only with the platform's help), as PMDK chooses. The fence
//! is `DMB ISHST`, PMDK's store barrier for aarch64: it orders the
//! preceding cleans and stores before later stores.
//!
//! Copies are the portable ones (plain stores, then the write-back loop).

pub use super::generic::{
    best_isa, fence_required, policy_key, CopyIsa, ATOMIC_STORE, STREAMING_STORES,
};
use super::{Flusher, Switch};

/// What the kernel reports about this CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    /// `DC CVAP` is available (HWCAP_DCPOP).
    pub dcpop: bool,
}

/// The HWCAP bit for DC CVAP (<asm/hwcap.h>).
const HWCAP_DCPOP: u64 = 1 << 16;

/// Features from the kernel's AT_HWCAP word.
pub fn features_from_hwcap(hwcap: u64) -> Features {
    Features {
        dcpop: hwcap & HWCAP_DCPOP != 0,
    }
}

/// Reads AT_HWCAP from the auxiliary vector.
pub fn detect() -> Features {
    // SAFETY: getauxval has no preconditions; an absent entry reads 0.
    let hwcap = unsafe { libc::getauxval(libc::AT_HWCAP) };
    features_from_hwcap(hwcap)
}

super::flush_kinds! { Features;
    /// `DC CVAC`: clean to the point of coherency.
    Cvac => Cvac, c"dc cvac";
    /// `DC CVAP`: clean to the point of persistence.
    Cvap => Cvap, c"dc cvap" if dcpop;
}

/// `DC CVAC`.
pub struct Cvac;

impl Flusher for Cvac {
    const KIND: FlushKind = FlushKind::Cvac;

    #[inline(always)]
    unsafe fn line(p: *const u8) {
        // SAFETY: `p` is mapped (the caller's contract); a clean only writes
        // the line back. No `nomem`: it must not move across stores.
        unsafe { core::arch::asm!("dc cvac, {0}", in(reg) p, options(nostack, preserves_flags)) };
    }
}

/// `DC CVAP`, written as its system-instruction form `SYS #3, C7, C12, #1`
/// so the assembler accepts it without the ARMv8.2 `dpb` feature.
pub struct Cvap;

impl Flusher for Cvap {
    const KIND: FlushKind = FlushKind::Cvap;

    #[inline(always)]
    unsafe fn line(p: *const u8) {
        // SAFETY: `p` is mapped (the caller's contract) and DCPOP was
        // reported (this type is only chosen then); a clean only writes the
        // line back.
        unsafe {
            core::arch::asm!("sys #3, c7, c12, #1, {0}", in(reg) p,
                options(nostack, preserves_flags))
        };
    }
}

/// `DMB ISHST`: earlier cleans and stores complete before later stores.
#[inline(always)]
pub fn fence() {
    // SAFETY: a barrier has no preconditions.
    unsafe { core::arch::asm!("dmb ishst", options(nostack, preserves_flags)) };
}

/// DC CVAP when the CPU has it, else DC CVAC. (PMDK has no switch for it.)
pub fn best_flush(f: &Features, _switch: Switch) -> FlushKind {
    if f.dcpop {
        FlushKind::Cvap
    } else {
        FlushKind::Cvac
    }
}

super::portable_routines!();

#[cfg(test)]
mod tests {
    use super::*;

    /// DC CVAP cannot run under qemu-user (it raises SIGILL), so its
    /// selection is tested with injected HWCAP words.
    #[test]
    fn cvap_only_where_hwcap_reports_dcpop() {
        let none = |_: &str| None;
        let f = features_from_hwcap(HWCAP_DCPOP | 0b11);
        assert!(f.dcpop);
        assert_eq!(best_flush(&f, &none), FlushKind::Cvap);
        let f = features_from_hwcap(!HWCAP_DCPOP);
        assert!(!f.dcpop);
        assert_eq!(best_flush(&f, &none), FlushKind::Cvac);
        assert!(!FlushKind::Cvap.supported(&f));
        assert_eq!(best_flush(&features_from_hwcap(0), &none), FlushKind::Cvac);
    }

    #[test]
    fn detection_agrees_with_the_auxiliary_vector() {
        // SAFETY: no preconditions.
        let hwcap = unsafe { libc::getauxval(libc::AT_HWCAP) };
        assert_eq!(detect().dcpop, hwcap & libc::HWCAP_DCPOP != 0);
    }

    /// Runs DC CVAC over lines of a heap buffer: a wrong encoding (or a
    /// flush_range that picked DC CVAP, which qemu rejects) dies of SIGILL.
    /// What each kind dispatches to is checked in `arch::tests`.
    #[test]
    fn dc_cvac_executes() {
        let mut v = vec![7u8; 300];
        v[299] = 8;
        // SAFETY: `v` is mapped; DC CVAC exists on every ARMv8 CPU.
        unsafe { flush_range(FlushKind::Cvac, v.as_ptr().add(3), 290) };
        fence();
    }
}
