//! Keeps the fit registry true to the kernel's mappings, proves spans
//! against it before the engine writes through them, and adopts foreign
//! shared file mappings.
//!
//! A span is *proved* at an address when the kernel's area there is the
//! span's view of its file at the span's offset: a shared mapping of the
//! file's shadow (an object only the engine maps) for the library's own
//! mappings, a private mapping of the file itself (device and inode) for
//! adopted ones. Before a flush writes anything, the areas under it are
//! looked up (one PROCMAP_QUERY ioctl per area; none for spans marked
//! proved while the preload reports every change): a span not proved is
//! forgotten (a plain munmap, a mapping placed over it), so nothing foreign
//! is ever written into the file; an alias of a fit file's shadow at an
//! address the registry does not know (mremap moved or grew it) is
//! followed. A private mapping of a fit file is never followed: the
//! program's own MAP_PRIVATE scratch copy looks the same.
//!
//! In fit mode a writable shared mapping (`rw-s`) of a regular file the
//! library did not make (libpmemobj's pool, a program's own mmap) is
//! adopted in place: the same file range is mapped MAP_PRIVATE elsewhere,
//! then moved over it with one mremap, its contents unchanged, and it is a
//! fit mapping from then on. The kernel serialises the move against the
//! program's faults, so a store of another thread lands either in the
//! shared page cache before it (then it is in the file already) or in the
//! private copy after it; none is lost. What cannot be adopted soundly
//! (read-only, hugetlbfs, devices, files the engine cannot open read/write)
//! is left exactly as the program made it and named once.

use super::file::{FileAt, FitFile};
use super::procmaps::{self, Vma};
use super::{Engine, File, Reg};
use crate::error::{Error, Result};
use crate::mode::{current, Mode};
use crate::range_map::Span;
use core::sync::atomic::{AtomicBool, Ordering};
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, RwLockReadGuard};

/// What must change for the registry to agree with the kernel.
#[derive(Debug, PartialEq, Eq)]
enum Fix {
    /// `[lo, hi)` is no longer what its spans say.
    Forget(usize, usize),
    /// An alias of a fit file's shadow the registry does not know at that
    /// address: moved or grown by mremap.
    Follow(Vma),
    /// A writable shared file mapping the library did not make.
    Adopt(Vma),
}

/// Areas not adopted, each named once: by (device, inode, start, end), so
/// the same file mapped again elsewhere (or an inode number reused by a
/// new file) is looked at afresh. Bounded: the oldest are dropped first,
/// which at worst names one again.
pub struct Refused {
    set: BTreeSet<(u64, u64, usize, usize)>,
    order: VecDeque<(u64, u64, usize, usize)>,
}

const REFUSED_MAX: usize = 4096;

impl Refused {
    pub const fn new() -> Refused {
        Refused {
            set: BTreeSet::new(),
            order: VecDeque::new(),
        }
    }

    fn key(v: &Vma) -> (u64, u64, usize, usize) {
        (v.dev, v.ino, v.start, v.end)
    }

    fn contains(&self, v: &Vma) -> bool {
        self.set.contains(&Self::key(v))
    }

