//! pmem-sweep: crash a program at every persistence point in fit mode and
//! check what it left behind. See docs/modes.md and `pmem-sweep --help`.

mod args;
mod findings;
// The library's definition of the protocol, compiled here too; the tool
// reads what the library writes, so each uses half of it.
mod image;
mod input;
mod mirror;
mod preload;
#[allow(dead_code)]
#[path = "../../../src/mode/protocol.rs"]
mod protocol;
mod reaper;
mod report;
mod repro;
mod runner;
mod sample;
mod server;
mod signals;
mod states;
#[allow(dead_code)]
#[path = "../../../src/mode/strategy.rs"]
mod strategy;
mod wait;
mod workdir;

use report::{CrashRecord, Summary};
use repro::Reproducer;
use runner::{Outcome, Plan, Run};
use states::{Counts, State};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use workdir::Workdir;

fn main() -> ExitCode {
    let opts = match args::parse(std::env::args_os().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    signals::install();
    let result = sweep(opts);
    // Whatever escaped every job's clean-up (an environment cleared).
    reaper::kill_orphans(None);
    if let Some(sig) = signals::caught() {
        eprintln!(
            "pmem-sweep: interrupted by {}; the failures found so far are above",
            signals::name(sig)
        );
        return ExitCode::from(128 + sig as u8);
    }
    match result {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            eprintln!("pmem-sweep: {msg}");
            ExitCode::from(2)
        }
    }
}

fn sweep(opts: args::Options) -> Result<u8, String> {
    if !reaper::become_subreaper() {
        eprintln!("pmem-sweep: warning: cannot become a child subreaper; daemons a run starts may outlive it");
    }
    let program = resolve_program(opts.program.clone())?;
    let work = Workdir::make(opts.workdir.clone())?;
    let input = match input::capture(&work.root) {
        Ok(i) => i,
        Err(e) => {
            work.remove();
            return Err(e);
        }
    };
    let mut env = input::defaults();
    let preload = match preload::find() {
        Ok(p) => p,
        Err(e) => {
            work.remove();
            return Err(e);
        }
    };
    match &preload {
        Some(p) => {
            let user = std::env::var("LD_PRELOAD").ok();
            env.push(("LD_PRELOAD".into(), preload::ld_preload(p, user.as_deref())));
            eprintln!(
                "pmem-sweep: LD_PRELOAD={} for every command (fit mode then sees each munmap \
                 and mremap; {}= to run without)",
                p.display(),
                preload::VAR
            );
        }
        None => eprintln!(
            "pmem-sweep: no {} (set {}): fit mode proves mappings from the kernel alone",
            preload::NAME,
            preload::VAR
        ),
    }
    if env.iter().any(|(k, _)| k == input::FORCE) {
        eprintln!(
            "pmem-sweep: {}=1 for every command (libpmemobj then flushes lines, not pages; \
             set {0} yourself to choose)",
            input::FORCE
        );
    }
    if input.len > 0 && input.origin.is_none() {
        eprintln!(
            "pmem-sweep: every run reads the {} bytes of standard input given to pmem-sweep \
             (INPUT in the reproducers)",
            input.len
        );
    }
    let stdin_name = match (&input.origin, input.len) {
        (Some(f), _) => Some(f.as_str()),
        (None, 0) => None,
        (None, _) => Some("INPUT"),
    };
    let mut by_hand_env = input::inherited();
    by_hand_env.retain(|(k, _)| env.iter().all(|(set, _)| set != k));
    by_hand_env.extend(env.iter().cloned());
    let reproducer = Reproducer::new(&opts, &program, stdin_name, &by_hand_env);
    let plan = Plan {
        setup: opts.setup.clone(),
        check: match (&opts.check, &opts.check_server) {
            (Some(c), _) => Some(runner::Check::Each(c.clone())),
            (None, Some(c)) => Some(runner::Check::Server(c.clone())),
            (None, None) => None,
        },
        servers: Default::default(),
        program,
        timeout: opts.timeout,
        check_timeout: opts.check_timeout,
        drain_scan: opts.drain_scan,
        stdin: input.copy.clone(),
        env,
        checked: opts.dedupe.then(Default::default),
    };
    if let Some((point, tear)) = opts.only {
        let state = State {
            point,
            tear,
            flips: opts.state.clone().unwrap_or(protocol::Flips::None),
        };
        let dir = work.root.join("job-0");
        let run = plan.run_state(&dir, &state, true);
        eprintln!(
            "pmem-sweep: {}: {} (files kept in {})",
            state.label(),
            summary(&run.outcome),
            dir.display()
        );
        if let Some(what) = run.crash.as_ref().and_then(|c| flipped(c, &dir)) {
            eprintln!("  at the crash: {what}");
        }
        plan.servers.close();
        return Ok(exit_code(std::slice::from_ref(&run.outcome)));
    }
    let result = sweep_states(&plan, &work.root, &opts, &reproducer);
    plan.servers.close(); // before their directories go
    if opts.keep {
        eprintln!(
            "pmem-sweep: job directories kept in {}",
            work.root.display()
        );
    } else {
        work.remove();
    }
    result
}

