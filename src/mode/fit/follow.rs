//! Keeps the fit registry true to the kernel's mappings, and adopts foreign
//! shared file mappings.
//!
//! Before a flush writes anything, the areas under it are looked up (one
//! PROCMAP_QUERY ioctl per area): a span whose area is gone or no longer
//! its view of its file at its offset (the file's shadow for the library's
//! own mappings, a private mapping of the file for adopted ones) is
//! forgotten (a plain munmap, a mapping placed over it), so nothing foreign
//! is ever written into the file; a view of a fit file at an address the
//! registry does not know (mremap moved or grew it) is followed; and in fit
//! mode a
//! shared mapping of a regular file the library did not make (libpmemobj's
//! pool, a program's own mmap) is adopted in place: the same file range is
//! mapped MAP_PRIVATE|MAP_FIXED over it, its contents unchanged, and it is a
//! fit mapping from then on. The kernel serialises the remap against the
//! program's faults, so a store of another thread lands either in the shared
//! page cache before it (then it is in the file already) or in the private
//! copy after it; none is lost.

use super::file::{FileAt, FitFile};
use super::procmaps::{self, Vma};
use super::{live_mappings, File, LIVE, REGISTRY};
use crate::error::{Error, Result};
use crate::mode::{current, Mode};
use crate::range_map::{RangeMap, Span};
use core::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLockReadGuard};

type Guard = RwLockReadGuard<'static, RangeMap<FileAt>>;

/// What must change for the registry to agree with the kernel.
#[derive(Debug, PartialEq, Eq)]
enum Fix {
    /// `[lo, hi)` is no longer what its spans say.
    Forget(usize, usize),
    /// A private mapping of a fit file the registry does not know at that
    /// address: moved or grown by mremap.
    Follow(Vma),
    /// A shared file mapping the library did not make.
    Adopt(Vma),
}

/// Files whose adoption failed, reported once and not tried again.
static REFUSED: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());
/// Set in a child after fork(2) while fit mappings were live.
static FORKED: AtomicBool = AtomicBool::new(false);
static FORK_REPORTED: AtomicBool = AtomicBool::new(false);

/// The registry, read-locked, once its spans over `[lo, hi)` agree with the
/// kernel (after adopting what fit mode adopts); None when no span overlaps.
pub fn registry_over(lo: usize, hi: usize) -> Option<Guard> {
    let adopt = current() == Mode::Fit;
    if live_mappings() == 0 && !adopt {
        return None;
    }
    // Each fix removes a disagreement; the bound only guards against a
    // program remapping the range as fast as we look at it.
    for _ in 0..8 {
        let reg = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
        let fix = match disagreement(&reg, lo, hi, adopt) {
            Ok(None) => return found(reg, lo, hi),
            Ok(Some(fix)) => fix,
            Err(e) => {
                // Without the kernel's view, trust the registry.
                crate::log_error!("{e}");
                return found(reg, lo, hi);
            }
        };
        drop(reg);
        apply(fix);
    }
    let reg = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    found(reg, lo, hi)
}

fn found(reg: Guard, lo: usize, hi: usize) -> Option<Guard> {
    reg.overlapping(lo..hi).next()?;
    Some(reg)
}

/// In a forked child, a flush of an adopted (private) mapping: say once
/// that the parent cannot see these stores.
fn report_fork() {
    if FORKED.load(Ordering::Relaxed) && !FORK_REPORTED.swap(true, Ordering::Relaxed) {
        loud(&Error::new(
            libc::EPERM,
            "fit mode: flushing a private fit mapping (an adopted one, or any made \
             under valgrind) in a forked child: the parent never sees this process's \
             stores (a shared mapping would)",
        ));
    }
}

/// The first disagreement between the registry and the kernel over `[lo, hi)`.
fn disagreement(reg: &RangeMap<FileAt>, lo: usize, hi: usize, adopt: bool) -> Result<Option<Fix>> {
    let mut at = lo;
    while at < hi {
        let vma = procmaps::covering_or_next(at)?;
        let next = vma.as_ref().map_or(hi, |v| v.start.clamp(at, hi));
        if next > at && reg.overlapping(at..next).next().is_some() {
            return Ok(Some(Fix::Forget(at, next))); // nothing mapped there any more
        }
        let Some(v) = vma.filter(|v| v.start < hi) else {
            break;
        };
        let (from, to) = (v.start.max(at), v.end.min(hi));
        let mut covered = from;
        for p in reg.overlapping(from..to) {
            let a = p.start.max(from);
            let view = is_view(&v, p, a);
            if view && !v.shared {
                report_fork();
            }
            if !view {
                return Ok(Some(Fix::Forget(a, p.end().min(v.end))));
            }
            if p.start > covered {
                break;
            }
            covered = p.end();
        }
        if covered < to && v.ino != 0 {
            if view_of(reg, &v).is_some() {
                return Ok(Some(Fix::Follow(v)));
            }
            if v.shared && adopt && !refused(v.dev, v.ino) {
                return Ok(Some(Fix::Adopt(v)));
            }
        }
        at = to;
    }
    Ok(None)
}

/// Whether area `v` at `a` is span `p`'s view of its file at the span's
/// offset: the file's shadow (the library's mappings) or a private mapping
/// of the file (adopted ones).
fn is_view(v: &Vma, p: &Span<FileAt>, a: usize) -> bool {
    let view = if v.shared {
        p.value.file.shadowed_by(v.dev, v.ino)
    } else {
        p.value.file.is(v.dev, v.ino)
    };
    view && v.offset_of(a) == p.file_offset(a)
}

