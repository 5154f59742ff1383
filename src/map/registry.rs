//! The ranges this library has mapped, for pmem_is_pmem, deep drain and the
//! persistence modes: a [`RangeMap`] of what backs each range, behind a lock.
//!
//! A lookup is O(log n) however many mappings are live. The lock only ever
//! guards in-memory tree work (never a system call), so a query waits at
//! most for one insert or split; the persist path never takes it.

use crate::range_map::{Cut, RangeMap, Span};
use core::ops::Range;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// What backs a mapping, which decides whether it is persistent memory and
/// how pmem_deep_drain reaches the medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// A Device DAX character device (`rdev` is its device number).
    DevDax { rdev: u64 },
    /// A file on a DAX file system mapped with MAP_SYNC (`dev` is the
    /// file system's device number).
    MapSync { dev: u64 },
    /// Page cache: stores become durable only through msync.
    PageCache,
}

impl Backing {
    pub fn is_pmem(self) -> bool {
        !matches!(self, Backing::PageCache)
    }
}

/// Every part of a mapping has the same backing.
impl Cut for Backing {
    fn skip(&self, _: usize) -> Self {
        *self
    }
}

/// The live mappings, by address: one [`Span`] per mapping (or part left of
/// one after partial unmaps), valued by its [`Backing`].
#[derive(Default)]
pub struct Registry {
    spans: RwLock<RangeMap<Backing>>,
}

impl Registry {
    pub const fn new() -> Self {
        Registry {
            spans: RwLock::new(RangeMap::new()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, RangeMap<Backing>> {
        // A panic elsewhere cannot leave the map half-updated (its
        // operations never call out while it is inconsistent), so poisoning
        // is ignored.
        self.spans.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, RangeMap<Backing>> {
        self.spans.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a fresh mapping. Whatever stale entries it overlaps (which can
    /// only come from ranges unmapped behind this library's back) are dropped.
    pub fn insert(&self, range: Range<usize>, backing: Backing) {
        self.write().insert(range, backing);
    }

    /// Forgets `range`, cutting entries that straddle its ends, and returns
    /// what it removed (so a failed munmap can put it back).
    pub fn remove(&self, range: Range<usize>) -> Vec<Span<Backing>> {
        self.write().remove(range)
    }

    /// Puts back entries returned by [`Registry::remove`].
    pub fn restore(&self, entries: &[Span<Backing>]) {
        let mut spans = self.write();
        for e in entries {
            spans.insert(e.start..e.end(), e.value);
        }
    }

    /// The entry holding `addr`, if any.
    pub fn find(&self, addr: usize) -> Option<Span<Backing>> {
        self.read().get(addr).cloned()
    }

    /// True when every byte of `range` lies in entries whose backing
    /// satisfies `pred`, possibly several adjacent ones; false when empty.
    pub fn covers(&self, range: Range<usize>, pred: impl Fn(Backing) -> bool) -> bool {
        self.read().covers(range, |b| pred(*b))
    }

    /// The entries overlapping `range`, in address order.
    pub fn overlapping(&self, range: Range<usize>) -> Vec<Span<Backing>> {
        self.read().overlapping(range).cloned().collect()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.read().len()
    }
}

#[cfg(test)]
mod tests {
    //! The registry's own rules; the range arithmetic is tested in
    //! crate::range_map.
    use super::*;

    const PM: Backing = Backing::MapSync { dev: 1 };
    const PC: Backing = Backing::PageCache;

    fn pmem(r: &Registry, range: Range<usize>) -> bool {
        r.covers(range, Backing::is_pmem)
    }

    #[test]
    fn adjacent_mappings_count_together_but_not_across_gaps_or_page_cache() {
        let r = Registry::new();
        r.insert(0x1000..0x2000, PM);
        r.insert(0x2000..0x3000, Backing::DevDax { rdev: 7 });
        r.insert(0x3000..0x4000, PC);
        r.insert(0x5000..0x6000, PM);
        assert!(pmem(&r, 0x1800..0x2800));
        assert!(!pmem(&r, 0x2800..0x3800));
        assert!(!pmem(&r, 0x4fff..0x5001));
        assert!(!pmem(&r, 0x1000..0x1000));
        assert!(r.covers(0x1000..0x4000, |_| true));
    }

    #[test]
    fn a_failed_unmap_puts_back_exactly_what_it_took() {
        let r = Registry::new();
        r.insert(0x10000..0x20000, PM);
        r.remove(0x14000..0x15000);
        // Spanning the hole and both remaining entries' edges.
        let gone = r.remove(0x13000..0x16000);
        assert_eq!(
            gone.iter().map(|e| (e.start, e.len)).collect::<Vec<_>>(),
            vec![(0x13000, 0x1000), (0x15000, 0x1000)]
        );
        assert!(pmem(&r, 0x10000..0x13000) && pmem(&r, 0x16000..0x20000));
        r.restore(&gone);
        assert!(pmem(&r, 0x13000..0x14000) && pmem(&r, 0x15000..0x16000));
        assert!(r.find(0x14000).is_none());
        assert_eq!(r.len(), 4);
        assert_eq!(r.overlapping(0..usize::MAX).len(), 4);
        assert_eq!(r.find(0x15800).map(|e| e.value), Some(PM));
    }

    #[test]
    fn insert_replaces_stale_overlap() {
        let r = Registry::new();
        r.insert(0x1000..0x5000, PC);
        r.insert(0x2000..0x3000, PM);
        assert_eq!(r.len(), 3);
        assert!(pmem(&r, 0x2000..0x3000));
        assert!(!pmem(&r, 0x1000..0x3000));
    }

    #[test]
    fn hundred_thousand_mappings_stay_fast() {
        let r = Registry::new();
        let n = 100_000usize;
        let at = |i: usize| 0x1000_0000 + i * 0x2000;
        for i in 0..n {
            r.insert(at(i)..at(i) + 0x1000, PM);
        }
        let t = std::time::Instant::now();
        for i in 0..n {
            assert!(pmem(&r, at(i)..at(i) + 0x1000));
            assert!(!pmem(&r, at(i) + 0x1000..at(i) + 0x1001));
        }
        // 200,000 queries: O(log n) each is well under a second even
        // unoptimised; a linear scan would take minutes.
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
    }
}