/// One state's result, and the job directory it ran in.
type Result1 = (State, Run, PathBuf);

/// Counts the points, runs the base state of the chosen ones, then the
/// states the strategies derive from what each base run reported.
fn sweep_states(
    plan: &Plan,
    root: &Path,
    opts: &args::Options,
    reproducer: &Reproducer,
) -> Result<u8, String> {
    let began = Instant::now();
    let count_dir = root.join("count");
    let (total, records) = match plan.count_points(&count_dir) {
        Ok(counted) => counted,
        Err(runner::Counting::Error(e)) => return Err(e),
        Err(runner::Counting::Uncrashed(why, records)) => {
            println!("the program's run without a crash already fails the check: {why}");
            print_flush_report(&records, &count_dir);
            println!("  by hand:   {}", reproducer.uncrashed());
            eprintln!("pmem-sweep: no state swept: fix the uncrashed run first (exit status 3)");
            return Ok(3);
        }
    };
    print_flush_report(&records, &count_dir);
    if total == 0 {
        eprintln!(
            "pmem-sweep: warning: the program passed no persistence point \
             (does it flush through libpmem into files it maps with it?)"
        );
    }
    let seed = opts.seed.unwrap_or_else(clock_seed);
    let strategies = states::parse(&opts.states)?;
    let points = sample::points(total, opts.sample.map(|k| (k, seed)));
    match opts.sample {
        Some(_) => eprintln!(
            "pmem-sweep: {total} points; running {} sampled, states {}, --seed {seed}",
            points.len(),
            opts.states
        ),
        None => eprintln!(
            "pmem-sweep: {total} points, states {}, --seed {seed}",
            opts.states
        ),
    }
    let found = findings::Findings::new(reproducer);
    let mut left_out = 0;
    let e = states::Expansion {
        strategies: strategies_text(&opts.states),
        budget: opts.budget,
        seed,
    };
    let results = if opts.no_images || strategies.is_empty() {
        // Each point's base state, then the states its crash record gives,
        // each from a run of its own.
        let bases = points.iter().map(|&p| Item::One(State::base(p))).collect();
        let (mut results, _) = run_all(plan, root, bases, opts.jobs, "base states", 0, &found);
        let mut more = Vec::new();
        for (state, run, _) in results.iter().filter(|_| signals::caught().is_none()) {
            if let Some(c) = &run.crash {
                let (v, skipped) = states::expand(state.point, Counts::of(c), &e);
                more.extend(v.into_iter().map(Item::One));
                left_out += skipped;
            }
        }
        if !more.is_empty() {
            let failed = results
                .iter()
                .filter(|r| r.1.outcome != Outcome::Passed)
                .count();
            let (more, _) = run_all(plan, root, more, opts.jobs, "more states", failed, &found);
            results.extend(more);
        }
        results
    } else {
        // One run a point: its crash writes the image of every state the
        // strategies pick for it.
        let items = points.iter().map(|&p| Item::Expand(p, e.clone())).collect();
        let (results, skipped) = run_all(plan, root, items, opts.jobs, "points", 0, &found);
        left_out = skipped;
        results
    };
    let bad = results
        .iter()
        .filter(|r| r.1.outcome != Outcome::Passed)
        .count();
    let separating = found.separating(5);
    if !separating.is_empty() {
        println!("lines flipped in failing states more than in passing ones:");
        for s in separating {
            println!("  {s}");
        }
    }
    let secs = began.elapsed().as_secs_f64();
    if left_out > 0 {
        eprintln!(
            "pmem-sweep: {left_out} states left out by --budget {}",
            opts.budget
        );
    }
    let shared = results.iter().filter(|r| r.1.shared).count();
    let shared = match shared {
        0 => String::new(),
        n => format!("; {n} had the files of a state already checked"),
    };
    eprintln!(
        "pmem-sweep: {} of {} states passed ({} points){shared}; {:.2} s, {:.0} states/s",
        results.len() - bad,
        results.len(),
        points.len(),
        secs,
        (results.len() + 1) as f64 / secs.max(1e-9)
    );
    let outcomes: Vec<Outcome> = results.into_iter().map(|r| r.1.outcome).collect();
    Ok(exit_code(&outcomes))
}

