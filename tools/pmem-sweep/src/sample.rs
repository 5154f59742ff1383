//! Choosing which points and states to run.

use crate::protocol::SplitMix;
use std::collections::BTreeSet;

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

/// Points 1..=total, or `k` of them chosen by `seed`.
pub fn points(total: u64, sample: Option<(u64, u64)>) -> Vec<u64> {
    match sample {
        None => (1..=total).collect(),
        Some((k, seed)) => choose(total, k, seed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_distinct_reproducible_and_in_range() {
        let a = points(1000, Some((50, 7)));
        assert_eq!(a, points(1000, Some((50, 7))));
        assert_ne!(a, points(1000, Some((50, 8))));
        assert_eq!(a.len(), 50);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert!(a.iter().all(|&p| (1..=1000).contains(&p)));
        assert_eq!(points(3, Some((10, 1))), vec![1, 2, 3]);
        assert_eq!(points(4, None), vec![1, 2, 3, 4]);
    }

    /// A trillion points: a list of them would not fit in memory.
    #[test]
    fn sampling_does_not_list_every_point() {
        let a = choose(1_000_000_000_000, 5, 3);
        assert_eq!(a.len(), 5);
        assert!(a.iter().all(|&p| (1..=1_000_000_000_000).contains(&p)));
    }
}
