//! fit mode (fault-injection test): the program's mappings of a file show a
//! copy of it the file only catches up with line by line: a flush writes
//! exactly the whole 64-byte lines it covers from the mapping to the file
//! (pwrite(2) at flush time, only the lines that differ from the file; msync
//! writes whole pages). Whatever is never flushed never reaches the file, as
//! after a power failure on real persistent memory.
//!
//! Each flush is a persistence point (see [`crash`]): at the planned one the
//! engine tears the flush after k lines and flips in-flight lines
//! (`state`); with a report open it books every line for the missing-flush
//! report ([`report`]).
//!
//! - Mappings the library makes are aliases of one shared shadow per file
//!   (`shadow`), so they behave as shared mappings among themselves, across
//!   fork and under MADV_DONTNEED.
//! - Foreign shared file mappings (libpmemobj's pool) are adopted at their
//!   first flush: remapped private in place (`follow`).
//! - The registry is checked against the kernel's mappings before each write
//!   (`procmaps`), so plain munmap, mremap and mappings placed over stale
//!   ranges are followed; with `libpmem-fit-preload.so` reporting every
//!   change of the mappings, a span proved once stays proved (`preload`).
//! - Clean lines are compared with a read-only mapping of the file, so a
//!   flush that writes nothing makes no system call.
//!
//! Memory cost: the shadow holds the file's non-zero pages and every page
//! stored to, on top of the file's page cache the flushes write into.
//!
//! Thread-safe: flushes share a read lock on the registry; mapping and
//! unmapping take the write lock. Each file keeps one dup of its fd, shared
//! by all its mappings and closed when the last part of them is unmapped.

mod file;
mod follow;
mod lines;
mod preload;
mod procmaps;
pub mod report;
mod shadow;
mod state;

use super::{crash, log_failure};
use crate::error::{Error, Result};
use crate::persist::{mode_hook::ModeHooks, msync_pages, page_size, CACHELINE};
use crate::range_map::{RangeMap, Span};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use file::{FileAt, FitFile};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub static HOOKS: ModeHooks = ModeHooks {
    name: "fit",
    flush,
    drain,
    msync,
    private_mappings: true,
    on_map: register,
    unmap,
    deep_drain: deep_drain_hook,
};

type File = Arc<FitFile>;

/// The fit engine's state: its registry of file views and what it refused.
/// The library has one ([`ENGINE`]); tests make their own.
pub struct Engine {
    /// The fit mappings (and the parts left of them after partial unmaps),
    /// by address.
    registry: RwLock<RangeMap<FileAt>>,
    /// Spans in `registry`, so other modes skip the lock when there are none.
    live: AtomicUsize,
    /// Shared mappings not adopted, named once (see `follow`).
    refused: Mutex<follow::Refused>,
    /// Persistence points this engine's flushes made.
    points: AtomicU64,
    /// Lines flushed since the last drain, in a process that is to crash.
    in_flight: state::InFlight,
    /// The files whose shadows the library mapped, kept while the kernel
    /// may still map an alias of them: an alias mremap moved is followed
    /// by its shadow even after the span it left was forgotten.
    shadowed: Mutex<Vec<File>>,
    /// The preload reports every change of the program's mappings to this
    /// engine before the kernel acts (see `preload`): proved spans stay
    /// proved until a reported change removes them.
    watched: AtomicBool,
    /// The preload reported a change it could not place (MADV_DONTFORK: a
    /// child would inherit marks of spans it does not map): marks are never
    /// trusted again.
    distrust: AtomicBool,
}

type Reg = RangeMap<FileAt>;

impl Engine {
    pub const fn new() -> Engine {
        Engine {
            registry: RwLock::new(RangeMap::new()),
            live: AtomicUsize::new(0),
            refused: Mutex::new(follow::Refused::new()),
            points: AtomicU64::new(0),
            in_flight: state::InFlight::new(),
            shadowed: Mutex::new(Vec::new()),
            watched: AtomicBool::new(false),
            distrust: AtomicBool::new(false),
        }
    }

    /// Whether a proved span's mark may stand in for a kernel query.
    fn watching(&self) -> bool {
        self.watched.load(Ordering::Acquire) && !self.distrust.load(Ordering::Acquire)
    }

