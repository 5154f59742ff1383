//! Logging as PMDK 2.1 defines it: two thresholds, a replaceable logging
//! function, and the `PMEM_LOG_LEVEL` / `PMEM_LOG_FILE` environment
//! variables read once at load.
//!
//! The built-in function writes each message that passes the main
//! threshold to `PMEM_LOG_FILE` when it is set, else to syslog(3) when a
//! syslog daemon listens; messages that also pass the auxiliary threshold
//! go to stderr as well.
//!
//! Both variables are read through `crate::env`: a privileged (setuid,
//! setgid) program ignores them, and `PMEM_LOG_FILE` must name a regular
//! file (created 0600, a symbolic link not followed, a FIFO refused without
//! blocking); anything else is refused with a warning on stderr's route.

use crate::error::MsgBuf;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicPtr, Ordering};
use libc::{c_char, c_int, c_uint};
use std::ffi::CString;
use std::io::Write;
use std::sync::Mutex;

/// PMDK's `enum pmem_log_level`, most severe first.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[allow(non_camel_case_types)]
pub enum pmem_log_level {
    PMEM_LOG_LEVEL_HARK = 0,
    PMEM_LOG_LEVEL_FATAL = 1,
    PMEM_LOG_LEVEL_ERROR = 2,
    PMEM_LOG_LEVEL_WARNING = 3,
    PMEM_LOG_LEVEL_NOTICE = 4,
    PMEM_LOG_LEVEL_INFO = 5,
    PMEM_LOG_LEVEL_DEBUG = 6,
}
pub use pmem_log_level as Level;

/// PMDK's `enum pmem_log_threshold`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pmem_log_threshold {
    PMEM_LOG_THRESHOLD = 0,
    PMEM_LOG_THRESHOLD_AUX = 1,
}

impl Level {
    /// The level whose C value is `v`, if any.
    pub fn from_c(v: c_int) -> Option<Level> {
        use pmem_log_level::*;
        Some(match v {
            0 => PMEM_LOG_LEVEL_HARK,
            1 => PMEM_LOG_LEVEL_FATAL,
            2 => PMEM_LOG_LEVEL_ERROR,
            3 => PMEM_LOG_LEVEL_WARNING,
            4 => PMEM_LOG_LEVEL_NOTICE,
            5 => PMEM_LOG_LEVEL_INFO,
            6 => PMEM_LOG_LEVEL_DEBUG,
            _ => return None,
        })
    }

    /// Parses `PMEM_LOG_LEVEL`: a number 0..=6 or a name such as `warning`.
    pub fn parse(s: &str) -> Option<Level> {
        let s = s.trim();
        if let Ok(n) = s.parse::<c_int>() {
            return Level::from_c(n);
        }
        let names = [
            "HARK", "FATAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG",
        ];
        let short = s.strip_prefix("PMEM_LOG_LEVEL_").unwrap_or(s);
        let i = names.iter().position(|n| n.eq_ignore_ascii_case(short))?;
        Level::from_c(i as c_int)
    }

    fn name(self) -> &'static str {
        [
            "HARK", "FATAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG",
        ][self as usize]
    }
}

/// The C signature of a user logging function.
pub type LogFn = unsafe extern "C" fn(
    level: c_int,
    file_name: *const c_char,
    line_no: c_uint,
    function_name: *const c_char,
    message: *const c_char,
);

static THRESHOLD: AtomicI32 = AtomicI32::new(Level::PMEM_LOG_LEVEL_WARNING as i32);
static THRESHOLD_AUX: AtomicI32 = AtomicI32::new(Level::PMEM_LOG_LEVEL_HARK as i32);
/// The user's function, or null for the built-in one.
static USER_FUNCTION: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());
/// `PMEM_LOG_FILE`, opened at load when set and closed at unload.
static LOG_FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);
/// Whether `PMEM_LOG_FILE` was opened (it stays the sink even once closed).
static LOG_FILE_CHOSEN: AtomicBool = AtomicBool::new(false);

fn threshold_cell(t: pmem_log_threshold) -> &'static AtomicI32 {
    match t {
        pmem_log_threshold::PMEM_LOG_THRESHOLD => &THRESHOLD,
        pmem_log_threshold::PMEM_LOG_THRESHOLD_AUX => &THRESHOLD_AUX,
    }
}

pub fn set_threshold(t: pmem_log_threshold, level: Level) {
    threshold_cell(t).store(level as i32, Ordering::Relaxed);
}

pub fn threshold(t: pmem_log_threshold) -> Level {
    Level::from_c(threshold_cell(t).load(Ordering::Relaxed))
        .unwrap_or(Level::PMEM_LOG_LEVEL_WARNING)
}

