//! What the kernel has mapped at an address: the truth the fit registry is
//! checked against. PROCMAP_QUERY (Linux 6.11) answers one address with one
//! ioctl on /proc/self/maps; older kernels fall back to reading the text.

use crate::error::{Error, Result};
use crate::map::maps_text;
use core::sync::atomic::AtomicBool;
use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Mutex, Once};

/// One virtual memory area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vma {
    pub start: usize,
    pub end: usize,
    /// File offset of `start` (0 for anonymous memory).
    pub offset: u64,
    pub dev: u64,
    /// 0 for anonymous memory.
    pub ino: u64,
    pub shared: bool,
    /// PROT_* bits.
    pub prot: i32,
}

impl Vma {
    /// File offset of `addr`, which must lie inside the area.
    pub fn offset_of(&self, addr: usize) -> u64 {
        self.offset + (addr - self.start) as u64
    }
}

/// The kernel's struct procmap_query (include/uapi/linux/fs.h).
#[repr(C)]
#[derive(Default)]
struct ProcmapQuery {
    size: u64,
    query_flags: u64,
    query_addr: u64,
    vma_start: u64,
    vma_end: u64,
    vma_flags: u64,
    vma_page_size: u64,
    vma_offset: u64,
    inode: u64,
    dev_major: u32,
    dev_minor: u32,
    vma_name_size: u32,
    build_id_size: u32,
    vma_name_addr: u64,
    build_id_addr: u64,
}

/// _IOWR('f', 17, struct procmap_query)
const PROCMAP_QUERY: libc::c_ulong = 0xc000_0000
    | ((core::mem::size_of::<ProcmapQuery>() as libc::c_ulong) << 16)
    | ((b'f' as libc::c_ulong) << 8)
    | 17;
const COVERING_OR_NEXT: u64 = 0x10;
const VMA_READ: u64 = 0x01;
const VMA_WRITE: u64 = 0x02;
const VMA_EXEC: u64 = 0x04;
const VMA_SHARED: u64 = 0x08;

/// /proc/self/maps, opened once per process: a descriptor opened before a
/// fork would describe the parent, so a child reopens it.
static SOURCE: Mutex<Option<File>> = Mutex::new(None);
/// Set in a child by the fork handler (no syscall on the flush path).
static REOPEN: AtomicBool = AtomicBool::new(false);
/// Set once PROCMAP_QUERY proved missing (a kernel before 6.11).
static NO_QUERY: AtomicBool = AtomicBool::new(false);

extern "C" fn reopen_in_child() {
    REOPEN.store(true, core::sync::atomic::Ordering::Relaxed);
}

/// The errors that mean PROCMAP_QUERY is not there: ENOTTY from a kernel
/// before 6.11, EINVAL from one that does not know this form, ENOSYS from
/// an emulator (qemu-user) or a seccomp filter.
fn query_unsupported(errno: i32) -> bool {
    matches!(errno, libc::ENOTTY | libc::EINVAL | libc::ENOSYS)
}

/// The area holding `addr`, or else the first one above it; None when
/// nothing is mapped at or above `addr`.
pub fn covering_or_next(addr: usize) -> Result<Option<Vma>> {
    use core::sync::atomic::Ordering::Relaxed;
    if !NO_QUERY.load(Relaxed) {
        match query(addr, None) {
            Err(e) if query_unsupported(e.errno()) => {
                NO_QUERY.store(true, Relaxed);
            }
            r => return r.map(|v| v.map(|(v, _)| v)),
        }
    }
    Ok(parse_text(&read_text()?, addr).map(|(v, _)| v))
}

/// The path of the file mapped at `addr` as the kernel names it, with the
/// area.
pub fn named(addr: usize) -> Result<Option<(Vma, PathBuf)>> {
    use core::sync::atomic::Ordering::Relaxed;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    if !NO_QUERY.load(Relaxed) {
        if let Ok(r) = query(addr, Some(&mut buf)) {
            return Ok(r);
        }
    }
    Ok(parse_text(&read_text()?, addr))
}