    /// Changes the preload may miss from now on (`forever`: for good):
    /// drops every mark under the write lock, so a flush that trusted one
    /// has finished and every later flush asks the kernel.
    fn unwatch(&self, forever: bool) {
        match forever {
            true => self.distrust.store(true, Ordering::Release),
            false => self.watched.store(false, Ordering::Release),
        }
        let reg = self.write();
        for p in reg.iter() {
            p.value.proved.set(false);
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Reg> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> Writing<'_> {
        let guard = self.registry.write().unwrap_or_else(|e| e.into_inner());
        preload::writing(true);
        Writing(guard)
    }

    /// Publishes the span count after a change under the write lock.
    fn counted(&self, reg: &Reg) {
        self.live.store(reg.len(), Ordering::Release);
    }

    fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    fn shadowed(&self) -> std::sync::MutexGuard<'_, Vec<File>> {
        self.shadowed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The file `(dev, ino)` as the engine knows it: from a live span, else
    /// from a shadow the kernel still maps somewhere (an alias moved by
    /// mremap). A shadow nothing maps any more is dropped: the next mapping
    /// copies the file afresh.
    fn known_file(&self, reg: &Reg, dev: u64, ino: u64) -> Result<Option<File>> {
        if let Some(f) = follow::file_of(reg, dev, ino) {
            return Ok(Some(f));
        }
        let mut shadowed = self.shadowed();
        let Some(i) = shadowed.iter().position(|f| f.is(dev, ino)) else {
            return Ok(None);
        };
        if shadowed[i].shadow.get().is_some_and(|s| s.is_mapped()) {
            return Ok(Some(shadowed[i].clone()));
        }
        shadowed.swap_remove(i);
        Ok(None)
    }

    /// After spans of `files` were removed: forgets the shadows of those
    /// with no span left that the kernel no longer maps anywhere.
    fn release(&self, reg: &Reg, files: &[File]) {
        for f in files {
            if follow::file_of(reg, f.dev, f.ino).is_none() {
                let _ = self.known_file(reg, f.dev, f.ino);
            }
        }
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

/// The library's engine.
static ENGINE: Engine = Engine::new();

/// The registry, write-locked by this thread (see `preload`).
struct Writing<'a>(RwLockWriteGuard<'a, Reg>);

impl core::ops::Deref for Writing<'_> {
    type Target = Reg;
    fn deref(&self) -> &Reg {
        &self.0
    }
}

impl core::ops::DerefMut for Writing<'_> {
    fn deref_mut(&mut self) -> &mut Reg {
        &mut self.0
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        preload::writing(false);
    }
}

/// Called when fit mode is switched on: opens what its flushes need.
pub fn prepare() {
    procmaps::prepare();
    preload::connect(true);
}

/// At unload: closes the /proc/self/maps descriptor, so a program that
/// dlopens and dlcloses the library in a loop keeps no descriptor of it.
pub fn unload() {
    preload::connect(false);
    procmaps::close();
}

/// How many spans of fit mappings are live.
pub fn live_mappings() -> usize {
    ENGINE.live()
}

fn flush(addr: *const u8, len: usize) {
    log_failure(route_lines(addr, len, |a, l| {
        // SAFETY: route_lines passes parts of the hook's range, which its
        // caller guarantees is mapped and does not wrap (ModeHooks::flush).
        unsafe { crate::persist::flush_lines(a, l) };
        Ok(())
    }));
}

/// A drain in any mode: the lines flushed so far are on the media.
pub fn drain() {
    crate::persist::fence();
    if live_mappings() > 0 {
        state::fenced(&ENGINE.in_flight);
        report::at_drain();
    }
}

fn msync(addr: *const u8, len: usize) -> Result<()> {
    route_pages(addr, len, msync_pages)
}

/// A mode's way of handling a range outside fit mappings.
pub type Rest = fn(*const u8, usize) -> Result<()>;

/// Flush granularity: fit mappings get whole cache lines; `rest` the others.
pub fn route_lines(addr: *const u8, len: usize, rest: Rest) -> Result<()> {
    ENGINE.route(addr, len, CACHELINE, rest)
}