    fn insert(&mut self, v: &Vma) {
        if self.set.insert(Self::key(v)) {
            self.order.push_back(Self::key(v));
        }
        while self.order.len() > REFUSED_MAX {
            if let Some(k) = self.order.pop_front() {
                self.set.remove(&k);
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.set.len()
    }
}

/// Set in a child after fork(2) while fit mappings were live.
static FORKED: AtomicBool = AtomicBool::new(false);
static FORK_REPORTED: AtomicBool = AtomicBool::new(false);

impl Engine {
    /// The registry, read-locked, once its spans over `[lo, hi)` agree with
    /// the kernel (after adopting what fit mode adopts); None when no span
    /// overlaps.
    pub(super) fn registry_over(&self, lo: usize, hi: usize) -> Option<RwLockReadGuard<'_, Reg>> {
        let adopt = current() == Mode::Fit;
        if self.live() == 0 && !adopt || in_brk_heap(lo, hi) {
            return None;
        }
        if self.watching() {
            let reg = self.read();
            // Checked under the lock: unwatch drops the marks under the
            // write lock after it stops watching.
            if self.watching() && reg.covers(lo..hi, |v| v.proved.get()) {
                return Some(reg);
            }
        }
        // Each fix removes a disagreement; the bound only guards against a
        // program remapping the range as fast as we look at it.
        for _ in 0..8 {
            let reg = self.read();
            let known = Known {
                engine: self,
                reg: &reg,
            };
            let fix = match disagreement(&known, lo, hi, adopt) {
                Ok(None) => {
                    if self.watching() {
                        prove_spans(&reg, lo, hi);
                    }
                    return found(reg, lo, hi);
                }
                Ok(Some(fix)) => fix,
                Err(e) => {
                    // Without the kernel's view, write nothing.
                    crate::log_error!("{e}");
                    return None;
                }
            };
            drop(reg);
            self.apply(fix);
        }
        // Still changing under us: nothing proved, nothing written.
        None
    }

    fn refused_lock(&self) -> std::sync::MutexGuard<'_, Refused> {
        self.refused.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn apply(&self, fix: Fix) {
        let mut reg = self.write();
        match fix {
            Fix::Forget(lo, hi) if still_viewed(&reg, lo, hi) => {
                crate::log_notice!("fit mode: {lo:#x}..{hi:#x} is still mapped; a torn read");
            }
            Fix::Forget(lo, hi) => {
                crate::log_warning!(
                    "fit mode: {lo:#x}..{hi:#x} is no longer the file mapping fit mode \
                     followed (unmapped or replaced without pmem_unmap); forgetting it"
                );
                reg.remove(lo..hi);
            }
            Fix::Follow(v) => {
                // Look again under the lock: only a shadow alias is followed.
                let now = procmaps::covering_or_next(v.start).ok().flatten();
                let file = self.shadow_of(&reg, &v);
                if let (Some(file), true) = (file, now.as_ref() == Some(&v)) {
                    let at = FileAt {
                        file,
                        offset: v.offset,
                        shadowed: true,
                        proved: Default::default(),
                    };
                    reg.insert(v.start..v.end, at);
                }
            }
            Fix::Adopt(v) => {
                let known = self.known_file(&reg, v.dev, v.ino);
                if let Err(e) = known.and_then(|f| adopt(&mut reg, &v, f)) {
                    self.refused_lock().insert(&v);
                    // Flushing read-only memory changes nothing: logged only.
                    match e.errno() {
                        libc::ENODEV => {}
                        libc::EROFS => crate::log_notice!("{e}"),
                        _ => loud(&e),
                    }
                }
            }
        }
        self.counted(&reg);
    }
}

/// The start of the brk heap (start_brk, field 47 of /proc/self/stat), 0
/// if unknown; read at the first flush.
fn heap_start() -> usize {
    static START: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *START.get_or_init(|| {
        let stat = std::fs::read("/proc/self/stat").unwrap_or_default();
        let after_name = stat
            .iter()
            .rposition(|&b| b == b')')
            .map_or(&[][..], |i| &stat[i + 1..]);
        after_name
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty())
            .nth(47 - 3)
            .and_then(|f| std::str::from_utf8(f).ok()?.parse().ok())
            .unwrap_or(0)
    })
}

/// Whether `[lo, hi)` lies in the brk heap (malloc's small blocks): the
/// kernel places no mapping there, so nothing there can be a fit mapping or
/// be adopted, and a flush of it asks the kernel nothing. (A file mapped
/// MAP_FIXED into the heap by the program itself is not adopted: its
/// stores reach the file as in flush mode, without crash fidelity.)
fn in_brk_heap(lo: usize, hi: usize) -> bool {
    let start = heap_start();
    // SAFETY: sbrk(0) changes nothing; it returns the current break, which
    // glibc keeps without a system call once the break was read.
    let end = unsafe { libc::sbrk(0) } as usize;
    start != 0 && start <= lo && hi <= end
}