fn query(addr: usize, name: Option<&mut [u8]>) -> Result<Option<(Vma, PathBuf)>> {
    static HANDLER: Once = Once::new();
    // SAFETY: registers a handler that only stores to an atomic.
    HANDLER.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(reopen_in_child));
    });
    let mut src = SOURCE.lock().unwrap_or_else(|e| e.into_inner());
    if src.is_none() || REOPEN.swap(false, core::sync::atomic::Ordering::Relaxed) {
        let f = File::open("/proc/self/maps").map_err(|e| {
            Error::new(
                e.raw_os_error().unwrap_or(libc::EIO),
                "open /proc/self/maps",
            )
        })?;
        *src = Some(f);
    }
    let fd = src.as_ref().map_or(-1, |f| f.as_raw_fd());
    let mut q = ProcmapQuery {
        size: core::mem::size_of::<ProcmapQuery>() as u64,
        query_flags: COVERING_OR_NEXT,
        query_addr: addr as u64,
        ..Default::default()
    };
    let want_name = name.is_some();
    if let Some(buf) = &name {
        q.vma_name_size = buf.len() as u32;
        q.vma_name_addr = buf.as_ptr() as u64;
    }
    // SAFETY: `q` is a properly sized procmap_query; the name buffer, if
    // any, is writable for vma_name_size bytes and outlives the call.
    let r = unsafe { libc::ioctl(fd, PROCMAP_QUERY as _, &mut q as *mut ProcmapQuery) };
    if r != 0 {
        let e = Error::last_os("PROCMAP_QUERY on /proc/self/maps");
        return if e.errno() == libc::ENOENT {
            Ok(None)
        } else {
            Err(e)
        };
    }
    let f = q.vma_flags;
    let prot = [
        (VMA_READ, libc::PROT_READ),
        (VMA_WRITE, libc::PROT_WRITE),
        (VMA_EXEC, libc::PROT_EXEC),
    ]
    .into_iter()
    .filter(|&(bit, _)| f & bit != 0)
    .fold(0, |p, (_, b)| p | b);
    let vma = Vma {
        start: q.vma_start as usize,
        end: q.vma_end as usize,
        offset: q.vma_offset,
        dev: libc::makedev(q.dev_major, q.dev_minor),
        ino: q.inode,
        shared: f & VMA_SHARED != 0,
        prot,
    };
    let path = match name {
        Some(buf) if want_name && q.vma_name_size > 0 => {
            let n = (q.vma_name_size as usize).saturating_sub(1); // without the NUL
            PathBuf::from(OsStr::from_bytes(&buf[..n]))
        }
        _ => PathBuf::new(),
    };
    Ok(Some((vma, path)))
}

/// Opens the descriptor queries use now, so that a program counting its
/// descriptors sees it from the moment fit mode is on.
/// `PMEM_FIT_MAPS_TEXT=1` makes every query read the text, as on a kernel
/// without PROCMAP_QUERY, so that path can be tested anywhere.
pub fn prepare() {
    if crate::env::var_os("PMEM_FIT_MAPS_TEXT").is_some_and(|v| v == "1") {
        NO_QUERY.store(true, core::sync::atomic::Ordering::Relaxed);
    }
    let _ = covering_or_next(0);
}

/// Whether any area but the one at `except` maps object `(dev, ino)`:
/// one read of the whole text.
pub fn maps_object(dev: u64, ino: u64, except: usize) -> Result<bool> {
    Ok(maps_text::lines(&read_text()?).any(|l| {
        l.inode == ino && libc::makedev(l.dev_major, l.dev_minor) == dev && l.start != except
    }))
}

/// Closes the descriptor queries use (at unload); a later query reopens it.
pub fn close() {
    drop(SOURCE.lock().unwrap_or_else(|e| e.into_inner()).take());
}

fn read_text() -> Result<Vec<u8>> {
    let mut text = Vec::with_capacity(16 << 10);
    File::open("/proc/self/maps")
        .and_then(|mut f| f.read_to_end(&mut text))
        .map_err(|e| {
            Error::new(
                e.raw_os_error().unwrap_or(libc::EIO),
                "reading /proc/self/maps",
            )
        })?;
    Ok(text)
}

