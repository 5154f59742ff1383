//! Running setup, the program (crashed in a state) and check in a job directory.

use crate::protocol::{
    Flipped, ImageSpec, PatchLine, CRASH_IMAGES_VAR, CRASH_STATES_VAR, EXPANDED_LIST,
};
use crate::report::{self, CrashRecord, Summary};
use crate::states::State;
use crate::strategy::Expansion;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// How one run ended.
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

/// A run's outcome and the crash record the library wrote for it.
#[derive(Debug, Clone)]
pub struct Run {
    pub outcome: Outcome,
    pub crash: Option<CrashRecord>,
    /// The check's outcome was that of an earlier state with the same files.
    pub shared: bool,
}

/// Why the counting run gave no point count.
pub enum Counting {
    /// Setup or the program failed.
    Error(String),
    /// The program ran to its end, and the check failed all the same: what
    /// the check said, and the run's report.
    Uncrashed(String, Summary),
}

impl From<String> for Counting {
    fn from(e: String) -> Self {
        Counting::Error(e)
    }
}

/// How the check judges a state.
pub enum Check {
    /// A shell command run once a state: exit 0 passes.
    Each(String),
    /// A shell command that judges states one after another (server.rs).
    Server(String),
}

/// The three commands of a sweep.
pub struct Plan {
    pub setup: Option<String>,
    pub check: Option<Check>,
    /// The idle check servers, with `Check::Server`.
    pub servers: crate::server::Pool,
    pub program: Vec<OsString>,
    pub timeout: Duration,
    /// The check's own limit: a check that hangs has failed.
    pub check_timeout: Duration,
    /// PMEM_FIT_DRAIN_SCAN=1 in the counting run.
    pub drain_scan: bool,
    /// The program's standard input: pmem-sweep's own, read once into
    /// this file (None: /dev/null, when pmem-sweep's is a terminal).
    pub stdin: Option<PathBuf>,
    /// Variables set for every command (PMEM_IS_PMEM_FORCE=1 by default).
    pub env: Vec<(String, String)>,
    /// Outcomes of the checks run so far, by crash image (None: every
    /// state is checked, unless --dedupe).
    pub checked: Option<Mutex<HashMap<[u64; 2], Outcome>>>,
}

/// The persistence-mode variables the sweep sets itself.
pub const MODE_VARS: [&str; 5] = [
    "PMEM_PERSIST_MODE",
    "PMEM_FIT_CRASH_AT",
    "PMEM_FIT_CRASH_STATE",
    "PMEM_FIT_REPORT",
    "PMEM_FIT_DRAIN_SCAN",
];

impl Plan {
    /// Runs setup and the whole program in fit mode, checks that the check
    /// accepts its result, and returns the point count and the report.
    pub fn count_points(&self, dir: &Path) -> Result<(u64, Summary), Counting> {
        self.setup(dir, 0, false)?;
        let report = fresh_report(dir)?;
        let mut cmd = self.program_command(dir, 0)?;
        cmd.env("PMEM_FIT_REPORT", &report);
        if self.drain_scan {
            cmd.env("PMEM_FIT_DRAIN_SCAN", "1");
        }
        let status = run(cmd, self.timeout, false, None)?;
        if !status.success() {
            return Err(Counting::Error(format!(
                "the program failed without a crash: {}",
                describe(status)
            )));
        }
        let records = report::summarize(&report);
        let Some(total) = records.points else {
            return Err(Counting::Error(format!(
                "no process reported its points in {} (is the program linked with \
                 this libpmem, and does PMEM_PERSIST_MODE reach it?)",
                report.display()
            )));
        };
        match self.check(dir, 0, false)? {
            Outcome::Passed => Ok((total, records)),
            Outcome::Failed(why) | Outcome::Error(why) | Outcome::Unreached(why) => {
                Err(Counting::Uncrashed(why, records))
            }
        }
    }

    /// Setup, the program crashed in `state`, check. `show`: let their output through.
    pub fn run_state(&self, dir: &Path, state: &State, show: bool) -> Run {
        let crash = match self.crash_run(dir, state, show, None) {
            Ok(c) => c,
            Err(outcome) => return Run::failed(outcome),
        };
        self.judge(dir, state.point, crash, show)
    }

    /// Setup and the program crashed in `state`; the crash record, or how
    /// the run went wrong. With `images` (states and a directory), the
    /// crashing process also writes those states' patches.
    fn crash_run(
        &self,
        dir: &Path,
        state: &State,
        show: bool,
        images: Option<(&Path, &Path)>,
    ) -> Result<CrashRecord, Outcome> {
        self.setup(dir, state.point, show).map_err(Outcome::Error)?;
        let report = fresh_report(dir).map_err(Outcome::Error)?;
        let mut cmd = self
            .program_command(dir, state.point)
            .map_err(Outcome::Error)?;
        cmd.env("PMEM_FIT_REPORT", &report)
            .env("PMEM_FIT_CRASH_AT", state.crash_at())
            .env("PMEM_FIT_CRASH_STATE", state.flips.to_string());
        if let Some((list, out)) = images {
            cmd.env(CRASH_STATES_VAR, list).env(CRASH_IMAGES_VAR, out);
        }
        let status = run(cmd, self.timeout, show, None).map_err(Outcome::Error)?;
        // Reached is what the library says, not how the direct child ended:
        // a shell wrapper exits 137 when its program is killed.
        let p = state.point;
        report::read(&report)
            .iter()
            .filter_map(CrashRecord::from_record)
            .find(|c| c.point == p)
            .ok_or_else(|| match status.signal() {
                Some(_) => Outcome::Failed(format!(
                    "the program died before point {p}: {}",
                    describe(status)
                )),
                None => Outcome::Unreached(format!(
                    "the program ended before point {p}: {}",
                    describe(status)
                )),
            })
    }

