//! What this x86 CPU supports, from CPUID (and XCR0 for the vector states
//! the OS saves).

use crate::policy::{self, Vendor};

#[cfg(target_arch = "x86")]
use core::arch::x86;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64 as x86;

/// What the CPU (and the OS, for vector register state) supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    pub clflush: bool,
    pub clflushopt: bool,
    pub clwb: bool,
    pub avx: bool,
    pub avx512f: bool,
    pub movdir64b: bool,
    /// Who made the CPU and its display family: the policy table's key.
    pub vendor: Vendor,
    pub family: u32,
}

fn cpuid(leaf: u32, sub: u32) -> x86::CpuidResult {
    // SAFETY: CPUID exists on every x86_64 CPU and every i686 one (the
    // oldest the 32-bit target builds for); out-of-range leaves return
    // zeros. (The intrinsic is safe since Rust 1.88; rust-version is older.)
    #[allow(unused_unsafe)]
    unsafe {
        x86::__cpuid_count(leaf, sub)
    }
}

/// XCR0: which register states the OS saves (AVX needs YMM, AVX-512 ZMM).
///
/// # Safety
/// CPUID reported OSXSAVE (leaf 1, ECX bit 27).
unsafe fn xcr0() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: XGETBV(0) is legal once OSXSAVE is set (the caller's contract).
    unsafe {
        core::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi,
            options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Reads CPUID (and XCR0 for the vector states).
pub fn detect() -> Features {
    let bit = |reg: u32, n: u32| reg & (1 << n) != 0;
    let l0 = cpuid(0, 0);
    let l1 = cpuid(1, 0);
    let max_leaf = l0.eax;
    let l7 = if max_leaf >= 7 {
        cpuid(7, 0)
    } else {
        x86::CpuidResult {
            eax: 0,
            ebx: 0,
            ecx: 0,
            edx: 0,
        }
    };
    let xcr0 = if bit(l1.ecx, 27) {
        // SAFETY: OSXSAVE is reported, so XGETBV(0) is legal.
        unsafe { xcr0() }
    } else {
        0
    };
    let mut id = [0u8; 12];
    for (i, reg) in [l0.ebx, l0.edx, l0.ecx].into_iter().enumerate() {
        id[4 * i..4 * i + 4].copy_from_slice(&reg.to_le_bytes());
    }
    let ymm_state = xcr0 & 0b110 == 0b110;
    let zmm_state = xcr0 & 0b1110_0110 == 0b1110_0110;
    Features {
        clflush: bit(l1.edx, 19),
        clflushopt: bit(l7.ebx, 23),
        clwb: bit(l7.ebx, 24),
        avx: bit(l1.ecx, 28) && ymm_state,
        avx512f: bit(l7.ebx, 16) && zmm_state,
        movdir64b: bit(l7.ecx, 28),
        vendor: Vendor::from_id(&id),
        family: policy::display_family(l1.eax),
    }
}
