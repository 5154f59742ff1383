//! The error type used below the FFI layer, and the per-thread message
//! buffer behind `pmem_errormsg()`.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};
use libc::c_char;

/// A failure: the `errno` to report and a description of what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    errno: i32,
    what: String,
}

pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// A failure with an explicit errno, e.g. `Error::new(EINVAL, "len is 0")`.
    pub fn new(errno: i32, what: impl Into<String>) -> Self {
        Error {
            errno,
            what: what.into(),
        }
    }

    /// A failure of a system call, taking errno as the call left it.
    pub fn last_os(what: impl Into<String>) -> Self {
        Error::new(last_errno(), what)
    }

    pub fn errno(&self) -> i32 {
        self.errno
    }

    pub fn what(&self) -> &str {
        &self.what
    }
}

impl fmt::Display for Error {
    /// "what failed: strerror(errno)", the shape of PMDK's messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, strerror(self.errno))
    }
}

/// The calling thread's errno.
pub fn last_errno() -> i32 {
    // SAFETY: __errno_location always returns a valid thread-local pointer.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's errno.
pub fn set_errno(e: i32) {
    // SAFETY: __errno_location returns this thread's errno, valid for
    // the thread's lifetime.
    unsafe { *libc::__errno_location() = e }
}

/// The text of an errno value, as strerror(3) gives it.
pub fn strerror(e: i32) -> String {
    let mut buf = [0 as c_char; 128];
    // SAFETY: buf is writable for its whole length; the XSI strerror_r that
    // the libc crate binds always NUL-terminates on success.
    let rc = unsafe { libc::strerror_r(e, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {e}");
    }
    // SAFETY: NUL-terminated by strerror_r (checked above).
    unsafe { core::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Longest message kept, including the terminating NUL (PMDK keeps 1024 too).
pub const MSG_MAX: usize = 1024;

/// A message formatted on the stack, truncated to [`MSG_MAX`] - 1 bytes
/// (on a character boundary) and always NUL-terminated: the error paths
/// hold no heap memory while user code (a log callback) runs, so a
/// callback that longjmps out leaks nothing.
pub struct MsgBuf {
    buf: [u8; MSG_MAX],
    len: usize,
}

impl MsgBuf {
    pub fn new() -> MsgBuf {
        MsgBuf {
            buf: [0; MSG_MAX],
            len: 0,
        }
    }

    /// `args` formatted, truncated to fit.
    pub fn format(args: fmt::Arguments<'_>) -> MsgBuf {
        let mut m = MsgBuf::new();
        let _ = fmt::Write::write_fmt(&mut m, args);
        m
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: only whole UTF-8 characters are ever appended (write_str).
        unsafe { core::str::from_utf8_unchecked(&self.buf[..self.len]) }
    }

    pub fn as_ptr(&self) -> *const c_char {
        self.buf.as_ptr().cast()
    }
}

impl Default for MsgBuf {
    fn default() -> Self {
        MsgBuf::new()
    }
}

impl fmt::Write for MsgBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MSG_MAX - 1 - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        // Interior NULs would cut the C string short: shown as spaces.
        for (dst, &b) in self.buf[self.len..self.len + n]
            .iter_mut()
            .zip(s.as_bytes())
        {
            *dst = if b == 0 { b' ' } else { b };
        }
        self.len += n;
        self.buf[self.len] = 0;
        Ok(())
    }
}

/// What a thread keeps: its last error message and whether it is inside a
/// user log callback. Heap-allocated at the thread's first failure and
/// reached through a pthread key, not Rust's `thread_local!`: a shared
/// library's TLS is general-dynamic and goes through `__tls_get_addr`,
/// whose AddressSanitizer interception crashes with large blocks
/// (google/sanitizers#1322). A key costs no TLS at all.
pub struct ThreadState {
    msg: MsgBuf,
    /// Stack address of the log frame that is running the user callback;
    /// 0 when none (see [`crate::log`]).
    pub callback_frame: usize,
}

/// The pthread key of [`ThreadState`]; KEY_NONE until first needed.
static KEY: AtomicUsize = AtomicUsize::new(KEY_NONE);
const KEY_NONE: usize = usize::MAX;

extern "C" fn free_state(p: *mut libc::c_void) {
    // SAFETY: the key only ever holds pointers from Box::into_raw below.
    drop(unsafe { Box::from_raw(p.cast::<ThreadState>()) });
}

fn key() -> Option<libc::pthread_key_t> {
    let k = KEY.load(Ordering::Acquire);
    if k != KEY_NONE {
        return Some(k as libc::pthread_key_t);
    }
    let mut new: libc::pthread_key_t = 0;
    // SAFETY: new is writable; free_state has the destructor signature.
    if unsafe { libc::pthread_key_create(&mut new, Some(free_state)) } != 0 {
        return None;
    }
    match KEY.compare_exchange(KEY_NONE, new as usize, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Some(new),
        Err(won) => {
            // Another thread created one first: use that, give ours back.
            // SAFETY: `new` was created above and never used.
            unsafe { libc::pthread_key_delete(new) };
            Some(won as libc::pthread_key_t)
        }
    }
}

/// This thread's state, if it has any.
fn state() -> Option<*mut ThreadState> {
    let k = KEY.load(Ordering::Acquire);
    if k == KEY_NONE {
        return None;
    }
    // SAFETY: k is a live key.
    let p = unsafe { libc::pthread_getspecific(k as libc::pthread_key_t) };
    (!p.is_null()).then_some(p.cast())
}

/// This thread's state, made at its first use; None only when out of
/// memory or keys (the message is then lost, the errno still reported).
pub fn state_mut() -> Option<&'static mut ThreadState> {
    let p = match state() {
        Some(p) => p,
        None => {
            let k = key()?;
            let p = Box::into_raw(Box::new(ThreadState {
                msg: MsgBuf::new(),
                callback_frame: 0,
            }));
            // SAFETY: k is live; p is freed by free_state at thread exit.
            if unsafe { libc::pthread_setspecific(k, p.cast()) } != 0 {
                // SAFETY: p came from Box::into_raw just above.
                drop(unsafe { Box::from_raw(p) });
                return None;
            }
            p
        }
    };
    // SAFETY: the state belongs to this thread alone, and callers keep the
    // reference only for the statement at hand.
    Some(unsafe { &mut *p })
}

/// Records `msg` as this thread's last error message (truncated to fit).
pub fn set_last_message(msg: &str) {
    if let Some(s) = state_mut() {
        s.msg = MsgBuf::format(format_args!("{msg}"));
    }
}

/// This thread's last error message as a NUL-terminated C string; "" when
/// nothing has failed on this thread yet. Never NULL.
pub fn last_message_ptr() -> *const c_char {
    match state() {
        // SAFETY: the state lives until the thread exits.
        Some(p) => unsafe { (*p).msg.as_ptr() },
        None => c"".as_ptr(),
    }
}

/// This thread's last error message, for Rust callers and tests.
#[cfg(test)]
pub fn last_message() -> String {
    // SAFETY: always NUL-terminated (MsgBuf, or the static "").
    unsafe { core::ffi::CStr::from_ptr(last_message_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// At library unload: frees the calling thread's state and the key, so a
/// dlopen/dlclose loop leaks neither keys nor a destructor pointing into
/// unmapped code. Other threads' states (if any) are left allocated.
pub fn release_thread_states() {
    let k = KEY.swap(KEY_NONE, Ordering::AcqRel);
    if k == KEY_NONE {
        return;
    }
    let k = k as libc::pthread_key_t;
    // SAFETY: k was live until the swap above; nobody can get it again.
    unsafe {
        let p = libc::pthread_getspecific(k);
        libc::pthread_key_delete(k);
        if !p.is_null() {
            free_state(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_appends_strerror() {
        let e = Error::new(libc::ENOENT, "open \"/x\"");
        assert_eq!(e.to_string(), "open \"/x\": No such file or directory");
    }

    #[test]
    fn message_is_thread_local_and_truncated() {
        set_last_message("main thread");
        std::thread::spawn(|| {
            assert_eq!(last_message(), "");
            set_last_message(&"é".repeat(MSG_MAX));
            let m = last_message();
            assert!(m.len() < MSG_MAX && m.chars().all(|c| c == 'é'));
        })
        .join()
        .unwrap();
        assert_eq!(last_message(), "main thread");
    }
}
