//! pmem_map_file / pmem_unmap / pmem_is_pmem, and pmem_map for the
//! original API.
//!
//! - [`file`](mod@file): open, create, size, O_TMPFILE, and undo on failure;
//! - [`devdax`]: Device DAX size and alignment from sysfs;
//! - [`mmap`]: aligned placement, MAP_SYNC and its fallback;
//! - [`maps_text`]: the parser of /proc/self/maps lines;
//! - [`registry`]: the live mappings, for is_pmem and deep drain;
//! - [`platform`]: deep drain through the regions' sysfs deep_flush files
//!   (auto flush, which needs no mapping, is `crate::sysfs`'s).

pub mod devdax;
pub mod file;
pub mod maps_text;
pub mod mmap;
pub mod platform;
pub mod registry;

use crate::error::{Error, Result};
use crate::persist::mode_hook::{self, ModeHooks};
use crate::range_map::Span;
use core::sync::atomic::{AtomicU8, Ordering};
use file::PreparedFile;
use registry::{Backing, Registry};
use std::ffi::CStr;

use crate::consts::{
    PMEM_FILE_CREATE as FILE_CREATE, PMEM_FILE_EXCL as FILE_EXCL, PMEM_FILE_SPARSE as FILE_SPARSE,
    PMEM_FILE_TMPFILE as FILE_TMPFILE,
};
const FILE_ALL: i32 = FILE_CREATE | FILE_EXCL | FILE_SPARSE | FILE_TMPFILE;
/// The flags Device DAX accepts (and ignores).
const DAX_FLAGS: i32 = FILE_CREATE | FILE_SPARSE;

/// A mapping this library made ([`map_file`], [`map_fd`]), as handed to the
/// caller; the registry keeps its range until [`unmap`].
#[derive(Debug, Clone, Copy)]
pub struct Mapping {
    pub addr: *mut u8,
    pub len: usize,
    pub is_pmem: bool,
    /// Made with MAP_SYNC, or Device DAX (whatever PMEM_IS_PMEM_FORCE says).
    pub dax: bool,
}

static REGISTRY: Registry = Registry::new();

/// Maps a file (or Device DAX) as pmem_map_file(3) specifies.
pub fn map_file(path: &CStr, len: usize, flags: i32, mode: libc::mode_t) -> Result<Mapping> {
    let existing = file::stat_path(path)?;
    if flags & !FILE_ALL != 0 {
        return Err(einval(format!("invalid flag 0x{flags:x}")));
    }
    if let Some(st) = existing.filter(|st| st.st_mode & libc::S_IFMT == libc::S_IFCHR) {
        return map_devdax(path, &st, len, flags);
    }
    let create = flags & FILE_CREATE != 0;
    if create && libc::off_t::try_from(len).is_err() {
        return Err(einval(format!("invalid file length {len}")));
    }
    if len != 0 && !create {
        return Err(einval("non-zero length without PMEM_FILE_CREATE"));
    }
    if len == 0 && create {
        return Err(einval("zero length with PMEM_FILE_CREATE"));
    }
    if flags & FILE_TMPFILE != 0 && !create {
        return Err(einval("PMEM_FILE_TMPFILE without PMEM_FILE_CREATE"));
    }
    // A new file is linked under its name only at the end; should another
    // process create the name first, its file is what gets mapped.
    for _ in 0..NAME_TAKEN_TRIES {
        if let Some(m) = map_regular(path, len, flags, mode)? {
            return Ok(m);
        }
    }
    Err(Error::new(
        libc::EEXIST,
        format!("{path:?} keeps being created by someone else"),
    ))
}

/// How often map_file starts over when the name it was about to create
/// appeared meanwhile.
const NAME_TAKEN_TRIES: usize = 8;

