//! Running setup, the program (crashed at a point) and check in a job directory.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How one point's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// The check failed: what it said.
    Failed(String),
    /// The program ended before reaching the point (it is not deterministic).
    Unreached(String),
    /// Setup failed, a command timed out or could not start.
    Error(String),
}

/// The three commands of a sweep.
pub struct Plan {
    pub setup: Option<String>,
    pub check: Option<String>,
    pub program: Vec<OsString>,
    pub timeout: Duration,
}

/// The persistence-mode variables the sweep sets itself.
const MODE_VARS: [&str; 3] = ["PMEM_PERSIST_MODE", "PMEM_FIT_CRASH_AT", "PMEM_FIT_REPORT"];

impl Plan {
    /// Runs setup and the whole program in fit mode and returns how many
    /// points it passed, after checking that the check accepts its result.
    pub fn count_points(&self, dir: &Path, report: &Path) -> Result<u64, String> {
        self.setup(dir, 0, false)?;
        let mut cmd = self.program_command(dir, 0);
        cmd.env("PMEM_FIT_REPORT", report);
        let status = run(cmd, self.timeout, false, None)?;
        if !status.success() {
            return Err(format!(
                "the program failed without a crash: {}",
                describe(status)
            ));
        }
        let text = std::fs::read_to_string(report).map_err(|e| {
            format!(
                "no point count in {}: {e} (is the program linked with this libpmem?)",
                report.display()
            )
        })?;
        let total = text
            .trim()
            .parse()
            .map_err(|_| format!("bad point count {text:?}"))?;
        match self.check(dir, 0, false)? {
            Outcome::Passed => Ok(total),
            other => Err(format!(
                "the check fails after a complete run, without a crash: {other:?}"
            )),
        }
    }

    /// Setup, the program killed at `point`, check. `show`: let their output through.
    pub fn run_point(&self, dir: &Path, point: u64, show: bool) -> Outcome {
        if let Err(e) = self.setup(dir, point, show) {
            return Outcome::Error(e);
        }
        let mut cmd = self.program_command(dir, point);
        cmd.env("PMEM_FIT_CRASH_AT", point.to_string());
        match run(cmd, self.timeout, show, None) {
            Err(e) => return Outcome::Error(e),
            Ok(s) if s.signal() == Some(libc::SIGKILL) => {}
            Ok(s) if s.signal().is_some() => {
                return Outcome::Failed(format!(
                    "the program died before point {point}: {}",
                    describe(s)
                ))
            }
            Ok(s) => {
                return Outcome::Unreached(format!(
                    "the program ended before point {point}: {}",
                    describe(s)
                ))
            }
        }
        self.check(dir, point, show).unwrap_or_else(Outcome::Error)
    }

    fn setup(&self, dir: &Path, point: u64, show: bool) -> Result<(), String> {
        fresh_dir(dir)?;
        let Some(setup) = &self.setup else {
            return Ok(());
        };
        let status = run(shell(setup, dir, point), self.timeout, show, None)?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("setup failed: {}", describe(status)))
        }
    }

    fn check(&self, dir: &Path, point: u64, show: bool) -> Result<Outcome, String> {
        let Some(check) = &self.check else {
            return Ok(Outcome::Passed);
        };
        let log = log_path(dir);
        let status = run(shell(check, dir, point), self.timeout, show, Some(&log))?;
        if status.success() {
            return Ok(Outcome::Passed);
        }
        let said = first_line(&log);
        Ok(Outcome::Failed(format!(
            "check failed ({}){}",
            describe(status),
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        )))
    }

    fn program_command(&self, dir: &Path, point: u64) -> Command {
        let mut cmd = Command::new(&self.program[0]);
        cmd.args(&self.program[1..]);
        in_job(&mut cmd, dir, point);
        cmd.env("PMEM_PERSIST_MODE", "fit");
        cmd
    }
}

fn shell(script: &str, dir: &Path, point: u64) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(script);
    in_job(&mut cmd, dir, point);
    cmd
}

fn in_job(cmd: &mut Command, dir: &Path, point: u64) {
    cmd.current_dir(dir)
        .env("PMEM_SWEEP_DIR", dir)
        .env("PMEM_SWEEP_POINT", point.to_string());
    for v in MODE_VARS {
        cmd.env_remove(v);
    }
}

/// Runs `cmd` to completion or `timeout` (then kills it). Output goes to
/// `log` when given, else to the terminal when `show`, else nowhere.
fn run(
    mut cmd: Command,
    timeout: Duration,
    show: bool,
    log: Option<&Path>,
) -> Result<ExitStatus, String> {
    cmd.stdin(Stdio::null());
    match (log, show) {
        (Some(path), false) => {
            let f = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let g = f.try_clone().map_err(|e| e.to_string())?;
            cmd.stdout(f).stderr(g);
        }
        (_, true) => {}
        (None, false) => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    wait_for(child, timeout)
}

fn wait_for(mut child: Child, timeout: Duration) -> Result<ExitStatus, String> {
    let start = Instant::now();
    let mut nap = Duration::from_micros(200);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {} s", timeout.as_secs()));
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(10));
    }
}

fn describe(s: ExitStatus) -> String {
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (_, Some(sig)) => format!("signal {sig}"),
        _ => s.to_string(),
    }
}

/// Empties `dir` (or makes it), so every run starts from nothing.
fn fresh_dir(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

/// The check's output goes beside the job directory, not into it.
fn log_path(dir: &Path) -> PathBuf {
    dir.with_extension("check.log")
}

fn first_line(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.by_ref().take(4096).read_to_string(&mut text);
    }
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}
