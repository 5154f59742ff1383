//! A file's shadow: the memory every fit mapping the library makes of that
//! file shows, one shared anonymous object per file. Each mapping is an
//! alias of it (mremap with old size 0), so two mappings of one file see
//! each other's stores, a forked child shares them with its parent, and
//! MADV_DONTNEED keeps them, as with shared file mappings; the file itself
//! still receives only what is flushed (pwrite from the mapping).

use crate::error::{Error, Result};
use std::os::fd::RawFd;

#[derive(Debug)]
pub struct Shadow {
    /// Our own mapping of the whole object, to alias from.
    base: usize,
    pub len: usize,
    /// The object's identity in /proc/self/maps.
    pub dev: u64,
    pub ino: u64,
}

const CHUNK: usize = 64 << 10;

impl Shadow {
    /// A shared anonymous object of `len` bytes (a page multiple) holding
    /// the first `len` bytes of the file `fd` (zeros past its end). Zero
    /// blocks are not copied, so a sparse file stays cheap.
    pub fn copy_of(fd: RawFd, len: usize) -> Result<Shadow> {
        // SAFETY: a fresh anonymous mapping; checked below.
        let base = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Error::last_os("fit mode: mapping a file's shadow"));
        }
        let base = base as usize;
        let vma = super::procmaps::covering_or_next(base)?
            .filter(|v| v.start == base)
            .ok_or_else(|| {
                Error::new(libc::EIO, "fit mode: the shadow is not in /proc/self/maps")
            })?;
        let shadow = Shadow {
            base,
            len,
            dev: vma.dev,
            ino: vma.ino,
        };
        shadow.fill_from(fd)?;
        Ok(shadow)
    }

    fn fill_from(&self, fd: RawFd) -> Result<()> {
        let mut buf = vec![0u8; CHUNK];
        let mut at = 0usize;
        while at < self.len {
            let want = CHUNK.min(self.len - at);
            // SAFETY: buf is writable for `want` bytes.
            let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), want, at as libc::off_t) };
            if n < 0 && crate::error::last_errno() == libc::EINTR {
                continue;
            }
            if n < 0 {
                return Err(Error::last_os("fit mode: reading the file into its shadow"));
            }
            let n = n as usize;
            if n == 0 {
                break; // end of file: the rest stays zero
            }
            if buf[..n].iter().any(|&b| b != 0) {
                // SAFETY: [base + at, base + at + n) lies in our mapping.
                unsafe {
                    core::ptr::copy_nonoverlapping(buf.as_ptr(), (self.base + at) as *mut u8, n)
                };
            }
            at += n;
        }
        Ok(())
    }

    /// Puts the shadow's first `len` bytes at `at`, in place of the mapping
    /// there (which the caller made and nobody else has seen yet).
    pub fn alias_at(&self, at: usize, len: usize) -> Result<()> {
        if len > self.len {
            return Err(Error::new(
                libc::EBUSY,
                "fit mode: the file grew while mapped; unmap every mapping of it first",
            ));
        }
        // SAFETY: old size 0 makes a second mapping of the shadow's pages;
        // MREMAP_FIXED replaces the caller's fresh mapping at `at`.
        let p = unsafe {
            libc::mremap(
                self.base as *mut libc::c_void,
                0,
                len,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                at as *mut libc::c_void,
            )
        };
        if p as usize != at {
            return Err(Error::last_os("fit mode: mapping the file's shadow"));
        }
        Ok(())
    }

    pub fn is(&self, dev: u64, ino: u64) -> bool {
        self.dev == dev && self.ino == ino
    }

    /// Whether the kernel maps the shadow anywhere besides our own mapping
    /// of it (an alias; an error counts as yes, keeping it).
    pub fn is_mapped(&self) -> bool {
        super::procmaps::maps_object(self.dev, self.ino, self.base).unwrap_or(true)
    }
}

impl Drop for Shadow {
    fn drop(&mut self) {
        // SAFETY: our own mapping; the program's aliases keep the object.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}
