//! `--check-server CMD`: a check that judges states one after another in
//! one process, so that a state costs the check's work and not also a
//! process start, dynamic linking and the first touch of its runtime's
//! memory (for a libpmemobj checker, 3 ms a state instead of 9 to 12).
//!
//! The protocol, one state at a time: pmem-sweep writes the absolute path
//! of the state's directory and a newline to the server's standard input;
//! the server judges the files there and writes a verdict line to its
//! standard output, `pmem-sweep: pass` or `pmem-sweep: fail`. Other lines
//! (its standard error too) are what it says about the state; the first is
//! the reason shown for a failure. A server that exits or dies instead of
//! answering has failed that state, as a one-shot check would, and a new
//! one is started for the next; so is one that does not answer within
//! --check-timeout (its process group is killed). At the end of the sweep
//! its standard input is closed.

use crate::runner::Outcome;
use crate::wait;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const PASS: &str = "pmem-sweep: pass";
pub const FAIL: &str = "pmem-sweep: fail";

/// The servers not judging a state now, at most one a job.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<Vec<Server>>,
}

impl Pool {
    /// The verdict on the state in `dir`, by an idle server or a new one
    /// started by `start` (a `/bin/sh -c CMD` in the job's environment).
    /// `show`: echo what the server says. Err: the sweep was stopped, or no
    /// server could start.
    pub fn judge(
        &self,
        dir: &Path,
        timeout: Duration,
        show: bool,
        start: impl FnOnce() -> Command,
    ) -> Result<Outcome, String> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut server = match idle {
            Some(s) => s,
            None => Server::start(start())?,
        };
        let (outcome, alive) = server.judge(dir, timeout, show)?;
        if alive {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push(server);
        }
        Ok(outcome)
    }
}

impl Pool {
    /// Ends the idle servers: their input is closed, and one that does not
    /// exit within a second is killed.
    pub fn close(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        drop(idle);
    }
}

/// One running server: its process group, its input and its output.
struct Server {
    child: Option<Child>,
    input: Option<ChildStdin>,
    output: std::fs::File,
    /// Output read but not yet split into lines.
    pending: Vec<u8>,
}

impl Server {
    fn start(mut cmd: Command) -> Result<Server, String> {
        let (read, write) = pipe().map_err(|e| format!("pipe: {e}"))?;
        let err = write.try_clone().map_err(|e| format!("pipe: {e}"))?;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::from(write))
            .stderr(Stdio::from(err));
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = crate::reaper::spawn(&mut cmd)
            .map_err(|e| format!("cannot start the check server: {e}"))?;
        // The write ends went to the child with `cmd`; drop them here too so
        // that the server's end shows as end of file.
        drop(cmd);
        Ok(Server {
            input: child.stdin.take(),
            child: Some(child),
            output: std::fs::File::from(read),
            pending: Vec::new(),
        })
    }

    /// Asks for a verdict on `dir`; the outcome, and whether the server
    /// lives on to judge the next state.
    fn judge(
        &mut self,
        dir: &Path,
        timeout: Duration,
        show: bool,
    ) -> Result<(Outcome, bool), String> {
        let dir = absolute(dir);
        let mut line = dir.into_os_string().into_encoded_bytes();
        line.push(b'\n');
        let asked = self
            .input
            .as_mut()
            .map(|i| i.write_all(&line).and_then(|()| i.flush()));
        let start = Instant::now();
        let mut said = String::new();
        // A server that died before reading is judged by how it ended.
        let mut ended = !matches!(asked, Some(Ok(())));
        while !ended {
            while let Some(l) = self.next_line() {
                if show {
                    eprintln!("{l}");
                }
                match l.as_str() {
                    PASS => return Ok((Outcome::Passed, true)),
                    FAIL => return Ok((Outcome::Failed(failed("said fail", &said)), true)),
                    _ if said.is_empty() => said = l.trim().to_string(),
                    _ => {}
                }
            }
            if let Some(sig) = crate::signals::caught() {
                self.stop();
                return Err(format!("stopped by {}", crate::signals::name(sig)));
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                self.stop();
                return Ok((
                    Outcome::Failed(format!(
                        "the check server {} after {} s (--check-timeout): does recovery hang?",
                        wait::TIMED_OUT,
                        timeout.as_secs()
                    )),
                    false,
                ));
            }
            wait::readable(&self.output, left.min(Duration::from_millis(50)));
            ended = !self.read_more()?;
        }
        let status = self.end(timeout)?;
        let how = crate::runner::describe(status);
        Ok((
            Outcome::Failed(failed(&format!("ended ({how})"), &said)),
            false,
        ))
    }

    /// The next whole line of output, if one has arrived.
    fn next_line(&mut self) -> Option<String> {
        let n = self.pending.iter().position(|&b| b == b'\n')?;
        let line: Vec<u8> = self.pending.drain(..=n).collect();
        Some(String::from_utf8_lossy(&line[..n]).into_owned())
    }

    /// Reads what output there is; false at end of file.
    fn read_more(&mut self) -> Result<bool, String> {
        let mut buf = [0u8; 4096];
        match self.output.read(&mut buf) {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(format!("reading the check server: {e}")),
        }
    }

    /// Waits for the server to end by itself, then kills what is left of
    /// its group.
    fn end(&mut self, timeout: Duration) -> Result<std::process::ExitStatus, String> {
        self.input = None;
        let child = self.child.take().ok_or("the check server is gone")?;
        let pid = child.id();
        let status = wait::for_child(child, timeout);
        crate::reaper::ended(pid);
        status
    }

    /// Kills the server's group and reaps it.
    fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            let pid = child.id();
            let _ = wait::for_child(child, Duration::ZERO);
            crate::reaper::ended(pid);
        }
    }
}

impl Drop for Server {
    /// End of input: the server exits; one that lingers is killed.
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.end(Duration::from_secs(1));
        }
    }
}

/// "check server said fail: REASON" and the like.
fn failed(how: &str, said: &str) -> String {
    match said.is_empty() {
        true => format!("check server {how}"),
        false => format!("check server {how}: {said}"),
    }
}

fn absolute(dir: &Path) -> PathBuf {
    match dir.is_absolute() {
        true => dir.to_path_buf(),
        false => std::env::current_dir().unwrap_or_default().join(dir),
    }
}

/// A pipe whose read end does not block (output is polled for) and whose
/// ends close on exec (the child gets its copies as stdout and stderr).
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) fills the two-element array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both are new descriptors that nothing else owns.
    let (r, w) = unsafe {
        use std::os::fd::FromRawFd;
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    };
    // SAFETY: fcntl(2) on a descriptor owned here.
    unsafe {
        let flags = libc::fcntl(r.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(r.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    Ok((r, w))
}
