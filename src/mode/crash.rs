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
use crate::env;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::FileExt;
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

/// Which of the crash's candidate lines to flip. Candidates are the lines
/// flushed since the last drain (numbered first; a flip takes the line back
/// to what the file held before that flush) and then the dirty lines, stored
/// but never flushed (a flip writes the line's current contents, as a cache
/// eviction would), each group ordered by file path and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flips {
    /// Nothing flipped: the flushed lines are in the file, the dirty ones not.
    None,
    All,
    /// The listed candidates (inclusive index ranges).
    Only(Vec<(u64, u64)>),
    /// Every candidate but the listed ones.
    AllBut(Vec<(u64, u64)>),
    /// Each candidate with probability 1/2, drawn from the seed.
    Random(u64),
}

impl Flips {
    /// Parses `none`, `all`, `only:LIST`, `all-but:LIST` or `random:SEED`,
    /// LIST being indices or ranges `I-J` separated by commas.
    pub fn parse(s: &str) -> Option<Flips> {
        let list = |l: &str| -> Option<Vec<(u64, u64)>> {
            l.split(',')
                .map(|r| {
                    let (a, b) = r.split_once('-').unwrap_or((r, r));
                    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
                    (a <= b).then_some((a, b))
                })
                .collect()
        };
        match s.split_once(':') {
            None if s == "none" => Some(Flips::None),
            None if s == "all" => Some(Flips::All),
            Some(("only", l)) => list(l).map(Flips::Only),
            Some(("all-but", l)) => list(l).map(Flips::AllBut),
            Some(("random", seed)) => seed.parse().ok().map(Flips::Random),
            _ => None,
        }
    }

    /// Which of `n` candidates this flips.
    pub fn choose(&self, n: usize) -> Vec<bool> {
        let listed = |ranges: &[(u64, u64)], i: usize| {
            ranges.iter().any(|&(a, b)| (a..=b).contains(&(i as u64)))
        };
        let mut rng = SplitMix(match self {
            Flips::Random(seed) => *seed,
            _ => 0,
        });
        (0..n)
            .map(|i| match self {
                Flips::None => false,
                Flips::All => true,
                Flips::Only(r) => listed(r, i),
                Flips::AllBut(r) => !listed(r, i),
                Flips::Random(_) => rng.next_u64() & 1 == 1,
            })
            .collect()
    }
}

impl core::fmt::Display for Flips {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let list = |r: &[(u64, u64)]| {
            r.iter()
                .map(|&(a, b)| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Flips::None => f.write_str("none"),
            Flips::All => f.write_str("all"),
            Flips::Only(r) => write!(f, "only:{}", list(r)),
            Flips::AllBut(r) => write!(f, "all-but:{}", list(r)),
            Flips::Random(s) => write!(f, "random:{s}"),
        }
    }
}

/// SplitMix64: small and seedable (pmem-sweep has the same generator).
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
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
    if let Some(v) = crate::env::var_os("PMEM_FIT_CRASH_AT") {
        match v.to_str().and_then(parse_point) {
            Some((point, tear)) => plan = Some((point, tear)),
            None => load_warning(&format!(
                "ignoring PMEM_FIT_CRASH_AT={v:?}: want N or N.k, N a point number from 1"
            )),
        }
    }
    let mut flips = Flips::None;
    if let Some(v) = crate::env::var_os("PMEM_FIT_CRASH_STATE") {
        match v.to_str().and_then(Flips::parse) {
            Some(f) => flips = f,
            None => load_warning(&format!(
                "ignoring PMEM_FIT_CRASH_STATE={v:?}: want none, all, only:LIST, \
                 all-but:LIST or random:SEED"
            )),
        }
    }
    DRAIN_SCAN.store(
        crate::env::var_os("PMEM_FIT_DRAIN_SCAN").is_some_and(|v| v == "1"),
        Ordering::Relaxed,
    );
    if let Some(path) = crate::env::var_os("PMEM_FIT_REPORT") {
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
    }
}

/// `N` or `N.k`.
fn parse_point(s: &str) -> Option<(u64, u64)> {
    let (n, k) = s.trim().split_once('.').unwrap_or((s.trim(), "0"));
    let n: u64 = n.parse().ok()?;
    (n > 0).then_some((n, k.parse().ok()?))
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

/// `s` as a JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_points_and_states_parse() {
        assert_eq!(parse_point("7"), Some((7, 0)));
        assert_eq!(parse_point(" 7.3 "), Some((7, 3)));
        assert_eq!(parse_point("0"), None);
        assert_eq!(parse_point("7."), None);
        assert_eq!(parse_point("x"), None);
        assert_eq!(Flips::parse("none"), Some(Flips::None));
        assert_eq!(
            Flips::parse("only:1,3-4"),
            Some(Flips::Only(vec![(1, 1), (3, 4)]))
        );
        assert_eq!(Flips::parse("all-but:2"), Some(Flips::AllBut(vec![(2, 2)])));
        assert_eq!(Flips::parse("random:9"), Some(Flips::Random(9)));
        for bad in ["", "only:", "only:4-3", "some", "random:x", "all-but:a"] {
            assert_eq!(Flips::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn flips_choose_the_right_candidates() {
        assert_eq!(Flips::None.choose(3), [false; 3]);
        assert_eq!(Flips::All.choose(2), [true; 2]);
        let only = Flips::parse("only:0,2-3").unwrap();
        assert_eq!(only.choose(5), [true, false, true, true, false]);
        let but = Flips::parse("all-but:1").unwrap();
        assert_eq!(but.choose(3), [true, false, true]);
        let r = Flips::Random(5).choose(64);
        assert_eq!(r, Flips::Random(5).choose(64), "reproducible");
        assert!(r.iter().any(|&b| b) && r.iter().any(|&b| !b));
    }

    #[test]
    fn states_print_as_they_parse() {
        for s in ["none", "all", "only:1,3-4", "all-but:0", "random:77"] {
            assert_eq!(Flips::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }
}
