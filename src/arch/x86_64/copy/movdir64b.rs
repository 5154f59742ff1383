//! MOVDIR64B for whole non-temporal lines (a 64-byte direct store that
//! reads its source first), SSE2 for everything else (fills included:
//! MOVDIR64B only stores from memory).

use super::sse2::Sse2;
use super::template::Isa;

pub(super) struct Movdir64b;

impl Isa for Movdir64b {
    type Half = <Sse2 as Isa>::Half;

    #[inline(always)]
    unsafe fn load_half(p: *const u8) -> Self::Half {
        // SAFETY: SSE2 is part of x86_64, so Sse2's contract is ours:
        // `p` readable for 32 bytes (this method's own contract).
        unsafe { Sse2::load_half(p) }
    }

    #[inline(always)]
    unsafe fn splat_half(w: u64) -> Self::Half {
        // SAFETY: SSE2 is part of x86_64; splat_half needs nothing else.
        unsafe { Sse2::splat_half(w) }
    }

    #[inline(always)]
    unsafe fn store_half(p: *mut u8, v: Self::Half) {
        // SAFETY: SSE2 is part of x86_64, so Sse2's contract is ours:
        // `p` writable for 32 bytes (this method's own contract).
        unsafe { Sse2::store_half(p, v) }
    }

    #[inline(always)]
    unsafe fn stream_half(p: *mut u8, v: Self::Half) {
        // SAFETY: SSE2 is part of x86_64, so Sse2's contract is ours:
        // `p` writable for 32 bytes and 32-aligned (this method's own contract).
        unsafe { Sse2::stream_half(p, v) }
    }

    #[inline(always)]
    unsafe fn stream_line(d: *mut u8, s: *const u8) {
        // SAFETY: MOVDIR64B is present, `s` readable for 64 bytes, `d`
        // writable and 64-aligned (the caller's contract); the instruction
        // reads all 64 source bytes before it writes, so overlap within a
        // line is fine.
        unsafe {
            core::arch::asm!("movdir64b {d}, zmmword ptr [{s}]", d = in(reg) d, s = in(reg) s,
                options(nostack, preserves_flags))
        };
    }

    /// One MOVDIR64B per line (the point of this ISA), so the lines go in
    /// the order the direction allows: each reads its source before it
    /// writes, and no store reaches a line not yet read.
    #[inline(always)]
    unsafe fn stream_quad<const FWD: bool>(d: *mut u8, s: *const u8) {
        for k in 0..4 {
            let i = if FWD { k } else { 3 - k };
            // SAFETY: line i of the 256 bytes (the caller's contract), in
            // the direction's order.
            unsafe { Self::stream_line(d.add(64 * i), s.add(64 * i)) };
        }
    }
}

super::template::entry_points!(Movdir64b, "sse2");
