//! pmem_memmove, pmem_memcpy, pmem_memset and their _persist / _nodrain forms.

use super::consts::{PMEM_F_MEM_NODRAIN, PMEM_F_MEM_VALID_FLAGS};
use super::{fail, null_arg};
use crate::memops;
use libc::{c_int, c_uint, c_void, size_t};

/// Rejects NULL pointers with a non-zero length (PMDK would crash), and
/// ranges past the end of the address space (EINVAL, [`crate::range`]).
/// Two carry tests on the fast path.
#[inline(always)]
fn check(function: &str, dest: *mut c_void, src: *const c_void, len: size_t) -> bool {
    if len == 0 {
        return true;
    }
    if dest.is_null() {
        return fail(null_arg(function, "pmemdest"), false);
    }
    if src.is_null() {
        return fail(null_arg(function, "src"), false);
    }
    if let Err(e) = crate::range::checked_end(function, dest, len) {
        return fail(e, false);
    }
    if let Err(e) = crate::range::checked_end(function, src, len) {
        return fail(e, false);
    }
    true
}

/// Unknown flag bits are ignored (see [`super::ignore_invalid_flags`]).
#[inline(always)]
fn valid_flags(function: &str, flags: c_uint) -> c_uint {
    if flags & !PMEM_F_MEM_VALID_FLAGS != 0 {
        super::ignore_invalid_flags(function, flags);
    }
    flags & PMEM_F_MEM_VALID_FLAGS
}

#[inline(always)]
fn move_with(
    function: &str,
    dest: *mut c_void,
    src: *const c_void,
    len: size_t,
    flags: c_uint,
) -> *mut c_void {
    if check(function, dest, src, len) {
        // SAFETY: dest writable and src readable for len bytes is the C
        // contract the caller accepted; NULL and wrapping ranges were
        // rejected above. memmove allows overlap.
        unsafe { memops::memmove(dest.cast(), src.cast(), len, flags) };
    }
    dest
}

#[inline(always)]
fn set_with(
    function: &str,
    dest: *mut c_void,
    c: c_int,
    len: size_t,
    flags: c_uint,
) -> *mut c_void {
    if check(function, dest, dest, len) {
        // SAFETY: dest writable for len bytes is the C contract the caller
        // accepted; NULL and a wrapping range were rejected above.
        unsafe { memops::memset(dest.cast(), c as u8, len, flags) };
    }
    dest
}

/// memmove to persistent memory, flushed and drained as `flags` say.
#[no_mangle]
pub extern "C" fn pmem_memmove(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: size_t,
    flags: c_uint,
) -> *mut c_void {
    let flags = valid_flags("pmem_memmove", flags);
    move_with("pmem_memmove", pmemdest, src, len, flags)
}

/// memcpy to persistent memory, flushed and drained as `flags` say.
/// Overlapping ranges are handled as by pmem_memmove.
#[no_mangle]
pub extern "C" fn pmem_memcpy(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: size_t,
    flags: c_uint,
) -> *mut c_void {
    let flags = valid_flags("pmem_memcpy", flags);
    move_with("pmem_memcpy", pmemdest, src, len, flags)
}

/// memset of persistent memory, flushed and drained as `flags` say.
#[no_mangle]
pub extern "C" fn pmem_memset(
    pmemdest: *mut c_void,
    c: c_int,
    len: size_t,
    flags: c_uint,
) -> *mut c_void {
    let flags = valid_flags("pmem_memset", flags);
    set_with("pmem_memset", pmemdest, c, len, flags)
}

/// memmove, durable on return.
#[no_mangle]
pub extern "C" fn pmem_memmove_persist(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: size_t,
) -> *mut c_void {
    move_with("pmem_memmove_persist", pmemdest, src, len, 0)
}

/// memcpy, durable on return.
#[no_mangle]
pub extern "C" fn pmem_memcpy_persist(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: size_t,
) -> *mut c_void {
    move_with("pmem_memcpy_persist", pmemdest, src, len, 0)
}

/// memset, durable on return.
#[no_mangle]
pub extern "C" fn pmem_memset_persist(pmemdest: *mut c_void, c: c_int, len: size_t) -> *mut c_void {
    set_with("pmem_memset_persist", pmemdest, c, len, 0)
}

/// memmove, flushed but not drained.
#[no_mangle]
pub extern "C" fn pmem_memmove_nodrain(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: size_t,
) -> *mut c_void {
    move_with(
        "pmem_memmove_nodrain",
        pmemdest,
        src,
        len,
        PMEM_F_MEM_NODRAIN,
    )
}

/// memcpy, flushed but not drained.
#[no_mangle]
pub extern "C" fn pmem_memcpy_nodrain(
    pmemdest: *mut c_void,
    src: *const c_void,
    len: size_t,
) -> *mut c_void {
    move_with(
        "pmem_memcpy_nodrain",
        pmemdest,
        src,
        len,
        PMEM_F_MEM_NODRAIN,
    )
}

/// memset, flushed but not drained.
#[no_mangle]
pub extern "C" fn pmem_memset_nodrain(pmemdest: *mut c_void, c: c_int, len: size_t) -> *mut c_void {
    set_with("pmem_memset_nodrain", pmemdest, c, len, PMEM_F_MEM_NODRAIN)
}
