//! Crash injection for fit mode, and the fit report file.
//!
//! A persistence point is one call that writes lines to a file in fit mode
//! (pmem_persist, pmem_flush, pmem_flush_cache, pmem_msync, the deep calls,
//! each pmem_mem* that flushes). The environment chooses one crash:
//!
//! * `PMEM_FIT_CRASH_AT=N` or `N.k`: SIGKILL at point N after k (default 0)
//!   of the lines it changes have reached the file, one pwrite per line;
//! * `PMEM_FIT_CRASH_STATE=SPEC`: which in-flight lines to flip just before
//!   dying (see [`Flips`]; default `none`);
//! * `PMEM_FIT_REPORT=FILE`: JSON lines, appended, so any number of
//!   processes can share it: each keeps a count line it rewrites in place
//!   after every point (the count survives any ending), and appends its crash
//!   record, missing-flush records and exit summary (opened by
//!   `crate::env::open_named_file`'s rule: a regular file, created 0600);
//! * `PMEM_FIT_DRAIN_SCAN=1`: look for unflushed lines at every drain too.
//!
//! Only the first process to crash on a report does so: a process that finds
//! a crash record in the report at load runs without crash injection (a
//! wrapper's later steps, a recovery run).

use super::load_warning;
pub use super::protocol::{json_str, CrashRecord, Flipped, Flips};
use super::protocol::{
    CrashAt, ImageSpec, PatchLine, CRASH_IMAGES_VAR, CRASH_STATES_VAR, EXPANDED_LIST, FLIPS_SYNTAX,
};
use super::strategy::{Counts, Expansion};
use crate::env;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// Points begun, and points whose lines were all written.
static STARTED: AtomicU64 = AtomicU64::new(0);
static PASSED: AtomicU64 = AtomicU64::new(0);
/// The crash this process is to die of, if any.
static PLAN: OnceLock<Plan> = OnceLock::new();
static REPORT: Mutex<Option<Report>> = Mutex::new(None);
/// A report is open (read without the lock on hot paths).
static REPORTING: AtomicBool = AtomicBool::new(false);
static DRAIN_SCAN: AtomicBool = AtomicBool::new(false);
/// The states whose images the crash also writes, and where.
static IMAGES: OnceLock<(Wanted, PathBuf)> = OnceLock::new();

/// The states a `PMEM_FIT_CRASH_STATES` file asks images of.
enum Wanted {
    /// These, one a line.
    Listed(Vec<ImageSpec>),
    /// Those the strategies pick from what the crash sees (one line,
    /// `expand LIST BUDGET SEED`); their list is written beside the images.
    Expand(Expansion),
}
/// Run once before the report closes (the fit engine's exit scan).
static BEFORE_CLOSE: OnceLock<fn()> = OnceLock::new();

/// Where to crash and in which state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub point: u64,
    /// Lines of the point written (one pwrite each) before dying.
    pub tear: u64,
    pub flips: Flips,
}

/// The open report: records are appended through `append`; the process's
/// count line is rewritten in place through `slot` (pwrite on an O_APPEND
/// descriptor would append on Linux).
struct Report {
    append: File,
    slot: File,
    /// Offset of the count's digits, and the process that owns the line
    /// (a forked child makes its own).
    digits_at: u64,
    pid: u32,
}

/// Width of the count field: any u64, padded with spaces (valid JSON).
const DIGITS: usize = 20;

impl Report {
    fn open(path: &std::ffi::OsStr) -> std::io::Result<Report> {
        let append = env::open_named_file(path, OpenOptions::new().create(true).append(true))?;
        let slot = env::open_named_file(path, OpenOptions::new().write(true))?;
        let mut r = Report {
            append,
            slot,
            digits_at: 0,
            pid: 0,
        };
        r.new_slot()?;
        Ok(r)
    }

    /// Appends this process's count line.
    fn new_slot(&mut self) -> std::io::Result<()> {
        let pid = std::process::id();
        let line = format!(
            "{{\"event\":\"count\",\"pid\":{pid},\"points\":{:<DIGITS$}}}\n",
            PASSED.load(Ordering::Acquire)
        );
        self.append.write_all(line.as_bytes())?;
        // An O_APPEND write leaves this description's offset at the end of
        // what it wrote, whatever other processes append meanwhile.
        let end = self.append.stream_position()?;
        self.digits_at = end - 2 - DIGITS as u64;
        self.pid = pid;
        Ok(())
    }

    fn write_count(&mut self) -> std::io::Result<()> {
        if self.pid != std::process::id() {
            self.new_slot()?;
        }
        // Read under the lock so the line never goes back to a smaller count.
        let text = format!("{:<DIGITS$}", PASSED.load(Ordering::Acquire));
        self.slot.write_all_at(text.as_bytes(), self.digits_at)
    }
}

