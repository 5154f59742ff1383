//! The missing-flush report: with `PMEM_FIT_REPORT` set (and no crash
//! planned) the engine follows every line it writes back and, at
//! pmem_unmap, at munmap (with the fit preload), at exit (and with
//! `PMEM_FIT_DRAIN_SCAN=1` at every drain),
//! appends to the report the lines whose private copy still differs from the
//! file: stores never flushed. It also counts *wasted* flushes, of lines the
//! file already held.
//!
//! Records (JSON lines, see docs/modes.md):
//! `{"event":"unflushed","at":"exit","file":..,"offset":..,"len":..,"since":S,"until":U}`
//! says the bytes were stored after point S wrote them last (0: never) and
//! still not flushed when U points had passed; `"wasted"` names the lines
//! flushed most often for nothing; `"summary"` has the totals.

use super::lines::Line;
use super::state::{dirty_lines, path_of};
use super::{FileAt, ENGINE};
use crate::mode::crash::{self, json_str};
use crate::persist::CACHELINE;
use crate::range_map::RangeMap;
use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Mutex;

/// A file, by device and inode: the same whichever descriptor maps it.
pub type FileId = (u64, u64);

/// What the report knows of one file's lines.
#[derive(Default)]
struct FileBook {
    path: String,
    /// By line: the last point that wrote it to the file (0: none);
    /// saturates at u32::MAX. Dense: files are written in long runs.
    last_written: Vec<u32>,
    /// By line: times flushed while the file already held it.
    wasted: HashMap<u64, u64>,
    /// By line: the points passed at the scan that first saw it differ
    /// since its last write-back.
    seen: HashMap<u64, u64>,
}

impl FileBook {
    fn last_written(&self, line: u64) -> u64 {
        self.last_written
            .get(line as usize)
            .map_or(0, |&p| p as u64)
    }
}

static BOOK: Mutex<Option<HashMap<FileId, FileBook>>> = Mutex::new(None);
static FLUSHED: AtomicU64 = AtomicU64::new(0);
static WASTED: AtomicU64 = AtomicU64::new(0);
static UNFLUSHED: AtomicU64 = AtomicU64::new(0);

fn book() -> std::sync::MutexGuard<'static, Option<HashMap<FileId, FileBook>>> {
    BOOK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Turns the report on: the exit scan runs before the report closes.
pub fn install() {
    *book() = Some(HashMap::new());
    crash::before_close(at_exit);
}

/// The file an fd names, if fstat works.
pub fn file_id(fd: RawFd) -> Option<FileId> {
    // SAFETY: fstat fills a zeroed stat it is given.
    unsafe {
        let mut st: libc::stat = core::mem::zeroed();
        (libc::fstat(fd, &mut st) == 0).then(|| super::file::id_of(&st))
    }
}

fn file_book(books: &mut HashMap<FileId, FileBook>, id: FileId, fd: RawFd) -> &mut FileBook {
    books.entry(id).or_insert_with(|| FileBook {
        path: path_of(&mut HashMap::new(), fd),
        ..FileBook::default()
    })
}

/// Books one line of a flush: written if it differed, else wasted.
pub fn note_flush(id: FileId, fd: RawFd, line: &Line) {
    let mut guard = book();
    let Some(books) = guard.as_mut() else { return };
    let f = file_book(books, id, fd);
    let index = line.offset / CACHELINE as u64;
    if line.differs {
        let i = index as usize;
        if f.last_written.len() <= i {
            f.last_written.resize(i + 1, 0);
        }
        f.last_written[i] = u32::try_from(crash::points_passed() + 1).unwrap_or(u32::MAX);
        f.seen.remove(&index);
        FLUSHED.fetch_add(1, Ordering::Relaxed);
    } else {
        *f.wasted.entry(index).or_default() += 1;
        WASTED.fetch_add(1, Ordering::Relaxed);
    }
}

