//! With a persistence mode installed, every pmem_mem* call is one flush
//! (unless NOFLUSH) and one drain (unless NODRAIN) through the mode's
//! hooks, whatever the flags, size and store kind; flush, drain, msync
//! and deep_flush go through the hooks too. One test: hooks are global.

use pmem::testing::consts::*;
use pmem::testing::persist::{self, mode_hook};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

static FLUSHES: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());
static DRAINS: AtomicUsize = AtomicUsize::new(0);
static MSYNCS: AtomicUsize = AtomicUsize::new(0);

fn flushes() -> Vec<(usize, usize)> {
    std::mem::take(&mut *FLUSHES.lock().unwrap())
}

static COUNTING: mode_hook::ModeHooks = mode_hook::ModeHooks {
    name: "counting",
    flush: |addr, len| FLUSHES.lock().unwrap().push((addr as usize, len)),
    drain: || {
        DRAINS.fetch_add(1, Ordering::SeqCst);
    },
    msync: |_, _| {
        MSYNCS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    },
    private_mappings: false,
    on_map: |_, _, _| Ok(()),
    unmap: |_, _, munmap| munmap(),
    deep_drain: |_, _| Ok(()),
};

#[test]
fn mode_hooks_see_one_point_per_call() {
    let mut dst = vec![0u8; 9000];
    let src: Vec<u8> = (0..9000u32).map(|i| (i * 7 + 3) as u8).collect();
    mode_hook::install(Some(&COUNTING));
    for flags in 0..=PMEM_F_MEM_VALID_FLAGS {
        if flags & !PMEM_F_MEM_VALID_FLAGS != 0 {
            continue;
        }
        for (off, len) in [(0, 0), (3, 5), (0, 64), (64, 128), (1, 300), (17, 8000)] {
            let d = dst[off..].as_mut_ptr();
            let want_flush = if flags & PMEM_F_MEM_NOFLUSH == 0 {
                vec![(d as usize, len)]
            } else {
                vec![]
            };
            let want_drains = usize::from(flags & PMEM_F_MEM_NODRAIN == 0);

            DRAINS.store(0, Ordering::SeqCst);
            // SAFETY: both ranges lie inside the vectors.
            unsafe { pmem::testing::memops::memmove(d, src.as_ptr(), len, flags) };
            assert_eq!(&dst[off..off + len], &src[..len], "flags {flags:#x}");
            assert_eq!(flushes(), want_flush, "memmove flags {flags:#x} len {len}");
            assert_eq!(DRAINS.swap(0, Ordering::SeqCst), want_drains);

            // SAFETY: the range lies inside the vector.
            unsafe { pmem::testing::memops::memset(d, 0x5a, len, flags) };
            assert!(dst[off..off + len].iter().all(|&b| b == 0x5a));
            assert_eq!(flushes(), want_flush, "memset flags {flags:#x} len {len}");
            assert_eq!(DRAINS.swap(0, Ordering::SeqCst), want_drains);
        }
    }

    let p = dst.as_ptr();
    // SAFETY: the first 30 bytes of the vector: mapped, no wrap.
    unsafe {
        persist::flush(p, 10);
        persist::deep_flush(p, 20);
        persist::persist(p, 30);
    }
    persist::drain();
    assert_eq!(persist::msync(p, 40), Ok(()));
    assert_eq!(
        flushes(),
        vec![(p as usize, 10), (p as usize, 20), (p as usize, 30)]
    );
    assert_eq!(DRAINS.swap(0, Ordering::SeqCst), 2);
    assert_eq!(MSYNCS.swap(0, Ordering::SeqCst), 1);

    // Back to plain flushing: the hooks see nothing.
    mode_hook::install(None);
    // SAFETY: inside the vector.
    unsafe { persist::persist(p, 64) };
    // SAFETY: inside the vector.
    unsafe { pmem::testing::memops::memmove(dst.as_mut_ptr(), src.as_ptr(), 4096, 0) };
    assert_eq!(&dst[..4096], &src[..4096]);
    assert!(flushes().is_empty());
    assert_eq!(DRAINS.load(Ordering::SeqCst), 0);
}
