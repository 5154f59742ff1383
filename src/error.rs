//! The error type used below the FFI layer, and the thread-local message
//! buffer behind `pmem_errormsg()`.

use core::cell::UnsafeCell;
use core::fmt;
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
    // SAFETY: as in last_errno.
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
const MSG_MAX: usize = 1024;

thread_local! {
    // A plain array with a const initializer: no destructor, no lazy init,
    // so the pointer handed to C stays valid for the thread's lifetime.
    static LAST_MESSAGE: UnsafeCell<[u8; MSG_MAX]> = const { UnsafeCell::new([0; MSG_MAX]) };
}

/// Records `msg` as this thread's last error message (truncated to fit).
pub fn set_last_message(msg: &str) {
    let mut end = msg.len().min(MSG_MAX - 1);
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    LAST_MESSAGE.with(|cell| {
        // SAFETY: the buffer is this thread's own and no reference to it is
        // live: C only ever reads it through the pointer from last_message_ptr,
        // and a reader on this thread cannot run during this copy.
        let buf = unsafe { &mut *cell.get() };
        buf[..end].copy_from_slice(&msg.as_bytes()[..end]);
        buf[end] = 0;
    });
}

/// This thread's last error message as a NUL-terminated C string; "" when
/// nothing has failed on this thread yet. Never NULL.
pub fn last_message_ptr() -> *const c_char {
    LAST_MESSAGE.with(|cell| cell.get() as *const c_char)
}

/// This thread's last error message, for Rust callers and tests.
pub fn last_message() -> String {
    // SAFETY: the buffer is always NUL-terminated (zeroed at start, and
    // set_last_message writes a NUL after what it copies).
    unsafe { core::ffi::CStr::from_ptr(last_message_ptr()) }
        .to_string_lossy()
        .into_owned()
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