/// One attempt of map_file on a regular file (or directory for
/// PMEM_FILE_TMPFILE); None when the name was taken meanwhile.
fn map_regular(path: &CStr, len: usize, flags: i32, mode: libc::mode_t) -> Result<Option<Mapping>> {
    let create = flags & FILE_CREATE != 0;
    let excl = flags & FILE_EXCL != 0;
    let mut file = if flags & FILE_TMPFILE != 0 {
        PreparedFile::tmpfile(path, excl)?
    } else if create {
        PreparedFile::open_or_create(path, excl, mode)?
    } else {
        PreparedFile::open_existing(path, if excl { libc::O_EXCL } else { 0 })?
    };
    let info = file.info()?;
    let len = if create {
        file.set_len(len as u64, flags & FILE_SPARSE != 0)?;
        len
    } else {
        usize::try_from(info.size).map_err(|_| einval("file too large to map"))?
    };
    let dax = Backing::MapSync { dev: info.dev };
    let pending = map_pending(file.fd(), len, dax, 0, info.may_be_dax)?;
    match file.commit()? {
        file::Committed::Done => Ok(Some(pending.register())),
        // A private (fit mode) mapping keeps its first descriptor: its
        // engine has set it up already, and it is no shared file view.
        file::Committed::Linked(_) if pending.hooks.is_some() => Ok(Some(pending.register())),
        file::Committed::Linked(named) => {
            let synced = matches!(pending.backing, Backing::MapSync { .. });
            let fd = std::os::fd::AsRawFd::as_raw_fd(&named);
            if let Err(e) = mmap::remap_same_file(pending.addr, pending.len, synced, fd) {
                // Only an allocation failure gets here, after which the range
                // may be a hole another thread has mapped into since: left
                // alone rather than unmapped. The file keeps its name.
                core::mem::forget(pending);
                return Err(e);
            }
            Ok(Some(pending.register()))
        }
        file::Committed::NameTaken => Ok(None),
    }
}

/// Device DAX: always the whole device (`len` must be 0 or its size).
fn map_devdax(path: &CStr, st: &libc::stat, len: usize, flags: i32) -> Result<Mapping> {
    let dev = devdax::probe(&platform::Sysfs::system(), st.st_rdev)?;
    if flags & !DAX_FLAGS != 0 {
        return Err(einval(format!(
            "flag 0x{flags:x} unsupported for Device DAX"
        )));
    }
    if len != 0 && len != dev.size {
        return Err(einval(format!(
            "Device DAX length must be 0 or its exact size {}",
            dev.size
        )));
    }
    let file = PreparedFile::open_existing(path, 0)?;
    let backing = Backing::DevDax { rdev: dev.rdev };
    Ok(map_pending(file.fd(), dev.size, backing, dev.align, true)?.register())
}

/// The original API's pmem_map(fd, len): all of `len`, shared, registered.
pub fn map_fd(fd: i32, len: usize) -> Result<Mapping> {
    let st = file::fstat(fd)?;
    let (backing, align) = if st.st_mode & libc::S_IFMT == libc::S_IFCHR {
        match devdax::probe(&platform::Sysfs::system(), st.st_rdev) {
            Ok(d) => (Backing::DevDax { rdev: d.rdev }, d.align),
            Err(_) => (Backing::PageCache, 0),
        }
    } else {
        (Backing::MapSync { dev: st.st_dev }, 0)
    };
    Ok(map_pending(fd, len, backing, align, true)?.register())
}

/// A mapping not yet registered: unmapped again if dropped.
struct Pending {
    addr: usize,
    len: usize,
    backing: Backing,
    hooks: Option<&'static ModeHooks>,
}

/// Maps `fd` and runs the persistence mode's on_map. `dax` is the backing
/// to record if the mapping is DAX (Device DAX always is; a file is when
/// MAP_SYNC was accepted). `may_sync` is false for a file the kernel says
/// is not DAX: MAP_SYNC is then not tried.
fn map_pending(
    fd: i32,
    len: usize,
    dax: Backing,
    min_align: usize,
    may_sync: bool,
) -> Result<Pending> {
    let hooks = mode_hook::current().filter(|h| h.private_mappings);
    let share = if hooks.is_some() {
        mmap::Share::Private
    } else if may_sync {
        mmap::Share::Shared
    } else {
        mmap::Share::SharedNoSync
    };
    let m = mmap::map(fd, len, share, min_align)?;
    let backing = match dax {
        Backing::DevDax { .. } if share == mmap::Share::Shared => dax,
        Backing::MapSync { .. } if m.synced => dax,
        _ => Backing::PageCache,
    };
    let mut pending = Pending {
        addr: m.addr,
        len: m.len,
        backing,
        hooks: None,
    };
    if let Some(h) = hooks {
        // On failure `pending` unmaps without on_unmap: on_map never took.
        (h.on_map)(fd, m.addr as *mut u8, m.len)?;
        pending.hooks = Some(h);
    }
    Ok(pending)
}