/// Installs `f` as the logging function; `None` restores the built-in one.
pub fn set_function(f: Option<LogFn>) {
    let p = f.map_or(core::ptr::null_mut(), |f| f as *mut ());
    USER_FUNCTION.store(p, Ordering::Release);
}

/// Whether a message at `level` would be logged at all.
pub fn enabled(level: Level) -> bool {
    (level as i32) <= THRESHOLD.load(Ordering::Relaxed)
}

/// Logs `args` at `level`, naming the Rust source location it came from.
///
/// A user function gets the text from buffers on this stack, so nothing
/// allocated is live while it runs (it may longjmp out). It is not called
/// again while it runs on this thread: a failing libpmem call made from
/// inside it still sets errno and `pmem_errormsg()`, but is not logged.
pub fn log(level: Level, file: &str, line: u32, function: &str, args: core::fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let user = USER_FUNCTION.load(Ordering::Acquire);
    if user.is_null() {
        // Its system calls (the /dev/log check, syslog, the file) must not
        // change the errno of a call that logs on its way to succeeding.
        let saved = crate::error::last_errno();
        default_function(level, file, line, function, &MsgBuf::format(args));
        crate::error::set_errno(saved);
        return;
    }
    // SAFETY: USER_FUNCTION only ever holds null or a LogFn (set_function).
    let f: LogFn = unsafe { core::mem::transmute::<*mut (), LogFn>(user) };
    let msg = MsgBuf::format(args);
    let (file, function) = (
        MsgBuf::format(format_args!("{file}")),
        MsgBuf::format(format_args!("{function}")),
    );
    let Some(frame) = enter_callback(&msg) else {
        return;
    };
    // SAFETY: the strings live on this stack for the whole call; the
    // caller of pmem_log_set_function vouched for f.
    unsafe {
        f(
            level as c_int,
            file.as_ptr(),
            line,
            function.as_ptr(),
            msg.as_ptr(),
        )
    };
    leave_callback(frame);
}

/// Marks this thread as running the user callback; None if it already is
/// (a log call from inside the callback). `frame` is an address in the
/// caller's stack frame: a callback that longjmped out never cleared the
/// mark, so a mark left by a frame at or below ours (the stack grows down)
/// is stale and overwritten rather than taken for nesting.
fn enter_callback(frame: &MsgBuf) -> Option<usize> {
    let here = frame as *const MsgBuf as usize;
    let state = crate::error::state_mut()?;
    if state.callback_frame != 0 && here < state.callback_frame {
        return None;
    }
    state.callback_frame = here;
    Some(here)
}

fn leave_callback(frame: usize) {
    if let Some(state) = crate::error::state_mut() {
        if state.callback_frame == frame {
            state.callback_frame = 0;
        }
    }
}

fn default_function(level: Level, file: &str, line: u32, function: &str, msg: &MsgBuf) {
    let to_stderr = (level as i32) <= THRESHOLD_AUX.load(Ordering::Relaxed);
    let Ok(mut log_file) = LOG_FILE.lock() else {
        return;
    };
    // Nobody listening: no formatting, no syslog connection attempt (glibc
    // retries the connection on every call while /dev/log is missing).
    // After unload closed PMEM_LOG_FILE, late messages are dropped rather
    // than sent to syslog, which the user did not choose.
    let file_chosen = LOG_FILE_CHOSEN.load(Ordering::Relaxed);
    let to_syslog = !file_chosen && syslog_listening();
    if log_file.is_none() && !to_syslog && !to_stderr {
        return;
    }
    let text = format!(
        "libpmem [{}] {}:{} {}: {}",
        level.name(),
        file,
        line,
        function,
        msg.as_str()
    );
    if let Some(f) = log_file.as_mut() {
        let _ = writeln!(f, "{text}");
    }
    drop(log_file);
    if to_syslog {
        if let Ok(c) = CString::new(text.as_str()) {
            let prio = match level {
                Level::PMEM_LOG_LEVEL_HARK | Level::PMEM_LOG_LEVEL_NOTICE => libc::LOG_NOTICE,
                Level::PMEM_LOG_LEVEL_FATAL => libc::LOG_CRIT,
                Level::PMEM_LOG_LEVEL_ERROR => libc::LOG_ERR,
                Level::PMEM_LOG_LEVEL_WARNING => libc::LOG_WARNING,
                Level::PMEM_LOG_LEVEL_INFO => libc::LOG_INFO,
                Level::PMEM_LOG_LEVEL_DEBUG => libc::LOG_DEBUG,
            };
            // SAFETY: "%s" with one NUL-terminated argument.
            unsafe { libc::syslog(prio, c"%s".as_ptr(), c.as_ptr()) };
        }
    }
    if to_stderr {
        eprintln!("{text}");
    }
}