/// msync granularity: fit mappings get whole pages; `rest` the others.
pub fn route_pages(addr: *const u8, len: usize, rest: Rest) -> Result<()> {
    ENGINE.route(addr, len, page_size(), rest)
}

impl Engine {
    /// Writes the parts of `[addr, addr + len)` inside fit mappings to their
    /// files, rounded out to `granularity`, as one persistence point; hands
    /// the parts outside to `rest`.
    fn route(&self, addr: *const u8, len: usize, granularity: usize, rest: Rest) -> Result<()> {
        if len == 0 {
            return rest(addr, len);
        }
        let (lo, hi) = (addr as usize, crate::range::lookup_end(addr as usize, len));
        let Some(reg) = self.registry_over(lo, hi) else {
            return rest(addr, len);
        };
        let crash_plan = crash::begin_point();
        self.points.fetch_add(1, Ordering::Relaxed);
        let mut result = Ok(());
        let mut keep = |r: Result<()>| {
            if result.is_ok() {
                result = r;
            }
        };
        let mut segments = Vec::new();
        let mut cur = lo;
        for p in reg.overlapping(lo..hi) {
            if p.start > cur {
                keep(rest(cur as *const u8, p.start - cur));
            }
            let from = (cur.max(p.start) & !(granularity - 1)).max(p.start);
            let to = hi.next_multiple_of(granularity).min(p.end());
            match crash_plan {
                Some(_) => segments.push((p, from, to)),
                None => keep(self.write_back(p, from, to, granularity == CACHELINE)),
            }
            cur = hi.min(p.end());
        }
        if cur < hi {
            keep(rest(cur as *const u8, hi - cur));
        }
        if let Some(plan) = crash_plan {
            state::crash_in_point(&self.in_flight, &reg, &segments, plan);
        }
        drop(reg);
        if granularity != CACHELINE {
            // msync returns with everything written back: no earlier flush is
            // in flight any more.
            state::fenced(&self.in_flight);
        }
        crash::end_point();
        result
    }

    /// pwrite(2)s the lines of `[from, to)` of the private mapping `p` that
    /// differ from its file, runs of neighbours in one call. `fenced_later`:
    /// the lines stay in flight until the next drain (a flush, not an msync).
    fn write_back(
        &self,
        p: &Span<FileAt>,
        from: usize,
        to: usize,
        fenced_later: bool,
    ) -> Result<()> {
        let fd = p.value.file.as_raw_fd();
        let booked = crash::inspecting().then(|| report::file_id(fd)).flatten();
        // The run of differing lines not yet written: (address, offset, len).
        let mut run: Option<(usize, u64, usize)> = None;
        let offset = p.file_offset(from);
        // Clean lines need no pread: when the file's read-only view shows
        // the same bytes, no line differs, so nothing is written or noted.
        if booked.is_none() {
            let file = p.value.file.viewed(offset, to - from);
            if file.is_some_and(|f| lines::same_as_mapped(from, f, to - from)) {
                return Ok(());
            }
        }
        lines::compare(fd, from, offset, to - from, |l| {
            if let Some(id) = booked {
                report::note_flush(id, fd, l);
            }
            if !l.differs {
                return match run.take() {
                    Some((a, o, n)) => lines::pwrite_all(fd, a as *const u8, n, o),
                    None => Ok(()),
                };
            }
            if fenced_later {
                state::note_flush(&self.in_flight, &p.value.file, l);
            }
            match &mut run {
                Some((_, _, n)) => *n += l.len,
                None => run = Some((l.addr, l.offset, l.len)),
            }
            Ok(())
        })?;
        match run {
            Some((a, o, n)) => lines::pwrite_all(fd, a as *const u8, n, o),
            None => Ok(()),
        }
    }

