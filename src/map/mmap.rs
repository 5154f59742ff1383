//! mmap(2) of a file or device: large-page alignment, MAP_SYNC with its
//! fallback, and the PMEM_MMAP_HINT placement.
//!
//! An aligned mapping is placed by finding a free aligned range (reserving a
//! larger PROT_NONE range, then giving it back) and passing its start to
//! mmap as a hint; if another thread took the range in between, the kernel
//! maps elsewhere, we give that back and look again. Never MAP_FIXED: a
//! MAP_FIXED mmap that fails may already have unmapped what was at the
//! address (ext4 refuses MAP_SYNC on a non-DAX file only after that), and a
//! retry would then replace whatever another thread mapped into the hole.
//! The one exception, [`remap_same_file`], replaces a mapping the same call
//! just made, not yet handed out, with the same file through another
//! descriptor, so every check the first mmap passed holds again.
//! Nor MAP_FIXED_NOREPLACE: kernels before 6.x reject it beside
//! MAP_SHARED_VALIDATE, which MAP_SYNC needs.

use crate::error::{Error, Result};
use std::sync::OnceLock;

const MIB2: usize = 2 << 20;
const GIB: usize = 1 << 30;

/// How a file is to be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// MAP_SHARED, trying MAP_SYNC first.
    Shared,
    /// MAP_SHARED of a file known not to be DAX: MAP_SYNC is not tried.
    SharedNoSync,
    /// MAP_PRIVATE (the fit persistence mode shadows the file itself).
    Private,
}

/// What one mmap(2) made: where, how long, and whether MAP_SYNC was
/// accepted (`synced`). Owns nothing: the caller unmaps it on failure (see
/// `Pending` in map/mod.rs) or registers it as a [`super::Mapping`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMapping {
    pub addr: usize,
    pub len: usize,
    pub synced: bool,
}

/// The start alignment a mapping of `len` bytes gets, PMDK's rule: 2 MiB,
/// or 1 GiB from 2 GiB on, so the kernel can use large pages where the
/// backing allows (`page` is the floor on systems with larger pages).
pub fn alignment_for(len: usize, page: usize) -> usize {
    if len >= 2 * GIB {
        GIB
    } else {
        MIB2.max(page)
    }
}

/// Maps `len` bytes of `fd` from offset 0, read/write, starting on a
/// multiple of `max(alignment_for(len), min_align)` when it can.
pub fn map(fd: i32, len: usize, share: Share, min_align: usize) -> Result<RawMapping> {
    if len == 0 {
        return Err(Error::new(libc::EINVAL, "mmap 0 bytes"));
    }
    let page = crate::persist::page_size();
    let map_len = round_up(len, page).ok_or_else(too_big)?;
    let align = alignment_for(len, page).max(min_align);
    for _ in 0..PLACEMENT_TRIES {
        let at = free_range(map_len, align)?;
        let m = map_at(at, fd, len, share)?;
        if m.addr == at {
            return Ok(m);
        }
        raw_munmap(m.addr, map_len); // the spot was taken meanwhile
    }
    // Other threads keep taking the spot: settle for the kernel's choice.
    map_at(0, fd, len, share)
}

/// How often an aligned spot is looked for before alignment is given up.
const PLACEMENT_TRIES: usize = 8;

const SYNC_FLAGS: i32 = libc::MAP_SHARED_VALIDATE | libc::MAP_SYNC;

/// One mapping with `at` as the address hint (0: none); the kernel uses the
/// hint when the range is free. Shared mappings try MAP_SYNC first.
fn map_at(at: usize, fd: i32, len: usize, share: Share) -> Result<RawMapping> {
    let attempt = |flags: i32| raw_mmap(at, len, flags, fd);
    let (addr, synced) = match share {
        Share::Private => (attempt(libc::MAP_PRIVATE)?, false),
        Share::SharedNoSync => (attempt(libc::MAP_SHARED)?, false),
        Share::Shared => match attempt(SYNC_FLAGS) {
            Ok(a) => (a, true),
            // Not a DAX file (EOPNOTSUPP), or a kernel without MAP_SYNC (EINVAL).
            Err(e) if e.errno() == libc::EOPNOTSUPP || e.errno() == libc::EINVAL => {
                (attempt(libc::MAP_SHARED)?, false)
            }
            Err(e) => return Err(e),
        },
    };
    Ok(RawMapping { addr, len, synced })
}