/// Marks the spans over `[lo, hi)` that the kernel shows, over all their
/// length, as their views (read lock held, while watching: no reported
/// change can run until it is released, and each removes its spans).
fn prove_spans(reg: &Reg, lo: usize, hi: usize) {
    for p in reg.overlapping(lo..hi).filter(|p| !p.value.proved.get()) {
        let mut at = p.start;
        while at < p.end() {
            match procmaps::covering_or_next(at) {
                Ok(Some(v)) if v.start <= at && is_view(&v, p, at) => at = v.end,
                _ => break,
            }
        }
        if at >= p.end() {
            p.value.proved.set(true);
        }
    }
}

fn found<'a>(
    reg: RwLockReadGuard<'a, Reg>,
    lo: usize,
    hi: usize,
) -> Option<RwLockReadGuard<'a, Reg>> {
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

/// What the engine knows, read-locked: its registry, shadows and refusals.
struct Known<'a> {
    engine: &'a Engine,
    reg: &'a Reg,
}

impl Engine {
    /// The fit file whose shadow the shared area `v` maps: from a span, or
    /// from a shadow whose spans are gone (an alias moved by mremap).
    fn shadow_of(&self, reg: &Reg, v: &Vma) -> Option<File> {
        let is = |f: &File| v.shared && f.shadowed_by(v.dev, v.ino);
        reg.iter()
            .find(|p| p.value.shadowed && is(&p.value.file))
            .map(|p| p.value.file.clone())
            .or_else(|| self.shadowed().iter().find(|f| is(f)).cloned())
    }
}

/// The first disagreement between the registry and the kernel over `[lo, hi)`.
fn disagreement(known: &Known, lo: usize, hi: usize, adopt: bool) -> Result<Option<Fix>> {
    let reg = known.reg;
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
            if !is_view(&v, p, a) {
                return Ok(Some(Fix::Forget(a, p.end().min(v.end))));
            }
            if !v.shared {
                report_fork();
            }
            if p.start > covered {
                break;
            }
            covered = p.end();
        }
        if covered < to && v.ino != 0 && v.shared {
            if known.engine.shadow_of(reg, &v).is_some() {
                return Ok(Some(Fix::Follow(v)));
            }
            if adopt && !known.engine.refused_lock().contains(&v) {
                return Ok(Some(Fix::Adopt(v)));
            }
        }
        at = to;
    }
    Ok(None)
}

/// Whether area `v` at `a` is span `p`'s view of its file at the span's
/// offset: an alias of the file's shadow (the library's mappings) or a
/// private mapping of the file (adopted ones), as the span says it is.
fn is_view(v: &Vma, p: &Span<FileAt>, a: usize) -> bool {
    let view = if p.value.shadowed {
        v.shared && p.value.file.shadowed_by(v.dev, v.ino)
    } else {
        !v.shared && p.value.file.is(v.dev, v.ino)
    };
    view && v.offset_of(a) == p.file_offset(a)
}

/// Calls `f(from, to)` for each part of `[lo, hi)` (inside span `p`) that
/// the kernel maps, right now, as the span's view and readable: the proof
/// the crash and the report need before they read the memory and write
/// what they read to the file. A guard page or a hole is skipped.
pub fn proved_parts(
    p: &Span<FileAt>,
    lo: usize,
    hi: usize,
    mut f: impl FnMut(usize, usize),
) -> Result<()> {
    let mut at = lo;
    while at < hi {
        let Some(v) = procmaps::covering_or_next(at)? else {
            break;
        };
        let from = v.start.max(at);
        if from >= hi {
            break;
        }
        if v.prot & libc::PROT_READ != 0 && is_view(&v, p, from) {
            f(from, v.end.min(hi));
        }
        at = v.end;
    }
    Ok(())
}

