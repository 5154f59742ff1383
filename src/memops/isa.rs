//! One module per copy ISA: the 32-byte and 64-byte primitives, then the
//! shared template instantiated with the ISA's target features.

/// SSE2: four 16-byte registers per line (x86_64 baseline).
pub mod sse2 {
    use core::arch::x86_64::{
        __m128i, _mm_loadu_si128, _mm_set1_epi64x, _mm_storeu_si128, _mm_stream_si128,
    };

    pub(super) type Half = [__m128i; 2];

    /// `w` in every 8-byte lane.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn splat_half(w: u64) -> Half {
        let v = _mm_set1_epi64x(w as i64);
        [v, v]
    }

    /// # Safety
    /// `p` readable for 32 bytes.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn load_half(p: *const u8) -> Half {
        // SAFETY: the caller's contract.
        unsafe { [_mm_loadu_si128(p.cast()), _mm_loadu_si128(p.add(16).cast())] }
    }

    /// # Safety
    /// `p` writable for 32 bytes.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn store_half(p: *mut u8, v: Half) {
        // SAFETY: the caller's contract.
        unsafe {
            _mm_storeu_si128(p.cast(), v[0]);
            _mm_storeu_si128(p.add(16).cast(), v[1]);
        }
    }

    /// # Safety
    /// `p` writable for 32 bytes and 16-aligned.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn stream_half(p: *mut u8, v: Half) {
        // SAFETY: the caller's contract.
        unsafe {
            _mm_stream_si128(p.cast(), v[0]);
            _mm_stream_si128(p.add(16).cast(), v[1]);
        }
    }

    super::super::template::lines_from_halves!("sse2");

    super::super::template::copy_routines!("sse2");
}

/// AVX: two 32-byte registers per line.
pub mod avx {
    use core::arch::x86_64::{
        __m256i, _mm256_loadu_si256, _mm256_set1_epi64x, _mm256_storeu_si256, _mm256_stream_si256,
    };

    pub(super) type Half = __m256i;

    /// # Safety
    /// AVX present.
    #[inline]
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn splat_half(w: u64) -> __m256i {
        _mm256_set1_epi64x(w as i64)
    }

    /// # Safety
    /// AVX present; `p` readable for 32 bytes.
    #[inline]
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn load_half(p: *const u8) -> __m256i {
        // SAFETY: the caller's contract.
        unsafe { _mm256_loadu_si256(p.cast()) }
    }

    /// # Safety
    /// AVX present; `p` writable for 32 bytes.
    #[inline]
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn store_half(p: *mut u8, v: __m256i) {
        // SAFETY: the caller's contract.
        unsafe { _mm256_storeu_si256(p.cast(), v) }
    }

    /// # Safety
    /// AVX present; `p` writable for 32 bytes and 32-aligned.
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn stream_half(p: *mut u8, v: __m256i) {
        // SAFETY: the caller's contract.
        unsafe { _mm256_stream_si256(p.cast(), v) }
    }

    super::super::template::lines_from_halves!("avx");

    super::super::template::copy_routines!("avx");
}

/// AVX-512F: one 64-byte register per line; AVX for the 32-byte halves.
///
/// The line moves are inline asm so the module builds for plain AVX
/// (AVX-512 target features and intrinsics need a newer Rust than the
/// crate's rust-version). They clobber xmm0: the compiler, built for AVX
/// only, never keeps anything in zmm0's upper half.
pub mod avx512f {
    pub(super) use super::avx::{load_half, splat_half, store_half, Half};

