//! Choosing which points to run.

/// SplitMix64: small, seedable, good enough to spread samples.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Points 1..=total, or `k` distinct ones of them chosen by `seed`, ascending.
pub fn points(total: u64, sample: Option<(u64, u64)>) -> Vec<u64> {
    let mut all: Vec<u64> = (1..=total).collect();
    let Some((k, seed)) = sample else { return all };
    let k = (k.min(total)) as usize;
    let mut rng = SplitMix(seed);
    // Partial Fisher-Yates: the first k slots end up a uniform sample.
    for i in 0..k {
        let j = i + (rng.next() % (all.len() - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(k);
    all.sort_unstable();
    all
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