    /// The check of the crash image in `dir`, once per distinct image.
    fn judge(&self, dir: &Path, point: u64, crash: CrashRecord, show: bool) -> Run {
        let crash = Some(crash);
        // The check judges the files: one image, one check. An image
        // that cannot be read is simply checked.
        let seen = self.checked.as_ref().filter(|_| !show);
        let image = seen.and_then(|_| crate::image::digest(dir).ok());
        if let (Some(seen), Some(image)) = (seen, image) {
            if let Some(o) = seen.lock().unwrap_or_else(|e| e.into_inner()).get(&image) {
                return Run {
                    outcome: o.clone(),
                    crash,
                    shared: true,
                };
            }
        }
        let outcome = self.check(dir, point, show).unwrap_or_else(Outcome::Error);
        if let (Some(seen), Some(image)) = (seen, image) {
            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.insert(image, outcome.clone());
        }
        Run {
            outcome,
            crash,
            shared: false,
        }
    }

    /// A point and every state `e` picks for it, from one run: its crash
    /// picks them from what it sees (as the sweep does from its record)
    /// and writes their images. Each state is judged in a copy, the base
    /// state last, in `dir`. Also returns how many states the budget left
    /// out.
    pub fn run_expanded(&self, dir: &Path, point: u64, e: &Expansion) -> (Vec<(State, Run)>, u64) {
        let base = State::base(point);
        let crash = match self.crash_with_images(dir, point, &format!("{e}\n")) {
            Ok(c) => c,
            Err(o) => return (vec![(base, Run::failed(o))], 0),
        };
        let counts = crate::states::Counts::of(&crash);
        let (states, left_out) = crate::states::expand(point, counts, e);
        let listed = std::fs::read_to_string(dir.with_extension("images").join(EXPANDED_LIST));
        let want: String = states.iter().map(|s| format!("{}\n", spec(s))).collect();
        let runs = match listed {
            Ok(l) if l == want => self.judge_images(dir, point, &states, &crash),
            // A library that picks otherwise: each state from a run of its own.
            _ => states
                .iter()
                .map(|s| self.run_state(&dir.with_extension("check"), s, false))
                .collect(),
        };
        let mut out: Vec<(State, Run)> = states.into_iter().zip(runs).collect();
        out.insert(0, (base, self.judge(dir, point, crash, false)));
        (out, left_out)
    }

    /// Setup and the program crashed at `point`'s start, writing the images
    /// of the states `specs` (a PMEM_FIT_CRASH_STATES file) beside `dir`.
    fn crash_with_images(
        &self,
        dir: &Path,
        point: u64,
        specs: &str,
    ) -> Result<CrashRecord, Outcome> {
        let (list, images) = (dir.with_extension("states"), dir.with_extension("images"));
        fresh_dir(&images)
            .and_then(|()| {
                std::fs::write(&list, specs).map_err(|e| format!("{}: {e}", list.display()))
            })
            .map_err(Outcome::Error)?;
        let base = crate::states::State::base(point);
        self.crash_run(dir, &base, false, Some((&list, &images)))
    }

    /// Judges each of `states` in a copy of `dir` with its image's patch
    /// applied; `dir` is left as the crash left it.
    fn judge_images(
        &self,
        dir: &Path,
        point: u64,
        states: &[State],
        crash: &CrashRecord,
    ) -> Vec<Run> {
        let images = dir.with_extension("images");
        let check_dir = dir.with_extension("check");
        let mut runs = Vec::with_capacity(states.len());
        for (i, state) in states.iter().enumerate() {
            let patch = std::fs::read(images.join(i.to_string()))
                .ok()
                .and_then(|d| PatchLine::decode_all(&d));
            let Some(patch) = patch else {
                runs.push(Run::failed(Outcome::Error(format!(
                    "the crash wrote no image of state {}",
                    state.flips
                ))));
                continue;
            };
            match image_of(dir, &check_dir, &patch) {
                Ok(true) => {}
                Ok(false) => {
                    runs.push(self.run_state(&check_dir, state, false));
                    continue;
                }
                Err(e) => {
                    runs.push(Run::failed(Outcome::Error(e)));
                    continue;
                }
            }
            let flipped = patch
                .iter()
                .take(CrashRecord::MAX_FLIPPED)
                .map(|l| Flipped {
                    path: format!("{}/{}", dir.display(), relative_to(dir, &l.path)),
                    offset: l.offset,
                    written: !l.flushed,
                })
                .collect();
            let record = CrashRecord {
                state: state.flips.to_string(),
                tear: state.tear.min(crash.lines),
                flipped: match state.tear {
                    0 => flipped,
                    _ => Vec::new(), // a tear writes the point's lines, flips none
                },
                ..crash.clone()
            };
            runs.push(self.judge(&check_dir, point, record, false));
        }
        runs
    }

