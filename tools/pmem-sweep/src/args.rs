//! Command line of pmem-sweep.

use crate::protocol::{CrashAt, Flips, FLIPS_SYNTAX};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: pmem-sweep [options] -- PROGRAM [ARGS...]

Runs PROGRAM once in fit mode to count its persistence points (and report
stores it never flushed), then crashes it at every point (or every sampled
point) in several crash states, each run framed by the setup and check
commands. Reports every state whose check fails, with a reproducer.

options:
  --setup CMD     shell command run before every run of PROGRAM (make the files)
  --check CMD     shell command run after every run; non-zero exit: failed
  --check-server CMD
                  instead of --check, a shell command that judges states one
                  after another: it reads each state's directory from its
                  standard input, a line each, and answers each with a line
                  'pmem-sweep: pass' or 'pmem-sweep: fail' on its standard
                  output; exiting instead fails that state (see pmem-sweep(1))
  --states LIST   strategies for the states of each point, comma-separated:
                  none (the base state only), tear (every line a flush can be
                  cut after), dirty (all unflushed lines written), each (each
                  in-flight line alone flipped), all-but-one, all (every one
                  flipped), random:K (K seeded subsets)
                  (default: tear,dirty,each,all-but-one,all)
  --budget N      at most N states per point besides the base one; a seeded
                  sample when there are more (default 32)
  --jobs N        runs in parallel, each job in its own directory (default 1)
  --sample K      run K points chosen at random instead of all of them
  --seed S        seed for --sample, --budget and random:K (default: from the
                  clock, printed)
  --only N[.k]    run one state alone, output shown, directory kept (a
                  reproducer); with --state SPEC for its flips
  --check-timeout SECS
                  limit for each check (default 10); a check that takes
                  longer fails its state (recovery hangs)
  --timeout SECS  limit for setup and each run of the program (default
                  60); the whole process group of a command is killed
  --workdir DIR   where the sweep makes its own directory (default: $TMPDIR);
                  only that directory is ever removed
  --keep          keep the job directories after the sweep
  --drain-scan    in the counting run, also look for unflushed lines at
                  every drain (PMEM_FIT_DRAIN_SCAN=1)
  --dedupe        check each distinct crash image once: a state whose files
                  are byte for byte those of a state already checked takes
                  its outcome (hashing each image costs about what it saves
                  on the corpus, where 1% of the states repeat one)
  --no-images     run the program once per crash state; by default it runs
                  once per point, its crash writing the image of every flip
                  state of the point, each then checked in a copy

Every command runs in its job's directory, also given in $PMEM_SWEEP_DIR;
$PMEM_SWEEP_POINT holds the point number of the run (0 for the counting run).
Every run of PROGRAM reads pmem-sweep's standard input (read once, none from
a terminal), and every command gets PMEM_IS_PMEM_FORCE=1 unless it is set
(libpmemobj then flushes lines instead of calling msync on pages).
Exit status: 0 all states passed, 1 a check failed, 2 usage or setup errors or
points the program did not reach, 3 the check fails even without a crash,
128+N interrupted by signal N (SIGINT, SIGTERM).";

/// What the command line asks for.
#[derive(Debug, Default, PartialEq)]
pub struct Options {
    pub setup: Option<String>,
    pub check: Option<String>,
    pub check_server: Option<String>,
    pub jobs: usize,
    pub sample: Option<u64>,
    pub seed: Option<u64>,
    /// Point and tear.
    pub only: Option<(u64, u64)>,
    /// PMEM_FIT_CRASH_STATE for --only.
    pub state: Option<Flips>,
    pub states: String,
    pub budget: u64,
    pub timeout: Duration,
    pub check_timeout: Duration,
    pub workdir: Option<PathBuf>,
    pub keep: bool,
    pub drain_scan: bool,
    pub dedupe: bool,
    pub no_images: bool,
    pub program: Vec<OsString>,
}

