//! Opening, creating and sizing the file behind pmem_map_file, undoably.
//!
//! A failed call may only undo what nobody else can have written to: see
//! [`PreparedFile`].

use crate::error::{Error, Result};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

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

/// What mapping a file needs to know of it, from one statx(2).
#[derive(Debug, Clone, Copy)]
pub struct FileInfo {
    pub size: u64,
    pub dev: libc::dev_t,
    /// False only when the kernel says the file is not DAX, so MAP_SYNC
    /// would be refused (a failed mmap attempt costs more than the statx).
    pub may_be_dax: bool,
}

pub fn file_info(fd: i32) -> Result<FileInfo> {
    // SAFETY: plain data, filled by statx.
    let mut stx: libc::statx = unsafe { core::mem::zeroed() };
    // SAFETY: "" with AT_EMPTY_PATH names fd itself; stx is writable.
    let rc = unsafe {
        libc::statx(
            fd,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_SIZE,
            &mut stx,
        )
    };
    if rc != 0 {
        return Err(Error::last_os("statx"));
    }
    let dax = libc::STATX_ATTR_DAX as u64;
    Ok(FileInfo {
        size: stx.stx_size,
        dev: libc::makedev(stx.stx_dev_major, stx.stx_dev_minor),
        may_be_dax: stx.stx_attributes_mask & dax == 0 || stx.stx_attributes & dax != 0,
    })
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

/// A file being made ready for mapping.
///
/// What a failed call undoes is decided by what nobody else can have seen:
/// - a new file is made unnamed (O_TMPFILE) and only linked under its name
///   by [`PreparedFile::commit`]; before that no other process or thread
///   can open it, so dropping it (closing the descriptor) loses nobody's
///   data;
/// - an existing file is never shrunk, truncated back or punched on
///   failure: someone may have written to it meanwhile, even into the part
///   this call allocated. A failed grow leaves it larger (PMDK does the
///   same); a requested shrink waits for the commit, after everything else
///   has succeeded.
///
/// docs/mapping.md ("What a failed call may undo") has the full reasoning.
#[derive(Debug)]
pub struct PreparedFile {
    fd: OwnedFd,
    /// Nobody else can have opened it: O_TMPFILE, or created and unlinked
    /// at once. It may be allocated without fear of racing a writer.
    private: bool,
    /// The name to link an unnamed new file to at commit, and whether that
    /// name must still be free (PMEM_FILE_EXCL).
    link_to: Option<(CString, bool)>,
    shrink_to: Option<u64>,
}

/// What [`PreparedFile::commit`] found.
#[derive(Debug)]
pub enum Committed {
    Done,
    /// A new unnamed file now has its name: a descriptor opened by that
    /// name, checked to be the same inode, so the caller can map the file
    /// as its name (an O_TMPFILE descriptor shows as `DIR/#INODE (deleted)`
    /// in /proc/PID/maps, to lsof, fuser, debuggers and checkpointing).
    /// Done instead when the name cannot be opened or is another file by
    /// then (renamed over meanwhile).
    Linked(OwnedFd),
    /// Another process created the name while this call prepared an
    /// unnamed file (no PMEM_FILE_EXCL): map that file instead.
    NameTaken,
}

impl PreparedFile {
    fn new(fd: OwnedFd) -> PreparedFile {
        PreparedFile {
            fd,
            private: false,
            link_to: None,
            shrink_to: None,
        }
    }

    /// Opens an existing file (or device) read/write.
    pub fn open_existing(path: &CStr, extra: i32) -> Result<PreparedFile> {
        Ok(PreparedFile::new(open(path, libc::O_RDWR | extra, 0)?))
    }

    /// Opens `path`, or prepares a new file with `mode` to appear under
    /// that name at commit if it is missing (always with `excl`).
    pub fn open_or_create(path: &CStr, excl: bool, mode: libc::mode_t) -> Result<PreparedFile> {
        // open(O_CREAT|O_EXCL) reports an existing name before anything
        // else (a read-only directory, say): so do we.
        if excl && lstat(path).is_some() {
            return Err(Error::new(libc::EEXIST, format!("open {path:?}")));
        }
        if !excl {
            match open(path, libc::O_RDWR, 0) {
                Ok(fd) => return Ok(PreparedFile::new(fd)),
                Err(e) if e.errno() != libc::ENOENT => return Err(e),
                Err(_) => {}
            }
        }
        match unnamed_sibling(path, mode) {
            Some(Ok(fd)) => {
                if excl && lstat(path).is_some() {
                    return Err(Error::new(libc::EEXIST, format!("open {path:?}")));
                }
                let mut f = PreparedFile::unnamed(fd);
                f.link_to = Some((path.to_owned(), excl));
                Ok(f)
            }
            Some(Err(e)) => Err(e),
            None => PreparedFile::create_named(path, excl, mode),
        }
    }

    /// The fallback where a new file cannot be made unnamed first (no
    /// O_TMPFILE or /proc, a dangling symlink, an odd path): open(O_CREAT)
    /// by name, as PMDK does. Another process could open that name at once,
    /// so a failed call leaves the file rather than remove it.
    fn create_named(path: &CStr, excl: bool, mode: libc::mode_t) -> Result<PreparedFile> {
        let flags = libc::O_RDWR | libc::O_CREAT | if excl { libc::O_EXCL } else { 0 };
        Ok(PreparedFile::new(open(path, flags, mode)?))
    }

    /// An unnamed file in directory `dir` (mode 0600): O_TMPFILE, or where
    /// the file system lacks it, a file created and unlinked at once.
    pub fn tmpfile(dir: &CStr, excl: bool) -> Result<PreparedFile> {
        let flags = libc::O_TMPFILE | libc::O_RDWR | if excl { libc::O_EXCL } else { 0 };
        match open(dir, flags, 0o600) {
            Ok(fd) => Ok(PreparedFile::unnamed(fd)),
            Err(e) if no_tmpfile(&e) => created_and_unlinked(dir).map(PreparedFile::unnamed),
            Err(e) => Err(e),
        }
    }

    fn unnamed(fd: OwnedFd) -> PreparedFile {
        let mut f = PreparedFile::new(fd);
        f.private = true;
        f
    }

    pub fn fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    pub fn stat(&self) -> Result<libc::stat> {
        fstat(self.fd())
    }

    pub fn info(&self) -> Result<FileInfo> {
        file_info(self.fd())
    }

    /// Sizes the file to `len` (PMEM_FILE_CREATE): extends with ftruncate,
    /// then allocates every block unless `sparse`. Shrinking waits for
    /// [`PreparedFile::commit`].
    pub fn set_len(&mut self, len: u64, sparse: bool) -> Result<()> {
        let current = self.stat()?.st_size as u64;
        if len >= current {
            // SAFETY: fd is open; the length fits off_t (checked by callers).
            if unsafe { libc::ftruncate(self.fd(), len as libc::off_t) } != 0 {
                return Err(Error::last_os("ftruncate"));
            }
        } else {
            self.shrink_to = Some(len);
        }
        if sparse {
            return Ok(());
        }
        self.allocate(len)
    }

    /// Allocates blocks for `[0, len)`. A file this call created (nobody
    /// else can have it open) gets PMDK's call, posix_fallocate: glibc tries
    /// fallocate(2) and, where the file system lacks it, writes a zero into
    /// every block that reads as zero, which would race another writer, so
    /// an existing file gets fallocate(2) alone (it never changes a byte)
    /// and stays sparse where that is unsupported.
    fn allocate(&self, len: u64) -> Result<()> {
        if self.private {
            // SAFETY: fd is open; posix_fallocate returns the error itself.
            let rc = unsafe { libc::posix_fallocate(self.fd(), 0, len as libc::off_t) };
            if rc != 0 {
                return Err(Error::new(rc, "posix_fallocate"));
            }
            return Ok(());
        }
        // SAFETY: fd is open; mode 0 only allocates.
        if unsafe { libc::fallocate(self.fd(), 0, 0, len as libc::off_t) } == 0 {
            return Ok(());
        }
        let e = Error::last_os("fallocate");
        if e.errno() != libc::EOPNOTSUPP {
            return Err(e);
        }
        crate::log_notice!("fallocate unsupported: the existing file is left sparse");
        Ok(())
    }

    /// Makes the changes permanent: applies a deferred shrink, or links a
    /// new unnamed file under its name.
    pub fn commit(self) -> Result<Committed> {
        if let Some(len) = self.shrink_to {
            // SAFETY: fd is open.
            if unsafe { libc::ftruncate(self.fd(), len as libc::off_t) } != 0 {
                return Err(Error::last_os("ftruncate"));
            }
        }
        let Some((name, excl)) = &self.link_to else {
            return Ok(Committed::Done);
        };
        let proc_path = CString::new(format!("/proc/self/fd/{}", self.fd()))
            .map_err(|_| Error::new(libc::EINVAL, "fd path"))?;
        // SAFETY: both paths are NUL-terminated; linkat never replaces an
        // existing name (EEXIST instead).
        let rc = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                proc_path.as_ptr(),
                libc::AT_FDCWD,
                name.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        if rc == 0 {
            return Ok(self.reopen_linked(name));
        }
        let e = Error::last_os(format!("link {name:?}"));
        if e.errno() == libc::EEXIST && !excl {
            return Ok(Committed::NameTaken);
        }
        Err(e)
    }

    /// The file just linked as `name`, opened by that name if it still is
    /// this file (same device and inode).
    fn reopen_linked(&self, name: &CStr) -> Committed {
        let flags = libc::O_RDWR | libc::O_NOFOLLOW;
        let (Ok(named), Ok(ours)) = (open(name, flags, 0), self.stat()) else {
            return Committed::Done;
        };
        match fstat(named.as_raw_fd()) {
            Ok(st) if (st.st_dev, st.st_ino) == (ours.st_dev, ours.st_ino) => {
                Committed::Linked(named)
            }
            _ => Committed::Done,
        }
    }
}

/// An unnamed file, with `mode`, in the directory `path` would be created
/// in, ready to be linked as `path`; None when that cannot be done here
/// (so the caller creates by name).
fn unnamed_sibling(path: &CStr, mode: libc::mode_t) -> Option<Result<OwnedFd>> {
    let bytes = path.to_bytes();
    // "" and "dir/" fail in open(O_CREAT) with the errors PMDK reports; a
    // dangling symlink is followed by O_CREAT to create its target.
    if bytes.is_empty() || bytes.ends_with(b"/") || is_symlink(path) {
        return None;
    }
    // linkat needs /proc/self/fd to name the unnamed file.
    lstat(c"/proc/self/fd")?;
    let dir = match bytes.iter().rposition(|&b| b == b'/') {
        Some(0) => c"/".to_owned(),
        Some(i) => CString::new(&bytes[..i]).ok()?,
        None => c".".to_owned(),
    };
    match open(&dir, libc::O_TMPFILE | libc::O_RDWR, mode) {
        Ok(fd) => Some(Ok(fd)),
        Err(e) if no_tmpfile(&e) => None,
        Err(e) => Some(Err(e)),
    }
}

/// The errors of a file system or kernel without O_TMPFILE (EISDIR: a
/// kernel that predates it).
fn no_tmpfile(e: &Error) -> bool {
    e.errno() == libc::EOPNOTSUPP || e.errno() == libc::EISDIR
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
