//! Choosing which points and states to run.

use crate::strategy::choose;

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
}
