//! Crash injection for fit mode.
//!
//! A persistence point is one call that writes lines to a file in fit mode
//! (pmem_persist, pmem_flush, pmem_flush_cache, pmem_msync, the deep calls,
//! each pmem_mem* that flushes). `PMEM_FIT_CRASH_AT=N` makes the process
//! SIGKILL itself at the start of the N-th point, before its lines reach the
//! file; `PMEM_FIT_REPORT=FILE` receives the number of points passed after
//! every point, so the count is there however the process ends.

use super::load_warning;
use core::sync::atomic::{AtomicU64, Ordering};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

/// Points begun, and points whose lines were all written.
static STARTED: AtomicU64 = AtomicU64::new(0);
static PASSED: AtomicU64 = AtomicU64::new(0);
/// The point to die at; 0: never.
static CRASH_AT: AtomicU64 = AtomicU64::new(0);
static REPORT: Mutex<Option<File>> = Mutex::new(None);

/// Reads `PMEM_FIT_CRASH_AT` and `PMEM_FIT_REPORT`; called once at load.
pub fn init_from_env() {
    if let Some(v) = std::env::var_os("PMEM_FIT_CRASH_AT") {
        match v.to_str().and_then(|s| s.trim().parse::<u64>().ok()) {
            Some(n) if n > 0 => CRASH_AT.store(n, Ordering::Relaxed),
            _ => load_warning(&format!(
                "ignoring PMEM_FIT_CRASH_AT={v:?}: want a point number from 1"
            )),
        }
    }
    if let Some(path) = std::env::var_os("PMEM_FIT_REPORT") {
        match File::create(&path) {
            Ok(f) => {
                if let Ok(mut guard) = REPORT.lock() {
                    *guard = Some(f);
                }
                write_report();
            }
            Err(e) => load_warning(&format!("cannot create PMEM_FIT_REPORT={path:?}: {e}")),
        }
    }
}

/// Closes `PMEM_FIT_REPORT` (at library unload), so dlopen/dlclose cycles
/// do not leak its descriptor.
pub fn close_report() {
    if let Ok(mut guard) = REPORT.lock() {
        guard.take();
    }
}

/// Starts a point: dies here if it is the one `PMEM_FIT_CRASH_AT` names.
pub fn begin_point() {
    let n = STARTED.fetch_add(1, Ordering::AcqRel) + 1;
    if n == CRASH_AT.load(Ordering::Relaxed) {
        // SAFETY: kill(2) on our own pid; SIGKILL cannot be caught, so
        // nothing after this line runs and no later write reaches a file.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}

/// Ends a point whose lines have all been written.
pub fn end_point() {
    PASSED.fetch_add(1, Ordering::AcqRel);
    write_report();
}

/// How many points this process has passed.
pub fn points_passed() -> u64 {
    PASSED.load(Ordering::Acquire)
}

fn write_report() {
    let Ok(guard) = REPORT.lock() else { return };
    let Some(f) = guard.as_ref() else { return };
    // Read under the lock so the file never goes back to a smaller count;
    // the count only grows, so overwriting from offset 0 leaves no stale digits.
    let text = format!("{}\n", PASSED.load(Ordering::Acquire));
    if let Err(e) = f.write_all_at(text.as_bytes(), 0) {
        crate::log_error!("PMEM_FIT_REPORT: {e}");
    }
}
