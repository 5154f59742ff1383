//! The one copy algorithm, generic over an instruction set ([`Isa`]), a
//! write-back instruction ([`Flusher`]) and a source ([`Source`]: memory or
//! a fill byte). Everything here is `#[inline(always)]`: it is compiled
//! only as part of an ISA's entry points, which [`entry_points!`] builds
//! with the ISA's target features, so the intrinsics the [`Isa`] methods
//! call inline there (as memchr's `arch/generic` code does over its
//! `Vector` trait).
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
//!   them, when the lines are temporal or `Stores::parts_first` says so);
//!   the lines use streaming stores (nothing to flush) or temporal stores
//!   each flushed right after it is written;
//! - non-temporal with `Stores::partial`, up to `WORDS_MAX` bytes, when
//!   head and tail are each 0 or at least 8 bytes or the ranges are
//!   disjoint: the same, but the
//!   head and tail are 8-byte streaming stores (the last one overlapping
//!   when the part is not a multiple of 8; a part of 1 to 7 bytes grows to
//!   one word that also rewrites bytes of the lines next to it), so
//!   nothing at all is flushed.
//!
//! The first case and non-temporal runs of whole aligned lines are inlined
//! into the routines' entry; the rest is out of line
//! ([`OutOfLine::transfer_lines`]), so that short copies save few registers
//! (stores queue behind streaming stores).
//!
//! Overlap: a forward copy is safe when `d` is below `s` or the ranges are
//! disjoint, since every store then lands on source bytes already read;
//! otherwise the same steps run from the end (tail, lines descending, head).
//! Each step (a part, a line, four streamed lines) loads everything it
//! needs before it stores.
//!
//! 8-byte atomicity: with `d` and `len` 8-byte aligned every store starts
//! at `d + k` or ends at `d + len - k` with `k` a multiple of 8 and is at
//! least 8 bytes wide, so no aligned 8-byte word is ever written piecewise.

use crate::arch::source::{Fill, Mem, Source};
use crate::arch::{flush_lines, Flusher, Stores, CACHELINE as LINE};
use crate::policy::PREFETCH_MIN_LINES;
use core::arch::x86_64::__m128i;

/// Streaming moves take sixteen lines per step only when the destination
/// is at least this far from the source (above it backward, below it
/// forward; see `lines`): with 2 KiB, the stores of a backward step landed
/// on lines loaded one step earlier and 4 KiB moves ran 20 % slower than
/// with eight-line steps.
const BLOCK16_MIN_DISTANCE: usize = 64 * LINE;

/// Under `Stores::partial`, non-temporal copies up to this size stream
/// their partial lines as words (no write-back at all); longer ones store
/// them temporally and write them back while the lines stream. On AMD EPYC
/// (family 19h) partial streamed lines pending at the fence cost more than
/// hidden write-backs at 4 KiB, less at 1 KiB.
const WORDS_MAX: usize = 1024;

/// One instruction set's vector moves. Every method requires, beyond the
/// bounds it states, that the CPU supports the instruction set; they are
/// only called from code built by [`entry_points!`] with its features.
pub(super) trait Isa: Sized {
    /// 32 bytes in registers.
    type Half: Copy;

    /// How many halves the vector registers hold at once (SSE2: 16 xmm
    /// registers, two per half).
    const REGISTER_HALVES: usize = 8;

    /// # Safety
    /// The ISA is present; `p` readable for 32 bytes.
    unsafe fn load_half(p: *const u8) -> Self::Half;

    /// `w` in every 8-byte lane.
    ///
    /// # Safety
    /// The ISA is present.
    unsafe fn splat_half(w: u64) -> Self::Half;

    /// # Safety
    /// The ISA is present; `p` writable for 32 bytes.
    unsafe fn store_half(p: *mut u8, v: Self::Half);

    /// # Safety
    /// The ISA is present; `p` writable for 32 bytes and 32-aligned.
    unsafe fn stream_half(p: *mut u8, v: Self::Half);