    /// on_map: records a fresh private mapping of `fd` (from offset 0).
    fn register(&self, fd: i32, addr: *mut u8, len: usize) -> Result<()> {
        // A private mapping accepts a read-only or append-only fd, which
        // pwrite could not write at the right offsets: refuse them as a
        // shared read/write mapping would.
        // SAFETY: fcntl(F_GETFL) only reads the descriptor's flags.
        let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if fl < 0 {
            return Err(Error::last_os("fit mode: fcntl(F_GETFL)"));
        }
        if fl & libc::O_ACCMODE != libc::O_RDWR || fl & libc::O_APPEND != 0 {
            return Err(Error::new(
                libc::EACCES,
                "fit mode: the file must be open read/write, not append-only",
            ));
        }
        let st = file::stat_fd(fd)?;
        let mut reg = self.write();
        let (dev, ino) = file::id_of(&st);
        // The kernel just placed this mapping here: whatever the registry
        // still had at these addresses is stale. So are the file's spans
        // the kernel no longer maps (a plain munmap): they must not keep
        // its old shadow alive.
        reg.remove(addr as usize..addr as usize + len);
        follow::forget_stale(&mut reg, dev, ino)?;
        let file = match self.known_file(&reg, dev, ino)? {
            Some(f) => f,
            None => Arc::new(FitFile::dup(fd, &st)?),
        };
        let r = self.map_view(&mut reg, file, &st, addr as usize, len);
        self.counted(&reg);
        r
    }

    /// Puts the file's shadow at `[addr, addr + len)` and records it.
    fn map_view(
        &self,
        reg: &mut Reg,
        file: File,
        st: &libc::stat,
        addr: usize,
        len: usize,
    ) -> Result<()> {
        refuse_twice(reg, &file, 0, len, true)?;
        // A regular file's mappings share its shadow; a device (Device DAX)
        // keeps the kernel's private mapping, which pread cannot copy from.
        let mut shadowed = false;
        if st.st_mode & libc::S_IFMT == libc::S_IFREG {
            match file.shadow(len)?.alias_at(addr, len) {
                // valgrind (EINVAL) and qemu-user (ENOMEM) do not implement
                // mremap's old size 0: keep the private mapping, with an
                // adopted mapping's limits.
                Err(e) if matches!(e.errno(), libc::EINVAL | libc::ENOMEM) => crate::log_warning!(
                    "{e}; this fit mapping stays a private copy (see Limits in docs/modes.md)"
                ),
                Err(e) => return Err(e),
                Ok(()) => shadowed = true,
            }
        }
        if shadowed {
            let mut known = self.shadowed();
            if !known.iter().any(|f| Arc::ptr_eq(f, &file)) {
                known.push(file.clone());
            }
        }
        let view = FileAt {
            file,
            offset: 0,
            shadowed,
            proved: Default::default(),
        };
        reg.insert(addr..addr + len, view);
        watch_fork();
        Ok(())
    }

    /// Unmaps `[addr, addr + len)` with `munmap`, its spans (rounded out to
    /// whole pages, as munmap(2) unmaps them) forgotten first and the write
    /// lock held throughout: no other thread can record a new mapping at
    /// these addresses before munmap frees them, so none is forgotten.
    fn unmap(
        &self,
        addr: *mut u8,
        len: usize,
        munmap: &mut dyn FnMut() -> Result<()>,
    ) -> Result<()> {
        if self.live() == 0 {
            return munmap();
        }
        let lo = addr as usize;
        let hi = crate::range::lookup_end(lo, len)
            .checked_next_multiple_of(page_size())
            .unwrap_or(usize::MAX);
        let mut reg = self.write();
        // The missing-flush report looks at the range while it is mapped.
        report::before_unmap(&reg, lo, hi, "unmap");
        let removed = reg.remove(lo..hi);
        let r = munmap();
        if r.is_err() {
            for s in removed {
                reg.insert(s.start..s.end(), s.value);
            }
        } else {
            let files: Vec<File> = removed.into_iter().map(|s| s.value.file).collect();
            self.release(&reg, &files);
        }
        self.counted(&reg);
        r
    }

