//! The portable copies: plain stores, one machine word at a time where the
//! destination is word-aligned, then the architecture's write-back over the
//! whole range. Every target without a copy template of its own uses them
//! (all but x86_64), as PMDK's `memmove_nodrain_generic` serves its
//! aarch64, ppc64 and riscv64 builds.
//!
//! Word stores are volatile so the compiler can neither merge them into
//! wider vector stores nor turn the loop into a call to the C library's
//! memmove: an aligned word of the destination is then always written by
//! one store, never piecewise (the power-fail atomicity pmem_get_attr
//! reports as [`super::ATOMIC_STORE`]).

use super::source::{Fill, Mem, Source};
use super::{flush_lines, Flusher, Routines, Stores, Switch};
use crate::policy::{Key, Policy};

const WORD: usize = core::mem::size_of::<usize>();

/// The copy routines' only instruction set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyIsa {
    /// Word stores and the write-back loop.
    Generic = 0,
}

impl CopyIsa {
    pub const COUNT: usize = 1;
    pub const ALL: [CopyIsa; CopyIsa::COUNT] = [CopyIsa::Generic];

    pub fn name(self) -> &'static str {
        "generic"
    }

    /// The name as a C string (pmem_get_attr hands it to C).
    pub fn c_name(self) -> &'static core::ffi::CStr {
        c"generic"
    }

    /// Plain stores run everywhere.
    pub fn supported<F>(self, _: &F) -> bool {
        true
    }
}

// The choices every target with only these copies makes the same way.

/// The portable copies are the only ones.
pub fn best_isa<F>(_: &F, _: Switch, _: &Policy) -> CopyIsa {
    CopyIsa::Generic
}

/// No policy table entries: PMDK's choices (which only matter for
/// streaming stores, and the portable copies have none; see `policy`).
pub fn policy_key<F>(_: &F) -> Key {
    Key::default()
}

/// An aligned machine word is stored single-copy atomically on every
/// target these copies serve, and they write aligned words whole.
pub const ATOMIC_STORE: usize = WORD;

/// The portable copies have no streaming stores.
pub const STREAMING_STORES: bool = false;

/// Drain always fences, as PMDK's does on these targets: without a
/// streaming store to order, the fence is what completes the write-backs
/// (or, with none, orders the stores before what follows).
pub fn fence_required<K>(_: K, _movnt: bool) -> bool {
    true
}

/// The portable routines for flush instruction `F`.
pub const fn routines<F: Flusher>() -> Routines {
    Routines {
        memmove: memmove::<F>,
        memset: memset::<F>,
    }
}

/// Copies `len` bytes from `s` to `d` (they may overlap), then writes the
/// range back with `F`. `_nt` is ignored: there are no streaming stores.
///
/// # Safety
/// `s` readable and `d` writable for `len` bytes, neither range wrapping,
/// and `F` supported by this CPU.
unsafe fn memmove<F: Flusher>(d: *mut u8, s: *const u8, len: usize, _: Stores) {
    // SAFETY: transfer needs the two ranges, flush_lines the written one
    // (mapped, since it was just written) and F: all our contract.
    unsafe {
        transfer(d, Mem(s), len);
        flush_lines::<F>(d, len);
    }
}

/// Fills `len` bytes at `d` with `c`, then writes the range back with `F`.
///
/// # Safety
/// `d` writable for `len` bytes, not wrapping, and `F` supported by this
/// CPU.
unsafe fn memset<F: Flusher>(d: *mut u8, c: u8, len: usize, _: Stores) {
    // SAFETY: transfer needs the writable range, flush_lines that range
    // (mapped, since it was just written) and F: all our contract.
    unsafe {
        transfer(d, Fill::new(c), len);
        flush_lines::<F>(d, len);
    }
}

/// Copies the `T` at offset `off`: one load, then one store.
///
/// # Safety
/// `off + size_of::<T>()` bytes lie inside both ranges.
#[inline(always)]
unsafe fn step<T: Copy, S: Source>(d: *mut u8, s: S, off: usize) {
    // SAFETY: the caller's contract. `T` is u8 or a word stored at a
    // word-aligned address (see `transfer`).
    unsafe {
        let v: T = s.at(off).load();
        d.add(off).cast::<T>().write_volatile(v);
    }
}

/// Bytes up to the first word boundary of `d`, whole words, the remaining
/// bytes: ascending when that is safe for an overlapping source (`d` below
/// it, or disjoint), else descending, so no store lands on source bytes not
/// yet read.
///
/// # Safety
/// `s` readable and `d` writable for `len` bytes.
unsafe fn transfer<S: Source>(d: *mut u8, s: S, len: usize) {
    let head = ((d as usize).wrapping_neg() & (WORD - 1)).min(len);
    let words = (len - head) / WORD;
    let body_end = head + words * WORD;
    let forward = s
        .addr()
        .map_or(true, |s| (d as usize).wrapping_sub(s) >= len);
    // SAFETY: every offset below is under `len`, and `step::<usize>` runs
    // at `head + k * WORD`, word-aligned in `d`, with a word to spare.
    unsafe {
        if forward {
            for off in 0..head {
                step::<u8, S>(d, s, off);
            }
            for off in (head..body_end).step_by(WORD) {
                step::<usize, S>(d, s, off);
            }
            for off in body_end..len {
                step::<u8, S>(d, s, off);
            }
        } else {
            for off in (body_end..len).rev() {
                step::<u8, S>(d, s, off);
            }
            for off in (head..body_end).step_by(WORD).rev() {
                step::<usize, S>(d, s, off);
            }
            for off in (0..head).rev() {
                step::<u8, S>(d, s, off);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::NoFlush;

    /// Every length and relative placement of overlapping and disjoint
    /// ranges in a small buffer, against `copy_within`.
    #[test]
    fn memmove_matches_copy_within() {
        const N: usize = 80;
        let r = routines::<NoFlush>();
        for len in 0..48 {
            for src in 0..N - len {
                for dst in 0..N - len {
                    let mut buf: Vec<u8> = (0..N as u8).collect();
                    let mut want = buf.clone();
                    want.copy_within(src..src + len, dst);
                    let p = buf.as_mut_ptr();
                    // SAFETY: both ranges lie inside `buf`.
                    unsafe { (r.memmove)(p.add(dst), p.add(src), len, Stores::TEMPORAL) };
                    assert_eq!(buf, want, "len {len} src {src} dst {dst}");
                }
            }
        }
    }

    #[test]
    fn memset_fills_exactly_the_range() {
        let r = routines::<NoFlush>();
        for len in 0..40 {
            for at in 0..16 {
                let mut buf = [0u8; 64];
                // SAFETY: the range lies inside `buf`.
                unsafe { (r.memset)(buf.as_mut_ptr().add(at), 0x5a, len, Stores::NT) };
                for (i, &b) in buf.iter().enumerate() {
                    let inside = (at..at + len).contains(&i);
                    assert_eq!(b, if inside { 0x5a } else { 0 }, "len {len} at {at}");
                }
            }
        }
    }
}