    /// 64 bytes from `s` to `d`, temporal, both halves read first.
    ///
    /// # Safety
    /// The ISA is present; `s` readable and `d` writable for 64 bytes.
    #[inline(always)]
    unsafe fn copy_line(d: *mut u8, s: *const u8) {
        // SAFETY: the caller's contract; both halves are read before the stores.
        unsafe {
            let (a, b) = (Self::load_half(s), Self::load_half(s.add(32)));
            Self::store_half(d, a);
            Self::store_half(d.add(32), b);
        }
    }

    /// As `copy_line` with streaming stores.
    ///
    /// # Safety
    /// As `copy_line`, and `d` 64-aligned.
    #[inline(always)]
    unsafe fn stream_line(d: *mut u8, s: *const u8) {
        // SAFETY: the caller's contract; both halves are read before the stores.
        unsafe {
            let (a, b) = (Self::load_half(s), Self::load_half(s.add(32)));
            Self::stream_half(d, a);
            Self::stream_half(d.add(32), b);
        }
    }

    /// Four lines streamed, for a move in direction `FWD`. This one loads
    /// all eight halves before any store, which is safe either way; an ISA
    /// whose line move cannot hold four lines (MOVDIR64B) may instead move
    /// them one by one, ascending when `FWD` and descending otherwise.
    ///
    /// # Safety
    /// The ISA is present; `s` readable for 256 bytes, `d` writable for 256
    /// bytes and 64-aligned; if the ranges overlap, `FWD` is whether `d`
    /// is below `s`.
    #[inline(always)]
    unsafe fn stream_quad<const FWD: bool>(d: *mut u8, s: *const u8) {
        // SAFETY: the caller's contract: every load and store is inside the
        // 256 bytes, and `d + 32 * i` is 32-aligned as `d` is 64-aligned.
        unsafe {
            let v: [Self::Half; 8] = core::array::from_fn(|i| Self::load_half(s.add(32 * i)));
            for (i, h) in v.into_iter().enumerate() {
                Self::stream_half(d.add(32 * i), h);
            }
        }
    }

    /// Eight lines streamed, for a move in direction `FWD`: all sixteen
    /// halves loaded first where the registers hold them, else two
    /// `stream_quad`s in the direction's order.
    ///
    /// # Safety
    /// As `stream_quad`, for 512 bytes.
    #[inline(always)]
    unsafe fn stream_8<const FWD: bool>(d: *mut u8, s: *const u8) {
        // SAFETY: in both arms every access is inside the 512 bytes (the
        // caller's contract), `d + 32 * i` is 32-aligned, and either all
        // loads precede the stores or each quad is safe in this direction.
        unsafe {
            if Self::REGISTER_HALVES >= 16 {
                let v: [Self::Half; 16] = core::array::from_fn(|i| Self::load_half(s.add(32 * i)));
                for (i, h) in v.into_iter().enumerate() {
                    Self::stream_half(d.add(32 * i), h);
                }
            } else {
                for k in 0..2 {
                    let q = 256 * if FWD { k } else { 1 - k };
                    Self::stream_quad::<FWD>(d.add(q), s.add(q));
                }
            }
        }
    }

    /// Sixteen lines streamed, for a move in direction `FWD`: two
    /// `stream_8`s in the direction's order (an ISA with sixteen
    /// line-wide registers loads all sixteen lines first instead).
    ///
    /// # Safety
    /// As `stream_quad`, for 1024 bytes.
    #[inline(always)]
    unsafe fn stream_16<const FWD: bool>(d: *mut u8, s: *const u8) {
        for k in 0..2 {
            let h = 512 * if FWD { k } else { 1 - k };
            // SAFETY: half h of the 1024 bytes (the caller's contract), in
            // the direction's order, each one safe in that direction.
            unsafe { Self::stream_8::<FWD>(d.add(h), s.add(h)) };
        }
    }

    /// The 64 bytes at `d` set to the word `w` repeated, temporal.
    ///
    /// # Safety
    /// The ISA is present; `d` writable for 64 bytes.
    #[inline(always)]
    unsafe fn fill_line(d: *mut u8, w: u64) {
        // SAFETY: the ISA is present and `d` writable for 64 bytes (this
        // method's contract), which covers both 32-byte half stores.
        unsafe {
            let v = Self::splat_half(w);
            Self::store_half(d, v);
            Self::store_half(d.add(32), v);
        }
    }

