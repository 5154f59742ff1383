//! The `extern "C"` surface: argument checks and the C error convention
//! (failure value, `errno`, `pmem_errormsg()`), no logic of its own.
//!
//! Every function here is `#[no_mangle]`; the Makefile's version script
//! exports them at `LIBPMEM_1.0` (and the original 2013 API at its own node).

pub(crate) mod attr;
pub mod consts;
mod log;
mod map;
mod memops;
mod original;
mod persist;
mod version;

use crate::error::{last_errno, set_errno, set_last_message, Error, MsgBuf};
use crate::log::Level;
use core::sync::atomic::{AtomicBool, Ordering};

/// Reports `err` to a C caller: `pmem_errormsg()` first (so a log callback
/// already sees it), then the log, then `errno` (last, so nothing on the
/// way can clobber it). `err` is dropped before the log callback runs, so
/// a callback that longjmps out leaks nothing.
pub(crate) fn report(err: Error) {
    let errno = err.errno();
    let text = MsgBuf::format(format_args!("{err}"));
    drop(err);
    report_text(&text, Level::PMEM_LOG_LEVEL_ERROR);
    set_errno(errno);
}

/// Sets `pmem_errormsg()` to `text` and logs it at `level`. A failing
/// libpmem call made from inside the log callback leaves its own message;
/// ours is put back afterwards, as it is the failure being returned. errno
/// is left as it was (syslog(3) or a callback may change it): a caller that
/// reports a failure sets it afterwards, and pmem_check_version, like
/// PMDK's, sets none.
pub(crate) fn report_text(text: &MsgBuf, level: Level) {
    set_last_message(text.as_str());
    if crate::log::enabled(level) {
        let saved = last_errno();
        crate::log::log(
            level,
            file!(),
            line!(),
            "report",
            format_args!("{}", text.as_str()),
        );
        set_last_message(text.as_str());
        set_errno(saved);
    }
}

/// Reports `err` and returns `value`, for one-line failure returns.
/// Cold and out of line, so the entry points' fast paths stay small.
#[cold]
#[inline(never)]
pub(crate) fn fail<T>(err: Error, value: T) -> T {
    report(err);
    value
}

/// `Error` for a NULL pointer argument.
#[cold]
#[inline(never)]
pub(crate) fn null_arg(function: &str, arg: &str) -> Error {
    Error::new(libc::EINVAL, format!("{function}: {arg} is NULL"))
}

/// Whether `addr` may be used for `len` bytes: NULL with a non-zero length
/// is reported (EINVAL, naming `function`) where PMDK would crash, and a
/// range past the end of the address space (EINVAL, [`crate::range`])
/// where PMDK's loop would silently stop early. On success the range is
/// one the layers below accept: it does not wrap.
#[inline(always)]
pub(crate) fn range_ok(function: &str, addr: *const libc::c_void, len: usize) -> bool {
    if addr.is_null() && len != 0 {
        return fail(null_arg(function, "addr"), false);
    }
    if let Err(e) = crate::range::checked_end(function, addr, len) {
        return fail(e, false);
    }
    true
}

/// Flag bits a function does not know are ignored, as PMDK's release
/// build ignores them: errno and `pmem_errormsg()` stay untouched (the call
/// succeeds), and only the first such call in the process is logged, so a
/// hot loop passing them stays fast.
#[cold]
#[inline(never)]
pub(crate) fn ignore_invalid_flags(function: &str, flags: impl core::fmt::LowerHex) {
    static LOGGED: AtomicBool = AtomicBool::new(false);
    if LOGGED.swap(true, Ordering::Relaxed) {
        return;
    }
    let saved = crate::error::last_errno();
    crate::log_warning!("{function}: ignoring invalid flags 0x{flags:x} (logged once)");
    set_errno(saved);
}
