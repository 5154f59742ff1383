//! pmem-sweep: crash a program at every persistence point in fit mode and
//! check what it left behind. See docs/modes.md and `pmem-sweep --help`.

mod args;
mod runner;
mod sample;

use runner::{Outcome, Plan};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn main() -> ExitCode {
    let opts = match args::parse(std::env::args_os().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match sweep(opts) {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            eprintln!("pmem-sweep: {msg}");
            ExitCode::from(2)
        }
    }
}

fn sweep(opts: args::Options) -> Result<u8, String> {
    let reproducer = Reproducer::new(&opts);
    let plan = Plan {
        setup: opts.setup.clone(),
        check: opts.check.clone(),
        program: resolve_program(opts.program.clone())?,
        timeout: opts.timeout,
    };
    let (base, made) = make_workdir(opts.workdir.clone())?;
    if let Some(point) = opts.only {
        let outcome = plan.run_point(&base.join("job-0"), point, true);
        eprintln!(
            "pmem-sweep: point {point}: {} (files kept in {})",
            summary(&outcome),
            base.display()
        );
        return Ok(exit_code(std::slice::from_ref(&outcome)));
    }
    let result = sweep_points(&plan, &base, &opts, &reproducer);
    if !opts.keep {
        clean_workdir(&base, made);
    }
    result
}

/// Counts the points, runs the chosen ones and reports the failures.
fn sweep_points(
    plan: &Plan,
    base: &Path,
    opts: &args::Options,
    reproducer: &Reproducer,
) -> Result<u8, String> {
    let total = plan.count_points(&base.join("count"), &base.join("count.report"))?;
    if total == 0 {
        eprintln!(
            "pmem-sweep: warning: the program passed no persistence point \
             (does it flush through libpmem into files it maps with it?)"
        );
    }
    let seed = opts
        .sample
        .map(|k| (k, opts.seed.unwrap_or_else(clock_seed)));
    let points = sample::points(total, seed);
    match seed {
        Some((k, s)) => eprintln!(
            "pmem-sweep: {total} points; running {} sampled with --seed {s}",
            k.min(total)
        ),
        None => eprintln!("pmem-sweep: {total} points"),
    }
    let results = run_all(plan, base, &points, opts.jobs);
    let mut bad = 0;
    for (point, outcome) in &results {
        if *outcome != Outcome::Passed {
            bad += 1;
            println!("point {point}: {}", summary(outcome));
            println!("  reproduce: {}", reproducer.line(*point));
        }
    }
    eprintln!(
        "pmem-sweep: {} of {} points passed",
        results.len() - bad,
        results.len()
    );
    let outcomes: Vec<Outcome> = results.into_iter().map(|(_, o)| o).collect();
    Ok(exit_code(&outcomes))
}

/// Runs `points` on `jobs` threads, each in its own directory; sorted results.
fn run_all(plan: &Plan, base: &Path, points: &[u64], jobs: usize) -> Vec<(u64, Outcome)> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(points.len()));
    let progress = Progress::new(points.len());
    std::thread::scope(|s| {
        for job in 0..jobs.min(points.len()) {
            let (next, results, progress) = (&next, &results, &progress);
            let dir = base.join(format!("job-{job}"));
            s.spawn(move || {
                while let Some(&point) = points.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let outcome = plan.run_point(&dir, point, false);
                    progress.done(outcome != Outcome::Passed);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((point, outcome));
                }
            });
        }
    });
    progress.finish();
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|r| r.0);
    results
}

/// 0: all passed; 1: a check failed; 2: only errors or unreached points.
fn exit_code(outcomes: &[Outcome]) -> u8 {
    if outcomes.iter().any(|o| matches!(o, Outcome::Failed(_))) {
        1
    } else if outcomes.iter().all(|o| *o == Outcome::Passed) {
        0
    } else {
        2
    }
}

fn summary(o: &Outcome) -> String {
    match o {
        Outcome::Passed => "passed".into(),
        Outcome::Failed(why) => format!("FAILED: {why}"),
        Outcome::Unreached(why) => format!("not reached: {why}"),
        Outcome::Error(why) => format!("error: {why}"),
    }
}

/// A program named by a path is found from the caller's directory, since
/// the runs happen in job directories.
fn resolve_program(mut program: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let p = PathBuf::from(&program[0]);
    if p.components().count() > 1 && p.is_relative() {
        let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
        program[0] = cwd.join(p).into_os_string();
    }
    Ok(program)
}

/// The directory for the job directories, and whether pmem-sweep made it.
fn make_workdir(chosen: Option<PathBuf>) -> Result<(PathBuf, bool), String> {
    let made = chosen.is_none();
    let dir = chosen.unwrap_or_else(|| {
        let unique = format!(
            "pmem-sweep.{}.{}",
            std::process::id(),
            clock_seed() % 1_000_000
        );
        std::env::temp_dir().join(unique)
    });
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok((dir, made))
}

/// Removes what the sweep put in `dir` (all of it if the sweep made it).
fn clean_workdir(dir: &Path, made: bool) {
    if made {
        let _ = std::fs::remove_dir_all(dir);
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("job-") || name.starts_with("count") {
            let p = e.path();
            let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
        }
    }
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The one-line command that replays a single point.
struct Reproducer(String);

impl Reproducer {
    fn new(o: &args::Options) -> Self {
        let mut words = Vec::new();
        for (flag, v) in [("--setup", &o.setup), ("--check", &o.check)] {
            if let Some(v) = v {
                words.push(flag.to_string());
                words.push(quote(v));
            }
        }
        words.push("--".into());
        words.extend(o.program.iter().map(|a| quote(&a.to_string_lossy())));
        Reproducer(words.join(" "))
    }

    fn line(&self, point: u64) -> String {
        format!("pmem-sweep --only {point} {}", self.0)
    }
}

/// Shell-quotes `s` unless it is plainly safe.
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./=:,+-".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The progress line on stderr: rewritten in place on a terminal, one line
/// per tenth of the run otherwise.
struct Progress {
    total: usize,
    state: Mutex<(usize, usize)>,
    tty: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress {
            total,
            state: Mutex::new((0, 0)),
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn done(&self, failed: bool) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0 += 1;
        st.1 += failed as usize;
        let step = (self.total / 10).max(1);
        if self.tty || st.0 % step == 0 || st.0 == self.total {
            let end = if self.tty { "\r" } else { "\n" };
            eprint!(
                "pmem-sweep: {}/{} points run, {} failed{end}",
                st.0, self.total, st.1
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_the_shell() {
        assert_eq!(quote("./prog"), "./prog");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn exit_code_ranks_failures_first() {
        let f = Outcome::Failed("x".into());
        let u = Outcome::Unreached("y".into());
        assert_eq!(exit_code(&[Outcome::Passed]), 0);
        assert_eq!(exit_code(&[Outcome::Passed, u.clone()]), 2);
        assert_eq!(exit_code(&[u, f]), 1);
    }
}
