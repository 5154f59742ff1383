//! SSE2 (x86_64 baseline): two 16-byte registers per half line.

use super::template::Isa;
use core::arch::x86_64::{
    __m128i, _mm_loadu_si128, _mm_set1_epi64x, _mm_storeu_si128, _mm_stream_si128,
};

pub(super) struct Sse2;

impl Isa for Sse2 {
    type Half = [__m128i; 2];

    #[inline(always)]
    unsafe fn load_half(p: *const u8) -> Self::Half {
        // SAFETY: `p` readable for 32 bytes (the caller's contract); the
        // loads are unaligned.
        unsafe { [_mm_loadu_si128(p.cast()), _mm_loadu_si128(p.add(16).cast())] }
    }

    #[inline(always)]
    unsafe fn splat_half(w: u64) -> Self::Half {
        // SAFETY: SSE2 is x86_64 baseline. (Safe in newer Rust, hence the allow.)
        #[allow(unused_unsafe)]
        let v = unsafe { _mm_set1_epi64x(w as i64) };
        [v, v]
    }

    #[inline(always)]
    unsafe fn store_half(p: *mut u8, v: Self::Half) {
        // SAFETY: `p` writable for 32 bytes (the caller's contract).
        unsafe {
            _mm_storeu_si128(p.cast(), v[0]);
            _mm_storeu_si128(p.add(16).cast(), v[1]);
        }
    }

    #[inline(always)]
    unsafe fn stream_half(p: *mut u8, v: Self::Half) {
        // SAFETY: `p` writable for 32 bytes and 16-aligned (the caller's
        // contract).
        unsafe {
            _mm_stream_si128(p.cast(), v[0]);
            _mm_stream_si128(p.add(16).cast(), v[1]);
        }
    }
}

super::template::entry_points!(Sse2, "sse2");
