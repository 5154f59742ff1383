//! The safe Rust API: files mapped with `pmem_map_file(3)`'s semantics,
//! owned, bounds-checked, and made durable the right way for where they
//! live.
//!
//! A [`PmemFile`] dereferences to `[u8]`: read and write it as a slice, then
//! make the bytes durable with [`PmemFile::persist`]. On persistent memory
//! that flushes CPU cache lines; on any other file it calls msync(2), as
//! PMDK asks of its users (`pmem_is_pmem(3)`: if the range is not pmem,
//! use `pmem_msync`). The mapping goes away when the value is dropped.
//!
//! ```
//! use pmem::api::PmemFile;
//! # struct Tmp(std::path::PathBuf);
//! # impl Drop for Tmp { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
//! # let tmp = Tmp(std::env::temp_dir().join(format!("pmem-doc-api-{}", std::process::id())));
//! # std::fs::create_dir_all(&tmp.0)?;
//! # let dir = &tmp.0;
//!
//! let path = dir.join("log");
//! // SAFETY: nothing else opens the file while it is mapped.
//! let mut log = unsafe { PmemFile::create(&path, 4096)? };
//! log.write_persist(0, b"hello")?;
//! log[5..11].copy_from_slice(b", pmem");
//! log.persist(5..11)?;
//! drop(log);
//! assert_eq!(&std::fs::read(&path)?[..11], b"hello, pmem");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Errors are [`Error`]: an errno and what failed. It converts into
//! `std::io::Error`, so `?` works in functions returning `io::Result`.

mod error;
mod flags;
mod options;

/// Why a call failed: the errno (as the C API would set it) and what was
/// being done. `Display` gives both, in the shape of PMDK's messages.
///
/// ```
/// use pmem::api::{Error, PmemFile};
///
/// // SAFETY: the path does not exist, so nothing is mapped.
/// let e: Error = unsafe { PmemFile::open("/nonexistent/pmem-doc") }.unwrap_err();
/// assert_eq!(e.errno(), libc::ENOENT);
/// assert!(e.to_string().ends_with("No such file or directory"), "{e}");
/// // A std::error::Error, so it boxes and converts like any other.
/// let _: Box<dyn std::error::Error + Send + Sync> = e.into();
/// ```
#[doc(inline)]
pub use crate::error::Error;
/// `Result<T, Error>`.
pub use crate::error::Result;
pub use flags::{FileFlags, MemFlags};
pub use options::MapOptions;

/// A persistence mode (`flush`, `msync`, `fit`, `auto`; see docs/modes.md):
/// what every flush, drain and msync of the library does.
pub use crate::mode::Mode as PersistMode;

/// The active persistence mode (`PMEM_PERSIST_MODE` at load, or the last
/// [`set_persist_mode`]).
pub fn persist_mode() -> PersistMode {
    crate::mode::current()
}

/// Switches the persistence mode for every later flush, drain, msync and
/// mapping of the process (C callers included).
///
/// ```
/// use pmem::api::{persist_mode, set_persist_mode, PersistMode};
///
/// let before = persist_mode();
/// set_persist_mode(PersistMode::Msync)?;
/// assert_eq!(persist_mode(), PersistMode::Msync);
/// set_persist_mode(before)?;
/// # Ok::<(), pmem::Error>(())
/// ```
///
/// # Errors
/// `EBUSY` when asked for `Flush` while mappings made in `Fit` mode are
/// live (their stores would never reach their files).
pub fn set_persist_mode(mode: PersistMode) -> Result<()> {
    crate::mode::set(mode)
}

use crate::{map, memops, persist};
use core::ops::{Bound, Deref, DerefMut, Range, RangeBounds};
use core::ptr::NonNull;
use std::path::Path;

