//! An interval map over address ranges: spans that never overlap, each with
//! a value that holds for every byte of it.
//!
//! Two registries are built on it: the live mappings
//! ([`crate::map::registry`], for pmem_is_pmem and deep drain) and the fit
//! engine's file views (`mode::fit`). Spans live in a `BTreeMap` keyed by
//! start address, so a lookup costs O(log n) however many spans are live,
//! and a query over a range visits only the spans it touches. It depends on
//! nothing else in the crate, so both layers can use it.
//!
//! Every range is half-open, `lo..hi`. A span never reaches past
//! `usize::MAX`, so [`Span::end`] cannot wrap.

use core::ops::Range;
use std::collections::BTreeMap;

/// A value that holds for every byte of its span, so that the map can cut a
/// span in two when part of it is removed.
pub trait Cut: Clone {
    /// The value of the part of a span that begins `by` bytes into it.
    fn skip(&self, by: usize) -> Self;
}

/// One entry of a [`RangeMap`]: `len` bytes from `start`, and their value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span<V> {
    pub start: usize,
    pub len: usize,
    pub value: V,
}

impl<V> Span<V> {
    /// One past the last byte.
    pub fn end(&self) -> usize {
        // The map admits only spans with start + len <= usize::MAX.
        self.start + self.len
    }
}

impl<V: Cut> Span<V> {
    /// The part of this span inside `lo..hi`, which must overlap it.
    fn part(&self, lo: usize, hi: usize) -> Span<V> {
        let (from, to) = (lo.max(self.start), hi.min(self.end()));
        Span {
            start: from,
            len: to - from,
            value: self.value.skip(from - self.start),
        }
    }
}

/// Spans that never overlap, in address order.
#[derive(Debug)]
pub struct RangeMap<V> {
    by_start: BTreeMap<usize, Span<V>>,
}

impl<V> Default for RangeMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> RangeMap<V> {
    pub const fn new() -> Self {
        RangeMap {
            by_start: BTreeMap::new(),
        }
    }

    /// How many spans the map holds.
    pub fn len(&self) -> usize {
        self.by_start.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.by_start.is_empty()
    }

    /// Every span, in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Span<V>> {
        self.by_start.values()
    }

    /// The span holding `addr`, if any.
    pub fn get(&self, addr: usize) -> Option<&Span<V>> {
        let (_, s) = self.by_start.range(..=addr).next_back()?;
        (addr < s.end()).then_some(s)
    }

    /// The spans that overlap `range`, in address order (none for an empty
    /// range).
    pub fn overlapping(&self, range: Range<usize>) -> impl Iterator<Item = &Span<V>> {
        let Range { start: lo, end: hi } = range;
        // Of the spans starting below `lo`, only the one holding `lo` reaches
        // into the range; every span starting in `lo..hi` does.
        let first = match self.get(lo) {
            Some(s) if lo < hi => s.start,
            _ => lo,
        };
        self.by_start.range(first..hi.max(first)).map(|(_, s)| s)
    }

    /// True when every byte of `range` lies in spans whose value satisfies
    /// `pred`, possibly several adjacent ones; false for an empty range.
    pub fn covers(&self, range: Range<usize>, pred: impl Fn(&V) -> bool) -> bool {
        if range.is_empty() {
            return false;
        }
        // One descent for the usual query, which one span answers; then one
        // exact-key lookup per adjacent span.
        let mut span = self.get(range.start);
        while let Some(s) = span {
            if !pred(&s.value) {
                return false;
            }
            if s.end() >= range.end {
                return true;
            }
            span = self.by_start.get(&s.end());
        }
        false
    }
}

impl<V: Cut> RangeMap<V> {
    /// Maps `range` to `value`, replacing whatever the map held there (parts
    /// of spans across its ends stay). An empty range changes nothing.
    pub fn insert(&mut self, range: Range<usize>, value: V) {
        if range.is_empty() {
            return;
        }
        self.remove(range.clone());
        let span = Span {
            start: range.start,
            len: range.len(),
            value,
        };
        self.by_start.insert(span.start, span);
    }

    /// Forgets `range`: spans inside it go, spans across an end are cut.
    /// Returns what was removed, cut to `range`, in address order.
    pub fn remove(&mut self, range: Range<usize>) -> Vec<Span<V>> {
        let Range { start: lo, end: hi } = range;
        let mut removed = Vec::new();
        if lo >= hi {
            return removed;
        }
        let mut from = self.get(lo).map_or(lo, |s| s.start);
        // One lookup per span touched, and no allocation unless one is.
        while let Some(start) = self.by_start.range(from..hi).next().map(|(&k, _)| k) {
            let Some(s) = self.by_start.remove(&start) else {
                break;
            };
            if s.start < lo {
                self.put(s.part(s.start, lo));
            }
            if s.end() > hi {
                self.put(s.part(hi, s.end()));
            }
            removed.push(s.part(lo, hi));
            if s.end() >= hi {
                break;
            }
            from = s.end();
        }
        removed
    }

