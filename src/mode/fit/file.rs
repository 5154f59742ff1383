//! The file beneath fit mappings: one descriptor per file (by device and
//! inode), shared by every mapping of it, so mapping many ranges costs one
//! descriptor per file, not per mapping.

use super::shadow::Shadow;
use super::File;
use crate::error::{Error, Result};
use crate::range_map::{Cut, Span};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::OnceLock;

/// A file under fit mappings, with the one descriptor its mappings share.
#[derive(Debug)]
pub struct FitFile {
    fd: OwnedFd,
    pub dev: u64,
    pub ino: u64,
    /// What the library's own mappings of the file show (adopted ones map
    /// the file itself).
    pub shadow: OnceLock<Shadow>,
    /// The file mapped read-only, for flushes to compare lines with.
    view: OnceLock<Option<View>>,
}

/// A regular file mapped read-only and shared from offset 0 to its size at
/// the first flush: a flush compares its lines with the file here instead
/// of with a pread per flush. Only ever read; never a span (the engine
/// does not follow it, and the program knows nothing of it).
#[derive(Debug)]
struct View {
    addr: usize,
    len: usize,
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: unmaps our own read-only mapping, which nothing reads any
        // more (its file is dropped). A raw system call: the preload need
        // not hear of memory that was never a span, and its hook would take
        // the registry's lock, which the dropping thread may hold.
        unsafe { libc::syscall(libc::SYS_munmap, self.addr, self.len) };
    }
}

impl AsRawFd for FitFile {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// fstat(2) of a descriptor.
pub fn stat_fd(fd: RawFd) -> Result<libc::stat> {
    // SAFETY: fstat fills the zeroed struct; an invalid fd only fails.
    unsafe {
        let mut st: libc::stat = core::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 {
            return Err(Error::last_os("fit mode: fstat"));
        }
        Ok(st)
    }
}

impl FitFile {
    /// A private duplicate of `fd`, whose status `st` the caller checked.
    pub fn dup(fd: RawFd, st: &libc::stat) -> Result<FitFile> {
        // SAFETY: duplicates an open descriptor; the copy is ours alone.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(Error::last_os("fit mode: dup"));
        }
        // SAFETY: `dup` is a fresh descriptor nothing else owns.
        Ok(Self::from_owned(unsafe { OwnedFd::from_raw_fd(dup) }, st))
    }

    /// Opens `path` read/write, only if it still is the file (`dev`, `ino`)
    /// a foreign mapping maps.
    pub fn open_checked(path: &Path, dev: u64, ino: u64) -> Result<FitFile> {
        let what = || format!("fit mode: cannot open {} read/write", path.display());
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::new(libc::EINVAL, what()))?;
        // SAFETY: a NUL-terminated path; the result is checked.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(Error::last_os(what()));
        }
        // SAFETY: `fd` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let st = stat_fd(fd.as_raw_fd())?;
        if id_of(&st) != (dev, ino) || st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(Error::new(
                libc::ESTALE,
                format!("fit mode: {} is no longer the mapped file", path.display()),
            ));
        }
        Ok(Self::from_owned(fd, &st))
    }

    fn from_owned(fd: OwnedFd, st: &libc::stat) -> FitFile {
        let (dev, ino) = id_of(st);
        FitFile {
            fd,
            dev,
            ino,
            shadow: OnceLock::new(),
            view: OnceLock::new(),
        }
    }

    /// The file's bytes `[offset, offset + len)` from its read-only view,
    /// when they lie in it (the file was at least that long at its first
    /// flush). A file shrunk under its mappings since would fault here, as
    /// the program's own shared mapping of it would under flush mode.
    pub fn viewed(&self, offset: u64, len: usize) -> Option<*const u8> {
        let v = self.view.get_or_init(|| self.map_view()).as_ref()?;
        let start = usize::try_from(offset).ok()?;
        (start.checked_add(len)? <= v.len).then(|| (v.addr + start) as *const u8)
    }

    fn map_view(&self) -> Option<View> {
        let st = stat_fd(self.as_raw_fd()).ok()?;
        let len = usize::try_from(st.st_size).ok()?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG || len == 0 {
            return None;
        }
        // SAFETY: a new read-only shared mapping where the kernel chooses;
        // it replaces nothing.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                self.as_raw_fd(),
                0,
            )
        };
        (p != libc::MAP_FAILED).then_some(View {
            addr: p as usize,
            len,
        })
    }

    pub fn is(&self, dev: u64, ino: u64) -> bool {
        self.dev == dev && self.ino == ino
    }

    /// Whether `(dev, ino)` is this file's shadow.
    pub fn shadowed_by(&self, dev: u64, ino: u64) -> bool {
        self.shadow.get().is_some_and(|s| s.is(dev, ino))
    }

    /// The shadow, made on first use `len` bytes long (or the file's size,
    /// if larger), both rounded up to pages.
    pub fn shadow(&self, len: usize) -> Result<&Shadow> {
        if let Some(s) = self.shadow.get() {
            return Ok(s);
        }
        let size = stat_fd(self.as_raw_fd())?.st_size as usize;
        let len = len.max(size).next_multiple_of(crate::persist::page_size());
        let made = Shadow::copy_of(self.as_raw_fd(), len)?;
        // Callers hold the registry's write lock, so nobody raced us here.
        Ok(self.shadow.get_or_init(|| made))
    }
}

/// A file's (device, inode) as the u64s /proc/self/maps shows; `stat`'s own
/// field types are narrower on 32-bit targets.
#[allow(clippy::useless_conversion)]
pub fn id_of(st: &libc::stat) -> (u64, u64) {
    (u64::from(st.st_dev), u64::from(st.st_ino))
}

/// What a span of the fit registry shows: `file`, from file offset
/// `offset` at the span's first byte. The parts of one mapping share the
/// file, which closes with the last of them.
#[derive(Debug, Clone)]
pub struct FileAt {
    pub file: File,
    pub offset: u64,
    /// An alias of the file's shadow (shared), else a private mapping of
    /// the file itself (adopted, or kept private under valgrind).
    pub shadowed: bool,
    /// Proved against the kernel over all its length while the preload
    /// reports every change (see `follow`); a copy or a part starts unproved.
    pub proved: Proved,
}

/// A span's mark: the kernel showed it as the span's view since the last
/// change the preload reported over it. Set under the registry's read lock,
/// dropped with the span (every reported change removes its spans under the
/// write lock), never copied.
#[derive(Debug, Default)]
pub struct Proved(core::sync::atomic::AtomicBool);

impl Proved {
    pub fn get(&self) -> bool {
        self.0.load(core::sync::atomic::Ordering::Acquire)
    }

    pub fn set(&self, on: bool) {
        self.0.store(on, core::sync::atomic::Ordering::Release);
    }
}

impl Clone for Proved {
    fn clone(&self) -> Self {
        Proved::default()
    }
}

impl Cut for FileAt {
    fn skip(&self, by: usize) -> Self {
        FileAt {
            file: self.file.clone(),
            offset: self.offset + by as u64,
            shadowed: self.shadowed,
            proved: Proved::default(),
        }
    }
}

impl Span<FileAt> {
    /// The file offset that `addr`, inside this span, shows.
    pub fn file_offset(&self, addr: usize) -> u64 {
        self.value.offset + (addr - self.start) as u64
    }
}
