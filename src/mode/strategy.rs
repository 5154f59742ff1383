//! Which crash states a point gets: the strategies that turn what a
//! point's crash sees (its lines, the in-flight candidates) into states.
//!
//! Shared, like `protocol`: pmem-sweep compiles this file too. The sweep
//! picks the states to check, and the process crashing at the point's
//! start, given the same strategies, budget and seed
//! (`PMEM_FIT_CRASH_STATES` holding an [`Expansion`]), picks the same ones
//! and writes each one's image, so a point costs one run of the program.

use super::protocol::{CrashRecord, Flips, SplitMix};
use std::collections::BTreeSet;
use std::fmt;

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

/// What a point's crash sees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Lines the point changes.
    pub lines: u64,
    /// In-flight lines at its start: flushed-unfenced, then dirty.
    pub unfenced: u64,
    pub dirty: u64,
}

impl Counts {
    /// What a crash record says its crash saw.
    pub fn of(c: &CrashRecord) -> Counts {
        Counts {
            lines: c.lines,
            unfenced: c.unfenced,
            dirty: c.dirty,
        }
    }
}

/// A state of a point besides its base state: a tear (its first `tear`
/// lines written) or flips at its start. Ordered as the sweep lists them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pick {
    pub tear: u64,
    pub flips: Flips,
}

/// `k` distinct numbers of 1..=total chosen by `seed`, ascending. Floyd's
/// algorithm: memory and time in k, whatever `total` is.
pub fn choose(total: u64, k: u64, seed: u64) -> Vec<u64> {
    let k = k.min(total);
    let mut rng = SplitMix(seed);
    let mut set = BTreeSet::new();
    for j in total - k + 1..=total {
        let t = 1 + rng.below(j);
        if !set.insert(t) {
            set.insert(j);
        }
    }
    set.into_iter().collect()
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
) -> (Vec<Pick>, u64) {
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
    let nth = |mut i: u64| -> Pick {
        let mut share = shares[0];
        for &sh in &shares {
            share = sh;
            if i < sh.1 {
                break;
            }
            i -= sh.1;
        }
        let flips = |flips: Flips| Pick { tear: 0, flips };
        match share.0 {
            Strategy::Tear => Pick {
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
    let mut out: Vec<Pick> = picked.into_iter().map(nth).collect();
    out.sort();
    (out, total.saturating_sub(budget))
}

/// A `PMEM_FIT_CRASH_STATES` file's request to expand the point's states
/// at the crash: `expand LIST BUDGET SEED` (LIST as --states takes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    pub strategies: String,
    pub budget: u64,
    pub seed: u64,
}

impl Expansion {
    pub fn parse(line: &str) -> Option<Expansion> {
        let mut w = line.strip_prefix("expand ")?.split(' ');
        let (list, budget, seed) = (w.next()?, w.next()?, w.next()?);
        if w.next().is_some() || parse(list).is_err() {
            return None;
        }
        Some(Expansion {
            strategies: list.to_string(),
            budget: budget.parse().ok()?,
            seed: seed.parse().ok()?,
        })
    }

    /// The states of `point` with counts `c`, as `expand` picks them.
    pub fn picks(&self, point: u64, c: Counts) -> Vec<Pick> {
        let strategies = parse(&self.strategies).unwrap_or_default();
        expand(point, c, &strategies, self.budget, self.seed).0
    }
}

impl fmt::Display for Expansion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expand {} {} {}",
            self.strategies, self.budget, self.seed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(v: &[Pick]) -> Vec<String> {
        v.iter()
            .map(|p| match p.tear {
                0 => format!("state {}", p.flips),
                k => format!("tear {k}"),
            })
            .collect()
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
            ["state all", "state only:0", "state only:1", "tear 1"]
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
        assert!(labels(&v).contains(&"state only:3-9".to_string()));
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

    #[test]
    fn an_expansion_round_trips_and_picks_as_expand() {
        let e = Expansion {
            strategies: DEFAULT.into(),
            budget: 8,
            seed: 77,
        };
        assert_eq!(Expansion::parse(&e.to_string()), Some(e.clone()));
        for bad in [
            "expand tear 8",
            "expand bogus 8 1",
            "expand tear x 1",
            "tear:1",
        ] {
            assert_eq!(Expansion::parse(bad), None, "{bad}");
        }
        let c = Counts {
            lines: 4,
            unfenced: 2,
            dirty: 9,
        };
        assert_eq!(
            e.picks(3, c),
            expand(3, c, &parse(DEFAULT).unwrap(), 8, 77).0
        );
    }

    #[test]
    fn choices_are_distinct_reproducible_and_in_range() {
        let a = choose(1000, 50, 7);
        assert_eq!(a, choose(1000, 50, 7));
        assert_ne!(a, choose(1000, 50, 8));
        assert_eq!(a.len(), 50);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert!(a.iter().all(|&p| (1..=1000).contains(&p)));
        assert_eq!(choose(3, 10, 1), vec![1, 2, 3]);
        let huge = choose(1_000_000_000_000, 5, 3);
        assert!(huge.iter().all(|&p| (1..=1_000_000_000_000).contains(&p)));
    }
}