    fn setup(&self, dir: &Path, point: u64, show: bool) -> Result<(), String> {
        fresh_dir(dir)?;
        let Some(setup) = &self.setup else {
            return Ok(());
        };
        let status = run(self.shell(setup, dir, point), self.timeout, show, None)?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("setup failed: {}", describe(status)))
        }
    }

    fn check(&self, dir: &Path, point: u64, show: bool) -> Result<Outcome, String> {
        let check = match &self.check {
            None => return Ok(Outcome::Passed),
            Some(Check::Server(cmd)) => {
                let start = || self.shell(cmd, dir, point);
                return self.servers.judge(dir, self.check_timeout, show, start);
            }
            Some(Check::Each(cmd)) => cmd,
        };
        let log = dir.with_extension("check.log");
        let status = run(
            self.shell(check, dir, point),
            self.check_timeout,
            show,
            Some(&log),
        );
        let status = match status {
            Err(e) if e.starts_with(crate::wait::TIMED_OUT) => {
                return Ok(Outcome::Failed(format!(
                    "the check {e} (--check-timeout): does recovery hang?"
                )))
            }
            other => other?,
        };
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

    fn program_command(&self, dir: &Path, point: u64) -> Result<Command, String> {
        let mut cmd = Command::new(&self.program[0]);
        cmd.args(&self.program[1..]);
        self.in_job(&mut cmd, dir, point);
        cmd.env("PMEM_PERSIST_MODE", "fit");
        if let Some(path) = &self.stdin {
            let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            cmd.stdin(f);
        }
        Ok(cmd)
    }

    fn shell(&self, script: &str, dir: &Path, point: u64) -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(script);
        self.in_job(&mut cmd, dir, point);
        cmd
    }

    fn in_job(&self, cmd: &mut Command, dir: &Path, point: u64) {
        cmd.current_dir(dir)
            .stdin(Stdio::null())
            .env("PMEM_SWEEP_DIR", dir)
            .env("PMEM_SWEEP_POINT", point.to_string());
        for v in MODE_VARS {
            cmd.env_remove(v);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }
}

impl Run {
    fn failed(outcome: Outcome) -> Run {
        Run {
            outcome,
            crash: None,
            shared: false,
        }
    }
}

/// The line of a PMEM_FIT_CRASH_STATES file that asks for `s`'s image.
fn spec(s: &State) -> ImageSpec {
    match s.tear {
        0 => ImageSpec::Flips(s.flips.clone()),
        k => ImageSpec::Tear(k),
    }
}

/// `path` inside `dir`, relative; "" when it is not inside.
fn relative_to<'a>(dir: &Path, path: &'a str) -> &'a str {
    Path::new(path)
        .strip_prefix(dir)
        .ok()
        .and_then(|p| p.to_str())
        .unwrap_or("")
}

/// Makes `to` a copy of `from` with `patch` applied; false (nothing done)
/// when the patch names a file outside `from`, or `from` holds a file
/// that cannot be copied (a FIFO, a device).
fn image_of(from: &Path, to: &Path, patch: &[PatchLine]) -> Result<bool, String> {
    if patch.iter().any(|l| relative_to(from, &l.path).is_empty()) {
        return Ok(false);
    }
    // The check of the last state changed `to`: undo just that.
    match crate::mirror::sync(from, to) {
        Ok(true) => {}
        Ok(false) => return Ok(false),
        Err(e) => return Err(format!("copying {}: {e}", from.display())),
    }
    for l in patch {
        let path = to.join(relative_to(from, &l.path));
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        f.write_all_at(&l.bytes, l.offset)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(true)
}

/// An empty report file beside the job directory (libpmem appends to it).
fn fresh_report(dir: &Path) -> Result<PathBuf, String> {
    let path = dir.with_extension("report");
    File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Runs `cmd` in a process group of its own to completion or `timeout`.
/// Whatever of the group is still running when the command ends (or times
/// out) is killed, as a machine crash would. Output goes to `log` when
/// given, else to the terminal when `show`, else nowhere.
fn run(
    mut cmd: Command,
    timeout: Duration,
    show: bool,
    log: Option<&Path>,
) -> Result<ExitStatus, String> {
    cmd.process_group(0);
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
    let child = crate::reaper::spawn(&mut cmd)
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let pid = child.id();
    let status = crate::wait::for_child(child, timeout);
    crate::reaper::ended(pid);
    // Daemons of this job that left its process group.
    if let Some((_, Some(dir))) = cmd.get_envs().find(|(k, _)| *k == "PMEM_SWEEP_DIR") {
        crate::reaper::kill_orphans(Some(Path::new(dir)));
    }
    status
}

pub fn describe(s: ExitStatus) -> String {
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
