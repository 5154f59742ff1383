//! The one copy algorithm, instantiated per ISA by [`copy_routines!`].
//!
//! Shape of a copy of `len` bytes to `d`:
//! - up to 64 bytes (or under 64 when non-temporal): overlapping loads of
//!   the widest size that fits, all loads before any store, then a flush
//!   of the touched lines;
//! - otherwise a head up to the first 64-byte boundary of `d`, whole lines,
//!   and a tail. Head and tail use temporal stores and are flushed (for
//!   disjoint ranges both before the lines, so the write-backs overlap
//!   them); the lines use streaming stores (nothing to flush) or temporal
//!   stores each flushed right after it is written;
//! - non-temporal up to `WORDS_MAX` bytes, when the copy has 8 bytes or
//!   more and head and tail are each 0 or at least 8 bytes, or the ranges
//!   are disjoint: the same, but a copy of at most a line and the head and
//!   tail are 8-byte streaming stores (the last one overlapping when the
//!   part is not a multiple of 8; a part of 1 to 7 bytes grows to one word
//!   that also rewrites bytes of the lines next to it), so nothing at all
//!   is flushed.
//!
//! Overlap: a forward copy is safe when `d` is below `s` or the ranges are
//! disjoint, since every store then lands on source bytes already read;
//! otherwise the same steps run from the end (tail, lines descending, head).
//! Each step (a part, a line) loads everything it needs before it stores;
//! forward streaming takes four lines per step, in ascending order.
//!
//! 8-byte atomicity: with `d` and `len` 8-byte aligned every store starts
//! at `d + k` or ends at `d + len - k` with `k` a multiple of 8 and is at
//! least 8 bytes wide, so no aligned 8-byte word is ever written piecewise.
//!
//! memset runs the same code with `SET`: the source is a 256-byte pattern
//! that never advances, so every "load" (up to four lines) reads the fill
//! byte.

use core::arch::x86_64::__m128i;

/// Reads a `T` from `p`, unaligned.
///
/// # Safety
/// `p` must be readable for `size_of::<T>()` bytes.
#[inline(always)]
unsafe fn load<T: Copy>(p: *const u8) -> T {
    // SAFETY: the caller's contract.
    unsafe { p.cast::<T>().read_unaligned() }
}

/// Writes `v` to `p`, unaligned, as one store for sizes up to 16.
///
/// # Safety
/// `p` must be writable for `size_of::<T>()` bytes.
#[inline(always)]
unsafe fn store<T: Copy>(p: *mut u8, v: T) {
    // SAFETY: the caller's contract.
    unsafe { p.cast::<T>().write_unaligned(v) }
}

/// Copies `len < 32` bytes as two overlapping accesses of the widest size
/// that fits (SSE2 is x86_64 baseline, so this inlines into every ISA).
///
/// # Safety
/// `s` readable and `d` writable for `len` bytes.
#[inline(always)]
pub(super) unsafe fn move_under_32(d: *mut u8, s: *const u8, len: usize) {
    macro_rules! pair {
        ($t:ty) => {{
            let n = core::mem::size_of::<$t>();
            // SAFETY: n <= len, so both accesses stay inside the ranges.
            unsafe {
                let a: $t = load(s);
                let b: $t = load(s.add(len - n));
                store(d, a);
                store(d.add(len - n), b);
            }
        }};
    }
    if len >= 16 {
        pair!(__m128i)
    } else if len >= 8 {
        pair!(u64)
    } else if len >= 4 {
        pair!(u32)
    } else if len >= 2 {
        pair!(u16)
    } else if len == 1 {
        // SAFETY: one byte, inside both ranges.
        unsafe { store(d, load::<u8>(s)) }
    }
}

/// Streams the first `K` words of `s` to `d` and, when `len > 8 * K`,
/// the last `K` words of the range too (overlapping the first ones), all
/// loads before any store.
///
/// # Safety
/// `8 * K <= len <= 16 * K`; `s` readable and `d` writable for `len` bytes.
#[inline(always)]
unsafe fn stream_word_pair<const K: usize>(d: *mut u8, s: *const u8, len: usize) {
    let back = len - 8 * K;
    // SAFETY: 8 * K <= len, so both groups lie inside the ranges.
    unsafe {
        let front: [i64; K] = core::array::from_fn(|i| load(s.add(8 * i)));
        let last: [i64; K] = core::array::from_fn(|i| load(s.add(back + 8 * i)));
        for (i, &w) in front.iter().enumerate() {
            core::arch::x86_64::_mm_stream_si64(d.add(8 * i).cast(), w);
        }
        if back != 0 {
            for (i, &w) in last.iter().enumerate() {
                core::arch::x86_64::_mm_stream_si64(d.add(back + 8 * i).cast(), w);
            }
        }
    }
}