/// A file mapped into memory, unmapped on drop.
///
/// `Deref<Target = [u8]>` and `DerefMut` give the bytes; the methods make
/// ranges of them durable. Every range is checked against the mapping: one
/// that is out of bounds is an [`Error`] with `EINVAL`, never a panic.
///
/// Durability follows where the file lives ([`is_pmem`](Self::is_pmem)):
/// on persistent memory (a DAX file mapped with `MAP_SYNC`, a Device DAX, or
/// `PMEM_IS_PMEM_FORCE=1`) stores are flushed from the CPU caches; on any
/// other file the pages holding the range are written back with msync(2).
/// The library's persistence mode (`PMEM_PERSIST_MODE`) applies to both.
///
/// ```
/// use pmem::api::{MemFlags, PmemFile};
/// # struct Tmp(std::path::PathBuf);
/// # impl Drop for Tmp { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
/// # let tmp = Tmp(std::env::temp_dir().join(format!("pmem-doc-file-{}", std::process::id())));
/// # std::fs::create_dir_all(&tmp.0)?;
/// # let dir = &tmp.0;
///
/// let path = dir.join("records");
/// // SAFETY: nothing else opens the file while it is mapped.
/// let mut f = unsafe { PmemFile::create(&path, 8192)? };
/// // A batch of copies, flushed one by one and drained once.
/// for (i, rec) in [b"one", b"two"].iter().enumerate() {
///     f.memcpy(i * 64, *rec, MemFlags::NODRAIN)?;
/// }
/// f.drain();
/// f.fill_persist(4096..4160, 0xff)?;
/// f.copy_within_persist(0..3, 128)?;
/// assert_eq!(&f[128..131], b"one");
/// assert!(f.persist(8000..9000).is_err()); // past the end: an error
/// drop(f);
///
/// // SAFETY: as above.
/// let f = unsafe { PmemFile::open(&path)? };
/// assert_eq!(&f[64..67], b"two");
/// assert_eq!(f[4100], 0xff);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PmemFile {
    addr: NonNull<u8>,
    len: usize,
    is_pmem: bool,
}

// SAFETY: the mapping is plain shared memory owned by this value, not tied
// to the thread that made it; its bytes are reached only through &self
// (reads, flushes) and &mut self (writes).
unsafe impl Send for PmemFile {}
// SAFETY: as above: &self never writes the bytes.
unsafe impl Sync for PmemFile {}