/// Reads the `PMEM_FIT_*` variables; called once at load.
pub fn init_from_env() {
    let mut plan = None;
    if let Some(v) = env::var_os("PMEM_FIT_CRASH_AT") {
        match v.to_str().and_then(CrashAt::parse) {
            Some(at) => plan = Some((at.point, at.tear)),
            None => load_warning(&format!(
                "ignoring PMEM_FIT_CRASH_AT={v:?}: want N or N.k, N a point number from 1"
            )),
        }
    }
    let mut flips = Flips::None;
    if let Some(v) = env::var_os("PMEM_FIT_CRASH_STATE") {
        match v.to_str().and_then(Flips::parse) {
            Some(f) => flips = f,
            None => load_warning(&format!(
                "ignoring PMEM_FIT_CRASH_STATE={v:?}: want {FLIPS_SYNTAX}"
            )),
        }
    }
    DRAIN_SCAN.store(
        env::var_os("PMEM_FIT_DRAIN_SCAN").is_some_and(|v| v == "1"),
        Ordering::Relaxed,
    );
    if let Some(path) = env::var_os("PMEM_FIT_REPORT") {
        if plan.is_some() && already_crashed(&path) {
            load_warning(&format!(
                "PMEM_FIT_CRASH_AT ignored: PMEM_FIT_REPORT={path:?} already holds a crash \
                 (an earlier process of this run crashed; remove the file to crash again)"
            ));
            plan = None;
        }
        match Report::open(&path) {
            Ok(r) => {
                *lock_report() = Some(r);
                REPORTING.store(true, Ordering::Release);
                close_at_exit();
            }
            Err(e) => load_warning(&format!("cannot open PMEM_FIT_REPORT={path:?}: {e}")),
        }
    }
    if let Some((point, tear)) = plan {
        let _ = PLAN.set(Plan { point, tear, flips });
        images_from_env();
    }
}

/// Reads `PMEM_FIT_CRASH_STATES` and `PMEM_FIT_CRASH_IMAGES` (both or none).
fn images_from_env() {
    let (Some(list), Some(dir)) = (env::var_os(CRASH_STATES_VAR), env::var_os(CRASH_IMAGES_VAR))
    else {
        return;
    };
    // Read as the report is: never blocking the load on a FIFO.
    let mut text = String::new();
    let read = env::open_named_file(&list, OpenOptions::new().read(true))
        .and_then(|mut f| f.read_to_string(&mut text));
    let wanted = match (read, text.lines().next().and_then(Expansion::parse)) {
        (Err(_), _) => None,
        (Ok(_), Some(e)) => Some(Wanted::Expand(e)),
        (Ok(_), None) => text
            .lines()
            .map(ImageSpec::parse)
            .collect::<Option<_>>()
            .map(Wanted::Listed),
    };
    match wanted {
        Some(w) => {
            let _ = IMAGES.set((w, PathBuf::from(dir)));
        }
        None => load_warning(&format!(
            "ignoring {CRASH_STATES_VAR}={list:?}: want a readable file of states, one a line: \
             tear:K, or {FLIPS_SYNTAX}; or one line: expand STATES BUDGET SEED"
        )),
    }
}

/// A line the crash may flip, as [`write_images`] takes it.
pub struct Candidate<'a> {
    pub path: &'a str,
    pub offset: u64,
    /// Flushed since the drain (`bytes` are the file's before), else dirty.
    pub flushed: bool,
    pub bytes: &'a [u8],
}

/// Whether the crash is to write state images ([`write_images`]).
pub fn images_requested() -> bool {
    IMAGES.get().is_some()
}

