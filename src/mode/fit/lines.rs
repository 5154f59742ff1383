//! Comparing a fit mapping's private copy with its file, line by line, and
//! moving lines between them.
//!
//! A line *differs* when the private copy holds other bytes than the file at
//! the same offset. Only the part of a line inside the file counts: stores
//! past end-of-file in the mapping's last page never reach a shared mapping's
//! file either.

use crate::error::{Error, Result};
use crate::persist::{page_size, CACHELINE};
use std::os::fd::RawFd;

/// One line of a fit mapping, as it compares with the file.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// Address of the line in the private mapping.
    pub addr: usize,
    /// Its file offset.
    pub offset: u64,
    /// Bytes of it inside the file (1..=64).
    pub len: usize,
    /// The file's bytes.
    pub file: &'a [u8],
    pub differs: bool,
}

/// Bytes compared per pread.
const CHUNK: usize = 64 * 1024;

/// Ranges up to this size are compared whole, without asking pagemap.
pub const SMALL: usize = 4 << 20;

/// Calls `f` for each line of `[addr, addr + len)` (line-aligned, in one
/// mapping whose `addr` is at file offset `offset`) that lies in the file.
pub fn compare(
    fd: RawFd,
    addr: usize,
    offset: u64,
    len: usize,
    mut f: impl FnMut(&Line) -> Result<()>,
) -> Result<()> {
    let mut buf = vec![0u8; len.min(CHUNK)];
    let mut done = 0;
    while done < len {
        let want = (len - done).min(CHUNK);
        let got = pread_full(fd, &mut buf[..want], offset + done as u64)?;
        let mut at = 0;
        while at < got {
            let n = (got - at).min(CACHELINE);
            let a = addr + done + at;
            // SAFETY: `a..a + n` lies in the caller's live mapping; memcmp
            // only reads it (a racing store is the program's own race, as
            // for a cache-line flush of memory being written).
            let differs =
                unsafe { libc::memcmp(a as *const libc::c_void, buf[at..].as_ptr().cast(), n) }
                    != 0;
            f(&Line {
                addr: a,
                offset: offset + (done + at) as u64,
                len: n,
                file: &buf[at..at + n],
                differs,
            })?;
            at += n;
        }
        if got < want {
            return Ok(()); // end of file
        }
        done += want;
    }
    Ok(())
}

/// Whether `[addr, addr + len)` of a fit mapping holds what the file's
/// read-only view shows at `file`.
pub fn same_as_mapped(addr: usize, file: *const u8, len: usize) -> bool {
    // SAFETY: the caller's span holds `addr..addr + len` and the file's
    // view `file..file + len`; memcmp only reads both (a racing store is
    // the program's own race, as for a cache-line flush of memory being
    // written).
    unsafe { libc::memcmp(addr as *const libc::c_void, file.cast(), len) == 0 }
}

/// Reads into `buf` from `offset` until it is full or the file ends.
pub fn pread_full(fd: RawFd, buf: &mut [u8], offset: u64) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: the destination is the unfilled part of `buf`.
        let n = unsafe {
            libc::pread(
                fd,
                buf[got..].as_mut_ptr().cast(),
                buf.len() - got,
                (offset + got as u64) as libc::off_t,
            )
        };
        match n {
            0 => break,
            n if n > 0 => got += n as usize,
            _ if crate::error::last_errno() == libc::EINTR => {}
            _ => return Err(Error::last_os("fit mode: pread")),
        }
    }
    Ok(got)
}

/// pwrite(2)s `len` bytes from `src` to `offset`.
pub fn pwrite_all(fd: RawFd, src: *const u8, len: usize, offset: u64) -> Result<()> {
    let mut done = 0;
    while done < len {
        // SAFETY: the caller guarantees `src..src + len` is readable (a live
        // mapping held by the registry lock, or a buffer); the kernel only
        // reads it.
        let n = unsafe {
            libc::pwrite(
                fd,
                src.add(done).cast(),
                len - done,
                (offset + done as u64) as libc::off_t,
            )
        };
        match n {
            n if n > 0 => done += n as usize,
            0 => return Err(Error::new(libc::EIO, "fit mode: pwrite wrote nothing")),
            _ if crate::error::last_errno() == libc::EINTR => {}
            _ => return Err(Error::last_os("fit mode: pwrite")),
        }
    }
    Ok(())
}

