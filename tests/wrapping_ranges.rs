//! A range past the end of the address space, through the C entry points:
//! the void flushes and the copies refuse it with EINVAL and a message
//! (PMDK's loops would stop early and flush or copy nothing, silently);
//! the calls whose result PMDK defines return PMDK's result (msync(2) of
//! the wrapped length, which the kernel rounds to nothing: 0).

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uint, c_void};

// The rlib holds the `#[no_mangle]` C surface; `pmem::testing` below makes
// sure it is linked.
extern "C" {
    fn pmem_flush(addr: *const c_void, len: usize);
    fn pmem_persist(addr: *const c_void, len: usize);
    fn pmem_deep_flush(addr: *const c_void, len: usize);
    fn pmem_flush_cache(addr: *mut c_void, len: usize, flags: c_int);
    fn pmem_msync(addr: *const c_void, len: usize) -> c_int;
    fn pmem_deep_drain(addr: *const c_void, len: usize) -> c_int;
    fn pmem_deep_persist(addr: *const c_void, len: usize) -> c_int;
    fn pmem_memcpy(d: *mut c_void, s: *const c_void, len: usize, flags: c_uint) -> *mut c_void;
    fn pmem_memmove(d: *mut c_void, s: *const c_void, len: usize, flags: c_uint) -> *mut c_void;
    fn pmem_memset(d: *mut c_void, c: c_int, len: usize, flags: c_uint) -> *mut c_void;
    fn pmem_errormsg() -> *const c_char;
}

fn errno() -> c_int {
    std::io::Error::last_os_error().raw_os_error().unwrap()
}

fn set_errno(e: c_int) {
    // SAFETY: __errno_location is this thread's errno, valid while it runs.
    unsafe { *libc::__errno_location() = e };
}

fn errormsg() -> String {
    // SAFETY: pmem_errormsg always returns a NUL-terminated thread-local
    // string, valid until this thread's next libpmem call.
    unsafe { CStr::from_ptr(pmem_errormsg()) }
        .to_string_lossy()
        .into_owned()
}

/// Runs `call` and checks it failed with EINVAL, naming `function` and the
/// wrap.
fn expect_einval(function: &str, call: impl FnOnce()) {
    set_errno(0);
    call();
    assert_eq!(errno(), libc::EINVAL, "{function}");
    let msg = errormsg();
    assert!(
        msg.contains(function) && msg.contains("wraps"),
        "{function}: {msg}"
    );
}

#[test]
fn flushes_of_a_wrapping_range_are_einval() {
    assert_eq!(pmem::testing::persist::page_size() % 64, 0);
    let buf = [0u8; 128];
    let p = buf.as_ptr().cast::<c_void>();
    let top = usize::MAX - buf.as_ptr() as usize;
    // SAFETY: each range wraps, so each call refuses it before touching
    // memory; that is what is tested.
    unsafe {
        expect_einval("pmem_flush", || pmem_flush(p, usize::MAX));
        expect_einval("pmem_persist", || pmem_persist(p, top + 2));
        expect_einval("pmem_deep_flush", || pmem_deep_flush(p, usize::MAX));
        expect_einval("pmem_flush_cache", || {
            pmem_flush_cache(p.cast_mut(), usize::MAX, 0)
        });
    }
    // A range that does not wrap is flushed without an error.
    set_errno(0);
    // SAFETY: the buffer is mapped and 128 bytes long.
    unsafe { pmem_persist(p, buf.len()) };
    assert_eq!(errno(), 0);
}

#[test]
fn copies_into_or_from_a_wrapping_range_are_einval_and_copy_nothing() {
    let src = [7u8; 64];
    let mut dst = [0u8; 64];
    let (d, s) = (dst.as_mut_ptr().cast::<c_void>(), src.as_ptr().cast());
    // SAFETY: every range wraps, so nothing is read or written.
    unsafe {
        expect_einval("pmem_memcpy", || {
            assert_eq!(pmem_memcpy(d, s, usize::MAX, 0), d);
        });
        expect_einval("pmem_memmove", || {
            assert_eq!(pmem_memmove(d, s, usize::MAX - 8, 0), d);
        });
        expect_einval("pmem_memset", || {
            assert_eq!(pmem_memset(d, 1, usize::MAX, 0), d);
        });
    }
    assert_eq!(dst, [0u8; 64]);
}

#[test]
fn msync_and_deep_drain_of_a_wrapping_range_return_pmdks_result() {
    let page = pmem::testing::persist::page_size();
    // A page-aligned address: the wrapped length msync(2) gets rounds up to
    // 0 pages, so PMDK's pmem_msync and pmem_deep_drain return 0.
    let p = (page * 16) as *const c_void;
    // SAFETY: msync(2) validates its range; no memory is touched.
    unsafe {
        assert_eq!(pmem_msync(p, usize::MAX), 0);
        assert_eq!(pmem_deep_drain(p, usize::MAX), 0);
        assert_eq!(pmem_deep_persist(p, usize::MAX), 0);
    }
}