    /// pmem_deep_drain's work: fit mappings get no write, since a deep drain
    /// flushes no cache line (their flushes reached the file when made); the
    /// parts outside them go to `rest`.
    fn deep_drain(&self, addr: *const u8, len: usize, rest: Rest) -> Result<()> {
        let (lo, hi) = (addr as usize, crate::range::lookup_end(addr as usize, len));
        let Some(reg) = self.registry_over(lo, hi) else {
            return rest(addr, len);
        };
        let mut gaps = Vec::new();
        let mut cur = lo;
        for p in reg.overlapping(lo..hi) {
            if p.start > cur {
                gaps.push((cur, p.start));
            }
            cur = hi.min(p.end());
        }
        if cur < hi {
            gaps.push((cur, hi));
        }
        drop(reg);
        // A drain all the same: lines flushed before it can no longer be
        // taken back.
        drain();
        gaps.into_iter()
            .try_for_each(|(from, to)| rest(from as *const u8, to - from))
    }
}

fn register(fd: i32, addr: *mut u8, len: usize) -> Result<()> {
    ENGINE.register(fd, addr, len)
}

/// ModeHooks::unmap of every mode (fit mappings outlive a mode switch).
pub fn unmap(addr: *mut u8, len: usize, munmap: &mut dyn FnMut() -> Result<()>) -> Result<()> {
    ENGINE.unmap(addr, len, munmap)
}

/// ModeHooks::deep_drain of every mode: no write to fit mappings, msync(2)
/// for the rest.
pub fn deep_drain_hook(addr: *const u8, len: usize) -> Result<()> {
    ENGINE.deep_drain(addr, len, msync_pages)
}

/// Fails if file range `[offset, offset + len)` of `file` is already in a
/// live fit mapping that cannot share stores with a new one: an adopted
/// mapping is a private copy, and so is a new adopted one (`to_shadow`
/// false). Mappings of the shadow share. The caller forgot the spans the
/// kernel no longer maps ([`follow::forget_stale`]).
fn refuse_twice(reg: &Reg, file: &File, offset: u64, len: usize, to_shadow: bool) -> Result<()> {
    let end = offset.saturating_add(len as u64);
    let clash = reg.iter().find(|p| {
        Arc::ptr_eq(&p.value.file, file)
            && p.value.offset < end
            && offset < p.value.offset + p.len as u64
            && !(to_shadow && p.value.shadowed)
    });
    let Some(p) = clash else {
        return Ok(());
    };
    let e = Error::new(
        libc::EBUSY,
        format!(
            "fit mode: this file range is already mapped at {:#x}, and a private \
             copy (an adopted mapping, or any made under valgrind) could not see \
             the other's stores",
            p.start
        ),
    );
    crate::log_error!("{e}");
    Err(e)
}

/// Marks a child forked while fit mappings are live (see `follow`).
fn watch_fork() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers a handler that only stores to an atomic.
    ONCE.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(follow::forked));
    });
}

/// on_map of the modes that map shared: nothing to record.
pub fn ignore_map(_fd: i32, _addr: *mut u8, _len: usize) -> Result<()> {
    Ok(())
}