    fn put(&mut self, span: Span<V>) {
        self.by_start.insert(span.start, span);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::rc::Rc;

    /// A value that remembers where in its original span a part begins.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct At(usize);

    impl Cut for At {
        fn skip(&self, by: usize) -> Self {
            At(self.0 + by)
        }
    }

    /// A counted handle, so tests see when the last part goes.
    impl Cut for Rc<u8> {
        fn skip(&self, _: usize) -> Self {
            self.clone()
        }
    }

    fn spans(m: &RangeMap<At>, r: Range<usize>) -> Vec<(usize, usize, usize)> {
        m.overlapping(r)
            .map(|s| (s.start, s.len, s.value.0))
            .collect()
    }

    #[test]
    fn lookup_finds_the_span_holding_an_address() {
        let mut m = RangeMap::new();
        m.insert(0x1000..0x3000, At(0));
        m.insert(0x5000..0x6000, At(0));
        assert_eq!(m.get(0x0fff), None);
        assert_eq!(m.get(0x1000).map(|s| s.start), Some(0x1000));
        assert_eq!(m.get(0x2fff).map(|s| s.start), Some(0x1000));
        assert_eq!(m.get(0x3000), None);
        assert_eq!(m.get(0x5abc).map(|s| s.len), Some(0x1000));
        assert_eq!(m.get(usize::MAX), None);
    }

    #[test]
    fn overlap_queries_see_only_touching_spans() {
        let mut m = RangeMap::new();
        m.insert(0x1000..0x2000, At(0));
        m.insert(0x3000..0x4000, At(0));
        assert_eq!(spans(&m, 0x0..0x1000), vec![]);
        assert_eq!(spans(&m, 0x1fff..0x3001).len(), 2);
        assert_eq!(spans(&m, 0x2000..0x3000), vec![]);
        assert_eq!(spans(&m, 0x3800..0x3801), vec![(0x3000, 0x1000, 0)]);
        assert_eq!(spans(&m, 0x1800..0x1800), vec![], "empty range");
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 0x3800..0x1800;
        assert_eq!(spans(&m, reversed), vec![], "reversed range");
        assert_eq!(spans(&m, 0..usize::MAX).len(), 2);
    }

    #[test]
    fn removal_cuts_and_keeps_each_part_s_value() {
        let mut m = RangeMap::new();
        m.insert(0x10000..0x15000, At(0));
        let gone = m.remove(0x11000..0x12000); // a hole in the middle
        assert_eq!(
            gone,
            vec![Span {
                start: 0x11000,
                len: 0x1000,
                value: At(0x1000)
            }]
        );
        assert_eq!(
            spans(&m, 0..usize::MAX),
            vec![(0x10000, 0x1000, 0), (0x12000, 0x3000, 0x2000)]
        );
        // Across the hole and both neighbours' edges.
        let gone = m.remove(0x10800..0x13000);
        assert_eq!(
            gone.iter()
                .map(|s| (s.start, s.len, s.value.0))
                .collect::<Vec<_>>(),
            vec![(0x10800, 0x800, 0x800), (0x12000, 0x1000, 0x2000)]
        );
        assert_eq!(
            spans(&m, 0..usize::MAX),
            vec![(0x10000, 0x800, 0), (0x13000, 0x2000, 0x3000)]
        );
        assert!(m.remove(0x20000..0x30000).is_empty());
        assert!(m.remove(0x13000..0x13000).is_empty());
        assert_eq!(m.remove(0..usize::MAX).len(), 2);
        assert!(m.is_empty());
    }

    #[test]
    fn removal_of_many() {
        let mut m = RangeMap::new();
        for i in 0..10 {
            let a = 0x1000 * (2 * i + 1);
            m.insert(a..a + 0x1000, At(0));
        }
        assert_eq!(m.remove(0..0x10000).len(), 8);
        assert_eq!(m.len(), 2);
        assert_eq!(m.iter().count(), 2);
    }

    #[test]
    fn insert_replaces_what_it_overlaps() {
        let mut m = RangeMap::new();
        m.insert(0x1000..0x5000, At(0));
        m.insert(0x2000..0x3000, At(7));
        assert_eq!(
            spans(&m, 0..usize::MAX),
            vec![
                (0x1000, 0x1000, 0),
                (0x2000, 0x1000, 7),
                (0x3000, 0x2000, 0x2000)
            ]
        );
        m.insert(0x0..0x10000, At(9));
        assert_eq!(spans(&m, 0..usize::MAX), vec![(0, 0x10000, 9)]);
        m.insert(0x500..0x500, At(1));
        assert_eq!(m.len(), 1, "an empty insert changes nothing");
    }

    #[test]
    fn a_span_may_end_at_the_top_of_the_address_space() {
        let mut m = RangeMap::new();
        m.insert(usize::MAX - 0x1000..usize::MAX, At(0));
        assert_eq!(m.get(usize::MAX - 1).map(|s| s.end()), Some(usize::MAX));
        assert!(m.covers(usize::MAX - 10..usize::MAX, |_| true));
        m.remove(usize::MAX - 0x800..usize::MAX);
        assert_eq!(
            spans(&m, 0..usize::MAX),
            vec![(usize::MAX - 0x1000, 0x800, 0)]
        );
    }

    #[test]
    fn cover_needs_every_byte_in_matching_adjacent_spans() {
        let mut m = RangeMap::new();
        m.insert(0x1000..0x2000, At(1));
        m.insert(0x2000..0x3000, At(1));
        m.insert(0x3000..0x4000, At(2));
        m.insert(0x5000..0x6000, At(1));
        let one = |v: &At| v.0 == 1;
        assert!(m.covers(0x1000..0x3000, one));
        assert!(m.covers(0x1800..0x2800, one));
        assert!(!m.covers(0x2800..0x3800, one), "a span that does not match");
        assert!(m.covers(0x1000..0x4000, |_| true));
        assert!(!m.covers(0x3800..0x5800, |_| true), "a gap");
        assert!(!m.covers(0x0fff..0x1001, |_| true), "a gap before");
        assert!(!m.covers(0x5fff..0x6001, |_| true), "a gap after");
        assert!(!m.covers(0x1000..0x1000, |_| true), "empty");
    }

    #[test]
    fn parts_share_the_value_and_drop_it_with_the_last() {
        let h = Rc::new(0u8);
        let mut m = RangeMap::new();
        m.insert(0x10000..0x15000, h.clone());
        m.remove(0x11000..0x12000);
        assert_eq!(Rc::strong_count(&h), 3);
        m.remove(0x10000..0x14000);
        assert_eq!(Rc::strong_count(&h), 2);
        m.remove(0x14000..0x15000);
        assert_eq!(
            Rc::strong_count(&h),
            1,
            "the handle goes with the last part"
        );
    }

    /// Addresses the model covers; ranges are drawn inside it.
    const SIZE: usize = 256;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(Range<usize>),
        Remove(Range<usize>),
    }