/// Replaces the mapping `[addr, addr + len)`, made by [`map`] from a
/// descriptor of the same file as `fd` (same inode), MAP_SYNC if `synced`,
/// and not yet visible to anyone, by the same range of that file mapped
/// through `fd`, with the same flags: what
/// /proc/PID/maps then shows is `fd`'s path. The contents are the file's
/// either way (a shared mapping; never called for private ones).
pub fn remap_same_file(addr: usize, len: usize, synced: bool, fd: i32) -> Result<()> {
    let flags = if synced { SYNC_FLAGS } else { libc::MAP_SHARED };
    // SAFETY: MAP_FIXED replaces only [addr, addr + len), which this
    // call mapped and nobody else knows of. The same inode with the same
    // flags passed every check at the first mmap, so only an allocation
    // failure can fail here.
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags | libc::MAP_FIXED,
            fd,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(Error::last_os(format!("mmap {len} bytes in place")));
    }
    Ok(())
}

fn round_up(n: usize, to: usize) -> Option<usize> {
    Some(n.checked_add(to - 1)? & !(to - 1))
}

fn too_big() -> Error {
    Error::new(
        libc::ENOMEM,
        "mapping length too large for the address space",
    )
}

fn raw_mmap(at: usize, len: usize, flags: i32, fd: i32) -> Result<usize> {
    // SAFETY: no MAP_FIXED: `at` is only a hint, and the kernel maps at a
    // free range, replacing nothing.
    let p = unsafe {
        libc::mmap(
            at as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            fd,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(Error::last_os(format!("mmap {len} bytes")));
    }
    Ok(p as usize)
}

fn raw_munmap(addr: usize, len: usize) {
    if len == 0 {
        return;
    }
    // SAFETY: callers pass ranges they just mapped themselves and nobody
    // else references.
    unsafe { libc::munmap(addr as *mut libc::c_void, len) };
}

/// The start of a free, `align`ed range of `map_len` bytes, found by
/// reserving a larger range (or, with PMEM_MMAP_HINT, the first free one at
/// or above the hint) and giving it back.
fn free_range(map_len: usize, align: usize) -> Result<usize> {
    if let Some(at) = hint().and_then(|h| at_hint(h, map_len, align)) {
        return Ok(at);
    }
    // PMDK's rule: reserve `align` more than needed, even for page
    // alignment, and map at the first aligned address. The mapping then
    // never ends right against the next one: at least a page above it stays
    // free, which programs that map something just after a pmem mapping
    // (PMDK's own memcpy and memmove tests) rely on.
    let len = map_len.checked_add(align).ok_or_else(too_big)?;
    let base = reserve(0, len, 0)?;
    raw_munmap(base, len);
    round_up(base, align).ok_or_else(too_big)
}

/// The first free, aligned range at or above `hint` (PMDK's meaning of
/// PMEM_MMAP_HINT), checked with MAP_FIXED_NOREPLACE against the
/// scan going stale.
fn at_hint(hint: usize, map_len: usize, align: usize) -> Option<usize> {
    for _ in 0..PLACEMENT_TRIES {
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let at = first_gap(&maps, hint, map_len, align)?;
        match reserve(at, map_len, libc::MAP_FIXED_NOREPLACE) {
            Ok(base) => {
                raw_munmap(base, map_len);
                // Old kernels treat the flag as a plain hint.
                if base == at {
                    return Some(at);
                }
            }
            Err(e) if e.errno() == libc::EEXIST => continue,
            Err(_) => return None,
        }
    }
    None
}

fn reserve(at: usize, len: usize, extra: i32) -> Result<usize> {
    // SAFETY: an anonymous PROT_NONE mapping; with MAP_FIXED_NOREPLACE the
    // kernel refuses rather than replace anything.
    let p = unsafe {
        libc::mmap(
            at as *mut libc::c_void,
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | extra,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(Error::last_os(format!(
            "reserving {len} bytes of address space"
        )));
    }
    Ok(p as usize)
}

/// The lowest multiple of `align` at or above `min` (a page at least) where
/// `len` bytes are free, given the text of /proc/self/maps.
pub fn first_gap(maps: &str, min: usize, len: usize, align: usize) -> Option<usize> {
    let page = crate::persist::page_size();
    let mut at = round_up(min.max(page), align)?;
    for (lo, hi) in super::maps_text::lines(maps.as_bytes()).map(|l| (l.start, l.end)) {
        if hi <= at {
            continue;
        }
        if lo >= at && lo - at >= len {
            break;
        }
        at = round_up(hi, align)?;
    }
    at.checked_add(len).map(|_| at)
}

/// PMEM_MMAP_HINT, read at the first mapping, as PMDK reads it: by
/// strtoull(.., 16), ignored when that finds no digits or overflows.
fn hint() -> Option<usize> {
    static HINT: OnceLock<Option<usize>> = OnceLock::new();
    *HINT.get_or_init(|| parse_hint(&crate::env::var("PMEM_MMAP_HINT")?))
}

/// strtoull(text, &end, 16) where it succeeds (digits found, no overflow):
/// leading white space, an optional sign (`-` negates, modulo 2^64), an
/// optional 0x or 0X (only when a hex digit follows it: "0x" alone reads as
/// 0), then hex digits up to the first other character. The address is
/// the value truncated to a pointer, as PMDK's cast does.
pub fn parse_hint(text: &str) -> Option<usize> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let t = match t.get(..2) {
        Some("0x" | "0X") if t[2..].starts_with(|c: char| c.is_ascii_hexdigit()) => &t[2..],
        _ => t,
    };
    let digits = t.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(t.len());
    let value = u64::from_str_radix(&t[..digits], 16).ok()?;
    let value = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    Some(value as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_follows_length() {
        let p = 4096;
        assert_eq!(alignment_for(1, p), MIB2);
        assert_eq!(alignment_for(4 * MIB2, p), MIB2);
        assert_eq!(alignment_for(2 * GIB - 1, p), MIB2);
        assert_eq!(alignment_for(2 * GIB, p), GIB);
        assert_eq!(alignment_for(1, 4 * MIB2), 4 * MIB2);
    }

    /// What PMDK does with the text: strtoull(.., 16), refused when it
    /// reads no digits or sets errno (ERANGE).
    fn strtoull_16(text: &str) -> Option<usize> {
        let c = std::ffi::CString::new(text).unwrap();
        let mut end: *mut libc::c_char = core::ptr::null_mut();
        crate::error::set_errno(0);
        // SAFETY: c is NUL-terminated and end writable.
        let value = unsafe { libc::strtoull(c.as_ptr(), &mut end, 16) };
        let failed = crate::error::last_errno() != 0;
        (!failed && end.cast_const() != c.as_ptr()).then_some(value as usize)
    }

    #[test]
    fn hint_parses_like_strtoull_base_16() {
        for text in [
            "0x70000000",
            "  7f00zz",
            "\t\n7f00",
            "zz",
            "",
            " ",
            "+200000000000",
            "-1",
            "-0x10",
            "+-1",
            "0x",
            "0X",
            "0xg",
            "x10",
            "0x0x10",
            "00000000000000000000ffff",
            "ffffffffffffffff",
            "10000000000000000",
            "-10000000000000000",
            "7fff_0000",
            "+",
            "-",
        ] {
            assert_eq!(parse_hint(text), strtoull_16(text), "{text:?}");
        }
        // Truncated to a pointer, as PMDK's cast does (0 on 32-bit targets).
        assert_eq!(
            parse_hint("+200000000000"),
            Some(0x2000_0000_0000_u64 as usize)
        );
        assert_eq!(parse_hint("0x"), Some(0));
    }

    #[test]
    fn first_gap_skips_used_ranges_and_aligns() {
        let maps = "00400000-00600000 r-xp 0 0:0 0 /bin\n\
                    00800000-00a01000 rw-p 0 0:0 0\n\
                    00e00000-01000000 rw-p 0 0:0 0 [heap]\n";
        // 2 MiB at or above 4 MiB: right after the first range.
        assert_eq!(first_gap(maps, 0x40_0000, MIB2, MIB2), Some(0x60_0000));
        // 4 MiB fits in neither hole (0xa01000 rounds up to 0xc00000, 2 MiB
        // short of the heap): after the heap.
        assert_eq!(first_gap(maps, 0x40_0000, 2 * MIB2, MIB2), Some(0x100_0000));
        assert_eq!(first_gap(maps, 0, 4096, 4096), Some(4096));
        assert_eq!(first_gap("", usize::MAX - 4096, 8192, 4096), None);
    }

    #[test]
    fn large_mappings_start_on_large_page_boundaries() {
        let path = std::env::temp_dir().join(format!("pmem-mmap-{}", std::process::id()));
        let f = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        // Sparse: the 1 GiB case costs address space, not memory.
        f.set_len(GIB as u64).unwrap();
        use std::os::fd::AsRawFd;
        for (len, min_align, want) in [
            (GIB, 0, MIB2),
            (3 * MIB2, 0, MIB2),
            (4096, 0, MIB2),
            (4096, GIB, GIB),
        ] {
            let m = map(f.as_raw_fd(), len, Share::Shared, min_align).unwrap();
            assert_eq!(m.addr % want, 0, "len {len}");
            assert!(!m.synced);
            raw_munmap(m.addr, m.len);
        }
        let m = map(f.as_raw_fd(), 4096, Share::Private, 0).unwrap();
        raw_munmap(m.addr, m.len);
        assert_eq!(
            map(f.as_raw_fd(), 0, Share::Shared, 0).unwrap_err().errno(),
            libc::EINVAL
        );
        assert_eq!(
            map(-1, 4096, Share::Shared, 0).unwrap_err().errno(),
            libc::EBADF
        );
    }
}