impl PmemFile {
    /// Maps an existing file (or Device DAX) whole: `MapOptions::new().map(path)`.
    ///
    /// # Safety
    /// As for [`MapOptions::map`]: nothing else may modify or truncate the
    /// file while the `PmemFile` lives.
    ///
    /// # Errors
    /// As for [`MapOptions::map`].
    ///
    /// ```
    /// use pmem::api::PmemFile;
    /// # struct Tmp(std::path::PathBuf);
    /// # impl Drop for Tmp { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let tmp = Tmp(std::env::temp_dir().join(format!("pmem-doc-open-{}", std::process::id())));
    /// # std::fs::create_dir_all(&tmp.0)?;
    /// # let dir = &tmp.0;
    ///
    /// let path = dir.join("data");
    /// std::fs::write(&path, [7u8; 4096])?;
    /// // SAFETY: nothing else writes the file while it is mapped.
    /// let f = unsafe { PmemFile::open(&path)? };
    /// assert_eq!(f.len(), 4096);
    /// assert!(f.iter().all(|&b| b == 7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<Self> {
        // SAFETY: MapOptions::map's contract (nobody else changes the
        // file while it is mapped) is ours, passed on unchanged.
        unsafe { MapOptions::new().map(path) }
    }

    /// Creates `path` with `len` bytes (or resizes an existing file to
    /// `len`) and maps it: `MapOptions::new().len(len).flags(FileFlags::CREATE)`,
    /// mode `0o666` less the umask.
    ///
    /// # Safety
    /// As for [`MapOptions::map`]: nothing else may modify or truncate the
    /// file while the `PmemFile` lives.
    ///
    /// # Errors
    /// As for [`MapOptions::map`].
    ///
    /// ```
    /// use pmem::api::PmemFile;
    /// # struct Tmp(std::path::PathBuf);
    /// # impl Drop for Tmp { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let tmp = Tmp(std::env::temp_dir().join(format!("pmem-doc-create-{}", std::process::id())));
    /// # std::fs::create_dir_all(&tmp.0)?;
    /// # let dir = &tmp.0;
    ///
    /// // SAFETY: the file is new and nothing else opens it.
    /// let f = unsafe { PmemFile::create(dir.join("new"), 1 << 16)? };
    /// assert_eq!(f.len(), 1 << 16);
    /// assert!(f.iter().all(|&b| b == 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub unsafe fn create(path: impl AsRef<Path>, len: usize) -> Result<Self> {
        // SAFETY: MapOptions::map's contract (nobody else changes the
        // file while it is mapped) is ours, passed on unchanged.
        unsafe {
            MapOptions::new()
                .len(len)
                .flags(FileFlags::CREATE)
                .map(path)
        }
    }

    fn from_mapping(m: map::Mapping) -> Result<Self> {
        match NonNull::new(m.addr) {
            Some(addr) => Ok(PmemFile {
                addr,
                len: m.len,
                is_pmem: m.is_pmem,
            }),
            None => Err(Error::new(libc::EINVAL, "the mapping has no address")),
        }
    }

    /// The mapping's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping has no bytes (never true for a successful map).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the whole mapping is persistent memory, as `pmem_is_pmem(3)`
    /// says: then stores are made durable by flushing CPU caches, otherwise
    /// by msync(2).
    pub fn is_pmem(&self) -> bool {
        self.is_pmem
    }

    /// The first byte of the mapping.
    pub fn as_ptr(&self) -> *const u8 {
        self.addr.as_ptr()
    }

    /// The first byte of the mapping, for writes through raw pointers
    /// (follow them with [`persist`](Self::persist)).
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.addr.as_ptr()
    }

    /// Makes the bytes in `range` durable: cache-line flushes and a drain
    /// on persistent memory, msync(2) of their pages otherwise.
    ///
    /// # Errors
    /// `EINVAL` when a range is not within the mapping (nothing is written
    /// then); outside persistent memory, the errno of a failed msync(2).
    pub fn persist(&self, range: impl RangeBounds<usize>) -> Result<()> {
        let r = self.range(range)?;
        if self.is_pmem {
            // SAFETY: `range` checked `r` lies within this live mapping, so
            // it is mapped and cannot wrap.
            unsafe { persist::persist(self.at(r.start), r.len()) };
            Ok(())
        } else {
            self.sync(r)
        }
    }

    /// The first half of [`persist`](Self::persist): starts writing `range`
    /// back. On persistent memory this flushes cache lines without waiting
    /// (call [`drain`](Self::drain) once after a batch of flushes); on other
    /// files it is msync(2), already durable when it returns.
    ///
    /// # Errors
    /// `EINVAL` when a range is not within the mapping (nothing is written
    /// then); outside persistent memory, the errno of a failed msync(2).
    pub fn flush(&self, range: impl RangeBounds<usize>) -> Result<()> {
        let r = self.range(range)?;
        if self.is_pmem {
            // SAFETY: `range` checked `r` lies within this live mapping, so
            // it is mapped and cannot wrap.
            unsafe { persist::flush(self.at(r.start), r.len()) };
            Ok(())
        } else {
            self.sync(r)
        }
    }

    /// The second half of [`persist`](Self::persist): waits until earlier
    /// flushes and non-temporal stores (of any mapping) are durable.
    pub fn drain(&self) {
        persist::drain();
    }

    /// Copies `data` to `offset` and makes it durable (`pmem_memcpy_persist`).
    ///
    /// # Errors
    /// `EINVAL` when a range is not within the mapping (nothing is written
    /// then); outside persistent memory, the errno of a failed msync(2).
    pub fn write_persist(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        self.memcpy(offset, data, MemFlags::empty())
    }

    /// Sets the bytes in `range` to `value` and makes them durable
    /// (`pmem_memset_persist`).
    ///
    /// # Errors
    /// `EINVAL` when a range is not within the mapping (nothing is written
    /// then); outside persistent memory, the errno of a failed msync(2).
    pub fn fill_persist(&mut self, range: impl RangeBounds<usize>, value: u8) -> Result<()> {
        self.memset(range, value, MemFlags::empty())
    }

    /// Copies the bytes in `src` to `dest` (the ranges may overlap, as in
    /// `slice::copy_within`) and makes them durable (`pmem_memmove_persist`).
    ///
    /// # Errors
    /// `EINVAL` when a range is not within the mapping (nothing is written
    /// then); outside persistent memory, the errno of a failed msync(2).
    pub fn copy_within_persist(&mut self, src: impl RangeBounds<usize>, dest: usize) -> Result<()> {
        self.memmove(src, dest, MemFlags::empty())
    }

    /// Copies `data` to `offset` as `pmem_memcpy(3)` with `flags` does.
    /// Outside persistent memory the store-kind flags do not apply and the
    /// range is msync'ed unless `flags` has [`MemFlags::NOFLUSH`].
    ///
    /// # Errors
    /// `EINVAL` when a range is not within the mapping (nothing is written
    /// then); outside persistent memory, the errno of a failed msync(2).
    pub fn memcpy(&mut self, offset: usize, data: &[u8], flags: MemFlags) -> Result<()> {
        let dest = self.range_at(offset, data.len())?;
        self.store(dest, flags, |dst, len, bits| {
            // SAFETY: `store` passes the checked destination, writable and
            // exclusively ours (&mut self), so `data` cannot overlap it.
            unsafe { memops::memmove(dst, data.as_ptr(), len, bits) }
        })
    }

    /// Sets the bytes in `range` to `value` as `pmem_memset(3)` with `flags`
    /// does; flags outside persistent memory as for [`memcpy`](Self::memcpy).
    ///
    /// # Errors
    /// `EINVAL` when a range is not within the mapping (nothing is written
    /// then); outside persistent memory, the errno of a failed msync(2).
    pub fn memset(
        &mut self,
        range: impl RangeBounds<usize>,
        value: u8,
        flags: MemFlags,
    ) -> Result<()> {
        let dest = self.range(range)?;
        self.store(dest, flags, |dst, len, bits| {
            // SAFETY: `store` passes the checked destination, writable and
            // exclusively ours.
            unsafe { memops::memset(dst, value, len, bits) }
        })
    }

    /// Copies the bytes in `src` to `dest`, overlapping or not, as
    /// `pmem_memmove(3)` with `flags` does; flags outside persistent memory
    /// as for [`memcpy`](Self::memcpy).
    ///
    /// # Errors
    /// `EINVAL` when a range is not within the mapping (nothing is written
    /// then); outside persistent memory, the errno of a failed msync(2).
    pub fn memmove(
        &mut self,
        src: impl RangeBounds<usize>,
        dest: usize,
        flags: MemFlags,
    ) -> Result<()> {
        let src = self.range(src)?;
        let dest = self.range_at(dest, src.len())?;
        let from = self.at(src.start);
        self.store(dest, flags, |dst, len, bits| {
            // SAFETY: both ranges are checked to lie in the mapping, which
            // is exclusively ours; memmove allows them to overlap.
            unsafe { memops::memmove(dst, from, len, bits) }
        })
    }

    /// Runs `copy(dst, len, flags)` over the checked range `dest`. On
    /// persistent memory the copy routine flushes and drains as the flags
    /// say; elsewhere it only stores, and msync(2) makes the range durable.
    fn store(
        &mut self,
        dest: Range<usize>,
        flags: MemFlags,
        copy: impl FnOnce(*mut u8, usize, u32),
    ) -> Result<()> {
        let dst = self.at(dest.start).cast_mut();
        if self.is_pmem {
            copy(dst, dest.len(), flags.bits());
            return Ok(());
        }
        copy(dst, dest.len(), (flags | MemFlags::NOFLUSH).bits());
        if flags.contains(MemFlags::NOFLUSH) {
            return Ok(());
        }
        self.sync(dest)
    }

    /// msync(2) of the pages holding `r`, through the persistence mode.
    fn sync(&self, r: Range<usize>) -> Result<()> {
        persist::msync(self.at(r.start), r.len())
    }

    /// The address `offset` bytes into the mapping. Computing it is safe;
    /// callers only dereference offsets they checked with `range`.
    fn at(&self, offset: usize) -> *const u8 {
        self.addr.as_ptr().wrapping_add(offset)
    }

    /// `range` as offsets, if it lies within the mapping.
    fn range(&self, range: impl RangeBounds<usize>) -> Result<Range<usize>> {
        let start = match range.start_bound() {
            Bound::Included(&s) => Some(s),
            Bound::Excluded(&s) => s.checked_add(1),
            Bound::Unbounded => Some(0),
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => e.checked_add(1),
            Bound::Excluded(&e) => Some(e),
            Bound::Unbounded => Some(self.len),
        };
        match (start, end) {
            (Some(s), Some(e)) if s <= e && e <= self.len => Ok(s..e),
            (Some(s), Some(e)) => Err(self.out_of_range(format!("{s}..{e}"))),
            _ => Err(self.out_of_range("ending past usize::MAX".to_string())),
        }
    }

    /// `[offset, offset + len)`, if it lies within the mapping.
    fn range_at(&self, offset: usize, len: usize) -> Result<Range<usize>> {
        match offset.checked_add(len) {
            Some(end) => self.range(offset..end),
            None => Err(self.out_of_range(format!("{offset} + {len} bytes"))),
        }
    }

    #[cold]
    fn out_of_range(&self, what: String) -> Error {
        Error::new(
            libc::EINVAL,
            format!("range {what} is outside the {}-byte mapping", self.len),
        )
    }
}

