//! The ranges this library has mapped, for pmem_is_pmem, deep drain and the
//! persistence modes.
//!
//! Records never overlap and are keyed by start address in a BTreeMap, so a
//! lookup is O(log n) however many mappings are live. The lock only ever
//! guards in-memory tree work (never a system call), so a query waits at
//! most for one insert or split; the persist path never takes it.

use std::collections::BTreeMap;
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

/// One registered range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub start: usize,
    pub len: usize,
    pub backing: Backing,
}

impl Record {
    fn end(&self) -> usize {
        self.start + self.len
    }
}

/// Non-overlapping ranges keyed by start.
#[derive(Default)]
pub struct Registry {
    tree: RwLock<BTreeMap<usize, (usize, Backing)>>,
}

impl Registry {
    pub const fn new() -> Self {
        Registry {
            tree: RwLock::new(BTreeMap::new()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<usize, (usize, Backing)>> {
        // A panic elsewhere cannot leave the tree half-updated (BTreeMap
        // operations are complete or not at all), so poisoning is ignored.
        self.tree.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<usize, (usize, Backing)>> {
        self.tree.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a fresh mapping. Any stale records it overlaps (which can only
    /// come from ranges unmapped behind this library's back) are dropped.
    pub fn insert(&self, start: usize, len: usize, backing: Backing) {
        if len == 0 {
            return;
        }
        let mut tree = self.write();
        remove_range(&mut tree, start, start.saturating_add(len));
        tree.insert(start, (len, backing));
    }

    /// Forgets `[start, end)`, splitting records that straddle its ends, and
    /// returns what it removed (so a failed munmap can put it back).
    pub fn remove(&self, start: usize, end: usize) -> Vec<Record> {
        remove_range(&mut self.write(), start, end)
    }

    /// Puts back records returned by [`Registry::remove`].
    pub fn restore(&self, records: &[Record]) {
        let mut tree = self.write();
        for r in records {
            tree.insert(r.start, (r.len, r.backing));
        }
    }

    /// The record holding `addr`, if any.
    pub fn find(&self, addr: usize) -> Option<Record> {
        let tree = self.read();
        containing(&tree, addr)
    }

    /// True when every byte of `[addr, addr + len)` lies in records that
    /// satisfy `pred`, possibly several adjacent ones; false for len 0.
    pub fn covers(&self, addr: usize, len: usize, pred: impl Fn(Backing) -> bool) -> bool {
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        if len == 0 {
            return false;
        }
        let tree = self.read();
        let mut at = addr;
        while at < end {
            match containing(&tree, at) {
                Some(r) if pred(r.backing) => at = r.end(),
                _ => return false,
            }
        }
        true
    }

    /// The records overlapping `[addr, addr + len)`, in address order.
    pub fn overlapping(&self, addr: usize, len: usize) -> Vec<Record> {
        let end = addr.saturating_add(len);
        let tree = self.read();
        let first = containing(&tree, addr).map_or(addr, |r| r.start);
        tree.range(first..end)
            .map(|(&start, &(len, backing))| Record {
                start,
                len,
                backing,
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn containing(tree: &BTreeMap<usize, (usize, Backing)>, addr: usize) -> Option<Record> {
    let (&start, &(len, backing)) = tree.range(..=addr).next_back()?;
    let r = Record {
        start,
        len,
        backing,
    };
    (addr < r.end()).then_some(r)
}

fn remove_range(
    tree: &mut BTreeMap<usize, (usize, Backing)>,
    start: usize,
    end: usize,
) -> Vec<Record> {
    let mut removed = Vec::new();
    if start >= end {
        return removed;
    }
    // A record that begins before `start` and reaches into the range keeps
    // its head.
    if let Some(r) = containing(tree, start).filter(|r| r.start < start) {
        tree.insert(r.start, (start - r.start, r.backing));
        let cut = Record {
            start,
            len: r.end().min(end) - start,
            backing: r.backing,
        };
        removed.push(cut);
        if r.end() > end {
            tree.insert(end, (r.end() - end, r.backing));
            return removed;
        }
    }
    let inside: Vec<usize> = tree.range(start..end).map(|(&s, _)| s).collect();
    for s in inside {
        if let Some((len, backing)) = tree.remove(&s) {
            let r = Record {
                start: s,
                len,
                backing,
            };
            if r.end() > end {
                tree.insert(end, (r.end() - end, backing));
            }
            removed.push(Record {
                start: s,
                len: r.end().min(end) - s,
                backing,
            });
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    const PM: Backing = Backing::MapSync { dev: 1 };
    const PC: Backing = Backing::PageCache;

    fn pmem(r: &Registry, a: usize, l: usize) -> bool {
        r.covers(a, l, Backing::is_pmem)
    }

    #[test]
    fn whole_range_must_be_covered() {
        let r = Registry::new();
        r.insert(0x1000, 0x2000, PM);
        assert!(pmem(&r, 0x1000, 0x2000));
        assert!(pmem(&r, 0x1800, 0x10));
        assert!(!pmem(&r, 0x0fff, 2));
        assert!(!pmem(&r, 0x2fff, 2));
        assert!(!pmem(&r, 0x1000, 0));
        assert!(!pmem(&r, usize::MAX - 1, 4));
    }

    #[test]
    fn adjacent_mappings_count_together_but_not_across_gaps_or_page_cache() {
        let r = Registry::new();
        r.insert(0x1000, 0x1000, PM);
        r.insert(0x2000, 0x1000, Backing::DevDax { rdev: 7 });
        r.insert(0x3000, 0x1000, PC);
        r.insert(0x5000, 0x1000, PM);
        assert!(pmem(&r, 0x1800, 0x1000));
        assert!(!pmem(&r, 0x2800, 0x1000));
        assert!(!pmem(&r, 0x5000 - 1, 2));
        assert!(r.covers(0x1000, 0x3000, |_| true));
    }

    #[test]
    fn partial_removal_splits() {
        let r = Registry::new();
        r.insert(0x10000, 0x10000, PM);
        let gone = r.remove(0x14000, 0x15000);
        assert_eq!(
            gone,
            vec![Record {
                start: 0x14000,
                len: 0x1000,
                backing: PM
            }]
        );
        assert!(pmem(&r, 0x10000, 0x4000));
        assert!(!pmem(&r, 0x13000, 0x2000));
        assert!(pmem(&r, 0x15000, 0xb000));
        assert_eq!(r.find(0x16000).map(|x| x.start), Some(0x15000));
        assert_eq!(r.len(), 2);
        // Spanning the hole and both pieces' edges.
        let gone = r.remove(0x13000, 0x16000);
        assert_eq!(gone.len(), 2);
        assert!(pmem(&r, 0x10000, 0x3000) && pmem(&r, 0x16000, 0xa000));
        r.restore(&gone);
        assert!(pmem(&r, 0x13000, 0x1000) && pmem(&r, 0x15000, 0x1000));
        assert!(r.find(0x14000).is_none());
    }

    #[test]
    fn removal_of_many_and_of_nothing() {
        let r = Registry::new();
        for i in 0..10 {
            r.insert(0x1000 * (2 * i + 1), 0x1000, PM);
        }
        assert!(r.remove(0x100000, 0x200000).is_empty());
        assert_eq!(r.remove(0, 0x10000).len(), 8);
        assert_eq!(r.len(), 2);
        assert_eq!(r.overlapping(0, usize::MAX).len(), 2);
    }

    #[test]
    fn insert_replaces_stale_overlap() {
        let r = Registry::new();
        r.insert(0x1000, 0x4000, PC);
        r.insert(0x2000, 0x1000, PM);
        assert_eq!(r.len(), 3);
        assert!(pmem(&r, 0x2000, 0x1000));
        assert!(!pmem(&r, 0x1000, 0x2000));
    }

    #[test]
    fn hundred_thousand_mappings_stay_fast() {
        let r = Registry::new();
        let n = 100_000usize;
        for i in 0..n {
            r.insert(0x1000_0000 + i * 0x2000, 0x1000, PM);
        }
        let t = std::time::Instant::now();
        for i in 0..n {
            let a = 0x1000_0000 + i * 0x2000;
            assert!(pmem(&r, a, 0x1000));
            assert!(!pmem(&r, a + 0x1000, 1));
        }
        // 200,000 queries: O(log n) each is well under a second even
        // unoptimised; a linear scan would take minutes.
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
    }
}
