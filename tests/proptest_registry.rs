//! Property test: the mapping registry (pmem::map) against a model.
//!
//! Random sequences of map (files of several sizes, some >= 2 MiB), partial
//! unmap of page-aligned subranges, and queries. The model keeps, for every
//! mapping made, the set of its pages still mapped. With PMEM_IS_PMEM_FORCE
//! unset and no DAX here, `is_pmem` must be false everywhere, and `find` must
//! return an entry exactly for the addresses the model says are mapped,
//! covering exactly the run of still-mapped pages that holds the address.
//! Each page carries a marker byte, checked after every unmap, so unmapping
//! the wrong pages shows as a wrong byte (or a fault).

use proptest::prelude::*;
use std::ffi::CString;
use std::path::PathBuf;

/// File sizes, in pages: small ones, and some >= 2 MiB (the large-page path).
const SIZES_IN_PAGES: [usize; 7] = [1, 2, 3, 16, 512, 513, 1024];
const PMEM_FILE_CREATE: i32 = 1;

fn page() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// What the registry says about `addr`: the (start, len) of its entry.
/// The one place that knows `find`'s signature.
fn registry_extent(addr: usize) -> Option<(usize, usize)> {
    pmem::testing::map::find(addr as *const u8).map(|m| (m.start, m.len))
}

#[derive(Debug, Clone)]
enum Op {
    Map {
        size: usize,
    },
    /// Unmap `pages` pages from page `first` of a live run (both taken
    /// modulo what the chosen run holds).
    Unmap {
        run: usize,
        first: usize,
        pages: usize,
    },
    Query {
        run: usize,
        page: usize,
        byte: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..SIZES_IN_PAGES.len()).prop_map(|i| Op::Map { size: SIZES_IN_PAGES[i] }),
        3 => (any::<usize>(), any::<usize>(), 1usize..600)
            .prop_map(|(run, first, pages)| Op::Unmap { run, first, pages }),
        4 => (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(run, page, byte)| Op::Query { run, page, byte }),
    ]
}

/// One mapping made by the test: its pages, and which are still mapped.
struct Mapping {
    start: usize,
    live: Vec<bool>,
    /// Marker written into every page: (mapping id, page index).
    id: u8,
}

impl Mapping {
    fn page_addr(&self, p: usize) -> usize {
        self.start + p * page()
    }

    /// The maximal runs of still-mapped pages, as (first page, count).
    fn runs(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut p = 0;
        while p < self.live.len() {
            if self.live[p] {
                let first = p;
                while p < self.live.len() && self.live[p] {
                    p += 1;
                }
                out.push((first, p - first));
            } else {
                p += 1;
            }
        }
        out
    }

    fn marker(&self, p: usize) -> u8 {
        self.id.wrapping_mul(37) ^ p as u8
    }
}

struct Model {
    dir: PathBuf,
    maps: Vec<Mapping>,
    next_id: u8,
    files: usize,
}

impl Model {
    fn new(dir: PathBuf) -> Self {
        Model {
            dir,
            maps: Vec::new(),
            next_id: 0,
            files: 0,
        }
    }

    /// Every live run in every mapping, as (mapping index, first page, count).
    fn all_runs(&self) -> Vec<(usize, usize, usize)> {
        self.maps
            .iter()
            .enumerate()
            .flat_map(|(m, map)| map.runs().into_iter().map(move |(f, n)| (m, f, n)))
            .collect()
    }

    fn is_mapped(&self, addr: usize) -> bool {
        self.maps.iter().any(|m| {
            addr >= m.start
                && addr < m.start + m.live.len() * page()
                && m.live[(addr - m.start) / page()]
        })
    }

    fn map(&mut self, pages: usize) -> Result<(), TestCaseError> {
        let path = self.dir.join(format!("f{}", self.files));
        self.files += 1;
        let cpath = CString::new(path.to_str().unwrap()).unwrap();
        let len = pages * page();
        let m = pmem::testing::map::map_file(&cpath, len, PMEM_FILE_CREATE, 0o600)
            .map_err(|e| TestCaseError::fail(format!("map_file {path:?} {len}: {e:?}")))?;
        // The file stays mapped; its name is no longer needed.
        std::fs::remove_file(&path).unwrap();
        prop_assert_eq!(m.len, len);
        prop_assert!(!m.is_pmem, "is_pmem reported on a non-DAX file");
        let map = Mapping {
            start: m.addr as usize,
            live: vec![true; pages],
            id: self.next_id,
        };
        self.next_id = self.next_id.wrapping_add(1);
        for p in 0..pages {
            // SAFETY: the page was just mapped read-write.
            unsafe { *(map.page_addr(p) as *mut u8) = map.marker(p) };
        }
        self.maps.push(map);
        Ok(())
    }

