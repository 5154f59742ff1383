//! pmem_get_attr (include/pmem_attr.h), an extension after the SNIA NVM
//! Programming Model's attribute queries.

use super::{fail, null_arg};
use libc::{c_char, c_int, c_void, size_t};

/// `struct pmem_attr` of include/pmem_attr.h, field for field.
#[repr(C)]
pub struct pmem_attr {
    pub flush_granularity: size_t,
    pub stores_durable_at_fence: c_int,
    pub atomic_store_size: size_t,
    pub page_size: size_t,
    pub is_pmem: c_int,
    pub flush_instruction: *const c_char,
    pub copy_path: *const c_char,
    pub movnt_threshold: size_t,
    pub persist_mode: *const c_char,
}

/// Fills `*attr` for `[addr, addr + len)`; 0, or -1 with errno (EINVAL for a
/// NULL attr). The strings are static.
///
/// # Safety
/// `attr` must be NULL or point to writable storage for a `struct pmem_attr`.
#[no_mangle]
pub unsafe extern "C" fn pmem_get_attr(
    addr: *const c_void,
    len: size_t,
    attr: *mut pmem_attr,
) -> c_int {
    if attr.is_null() {
        return fail(null_arg("pmem_get_attr", "attr"), -1);
    }
    let a = match crate::mode::attr::get(addr.cast(), len) {
        Ok(a) => a,
        Err(e) => return fail(e, -1),
    };
    let filled = pmem_attr {
        flush_granularity: a.flush_granularity,
        stores_durable_at_fence: a.stores_durable_at_fence as c_int,
        atomic_store_size: a.atomic_store_size,
        page_size: a.page_size,
        is_pmem: a.is_pmem as c_int,
        flush_instruction: a.flush_instruction.as_ptr(),
        copy_path: a.copy_path.as_ptr(),
        movnt_threshold: a.movnt_threshold,
        persist_mode: a.persist_mode.as_ptr(),
    };
    // SAFETY: non-null and writable per the contract; write() does not read
    // the old (possibly uninitialised) contents.
    unsafe { attr.write(filled) };
    0
}
