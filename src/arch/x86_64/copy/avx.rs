//! AVX: one 32-byte register per half line.

use super::template::Isa;
use core::arch::x86_64::{
    __m256i, _mm256_loadu_si256, _mm256_set1_epi64x, _mm256_storeu_si256, _mm256_stream_si256,
};

pub(super) struct Avx;

impl Isa for Avx {
    type Half = __m256i;
    const REGISTER_HALVES: usize = 16;

    #[inline(always)]
    unsafe fn load_half(p: *const u8) -> __m256i {
        // SAFETY: AVX is present and `p` readable for 32 bytes (the
        // caller's contract).
        unsafe { _mm256_loadu_si256(p.cast()) }
    }

    #[inline(always)]
    unsafe fn splat_half(w: u64) -> __m256i {
        // SAFETY: AVX is present (the caller's contract).
        unsafe { _mm256_set1_epi64x(w as i64) }
    }

    #[inline(always)]
    unsafe fn store_half(p: *mut u8, v: __m256i) {
        // SAFETY: AVX is present and `p` writable for 32 bytes (the
        // caller's contract).
        unsafe { _mm256_storeu_si256(p.cast(), v) }
    }

    #[inline(always)]
    unsafe fn stream_half(p: *mut u8, v: __m256i) {
        // SAFETY: AVX is present and `p` writable for 32 bytes and
        // 32-aligned (the caller's contract).
        unsafe { _mm256_stream_si256(p.cast(), v) }
    }
}

super::template::entry_points!(Avx, "avx");