/// Whether a syslog daemon can receive messages (its socket /dev/log
/// exists), looked at again at most once a second so a daemon started
/// later is noticed without a system call per message.
fn syslog_listening() -> bool {
    static CHECKED_AT: AtomicI64 = AtomicI64::new(i64::MIN);
    static LISTENING: AtomicBool = AtomicBool::new(false);
    let now = coarse_seconds();
    let last = CHECKED_AT.load(Ordering::Relaxed);
    if now != last
        && CHECKED_AT
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let socket = std::fs::metadata("/dev/log")
            .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()));
        LISTENING.store(socket, Ordering::Relaxed);
        return socket;
    }
    LISTENING.load(Ordering::Relaxed)
}

/// Seconds of CLOCK_MONOTONIC_COARSE (read from the vDSO, no system call).
#[allow(clippy::useless_conversion)] // time_t is i32 on 32-bit targets
fn coarse_seconds() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is writable; the clock id is valid on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    i64::from(ts.tv_sec)
}

/// Closes `PMEM_LOG_FILE` (at library unload): a dlopen/dlclose loop must
/// not leave one descriptor behind per cycle.
pub fn close_log_file() {
    if let Ok(mut guard) = LOG_FILE.lock() {
        guard.take();
    }
}

/// Reads `PMEM_LOG_LEVEL` and `PMEM_LOG_FILE`; called once at load.
pub fn init_from_env() {
    if let Some(v) = crate::env::var_os("PMEM_LOG_LEVEL") {
        match v.to_str().and_then(Level::parse) {
            Some(level) => set_threshold(pmem_log_threshold::PMEM_LOG_THRESHOLD, level),
            None => crate::log_warning!("ignoring invalid PMEM_LOG_LEVEL={:?}", v),
        }
    }
    if let Some(path) = crate::env::var_os("PMEM_LOG_FILE") {
        let opened = crate::env::open_named_file(
            &path,
            std::fs::OpenOptions::new().create(true).append(true),
        );
        match opened {
            Ok(f) => {
                if let Ok(mut guard) = LOG_FILE.lock() {
                    *guard = Some(f);
                    LOG_FILE_CHOSEN.store(true, Ordering::Relaxed);
                }
            }
            Err(e) => crate::log_warning!("cannot open PMEM_LOG_FILE={:?}: {}", path, e),
        }
    }
}

/// The enclosing function's name, for log messages.
macro_rules! __function_name {
    () => {{
        fn f() {}
        let name = core::any::type_name_of_val(&f);
        let name = name.strip_suffix("::f").unwrap_or(name);
        name.rsplit("::").next().unwrap_or(name)
    }};
}

/// Logs at an explicit level: `log_at!(Level::PMEM_LOG_LEVEL_INFO, "...", args)`.
macro_rules! log_at {
    ($level:expr, $($arg:tt)*) => {{
        let level = $level;
        if $crate::log::enabled(level) {
            $crate::log::log(level, file!(), line!(), $crate::__function_name!(), format_args!($($arg)*));
        }
    }};
}

macro_rules! log_error {
    ($($arg:tt)*) => { $crate::log_at!($crate::log::Level::PMEM_LOG_LEVEL_ERROR, $($arg)*) };
}

macro_rules! log_warning {
    ($($arg:tt)*) => { $crate::log_at!($crate::log::Level::PMEM_LOG_LEVEL_WARNING, $($arg)*) };
}

macro_rules! log_notice {
    ($($arg:tt)*) => { $crate::log_at!($crate::log::Level::PMEM_LOG_LEVEL_NOTICE, $($arg)*) };
}

// Crate-private (not `#[macro_export]`): lib.rs re-exports them at the
// crate root, so `crate::log_warning!` works everywhere inside the crate.
pub(crate) use {__function_name, log_at, log_error, log_notice, log_warning};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_and_names() {
        assert_eq!(Level::parse("2"), Some(Level::PMEM_LOG_LEVEL_ERROR));
        assert_eq!(Level::parse("warning"), Some(Level::PMEM_LOG_LEVEL_WARNING));
        assert_eq!(
            Level::parse("PMEM_LOG_LEVEL_DEBUG"),
            Some(Level::PMEM_LOG_LEVEL_DEBUG)
        );
        assert_eq!(Level::parse("7"), None);
        assert_eq!(Level::parse("loud"), None);
    }
}