    /// As `fill_line` with streaming stores.
    ///
    /// # Safety
    /// As `fill_line`, and `d` 64-aligned.
    #[inline(always)]
    unsafe fn fill_stream_line(d: *mut u8, w: u64) {
        // SAFETY: `d` writable for 64 bytes and 64-aligned (this method's
        // contract), so both halves are writable and 32-aligned.
        unsafe {
            let v = Self::splat_half(w);
            Self::stream_half(d, v);
            Self::stream_half(d.add(32), v);
        }
    }

    /// Four `fill_stream_line`s.
    ///
    /// # Safety
    /// The ISA is present; `d` writable for 256 bytes and 64-aligned.
    #[inline(always)]
    unsafe fn fill_stream_quad(d: *mut u8, w: u64) {
        // SAFETY: `d` writable for 256 bytes and 64-aligned (this method's
        // contract), so each of the four lines meets fill_stream_line's.
        unsafe {
            let v = Self::splat_half(w);
            for i in 0..8 {
                Self::stream_half(d.add(32 * i), v);
            }
        }
    }

    /// Run after every copy (AVX-512F clears the upper register halves).
    ///
    /// # Safety
    /// The ISA is present.
    #[inline(always)]
    unsafe fn finish() {}
}

/// An ISA's [`transfer_lines`] built with its target features, out of
/// line: [`entry_points!`] implements it, so the template can call it.
pub(super) trait OutOfLine: Isa {
    /// # Safety
    /// As [`transfer_lines`].
    unsafe fn transfer_lines<F: Flusher, S: Lines<Self>>(d: *mut u8, s: S, len: usize, st: Stores);
}

/// A source's 32- and 64-byte moves with instruction set `I`.
pub(super) trait Lines<I: Isa>: Source {
    /// # Safety
    /// The ISA is present; the source readable for 32 bytes.
    unsafe fn half(self) -> I::Half;
    /// # Safety
    /// The ISA is present; the source readable and `d` writable for 64 bytes.
    unsafe fn copy_line(self, d: *mut u8);
    /// # Safety
    /// As `copy_line`, and `d` 64-aligned.
    unsafe fn stream_line(self, d: *mut u8);
    /// Four lines streamed, in direction `FWD` ([`Isa::stream_quad`]).
    ///
    /// # Safety
    /// As `stream_line` for 256 bytes; if the ranges overlap, `FWD` is
    /// whether `d` is below the source.
    unsafe fn stream_quad<const FWD: bool>(self, d: *mut u8);
    /// Eight lines streamed, in direction `FWD` ([`Isa::stream_8`]).
    ///
    /// # Safety
    /// As `stream_quad`, for 512 bytes.
    unsafe fn stream_8<const FWD: bool>(self, d: *mut u8);
    /// Sixteen lines streamed, in direction `FWD` ([`Isa::stream_16`]).
    ///
    /// # Safety
    /// As `stream_quad`, for 1024 bytes.
    unsafe fn stream_16<const FWD: bool>(self, d: *mut u8);
    /// Asks the CPU to start fetching the source byte `off` bytes on.
    /// Never faults, so `off` may lie past the end of the source.
    fn prefetch(self, off: usize);
}

