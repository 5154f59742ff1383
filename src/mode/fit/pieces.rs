//! The fit engine's registry: which address ranges are private mappings of
//! which file, at which file offset. Partial unmaps cut pieces; the file
//! handle is shared by a mapping's pieces and closes with the last of them.

use std::collections::BTreeMap;

/// One contiguous, still-mapped part of a fit mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece<F> {
    pub start: usize,
    pub len: usize,
    /// File offset of `start`.
    pub offset: u64,
    pub file: F,
}

impl<F> Piece<F> {
    pub fn end(&self) -> usize {
        self.start + self.len
    }
}

/// Non-overlapping pieces keyed by start address.
#[derive(Debug)]
pub struct Pieces<F> {
    by_start: BTreeMap<usize, Piece<F>>,
}

impl<F: Clone> Pieces<F> {
    pub const fn new() -> Self {
        Pieces {
            by_start: BTreeMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.by_start.len()
    }

    /// Adds a mapping of `file` (from offset 0) at `[start, start + len)`,
    /// replacing whatever stale pieces the range still had.
    pub fn insert(&mut self, start: usize, len: usize, file: F) {
        self.insert_at(start, len, 0, file);
    }

    /// Adds a mapping of `file` from file offset `offset` at
    /// `[start, start + len)`, replacing whatever the range still had.
    pub fn insert_at(&mut self, start: usize, len: usize, offset: u64, file: F) {
        self.remove(start, start + len);
        let piece = Piece {
            start,
            len,
            offset,
            file,
        };
        self.by_start.insert(start, piece);
    }

    /// Every piece, in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Piece<F>> {
        self.by_start.values()
    }

    /// Forgets `[lo, hi)`: pieces inside go, pieces across an end are cut.
    pub fn remove(&mut self, lo: usize, hi: usize) {
        let cut: Vec<Piece<F>> = self.overlapping(lo, hi).cloned().collect();
        for p in cut {
            self.by_start.remove(&p.start);
            if p.start < lo {
                let head = Piece {
                    len: lo - p.start,
                    ..p.clone()
                };
                self.by_start.insert(head.start, head);
            }
            if p.end() > hi {
                let tail = Piece {
                    start: hi,
                    len: p.end() - hi,
                    offset: p.offset + (hi - p.start) as u64,
                    file: p.file,
                };
                self.by_start.insert(hi, tail);
            }
        }
    }

    /// The pieces that overlap `[lo, hi)`, in address order.
    pub fn overlapping(&self, lo: usize, hi: usize) -> impl Iterator<Item = &Piece<F>> {
        // Only the last piece starting at or below lo can reach into the range.
        let first = self
            .by_start
            .range(..=lo)
            .next_back()
            .map_or(lo, |(&s, _)| s);
        self.by_start
            .range(first..hi.max(first))
            .map(|(_, p)| p)
            .filter(move |p| p.end() > lo && p.start < hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    fn starts(p: &Pieces<Rc<u8>>, lo: usize, hi: usize) -> Vec<(usize, usize, u64)> {
        p.overlapping(lo, hi)
            .map(|x| (x.start, x.len, x.offset))
            .collect()
    }

    #[test]
    fn cuts_keep_offsets_and_share_the_file() {
        let f = Rc::new(1u8);
        let mut p = Pieces::new();
        p.insert(0x10000, 0x5000, f.clone());
        p.remove(0x11000, 0x12000); // a hole in the middle
        assert_eq!(
            starts(&p, 0, usize::MAX),
            vec![(0x10000, 0x1000, 0), (0x12000, 0x3000, 0x2000)]
        );
        assert_eq!(Rc::strong_count(&f), 3);
        p.remove(0x14000, 0x20000); // the end
        p.remove(0x0, 0x10000); // nothing
        assert_eq!(
            starts(&p, 0, usize::MAX),
            vec![(0x10000, 0x1000, 0), (0x12000, 0x2000, 0x2000)]
        );
        p.remove(0x10000, 0x14000); // everything left
        assert_eq!(p.len(), 0);
        assert_eq!(Rc::strong_count(&f), 1, "the file closes at full unmap");
    }

    #[test]
    fn overlap_queries_see_only_touching_pieces() {
        let mut p = Pieces::new();
        p.insert(0x1000, 0x1000, Rc::new(1));
        p.insert(0x3000, 0x1000, Rc::new(2));
        assert_eq!(starts(&p, 0x0, 0x1000), vec![]);
        assert_eq!(starts(&p, 0x1fff, 0x3001).len(), 2);
        assert_eq!(starts(&p, 0x2000, 0x3000), vec![]);
        assert_eq!(starts(&p, 0x3800, 0x3801), vec![(0x3000, 0x1000, 0)]);
        // A new mapping over a stale range replaces it.
        p.insert(0x3000, 0x2000, Rc::new(3));
        assert_eq!(p.len(), 2);
        assert_eq!(*p.overlapping(0x3000, 0x3001).next().unwrap().file, 3);
    }
}
