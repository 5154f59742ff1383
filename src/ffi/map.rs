//! pmem_map_file, pmem_unmap, pmem_is_pmem.

use super::{fail, null_arg};
use crate::error::{last_errno, set_errno};
use crate::map;
use libc::{c_char, c_int, c_void, mode_t, size_t};
use std::ffi::CStr;

/// Maps `path` (creating it as `flags` say) and reports the mapped length
/// and whether the whole mapping is persistent memory.
///
/// On success errno is EOPNOTSUPP unless the mapping is DAX (MAP_SYNC
/// accepted, or Device DAX), as PMDK leaves it from its failed MAP_SYNC
/// attempt: fio's libpmem engine, among others, tells a file that is not
/// persistent memory by that errno. A DAX mapping leaves the caller's errno.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `mapped_lenp` and
/// `is_pmemp` must each be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmem_map_file(
    path: *const c_char,
    len: size_t,
    flags: c_int,
    mode: mode_t,
    mapped_lenp: *mut size_t,
    is_pmemp: *mut c_int,
) -> *mut c_void {
    if path.is_null() {
        return fail(null_arg("pmem_map_file", "path"), core::ptr::null_mut());
    }
    // SAFETY: non-null and NUL-terminated per the contract.
    let path = unsafe { CStr::from_ptr(path) };
    let callers_errno = last_errno();
    match map::map_file(path, len, flags, mode) {
        Ok(m) => {
            set_errno(if m.dax {
                callers_errno
            } else {
                libc::EOPNOTSUPP
            });
            if !mapped_lenp.is_null() {
                // SAFETY: writable per the contract.
                unsafe { *mapped_lenp = m.len };
            }
            if !is_pmemp.is_null() {
                // SAFETY: writable per the contract.
                unsafe { *is_pmemp = m.is_pmem as c_int };
            }
            m.addr.cast()
        }
        Err(e) => fail(e, core::ptr::null_mut()),
    }
}

/// Unmaps `[addr, addr + len)`, which may be part of a mapping.
///
/// # Safety
/// Nothing may use the range afterwards.
#[no_mangle]
pub unsafe extern "C" fn pmem_unmap(addr: *mut c_void, len: size_t) -> c_int {
    // SAFETY: that nothing uses the range afterwards is pmem_unmap's C
    // contract (above), which the caller accepted; it is map::unmap's.
    match unsafe { map::unmap(addr.cast(), len) } {
        Ok(()) => 0,
        Err(e) => fail(e, -1),
    }
}

/// 1 if the whole range is persistent memory mapped by this library, else 0.
#[no_mangle]
pub extern "C" fn pmem_is_pmem(addr: *const c_void, len: size_t) -> c_int {
    map::is_pmem(addr.cast(), len) as c_int
}