/// Copies `len` bytes (0, or 8 to 64) with 8-byte streaming stores, all
/// loads first: words from the front and words ending at `len`, which
/// overlap in the middle (same bytes, same values). With `d` and `len`
/// 8-aligned every store is an aligned word.
///
/// # Safety
/// `s` readable and `d` writable for `len` bytes.
#[inline(always)]
pub(super) unsafe fn stream_words(d: *mut u8, s: *const u8, len: usize) {
    // SAFETY: each arm meets stream_word_pair's bounds on len.
    unsafe {
        if len >= 32 {
            stream_word_pair::<4>(d, s, len);
        } else if len >= 16 {
            stream_word_pair::<2>(d, s, len);
        } else if len >= 8 {
            stream_word_pair::<1>(d, s, len);
        }
    }
}

/// Generates, in the invoking module, `memmove::<F>` and `memset::<F>` for
/// one ISA plus `ROUTINES`, the table of them by flush instruction. The
/// module provides, built for `$features`:
/// `load_half(*const u8) -> Half` and `store_half(*mut u8, Half)` (32 bytes),
/// `copy_line(d, s)` (64 bytes, temporal, all loads first),
/// `stream_line(d, s)` (64 bytes to a 64-aligned `d`, non-temporal) and
/// `stream_quad(d, s)` (four lines forward), the last three possibly from
/// [`lines_from_halves!`] and [`quad_from_lines!`]. Optional: `then`, run
/// after every copy, and `fill(*mut Pattern, u8)`,
/// which writes memset's pattern with stores as wide as the line loads
/// (a wide load from narrower stores misses store forwarding).
macro_rules! copy_routines {
    ($features:literal $(, then: $then:ident)? $(, fill: $fill:ident)?) => {
        use $crate::cpu::FlushKind;
        use $crate::memops::Routines;
        use $crate::persist::flush::{self, Clflush, Clflushopt, Clwb, Flusher, NoFlush};

        const LINE: usize = $crate::persist::CACHELINE;

        /// Non-temporal copies up to this size stream their partial lines
        /// as words (no write-back at all); longer ones store them
        /// temporally and write them back while the lines stream. On the
        /// development machine (AMD EPYC) partial streamed lines pending
        /// at the fence cost more than hidden write-backs from ~2 KiB on.
        const WORDS_MAX: usize = 1024;

        /// This ISA's routines, indexed by `FlushKind as usize`.
        pub const ROUTINES: [Routines; FlushKind::COUNT] = [
            routines::<NoFlush>(),
            routines::<Clflush>(),
            routines::<Clflushopt>(),
            routines::<Clwb>(),
        ];

        const fn routines<F: Flusher>() -> Routines {
            Routines {
                memmove: memmove::<F>,
                memset: memset::<F>,
            }
        }

        /// The source of byte `off`: `s + off`, or the pattern itself for memset.
        #[inline(always)]
        unsafe fn src_at<const SET: bool>(s: *const u8, off: usize) -> *const u8 {
            if SET {
                s
            } else {
                // SAFETY: callers pass offsets inside the source range.
                unsafe { s.add(off) }
            }
        }

        /// Copies `len <= 64` bytes with temporal stores, loads first.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn move_small(d: *mut u8, s: *const u8, len: usize) {
            if len >= 32 {
                // SAFETY: 32 <= len, so both halves lie inside the ranges.
                unsafe {
                    let a = load_half(s);
                    let b = load_half(s.add(len - 32));
                    store_half(d, a);
                    store_half(d.add(len - 32), b);
                }
            } else {
                // SAFETY: the caller's ranges.
                unsafe { $crate::memops::template::move_under_32(d, s, len) }
            }
        }

        /// A part of at most 64 bytes: with temporal stores, then flushed;
        /// or, with `WORDS` (a part of 0 or at least 8 bytes), streamed words.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn part<F: Flusher, const WORDS: bool>(d: *mut u8, s: *const u8, len: usize) {
            // SAFETY: the caller's ranges.
            unsafe {
                if WORDS {
                    $crate::memops::template::stream_words(d, s, len);
                } else {
                    move_small(d, s, len);
                    flush::range::<F>(d, len);
                }
            }
        }

        /// Line `i` of the 64-aligned run at `d`.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn line<F: Flusher, const SET: bool, const NT: bool>(
            d: *mut u8,
            s: *const u8,
            i: usize,
        ) {
            // SAFETY: the caller passes i < the number of lines in range.
            unsafe {
                let (d, s) = (d.add(i * LINE), src_at::<SET>(s, i * LINE));
                if NT {
                    stream_line(d, s);
                } else {
                    copy_line(d, s);
                    F::line(d);
                }
            }
        }

        /// `n` whole lines to the 64-aligned `d`. Forward streaming goes
        /// four lines per `stream_quad`; backward goes line by line from
        /// the end, so no store lands on source bytes not yet read.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn lines<F: Flusher, const SET: bool, const NT: bool, const FWD: bool>(
            d: *mut u8,
            s: *const u8,
            n: usize,
        ) {
            if FWD {
                let mut i = 0;
                if NT {
                    while i + 4 <= n {
                        // SAFETY: lines i..i + 4 are below n, in range.
                        unsafe { stream_quad(d.add(i * LINE), src_at::<SET>(s, i * LINE)) };
                        i += 4;
                    }
                }
                while i < n {
                    // SAFETY: i < n.
                    unsafe { line::<F, SET, NT>(d, s, i) };
                    i += 1;
                }
            } else {
                let mut i = n;
                while i > 0 {
                    i -= 1;
                    // SAFETY: i < n.
                    unsafe { line::<F, SET, NT>(d, s, i) };
                }
            }
        }

        /// The whole lines, streamed or not, in direction `FWD`.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn body<F: Flusher, const SET: bool, const FWD: bool>(
            d: *mut u8,
            s: *const u8,
            n: usize,
            nt: bool,
        ) {
            // SAFETY: the caller's ranges.
            unsafe {
                if nt {
                    lines::<F, SET, true, FWD>(d, s, n)
                } else {
                    lines::<F, SET, false, FWD>(d, s, n)
                }
            }
        }

        /// The whole algorithm (see the module comment of `template`).
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn transfer<F: Flusher, const SET: bool>(
            d: *mut u8,
            s: *const u8,
            len: usize,
            nt: bool,
        ) {
            // Streamed words need 8 bytes in all, and a head and tail of 0
            // or at least 8 bytes each, unless a short part may be widened
            // to a word that rewrites bytes of its neighbour: fine when the
            // ranges are disjoint (or for memset), as those bytes get their
            // final value again. Longer copies store their parts
            // temporally, ahead of the lines (see `split`).
            let words = nt
                && (8..=WORDS_MAX).contains(&len)
                && (len < LINE || SET || disjoint(d, s, len) || {
                    let head = (d as usize).wrapping_neg() & (LINE - 1);
                    let tail = (len - head) % LINE;
                    (head == 0 || head >= 8) && (tail == 0 || tail >= 8)
                });
            if words {
                // SAFETY: the caller's ranges; parts are 0 or >= 8 bytes
                // or may be widened.
                unsafe { split::<F, SET, true>(d, s, len, true) }
            } else {
                // SAFETY: the caller's ranges.
                unsafe { split::<F, SET, false>(d, s, len, nt) }
            }
        }

        /// Whether `[d, d + len)` and `[s, s + len)` do not intersect.
        #[inline(always)]
        fn disjoint(d: *mut u8, s: *const u8, len: usize) -> bool {
            (d as usize).wrapping_sub(s as usize) >= len
                && (s as usize).wrapping_sub(d as usize) >= len
        }

        /// Head, whole lines, tail, in the safe direction. `WORDS`: the
        /// whole copy is streamed; a copy of at most a line is streamed
        /// words, and a head or tail of 1 to 7 bytes grows to the word
        /// that starts at `d` or ends at `d + len` (`transfer` allows it).
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn split<F: Flusher, const SET: bool, const WORDS: bool>(
            d: *mut u8,
            s: *const u8,
            len: usize,
            nt: bool,
        ) {
            let head = (d as usize).wrapping_neg() & (LINE - 1);
            if len < LINE || (len == LINE && if WORDS { head != 0 } else { !nt }) {
                // SAFETY: the caller's ranges.
                return unsafe { part::<F, WORDS>(d, s, len) };
            }
            let n = (len - head) / LINE;
            let tail = len - head - n * LINE;
            let widen = |part: usize| WORDS && part > 0 && part < 8;
            // (offset, length) of each part; LINE < len, so len - 8 > 0.
            let head_part = if widen(head) { (0, 8) } else { (0, head) };
            let tail_part = if widen(tail) { (len - 8, 8) } else { (len - tail, tail) };
            // SAFETY: head, the n lines and tail lie inside `len` bytes:
            // every pointer below stays inside the caller's ranges.
            unsafe {
                let (bd, bs) = (d.add(head), src_at::<SET>(s, head));
                let (td, ts) = (d.add(len - tail), src_at::<SET>(s, len - tail));
                let forward = SET || (d as usize).wrapping_sub(s as usize) >= len;
                if !WORDS && (SET || disjoint(d, s, len)) {
                    // Both parts' write-backs first, so they complete
                    // while the lines are written.
                    part::<F, false>(d, s, head);
                    part::<F, false>(td, ts, tail);
                    return body::<F, SET, true>(bd, bs, n, nt);
                }
                let (first, last) = if forward {
                    (head_part, tail_part)
                } else {
                    (tail_part, head_part)
                };
                part::<F, WORDS>(d.add(first.0), src_at::<SET>(s, first.0), first.1);
                if forward {
                    body::<F, SET, true>(bd, bs, n, nt);
                } else {
                    body::<F, SET, false>(bd, bs, n, nt);
                }
                part::<F, WORDS>(d.add(last.0), src_at::<SET>(s, last.0), last.1);
            }
        }

        /// Copies `len` bytes from `s` to `d` (they may overlap), with
        /// streaming stores for whole lines when `nt`, flushing with `F`
        /// whatever went through the cache. No fence.
        ///
        /// # Safety
        /// The CPU supports this module's ISA; `s` readable and `d`
        /// writable for `len` bytes.
        #[target_feature(enable = $features)]
        pub unsafe fn memmove<F: Flusher>(d: *mut u8, s: *const u8, len: usize, nt: bool) {
            // SAFETY: the caller's contract.
            unsafe {
                transfer::<F, false>(d, s, len, nt);
                $($then();)?
            }
        }

        /// Fills `len` bytes at `d` with `c`; otherwise as `memmove`.
        ///
        /// # Safety
        /// The CPU supports this module's ISA; `d` writable for `len` bytes.
        #[target_feature(enable = $features)]
        pub unsafe fn memset<F: Flusher>(d: *mut u8, c: u8, len: usize, nt: bool) {
            let mut pattern = core::mem::MaybeUninit::<$crate::memops::Pattern>::uninit();
            // SAFETY: the caller's contract; the pattern is written before
            // it is read, and every source access reads inside its 256 bytes.
            unsafe {
                $crate::memops::template::fill_pattern!(pattern.as_mut_ptr(), c $(, $fill)?);
                transfer::<F, true>(d, pattern.as_ptr().cast(), len, nt);
                $($then();)?
            }
        }
    };
}