    fn range() -> impl Strategy<Value = Range<usize>> {
        (0..=SIZE, 0..=SIZE).prop_map(|(a, b)| a.min(b)..a.max(b))
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            2 => range().prop_map(Op::Insert),
            1 => range().prop_map(Op::Remove),
        ]
    }

    /// The value of a part records which insert made it and how far into
    /// that insert's range it begins.
    #[derive(Debug, Clone, PartialEq)]
    struct Made(usize, usize);

    impl Cut for Made {
        fn skip(&self, by: usize) -> Self {
            Made(self.0, self.1 + by)
        }
    }

    proptest! {
        /// Random inserts and removals against a model that knows, for
        /// every address, which insert owns it and at what distance.
        #[test]
        fn matches_a_model_of_every_address(
            ops in prop::collection::vec(op(), 1..60),
            query in range(),
        ) {
            let mut model: [Option<(usize, usize)>; SIZE] = [None; SIZE];
            let mut m = RangeMap::new();
            for (n, op) in ops.iter().enumerate() {
                match op.clone() {
                    Op::Insert(r) => {
                        for (i, a) in r.clone().enumerate() {
                            model[a] = Some((n, i));
                        }
                        m.insert(r, Made(n, 0));
                    }
                    Op::Remove(r) => {
                        let gone = m.remove(r.clone());
                        let removed: usize = gone.iter().map(|s| s.len).sum();
                        prop_assert_eq!(removed, model[r.clone()].iter().flatten().count());
                        prop_assert!(gone.iter().all(|s| r.start <= s.start && s.end() <= r.end));
                        model[r].fill(None);
                    }
                }
                for (a, want) in model.iter().enumerate() {
                    let got = m.get(a).map(|s| (s.value.0, s.value.1 + (a - s.start)));
                    prop_assert_eq!(got, *want, "address {} after op {}", a, n);
                }
            }
            let inside: usize = m
                .overlapping(query.clone())
                .map(|s| s.end().min(query.end) - s.start.max(query.start))
                .sum();
            prop_assert_eq!(inside, model[query.clone()].iter().flatten().count());
            prop_assert!(m.overlapping(query.clone()).all(|s| s.start < query.end && query.start < s.end()));
            let covered = !query.is_empty() && model[query.clone()].iter().all(Option::is_some);
            prop_assert_eq!(m.covers(query, |_| true), covered);
        }
    }
}
