//! RISC-V (64-bit): no cache write-back, and `fence w,w` as the fence, as
//! PMDK does. The base ISA has no cache-maintenance instruction (Zicbom's
//! `cbo.clean` is optional and nothing PMDK or this library reads reports
//! it), so durability past the caches is the platform's business.

super::no_write_back!();

/// `fence w,w`: earlier stores are ordered before later ones.
#[inline(always)]
pub fn fence() {
    // SAFETY: a fence has no preconditions.
    unsafe { core::arch::asm!("fence w,w", options(nostack, preserves_flags)) };
}