/// Calls `f(from, to)` for the runs of pages of `[start, start + len)`
/// (`start` page-aligned; runs are clipped to the end) that may differ from
/// the file. A range of up to [`SMALL`] is one run. In a larger one, pages
/// neither present nor swapped (per /proc/self/pagemap) are left out: never
/// touched, they still show the file (or zeros over a hole). Present pages
/// all count, since pagemap cannot tell a private copy from a page of a
/// shared object such as a shadow; without pagemap every page counts.
pub fn written_pages(start: usize, len: usize, mut f: impl FnMut(usize, usize)) {
    let page = page_size();
    let map = match std::fs::File::open("/proc/self/pagemap") {
        Ok(map) if len > SMALL => map,
        _ => return f(start, start + len),
    };
    use std::os::unix::fs::FileExt;
    const PRESENT: u64 = 1 << 63;
    const SWAPPED: u64 = 1 << 62;
    let end = start + len;
    let pages = len.div_ceil(page);
    let mut entries = vec![0u8; 8 * pages.min(4096)];
    let mut run: Option<usize> = None;
    let mut i = 0;
    while i < pages {
        let n = (pages - i).min(entries.len() / 8);
        let at = ((start / page + i) * 8) as u64;
        if map.read_exact_at(&mut entries[..8 * n], at).is_err() {
            // Treat the rest as written: a superset is only slower.
            let from = run.unwrap_or(start + i * page);
            return f(from, end);
        }
        for (j, e) in entries[..8 * n].chunks_exact(8).enumerate() {
            let e = u64::from_ne_bytes(e.try_into().unwrap_or([0; 8]));
            let private = e & (PRESENT | SWAPPED) != 0;
            let addr = start + (i + j) * page;
            match (private, run) {
                (true, None) => run = Some(addr),
                (false, Some(from)) => {
                    f(from, addr.min(end));
                    run = None;
                }
                _ => {}
            }
        }
        i += n;
    }
    if let Some(from) = run {
        f(from, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small ranges are one run; in a large one the pages never touched
    /// are left out.
    #[test]
    fn written_pages_skip_untouched_pages_of_large_ranges() {
        let page = page_size();
        let big = SMALL + 4 * page;
        // SAFETY: plain syscalls on a fresh memfd and private mapping.
        unsafe {
            let fd = libc::memfd_create(c"lines-test".as_ptr(), libc::MFD_CLOEXEC);
            assert!(fd >= 0 && libc::ftruncate(fd, big as libc::off_t) == 0);
            let prot = libc::PROT_READ | libc::PROT_WRITE;
            let p = libc::mmap(core::ptr::null_mut(), big, prot, libc::MAP_PRIVATE, fd, 0);
            assert_ne!(p, libc::MAP_FAILED);
            let base = p as usize;
            core::ptr::write_volatile((base + 2 * page + 5) as *mut u8, 1);
            let mut runs = Vec::new();
            written_pages(base, big, |a, b| runs.push((a - base, b - base)));
            assert_eq!(runs, vec![(2 * page, 3 * page)]);
            runs.clear();
            written_pages(base, 2 * page + 100, |a, b| runs.push((a - base, b - base)));
            assert_eq!(runs, vec![(0, 2 * page + 100)], "small: one run");
            let mut seen = Vec::new();
            compare(fd, base + 2 * page, 2 * page as u64, 128, |l| {
                seen.push((l.offset, l.len, l.differs));
                Ok(())
            })
            .unwrap();
            let off = 2 * page as u64;
            assert_eq!(seen, vec![(off, 64, true), (off + 64, 64, false)]);
            libc::munmap(p, big);
            libc::close(fd);
        }
    }
}