/// What one job runs at a time: a state, or a point and the states the
/// strategies pick for it, from one run (its crash writes their images).
enum Item {
    One(State),
    Expand(u64, states::Expansion),
}

/// The --states list as one word (an expansion line splits on spaces).
fn strategies_text(list: &str) -> String {
    list.split(',').map(str::trim).collect::<Vec<_>>().join(",")
}

/// Runs `items` on `jobs` threads, each in its own directory; the states
/// run, and how many the budget left out. `failed_before`: states of
/// earlier phases that failed, so the progress line counts all failures so
/// far.
fn run_all(
    plan: &Plan,
    root: &Path,
    items: Vec<Item>,
    jobs: usize,
    what: &str,
    failed_before: usize,
    found: &findings::Findings,
) -> (Vec<Result1>, u64) {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let left_out = AtomicU64::new(0);
    let progress = Progress::new(items.len(), what, failed_before);
    std::thread::scope(|s| {
        for job in 0..jobs.min(items.len()) {
            let (next, results, progress, items) = (&next, &results, &progress, &items);
            let (found, left_out) = (&found, &left_out);
            let dir = root.join(format!("job-{job}"));
            s.spawn(move || {
                while let Some(item) = items
                    .get(next.fetch_add(1, Ordering::Relaxed))
                    .filter(|_| signals::caught().is_none())
                {
                    let runs = match item {
                        Item::One(state) => {
                            vec![(state.clone(), plan.run_state(&dir, state, false))]
                        }
                        Item::Expand(point, e) => {
                            let (runs, skipped) = plan.run_expanded(&dir, *point, e);
                            left_out.fetch_add(skipped, Ordering::Relaxed);
                            runs
                        }
                    };
                    if signals::caught().is_some() {
                        break; // cut short: neither passed nor failed
                    }
                    let failed = runs
                        .iter()
                        .filter(|r| r.1.outcome != Outcome::Passed)
                        .count();
                    progress.done(runs.len(), failed);
                    for (state, run) in runs {
                        found.add(&state, &run, &dir);
                        let mut r = results.lock().unwrap_or_else(|e| e.into_inner());
                        r.push((state, run, dir.clone()));
                    }
                }
            });
        }
    });
    progress.finish();
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    (results, left_out.into_inner())
}

