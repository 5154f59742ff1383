//! Opening, creating and sizing the file behind pmem_map_file, undoably.
//!
//! A [`PreparedFile`] remembers what it changed: a file it created is
//! removed, and an existing file gets its size and block allocation back,
//! unless [`PreparedFile::commit`] is reached. Shrinking an existing file is
//! the one change that cannot be undone, so it is deferred to the commit,
//! after everything else has succeeded.

use crate::error::{Error, Result};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// stat(2) of `path`; None when it does not exist.
pub fn stat_path(path: &CStr) -> Result<Option<libc::stat>> {
    // SAFETY: plain data, filled by stat.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: path is NUL-terminated and st writable.
    if unsafe { libc::stat(path.as_ptr(), &mut st) } == 0 {
        return Ok(Some(st));
    }
    let e = Error::last_os(format!("stat {path:?}"));
    if e.errno() == libc::ENOENT {
        return Ok(None);
    }
    Err(e)
}

pub fn fstat(fd: i32) -> Result<libc::stat> {
    // SAFETY: plain data, filled by fstat.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: st is writable; a bad fd gives EBADF.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(Error::last_os("fstat"));
    }
    Ok(st)
}

/// open(2), returning an owned descriptor.
pub fn open(path: &CStr, flags: i32, mode: libc::mode_t) -> Result<OwnedFd> {
    // SAFETY: path is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) };
    if fd < 0 {
        return Err(Error::last_os(format!("open {path:?}")));
    }
    // SAFETY: fd was just opened and belongs to nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The size and holes an existing file had before we touched it.
#[derive(Debug)]
struct Original {
    size: u64,
    /// Holes in the part we asked to be allocated: punched again on undo.
    holes: Vec<(u64, u64)>,
}

/// A file being made ready for mapping; undone on drop unless committed.
#[derive(Debug)]
pub struct PreparedFile {
    fd: OwnedFd,
    /// A file this call created: (name to remove, its dev and inode).
    created: Option<(CString, libc::dev_t, libc::ino_t)>,
    /// Unnamed (O_TMPFILE or already unlinked): nothing to remove.
    unnamed: bool,
    original: Option<Original>,
    shrink_to: Option<u64>,
}

impl PreparedFile {
    fn new(fd: OwnedFd) -> PreparedFile {
        PreparedFile {
            fd,
            created: None,
            unnamed: false,
            original: None,
            shrink_to: None,
        }
    }

    /// Opens an existing file (or device) read/write.
    pub fn open_existing(path: &CStr, extra: i32) -> Result<PreparedFile> {
        Ok(PreparedFile::new(open(path, libc::O_RDWR | extra, 0)?))
    }

    /// Opens `path`, creating it with `mode` if missing, and remembers
    /// whether it did (open(O_CREAT) alone cannot tell).
    pub fn open_or_create(path: &CStr, excl: bool, mode: libc::mode_t) -> Result<PreparedFile> {
        let create = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL;
        if excl {
            let fd = open(path, create, mode)?;
            return PreparedFile::created(fd, path.to_owned());
        }
        for _ in 0..8 {
            match open(path, libc::O_RDWR, 0) {
                Ok(fd) => return Ok(PreparedFile::new(fd)),
                Err(e) if e.errno() != libc::ENOENT => return Err(e),
                Err(_) => {}
            }
            match open(path, create, mode) {
                Ok(fd) => return PreparedFile::created(fd, path.to_owned()),
                Err(e) if e.errno() != libc::EEXIST => return Err(e),
                Err(_) if is_symlink(path) => {
                    // A dangling symlink: O_CREAT creates its target, as in
                    // PMDK; that target is what an undo must remove.
                    let fd = open(path, libc::O_RDWR | libc::O_CREAT, mode)?;
                    let target = fd_path(fd.as_raw_fd())?;
                    return PreparedFile::created(fd, target);
                }
                // Created by someone else meanwhile: open it as existing.
                Err(_) => {}
            }
        }
        Err(Error::new(
            libc::EEXIST,
            format!("{path:?} keeps appearing and disappearing"),
        ))
    }

    fn created(fd: OwnedFd, name: CString) -> Result<PreparedFile> {
        let st = fstat(fd.as_raw_fd());
        let mut f = PreparedFile::new(fd);
        match st {
            Ok(st) => {
                f.created = Some((name, st.st_dev, st.st_ino));
                Ok(f)
            }
            Err(e) => {
                f.created = Some((name, 0, 0));
                f.remove_created(true);
                Err(e)
            }
        }
    }

    /// An unnamed file in directory `dir` (mode 0600): O_TMPFILE, or where
    /// the file system lacks it, a file created and unlinked at once.
    pub fn tmpfile(dir: &CStr, excl: bool) -> Result<PreparedFile> {
        let flags = libc::O_TMPFILE | libc::O_RDWR | if excl { libc::O_EXCL } else { 0 };
        match open(dir, flags, 0o600) {
            Ok(fd) => Ok(PreparedFile::unnamed(fd)),
            // EISDIR: a kernel that predates O_TMPFILE.
            Err(e) if e.errno() == libc::EOPNOTSUPP || e.errno() == libc::EISDIR => {
                created_and_unlinked(dir).map(PreparedFile::unnamed)
            }
            Err(e) => Err(e),
        }
    }

    fn unnamed(fd: OwnedFd) -> PreparedFile {
        let mut f = PreparedFile::new(fd);
        f.unnamed = true;
        f
    }

    pub fn fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    pub fn stat(&self) -> Result<libc::stat> {
        fstat(self.fd())
    }

    /// Sizes the file to `len` (PMEM_FILE_CREATE): extends with ftruncate,
    /// then allocates every block with posix_fallocate unless `sparse`.
    /// Shrinking waits for [`PreparedFile::commit`].
    pub fn set_len(&mut self, len: u64, sparse: bool) -> Result<()> {
        let current = self.stat()?.st_size as u64;
        if self.created.is_none() && !self.unnamed {
            let holes = if sparse {
                Vec::new()
            } else {
                holes_in(self.fd(), len.min(current))
            };
            self.original = Some(Original {
                size: current,
                holes,
            });
        }
        if len >= current {
            // SAFETY: fd is open; the length fits off_t (checked by callers).
            if unsafe { libc::ftruncate(self.fd(), len as libc::off_t) } != 0 {
                return Err(Error::last_os("ftruncate"));
            }
        } else {
            self.shrink_to = Some(len);
        }
        if !sparse {
            // SAFETY: fd is open; posix_fallocate returns the error itself.
            let rc = unsafe { libc::posix_fallocate(self.fd(), 0, len as libc::off_t) };
            if rc != 0 {
                return Err(Error::new(rc, "posix_fallocate"));
            }
        }
        Ok(())
    }

    /// Makes the changes permanent (applying a deferred shrink).
    pub fn commit(mut self) -> Result<()> {
        if let Some(len) = self.shrink_to {
            // SAFETY: fd is open.
            if unsafe { libc::ftruncate(self.fd(), len as libc::off_t) } != 0 {
                return Err(Error::last_os("ftruncate"));
            }
        }
        self.created = None;
        self.original = None;
        Ok(())
    }

    fn remove_created(&mut self, unchecked: bool) {
        let Some((name, dev, ino)) = self.created.take() else {
            return;
        };
        // Remove the name only if it still names our file.
        let ours =
            unchecked || matches!(lstat(&name), Some(st) if st.st_dev == dev && st.st_ino == ino);
        if ours {
            // SAFETY: name is NUL-terminated.
            unsafe { libc::unlink(name.as_ptr()) };
        }
    }

    fn restore_original(&mut self) {
        let Some(orig) = self.original.take() else {
            return;
        };
        // SAFETY: fd is open; shrinking back to the old size only drops
        // what this call added.
        unsafe { libc::ftruncate(self.fd(), orig.size as libc::off_t) };
        for (off, len) in orig.holes {
            // SAFETY: fd is open; punching a range that was a hole keeps its
            // content (zeros) and the size.
            unsafe {
                libc::fallocate(
                    self.fd(),
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    off as libc::off_t,
                    len as libc::off_t,
                )
            };
        }
    }
}

impl Drop for PreparedFile {
    fn drop(&mut self) {
        self.remove_created(false);
        self.restore_original();
    }
}

fn lstat(path: &CStr) -> Option<libc::stat> {
    // SAFETY: plain data, filled by lstat.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: path is NUL-terminated and st writable.
    (unsafe { libc::lstat(path.as_ptr(), &mut st) } == 0).then_some(st)
}

fn is_symlink(path: &CStr) -> bool {
    lstat(path).is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK)
}

