//! The one copy algorithm, instantiated per ISA by [`copy_routines!`].
//!
//! Shape of a copy of `len` bytes to `d`:
//! - up to 64 bytes, temporal: overlapping loads of the widest size that
//!   fits, all loads before any store, then a flush of the touched lines;
//!   non-temporal: one streaming line when `d` is a whole aligned line,
//!   else, when the policy streams partial lines (`Stores::partial`) and
//!   there are 8 bytes or more, 8-byte streaming stores, all loads first,
//!   else as temporal;
//! - otherwise a head up to the first 64-byte boundary of `d`, whole lines,
//!   and a tail. Head and tail use temporal stores and are flushed (for
//!   disjoint ranges both before the lines, so the write-backs overlap
//!   them); the lines use streaming stores (nothing to flush) or temporal
//!   stores each flushed right after it is written;
//! - non-temporal with `Stores::partial`, up to `WORDS_MAX` bytes, when
//!   head and tail are each 0 or at least 8 bytes or the ranges are
//!   disjoint: the same, but the
//!   head and tail are 8-byte streaming stores (the last one overlapping
//!   when the part is not a multiple of 8; a part of 1 to 7 bytes grows to
//!   one word that also rewrites bytes of the lines next to it), so
//!   nothing at all is flushed.
//!
//! The first case and non-temporal runs of whole aligned lines are inlined
//! into the routines' entry; the rest is out of line, so that short copies
//! save few registers (stores queue behind streaming stores).
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
//! memset runs the same code with a [`Fill`] source: the fill byte held in
//! registers, so a fill reads no memory at all.

use core::arch::x86_64::__m128i;

/// Where the bytes of a copy come from.
pub(super) trait Source: Copy {
    /// The source address, or None for a fill (which overlaps nothing).
    fn addr(self) -> Option<usize>;

    /// The source of the byte `off` bytes on.
    ///
    /// # Safety
    /// `off` lies inside the source range.
    unsafe fn at(self, off: usize) -> Self;

    /// The `size_of::<T>()` (at most 16) source bytes from here.
    ///
    /// # Safety
    /// The source is readable for `size_of::<T>()` bytes.
    unsafe fn load<T: Copy>(self) -> T;

    /// Asks the CPU to start fetching the source byte `off` bytes on. Never
    /// faults, so `off` may lie past the end of the source.
    fn prefetch(self, off: usize);
}

/// memmove's source: memory.
#[derive(Clone, Copy)]
pub(super) struct Mem(pub(super) *const u8);

impl Source for Mem {
    #[inline(always)]
    fn addr(self) -> Option<usize> {
        Some(self.0 as usize)
    }

    #[inline(always)]
    unsafe fn at(self, off: usize) -> Mem {
        // SAFETY: the caller's contract.
        Mem(unsafe { self.0.add(off) })
    }

    #[inline(always)]
    unsafe fn load<T: Copy>(self) -> T {
        // SAFETY: the caller's contract.
        unsafe { self.0.cast::<T>().read_unaligned() }
    }

    #[inline(always)]
    fn prefetch(self, off: usize) {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_NTA};
        let p = self.0.wrapping_add(off);
        // SAFETY: PREFETCHNTA is only a hint: it never faults and changes no
        // memory, whatever the address. (Safe in newer Rust, hence the allow.)
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_NTA>(p.cast())
        };
    }
}

/// memset's source: the fill byte in each byte of a word.
#[derive(Clone, Copy)]
pub(super) struct Fill(pub(super) u64);

impl Fill {
    pub(super) fn new(c: u8) -> Fill {
        Fill(u64::from(c) * 0x0101_0101_0101_0101)
    }
}

impl Source for Fill {
    #[inline(always)]
    fn addr(self) -> Option<usize> {
        None
    }

    #[inline(always)]
    unsafe fn at(self, _: usize) -> Fill {
        self
    }

    #[inline(always)]
    unsafe fn load<T: Copy>(self) -> T {
        const { assert!(core::mem::size_of::<T>() <= 16) };
        let words = [self.0; 2];
        // SAFETY: T fits in the 16 bytes of `words` (checked above); every
        // byte of them is the fill byte.
        unsafe { words.as_ptr().cast::<T>().read_unaligned() }
    }

