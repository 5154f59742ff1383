//! The shared part of the architectures with no cache write-back
//! instruction (riscv64, loongarch64): durability past the caches is up to
//! the platform, pmem_flush writes nothing back and reports "none", and
//! drain is the architecture's fence (its module defines `fence`).
//!
//! Copies are the portable ones (plain stores, nothing to write back).

use super::generic;
pub use super::generic::CopyIsa;
use super::{NoFlush, Routines, Switch};
use crate::policy::{Policy, Vendor};
use core::ffi::CStr;

/// Nothing to detect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {}

pub fn detect() -> Features {
    Features {}
}

/// No write-back instruction: only `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushKind {
    None = 0,
}

impl FlushKind {
    pub const COUNT: usize = 1;
    pub const ALL: [FlushKind; FlushKind::COUNT] = [FlushKind::None];

    pub fn name(self) -> &'static str {
        "none"
    }

    /// The name as a C string (pmem_get_attr hands it to C).
    pub fn c_name(self) -> &'static CStr {
        c"none"
    }

    pub fn supported(self, _: &Features) -> bool {
        true
    }
}

/// Writes nothing back.
///
/// # Safety
/// None beyond the interface's (the range is mapped).
#[inline(always)]
pub unsafe fn flush_range(_: FlushKind, _: *const u8, _: usize) {}

pub fn best_flush(_: &Features, _: Switch) -> FlushKind {
    FlushKind::None
}

pub fn best_isa(_: &Features, _: Switch, _: &Policy) -> CopyIsa {
    CopyIsa::Generic
}

/// No policy table entries: PMDK's choices (which only matter for
/// streaming stores, and the portable copies have none).
pub fn policy_key(_: &Features) -> (Vendor, u32) {
    (Vendor::Other, 0)
}

/// The portable copies have no streaming stores.
pub const STREAMING_STORES: bool = false;

/// Drain always fences (PMDK's does too).
pub fn fence_required(_: FlushKind, _movnt: bool) -> bool {
    true
}

/// An aligned doubleword store is single-copy atomic (and the copies write
/// aligned words whole).
pub const ATOMIC_STORE: usize = 8;

static ROUTINES: [Routines; FlushKind::COUNT] = [generic::routines::<NoFlush>()];

#[inline]
pub fn routines(_: CopyIsa, flush: FlushKind) -> &'static Routines {
    &ROUTINES[flush as usize]
}