/// A fresh memfd of `file_len` bytes and a private read/write mapping of
/// its first `map_len`: the unit tests' stand-in for a pool.
#[cfg(test)]
fn memfd_mapping(name: &core::ffi::CStr, file_len: usize, map_len: usize) -> (i32, usize) {
    // SAFETY: plain syscalls on a fresh memfd and a fresh private mapping.
    unsafe {
        let fd = libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC);
        assert!(fd >= 0 && libc::ftruncate(fd, file_len as libc::off_t) == 0);
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let p = libc::mmap(
            core::ptr::null_mut(),
            map_len,
            prot,
            libc::MAP_PRIVATE,
            fd,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        (fd, p as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    static REST: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

    fn record_rest(addr: *const u8, len: usize) -> Result<()> {
        REST.lock().unwrap().push((addr as usize, len));
        Ok(())
    }

    fn file_bytes(fd: i32, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        // SAFETY: buf is writable for len bytes.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), len, 0) };
        assert_eq!(n, len as isize);
        buf
    }

    /// Lines (rounded out, clipped to spans) go to the file at the right
    /// offsets, holes between spans go to `rest`, and each call is one point.
    #[test]
    fn routes_lines_to_files_and_the_rest_elsewhere() {
        let page = page_size();
        let len = 3 * page;
        let (fd, base) = memfd_mapping(c"fit-test", len, len);
        let e = Engine::new();
        e.register(fd, base as *mut u8, len).unwrap();
        let route_lines = |a: usize, l: usize| e.route(a as *const u8, l, CACHELINE, record_rest);
        // SAFETY: the mapping made above, now the file's shadow.
        unsafe { core::ptr::write_bytes(base as *mut u8, 0xaa, len) };
        route_lines(base + page - 10, 20).unwrap();
        let mut want = vec![0u8; len];
        want[page - 64..page + 64].fill(0xaa);
        assert!(file_bytes(fd, len) == want, "file differs");

        // Unmap the middle page: a flush across it writes both ends and
        // hands the middle to `rest`.
        e.unmap((base + page) as *mut u8, page, &mut || {
            // SAFETY: the page belongs to the mapping made above.
            unsafe { libc::munmap((base + page) as *mut libc::c_void, page) };
            Ok(())
        })
        .unwrap();
        route_lines(base + page - 96, page + 96 + 100).unwrap();
        want[page - 128..page].fill(0xaa);
        want[2 * page..2 * page + 128].fill(0xaa);
        assert!(file_bytes(fd, len) == want, "file differs");
        assert_eq!(*REST.lock().unwrap(), vec![(base + page, page)]);
        assert_eq!(e.points.load(Ordering::Relaxed), 2);

        // Outside every span: not a point, all of it to `rest`.
        route_lines(base + page + 8, 8).unwrap();
        assert_eq!(e.points.load(Ordering::Relaxed), 2);

        // A deep drain is a drain: no point, and no line written (the
        // stored, never flushed line stays out of the file).
        // SAFETY: inside the first page of the mapping made above.
        unsafe { core::ptr::write_bytes((base + 256) as *mut u8, 0x55, 64) };
        e.deep_drain(base as *const u8, page, record_rest).unwrap();
        assert!(file_bytes(fd, len) == want, "a deep drain wrote a line");
        assert_eq!(e.points.load(Ordering::Relaxed), 2);

        e.unmap(base as *mut u8, len, &mut || {
            // SAFETY: the mapping was made above and nothing uses it.
            unsafe { libc::munmap(base as *mut libc::c_void, len) };
            Ok(())
        })
        .unwrap();
        assert_eq!(e.live(), 0);
        // SAFETY: made above, unused now.
        unsafe { libc::close(fd) };
    }

    /// A clean flush compares with the file's read-only view and writes
    /// nothing; once a line differs, the pread compare decides, so a file
    /// another tool shrank since the view was made never grows.
    #[test]
    fn clean_lines_write_nothing_and_a_shrunk_file_never_grows() {
        let page = page_size();
        let (fd, base) = memfd_mapping(c"fit-view", page, page);
        let e = Engine::new();
        e.register(fd, base as *mut u8, page).unwrap();
        let flush = |a: usize, l: usize| e.route(a as *const u8, l, CACHELINE, record_rest);
        // SAFETY: the mapping registered above.
        unsafe { core::ptr::write_bytes(base as *mut u8, 0x77, 128) };
        flush(base, 128).unwrap();
        assert!(file_bytes(fd, 128) == vec![0x77; 128]);
        assert!(e
            .read()
            .iter()
            .next()
            .unwrap()
            .value
            .file
            .viewed(0, 128)
            .is_some());

        // Another tool shrinks the file to 100 bytes; the view still shows
        // the whole first page (zeros past 100).
        // SAFETY: a plain ftruncate of our memfd.
        assert_eq!(unsafe { libc::ftruncate(fd, 100) }, 0);
        // SAFETY: inside the registered mapping.
        unsafe { core::ptr::write_bytes((base + 64) as *mut u8, 0x55, 64) };
        flush(base + 64, 64).unwrap();
        // SAFETY: fstat fills the zeroed struct.
        let size = unsafe {
            let mut st: libc::stat = core::mem::zeroed();
            assert_eq!(libc::fstat(fd, &mut st), 0);
            st.st_size
        };
        assert_eq!(size, 100, "a flush grew the file");
        assert!(file_bytes(fd, 100)[64..] == [0x55; 36]);
        // SAFETY: made above, unused now.
        unsafe {
            libc::munmap(base as *mut libc::c_void, page);
            libc::close(fd);
        }
    }
}