/// Parses the arguments after the program name; Err is the message to print.
pub fn parse(mut args: impl Iterator<Item = OsString>) -> Result<Options, String> {
    let mut o = Options {
        jobs: 1,
        budget: 32,
        states: crate::states::DEFAULT.to_string(),
        timeout: Duration::from_secs(60),
        check_timeout: Duration::from_secs(10),
        ..Options::default()
    };
    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|a| format!("option {a:?} is not UTF-8"))?;
        if arg == "--" {
            o.program = args.collect();
            break;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let switches = ["--keep", "--drain-scan", "--dedupe", "--no-images"];
        if switches.contains(&name.as_str()) {
            o.keep |= name == "--keep";
            o.drain_scan |= name == "--drain-scan";
            o.dedupe |= name == "--dedupe";
            o.no_images |= name == "--no-images";
            continue;
        }
        if name == "--help" || name == "-h" {
            return Err(USAGE.to_string());
        }
        let mut value = || -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args
                    .next()
                    .and_then(|v| v.into_string().ok())
                    .ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match name.as_str() {
            "--setup" => o.setup = Some(value()?),
            "--check" => o.check = Some(value()?),
            "--check-server" => o.check_server = Some(value()?),
            "--jobs" => o.jobs = number(&name, &value()?)?.max(1) as usize,
            "--sample" => o.sample = Some(number(&name, &value()?)?),
            "--seed" => o.seed = Some(number(&name, &value()?)?),
            "--only" => o.only = Some(point(&value()?)?),
            "--state" => o.state = Some(flips(&value()?)?),
            "--states" => o.states = value()?,
            "--budget" => o.budget = number(&name, &value()?)?,
            "--timeout" => o.timeout = Duration::from_secs(number(&name, &value()?)?),
            "--check-timeout" => o.check_timeout = Duration::from_secs(number(&name, &value()?)?),
            "--workdir" => o.workdir = Some(PathBuf::from(value()?)),
            _ => return Err(format!("unknown option {arg:?}\n{USAGE}")),
        }
    }
    if o.program.is_empty() {
        return Err(format!("no program given after --\n{USAGE}"));
    }
    crate::states::parse(&o.states)?;
    if o.check.is_some() && o.check_server.is_some() {
        return Err("--check and --check-server: give one of them".into());
    }
    if o.state.is_some() && o.only.is_none() {
        return Err("--state goes with --only".into());
    }
    Ok(o)
}

/// `N` or `N.k`, N from 1.
fn point(v: &str) -> Result<(u64, u64), String> {
    CrashAt::parse(v)
        .map(|at| (at.point, at.tear))
        .ok_or_else(|| format!("--only: {v:?} is not N or N.k (points are numbered from 1)"))
}

fn flips(v: &str) -> Result<Flips, String> {
    Flips::parse(v).ok_or_else(|| format!("--state: {v:?} is not {FLIPS_SYNTAX}"))
}

fn number(name: &str, v: &str) -> Result<u64, String> {
    v.parse()
        .map_err(|_| format!("{name}: {v:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> impl Iterator<Item = OsString> {
        v.iter().map(OsString::from).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn parses_both_spellings() {
        let o = parse(os(&[
            "--setup",
            "mk",
            "--check=ck",
            "--jobs",
            "3",
            "--sample=5",
            "--seed",
            "9",
            "--keep",
            "--",
            "./p",
            "--setup",
        ]))
        .unwrap();
        assert_eq!(o.setup.as_deref(), Some("mk"));
        assert_eq!(o.check.as_deref(), Some("ck"));
        assert_eq!(
            (o.jobs, o.sample, o.seed, o.keep),
            (3, Some(5), Some(9), true)
        );
        assert_eq!(
            o.program,
            vec![OsString::from("./p"), OsString::from("--setup")]
        );
    }

    /// Each bad command line is refused with a message naming what is wrong.
    #[test]
    fn rejects_bad_command_lines() {
        let err = |v: &[&str]| parse(os(v)).unwrap_err();
        assert!(err(&["--jobs", "x", "--", "p"]).starts_with("--jobs: \"x\" is not a number"));
        assert_eq!(err(&["--check"]), "--check needs a value");
        assert!(err(&["--setup", "s"]).starts_with("no program given after --\n"));
        assert!(err(&["--frobnicate", "--", "p"]).starts_with("unknown option \"--frobnicate\""));
        assert!(err(&["--only", "0", "--", "p"]).contains("points are numbered from 1"));
        assert!(err(&["--only", "2.x", "--", "p"]).starts_with("--only: \"2.x\" is not N or N.k"));
        assert!(err(&["--states", "tear,x", "--", "p"]).contains("unknown strategy \"x\""));
        assert_eq!(
            err(&["--state", "all", "--", "p"]),
            "--state goes with --only"
        );
        assert!(err(&["--only", "1", "--state", "some:1", "--", "p"])
            .starts_with("--state: \"some:1\" is not none, all, only:LIST"));
        assert!(err(&["--help"]).starts_with("usage: pmem-sweep"));
        assert_eq!(
            err(&["--check", "a", "--check-server", "b", "--", "p"]),
            "--check and --check-server: give one of them"
        );
        let o = parse(os(&["--only", "3.2", "--state", "only:1", "--", "p"])).unwrap();
        assert_eq!(
            (o.only, o.state),
            (Some((3, 2)), Some(Flips::Only(vec![(1, 1)])))
        );
    }
}