/// The area of `text` (in /proc/self/maps format) holding `addr`, or else
/// the first above it.
fn parse_text(text: &[u8], addr: usize) -> Option<(Vma, PathBuf)> {
    let l = maps_text::lines(text).find(|l| l.end > addr)?;
    let bit = |on: bool, v: i32| if on { v } else { 0 };
    let vma = Vma {
        start: l.start,
        end: l.end,
        offset: l.offset,
        dev: libc::makedev(l.dev_major, l.dev_minor),
        ino: l.inode,
        shared: l.shared(),
        prot: bit(l.readable(), libc::PROT_READ)
            | bit(l.writable(), libc::PROT_WRITE)
            | bit(l.executable(), libc::PROT_EXEC),
    };
    Some((vma, PathBuf::from(OsStr::from_bytes(l.path))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // Addresses below 4 GiB, so the test also runs on 32-bit targets.
    fn text_lines_parse() {
        let text = b"00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n\
7f000000-7f002000 rw-s 00003000 fd:01 42   /tmp/pool \xff file\n\
7ffd0000-7ffd1000 rw-p 00000000 00:00 0 \n";
        let (v, p) = parse_text(text, 0x7f00_1000).unwrap();
        assert_eq!(
            (v.start, v.end, v.offset, v.ino),
            (0x7f00_0000, 0x7f00_2000, 0x3000, 42)
        );
        assert_eq!(v.dev, libc::makedev(0xfd, 1));
        assert!(v.shared);
        assert_eq!(v.prot, libc::PROT_READ | libc::PROT_WRITE);
        assert_eq!(
            p.as_os_str().as_bytes(),
            b"/tmp/pool \xff file",
            "any bytes"
        );
        let (v, _) = parse_text(text, 0x500000).unwrap(); // the next area up
        assert_eq!(v.start, 0x7f00_0000);
        let (v, _) = parse_text(text, 0x7ffd_0000).unwrap();
        assert!(!v.shared && v.ino == 0);
        assert!(parse_text(text, 0x7ffd_1000).is_none());
    }

    /// The ioctl (where the kernel has it) and the text agree on a fresh
    /// private file mapping.
    #[test]
    fn query_agrees_with_text() {
        let page = crate::persist::page_size();
        // SAFETY: plain syscalls on a fresh memfd and a fresh mapping.
        let (fd, base) = unsafe {
            let fd = libc::memfd_create(c"procmaps-test".as_ptr(), libc::MFD_CLOEXEC);
            assert!(fd >= 0 && libc::ftruncate(fd, 4 * page as libc::off_t) == 0);
            let p = libc::mmap(
                core::ptr::null_mut(),
                2 * page,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                fd,
                page as libc::off_t,
            );
            assert_ne!(p, libc::MAP_FAILED);
            (fd, p as usize)
        };
        let text = parse_text(&read_text().unwrap(), base + 100).unwrap().0;
        match query(base + 100, None) {
            Ok(q) => assert_eq!(q.unwrap().0, text, "PROCMAP_QUERY disagrees with the text"),
            // A kernel before 6.11, or qemu-user (make check-cross).
            Err(e) => assert!(query_unsupported(e.errno()), "{e}"),
        }
        let got = covering_or_next(base + 100).unwrap().unwrap();
        assert_eq!(got, text);
        assert_eq!(
            (got.start, got.end, got.offset),
            (base, base + 2 * page, page as u64)
        );
        assert!(!got.shared && got.ino != 0 && got.prot == libc::PROT_READ);
        let (_, name) = named(base).unwrap().unwrap();
        assert!(name.to_string_lossy().contains("procmaps-test"), "{name:?}");
        // SAFETY: made above, unused elsewhere.
        unsafe {
            libc::munmap(base as *mut libc::c_void, 2 * page);
            libc::close(fd);
        }
    }
}
