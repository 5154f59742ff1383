//! aarch64: `DC CVAP` (clean to the point of persistence, ARMv8.2) where the
//! kernel reports DCPOP, else `DC CVAC` (clean to the point of coherency,
//! which every ARMv8 CPU has; on most platforms memory past it survives
//! power loss only with the platform's help), as PMDK chooses. The fence
//! is `DMB ISHST`, PMDK's store barrier for aarch64: it orders the
//! preceding cleans and stores before later stores.
//!
//! Copies are the portable ones (plain stores, then the write-back loop).

use super::generic;
pub use super::generic::{best_isa, fence_required, policy_key, CopyIsa, STREAMING_STORES};
use super::{flush_lines, Flusher, NoFlush, Routines, Switch};
use core::ffi::CStr;

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

/// The instruction that writes a cache line back, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushKind {
    None = 0,
    /// `DC CVAC`: clean to the point of coherency.
    Cvac = 1,
    /// `DC CVAP`: clean to the point of persistence.
    Cvap = 2,
}

impl FlushKind {
    pub const COUNT: usize = 3;
    pub const ALL: [FlushKind; FlushKind::COUNT] =
        [FlushKind::None, FlushKind::Cvac, FlushKind::Cvap];

    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("?")
    }

    /// The name as a C string (pmem_get_attr hands it to C).
    pub fn c_name(self) -> &'static CStr {
        match self {
            FlushKind::None => c"none",
            FlushKind::Cvac => c"dc cvac",
            FlushKind::Cvap => c"dc cvap",
        }
    }

    /// Whether this CPU has the instruction.
    pub fn supported(self, f: &Features) -> bool {
        self != FlushKind::Cvap || f.dcpop
    }
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

/// # Safety
/// The range is mapped and does not wrap, and `kind` is supported by this
/// CPU.
#[inline]
pub unsafe fn flush_range(kind: FlushKind, addr: *const u8, len: usize) {
    // SAFETY: flush_lines's contract is ours; each arm's flusher is the
    // instruction `kind` names, which the caller says this CPU has.
    unsafe {
        match kind {
            FlushKind::None => {}
            FlushKind::Cvac => flush_lines::<Cvac>(addr, len),
            FlushKind::Cvap => flush_lines::<Cvap>(addr, len),
        }
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

/// An aligned 8-byte store is single-copy atomic (and the copies write
/// aligned words whole).
pub const ATOMIC_STORE: usize = 8;

static ROUTINES: [Routines; FlushKind::COUNT] = [
    generic::routines::<NoFlush>(),
    generic::routines::<Cvac>(),
    generic::routines::<Cvap>(),
];

/// The copy routines for `flush`. Calling them is only sound when `flush`
/// is supported.
#[inline]
pub fn routines(_: CopyIsa, flush: FlushKind) -> &'static Routines {
    &ROUTINES[flush as usize]
}

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

    #[test]
    fn cvac_flushes_a_range() {
        let v = [7u8; 300];
        // SAFETY: `v` is mapped; DC CVAC exists on every ARMv8 CPU.
        unsafe { flush_range(FlushKind::Cvac, v.as_ptr().add(3), 290) };
        fence();
        assert_eq!(v[299], 7);
    }
}
