//! Waiting for a command's process group: to its end, a timeout or a
//! caught SIGINT/SIGTERM, whichever comes first.
//!
//! The wait sleeps in poll(2) on a pidfd (Linux 5.3 and later), so a
//! command is seen to end the moment it does: a check of 10 ms costs 10 ms
//! of the job's time, not the 12-22 ms a doubling sleep would round it to.
//! Without pidfds the sleep doubles from 200 us to 10 ms.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How a wait that did not see the command end gave up.
pub const TIMED_OUT: &str = "timed out";

/// Waits for `child`, the leader of its own process group, and reaps it.
/// Whatever is left of the group when it ends, times out or the sweep is
/// stopped is killed. Err says why it did not end by itself.
pub fn for_child(mut child: Child, timeout: Duration) -> Result<ExitStatus, String> {
    let group = child.id() as libc::pid_t;
    let ended = until_exit(group, timeout);
    // Not reaped yet: while the child is a zombie its pid, which is the
    // group's id, cannot be reused, so killing the group is safe.
    kill_group(group);
    match ended {
        Ok(()) => child.wait().map_err(|e| e.to_string()),
        Err(e) => {
            let _ = child.wait();
            Err(e)
        }
    }
}

/// Waits until child `pid` has exited, leaving it unreaped.
pub fn until_exit(pid: libc::pid_t, timeout: Duration) -> Result<(), String> {
    let start = Instant::now();
    let pidfd = pidfd_open(pid);
    let mut nap = Duration::from_micros(200);
    loop {
        if exited_unreaped(pid)? {
            return Ok(());
        }
        if let Some(sig) = crate::signals::caught() {
            return Err(format!("stopped by {}", crate::signals::name(sig)));
        }
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(format!("{TIMED_OUT} after {} s", timeout.as_secs()));
        }
        // Wake at least every 50 ms to notice a caught signal.
        match &pidfd {
            Some(fd) => readable(fd, left.min(Duration::from_millis(50))),
            None => {
                std::thread::sleep(nap.min(left));
                nap = (nap * 2).min(Duration::from_millis(10));
            }
        }
    }
}

/// Kills process group `pgid` (one this sweep started).
pub fn kill_group(pgid: libc::pid_t) {
    // SAFETY: kill(2) of a process group, no memory involved.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// Whether child `pid` has ended, leaving it to be reaped.
fn exited_unreaped(pid: libc::pid_t) -> Result<bool, String> {
    // SAFETY: waitid fills the zeroed siginfo it is given; WNOWAIT leaves
    // the child waitable.
    unsafe {
        let mut info: libc::siginfo_t = core::mem::zeroed();
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        if libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) != 0 {
            return Err(format!("waitid: {}", std::io::Error::last_os_error()));
        }
        Ok(info.si_pid() != 0)
    }
}

/// A pidfd of child `pid`, or None where the kernel has none (before 5.3).
fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative return is a file descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Sleeps until `fd` is readable (a pidfd: its process exited), a signal
/// arrives or `limit` passes.
pub fn readable(fd: &impl AsRawFd, limit: Duration) {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = limit.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: poll(2) on one pollfd that lives across the call.
    unsafe { libc::poll(&mut p, 1, ms) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::Command;

    fn group(cmd: &str) -> Child {
        Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .process_group(0)
            .spawn()
            .unwrap()
    }

    #[test]
    fn sees_the_end_at_once_and_kills_what_is_left() {
        let t = Instant::now();
        let s = for_child(group("sleep 30 & exit 3"), Duration::from_secs(20)).unwrap();
        assert_eq!(s.code(), Some(3));
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        let s = for_child(group("kill -9 $$"), Duration::from_secs(20)).unwrap();
        assert_eq!(s.signal(), Some(9));
    }

    #[test]
    fn times_out() {
        let t = Instant::now();
        let e = for_child(group("sleep 30"), Duration::from_secs(1)).unwrap_err();
        assert!(e.starts_with(TIMED_OUT), "{e}");
        assert!(t.elapsed() < Duration::from_secs(10));
    }
}
