//! The state a crash leaves in the files.
//!
//! At a crash, real hardware may have written any of the lines in flight:
//! a *dirty* line (stored, never flushed) can have been evicted from the
//! cache, and a line flushed since the last drain may not have reached the
//! media. The crash point's plan flips a chosen subset of these candidates
//! (see [`crash::Flips`]) before the process dies. To take a flushed line back,
//! the engine keeps what the file held before each flush since the last
//! drain, only in a process that is to crash.

use super::lines::{self, Line};
use super::{File, FileAt};
use crate::mode::crash::{self, Plan};
use crate::mode::strategy::Counts;
use crate::persist::CACHELINE;
use crate::range_map::{RangeMap, Span};
use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::sync::Mutex;

/// A line flushed since the last drain: what the file held before.
struct Unfenced {
    /// Keeps the descriptor open until the drain.
    file: File,
    len: usize,
    old: [u8; CACHELINE],
}

/// The lines flushed since the last drain (part of the engine's state), by
/// (descriptor, offset); the first flush since the drain keeps its old bytes.
pub struct InFlight(Mutex<BTreeMap<(RawFd, u64), Unfenced>>);

impl InFlight {
    pub const fn new() -> InFlight {
        InFlight(Mutex::new(BTreeMap::new()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(RawFd, u64), Unfenced>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Remembers the file's bytes under a line about to be written, if a
/// crash is planned.
pub fn note_flush(in_flight: &InFlight, file: &File, line: &Line) {
    if !crash::crash_planned() {
        return;
    }
    let mut old = [0u8; CACHELINE];
    old[..line.len].copy_from_slice(line.file);
    in_flight
        .lock()
        .entry((file.as_raw_fd(), line.offset))
        .or_insert_with(|| Unfenced {
            file: file.clone(),
            len: line.len,
            old,
        });
}

/// A drain: every line flushed so far is on the media.
pub fn fenced(in_flight: &InFlight) {
    if crash::crash_planned() {
        in_flight.lock().clear();
    }
}

/// A line the crash may flip, and the bytes a flip writes.
struct Candidate {
    path: Rc<str>,
    fd: RawFd,
    offset: u64,
    len: usize,
    /// Flushed since the drain (a flip restores `bytes`), else dirty (a
    /// flip writes the private copy at `bytes`).
    flushed: bool,
    bytes: *const u8,
}

impl Candidate {
    /// A line of `path` whose private copy differs from the file.
    fn dirty(path: &Rc<str>, fd: RawFd, l: &Line) -> Candidate {
        Candidate {
            path: Rc::clone(path),
            fd,
            offset: l.offset,
            len: l.len,
            flushed: false,
            bytes: l.addr as *const u8,
        }
    }
}

/// The crash point: writes the first `plan.tear` lines of `segments` that
/// differ from the file (one pwrite each), flips the chosen candidates,
/// records the crash in the report and dies.
pub fn crash_in_point(
    in_flight: &InFlight,
    reg: &RangeMap<FileAt>,
    segments: &[(&Span<FileAt>, usize, usize)],
    plan: &Plan,
) -> ! {
    let mut torn = 0;
    let mut lines_changed = 0u64;
    let mut paths = HashMap::new();
    // The point's lines in write order, for the images of its tears.
    let mut point_lines = Vec::new();
    for &(p, from, to) in segments {
        let offset = p.file_offset(from);
        let fd = p.value.file.as_raw_fd();
        let path: Rc<str> = path_of(&mut paths, fd).into();
        let r = lines::compare(fd, from, offset, to - from, |l| {
            if l.differs {
                lines_changed += 1;
                if crash::images_requested() {
                    point_lines.push(Candidate::dirty(&path, fd, l));
                }
                if torn < plan.tear {
                    note_flush(in_flight, &p.value.file, l);
                    lines::pwrite_all(fd, l.addr as *const u8, l.len, l.offset)?;
                    torn += 1;
                }
            }
            Ok(())
        });
        crate::mode::log_failure(r);
    }
    // Held until death: the flushed candidates' bytes live in the table.
    let table = in_flight.lock();
    let cands = candidates(reg, &table, &mut paths);
    let flushed = cands.iter().filter(|c| c.flushed).count() as u64;
    let counts = Counts {
        lines: lines_changed,
        unfenced: flushed,
        dirty: cands.len() as u64 - flushed,
    };
    if crash::images_requested() {
        crash::write_images(plan.point, counts, &views(&cands), &views(&point_lines));
    }
    let chosen = plan.flips.choose(cands.len());
    let mut flipped = Vec::new();
    for (c, _) in cands.iter().zip(&chosen).filter(|(_, &f)| f) {
        crate::mode::log_failure(lines::pwrite_all(c.fd, c.bytes, c.len, c.offset));
        if flipped.len() < crash::CrashRecord::MAX_FLIPPED {
            flipped.push(crash::Flipped {
                path: c.path.to_string(),
                offset: c.offset,
                written: !c.flushed,
            });
        }
    }
    let record = crash::CrashRecord {
        pid: u64::from(std::process::id()),
        point: plan.point,
        tear: torn,
        lines: counts.lines,
        unfenced: counts.unfenced,
        dirty: counts.dirty,
        state: plan.flips.to_string(),
        flipped,
    };
    crash::record(&record.to_json());
    crash::die()
}

/// The candidates as the crash module takes them.
fn views(cands: &[Candidate]) -> Vec<crash::Candidate<'_>> {
    cands
        .iter()
        .map(|c| crash::Candidate {
            path: &c.path,
            offset: c.offset,
            flushed: c.flushed,
            // SAFETY: `bytes` points at `len` readable bytes, the private
            // copy's line or the table's saved line, both alive until death.
            bytes: unsafe { core::slice::from_raw_parts(c.bytes, c.len) },
        })
        .collect()
}

/// The crash's candidates, numbered as [`crash::Flips`] says: the lines flushed
/// since the last drain, then the dirty lines, each by path and offset.
fn candidates(
    reg: &RangeMap<FileAt>,
    table: &BTreeMap<(RawFd, u64), Unfenced>,
    paths: &mut HashMap<RawFd, String>,
) -> Vec<Candidate> {
    let mut dirty = Vec::new();
    for p in reg.overlapping(0..usize::MAX) {
        let fd = p.value.file.as_raw_fd();
        let path: Rc<str> = path_of(paths, fd).into();
        let r = dirty_lines(p, p.start, p.end(), |l| {
            dirty.push(Candidate::dirty(&path, fd, l));
        });
        crate::mode::log_failure(r);
    }
    let is_dirty: std::collections::HashSet<(RawFd, u64)> =
        dirty.iter().map(|c| (c.fd, c.offset)).collect();
    let mut flushed: Vec<Candidate> = table
        .iter()
        .filter(|(k, _)| !is_dirty.contains(k))
        .map(|(&(_, offset), u)| Candidate {
            path: path_of(paths, u.file.as_raw_fd()).into(),
            fd: u.file.as_raw_fd(),
            offset,
            len: u.len,
            flushed: true,
            bytes: u.old.as_ptr(),
        })
        .collect();
    flushed.sort_by(|a, b| (&a.path, a.offset).cmp(&(&b.path, b.offset)));
    dirty.sort_by(|a, b| (&a.path, a.offset).cmp(&(&b.path, b.offset)));
    // Two mappings of one file range (aliases of one copy) give one line.
    dirty.dedup_by(|a, b| (a.fd, a.offset) == (b.fd, b.offset));
    flushed.extend(dirty);
    flushed
}

/// Calls `f` for each line of `[lo, hi)` (page-aligned, inside span `p`)
/// whose private copy differs from the file.
pub fn dirty_lines(
    p: &Span<FileAt>,
    lo: usize,
    hi: usize,
    mut f: impl FnMut(&Line),
) -> crate::Result<()> {
    let fd = p.value.file.as_raw_fd();
    let mut result = Ok(());
    let mut keep = |r| {
        if result.is_ok() {
            result = r;
        }
    };
    // Only what is proved against the kernel now: a span left by a plain
    // munmap may have other memory (or none, or an unreadable guard) at its
    // addresses, and nothing of that may be read, reported, or written to
    // the file.
    let proved = super::follow::proved_parts(p, lo, hi, |from, to| {
        lines::written_pages(from, to - from, |a, b| {
            let offset = p.file_offset(a);
            keep(lines::compare(fd, a, offset, b - a, |l| {
                if l.differs {
                    f(l);
                }
                Ok(())
            }));
        });
    });
    keep(proved);
    result
}

/// The file's path, for ordering candidates the same way in every run and
/// for the report.
pub fn path_of(cache: &mut HashMap<RawFd, String>, fd: RawFd) -> String {
    cache
        .entry(fd)
        .or_insert_with(|| {
            std::fs::read_link(format!("/proc/self/fd/{fd}")).map_or_else(
                |_| format!("fd{fd}"),
                |p| linked_name(fd, &p).unwrap_or_else(|| p.to_string_lossy().into_owned()),
            )
        })
        .clone()
}

/// pmem_map_file makes a new file unnamed (O_TMPFILE) and links it under its
/// name afterwards; its descriptors keep the kernel's name for the unnamed
/// file, `DIR/#INODE (deleted)`, which changes from run to run. The name the
/// file was linked under, found in DIR by inode.
fn linked_name(fd: RawFd, shown: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::{DirEntryExt, MetadataExt};
    let name = shown.file_name()?.to_str()?;
    if !name.starts_with('#') || !name.ends_with(" (deleted)") {
        return None;
    }
    let (dev, ino) = super::file::id_of(&super::file::stat_fd(fd).ok()?);
    let dir = shown.parent()?;
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.ino() == ino)
        .find(|e| e.metadata().is_ok_and(|m| m.dev() == dev && m.ino() == ino))
        .map(|e| e.path().to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::super::{memfd_mapping, Engine};
    use crate::persist::{page_size, CACHELINE};

    /// A flush of a mapping's last page writes what lies inside the file
    /// and nothing past its end, as msync of a shared mapping would.
    #[test]
    fn write_back_stops_at_end_of_file() {
        let page = page_size();
        let (fd, base) = memfd_mapping(c"fit-eof", 100, page);
        // Registering puts the file's shadow in place: store after it, as
        // programs store after pmem_map_file returns.
        let e = Engine::new();
        e.register(fd, base as *mut u8, page).unwrap();
        // SAFETY: the first 256 bytes of the page mapped above.
        unsafe { core::ptr::write_bytes(base as *mut u8, 0xaa, 256) };
        e.route(base as *const u8, 256, CACHELINE, |_, _| Ok(()))
            .unwrap();
        let mut buf = [0u8; 256];
        // SAFETY: reads into a local buffer.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), 256, 0) };
        assert_eq!(n, 100, "the file did not grow");
        assert!(buf[..100].iter().all(|&b| b == 0xaa));
        // SAFETY: the mapping and fd were made above and nothing uses them.
        let mut munmap = || unsafe {
            libc::munmap(base as *mut libc::c_void, page);
            Ok(())
        };
        e.unmap(base as *mut u8, page, &mut munmap).unwrap();
        // SAFETY: as above.
        unsafe { libc::close(fd) };
    }

    /// Dirty lines are found around a PROT_NONE guard page, which is never
    /// read, and none after the memory is unmapped behind the engine's back.
    #[test]
    fn dirty_lines_skip_guard_pages_and_unmapped_memory() {
        let page = page_size();
        let len = 3 * page;
        let (fd, base) = memfd_mapping(c"fit-guard", len, len);
        let e = Engine::new();
        e.register(fd, base as *mut u8, len).unwrap();
        // SAFETY: the first and last pages of the mapping made above; then
        // the middle one made unreadable.
        unsafe {
            core::ptr::write_bytes(base as *mut u8, 1, 64);
            core::ptr::write_bytes((base + 2 * page) as *mut u8, 2, 64);
            libc::mprotect((base + page) as *mut libc::c_void, page, libc::PROT_NONE);
        }
        let dirty = || {
            let mut offsets = Vec::new();
            let reg = e.read();
            for p in reg.iter() {
                super::dirty_lines(p, p.start, p.end(), |l| offsets.push(l.offset)).unwrap();
            }
            offsets
        };
        assert_eq!(dirty(), vec![0, 2 * page as u64]);
        // SAFETY: unmaps the mapping made above without telling the engine.
        unsafe { libc::munmap(base as *mut libc::c_void, len) };
        assert!(dirty().is_empty(), "read memory that is gone");
        // SAFETY: made above, unused now.
        unsafe { libc::close(fd) };
    }
}
