//! LoongArch (64-bit): no cache write-back, and `dbar 0` as the fence, as
//! PMDK does. Type-checked only: Debian 12 has no cross C library for it to
//! link and run tests with (`make check-cross`).

super::no_write_back!();

/// `dbar 0`: a full barrier.
#[inline(always)]
pub fn fence() {
    // SAFETY: a barrier has no preconditions.
    unsafe { core::arch::asm!("dbar 0", options(nostack, preserves_flags)) };
}