/// `[lo, hi)` is about to be unmapped, by pmem_unmap (`at` "unmap") or,
/// as the fit preload reports, by munmap or a mapping put over it
/// ("munmap": libpmemobj releases its pools so).
pub fn before_unmap(reg: &RangeMap<FileAt>, lo: usize, hi: usize, at: &str) {
    if crash::inspecting() {
        scan(reg, lo, hi, at, false);
    }
}

/// A drain, with `PMEM_FIT_DRAIN_SCAN=1`: lines newly seen unflushed.
pub fn at_drain() {
    if crash::drain_scan() {
        scan(&ENGINE.read(), 0, usize::MAX, "drain", true);
    }
}

fn at_exit() {
    if !crash::inspecting() {
        return;
    }
    scan(&ENGINE.read(), 0, usize::MAX, "exit", false);
    let pid = std::process::id();
    if let Some(books) = book().as_ref() {
        let mut top: Vec<(&str, u64, u64)> = books
            .values()
            .flat_map(|f| f.wasted.iter().map(|(&l, &n)| (f.path.as_str(), l, n)))
            .collect();
        top.sort_by_key(|&(path, line, n)| (std::cmp::Reverse(n), path, line));
        for (path, line, n) in top.into_iter().take(10) {
            crash::record(&format!(
                "{{\"event\":\"wasted\",\"pid\":{pid},\"file\":{},\"offset\":{},\"times\":{n}}}",
                json_str(path),
                line * CACHELINE as u64
            ));
        }
    }
    crash::record(&format!(
        "{{\"event\":\"summary\",\"pid\":{pid},\"points\":{},\"flushed_lines\":{},\
         \"wasted_lines\":{},\"unflushed_lines\":{}}}",
        crash::points_passed(),
        FLUSHED.load(Ordering::Relaxed),
        WASTED.load(Ordering::Relaxed),
        UNFLUSHED.load(Ordering::Relaxed),
    ));
}

/// Reports the lines of `[lo, hi)` that differ from their files, runs of
/// neighbours with the same history as one record. `fresh`: only lines not
/// reported since their last write-back (drain scans).
fn scan(reg: &RangeMap<FileAt>, lo: usize, hi: usize, at: &str, fresh: bool) {
    let until = crash::points_passed();
    let mut paths = HashMap::new();
    let mut guard = book();
    let Some(books) = guard.as_mut() else { return };
    // A line mapped twice (aliases of one copy) is reported once.
    let mut reported = std::collections::HashSet::new();
    for p in reg.overlapping(lo..hi) {
        let fd = p.value.file.as_raw_fd();
        let Some(id) = file_id(fd) else { continue };
        let path = path_of(&mut paths, fd);
        let f = file_book(books, id, fd);
        let (from, to) = (lo.max(p.start), hi.min(p.end()));
        // Runs: (offset, len, since, seen).
        let mut runs: Vec<(u64, usize, u64, u64)> = Vec::new();
        let r = dirty_lines(p, from, to, |l| {
            let index = l.offset / CACHELINE as u64;
            if !reported.insert((id, index)) || (fresh && f.seen.contains_key(&index)) {
                return;
            }
            let seen = *f.seen.entry(index).or_insert(until);
            let since = f.last_written(index);
            match runs.last_mut() {
                Some(r) if r.0 + r.1 as u64 == l.offset && (r.2, r.3) == (since, seen) => {
                    r.1 += l.len
                }
                _ => runs.push((l.offset, l.len, since, seen)),
            }
            UNFLUSHED.fetch_add(1, Ordering::Relaxed);
        });
        crate::mode::log_failure(r);
        for (offset, len, since, seen) in runs {
            crash::record(&format!(
                "{{\"event\":\"unflushed\",\"pid\":{},\"at\":\"{at}\",\"file\":{},\
                 \"offset\":{offset},\"len\":{len},\"lines\":{},\"since\":{since},\
                 \"seen\":{seen},\"until\":{until}}}",
                std::process::id(),
                json_str(&path),
                len.div_ceil(CACHELINE),
            ));
        }
    }
}
