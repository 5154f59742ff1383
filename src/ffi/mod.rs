//! The `extern "C"` surface: argument checks and the C error convention
//! (failure value, `errno`, `pmem_errormsg()`), no logic of its own.
//!
//! Every function here is `#[no_mangle]`; the Makefile's version script
//! exports them at `LIBPMEM_1.0` (and the original 2013 API at its own node).

mod attr;
pub mod consts;
mod log;
mod map;
mod memops;
mod persist;
mod seed;
mod version;

use crate::error::{set_errno, set_last_message, Error};

/// Reports `err` to a C caller: the log, `pmem_errormsg()`, then `errno`
/// (last, so nothing on the way can clobber it).
pub(crate) fn report(err: &Error) {
    let text = err.to_string();
    crate::log_error!("{text}");
    set_last_message(&text);
    set_errno(err.errno());
}

/// Reports `err` and returns `value`, for one-line failure returns.
/// Cold and out of line, so the entry points' fast paths stay small.
#[cold]
#[inline(never)]
pub(crate) fn fail<T>(err: Error, value: T) -> T {
    report(&err);
    value
}

/// `Error` for a NULL pointer argument.
#[cold]
#[inline(never)]
pub(crate) fn null_arg(function: &str, arg: &str) -> Error {
    Error::new(libc::EINVAL, format!("{function}: {arg} is NULL"))
}

/// Whether `addr` may be used for `len` bytes: NULL with a non-zero length
/// is reported (EINVAL, naming `function`) where PMDK would crash.
#[inline(always)]
pub(crate) fn addr_ok(function: &str, addr: *const libc::c_void, len: usize) -> bool {
    if addr.is_null() && len != 0 {
        return fail(null_arg(function, "addr"), false);
    }
    true
}

/// Reports flag bits a function does not know; the caller ignores them.
#[cold]
#[inline(never)]
pub(crate) fn report_invalid_flags(function: &str, flags: impl core::fmt::LowerHex) {
    report(&Error::new(
        libc::EINVAL,
        format!("{function}: invalid flags 0x{flags:x}"),
    ));
}
