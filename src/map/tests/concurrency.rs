//! Threads mapping, partly unmapping, querying and persisting at once for a
//! bounded time; every answer must be exact throughout.
//!
//! Half the mappings are re-registered as Device DAX (this machine has no
//! real pmem), so is_pmem has both answers to get right. A slot's RwLock
//! keeps a published mapping alive while a reader uses it; the registry's
//! own locking is what is under test.

use super::*;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
struct Live {
    addr: usize,
    len: usize,
    pmem: bool,
}

type Slots = Arc<Vec<RwLock<Option<Live>>>>;

/// A small xorshift generator: no dependency, different per thread.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn mapper(id: usize, dir: PathBuf, slots: Slots, stop: Arc<AtomicBool>) -> usize {
    let page = crate::persist::page_size();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1));
    let mut rounds = 0;
    while !stop.load(Ordering::Relaxed) {
        let pages = 3 + rng.below(14);
        let len = pages * page;
        let path = dir.join(format!("m{id}"));
        let m = map(&path, len, C | S, 0o600).unwrap();
        let addr = m.addr as usize;
        let pmem = rng.below(2) == 0;
        if pmem {
            REGISTRY.insert(addr..addr + len, Backing::DevDax { rdev: 0 });
        }
        assert_eq!(is_pmem(m.addr, len), pmem);
        // SAFETY: the mapping is ours, len bytes long and writable.
        unsafe { core::ptr::write_bytes(m.addr, id as u8, len) };
        // SAFETY: the mapping is ours and len bytes long, so the range is
        // mapped and cannot wrap.
        unsafe { crate::persist::persist(m.addr, len) };
        let slot = &slots[id];
        *slot.write().unwrap() = Some(Live { addr, len, pmem });
        std::thread::yield_now();
        // Take the middle page out while readers may be looking.
        let mut guard = slot.write().unwrap();
        // SAFETY: readers hold the slot's read lock while they touch the
        // range; we hold the write lock.
        unsafe { unmap((addr + page) as *mut u8, page) }.unwrap();
        assert_eq!(find(m.addr).map(|i| (i.start, i.len)), Some((addr, page)));
        assert_eq!(find((addr + page) as *const u8), None);
        let tail = find((addr + 2 * page) as *const u8).unwrap();
        assert_eq!(
            (tail.start, tail.len, tail.value.is_pmem()),
            (addr + 2 * page, len - 2 * page, pmem)
        );
        assert!(!is_pmem(m.addr, 2 * page));
        assert_eq!(
            is_pmem((addr + 2 * page) as *const u8, len - 2 * page),
            pmem
        );
        *guard = None;
        // SAFETY: as above; the hole is already unmapped.
        unsafe { unmap(m.addr, len) }.unwrap();
        drop(guard);
        rounds += 1;
    }
    rounds
}

fn reader(id: usize, slots: Slots, stop: Arc<AtomicBool>, persist: bool) -> usize {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ (id as u64 + 7));
    let mut checks = 0;
    while !stop.load(Ordering::Relaxed) {
        let slot = slots[rng.below(slots.len())].read().unwrap();
        let Some(l) = *slot else {
            continue;
        };
        let p = l.addr as *const u8;
        if persist {
            // SAFETY: the slot's read lock keeps the mapping alive (the
            // unmapping thread takes the write lock first), and a mapping
            // never wraps.
            unsafe { crate::persist::persist(p, l.len) };
            platform::deep_drain(p, l.len).unwrap();
        } else {
            assert_eq!(is_pmem(p, l.len), l.pmem);
            assert!(!is_pmem(p, 0));
            let info = find((l.addr + l.len - 1) as *const u8).unwrap();
            assert_eq!(
                (info.start, info.len, info.value.is_pmem()),
                (l.addr, l.len, l.pmem)
            );
        }
        checks += 1;
    }
    checks
}

#[test]
fn map_unmap_query_and_persist_concurrently() {
    let s = Scratch::new("concurrent");
    let mappers = 3;
    let slots: Slots = Arc::new((0..mappers).map(|_| RwLock::new(None)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for id in 0..mappers {
        let (dir, slots, stop) = (s.dir.clone(), slots.clone(), stop.clone());
        handles.push(std::thread::spawn(move || mapper(id, dir, slots, stop)));
    }
    for id in 0..3 {
        let (slots, stop) = (slots.clone(), stop.clone());
        handles.push(std::thread::spawn(move || reader(id, slots, stop, id == 2)));
    }
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let counts: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    eprintln!(
        "{:?} in {:?} (mapper rounds, then reader checks)",
        counts,
        start.elapsed()
    );
    assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
}