/// Defines `copy_line` and `stream_line` as two 32-byte halves (with the
/// module's `stream_half`), for ISAs without a 64-byte register.
macro_rules! lines_from_halves {
    ($features:literal) => {
        /// # Safety
        /// The ISA is present; `s` readable and `d` writable for 64 bytes.
        #[inline]
        #[target_feature(enable = $features)]
        pub(super) unsafe fn copy_line(d: *mut u8, s: *const u8) {
            // SAFETY: the caller's contract; both loads precede the stores.
            unsafe {
                let (a, b) = (load_half(s), load_half(s.add(32)));
                store_half(d, a);
                store_half(d.add(32), b);
            }
        }

        /// # Safety
        /// The ISA is present; `s` readable for 64 bytes, `d` writable and
        /// 64-aligned.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn stream_line(d: *mut u8, s: *const u8) {
            // SAFETY: the caller's contract; both loads precede the stores.
            unsafe {
                let (a, b) = (load_half(s), load_half(s.add(32)));
                stream_half(d, a);
                stream_half(d.add(32), b);
            }
        }

        $crate::memops::template::quad_from_lines!($features);
    };
}

/// Defines `stream_quad` as four `stream_line`s, ascending.
macro_rules! quad_from_lines {
    ($features:literal) => {
        /// # Safety
        /// The ISA is present; `s` readable for 256 bytes, `d` writable for
        /// 256 bytes and 64-aligned; a forward copy (each line is read
        /// before it is written, lines in ascending order).
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn stream_quad(d: *mut u8, s: *const u8) {
            for i in 0..4 {
                // SAFETY: the caller's contract.
                unsafe { stream_line(d.add(64 * i), s.add(64 * i)) };
            }
        }
    };
}

/// Writes memset's pattern: with the module's `fill` when it has one.
macro_rules! fill_pattern {
    ($p:expr, $c:expr) => {
        $p.write($crate::memops::Pattern([$c; 4 * LINE]))
    };
    ($p:expr, $c:expr, $fill:ident) => {
        $fill($p, $c)
    };
}

pub(super) use {copy_routines, fill_pattern, lines_from_halves, quad_from_lines};
