//! x86_64, and 32-bit x86 where noted: CLWB, else CLFLUSHOPT, else CLFLUSH
//! (each unless its PMEM_NO_* switch says no), SFENCE as the fence, and on
//! x86_64 the copy template with SSE2, AVX, AVX-512F and MOVDIR64B
//! routines (`copy`). 32-bit x86 uses the portable copies: the template
//! relies on 64-bit streaming stores.

#[cfg(all(test, target_arch = "x86_64"))]
mod config_tests;
mod cpuid;
pub(crate) mod flush;

pub use cpuid::{detect, Features};
pub use flush::{flush_range, flusher, FlushKind};
#[cfg(test)]
pub(crate) use flush::by_flush_kind;

use super::Switch;
use crate::policy::Key;
#[cfg(test)]
use crate::policy::Vendor;

#[cfg(target_arch = "x86_64")]
mod copy;
#[cfg(target_arch = "x86_64")]
pub use copy::{best_isa, routines, CopyIsa};

#[cfg(target_arch = "x86")]
pub use portable_copies::{best_isa, routines, CopyIsa};

/// SFENCE: orders and completes earlier write-backs and streaming stores.
#[inline(always)]
pub fn fence() {
    #[cfg(target_arch = "x86")]
    use core::arch::x86::_mm_sfence;
    #[cfg(target_arch = "x86_64")]
    use core::arch::x86_64::_mm_sfence;
    // SAFETY: SFENCE has no preconditions (SSE, which both targets assume).
    unsafe { _mm_sfence() };
}

/// The strongest write-back the CPU has and the PMEM_NO_CLWB and
/// PMEM_NO_CLFLUSHOPT switches allow (the meaning PMDK gives them: each
/// vetoes only its own instruction).
pub fn best_flush(f: &Features, switch: Switch) -> FlushKind {
    let mut best = if f.clflush {
        FlushKind::Clflush
    } else {
        FlushKind::None
    };
    if f.clflushopt && switch("PMEM_NO_CLFLUSHOPT") != Some(true) {
        best = FlushKind::Clflushopt;
    }
    if f.clwb && switch("PMEM_NO_CLWB") != Some(true) {
        best = FlushKind::Clwb;
    }
    best
}

/// The policy table's key: CPUID's vendor, display family and the
/// features an entry may require.
pub fn policy_key(f: &Features) -> Key {
    Key {
        vendor: f.vendor,
        family: f.family,
        avx512f: f.avx512f,
        movdir64b: f.movdir64b,
    }
}

/// Streaming stores: on x86_64 the copy template has them.
pub const STREAMING_STORES: bool = cfg!(target_arch = "x86_64");

/// Streaming stores and CLWB/CLFLUSHOPT are weakly ordered; only CLFLUSH
/// with temporal stores alone is ordered by itself.
pub fn fence_required(flush: FlushKind, movnt: bool) -> bool {
    movnt || matches!(flush, FlushKind::Clwb | FlushKind::Clflushopt)
}

/// An aligned 8-byte store is never torn, also across power failure, and
/// the copies never write an aligned word piecewise. 32-bit x86's portable
/// copies store 4-byte words.
pub const ATOMIC_STORE: usize = if cfg!(target_arch = "x86_64") { 8 } else { 4 };

/// 32-bit x86: the portable copies for each write-back instruction.
#[cfg(target_arch = "x86")]
mod portable_copies {
    use super::flush::{by_flush_kind, FlushKind};
    use super::{Features, Switch};
    use crate::policy::Policy;
    pub use crate::arch::generic::CopyIsa;

    crate::arch::portable_routines!();

    pub fn best_isa(_: &Features, _: Switch, _: &Policy) -> CopyIsa {
        CopyIsa::Generic
    }
}

/// Every feature, on an AMD family 19h: the tests' fully capable CPU.
#[cfg(test)]
const ALL: Features = Features {
    clflush: true,
    clflushopt: true,
    clwb: true,
    avx: true,
    avx512f: true,
    movdir64b: true,
    vendor: Vendor::Amd,
    family: 0x19,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn switches(set: &'static [(&'static str, bool)]) -> impl Fn(&str) -> Option<bool> {
        move |name| set.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    #[test]
    fn flush_switches_veto_only_their_own_instruction() {
        assert_eq!(best_flush(&ALL, &switches(&[])), FlushKind::Clwb);
        let no_clwb = switches(&[("PMEM_NO_CLWB", true)]);
        assert_eq!(best_flush(&ALL, &no_clwb), FlushKind::Clflushopt);
        let neither = switches(&[("PMEM_NO_CLWB", true), ("PMEM_NO_CLFLUSHOPT", true)]);
        assert_eq!(best_flush(&ALL, &neither), FlushKind::Clflush);
        let no_opt = switches(&[("PMEM_NO_CLFLUSHOPT", true)]);
        assert_eq!(best_flush(&ALL, &no_opt), FlushKind::Clwb);
        let old = Features {
            clflush: true,
            ..Features::default()
        };
        assert_eq!(best_flush(&old, &switches(&[])), FlushKind::Clflush);
        assert_eq!(
            best_flush(&Features::default(), &switches(&[])),
            FlushKind::None
        );
    }

    #[test]
    fn only_clflush_orders_itself() {
        assert!(!fence_required(FlushKind::Clflush, false));
        assert!(!fence_required(FlushKind::None, false));
        assert!(fence_required(FlushKind::Clflush, true));
        assert!(fence_required(FlushKind::Clwb, false));
        assert!(fence_required(FlushKind::Clflushopt, false));
    }
}