/// Forgets the spans of file `(dev, ino)` the kernel no longer maps as
/// their views, before the engine maps or adopts the file again: a stale
/// span would keep the file's old shadow alive, with contents another tool
/// may have changed since.
pub fn forget_stale(reg: &mut Reg, dev: u64, ino: u64) -> Result<()> {
    let spans: Vec<(usize, usize)> = reg
        .iter()
        .filter(|p| p.value.file.is(dev, ino))
        .map(|p| (p.start, p.end()))
        .collect();
    for (lo, hi) in spans {
        let live = reg
            .overlapping(lo..hi)
            .next()
            .map(|p| {
                let mut at = lo;
                while at < hi {
                    match procmaps::covering_or_next(at)? {
                        Some(v) if v.start <= at && is_view(&v, p, at) => at = v.end,
                        _ => return Ok(false),
                    }
                }
                Ok(true)
            })
            .transpose()?;
        if live != Some(true) {
            reg.remove(lo..hi);
        }
    }
    Ok(())
}

/// Looks again, under the write lock, before forgetting `[lo, hi)`: the
/// text of /proc/self/maps is read in several calls, and while other threads
/// map memory (thread stacks, malloc arenas) one read can miss an area that
/// never moved. Forgetting a live span would lose its flushes for good.
fn still_viewed(reg: &Reg, lo: usize, hi: usize) -> bool {
    let Ok(Some(v)) = procmaps::covering_or_next(lo) else {
        return false;
    };
    v.start <= lo
        && v.end >= hi
        && reg
            .overlapping(lo..hi)
            .all(|p| is_view(&v, p, p.start.max(lo)))
}

/// The file of a live fit span, if `(dev, ino)` has one.
pub fn file_of(reg: &Reg, dev: u64, ino: u64) -> Option<File> {
    reg.iter()
        .find(|p| p.value.file.is(dev, ino))
        .map(|p| p.value.file.clone())
}

/// hugetlbfs's statfs magic number.
const HUGETLBFS_MAGIC: u32 = 0x9584_58f6;

/// Takes over the shared file mapping `v` in place (write lock held);
/// `known`: the engine's file of that inode, if it has one.
fn adopt(reg: &mut Reg, v: &Vma, known: Option<File>) -> Result<()> {
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
    let refuse = |errno: i32, why: &str| {
        Err(Error::new(
            errno,
            format!(
                "fit mode: not adopting the mapping of {} at {:#x}..{:#x}: {why}; it is \
                 left as the program made it, flushed without crash fidelity",
                path.display(),
                v.start,
                v.end
            ),
        ))
    };
    if v.prot & libc::PROT_WRITE == 0 {
        return refuse(libc::EROFS, "it is read-only");
    }
    forget_stale(reg, v.dev, v.ino)?;
    let file = match known {
        Some(f) => f,
        None => Arc::new(open_mapped(v, &path)?),
    };
    if on_hugetlbfs(&file)? {
        return refuse(
            libc::EPERM,
            "hugetlbfs pages cannot be remapped private safely",
        );
    }
    let len = v.end - v.start;
    super::refuse_twice(reg, &file, v.offset, len, false)?;
    remap_private(&file, v).map_err(|e| {
        Error::new(
            e.errno(),
            format!("{}; {} left as it was", e.what(), path.display()),
        )
    })?;
    reg.remove(v.start..v.end);
    let at = FileAt {
        file,
        offset: v.offset,
        shadowed: false,
        proved: Default::default(),
    };
    reg.insert(v.start..v.end, at);
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

/// Maps `v`'s file range private at a place of the kernel's choosing, then
/// moves it over `v` with one mremap: a mapping that cannot be made (no
/// memory, no huge page) fails before `v` is touched.
fn remap_private(file: &FitFile, v: &Vma) -> Result<()> {
    let len = v.end - v.start;
    let fd = std::os::fd::AsRawFd::as_raw_fd(file);
    // SAFETY: a new private mapping at an address the kernel picks; it
    // replaces nothing.
    let tmp = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            len,
            v.prot,
            libc::MAP_PRIVATE,
            fd,
            v.offset as libc::off_t,
        )
    };
    if tmp == libc::MAP_FAILED {
        return Err(Error::last_os("fit mode: mapping the file private"));
    }
    // SAFETY: moves our fresh mapping over the shared mapping of this very
    // file range; the kernel reads the private pages from the page cache
    // the shared ones wrote to, so the program sees the same bytes at the
    // same addresses.
    let p = unsafe {
        libc::mremap(
            tmp,
            len,
            len,
            libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
            v.start as *mut libc::c_void,
        )
    };
    if p as usize != v.start {
        let e = Error::last_os("fit mode: moving the private copy in place");
        // SAFETY: our own mapping, never handed out.
        unsafe { libc::munmap(tmp, len) };
        return Err(e);
    }
    Ok(())
}

