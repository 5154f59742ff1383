//! [`Error`] as a standard error: `std::error::Error`, and conversion to
//! `io::Error` for callers whose functions return `io::Result`.

use crate::error::Error;
use std::io;

impl std::error::Error for Error {}

/// The `io::Error` has the errno's [`kind`](io::Error::kind) and carries the
/// [`Error`] itself, so its message still says what failed and the errno
/// stays reachable:
///
/// ```
/// use pmem::api::PmemFile;
/// use std::io;
///
/// // SAFETY: nothing else uses this path (it does not exist).
/// let err = unsafe { PmemFile::open("/nonexistent/pmem-doc") }.unwrap_err();
/// let errno = err.errno();
/// let io_err = io::Error::from(err);
/// assert_eq!(io_err.kind(), io::ErrorKind::NotFound);
/// assert!(io_err.to_string().contains("/nonexistent/pmem-doc"));
/// let inner = io_err.get_ref().and_then(|e| e.downcast_ref::<pmem::Error>());
/// assert_eq!(inner.map(pmem::Error::errno), Some(errno));
/// ```
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = io::Error::from_raw_os_error(e.errno()).kind();
        io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_keeps_kind_message_and_errno() {
        let e = Error::new(libc::EEXIST, "create \"/x\"");
        let io: io::Error = e.clone().into();
        assert_eq!(io.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(io.to_string(), e.to_string());
        let inner = io.into_inner().unwrap().downcast::<Error>().unwrap();
        assert_eq!(inner.errno(), libc::EEXIST);
    }

    #[test]
    fn is_a_std_error() {
        let boxed: Box<dyn std::error::Error + Send + Sync> = Error::new(libc::EIO, "x").into();
        assert!(boxed.source().is_none());
        assert_eq!(boxed.to_string(), "x: Input/output error");
    }
}
