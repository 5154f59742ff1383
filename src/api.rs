//! The safe Rust API: the same machinery as the C surface, with ownership
//! instead of raw pointers. A [`PmemFile`] unmaps itself when dropped.
//!
//! ```no_run
//! use pmem::api::PmemFile;
//! let mut f = PmemFile::create("/mnt/pmem/log", 4096, 0o600).unwrap();
//! f.write_persist(0, b"hello").unwrap();
//! assert_eq!(&f.as_slice()[..5], b"hello");
//! ```

use crate::error::{Error, Result};
use crate::ffi::consts::{PMEM_FILE_CREATE, PMEM_F_MEM_NODRAIN};
use crate::{map, memops, persist};
use core::ptr::NonNull;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A file mapped with `pmem_map_file`'s semantics.
#[derive(Debug)]
pub struct PmemFile {
    addr: NonNull<u8>,
    len: usize,
    is_pmem: bool,
}

// SAFETY: the mapping is plain shared memory owned by this value; access to
// its bytes follows Rust's borrow rules through &self / &mut self.
unsafe impl Send for PmemFile {}
// SAFETY: as above; &self only reads or flushes.
unsafe impl Sync for PmemFile {}

impl PmemFile {
    /// Maps `path` as `pmem_map_file(path, len, flags, mode, ..)` would.
    pub fn map(path: impl AsRef<Path>, len: usize, flags: i32, mode: u32) -> Result<Self> {
        let c_path = CString::new(path.as_ref().as_os_str().as_bytes())
            .map_err(|_| Error::new(libc::EINVAL, "path contains a NUL byte"))?;
        let m = map::map_file(&c_path, len, flags, mode as libc::mode_t)?;
        let addr = NonNull::new(m.addr).ok_or_else(|| Error::new(libc::EINVAL, "empty mapping"))?;
        Ok(PmemFile {
            addr,
            len: m.len,
            is_pmem: m.is_pmem,
        })
    }

    /// Creates (or resizes) `path` to `len` bytes and maps it.
    pub fn create(path: impl AsRef<Path>, len: usize, mode: u32) -> Result<Self> {
        Self::map(path, len, PMEM_FILE_CREATE, mode)
    }

    /// Maps an existing file whole.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::map(path, 0, 0, 0)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the whole mapping is persistent memory (stores are made
    /// durable by flushing CPU caches, without the kernel).
    pub fn is_pmem(&self) -> bool {
        self.is_pmem
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: addr..addr+len is mapped readable for self's lifetime.
        unsafe { core::slice::from_raw_parts(self.addr.as_ptr(), self.len) }
    }

    /// Plain stores into the mapping; make them durable with [`Self::persist`].
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: mapped writable, and &mut self guarantees exclusivity.
        unsafe { core::slice::from_raw_parts_mut(self.addr.as_ptr(), self.len) }
    }

    fn check(&self, offset: usize, len: usize) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(Error::new(
                libc::EINVAL,
                format!("range {offset}+{len} outside the {}-byte mapping", self.len),
            )),
        }
    }

    /// Makes `[offset, offset + len)` durable.
    pub fn persist(&self, offset: usize, len: usize) -> Result<()> {
        self.check(offset, len)?;
        // SAFETY: in bounds (checked above).
        persist::persist(unsafe { self.addr.as_ptr().add(offset) }, len);
        Ok(())
    }

    /// Copies `data` to `offset` and makes it durable (pmem_memcpy_persist).
    pub fn write_persist(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        self.write_with(offset, data, 0)
    }

    /// Copies `data` to `offset`, flushed but not drained: call
    /// [`drain`] once after a batch of these.
    pub fn write_nodrain(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        self.write_with(offset, data, PMEM_F_MEM_NODRAIN)
    }

    fn write_with(&mut self, offset: usize, data: &[u8], flags: u32) -> Result<()> {
        self.check(offset, data.len())?;
        // SAFETY: destination in bounds (checked) and exclusively borrowed;
        // data cannot overlap the mapping mutably borrowed here.
        unsafe {
            memops::memmove(
                self.addr.as_ptr().add(offset),
                data.as_ptr(),
                data.len(),
                flags,
            )
        };
        Ok(())
    }
}

/// Waits for earlier flushes and non-temporal stores (pmem_drain).
pub fn drain() {
    persist::drain();
}

impl Drop for PmemFile {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and no borrow of it outlives self.
        if let Err(e) = unsafe { map::unmap(self.addr.as_ptr(), self.len) } {
            crate::log_warning!("unmapping on drop failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_write_reopen() {
        let dir = std::env::temp_dir().join(format!("pmem-api-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        {
            let mut f = PmemFile::create(&path, 8192, 0o600).unwrap();
            assert_eq!(f.len(), 8192);
            f.write_persist(4000, b"durable").unwrap();
            f.as_mut_slice()[0] = 7;
            f.persist(0, 1).unwrap();
            assert!(f.write_persist(8190, b"xyz").is_err());
            assert!(f.persist(usize::MAX, 2).is_err());
        }
        let f = PmemFile::open(&path).unwrap();
        assert_eq!(&f.as_slice()[4000..4007], b"durable");
        assert_eq!(f.as_slice()[0], 7);
        drop(f);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nul_in_path_is_einval() {
        let e = PmemFile::open("a\0b").unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
    }
}
