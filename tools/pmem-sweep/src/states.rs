//! Crash states and the strategies that choose them.
//!
//! A state is a point N, how many of the lines it changes reach the file
//! before the crash (a tear, `PMEM_FIT_CRASH_AT=N.k`), and which in-flight
//! lines flip at the crash (`PMEM_FIT_CRASH_STATE`). The library numbers a
//! crash's candidates: first the lines flushed since the last drain (a flip
//! loses them), then the dirty lines, stored and never flushed (a flip
//! writes them). The base run of each point (no tear, no flip) reports how
//! many of each there are; the strategies turn that into more states.

use crate::protocol::{CrashAt, Flips, SplitMix};
use crate::sample::choose;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct State {
    pub point: u64,
    pub tear: u64,
    /// The PMEM_FIT_CRASH_STATE value.
    pub flips: Flips,
}

impl State {
    pub fn base(point: u64) -> State {
        State {
            point,
            tear: 0,
            flips: Flips::None,
        }
    }

    /// The PMEM_FIT_CRASH_AT value.
    pub fn crash_at(&self) -> String {
        CrashAt {
            point: self.point,
            tear: self.tear,
        }
        .to_string()
    }

    /// "point 3", "point 3.1", "point 3 state only:1".
    pub fn label(&self) -> String {
        match &self.flips {
            Flips::None => format!("point {}", self.crash_at()),
            f => format!("point {} state {f}", self.crash_at()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Every tear of the point's lines: N.1 .. N.(lines-1).
    Tear,
    /// All dirty lines reach the file.
    Dirty,
    /// Each candidate alone flips.
    Each,
    /// All candidates but one flip.
    AllButOne,
    /// Every candidate flips.
    All,
    /// This many seeded random subsets.
    Random(u64),
}

pub const DEFAULT: &str = "tear,dirty,each,all-but-one,all";

/// Parses a --states list; `none` alone asks for the base states only.
pub fn parse(list: &str) -> Result<Vec<Strategy>, String> {
    let mut out = Vec::new();
    for s in list.split(',').map(str::trim) {
        let st = match s {
            "none" => continue,
            "tear" => Strategy::Tear,
            "dirty" => Strategy::Dirty,
            "each" => Strategy::Each,
            "all-but-one" => Strategy::AllButOne,
            "all" => Strategy::All,
            _ => match s.strip_prefix("random:").map(str::parse) {
                Some(Ok(k)) => Strategy::Random(k),
                _ => {
                    return Err(format!(
                        "--states: unknown strategy {s:?} (want none, tear, dirty, each, \
                         all-but-one, all, random:K)"
                    ))
                }
            },
        };
        out.push(st);
    }
    Ok(out)
}

/// What a point's base run reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Lines the point changes.
    pub lines: u64,
    /// In-flight lines at its start: flushed-unfenced, then dirty.
    pub unfenced: u64,
    pub dirty: u64,
}

/// The states beyond the base that `strategies` give point `point`, at most
/// `budget` of them (a sample drawn from `seed` when there are more), and
/// how many were left out. The full list is never built: a point can have
/// millions of candidates.
pub fn expand(
    point: u64,
    c: Counts,
    strategies: &[Strategy],
    budget: u64,
    seed: u64,
) -> (Vec<State>, u64) {
    let n = c.unfenced + c.dirty;
    // Each strategy's share of the list: how many states, and the i-th.
    let mut shares: Vec<(Strategy, u64)> = Vec::new();
    for &s in strategies {
        let count = match s {
            Strategy::Tear => c.lines.saturating_sub(1),
            // With nothing unfenced, "dirty" is "all".
            Strategy::Dirty => (c.dirty > 0 && c.unfenced > 0) as u64,
            Strategy::All => (n > 0) as u64,
            // One candidate alone is "all".
            Strategy::Each if n > 1 => n,
            // With two candidates these are "each"; with one, the base.
            Strategy::AllButOne if n > 2 => n,
            Strategy::Random(k) if n > 0 => k,
            _ => 0,
        };
        if count > 0 && !shares.iter().any(|&(t, _)| t == s) {
            shares.push((s, count));
        }
    }
    let total: u64 = shares.iter().map(|s| s.1).sum();
    let picked: Vec<u64> = if total <= budget {
        (0..total).collect()
    } else {
        choose(total, budget, seed ^ point)
            .into_iter()
            .map(|i| i - 1)
            .collect()
    };
    let mut rng_seed = SplitMix(seed ^ point.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let random_base = rng_seed.next_u64();
    let nth = |mut i: u64| -> State {
        let mut share = shares[0];
        for &sh in &shares {
            share = sh;
            if i < sh.1 {
                break;
            }
            i -= sh.1;
        }
        let flips = |f: Flips| State {
            point,
            tear: 0,
            flips: f,
        };
        match share.0 {
            Strategy::Tear => State {
                point,
                tear: i + 1,
                flips: Flips::None,
            },
            Strategy::Dirty => flips(Flips::Only(vec![(c.unfenced, n - 1)])),
            Strategy::All => flips(Flips::All),
            Strategy::Each => flips(Flips::Only(vec![(i, i)])),
            Strategy::AllButOne => flips(Flips::AllBut(vec![(i, i)])),
            Strategy::Random(_) => flips(Flips::Random(
                SplitMix(random_base.wrapping_add(i)).next_u64(),
            )),
        }
    };
    let mut out: Vec<State> = picked.into_iter().map(nth).collect();
    out.sort();
    (out, total.saturating_sub(budget))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(v: &[State]) -> Vec<String> {
        v.iter().map(State::label).collect()
    }

    #[test]
    fn strategies_parse() {
        let d = parse(DEFAULT).unwrap();
        assert_eq!(d.len(), 5);
        assert_eq!(parse("none").unwrap(), vec![]);
        assert_eq!(parse("random:3").unwrap(), vec![Strategy::Random(3)]);
        assert!(parse("tear,bogus").is_err());
    }

    /// Two dirty lines (data and flag, one persist): every subset of them.
    #[test]
    fn the_default_covers_every_subset_of_two_lines() {
        let c = Counts {
            lines: 2,
            unfenced: 0,
            dirty: 2,
        };
        let (v, skipped) = expand(5, c, &parse(DEFAULT).unwrap(), 100, 1);
        assert_eq!(skipped, 0);
        assert_eq!(
            labels(&v),
            [
                "point 5 state all",
                "point 5 state only:0",
                "point 5 state only:1",
                "point 5.1"
            ]
        );
    }

    #[test]
    fn budget_samples_and_counts_what_it_left_out() {
        let c = Counts {
            lines: 10,
            unfenced: 3,
            dirty: 7,
        };
        let all = parse(DEFAULT).unwrap();
        let (v, skipped) = expand(1, c, &all, 1000, 1);
        // 9 tears, dirty, all, 10 each, 10 all-but-one.
        assert_eq!((v.len(), skipped), (31, 0));
        assert!(labels(&v).contains(&"point 1 state only:3-9".to_string()));
        let (w, skipped) = expand(1, c, &all, 8, 1);
        assert_eq!((w.len(), skipped), (8, 23));
        assert_eq!(w, expand(1, c, &all, 8, 1).0, "reproducible");
        assert!(w.iter().all(|s| v.contains(s)));
        let none = Counts::default();
        assert_eq!(expand(1, none, &all, 8, 1), (vec![], 0));
        // Millions of candidates: sampled without listing them.
        let huge = Counts {
            lines: 3,
            unfenced: 0,
            dirty: 5_000_000,
        };
        let (h, skipped) = expand(2, huge, &all, 32, 9);
        assert_eq!((h.len(), skipped), (32, 2 + 1 + 10_000_000 - 32));
        let r = expand(1, c, &[Strategy::Random(3)], 100, 4).0;
        assert_eq!(r.len(), 3);
        assert!(r.iter().all(|s| matches!(s.flips, Flips::Random(_))));
    }
}