/// Writes, for each requested state of point `at` (whose crash sees
/// `counts`), the lines it changes as
/// a patch file named by the state's index (with an expansion, the states
/// the strategies pick, listed in [`EXPANDED_LIST`]): for flips, those it flips among `cands`
/// (numbered as [`Flips`] says); for a tear of K, the first K of the
/// point's own lines, `point` (in the order the point writes them).
pub fn write_images(at: u64, counts: Counts, cands: &[Candidate], point: &[Candidate]) {
    let Some((wanted, dir)) = IMAGES.get() else {
        return;
    };
    let specs = match wanted {
        Wanted::Listed(v) => v.clone(),
        Wanted::Expand(e) => {
            let specs: Vec<ImageSpec> = e
                .picks(at, counts)
                .into_iter()
                .map(|p| match p.tear {
                    0 => ImageSpec::Flips(p.flips),
                    k => ImageSpec::Tear(k),
                })
                .collect();
            let list: String = specs.iter().map(|s| format!("{s}\n")).collect();
            if let Err(e) = std::fs::write(dir.join(EXPANDED_LIST), list) {
                crate::log_error!("{CRASH_IMAGES_VAR}: {}: {e}", dir.display());
                return;
            }
            specs
        }
    };
    for (i, spec) in specs.iter().enumerate() {
        let mut data = Vec::new();
        let lines: Vec<&Candidate> = match spec {
            ImageSpec::Flips(f) => cands
                .iter()
                .zip(f.choose(cands.len()))
                .filter_map(|(c, chosen)| chosen.then_some(c))
                .collect(),
            ImageSpec::Tear(k) => point.iter().take(*k as usize).collect(),
        };
        for c in lines {
            PatchLine::encode(c.path, c.offset, c.flushed, c.bytes, &mut data);
        }
        if let Err(e) = std::fs::write(dir.join(i.to_string()), &data) {
            crate::log_error!("{CRASH_IMAGES_VAR}: {}: {e}", dir.display());
            return;
        }
    }
}

/// Whether an earlier process crashed on this report.
fn already_crashed(path: &std::ffi::OsStr) -> bool {
    let mut text = String::new();
    env::open_named_file(path, OpenOptions::new().read(true))
        .is_ok_and(|mut f| f.read_to_string(&mut text).is_ok())
        && text.contains("\"event\":\"crash\"")
}

fn lock_report() -> std::sync::MutexGuard<'static, Option<Report>> {
    REPORT.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts a point; returns the crash plan when this is the point to die at.
pub fn begin_point() -> Option<&'static Plan> {
    let n = STARTED.fetch_add(1, Ordering::AcqRel) + 1;
    PLAN.get().filter(|p| p.point == n)
}

/// Ends a point whose lines have all been written.
pub fn end_point() {
    PASSED.fetch_add(1, Ordering::AcqRel);
    if REPORTING.load(Ordering::Acquire) {
        if let Some(r) = lock_report().as_mut() {
            if let Err(e) = r.write_count() {
                crate::log_error!("PMEM_FIT_REPORT: {e}");
            }
        }
    }
}

/// How many points this process has passed.
pub fn points_passed() -> u64 {
    PASSED.load(Ordering::Acquire)
}

/// A crash is planned: the engine keeps what it needs to undo unfenced lines.
pub fn crash_planned() -> bool {
    PLAN.get().is_some()
}

/// A report is open and no crash is planned: the engine tracks every line
/// for the missing-flush and wasted-flush report.
pub fn inspecting() -> bool {
    REPORTING.load(Ordering::Acquire) && !crash_planned()
}

/// `PMEM_FIT_DRAIN_SCAN=1` and inspecting.
pub fn drain_scan() -> bool {
    DRAIN_SCAN.load(Ordering::Relaxed) && inspecting()
}

/// Appends one JSON record (without its newline) to the report, if open.
pub fn record(json: &str) {
    if let Some(r) = lock_report().as_mut() {
        let line = format!("{json}\n");
        if let Err(e) = r.append.write_all(line.as_bytes()) {
            crate::log_error!("PMEM_FIT_REPORT: {e}");
        }
    }
}

/// Dies as the machine would: SIGKILL, so nothing after this reaches a file.
pub fn die() -> ! {
    // SAFETY: kill(2) on our own pid; SIGKILL cannot be caught.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    // SAFETY: not reached; _exit ends the process if kill somehow failed.
    unsafe { libc::_exit(137) }
}

/// Asks for `f` to run once before the report closes (at exit or unload).
pub fn before_close(f: fn()) {
    let _ = BEFORE_CLOSE.set(f);
}

/// Closes the report at exit, or at dlclose: atexit from a shared library
/// is bound to it, and glibc runs the handler when it is unloaded.
fn close_at_exit() {
    extern "C" fn on_exit() {
        close_report();
    }
    // SAFETY: registers a function of this library (see above).
    if unsafe { libc::atexit(on_exit) } != 0 {
        crate::log_error!("PMEM_FIT_REPORT: atexit failed; the report closes at unload only");
    }
}

/// Runs the before-close work and closes the report file (both descriptors).
/// Called at exit and by the library's destructor at unload; later calls
/// do nothing.
pub fn close_report() {
    static CLOSED: AtomicBool = AtomicBool::new(false);
    if CLOSED.swap(true, Ordering::AcqRel) {
        return;
    }
    if REPORTING.load(Ordering::Acquire) {
        if let Some(f) = BEFORE_CLOSE.get() {
            f();
        }
    }
    REPORTING.store(false, Ordering::Release);
    drop(lock_report().take());
}
