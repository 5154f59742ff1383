//! The original 2013 libpmem API (include/pmem.h): pmem_map, pmem_flush_cache,
//! pmem_fence, pmem_drain_pm_stores and the mode switches. Its pmem_persist
//! is PMDK's symbol (ffi/persist.rs): a two-argument callee is correct for
//! the original three-argument call on x86_64, and no flags are defined.

use super::fail;
use crate::error::Error;
use crate::mode::{self, Mode};
use crate::persist;
use libc::{c_int, c_void, size_t};

/// Maps `len` bytes of the open file `fd` read/write; NULL on failure with
/// errno and pmem_errormsg() set. The caller keeps `fd` (it may close it).
#[no_mangle]
pub extern "C" fn pmem_map(fd: c_int, len: size_t) -> *mut c_void {
    match crate::map::map_fd(fd, len) {
        Ok(m) => m.addr.cast(),
        Err(e) => fail(e, core::ptr::null_mut()),
    }
}

/// Flushes `[addr, addr + len)` as the active mode does (pmem_flush).
/// No flags are defined: others are ignored (logged once per process).
#[no_mangle]
pub extern "C" fn pmem_flush_cache(addr: *mut c_void, len: size_t, flags: c_int) {
    if flags != 0 {
        super::ignore_invalid_flags("pmem_flush_cache", flags);
    }
    if !super::range_ok("pmem_flush_cache", addr, len) {
        return;
    }
    // SAFETY: the range does not wrap (checked above); that it is mapped is
    // pmem_flush_cache's C contract, which the caller accepted.
    unsafe { persist::flush(addr.cast(), len) };
}

/// Orders earlier flushes before later stores: the drain of the active mode.
#[no_mangle]
pub extern "C" fn pmem_fence() {
    persist::drain();
}

/// Waits until flushed stores are durable: the drain of the active mode.
#[no_mangle]
pub extern "C" fn pmem_drain_pm_stores() {
    persist::drain();
}

/// Switches to msync mode: flushes become msync(2) of their pages.
#[no_mangle]
pub extern "C" fn pmem_msync_mode() {
    switch("pmem_msync_mode", Mode::Msync);
}

/// Switches to fit mode: later mappings are private and files receive only
/// the cache lines that are flushed.
#[no_mangle]
pub extern "C" fn pmem_fit_mode() {
    switch("pmem_fit_mode", Mode::Fit);
}

fn switch(function: &str, to: Mode) {
    if let Err(e) = mode::set(to) {
        super::report(Error::new(e.errno(), format!("{function}: {}", e.what())));
    }
}