    #[inline(always)]
    fn prefetch(self, _: usize) {}
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
pub(super) unsafe fn move_under_32<S: Source>(d: *mut u8, s: S, len: usize) {
    macro_rules! pair {
        ($t:ty) => {{
            let n = core::mem::size_of::<$t>();
            // SAFETY: n <= len, so both accesses stay inside the ranges.
            unsafe {
                let a: $t = s.load();
                let b: $t = s.at(len - n).load();
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
        unsafe { store(d, s.load::<u8>()) }
    }
}

/// Streams the first `K` words of `s` to `d` and, when `len > 8 * K`,
/// the last `K` words of the range too (overlapping the first ones), all
/// loads before any store.
///
/// # Safety
/// `8 * K <= len <= 16 * K`; `s` readable and `d` writable for `len` bytes.
#[inline(always)]
unsafe fn stream_word_pair<S: Source, const K: usize>(d: *mut u8, s: S, len: usize) {
    let back = len - 8 * K;
    // SAFETY: 8 * K <= len, so both groups lie inside the ranges.
    unsafe {
        let front: [i64; K] = core::array::from_fn(|i| s.at(8 * i).load());
        let last: [i64; K] = core::array::from_fn(|i| s.at(back + 8 * i).load());
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
pub(super) unsafe fn stream_words<S: Source>(d: *mut u8, s: S, len: usize) {
    // SAFETY: each arm meets stream_word_pair's bounds on len.
    unsafe {
        if len >= 32 {
            stream_word_pair::<S, 4>(d, s, len);
        } else if len >= 16 {
            stream_word_pair::<S, 2>(d, s, len);
        } else if len >= 8 {
            stream_word_pair::<S, 1>(d, s, len);
        }
    }
}

/// Generates, in the invoking module, `memmove::<F>` and `memset::<F>` for
/// one ISA plus `ROUTINES`, the table of them by flush instruction. The
/// module provides, built for `$features`:
/// `load_half(*const u8) -> Half`, `splat_half(u64) -> Half` (the word in
/// every lane) and `store_half(*mut u8, Half)` (32 bytes);
/// `copy_line(d, s)` (64 bytes, temporal, all loads first),
/// `stream_line(d, s)` (64 bytes to a 64-aligned `d`, non-temporal) and
/// `stream_quad(d, s)` (four lines forward), and the same three as
/// `fill_line(d, w)`, `fill_stream_line(d, w)` and `fill_stream_quad(d, w)`
/// for a fill word `w`, these six possibly from [`lines_from_halves!`] and
/// [`quad_from_lines!`]. Optional: `then`, run after every copy.
macro_rules! copy_routines {
    ($features:literal $(, then: $then:ident)?) => {
        use $crate::cpu::FlushKind;
        use $crate::memops::template::{Fill, Mem, Source};
        use $crate::memops::{Routines, Stores};
        use $crate::persist::flush::{self, Clflush, Clflushopt, Clwb, Flusher, NoFlush};

        const LINE: usize = $crate::persist::CACHELINE;

        /// Under `Stores::partial`, non-temporal copies up to this size
        /// stream their partial lines as words (no write-back at all);
        /// longer ones store them temporally and write them back while the
        /// lines stream. On AMD EPYC (family 19h) partial streamed lines
        /// pending at the fence cost more than hidden write-backs at 4 KiB,
        /// less at 1 KiB.
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

        /// A source's 32- and 64-byte moves with this ISA. The methods
        /// inline into the callers built for `$features`, and so do the
        /// module's primitives they call.
        trait Lines: Source {
            /// # Safety
            /// The ISA is present; the source readable for 32 bytes.
            unsafe fn half(self) -> Half;
            /// # Safety
            /// The ISA is present; the source readable and `d` writable
            /// for 64 bytes.
            unsafe fn copy_line(self, d: *mut u8);
            /// # Safety
            /// As `copy_line`, and `d` 64-aligned.
            unsafe fn stream_line(self, d: *mut u8);
            /// # Safety
            /// As `stream_line` for 256 bytes; a forward copy.
            unsafe fn stream_quad(self, d: *mut u8);
        }

        $crate::memops::template::impl_lines!(Mem, load_half, copy_line, stream_line, stream_quad);
        $crate::memops::template::impl_lines!(
            Fill,
            splat_half,
            fill_line,
            fill_stream_line,
            fill_stream_quad
        );

        /// Copies `len <= 64` bytes with temporal stores, loads first.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn move_small<S: Lines>(d: *mut u8, s: S, len: usize) {
            if len >= 32 {
                // SAFETY: 32 <= len, so both halves lie inside the ranges.
                unsafe {
                    let a = s.half();
                    let b = s.at(len - 32).half();
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
        unsafe fn part<F: Flusher, S: Lines, const WORDS: bool>(d: *mut u8, s: S, len: usize) {
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
        unsafe fn line<F: Flusher, S: Lines, const NT: bool>(d: *mut u8, s: S, i: usize) {
            // SAFETY: the caller passes i < the number of lines in range.
            unsafe {
                let (d, s) = (d.add(i * LINE), s.at(i * LINE));
                if NT {
                    s.stream_line(d);
                } else {
                    s.copy_line(d);
                    F::line(d);
                }
            }
        }

        /// `n` whole lines to the 64-aligned `d`. Forward streaming goes
        /// four lines per `stream_quad`, and in copies of at least
        /// `PREFETCH_MIN_LINES` asks for the source `ahead` lines early
        /// when `ahead` is not 0 (the CPU policy's `prefetch_lines`);
        /// backward goes line by line from the end, so no store lands on
        /// source bytes not yet read.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn lines<F: Flusher, S: Lines, const NT: bool, const FWD: bool>(
            d: *mut u8,
            s: S,
            n: usize,
            ahead: u8,
        ) {
            if FWD {
                let mut i = 0;
                if NT {
                    let ahead = usize::from(ahead);
                    let prefetch = ahead != 0 && n >= $crate::policy::PREFETCH_MIN_LINES;
                    while i + 4 <= n {
                        if prefetch {
                            for k in 0..4 {
                                s.prefetch((i + ahead + k) * LINE);
                            }
                        }
                        // SAFETY: lines i..i + 4 are below n, in range.
                        unsafe { s.at(i * LINE).stream_quad(d.add(i * LINE)) };
                        i += 4;
                    }
                }
                while i < n {
                    // SAFETY: i < n.
                    unsafe { line::<F, S, NT>(d, s, i) };
                    i += 1;
                }
            } else {
                let mut i = n;
                while i > 0 {
                    i -= 1;
                    // SAFETY: i < n.
                    unsafe { line::<F, S, NT>(d, s, i) };
                }
            }
        }

        /// The whole lines, streamed or not, in direction `FWD`.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn body<F: Flusher, S: Lines, const FWD: bool>(
            d: *mut u8,
            s: S,
            n: usize,
            st: Stores,
        ) {
            // SAFETY: the caller's ranges.
            unsafe {
                if st.nt {
                    lines::<F, S, true, FWD>(d, s, n, st.prefetch)
                } else {
                    lines::<F, S, false, FWD>(d, s, n, 0)
                }
            }
        }

        /// Whether the destination `[d, d + len)` and the source do not
        /// intersect (a fill intersects nothing).
        #[inline(always)]
        fn disjoint<S: Source>(d: *mut u8, s: S, len: usize) -> bool {
            s.addr().map_or(true, |s| {
                (d as usize).wrapping_sub(s) >= len && s.wrapping_sub(d as usize) >= len
            })
        }

        /// The whole algorithm (see the module comment of `template`).
        /// Copies of at most a line and non-temporal runs of whole lines
        /// stay in the caller's frame, which then saves few registers.
        #[inline(always)]
        unsafe fn transfer<F: Flusher, S: Lines>(d: *mut u8, s: S, len: usize, st: Stores) {
            let aligned = (d as usize) % LINE == 0;
            if len > LINE {
                let forward = s.addr().map_or(true, |s| (d as usize).wrapping_sub(s) >= len);
                if st.nt && aligned && len % LINE == 0 && forward {
                    // SAFETY: the caller's ranges, all whole lines.
                    unsafe { lines::<F, S, true, true>(d, s, len / LINE, st.prefetch) }
                } else {
                    // SAFETY: the caller's ranges.
                    unsafe { transfer_lines::<F, S>(d, s, len, st) }
                }
            } else if st.nt && len == LINE && aligned {
                // SAFETY: the caller's ranges: one aligned line.
                unsafe { s.stream_line(d) }
            } else if st.nt && st.partial && len >= 8 {
                // SAFETY: the caller's ranges, 8 to 64 bytes.
                unsafe { $crate::memops::template::stream_words(d, s, len) }
            } else {
                // SAFETY: the caller's ranges, at most 64 bytes.
                unsafe { part::<F, S, false>(d, s, len) }
            }
        }

        /// `transfer` for more than a line.
        #[inline(never)]
        #[target_feature(enable = $features)]
        unsafe fn transfer_lines<F: Flusher, S: Lines>(d: *mut u8, s: S, len: usize, st: Stores) {
            // Streamed words need 8 bytes in all, and a head and tail of 0
            // or at least 8 bytes each, unless a short part may be widened
            // to a word that rewrites bytes of its neighbour: fine when the
            // ranges are disjoint (or for memset), as those bytes get their
            // final value again. Longer copies store their parts
            // temporally, ahead of the lines (see `split`).
            let words = st.nt
                && st.partial
                && len <= WORDS_MAX
                && (disjoint(d, s, len) || {
                    let head = (d as usize).wrapping_neg() & (LINE - 1);
                    let tail = (len - head) % LINE;
                    (head == 0 || head >= 8) && (tail == 0 || tail >= 8)
                });
            if words {
                // SAFETY: the caller's ranges; parts are 0 or >= 8 bytes
                // or may be widened.
                unsafe { split::<F, S, true>(d, s, len, st) }
            } else {
                // SAFETY: the caller's ranges.
                unsafe { split::<F, S, false>(d, s, len, st) }
            }
        }

        /// Head, whole lines, tail (of more than a line in all), in the
        /// safe direction. `WORDS`: the whole copy is streamed; a head or
        /// tail of 1 to 7 bytes grows to the word that starts at `d` or
        /// ends at `d + len` (`transfer_lines` allows it).
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn split<F: Flusher, S: Lines, const WORDS: bool>(
            d: *mut u8,
            s: S,
            len: usize,
            st: Stores,
        ) {
            let head = (d as usize).wrapping_neg() & (LINE - 1);
            let n = (len - head) / LINE;
            let tail = len - head - n * LINE;
            let widen = |part: usize| WORDS && part > 0 && part < 8;
            // (offset, length) of each part; LINE < len, so len - 8 > 0.
            let head_part = if widen(head) { (0, 8) } else { (0, head) };
            let tail_part = if widen(tail) { (len - 8, 8) } else { (len - tail, tail) };
            // SAFETY: head, the n lines and tail lie inside `len` bytes:
            // every pointer below stays inside the caller's ranges.
            unsafe {
                let (bd, bs) = (d.add(head), s.at(head));
                if !WORDS && disjoint(d, s, len) {
                    // Both parts' write-backs first, so they complete
                    // while the lines are written.
                    part::<F, S, false>(d, s, head);
                    part::<F, S, false>(d.add(len - tail), s.at(len - tail), tail);
                    return body::<F, S, true>(bd, bs, n, st);
                }
                let forward = s.addr().map_or(true, |s| (d as usize).wrapping_sub(s) >= len);
                let (first, last) = if forward {
                    (head_part, tail_part)
                } else {
                    (tail_part, head_part)
                };
                part::<F, S, WORDS>(d.add(first.0), s.at(first.0), first.1);
                if forward {
                    body::<F, S, true>(bd, bs, n, st);
                } else {
                    body::<F, S, false>(bd, bs, n, st);
                }
                part::<F, S, WORDS>(d.add(last.0), s.at(last.0), last.1);
            }
        }

        /// Copies `len` bytes from `s` to `d` (they may overlap), storing
        /// as `st` says, flushing with `F` whatever went through the
        /// cache. No fence.
        ///
        /// # Safety
        /// The CPU supports this module's ISA; `s` readable and `d`
        /// writable for `len` bytes.
        #[target_feature(enable = $features)]
        pub unsafe fn memmove<F: Flusher>(d: *mut u8, s: *const u8, len: usize, st: Stores) {
            // SAFETY: the caller's contract.
            unsafe {
                transfer::<F, Mem>(d, Mem(s), len, st);
                $($then();)?
            }
        }

        /// Fills `len` bytes at `d` with `c`; otherwise as `memmove`.
        ///
        /// # Safety
        /// The CPU supports this module's ISA; `d` writable for `len` bytes.
        #[target_feature(enable = $features)]
        pub unsafe fn memset<F: Flusher>(d: *mut u8, c: u8, len: usize, st: Stores) {
            // SAFETY: the caller's contract.
            unsafe {
                transfer::<F, Fill>(d, Fill::new(c), len, st);
                $($then();)?
            }
        }
    };
}

/// Implements the invoking module's `Lines` for a source type (`Mem` or
/// `Fill`, whose field is what the primitives take) with the module's
/// primitives for its half, temporal line, streamed line and four lines.
macro_rules! impl_lines {
    ($source:ty, $half:ident, $copy:ident, $stream:ident, $quad:ident) => {
        impl Lines for $source {
            #[inline(always)]
            unsafe fn half(self) -> Half {
                // SAFETY: the caller's contract.
                unsafe { $half(self.0) }
            }
            #[inline(always)]
            unsafe fn copy_line(self, d: *mut u8) {
                // SAFETY: the caller's contract.
                unsafe { $copy(d, self.0) }
            }
            #[inline(always)]
            unsafe fn stream_line(self, d: *mut u8) {
                // SAFETY: the caller's contract.
                unsafe { $stream(d, self.0) }
            }
            #[inline(always)]
            unsafe fn stream_quad(self, d: *mut u8) {
                // SAFETY: the caller's contract.
                unsafe { $quad(d, self.0) }
            }
        }
    };
}

/// Defines `copy_line`, `stream_line` and their fill forms as two 32-byte
/// halves (with the module's `stream_half`), for ISAs without a 64-byte
/// register.
macro_rules! lines_from_halves {
    ($features:literal) => {
        $crate::memops::template::line_from_halves!(
            $features,
            /// # Safety
            /// The ISA is present; `s` readable and `d` writable for 64 bytes.
            pub(super) copy_line(s: *const u8) = (load_half(s), load_half(s.add(32))),
            store_half
        );
        $crate::memops::template::line_from_halves!(
            $features,
            /// # Safety
            /// The ISA is present; `s` readable for 64 bytes, `d` writable
            /// and 64-aligned.
            stream_line(s: *const u8) = (load_half(s), load_half(s.add(32))),
            stream_half
        );
        $crate::memops::template::line_from_halves!(
            $features,
            /// # Safety
            /// The ISA is present; `d` writable for 64 bytes.
            pub(super) fill_line(w: u64) = (splat_half(w), splat_half(w)),
            store_half
        );
        $crate::memops::template::line_from_halves!(
            $features,
            /// # Safety
            /// The ISA is present; `d` writable for 64 bytes and 64-aligned.
            pub(super) fill_stream_line(w: u64) = (splat_half(w), splat_half(w)),
            stream_half
        );

        /// # Safety
        /// The ISA is present; `d` writable for 256 bytes and 64-aligned.
        #[inline]
        #[target_feature(enable = $features)]
        pub(super) unsafe fn fill_stream_quad(d: *mut u8, w: u64) {
            let v = splat_half(w);
            for i in 0..8 {
                // SAFETY: the caller's contract.
                unsafe { stream_half(d.add(32 * i), v) };
            }
        }

        $crate::memops::template::quad_from_lines!($features);
    };
}

/// Defines `$name(d, $src)`: the 64-byte line at `d` from the two halves
/// `$halves` (both read before either is written), written with `$put`.
macro_rules! line_from_halves {
    (
        $features:literal,
        $(#[$doc:meta])*
        $vis:vis $name:ident($src:ident: $ty:ty) = $halves:expr,
        $put:ident
    ) => {
        $(#[$doc])*
        #[inline]
        #[target_feature(enable = $features)]
        $vis unsafe fn $name(d: *mut u8, $src: $ty) {
            // SAFETY: the caller's contract; both halves are read before
            // the stores.
            unsafe {
                let (a, b) = $halves;
                $put(d, a);
                $put(d.add(32), b);
            }
        }
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

pub(super) use {copy_routines, impl_lines, line_from_halves, lines_from_halves, quad_from_lines};
