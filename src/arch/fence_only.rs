//! The shared part of the architectures with no cache write-back
//! instruction (riscv64, loongarch64): durability past the caches is up to
//! the platform, pmem_flush writes nothing back and reports "none", and
//! drain is the architecture's fence (its module defines `fence`).
//!
//! Copies are the portable ones (plain stores, nothing to write back).

use super::generic;
pub use super::generic::{best_isa, fence_required, policy_key, CopyIsa, STREAMING_STORES};
use super::{NoFlush, Routines, Switch};
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

/// An aligned doubleword store is single-copy atomic (and the copies write
/// aligned words whole).
pub const ATOMIC_STORE: usize = 8;

static ROUTINES: [Routines; FlushKind::COUNT] = [generic::routines::<NoFlush>()];

#[inline]
pub fn routines(_: CopyIsa, flush: FlushKind) -> &'static Routines {
    &ROUTINES[flush as usize]
}
