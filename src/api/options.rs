//! [`MapOptions`]: what `pmem_map_file(3)` takes besides the path.

use super::{FileFlags, PmemFile};
use crate::error::{Error, Result};
use crate::map;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Length, flags and permissions for mapping a file, in the manner of
/// `std::fs::OpenOptions`. [`PmemFile::open`] and [`PmemFile::create`] are
/// shortcuts for the common cases.
///
/// ```
/// use pmem::api::{FileFlags, MapOptions};
/// # struct Tmp(std::path::PathBuf);
/// # impl Drop for Tmp { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
/// # let tmp = Tmp(std::env::temp_dir().join(format!("pmem-doc-options-{}", std::process::id())));
/// # std::fs::create_dir_all(&tmp.0)?;
/// # let dir = &tmp.0;
///
/// let path = dir.join("pool");
/// // SAFETY: the file is new and nothing else opens it while it is mapped.
/// let pool = unsafe {
///     MapOptions::new()
///         .len(1 << 20)
///         .flags(FileFlags::CREATE | FileFlags::EXCL | FileFlags::SPARSE)
///         .mode(0o600)
///         .map(&path)?
/// };
/// assert_eq!(pool.len(), 1 << 20);
/// // EXCL: a second creation fails, with EEXIST.
/// let again = unsafe {
///     MapOptions::new().len(4096).flags(FileFlags::CREATE | FileFlags::EXCL).map(&path)
/// };
/// assert_eq!(again.unwrap_err().errno(), libc::EEXIST);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapOptions {
    len: usize,
    flags: FileFlags,
    mode: u32,
}

impl Default for MapOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl MapOptions {
    /// Map an existing file whole: length 0, no flags, mode `0o666` (used
    /// only when a file is created, and reduced by the umask).
    #[must_use]
    pub fn new() -> Self {
        MapOptions {
            len: 0,
            flags: FileFlags::empty(),
            mode: 0o666,
        }
    }

    /// The length to create or resize the file to; only with
    /// [`FileFlags::CREATE`], and 0 (the whole file) without it.
    pub fn len(&mut self, len: usize) -> &mut Self {
        self.len = len;
        self
    }

    /// The `PMEM_FILE_*` flags.
    pub fn flags(&mut self, flags: FileFlags) -> &mut Self {
        self.flags = flags;
        self
    }

    /// The permission bits of a file that is created.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Opens (or creates) `path` and maps it shared, as
    /// `pmem_map_file(path, len, flags, mode, ..)` does; a Device DAX path
    /// maps the whole device. On failure a file this call created is removed.
    ///
    /// # Safety
    /// The returned [`PmemFile`] hands out `&[u8]` and `&mut [u8]` over the
    /// file's pages. The caller must make sure that, while it lives, no one
    /// else (another process, another mapping, `write(2)` on the file)
    /// modifies those bytes, and no one truncates the file: a change would
    /// break the slices' aliasing guarantees, and access past a truncation
    /// raises SIGBUS. This is the contract of memmap2's `MmapMut::map_mut`.
    ///
    /// # Errors
    /// Those of `pmem_map_file(3)`, with the errno it would set: `EINVAL`
    /// for inconsistent options (a length without [`FileFlags::CREATE`],
    /// `CREATE` with length 0) or a path with a NUL byte, `ENOENT`,
    /// `EEXIST` (with [`FileFlags::EXCL`]), `EACCES`, `ENOSPC` and the
    /// other errors of open(2), `posix_fallocate(3)` and mmap(2).
    pub unsafe fn map(&self, path: impl AsRef<Path>) -> Result<PmemFile> {
        let path = CString::new(path.as_ref().as_os_str().as_bytes())
            .map_err(|_| Error::new(libc::EINVAL, "path contains a NUL byte"))?;
        let m = map::map_file(&path, self.len, self.flags.bits(), self.mode)?;
        PmemFile::from_mapping(m)
    }
}