/// Looks again, under the write lock, before forgetting `[lo, hi)`: the
/// text of /proc/self/maps is read in several calls, and while other threads
/// map memory (thread stacks, malloc arenas) one read can miss an area that
/// never moved. Forgetting a live span would lose its flushes for good.
fn still_viewed(reg: &RangeMap<FileAt>, lo: usize, hi: usize) -> bool {
    let Ok(Some(v)) = procmaps::covering_or_next(lo) else {
        return false;
    };
    v.start <= lo
        && v.end >= hi
        && reg
            .overlapping(lo..hi)
            .all(|p| is_view(&v, p, p.start.max(lo)))
}

/// The fit file whose mapping (private) or shadow (shared) `v` is.
fn view_of(reg: &RangeMap<FileAt>, v: &Vma) -> Option<File> {
    reg.iter()
        .find(|p| {
            if v.shared {
                p.value.file.shadowed_by(v.dev, v.ino)
            } else {
                p.value.file.is(v.dev, v.ino)
            }
        })
        .map(|p| p.value.file.clone())
}

/// The file of a live fit span, if `(dev, ino)` has one.
pub fn file_of(reg: &RangeMap<FileAt>, dev: u64, ino: u64) -> Option<File> {
    reg.iter()
        .find(|p| p.value.file.is(dev, ino))
        .map(|p| p.value.file.clone())
}

fn refused(dev: u64, ino: u64) -> bool {
    REFUSED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&(dev, ino))
}

fn apply(fix: Fix) {
    let mut reg = super::REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    match fix {
        Fix::Forget(lo, hi) if still_viewed(&reg, lo, hi) => {
            crate::log_notice!("fit mode: {lo:#x}..{hi:#x} is still mapped; a torn read");
        }
        Fix::Forget(lo, hi) => {
            crate::log_warning!(
                "fit mode: {lo:#x}..{hi:#x} is no longer the private file mapping libpmem made \
                 (unmapped or replaced without pmem_unmap); forgetting it"
            );
            reg.remove(lo..hi);
        }
        Fix::Follow(v) => {
            if let Some(file) = view_of(&reg, &v) {
                let offset = v.offset;
                reg.insert(v.start..v.end, FileAt { file, offset });
            }
        }
        Fix::Adopt(v) => {
            if let Err(e) = adopt(&mut reg, &v) {
                REFUSED
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((v.dev, v.ino));
                if e.errno() != libc::ENODEV {
                    loud(&e);
                }
            }
        }
    }
    LIVE.store(reg.len(), Ordering::Release);
}

/// Takes over the shared file mapping `v` in place (write lock held).
fn adopt(reg: &mut RangeMap<FileAt>, v: &Vma) -> Result<()> {
    // Look again under the lock: another thread may have adopted it, or the
    // program remapped it, since the unlocked look.
    let Some((now, path)) = procmaps::named(v.start)? else {
        return Ok(());
    };
    if now != *v {
        return Ok(());
    }
    if is_anonymous(&path) {
        return Err(Error::new(libc::ENODEV, "shared anonymous memory: no file"));
    }
    let file = match file_of(reg, v.dev, v.ino) {
        Some(f) => f,
        None => Arc::new(open_mapped(v, &path)?),
    };
    let len = v.end - v.start;
    reg.remove(v.start..v.end);
    super::refuse_twice(reg, &file, v.offset, len, false)?;
    // SAFETY: replaces the shared mapping [start, end) of this very file
    // range with a private one of it; the kernel reads the private pages from
    // the page cache the shared ones wrote to, so the program sees the same
    // bytes at the same addresses.
    let p = unsafe {
        libc::mmap(
            v.start as *mut libc::c_void,
            len,
            v.prot,
            libc::MAP_PRIVATE | libc::MAP_FIXED,
            std::os::fd::AsRawFd::as_raw_fd(&*file),
            v.offset as libc::off_t,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(Error::last_os(format!(
            "fit mode: remapping {} at {:#x} private failed; the range may be lost",
            path.display(),
            v.start
        )));
    }
    let offset = v.offset;
    reg.insert(v.start..v.end, FileAt { file, offset });
    super::watch_fork();
    crate::log_notice!(
        "fit mode: adopted the shared mapping of {} at {:#x}..{:#x} (offset {})",
        path.display(),
        v.start,
        v.end,
        v.offset
    );
    Ok(())
}

/// Shared memory with no file behind it (MAP_SHARED|MAP_ANONYMOUS, System V
/// shared memory, a memfd): nothing to crash-test, nothing to adopt.
fn is_anonymous(path: &std::path::Path) -> bool {
    let name = path.to_string_lossy();
    name.starts_with("/dev/zero") || name.starts_with("/SYSV") || name.starts_with("/memfd:")
}

/// The file a foreign mapping maps, opened read/write: by the name the
/// kernel gives, else through /proc/self/map_files (which needs privilege).
fn open_mapped(v: &Vma, path: &std::path::Path) -> Result<FitFile> {
    FitFile::open_checked(path, v.dev, v.ino).or_else(|e| {
        let alt = format!("/proc/self/map_files/{:x}-{:x}", v.start, v.end);
        FitFile::open_checked(std::path::Path::new(&alt), v.dev, v.ino).map_err(|_| {
            Error::new(
                e.errno(),
                format!(
                    "{}; its stores reach the file without crash fidelity",
                    e.what()
                ),
            )
        })
    })
}

/// Fit mode cannot keep fidelity: in the log and on stderr.
fn loud(e: &Error) {
    eprintln!("libpmem: {}", e.what());
    crate::log_error!("{e}");
}

/// pthread_atfork's child handler.
pub extern "C" fn forked() {
    if live_mappings() > 0 {
        FORKED.store(true, Ordering::Relaxed);
    }
}
