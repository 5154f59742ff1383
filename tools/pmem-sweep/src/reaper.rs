//! Catching what the commands leave behind. A command's process group is
//! killed when it ends, but a daemon (fork, setsid, parent exits) has left
//! the group; as the sweep's child subreaper (PR_SET_CHILD_SUBREAPER) such
//! orphans become pmem-sweep's children, and are killed when the command
//! whose job they carry ends, as a machine crash would.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Mutex;

/// The commands running now: pmem-sweep's own children, not orphans.
/// Held across spawn so that a scan never sees a command as an orphan.
static LIVE: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

fn live() -> std::sync::MutexGuard<'static, BTreeSet<u32>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes orphaned descendants pmem-sweep's children; false if refused.
pub fn become_subreaper() -> bool {
    // SAFETY: prctl(2) with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
}

pub fn spawn(cmd: &mut Command) -> io::Result<Child> {
    let mut live = live();
    let child = cmd.spawn()?;
    live.insert(child.id());
    Ok(child)
}

/// `pid` was reaped.
pub fn ended(pid: u32) {
    live().remove(&pid);
}

/// Kills and reaps the orphans that carry job `dir` in PMEM_SWEEP_DIR (all
/// orphans when None), and the orphans those leave in turn. Returns how
/// many it killed.
pub fn kill_orphans(dir: Option<&Path>) -> usize {
    let mut killed = 0;
    // Each round catches the children of the orphans killed in the last.
    for _ in 0..100 {
        let live = live();
        let orphans: Vec<u32> = children()
            .into_iter()
            .filter(|p| !live.contains(p))
            .filter(|&p| dir.map_or(true, |d| carries(p, d)))
            .collect();
        drop(live);
        if orphans.is_empty() {
            break;
        }
        for pid in orphans {
            // SAFETY: kill(2) and waitpid(2) of a child of ours that no
            // Child handle owns (it was adopted); unreaped, so its pid
            // cannot have been reused.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
                libc::waitpid(pid as libc::pid_t, core::ptr::null_mut(), 0);
            }
            killed += 1;
        }
    }
    killed
}

/// pmem-sweep's children, of every thread (a child belongs to the thread
/// that forked it, an adopted orphan to any).
fn children() -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// Whether process `pid` has PMEM_SWEEP_DIR=`dir` in its environment.
fn carries(pid: u32, dir: &Path) -> bool {
    let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let mut want = b"PMEM_SWEEP_DIR=".to_vec();
    want.extend_from_slice(dir.as_os_str().as_encoded_bytes());
    env.split(|&b| b == 0).any(|v| v == want.as_slice())
}