    fn unmap(&mut self, run: usize, first: usize, pages: usize) -> Result<(), TestCaseError> {
        let runs = self.all_runs();
        if runs.is_empty() {
            return Ok(());
        }
        let (m, rfirst, rlen) = runs[run % runs.len()];
        let first = rfirst + first % rlen;
        let pages = pages.min(rfirst + rlen - first);
        let addr = self.maps[m].page_addr(first);
        // SAFETY: the range is mapped by this test and nothing refers to it.
        unsafe { pmem::testing::map::unmap(addr as *mut u8, pages * page()) }
            .map_err(|e| TestCaseError::fail(format!("unmap: {e:?}")))?;
        self.maps[m].live[first..first + pages].fill(false);
        self.check_markers()
    }

    /// Every page the model says is mapped still holds its marker.
    fn check_markers(&self) -> Result<(), TestCaseError> {
        for map in &self.maps {
            for (p, _) in map.live.iter().enumerate().filter(|(_, l)| **l) {
                // SAFETY: the model says this page is mapped.
                let got = unsafe { *(map.page_addr(p) as *const u8) };
                prop_assert_eq!(got, map.marker(p), "page {} of mapping {}", p, map.id);
            }
        }
        Ok(())
    }

    /// Asks the registry about one address inside a live run and about the
    /// bytes just outside that run.
    fn query(&self, run: usize, page_sel: usize, byte: usize) -> Result<(), TestCaseError> {
        let runs = self.all_runs();
        if runs.is_empty() {
            return Ok(());
        }
        let (m, first, count) = runs[run % runs.len()];
        let map = &self.maps[m];
        let start = map.page_addr(first);
        let len = count * page();
        let addr = start + (page_sel % count) * page() + byte % page();

        prop_assert!(!pmem::testing::map::is_pmem(addr as *const u8, 1));
        prop_assert!(!pmem::testing::map::is_pmem(start as *const u8, len));
        prop_assert_eq!(
            registry_extent(addr),
            Some((start, len)),
            "addr {:#x}",
            addr
        );
        prop_assert_eq!(registry_extent(start + len - 1), Some((start, len)));
        for outside in [start - 1, start + len] {
            if !self.is_mapped(outside) {
                prop_assert_eq!(registry_extent(outside), None, "addr {:#x}", outside);
            }
        }
        Ok(())
    }

    /// Unmaps whatever is left, checking every run's entry on the way.
    fn teardown(&mut self) -> Result<(), TestCaseError> {
        for (m, first, count) in self.all_runs() {
            let start = self.maps[m].page_addr(first);
            prop_assert_eq!(registry_extent(start), Some((start, count * page())));
            // SAFETY: the run is mapped by this test and nothing refers to it.
            unsafe { pmem::testing::map::unmap(start as *mut u8, count * page()) }
                .map_err(|e| TestCaseError::fail(format!("unmap: {e:?}")))?;
            prop_assert_eq!(registry_extent(start), None);
        }
        self.maps.clear();
        Ok(())
    }
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pmem-proptest-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    // One test in this binary: nothing else maps or unmaps concurrently.
    #[test]
    fn registry_matches_model(ops in prop::collection::vec(op(), 1..40)) {
        // Read at the first is_pmem call: must not be set for this model.
        std::env::remove_var("PMEM_IS_PMEM_FORCE");
        let dir = scratch_dir();
        let mut model = Model::new(dir.clone());
        let result = (|| {
            for op in &ops {
                match *op {
                    Op::Map { size } => model.map(size)?,
                    Op::Unmap { run, first, pages } => model.unmap(run, first, pages)?,
                    Op::Query { run, page, byte } => model.query(run, page, byte)?,
                }
            }
            model.teardown()
        })();
        // On a failure, leave nothing mapped for the next (shrinking) case.
        for (m, first, count) in model.all_runs() {
            // SAFETY: the run is mapped by this test and nothing refers to it.
            let _ = unsafe { pmem::testing::map::unmap(model.maps[m].page_addr(first) as *mut u8, count * page()) };
        }
        std::fs::remove_dir_all(&dir).unwrap();
        result?;
    }
}
