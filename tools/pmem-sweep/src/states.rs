//! Crash states and the strategies that choose them.
//!
//! A state is a point N, how many of the lines it changes reach the file
//! before the crash (a tear, `PMEM_FIT_CRASH_AT=N.k`), and which in-flight
//! lines flip at the crash (`PMEM_FIT_CRASH_STATE`). The library numbers a
//! crash's candidates: first the lines flushed since the last drain (a flip
//! loses them), then the dirty lines, stored and never flushed (a flip
//! writes them). The base run of each point (no tear, no flip) reports how
//! many of each there are; the strategies turn that into more states.

use crate::protocol::{CrashAt, Flips};
pub use crate::strategy::{parse, Counts, Expansion, DEFAULT};

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

    pub fn of(point: u64, p: crate::strategy::Pick) -> State {
        State {
            point,
            tear: p.tear,
            flips: p.flips,
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

/// The states beyond the base that the expansion `e` gives point `point`
/// (see `strategy::expand`), and how many its budget left out.
pub fn expand(point: u64, c: Counts, e: &Expansion) -> (Vec<State>, u64) {
    let strategies = parse(&e.strategies).unwrap_or_default();
    let (picks, left_out) = crate::strategy::expand(point, c, &strategies, e.budget, e.seed);
    (
        picks.into_iter().map(|p| State::of(point, p)).collect(),
        left_out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_the_picks_of_their_point() {
        let c = Counts {
            lines: 3,
            ..Counts::default()
        };
        let e = Expansion {
            strategies: "tear,random:9".into(),
            budget: 6,
            seed: 2,
        };
        let (picks, left_picks) =
            crate::strategy::expand(5, c, &parse(&e.strategies).unwrap(), 6, 2);
        let (states, left_out) = expand(5, c, &e);
        assert_eq!((states.len(), left_out), (picks.len(), left_picks));
        for (p, st) in picks.iter().zip(&states) {
            assert_eq!((st.point, st.tear, &st.flips), (5, p.tear, &p.flips));
        }
        let tear = State::of(
            5,
            crate::strategy::Pick {
                tear: 2,
                flips: Flips::None,
            },
        );
        assert_eq!(tear.label(), "point 5.2");
    }
}