fn on_hugetlbfs(file: &FitFile) -> Result<bool> {
    // SAFETY: fstatfs fills the zeroed struct; the descriptor is ours.
    let mut sfs: libc::statfs = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstatfs(std::os::fd::AsRawFd::as_raw_fd(file), &mut sfs) } != 0 {
        return Err(Error::last_os("fit mode: fstatfs"));
    }
    // f_type is a C long: the magic's top bit makes it negative where long
    // has 32 bits (i686), so compare the low 32 bits the kernel filled in.
    Ok(sfs.f_type as u32 == HUGETLBFS_MAGIC)
}

/// Shared memory with no file behind it (MAP_SHARED|MAP_ANONYMOUS, System V
/// shared memory, a memfd): nothing to crash-test, nothing to adopt.
fn is_anonymous(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let name = path.as_os_str().as_bytes();
    name.starts_with(b"/dev/zero") || name.starts_with(b"/SYSV") || name.starts_with(b"/memfd:")
}

/// The file a foreign mapping maps, opened read/write: by the name the
/// kernel gives, else through /proc/self/map_files (which needs privilege).
/// Only a regular file is taken (not a device).
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
    if super::live_mappings() > 0 {
        FORKED.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(ino: u64, start: usize) -> Vma {
        Vma {
            start,
            end: start + 4096,
            offset: 0,
            dev: 1,
            ino,
            shared: true,
            prot: libc::PROT_READ | libc::PROT_WRITE,
        }
    }

    /// The refused list stays bounded, and an inode refused at one place is
    /// looked at afresh at another (a new mapping, or a reused number).
    #[test]
    fn refused_areas_are_bounded_and_per_area() {
        let mut r = Refused::new();
        for i in 0..REFUSED_MAX + 100 {
            r.insert(&area(i as u64, 0x1000));
        }
        assert_eq!(r.len(), REFUSED_MAX);
        assert!(!r.contains(&area(0, 0x1000)), "the oldest went first");
        assert!(r.contains(&area(REFUSED_MAX as u64 + 99, 0x1000)));
        assert!(!r.contains(&area(REFUSED_MAX as u64 + 99, 0x2000)));
    }

    /// A hugetlbfs file (a memfd with MFD_HUGETLB: no mount needed, no huge
    /// page taken before it is mapped) is recognised, so it is never
    /// adopted; an ordinary one is not.
    #[test]
    fn hugetlbfs_files_are_recognised() {
        // SAFETY: memfd_create makes fresh descriptors, owned below.
        let (huge, plain) = unsafe {
            (
                libc::memfd_create(c"fit-huge".as_ptr(), libc::MFD_HUGETLB | libc::MFD_CLOEXEC),
                libc::memfd_create(c"fit-plain".as_ptr(), libc::MFD_CLOEXEC),
            )
        };
        assert!(plain >= 0);
        let file = |fd| FitFile::dup(fd, &super::super::file::stat_fd(fd).unwrap()).unwrap();
        assert!(!on_hugetlbfs(&file(plain)).unwrap());
        // A kernel without hugetlbfs refuses the memfd: nothing to check.
        if huge >= 0 {
            assert!(on_hugetlbfs(&file(huge)).unwrap());
        }
        // SAFETY: made above, unused now.
        unsafe {
            libc::close(plain);
            if huge >= 0 {
                libc::close(huge);
            }
        }
    }
}
