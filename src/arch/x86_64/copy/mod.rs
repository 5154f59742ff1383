//! x86_64's copy routines: one template (`template.rs`), generic over an
//! instruction set, with each set's entry points built by one macro.

mod avx;
mod avx512f;
mod movdir64b;
mod sse2;
mod template;

use super::{Features, FlushKind};
use crate::arch::{Routines, Switch};
use crate::policy::Policy;
use core::ffi::CStr;

/// The instruction set the copy routines use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyIsa {
    Sse2 = 0,
    Avx = 1,
    Avx512f = 2,
    /// SSE2 for partial lines, MOVDIR64B for whole non-temporal lines.
    Movdir64b = 3,
}

impl CopyIsa {
    pub const COUNT: usize = 4;
    pub const ALL: [CopyIsa; CopyIsa::COUNT] = [
        CopyIsa::Sse2,
        CopyIsa::Avx,
        CopyIsa::Avx512f,
        CopyIsa::Movdir64b,
    ];

    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("?")
    }

    /// The name as a C string (pmem_get_attr hands it to C).
    pub fn c_name(self) -> &'static CStr {
        match self {
            CopyIsa::Sse2 => c"sse2",
            CopyIsa::Avx => c"avx",
            CopyIsa::Avx512f => c"avx512f",
            CopyIsa::Movdir64b => c"movdir64b",
        }
    }

    /// Whether this CPU can run the path at all (SSE2 is x86_64 baseline).
    pub fn supported(self, f: &Features) -> bool {
        match self {
            CopyIsa::Sse2 => true,
            CopyIsa::Avx => f.avx,
            CopyIsa::Avx512f => f.avx512f,
            CopyIsa::Movdir64b => f.movdir64b,
        }
    }
}

/// The widest path the CPU has that PMEM_AVX, PMEM_AVX512F and
/// PMEM_MOVDIR64B allow. As in PMDK, PMEM_AVX=0 does not veto AVX-512F:
/// each switch only turns off its own path. MOVDIR64B is used when
/// PMEM_MOVDIR64B says so, else when the CPU's policy says so (PMDK's:
/// never unasked).
pub fn best_isa(f: &Features, switch: Switch, p: &Policy) -> CopyIsa {
    let mut isa = CopyIsa::Sse2;
    if f.avx && switch("PMEM_AVX") != Some(false) {
        isa = CopyIsa::Avx;
    }
    if f.avx512f && switch("PMEM_AVX512F") != Some(false) {
        isa = CopyIsa::Avx512f;
    }
    if f.movdir64b && switch("PMEM_MOVDIR64B").unwrap_or(p.movdir64b) {
        isa = CopyIsa::Movdir64b;
    }
    isa
}

/// The routines for `isa` and `flush`. Calling them is only sound when
/// both are supported by this CPU.
#[inline]
pub fn routines(isa: CopyIsa, flush: FlushKind) -> &'static Routines {
    &TABLE[isa as usize][flush as usize]
}

static TABLE: [[Routines; FlushKind::COUNT]; CopyIsa::COUNT] = [
    sse2::ROUTINES,
    avx::ROUTINES,
    avx512f::ROUTINES,
    movdir64b::ROUTINES,
];