impl Deref for PmemFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: addr..addr+len is mapped readable for self's lifetime, and
        // map's contract rules out writers other than &mut self.
        unsafe { core::slice::from_raw_parts(self.addr.as_ptr(), self.len) }
    }
}

impl DerefMut for PmemFile {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: mapped writable for self's lifetime, and &mut self makes
        // this the only reference into it.
        unsafe { core::slice::from_raw_parts_mut(self.addr.as_ptr(), self.len) }
    }
}

impl AsRef<[u8]> for PmemFile {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl AsMut<[u8]> for PmemFile {
    fn as_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl Drop for PmemFile {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours, and no borrow of it outlives self.
        if let Err(e) = unsafe { map::unmap(self.addr.as_ptr(), self.len) } {
            crate::log_warning!("unmapping on drop failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_common::TempDir;

    fn create(dir: &TempDir, len: usize) -> PmemFile {
        // SAFETY: the file is this test's own.
        unsafe { PmemFile::create(dir.join("f"), len) }.unwrap()
    }

    #[test]
    fn every_range_form_is_checked() {
        let dir = TempDir::new("ranges");
        let f = create(&dir, 8192);
        assert_eq!(f.range(..).unwrap(), 0..8192);
        assert_eq!(f.range(10..=19).unwrap(), 10..20);
        assert_eq!(f.range(8192..).unwrap(), 8192..8192);
        let excluded_start = (Bound::Excluded(4), Bound::Included(4));
        assert_eq!(f.range(excluded_start).unwrap(), 5..5);
        for bad in [f.range(0..8193), f.range(8193..), f.range(..=usize::MAX)] {
            assert_eq!(bad.unwrap_err().errno(), libc::EINVAL);
        }
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = f.range(5..4);
        assert_eq!(reversed.unwrap_err().errno(), libc::EINVAL);
        let e = f.range_at(usize::MAX, 2).unwrap_err();
        assert!(e.what().contains("outside the 8192-byte mapping"), "{e}");
        let excluded_max = (Bound::Excluded(usize::MAX), Bound::Unbounded);
        assert_eq!(f.range(excluded_max).unwrap_err().errno(), libc::EINVAL);
    }

    #[test]
    fn empty_ranges_in_bounds_succeed() {
        let dir = TempDir::new("empty");
        let mut f = create(&dir, 8192);
        f.persist(8192..).unwrap();
        f.flush(..0).unwrap();
        f.fill_persist(4096..4096, 1).unwrap();
        f.write_persist(8192, b"").unwrap();
        f.copy_within_persist(0..0, 8192).unwrap();
        assert!(f.iter().all(|&b| b == 0));
    }

    #[test]
    fn out_of_range_writes_change_nothing() {
        let dir = TempDir::new("oob");
        let mut f = create(&dir, 4096);
        let errors = [
            f.write_persist(4090, b"too long"),
            f.fill_persist(4000..5000, 1),
            f.copy_within_persist(0..100, 4000),
            f.copy_within_persist(4000..5000, 0),
            f.memcpy(usize::MAX, b"x", MemFlags::empty()),
            f.flush(..4097),
        ];
        for e in errors.map(Result::unwrap_err) {
            assert_eq!(e.errno(), libc::EINVAL, "{e}");
            assert!(e.what().contains("outside the 4096-byte mapping"), "{e}");
        }
        assert!(f.iter().all(|&b| b == 0));
    }

    #[test]
    fn copies_land_where_asked() {
        let dir = TempDir::new("copies");
        let mut f = create(&dir, 4096);
        f.write_persist(0, b"abcdef").unwrap();
        f.copy_within_persist(0..4, 2).unwrap();
        assert_eq!(&f[..6], b"ababcd");
        f.fill_persist(1..=2, b'-').unwrap();
        assert_eq!(&f[..6], b"a--bcd");
        f.memcpy(100, b"xyz", MemFlags::NOFLUSH).unwrap();
        f.persist(100..103).unwrap();
        f.memmove(100..103, 4093, MemFlags::NONTEMPORAL).unwrap();
        assert_eq!(&f[4093..], b"xyz");
        assert_eq!(f.as_ptr(), f[..].as_ptr());
    }

    #[test]
    fn nul_in_path_is_einval() {
        // SAFETY: the path cannot name a file.
        let e = unsafe { PmemFile::open("a\0b") }.unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
    }
}