impl<I: Isa> Lines<I> for Mem {
    #[inline(always)]
    unsafe fn half(self) -> I::Half {
        // SAFETY: the caller's contract.
        unsafe { I::load_half(self.0) }
    }
    #[inline(always)]
    unsafe fn copy_line(self, d: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { I::copy_line(d, self.0) }
    }
    #[inline(always)]
    unsafe fn stream_line(self, d: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { I::stream_line(d, self.0) }
    }
    #[inline(always)]
    unsafe fn stream_quad<const FWD: bool>(self, d: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { I::stream_quad::<FWD>(d, self.0) }
    }
    #[inline(always)]
    unsafe fn stream_8<const FWD: bool>(self, d: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { I::stream_8::<FWD>(d, self.0) }
    }
    #[inline(always)]
    unsafe fn stream_16<const FWD: bool>(self, d: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { I::stream_16::<FWD>(d, self.0) }
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

impl<I: Isa> Lines<I> for Fill {
    #[inline(always)]
    unsafe fn half(self) -> I::Half {
        // SAFETY: the caller's contract.
        unsafe { I::splat_half(self.0) }
    }
    #[inline(always)]
    unsafe fn copy_line(self, d: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { I::fill_line(d, self.0) }
    }
    #[inline(always)]
    unsafe fn stream_line(self, d: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { I::fill_stream_line(d, self.0) }
    }
    #[inline(always)]
    unsafe fn stream_quad<const FWD: bool>(self, d: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { I::fill_stream_quad(d, self.0) }
    }
    #[inline(always)]
    unsafe fn stream_8<const FWD: bool>(self, d: *mut u8) {
        for q in 0..2 {
            // SAFETY: the caller's contract: quad q of the 512 bytes.
            unsafe { I::fill_stream_quad(d.add(256 * q), self.0) };
        }
    }
    #[inline(always)]
    unsafe fn stream_16<const FWD: bool>(self, d: *mut u8) {
        for q in 0..4 {
            // SAFETY: the caller's contract: quad q of the 1024 bytes.
            unsafe { I::fill_stream_quad(d.add(256 * q), self.0) };
        }
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
unsafe fn move_under_32<S: Source>(d: *mut u8, s: S, len: usize) {
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
unsafe fn stream_words<S: Source>(d: *mut u8, s: S, len: usize) {
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

/// Copies `len <= 64` bytes with temporal stores, loads first.
///
/// # Safety
/// The ISA is present; `s` readable and `d` writable for `len` bytes.
#[inline(always)]
unsafe fn move_small<I: Isa, S: Lines<I>>(d: *mut u8, s: S, len: usize) {
    if len >= 32 {
        // SAFETY: 32 <= len, so both halves lie inside the ranges.
        unsafe {
            let a = s.half();
            let b = s.at(len - 32).half();
            I::store_half(d, a);
            I::store_half(d.add(len - 32), b);
        }
    } else {
        // SAFETY: the caller's ranges.
        unsafe { move_under_32(d, s, len) }
    }
}

/// A part of at most 64 bytes: with temporal stores, then flushed; or, with
/// `WORDS` (a part of 0 or at least 8 bytes), streamed words.
///
/// # Safety
/// As `move_small`.
#[inline(always)]
unsafe fn part<I: Isa, F: Flusher, S: Lines<I>, const WORDS: bool>(d: *mut u8, s: S, len: usize) {
    // SAFETY: the caller's ranges.
    unsafe {
        if WORDS {
            stream_words(d, s, len);
        } else {
            move_small::<I, S>(d, s, len);
            flush_lines::<F>(d, len);
        }
    }
}

/// Line `i` of the 64-aligned run at `d`.
///
/// # Safety
/// The ISA is present; line `i` lies inside both ranges.
#[inline(always)]
unsafe fn line<I: Isa, F: Flusher, S: Lines<I>, const NT: bool>(d: *mut u8, s: S, i: usize) {
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

/// `n` whole lines to the 64-aligned `d`. Forward streaming goes sixteen
/// lines per `stream_16` with `block16` (the CPU policy's
/// `forward_block16`) where sixteen are left and the source does not start
/// within `BLOCK16_MIN_DISTANCE` above `d`, then four per `stream_quad`,
/// and in copies of at least `PREFETCH_MIN_LINES` asks for the source
/// `ahead` lines early when `ahead` is not 0 (the policy's
/// `prefetch_lines`).
///
/// Backward steps run from the end: a step reads its lines before it
/// writes them, and with `d` above `s` its stores land above every source
/// byte of the lower lines, which are still unread, so none is overwritten
/// before it is read. Streaming takes the widest step whose stores do not
/// land on lines the step itself (or, for sixteen lines, the step before)
/// has just loaded: a streaming store to a line whose load may still be in
/// flight stalls. So sixteen lines per step when `d` is at least
/// `BLOCK16_MIN_DISTANCE` above the source, eight or four when it is at
/// least that many lines above, else one (on an Intel Xeon, model CFh:
/// 16-line steps +3-8 % on 64 KiB-2 MiB moves, 8-line ones +10 % at 4 KiB;
/// too close, 256 B moved by 128 B, four-line steps ran 25 % slower than
/// single lines).
///
/// # Safety
/// The ISA is present; `n` lines lie inside both ranges.
#[inline(always)]
unsafe fn lines<I: Isa, F: Flusher, S: Lines<I>, const NT: bool, const FWD: bool>(
    d: *mut u8,
    s: S,
    n: usize,
    ahead: u8,
    block16: bool,
) {
    if FWD {
        let mut i = 0;
        if NT {
            let ahead = match n >= PREFETCH_MIN_LINES {
                true => usize::from(ahead),
                false => 0,
            };
            // How far the source lies above the destination (disjoint
            // below it, or a fill: anywhere).
            let distance = s
                .addr()
                .map_or(usize::MAX, |s| s.wrapping_sub(d as usize));
            // SAFETY: the caller's n lines, each step inside them.
            unsafe {
                if block16 && distance >= BLOCK16_MIN_DISTANCE {
                    forward_steps::<I, S, 16>(d, s, &mut i, n, ahead);
                }
                forward_steps::<I, S, 4>(d, s, &mut i, n, ahead);
            }
        }
        while i < n {
            // SAFETY: i < n.
            unsafe { line::<I, F, S, NT>(d, s, i) };
            i += 1;
        }
    } else {
        let mut i = n;
        // How far the destination lies above the source (a fill: anywhere).
        let distance = s
            .addr()
            .map_or(usize::MAX, |s| (d as usize).wrapping_sub(s));
        if NT && distance >= BLOCK16_MIN_DISTANCE {
            while i >= 16 {
                i -= 16;
                // SAFETY: lines i..i + 16 are below n, in range.
                unsafe { s.at(i * LINE).stream_16::<FWD>(d.add(i * LINE)) };
            }
        }
        if NT && distance >= 8 * LINE {
            while i >= 8 {
                i -= 8;
                // SAFETY: lines i..i + 8 are below n, in range.
                unsafe { s.at(i * LINE).stream_8::<FWD>(d.add(i * LINE)) };
            }
        }
        if NT && distance >= 4 * LINE {
            while i >= 4 {
                i -= 4;
                // SAFETY: lines i..i + 4 are below n, in range.
                unsafe { s.at(i * LINE).stream_quad::<FWD>(d.add(i * LINE)) };
            }
        }
        while i > 0 {
            i -= 1;
            // SAFETY: i < n.
            unsafe { line::<I, F, S, NT>(d, s, i) };
        }
    }
}

/// Streams lines `*i..` forward in steps of `K` lines (16: `stream_16`,
/// else four: `stream_quad`) while a whole step is left, asking for the
/// source `ahead` lines early when `ahead` is not 0; `*i` ends after the
/// last step.
///
/// # Safety
/// The ISA is present; `n` lines lie inside both ranges, which a forward
/// copy may take in steps (`lines`).
#[inline(always)]
unsafe fn forward_steps<I: Isa, S: Lines<I>, const K: usize>(
    d: *mut u8,
    s: S,
    i: &mut usize,
    n: usize,
    ahead: usize,
) {
    while *i + K <= n {
        if ahead != 0 {
            for k in 0..K {
                s.prefetch((*i + ahead + k) * LINE);
            }
        }
        // SAFETY: lines *i..*i + K are below n, in range (our contract).
        unsafe {
            let (d, s) = (d.add(*i * LINE), s.at(*i * LINE));
            match K {
                16 => s.stream_16::<true>(d),
                _ => s.stream_quad::<true>(d),
            }
        }
        *i += K;
    }
}

/// The whole lines, streamed or not, in direction `FWD`.
///
/// # Safety
/// As `lines`.
#[inline(always)]
unsafe fn body<I: Isa, F: Flusher, S: Lines<I>, const FWD: bool>(
    d: *mut u8,
    s: S,
    n: usize,
    st: Stores,
) {
    // SAFETY: the caller's ranges.
    unsafe {
        if st.nt {
            lines::<I, F, S, true, FWD>(d, s, n, st.prefetch, st.block16)
        } else {
            lines::<I, F, S, false, FWD>(d, s, n, 0, false)
        }
    }
}

/// Whether the destination `[d, d + len)` and the source do not intersect
/// (a fill intersects nothing).
#[inline(always)]
fn disjoint<S: Source>(d: *mut u8, s: S, len: usize) -> bool {
    s.addr().map_or(true, |s| {
        (d as usize).wrapping_sub(s) >= len && s.wrapping_sub(d as usize) >= len
    })
}

/// The whole algorithm (see the module comment). Copies of at most a line
/// and non-temporal runs of whole lines stay in the caller's frame, which
/// then saves few registers.
///
/// # Safety
/// The ISA is present; `s` readable and `d` writable for `len` bytes.
#[inline(always)]
pub(super) unsafe fn transfer<I: OutOfLine, F: Flusher, S: Lines<I>>(
    d: *mut u8,
    s: S,
    len: usize,
    st: Stores,
) {
    let aligned = (d as usize) % LINE == 0;
    if len > LINE {
        let forward = s
            .addr()
            .map_or(true, |s| (d as usize).wrapping_sub(s) >= len);
        if st.nt && aligned && len % LINE == 0 && forward {
            // SAFETY: the caller's ranges, all whole lines.
            unsafe { lines::<I, F, S, true, true>(d, s, len / LINE, st.prefetch, st.block16) }
        } else {
            // SAFETY: the caller's ranges.
            unsafe { I::transfer_lines::<F, S>(d, s, len, st) }
        }
    } else if st.nt && len == LINE && aligned {
        // SAFETY: the caller's ranges: one aligned line.
        unsafe { s.stream_line(d) }
    } else if st.nt && st.partial && len >= 8 {
        // SAFETY: the caller's ranges, 8 to 64 bytes.
        unsafe { stream_words(d, s, len) }
    } else {
        // SAFETY: the caller's ranges, at most 64 bytes.
        unsafe { part::<I, F, S, false>(d, s, len) }
    }
}

/// `transfer` for more than a line.
///
/// # Safety
/// The ISA is present; `s` readable and `d` writable for `len > 64` bytes.
#[inline(always)]
pub(super) unsafe fn transfer_lines<I: Isa, F: Flusher, S: Lines<I>>(
    d: *mut u8,
    s: S,
    len: usize,
    st: Stores,
) {
    // Streamed words need 8 bytes in all, and a head and tail of 0 or at
    // least 8 bytes each, unless a short part may be widened to a word that
    // rewrites bytes of its neighbour: fine when the ranges are disjoint (or
    // for memset), as those bytes get their final value again. Longer
    // copies store their parts temporally, ahead of the lines (see `split`).
    let words = st.nt
        && st.partial
        && len <= WORDS_MAX
        && (disjoint(d, s, len) || {
            let head = (d as usize).wrapping_neg() & (LINE - 1);
            let tail = (len - head) % LINE;
            (head == 0 || head >= 8) && (tail == 0 || tail >= 8)
        });
    if words {
        // SAFETY: the caller's ranges; parts are 0 or >= 8 bytes or may be
        // widened.
        unsafe { split::<I, F, S, true>(d, s, len, st) }
    } else {
        // SAFETY: the caller's ranges.
        unsafe { split::<I, F, S, false>(d, s, len, st) }
    }
}

/// Head, whole lines, tail (of more than a line in all), in the safe
/// direction. `WORDS`: the whole copy is streamed; a head or tail of 1 to
/// 7 bytes grows to the word that starts at `d` or ends at `d + len`
/// (`transfer_lines` allows it).
///
/// # Safety
/// As `transfer_lines`.
#[inline(always)]
unsafe fn split<I: Isa, F: Flusher, S: Lines<I>, const WORDS: bool>(
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
    let tail_part = if widen(tail) {
        (len - 8, 8)
    } else {
        (len - tail, tail)
    };
    // SAFETY: head, the n lines and tail lie inside `len` bytes: every
    // pointer below stays inside the caller's ranges.
    unsafe {
        let (bd, bs) = (d.add(head), s.at(head));
        if !WORDS && (!st.nt || st.parts_first) && disjoint(d, s, len) {
            // Both parts' write-backs first, so they complete while the
            // lines are written (temporal copies always; streamed ones
            // where the CPU's policy says so).
            part::<I, F, S, false>(d, s, head);
            part::<I, F, S, false>(d.add(len - tail), s.at(len - tail), tail);
            return body::<I, F, S, true>(bd, bs, n, st);
        }
        let forward = s
            .addr()
            .map_or(true, |s| (d as usize).wrapping_sub(s) >= len);
        let (first, last) = if forward {
            (head_part, tail_part)
        } else {
            (tail_part, head_part)
        };
        part::<I, F, S, WORDS>(d.add(first.0), s.at(first.0), first.1);
        if forward {
            body::<I, F, S, true>(bd, bs, n, st);
        } else {
            body::<I, F, S, false>(bd, bs, n, st);
        }
        part::<I, F, S, WORDS>(d.add(last.0), s.at(last.0), last.1);
    }
}

/// Builds, in the invoking module, the entry points of the ISA type `$isa`
/// with `#[target_feature(enable = $features)]`: `memmove::<F>` and
/// `memset::<F>` (the routines), its out-of-line `transfer_lines` (and the
/// [`OutOfLine`] impl that calls it), and `ROUTINES`, the table of the routines by flush instruction. Everything
/// they call is the `#[inline(always)]` template, so all of it is compiled
/// with the ISA's features.
macro_rules! entry_points {
    ($isa:ty, $features:literal) => {
        use $crate::arch::source::{Fill, Mem};
        use $crate::arch::x86_64::copy::template::{self, Lines, OutOfLine};
        use $crate::arch::x86_64::flush::by_flush_kind;
        use $crate::arch::{Flusher, Routines, Stores};

        /// This ISA's routines, indexed by `FlushKind as usize`.
        pub(in $crate::arch::x86_64::copy) const ROUTINES: [Routines;
            $crate::arch::FlushKind::COUNT] = by_flush_kind!(routines);

        const fn routines<F: Flusher>() -> Routines {
            Routines {
                memmove: memmove::<F>,
                memset: memset::<F>,
            }
        }

        /// Copies `len` bytes from `s` to `d` (they may overlap), storing as
        /// `st` says, writing back with `F` whatever went through the cache.
        /// No fence.
        ///
        /// # Safety
        /// The CPU supports this module's ISA; `s` readable and `d`
        /// writable for `len` bytes.
        #[target_feature(enable = $features)]
        unsafe fn memmove<F: Flusher>(d: *mut u8, s: *const u8, len: usize, st: Stores) {
            // SAFETY: the caller's contract.
            unsafe {
                template::transfer::<$isa, F, Mem>(d, Mem(s), len, st);
                <$isa>::finish();
            }
        }

        /// Fills `len` bytes at `d` with `c`; otherwise as `memmove`.
        ///
        /// # Safety
        /// The CPU supports this module's ISA; `d` writable for `len` bytes.
        #[target_feature(enable = $features)]
        unsafe fn memset<F: Flusher>(d: *mut u8, c: u8, len: usize, st: Stores) {
            // SAFETY: the caller's contract.
            unsafe {
                template::transfer::<$isa, F, Fill>(d, Fill::new(c), len, st);
                <$isa>::finish();
            }
        }

        /// `template::transfer_lines` with this ISA's features, out of line.
        ///
        /// # Safety
        /// As `template::transfer_lines`.
        #[inline(never)]
        #[target_feature(enable = $features)]
        unsafe fn transfer_lines<F: Flusher, S: Lines<$isa>>(
            d: *mut u8,
            s: S,
            len: usize,
            st: Stores,
        ) {
            // SAFETY: the caller's contract.
            unsafe { template::transfer_lines::<$isa, F, S>(d, s, len, st) }
        }

        impl OutOfLine for $isa {
            #[inline(always)]
            unsafe fn transfer_lines<F: Flusher, S: Lines<$isa>>(
                d: *mut u8,
                s: S,
                len: usize,
                st: Stores,
            ) {
                // SAFETY: the caller's contract.
                unsafe { transfer_lines::<F, S>(d, s, len, st) }
            }
        }
    };
}
pub(super) use entry_points;
