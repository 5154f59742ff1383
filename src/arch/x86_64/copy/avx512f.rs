//! AVX-512F: one 64-byte register per line; AVX for the 32-byte halves.
//!
//! The line moves are inline asm so the module builds for plain AVX
//! (AVX-512 target features and intrinsics need a newer Rust than the
//! crate's rust-version). They clobber xmm0-xmm15 (as zmm0-zmm15): the
//! compiler, built for AVX only, never keeps anything in the zmm registers'
//! upper halves.

use super::avx::Avx;
use super::template::Isa;
use core::arch::x86_64::__m256i;

pub(super) struct Avx512f;

/// One 64-byte line through zmm0: `$get` fills zmm0 from `$src` (a load
/// from it, or a broadcast of the fill word), `$store` writes it to `d`.
macro_rules! zmm_line {
    ($(#[$doc:meta])* $name:ident($src:ident: $ty:ty), $get:literal, $store:literal) => {
        $(#[$doc])*
        #[inline(always)]
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

impl Isa for Avx512f {
    type Half = __m256i;
    const REGISTER_HALVES: usize = 16;

    #[inline(always)]
    unsafe fn load_half(p: *const u8) -> __m256i {
        // SAFETY: the caller's contract (AVX-512F implies AVX).
        unsafe { Avx::load_half(p) }
    }

    #[inline(always)]
    unsafe fn splat_half(w: u64) -> __m256i {
        // SAFETY: the caller's contract (AVX-512F implies AVX).
        unsafe { Avx::splat_half(w) }
    }

    #[inline(always)]
    unsafe fn store_half(p: *mut u8, v: __m256i) {
        // SAFETY: the caller's contract (AVX-512F implies AVX).
        unsafe { Avx::store_half(p, v) }
    }

    #[inline(always)]
    unsafe fn stream_half(p: *mut u8, v: __m256i) {
        // SAFETY: the caller's contract (AVX-512F implies AVX).
        unsafe { Avx::stream_half(p, v) }
    }

    zmm_line!(copy_line(s: *const u8), "vmovdqu64 zmm0, zmmword ptr [{s}]", "vmovdqu64");
    zmm_line!(stream_line(s: *const u8), "vmovdqu64 zmm0, zmmword ptr [{s}]", "vmovntdq");
    zmm_line!(fill_line(w: u64), "vpbroadcastq zmm0, {w}", "vmovdqu64");
    zmm_line!(fill_stream_line(w: u64), "vpbroadcastq zmm0, {w}", "vmovntdq");

    #[inline(always)]
    unsafe fn stream_quad<const FWD: bool>(d: *mut u8, s: *const u8) {
        // SAFETY: the caller's contract; all four loads precede the stores,
        // so either direction is safe.
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

    /// All sixteen lines loaded into zmm0-zmm15 before any store, so
    /// either direction is safe.
    #[inline(always)]
    unsafe fn stream_16<const FWD: bool>(d: *mut u8, s: *const u8) {
        // Line i goes through zmm<i>: sixteen loads, then sixteen stores.
        macro_rules! loads_then_stores {
            ($($i:literal)*) => { concat!(
                $("vmovdqu64 zmm", $i, ", zmmword ptr [{s} + 64 * ", $i, "]\n",)*
                $("vmovntdq zmmword ptr [{d} + 64 * ", $i, "], zmm", $i, "\n",)*
            ) };
        }
        // SAFETY: the caller's contract: `s` readable and `d` writable and
        // 64-aligned for 1024 bytes; all loads precede the stores.
        unsafe {
            core::arch::asm!(
                loads_then_stores!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15),
                d = in(reg) d, s = in(reg) s,
                out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
                out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
                out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
                out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
                options(nostack, preserves_flags))
        };
    }

    #[inline(always)]
    unsafe fn fill_stream_quad(d: *mut u8, w: u64) {
        // SAFETY: AVX-512F is present and `d` writable for 256 bytes and
        // 64-aligned (this method's contract): four aligned zmm stores.
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
    #[inline(always)]
    unsafe fn finish() {
        // SAFETY: AVX is present (the caller's contract). (Safe to call in a
        // function built for AVX since Rust 1.86; rust-version is older.)
        #[allow(unused_unsafe)]
        unsafe {
            core::arch::x86_64::_mm256_zeroupper()
        }
    }
}

super::template::entry_points!(Avx512f, "avx");