impl Pending {
    fn register(self) -> Mapping {
        REGISTRY.insert(self.addr..self.addr + self.len, self.backing);
        let m = Mapping {
            addr: self.addr as *mut u8,
            len: self.len,
            is_pmem: is_pmem(self.addr as *const u8, self.len),
            dax: self.backing != Backing::PageCache,
        };
        core::mem::forget(self);
        m
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let (addr, len) = (self.addr, self.len);
        // SAFETY: the mapping was made by map_pending and never handed out.
        let mut munmap = || unsafe { raw_munmap(addr as *mut u8, len) };
        let r = match self.hooks {
            Some(h) => (h.unmap)(addr as *mut u8, len, &mut munmap),
            None => munmap(),
        };
        if let Err(e) = r {
            crate::log_error!("{e}");
        }
    }
}

/// munmap(2).
///
/// # Safety
/// Nothing may use the range afterwards.
unsafe fn raw_munmap(addr: *mut u8, len: usize) -> Result<()> {
    // SAFETY: that nothing uses the range afterwards is our contract.
    if unsafe { libc::munmap(addr.cast(), len) } != 0 {
        return Err(Error::last_os("munmap"));
    }
    Ok(())
}

/// Unmaps `[addr, addr + len)`, which may be any page-aligned part of one
/// or more mappings; the registry forgets exactly that part.
///
/// # Safety
/// No live reference may point into the range.
pub unsafe fn unmap(addr: *mut u8, len: usize) -> Result<()> {
    let page = crate::persist::page_size();
    let start = addr as usize;
    let end = crate::range::end(start, len)
        .and_then(|e| e.checked_add(page - 1))
        .map(|e| e & !(page - 1));
    let Some(end) = end.filter(|_| len != 0 && start % page == 0) else {
        return Err(einval(format!("munmap {len} bytes at {addr:p}")));
    };
    // Forget the range first: once munmap returns, the kernel may hand the
    // addresses to another thread's mapping, whose entry we must not drop.
    let removed = REGISTRY.remove(start..end);
    // SAFETY: the range is page-aligned and does not wrap (checked above);
    // that nothing uses it afterwards is our contract, which makes
    // munmap's effect on it sound.
    let mut munmap = || unsafe { raw_munmap(addr, len) };
    // The mode forgets its own records of the range the same way (and the
    // fit report looks at it while it is still mapped).
    let r = match mode_hook::current() {
        Some(h) => (h.unmap)(addr, len, &mut munmap),
        None => munmap(),
    };
    if r.is_err() {
        REGISTRY.restore(&removed);
    }
    r
}

/// PMEM_IS_PMEM_FORCE, read at the first query: 0 forces "no", 1 "yes".
static FORCE: AtomicU8 = AtomicU8::new(FORCE_UNREAD);
const FORCE_UNREAD: u8 = 0;
const FORCE_NONE: u8 = 1;
const FORCE_NEVER: u8 = 2;
const FORCE_ALWAYS: u8 = 3;

fn force() -> u8 {
    match FORCE.load(Ordering::Relaxed) {
        FORCE_UNREAD => {
            let f = match crate::env::var("PMEM_IS_PMEM_FORCE")
                .as_deref()
                .map(str::trim)
            {
                Some("0") => FORCE_NEVER,
                Some("1") => FORCE_ALWAYS,
                _ => FORCE_NONE,
            };
            FORCE.store(f, Ordering::Relaxed);
            f
        }
        f => f,
    }
}

/// True only when every byte of the range lies in DAX mappings made here
/// (or PMEM_IS_PMEM_FORCE=1); always false for an empty range.
pub fn is_pmem(addr: *const u8, len: usize) -> bool {
    if len == 0 {
        return false;
    }
    match force() {
        FORCE_NEVER => false,
        FORCE_ALWAYS => true,
        _ => match (addr as usize).checked_add(len) {
            Some(end) => REGISTRY.covers(addr as usize..end, Backing::is_pmem),
            None => false, // past the end of the address space: never mapped
        },
    }
}

/// The registry's entry holding `addr`: the mapping (or the part of one
/// left after partial unmaps) and what backs it.
pub fn find(addr: *const u8) -> Option<Span<Backing>> {
    REGISTRY.find(addr as usize)
}

/// The registry's entries overlapping `range` (for deep drain).
pub(crate) fn overlapping(range: core::ops::Range<usize>) -> Vec<Span<Backing>> {
    REGISTRY.overlapping(range)
}

fn einval(what: impl Into<String>) -> Error {
    Error::new(libc::EINVAL, what)
}

#[cfg(test)]
mod tests;