/// The path an open descriptor refers to.
fn fd_path(fd: i32) -> Result<CString> {
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map_err(|e| Error::new(e.raw_os_error().unwrap_or(libc::EIO), "readlink"))?;
    CString::new(target.as_os_str().as_bytes())
        .map_err(|_| Error::new(libc::EINVAL, "path with NUL"))
}

/// The holes of `fd` below `limit`, as (offset, length). A file system
/// that cannot report holes reports none, which only makes an undo leave
/// formerly sparse parts allocated.
fn holes_in(fd: i32, limit: u64) -> Vec<(u64, u64)> {
    let seek = |off: u64, whence: i32| {
        // SAFETY: lseek on an open fd has no memory effects.
        let r = unsafe { libc::lseek(fd, off as libc::off_t, whence) };
        (r >= 0).then_some(r as u64)
    };
    let mut holes = Vec::new();
    let mut off = 0;
    while off < limit {
        let Some(hole) = seek(off, libc::SEEK_HOLE).filter(|&h| h < limit) else {
            break;
        };
        let end = seek(hole, libc::SEEK_DATA).map_or(limit, |d| d.min(limit));
        holes.push((hole, end - hole));
        off = end;
    }
    holes
}

/// mkstemp in `dir` then unlink, with signals blocked in between so an
/// interrupted call leaves no name behind.
pub fn created_and_unlinked(dir: &CStr) -> Result<OwnedFd> {
    let mut template = dir.to_bytes().to_vec();
    template.extend_from_slice(b"/pmem.XXXXXX\0");
    // SAFETY: plain data.
    let mut all: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: plain data.
    let mut old: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: both sets are valid; blocking is undone below on every path.
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
    }
    // SAFETY: template is writable, NUL-terminated and ends in XXXXXX.
    let fd = unsafe { libc::mkostemp(template.as_mut_ptr().cast(), libc::O_CLOEXEC) };
    let result = if fd < 0 {
        Err(Error::last_os(format!("mkstemp in {dir:?}")))
    } else {
        // SAFETY: fd was just created and belongs to nobody else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: template now holds the created name, NUL-terminated.
        if unsafe { libc::unlink(template.as_ptr().cast()) } != 0 {
            Err(Error::last_os("unlink"))
        } else {
            Ok(owned)
        }
    };
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, core::ptr::null_mut()) };
    result
}
