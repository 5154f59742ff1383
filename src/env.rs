//! The one way the library reads its environment: every `PMEM_*`
//! variable goes through [`var`] or [`var_os`], and every file such a
//! variable names (`PMEM_LOG_FILE`, `PMEM_FIT_REPORT`) is opened by
//! [`open_named_file`]. A leaf: it uses no other module.
//!
//! In a program running with privileges it did not get from its user
//! (setuid, setgid, file capabilities: the kernel's `AT_SECURE`), every
//! variable reads as unset, as with glibc's `secure_getenv`, which PMDK
//! uses. Otherwise whoever runs a setuid-root program could make it create
//! root-owned files with text of their choice, or switch off its flushes.

use std::ffi::{OsStr, OsString};
use std::fs::{File, FileType, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;

/// A lookup of variables by name: the process's ([`var`]) or a test's.
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Whether the process runs with privileges its user does not have. The
/// kernel's `AT_SECURE` is the flag glibc's `secure_getenv` tests; reading
/// it ourselves keeps the lookup under the standard library's environment
/// lock, which a direct `secure_getenv` call would bypass.
pub fn secure() -> bool {
    // SAFETY: getauxval reads the auxiliary vector; it has no preconditions.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// The variable `name`, unless the process is privileged ([`secure`]).
pub fn var_os(name: &str) -> Option<OsString> {
    if secure() {
        return None;
    }
    std::env::var_os(name)
}

/// [`var_os`] as text; a value that is not UTF-8 reads as unset.
pub fn var(name: &str) -> Option<String> {
    var_os(name)?.into_string().ok()
}

/// A [`Lookup`] over fixed pairs, for tests.
#[cfg(test)]
pub fn from_pairs<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

/// Opens a file a variable names, with `opts` (read, append...) and this
/// rule, the same for every such file: it is created mode 0600 (the
/// library writes diagnostics, not something to share); a symbolic link as
/// the last component is refused (O_NOFOLLOW: a link planted in a shared
/// directory cannot redirect the output); the open never blocks
/// (O_NONBLOCK: a FIFO without a reader would hang the constructor before
/// `main`); and only a regular file is accepted. The descriptor is
/// O_CLOEXEC and, once checked, blocking again.
pub fn open_named_file(path: &OsStr, opts: &mut OpenOptions) -> io::Result<File> {
    let opened = opts
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let file = match opened {
        Ok(f) => f,
        // What open(2) says for a link under O_NOFOLLOW (ELOOP) and for a
        // FIFO without a reader under O_NONBLOCK (ENXIO), said plainly.
        Err(e) => match std::fs::symlink_metadata(path) {
            Ok(m) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENXIO)) => {
                return Err(not_regular(m.file_type()))
            }
            _ => return Err(e),
        },
    };
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(not_regular(kind));
    }
    clear_nonblock(&file)?;
    Ok(file)
}

fn not_regular(kind: FileType) -> io::Error {
    let what = if kind.is_symlink() {
        "a symbolic link (not followed)"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "of an unknown kind"
    };
    io::Error::other(format!("{what}, not a regular file"))
}

fn clear_nonblock(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fd is open for the lifetime of `file`; F_GETFL reads flags only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above; F_SETFL changes only the status flags given.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pmem-env-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        dir
    }

    fn append() -> OpenOptions {
        let mut o = OpenOptions::new();
        o.create(true).append(true);
        o
    }

    #[test]
    fn an_unprivileged_test_reads_its_variables() {
        // The privileged case needs a setuid program:
        // c_tests/hardening/env_safety.sh.
        assert!(!secure());
        assert!(var("PATH").is_some());
        assert_eq!(var("PMEM_SURELY_UNSET_IN_TESTS"), None);
        let env = from_pairs(&[("A", "1"), ("B", "x")]);
        assert_eq!(
            (env("A"), env("B"), env("C")),
            (Some("1".into()), Some("x".into()), None)
        );
    }

    #[test]
    fn creates_private_regular_files() {
        let dir = scratch("create");
        let path = dir.join("log");
        let f = open_named_file(path.as_os_str(), &mut append()).unwrap();
        assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        // SAFETY: F_GETFL on an open descriptor.
        let flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(flags & libc::O_NONBLOCK, 0, "left non-blocking");
        // SAFETY: F_GETFD on an open descriptor.
        let fd_flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFD) };
        assert_ne!(fd_flags & libc::FD_CLOEXEC, 0);
        // An existing file is appended to, its mode kept.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let f = open_named_file(path.as_os_str(), &mut append()).unwrap();
        assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o640);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_links_fifos_and_directories_without_blocking() {
        let dir = scratch("refuse");
        let target = dir.join("target");
        std::fs::write(&target, b"kept").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = open_named_file(link.as_os_str(), &mut append()).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), b"kept");

        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: c is a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Without a reader, a blocking open for writing would never return;
        // read-only would return and must still be refused.
        let e = open_named_file(fifo.as_os_str(), &mut append()).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let e = open_named_file(fifo.as_os_str(), OpenOptions::new().read(true)).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");

        let e = open_named_file(dir.as_os_str(), OpenOptions::new().read(true)).unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
        let e = open_named_file(OsStr::new("/dev/null"), &mut append()).unwrap_err();
        assert!(e.to_string().contains("device"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
