//! pmem_persist, pmem_flush, pmem_drain, pmem_msync, the deep variants and
//! the platform queries.

use super::{addr_ok, fail};
use crate::persist;
use libc::{c_int, c_void, size_t};

/// Flushes and drains `[addr, addr + len)`: the stores there are durable
/// when it returns.
#[no_mangle]
pub extern "C" fn pmem_persist(addr: *const c_void, len: size_t) {
    if !addr_ok("pmem_persist", addr, len) {
        return;
    }
    persist::persist(addr.cast(), len);
}

/// Flushes `[addr, addr + len)` from the CPU caches without waiting.
#[no_mangle]
pub extern "C" fn pmem_flush(addr: *const c_void, len: size_t) {
    if !addr_ok("pmem_flush", addr, len) {
        return;
    }
    persist::flush(addr.cast(), len);
}

/// Waits for earlier flushes and non-temporal stores to be durable.
#[no_mangle]
pub extern "C" fn pmem_drain() {
    persist::drain();
}

/// msync(2) of the pages that hold the range; 0, or -1 with errno.
#[no_mangle]
pub extern "C" fn pmem_msync(addr: *const c_void, len: size_t) -> c_int {
    match persist::msync(addr.cast(), len) {
        Ok(()) => 0,
        Err(e) => fail(e, -1),
    }
}

/// Whether the platform needs no explicit drain after a flush: never, on
/// any architecture (each drains with its fence; PMDK answers the same).
#[no_mangle]
pub extern "C" fn pmem_has_hw_drain() -> c_int {
    0
}

/// 1 when every NVDIMM region's persistence domain includes the CPU caches
/// (eADR), 0 when not or when there are none, -1 with errno when unknown.
#[no_mangle]
pub extern "C" fn pmem_has_auto_flush() -> c_int {
    match crate::map::platform::has_auto_flush() {
        Ok(yes) => yes as c_int,
        Err(e) => fail(e, -1),
    }
}

/// Flushes the range even where the platform flushes caches on power loss.
#[no_mangle]
pub extern "C" fn pmem_deep_flush(addr: *const c_void, len: size_t) {
    if !addr_ok("pmem_deep_flush", addr, len) {
        return;
    }
    persist::deep_flush(addr.cast(), len);
}

/// Pushes the range through the memory controller's queues (the region's
/// deep_flush), or msync(2) outside DAX mappings; 0, or -1 with errno.
#[no_mangle]
pub extern "C" fn pmem_deep_drain(addr: *const c_void, len: size_t) -> c_int {
    match crate::map::platform::deep_drain(addr.cast(), len) {
        Ok(()) => 0,
        Err(e) => fail(e, -1),
    }
}

/// pmem_deep_flush then pmem_deep_drain; 0, or -1 with errno.
#[no_mangle]
pub extern "C" fn pmem_deep_persist(addr: *const c_void, len: size_t) -> c_int {
    pmem_deep_flush(addr, len);
    pmem_deep_drain(addr, len)
}
