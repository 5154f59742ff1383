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
        // SAFETY: a fresh shared mapping of an open file.
        let addr = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(Error::last_os("mmap"));
        }
        Ok(Mapped {
            addr: addr.cast(),
            len: size,
            is_pmem: false,
        })
    })();
    // SAFETY: fd is ours to close.
    unsafe { libc::close(fd) };
    let m = result?;
    REGISTRY
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(m.addr as usize, (m.len, m.is_pmem));
    Ok(m)
}

/// # Safety
/// No live reference may point into the range.
pub unsafe fn unmap(addr: *mut u8, len: usize) -> Result<()> {
    // SAFETY: the caller's contract.
    if unsafe { libc::munmap(addr.cast(), len) } != 0 {
        return Err(Error::last_os("munmap"));
    }
    REGISTRY
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&(addr as usize));
    Ok(())
}

pub fn is_pmem(addr: *const u8, len: usize) -> bool {
    let reg = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let a = addr as usize;
    reg.range(..=a)
        .next_back()
        .is_some_and(|(&s, &(l, pmem))| pmem && a + len <= s + l)
}