/// The crash record's flipped lines, in words, paths relative to `dir`.
fn flipped(crash: &CrashRecord, dir: &Path) -> Option<String> {
    if crash.flipped.is_empty() {
        return None;
    }
    let words: Vec<String> = crash
        .flipped
        .iter()
        .map(|f| {
            let what = match f.written {
                true => "written (stored, never flushed)",
                false => "lost (flushed, not yet drained)",
            };
            format!("{}+{} {what}", relative(&f.path, dir), f.offset)
        })
        .collect();
    Some(words.join("; "))
}

fn relative(path: &str, dir: &Path) -> String {
    let prefix = format!("{}/", dir.display());
    path.strip_prefix(&prefix).unwrap_or(path).to_string()
}

/// Prints the full run's missing-flush and wasted-flush records.
fn print_flush_report(report: &Summary, dir: &Path) {
    if !report.unflushed.is_empty() {
        println!("stores never flushed (in the run without a crash):");
    }
    for r in &report.unflushed {
        let since = match r.num("since") {
            0 => "never flushed".to_string(),
            p => format!("stored after point {p} last wrote it"),
        };
        let at = match r.str("at") {
            "unmap" => "at pmem_unmap",
            "munmap" => "at munmap",
            "drain" => "at a drain",
            _ => "at exit",
        };
        println!(
            "  {} offset {}, {} bytes: {since}; still unflushed {at} after point {}",
            relative(r.str("file"), dir),
            r.num("offset"),
            r.num("len"),
            r.num("until")
        );
    }
    if report.more_unflushed > 0 {
        println!(
            "  and {} more ranges, {} bytes in all (all of them: --keep, then count.report)",
            report.more_unflushed, report.more_bytes
        );
    }
    if report.wasted_lines > 0 {
        let most: Vec<String> = report
            .wasted
            .iter()
            .map(|r| {
                let f = relative(r.str("file"), dir);
                format!("{f}+{} ({} times)", r.num("offset"), r.num("times"))
            })
            .collect();
        println!(
            "wasted flushes: {} of {} flushed lines were already in the file; most: {}",
            report.wasted_lines,
            report.flushed_lines + report.wasted_lines,
            most.join(", ")
        );
    }
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

pub fn summary(o: &Outcome) -> String {
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
        let p: PathBuf = p
            .components()
            .filter(|c| *c != std::path::Component::CurDir)
            .collect();
        program[0] = cwd.join(p).into_os_string();
    }
    Ok(program)
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        % 1_000_000
}

/// The progress line on stderr: rewritten in place on a terminal, one line
/// per tenth of the run otherwise. It counts work items (states, or points
/// with their states), and states when they differ.
struct Progress {
    total: usize,
    what: String,
    /// Items done, states run, states failed.
    state: Mutex<(usize, usize, usize)>,
    tty: bool,
}

impl Progress {
    fn new(total: usize, what: &str, failed_before: usize) -> Self {
        Progress {
            total,
            what: what.to_string(),
            state: Mutex::new((0, 0, failed_before)),
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// One item done: `states` states run, `failed` of them failed.
    fn done(&self, states: usize, failed: usize) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0 += 1;
        st.1 += states;
        st.2 += failed;
        let step = (self.total / 10).max(1);
        if self.tty || st.0 % step == 0 || st.0 == self.total {
            let end = if self.tty { "\r" } else { "\n" };
            let states = match st.0 == st.1 {
                true => String::new(),
                false => format!(" ({} states)", st.1),
            };
            eprint!(
                "pmem-sweep: {}/{} {} run{states}, {} failed so far{end}",
                st.0, self.total, self.what, st.2
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
    fn exit_code_ranks_failures_first() {
        let f = Outcome::Failed("x".into());
        let u = Outcome::Unreached("y".into());
        assert_eq!(exit_code(&[Outcome::Passed]), 0);
        assert_eq!(exit_code(&[Outcome::Passed, u.clone()]), 2);
        assert_eq!(exit_code(&[u, f]), 1);
    }
}
