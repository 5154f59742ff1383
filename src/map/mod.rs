//! pmem_map_file / pmem_unmap / pmem_is_pmem.
//! (Skeleton: regular files only; the mapping work adds DAX, MAP_SYNC,
//! alignment, a concurrent registry and the never-lose-a-file guarantees.)

pub mod platform;

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::sync::RwLock;

use crate::ffi::consts::{
    PMEM_FILE_CREATE as FILE_CREATE, PMEM_FILE_EXCL as FILE_EXCL, PMEM_FILE_SPARSE,
    PMEM_FILE_TMPFILE,
};
const FILE_ALL: i32 = FILE_CREATE | FILE_EXCL | PMEM_FILE_SPARSE | PMEM_FILE_TMPFILE;

/// A mapping made by [`map_file`].
#[derive(Debug, Clone, Copy)]
pub struct Mapped {
    pub addr: *mut u8,
    pub len: usize,
    pub is_pmem: bool,
}

/// start -> (len, is_pmem)
static REGISTRY: RwLock<BTreeMap<usize, (usize, bool)>> = RwLock::new(BTreeMap::new());

pub fn map_file(path: &CStr, len: usize, flags: i32, mode: libc::mode_t) -> Result<Mapped> {
    if flags & !FILE_ALL != 0 {
        return Err(Error::new(
            libc::EINVAL,
            format!("invalid flag 0x{flags:x}"),
        ));
    }
    let create = flags & FILE_CREATE != 0;
    if create && len == 0 {
        return Err(Error::new(
            libc::EINVAL,
            "PMEM_FILE_CREATE with zero length",
        ));
    }
    if !create && len != 0 {
        return Err(Error::new(
            libc::EINVAL,
            "non-zero length without PMEM_FILE_CREATE",
        ));
    }
    let mut oflags = libc::O_RDWR | libc::O_CLOEXEC;
    if create {
        oflags |= libc::O_CREAT;
    }
    if flags & FILE_EXCL != 0 {
        oflags |= libc::O_EXCL;
    }
    // SAFETY: path is NUL-terminated (CStr).
    let fd = unsafe { libc::open(path.as_ptr(), oflags, mode as libc::c_uint) };
    if fd < 0 {
        return Err(Error::last_os(format!("open {path:?}")));
    }
    let result = (|| {
        let size = if create {
            // SAFETY: fd is open.
            if unsafe { libc::ftruncate(fd, len as libc::off_t) } != 0 {
                return Err(Error::last_os("ftruncate"));
            }
            len
        } else {
            // SAFETY: st is plain data filled by fstat.
            let mut st: libc::stat = unsafe { core::mem::zeroed() };
            // SAFETY: fd is open, st is writable.
            if unsafe { libc::fstat(fd, &mut st) } != 0 {
                return Err(Error::last_os("fstat"));
            }
            st.st_size as usize
        };
        mmap_fd(fd, size)
    })();
    // SAFETY: fd is ours to close.
    unsafe { libc::close(fd) };
    result
}

// --- Contract shim (persistence-modes branch): the seam the brief describes
// (map_fd, find, private mappings and on_map/on_unmap for the mode hooks) was
// missing from c6f74f5. The mapping rewrite supersedes all of this.

/// A registered mapping, as [`find`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingInfo {
    pub start: usize,
    pub len: usize,
    pub is_pmem: bool,
}

/// The registered mapping that contains `addr`, if any.
pub fn find(addr: *const u8) -> Option<MappingInfo> {
    let a = addr as usize;
    let reg = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let (&start, &(len, is_pmem)) = reg.range(..=a).next_back()?;
    (a < start + len).then_some(MappingInfo {
        start,
        len,
        is_pmem,
    })
}

/// Maps `len` bytes of `fd` from offset 0 read/write and registers them
/// (the original API's pmem_map). The caller keeps `fd`.
pub fn map_fd(fd: i32, len: usize) -> Result<Mapped> {
    mmap_fd(fd, len)
}

/// mmap + mode hook + registry, shared by map_file and map_fd.
fn mmap_fd(fd: i32, len: usize) -> Result<Mapped> {
    let hooks = crate::persist::mode_hook::current();
    let share = match hooks {
        Some(h) if h.private_mappings => libc::MAP_PRIVATE,
        _ => libc::MAP_SHARED,
    };
    // SAFETY: a fresh mapping of an open file; mmap validates len and fd.
    let addr = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            share,
            fd,
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(Error::last_os("mmap"));
    }
    if let Some(h) = hooks {
        if let Err(e) = (h.on_map)(fd, addr.cast(), len) {
            // SAFETY: the mapping was made just above and is not yet shared.
            unsafe { libc::munmap(addr, len) };
            return Err(e);
        }
    }
    REGISTRY
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(addr as usize, (len, false));
    Ok(Mapped {
        addr: addr.cast(),
        len,
        is_pmem: false,
    })
}

/// Drops `[lo, hi)` from the registry, keeping what is left of cut entries.
fn forget_range(lo: usize, hi: usize) {
    let mut reg = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    let first = reg.range(..lo).next_back().map_or(lo, |(&s, _)| s);
    let hit: Vec<(usize, (usize, bool))> = reg
        .range(first..hi)
        .map(|(&s, &v)| (s, v))
        .filter(|&(s, (l, _))| s + l > lo)
        .collect();
    for (s, (l, pmem)) in hit {
        reg.remove(&s);
        if s < lo {
            reg.insert(s, (lo - s, pmem));
        }
        if s + l > hi {
            reg.insert(hi, (s + l - hi, pmem));
        }
    }
}

/// # Safety
/// No live reference may point into the range.
pub unsafe fn unmap(addr: *mut u8, len: usize) -> Result<()> {
    // SAFETY: the caller's contract.
    if unsafe { libc::munmap(addr.cast(), len) } != 0 {
        return Err(Error::last_os("munmap"));
    }
    forget_range(addr as usize, (addr as usize).saturating_add(len));
    if let Some(h) = crate::persist::mode_hook::current() {
        (h.on_unmap)(addr, len);
    }
    Ok(())
}

pub fn is_pmem(addr: *const u8, len: usize) -> bool {
    let reg = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let a = addr as usize;
    reg.range(..=a)
        .next_back()
        .is_some_and(|(&s, &(l, pmem))| pmem && a + len <= s + l)
}
