//! Address-range arithmetic, in one place: `[addr, addr + len)` either
//! fits below the top of the address space or is an error, never a silent
//! wrap. The C entry points check their ranges here and report a wrap as
//! EINVAL; everything below them takes ranges that do not wrap as part of
//! its contract.
//!
//! The one deliberate exception is msync(2)'s page span, [`msync_span`]:
//! PMDK hands msync the wrapped length unchanged, and pmem_msync and
//! pmem_deep_drain return what msync says to it, so ours do too.

use crate::error::{Error, Result};

/// The end of `[addr, addr + len)`, or `None` when the range passes the
/// end of the address space. One add and a carry test.
#[inline(always)]
pub fn end(addr: usize, len: usize) -> Option<usize> {
    addr.checked_add(len)
}

/// [`end`] for a pointer, with the wrap as an EINVAL [`Error`] naming
/// `function` and the range, for the C edge.
#[inline(always)]
pub fn checked_end<T>(function: &str, addr: *const T, len: usize) -> Result<usize> {
    match end(addr as usize, len) {
        Some(e) => Ok(e),
        None => Err(wraps(function, addr as usize, len)),
    }
}

/// A range whose end `addr + len` is not representable: it wraps, or it
/// ends exactly at the top of the address space (its end would be 2^64 on
/// a 64-bit target). Both are refused alike: no Linux process can map the
/// top page (it is the kernel's), so the latter is never memory of ours
/// either, and PMDK's loops skip both without a word.
#[cold]
#[inline(never)]
fn wraps(function: &str, addr: usize, len: usize) -> Error {
    let what = if addr.wrapping_add(len) == 0 {
        "ends at the very top of the address space, where nothing can be mapped"
    } else {
        "wraps past the end of the address space"
    };
    Error::new(
        libc::EINVAL,
        format!("{function}: range {addr:#x} + {len:#x} {what}"),
    )
}

/// The end of `[addr, addr + len)` for a lookup (which mappings overlap
/// the range), clamped at the top of the address space. Only for lookups:
/// the operation itself is still given the original range, so a wrap is
/// handled (or refused) there, never dropped here.
#[inline]
pub fn lookup_end(addr: usize, len: usize) -> usize {
    end(addr, len).unwrap_or(usize::MAX)
}

/// The page-aligned start and length msync(2) needs for
/// `[addr, addr + len)`, as PMDK computes them: the length grows by what
/// rounding `addr` down adds, and wraps when that passes `usize::MAX`
/// (msync then sees a short length, which is what PMDK passes it).
#[inline]
pub fn msync_span(addr: usize, len: usize, page: usize) -> (usize, usize) {
    let start = addr & !(page - 1);
    (start, len.wrapping_add(addr - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_is_none_exactly_when_the_range_wraps() {
        assert_eq!(end(0, usize::MAX), Some(usize::MAX));
        assert_eq!(end(1, usize::MAX - 1), Some(usize::MAX));
        assert_eq!(end(1, usize::MAX), None);
        assert_eq!(end(usize::MAX, 1), None);
        assert_eq!(end(usize::MAX, 0), Some(usize::MAX));
    }

    #[test]
    fn a_wrap_is_einval_naming_the_call_and_range() {
        let e = checked_end("pmem_flush", 0x1000 as *const u8, usize::MAX).unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
        let text = e.to_string();
        assert!(
            text.contains("pmem_flush") && text.contains("0x1000"),
            "{text}"
        );
        assert_eq!(checked_end("f", 0x1000 as *const u8, 16), Ok(0x1010));
        let top = checked_end("pmem_flush", (0usize.wrapping_sub(4096)) as *const u8, 4096);
        let text = top.unwrap_err().to_string();
        assert!(text.contains("very top"), "{text}");
    }

    #[test]
    fn msync_span_is_pmdk_arithmetic() {
        assert_eq!(msync_span(0x1234, 0x10, 0x1000), (0x1000, 0x244));
        assert_eq!(msync_span(0x2000, usize::MAX, 0x1000), (0x2000, usize::MAX));
        assert_eq!(msync_span(0x2001, usize::MAX, 0x1000), (0x2000, 0));
    }
}