    /// One 64-byte line through zmm0: `$get` fills zmm0 from `$src` (a
    /// load from it, or a broadcast of the fill word), `$store` writes it.
    macro_rules! zmm_line {
        ($(#[$doc:meta])* $name:ident($src:ident: $ty:ty), $get:literal, $store:literal) => {
            $(#[$doc])*
            #[inline]
            #[target_feature(enable = "avx")]
            unsafe fn $name(d: *mut u8, $src: $ty) {
                // SAFETY: the caller's contract; zmm0 is filled before the store.
                unsafe {
                    core::arch::asm!(
                        $get,
                        concat!($store, " zmmword ptr [{d}], zmm0"),
                        d = in(reg) d, $src = in(reg) $src, out("xmm0") _,
                        options(nostack, preserves_flags))
                };
            }
        };
    }

    zmm_line!(
        /// # Safety
        /// AVX-512F present; `s` readable and `d` writable for 64 bytes.
        copy_line(s: *const u8),
        "vmovdqu64 zmm0, zmmword ptr [{s}]",
        "vmovdqu64"
    );
    zmm_line!(
        /// # Safety
        /// AVX-512F present; `s` readable for 64 bytes, `d` writable and 64-aligned.
        stream_line(s: *const u8),
        "vmovdqu64 zmm0, zmmword ptr [{s}]",
        "vmovntdq"
    );
    zmm_line!(
        /// # Safety
        /// AVX-512F present; `d` writable for 64 bytes.
        fill_line(w: u64),
        "vpbroadcastq zmm0, {w}",
        "vmovdqu64"
    );
    zmm_line!(
        /// # Safety
        /// AVX-512F present; `d` writable for 64 bytes and 64-aligned.
        fill_stream_line(w: u64),
        "vpbroadcastq zmm0, {w}",
        "vmovntdq"
    );

    /// # Safety
    /// AVX-512F present; `s` readable for 256 bytes, `d` writable for 256
    /// bytes and 64-aligned.
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn stream_quad(d: *mut u8, s: *const u8) {
        // SAFETY: the caller's contract; all four loads precede the stores.
        unsafe {
            core::arch::asm!(
                "vmovdqu64 zmm0, zmmword ptr [{s}]",
                "vmovdqu64 zmm1, zmmword ptr [{s} + 64]",
                "vmovdqu64 zmm2, zmmword ptr [{s} + 128]",
                "vmovdqu64 zmm3, zmmword ptr [{s} + 192]",
                "vmovntdq zmmword ptr [{d}], zmm0",
                "vmovntdq zmmword ptr [{d} + 64], zmm1",
                "vmovntdq zmmword ptr [{d} + 128], zmm2",
                "vmovntdq zmmword ptr [{d} + 192], zmm3",
                d = in(reg) d, s = in(reg) s,
                out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
                options(nostack, preserves_flags))
        };
    }

    /// # Safety
    /// AVX-512F present; `d` writable for 256 bytes and 64-aligned.
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn fill_stream_quad(d: *mut u8, w: u64) {
        // SAFETY: the caller's contract.
        unsafe {
            core::arch::asm!(
                "vpbroadcastq zmm0, {w}",
                "vmovntdq zmmword ptr [{d}], zmm0",
                "vmovntdq zmmword ptr [{d} + 64], zmm0",
                "vmovntdq zmmword ptr [{d} + 128], zmm0",
                "vmovntdq zmmword ptr [{d} + 192], zmm0",
                d = in(reg) d, w = in(reg) w, out("xmm0") _,
                options(nostack, preserves_flags))
        };
    }

    /// Clears the upper halves the asm dirtied (the compiler cannot see
    /// them), so later legacy-SSE code pays no transition penalty.
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn finish() {
        // SAFETY: AVX is present (the caller's contract). (Safe to call
        // here since Rust 1.86; rust-version is older.)
        #[allow(unused_unsafe)]
        unsafe {
            core::arch::x86_64::_mm256_zeroupper()
        }
    }

    super::super::template::copy_routines!("avx", then: finish);
}

/// MOVDIR64B for whole non-temporal lines (a 64-byte direct store that
/// reads its source first), SSE2 for everything else (fills included:
/// MOVDIR64B only stores from memory).
pub mod movdir64b {
    use super::sse2::{
        copy_line, fill_line, fill_stream_line, fill_stream_quad, load_half, splat_half,
        store_half, Half,
    };

    /// # Safety
    /// MOVDIR64B present; `s` readable for 64 bytes, `d` writable and 64-aligned.
    #[inline]
    #[target_feature(enable = "sse2")]
    unsafe fn stream_line(d: *mut u8, s: *const u8) {
        // SAFETY: the caller's contract; the instruction reads all 64
        // source bytes before it writes, so overlap within a line is fine.
        unsafe {
            core::arch::asm!("movdir64b {d}, zmmword ptr [{s}]", d = in(reg) d, s = in(reg) s,
                options(nostack, preserves_flags))
        };
    }

    super::super::template::quad_from_lines!("sse2");

    super::super::template::copy_routines!("sse2");
}
