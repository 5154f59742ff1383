//! Failed states, printed as they are found, with the lines flipped at
//! the crash ranked by how well they tell failing states from passing
//! ones: a line flipped in every failing state and in no passing one comes
//! first; libpmemobj's own lines, flipped everywhere, come last.

use crate::protocol::CrashRecord;
use crate::repro::Reproducer;
use crate::runner::{Outcome, Run};
use crate::states::State;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// Lines shown for one failure; the rest are counted.
const SHOWN: usize = 4;

/// A flipped line, its path relative to the job directory (jobs differ).
type LineKey = (String, u64, bool);

#[derive(Default)]
struct Tally {
    failed: u64,
    passed: u64,
    /// Per line: in how many failing and passing states it was flipped.
    lines: HashMap<LineKey, (u64, u64)>,
}

impl Tally {
    /// How much more often `k` flips in failing states than in passing ones.
    fn score(&self, k: &LineKey) -> f64 {
        let (f, p) = self.lines.get(k).copied().unwrap_or_default();
        f as f64 / self.failed.max(1) as f64 - p as f64 / self.passed.max(1) as f64
    }
}

pub struct Findings<'a> {
    tally: Mutex<Tally>,
    reproducer: &'a Reproducer,
}

impl<'a> Findings<'a> {
    pub fn new(reproducer: &'a Reproducer) -> Self {
        Findings {
            tally: Mutex::new(Tally::default()),
            reproducer,
        }
    }

    /// Counts a finished state; prints it now if it failed.
    pub fn add(&self, state: &State, run: &Run, dir: &Path) {
        let mut t = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        let failed = run.outcome != Outcome::Passed;
        let keys = run.crash.as_ref().map_or_else(Vec::new, |c| keys(c, dir));
        if run.crash.is_some() {
            match failed {
                true => t.failed += 1,
                false => t.passed += 1,
            }
        }
        for k in &keys {
            let e = t.lines.entry(k.clone()).or_default();
            match failed {
                true => e.0 += 1,
                false => e.1 += 1,
            }
        }
        if !failed {
            return;
        }
        let mut ranked = keys;
        ranked.sort_by(|a, b| t.score(b).total_cmp(&t.score(a)));
        let mut out = format!("{}: {}\n", state.label(), crate::summary(&run.outcome));
        if !ranked.is_empty() {
            let words: Vec<String> = ranked.iter().take(SHOWN).map(describe).collect();
            out += &format!("  at the crash: {}", words.join("; "));
            if ranked.len() > SHOWN {
                out += &format!(" (and {} more lines flipped)", ranked.len() - SHOWN);
            }
            out.push('\n');
        }
        out += &format!("  reproduce: {}\n", self.reproducer.sweep(state));
        out += &format!("  by hand:   {}\n", self.reproducer.by_hand(state));
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
    }

    /// The lines flipped in failing states more than in passing ones, best
    /// separating first (none when no failing state flipped a line).
    pub fn separating(&self, n: usize) -> Vec<String> {
        let t = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<&LineKey> = t.lines.keys().filter(|k| t.score(k) > 0.0).collect();
        keys.sort_by(|a, b| t.score(b).total_cmp(&t.score(a)).then(a.cmp(b)));
        keys.into_iter()
            .take(n)
            .map(|k| {
                let (f, p) = t.lines[k];
                format!(
                    "{}: in {f} of {} failing states, {p} of {} passing",
                    describe(k),
                    t.failed,
                    t.passed
                )
            })
            .collect()
    }
}

fn keys(c: &CrashRecord, dir: &Path) -> Vec<LineKey> {
    let prefix = format!("{}/", dir.display());
    c.flipped
        .iter()
        .map(|f| {
            let path = f.path.strip_prefix(&prefix).unwrap_or(&f.path);
            (path.to_string(), f.offset, f.written)
        })
        .collect()
}

fn describe((path, offset, written): &LineKey) -> String {
    let what = match written {
        true => "written (stored, never flushed)",
        false => "lost (flushed, not yet drained)",
    };
    format!("{path}+{offset} {what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Flipped, Flips};

    fn run(failed: bool, offsets: &[u64]) -> Run {
        let flipped = offsets
            .iter()
            .map(|&offset| Flipped {
                path: "/w/job-0/pool".into(),
                offset,
                written: true,
            })
            .collect();
        Run {
            outcome: match failed {
                true => Outcome::Failed("x".into()),
                false => Outcome::Passed,
            },
            crash: Some(CrashRecord {
                pid: 1,
                point: 1,
                tear: 0,
                lines: 1,
                unfenced: 0,
                dirty: offsets.len() as u64,
                state: "all".into(),
                flipped,
            }),
            shared: false,
        }
    }

    /// Runtime lines (0, 64) flip in every state; line 4096 only in the
    /// failing ones: it ranks first.
    #[test]
    fn the_line_that_separates_comes_first() {
        let o = crate::args::parse(["--", "p"].iter().map(std::ffi::OsString::from)).unwrap();
        let r = Reproducer::new(&o, &o.program, None, &[]);
        let f = Findings::new(&r);
        let state = State {
            point: 1,
            tear: 0,
            flips: Flips::All,
        };
        let dir = Path::new("/w/job-0");
        for _ in 0..5 {
            f.add(&state, &run(false, &[0, 64]), dir);
        }
        f.add(&state, &run(true, &[0, 64, 4096]), dir);
        f.add(&state, &run(true, &[0, 4096, 64]), dir);
        let best = f.separating(5);
        assert_eq!(
            best,
            ["pool+4096 written (stored, never flushed): in 2 of 2 failing states, 0 of 5 passing"]
        );
    }
}
