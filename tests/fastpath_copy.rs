//! Every copy routine (ISA x flush instruction x store kind) against a
//! naive reference: all 64x64 alignments for a set of lengths, every length
//! up to 1100 for a few alignments, large copies across page and 2 MiB
//! boundaries, overlapping moves both ways (every distance up to 300
//! bytes around the four-line steps), guard bytes around the
//! destination, and 8-byte atomicity under a concurrent reader.

use pmem::testing::cpu::{self, CopyIsa, FlushKind};
use pmem::testing::memops::{self, Routines, Stores};

const GUARD: usize = 64;

/// A 64-byte-aligned byte buffer.
struct Aligned {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    fn new(len: usize) -> Aligned {
        let storage = vec![0u8; len + 64];
        let start = storage.as_ptr().align_offset(64);
        Aligned {
            storage,
            start,
            len,
        }
    }
    fn bytes(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
    fn ptr(&mut self, off: usize) -> *mut u8 {
        assert!(off <= self.len);
        self.bytes_mut()[off..].as_mut_ptr()
    }
}

/// Bytes that differ position by position, with a per-buffer seed.
fn fill(buf: &mut [u8], seed: u32) {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    for b in buf {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
}

/// Every (ISA, flush instruction) this CPU can run.
fn variants() -> Vec<(CopyIsa, FlushKind, &'static Routines)> {
    let f = cpu::detect();
    let mut v = Vec::new();
    for isa in CopyIsa::ALL {
        if !isa.supported(&f) {
            eprintln!("{}: not on this CPU, not run", isa.name());
            continue;
        }
        for flush in FlushKind::ALL {
            if flush.supported(&f) {
                v.push((isa, flush, memops::routines(isa, flush)));
            }
        }
    }
    assert!(
        v.iter().any(|(isa, ..)| *isa == CopyIsa::ALL[0]),
        "the baseline ISA always runs"
    );
    v
}

/// Every way a copy may store, under any policy: temporal; PMDK's
/// streaming (whole lines only, parts in PMDK's order, sixteen-line
/// forward steps); partial lines streamed too, in four-line steps; with
/// source prefetch (the shortest distance, and the AMD table's) and both
/// parts of disjoint copies first.
const STORES: [Stores; 5] = [
    Stores::TEMPORAL,
    Stores::NT,
    Stores {
        nt: true,
        partial: true,
        prefetch: 0,
        parts_first: false,
        block16: false,
    },
    Stores {
        nt: true,
        partial: false,
        prefetch: 1,
        parts_first: true,
        block16: true,
    },
    Stores {
        nt: true,
        partial: true,
        prefetch: 16,
        parts_first: true,
        block16: false,
    },
];

fn sfence() {
    pmem::testing::persist::fence();
}

/// Scratch space for one variant: destination (with guards) and source.
struct Bench {
    dst: Aligned,
    src: Aligned,
    expect: Vec<u8>,
}

impl Bench {
    fn new(max_len: usize) -> Bench {
        let mut b = Bench {
            dst: Aligned::new(GUARD + 64 + max_len + GUARD),
            src: Aligned::new(64 + max_len),
            expect: Vec::new(),
        };
        fill(b.src.bytes_mut(), 7);
        b
    }

    fn reset(&mut self, seed: u32) {
        fill(self.dst.bytes_mut(), seed);
        self.expect.clear();
        self.expect.extend_from_slice(self.dst.bytes());
    }

    fn check(&self, what: &str) {
        let got = self.dst.bytes();
        if got != self.expect.as_slice() {
            let i = (0..got.len()).find(|&i| got[i] != self.expect[i]).unwrap();
            panic!(
                "{what}: first difference at dst byte {} (guard {GUARD}): got {:#x}, want {:#x}",
                i as isize - GUARD as isize,
                got[i],
                self.expect[i]
            );
        }
    }

    /// memmove from a separate source buffer.
    fn copy(&mut self, r: &Routines, st: Stores, len: usize, d: usize, s: usize, what: &str) {
        self.reset((len * 131 + d * 7 + s) as u32);
        let (dp, sp) = (self.dst.ptr(GUARD + d), self.src.ptr(s));
        self.expect[GUARD + d..GUARD + d + len].copy_from_slice(&self.src.bytes()[s..s + len]);
        // SAFETY: both ranges lie inside their buffers; the ISA is supported.
        unsafe { (r.memmove)(dp, sp, len, st) };
        sfence();
        self.check(what);
    }

    fn set(&mut self, r: &Routines, st: Stores, len: usize, d: usize, c: u8, what: &str) {
        self.reset((len * 31 + d) as u32);
        let dp = self.dst.ptr(GUARD + d);
        self.expect[GUARD + d..GUARD + d + len].fill(c);
        // SAFETY: the range lies inside the buffer; the ISA is supported.
        unsafe { (r.memset)(dp, c, len, st) };
        sfence();
        self.check(what);
    }

    /// memmove within the destination buffer (ranges may overlap).
    fn shift(&mut self, r: &Routines, st: Stores, len: usize, d: usize, s: usize, what: &str) {
        self.reset((len * 17 + d * 3 + s) as u32);
        let moved = self.expect[GUARD + s..GUARD + s + len].to_vec();
        self.expect[GUARD + d..GUARD + d + len].copy_from_slice(&moved);
        let (dp, sp) = (self.dst.ptr(GUARD + d), self.dst.ptr(GUARD + s));
        // SAFETY: both ranges lie inside the buffer; overlap is allowed.
        unsafe { (r.memmove)(dp, sp, len, st) };
        sfence();
        self.check(what);
    }

    /// `len` bytes moved from `hi` down to `lo`, then from `lo` up to `hi`.
    fn shift_both(
        &mut self,
        r: &Routines,
        st: Stores,
        len: usize,
        lo: usize,
        hi: usize,
        what: &str,
    ) {
        let dist = hi - lo;
        self.shift(
            r,
            st,
            len,
            lo,
            hi,
            &format!("{what} down len {len} by {dist}"),
        );
        self.shift(
            r,
            st,
            len,
            hi,
            lo,
            &format!("{what} up len {len} by {dist}"),
        );
    }
}

fn name(isa: CopyIsa, flush: FlushKind, st: Stores) -> String {
    format!("{}/{}/{st:?}", isa.name(), flush.name())
}

/// Runs `body` for every variant and store kind, with scratch space for
/// copies up to `max_len` bytes and a name for failure messages.
fn for_each_variant(max_len: usize, mut body: impl FnMut(&mut Bench, &Routines, Stores, &str)) {
    for (isa, flush, r) in variants() {
        let mut b = Bench::new(max_len);
        for st in STORES {
            body(&mut b, r, st, &name(isa, flush, st));
        }
    }
}

const LENGTHS: [usize; 24] = [
    0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000,
];

#[test]
fn every_alignment_pair() {
    for_each_variant(1100, |b, r, st, what| {
        for len in LENGTHS {
            for d in 0..64 {
                for s in 0..64 {
                    b.copy(
                        r,
                        st,
                        len,
                        d,
                        s,
                        &format!("{what} copy len {len} d {d} s {s}"),
                    );
                }
                b.set(r, st, len, d, 0xa5, &format!("{what} set len {len} d {d}"));
            }
        }
    });
}

#[test]
fn every_length() {
    for_each_variant(1100, |b, r, st, what| {
        for (d, s) in [(0, 0), (1, 3), (8, 8), (8, 24), (33, 0), (63, 62)] {
            for len in 0..=1100 {
                b.copy(
                    r,
                    st,
                    len,
                    d,
                    s,
                    &format!("{what} copy len {len} d {d} s {s}"),
                );
                b.set(
                    r,
                    st,
                    len,
                    d,
                    len as u8,
                    &format!("{what} set len {len} d {d}"),
                );
            }
        }
    });
}

#[test]
fn overlapping_moves_both_ways() {
    for_each_variant(1100 + 200, |b, r, st, what| {
        for len in [1, 8, 31, 63, 64, 65, 100, 128, 200, 256, 511, 1000] {
            for base in [0, 5, 64] {
                for dist in [1, 7, 8, 16, 32, 33, 63, 64, 65, 100, 128, 192] {
                    b.shift_both(r, st, len, base, base + dist, what);
                }
            }
        }
    });
}

/// Overlapping moves at every distance from 1 to 300 bytes, both ways,
/// with lengths around the four-line steps of streamed moves (3 to 17 whole
/// lines, the last step whole or one line short or over), and at distances
/// around 512 B and 4 KiB, where backward moves start taking eight and
/// sixteen lines per step:
/// a step that stored a line before loading all it needs would show here.
#[test]
fn overlapping_moves_every_distance_around_blocks() {
    for_each_variant(1500, |b, r, st, what| {
        for len in [255, 256, 257, 320, 511, 512, 575, 1024, 1089] {
            for base in [0, 61] {
                for dist in 1..=300 {
                    b.shift_both(r, st, len, base, base + dist, what);
                }
            }
        }
    });
    for_each_variant(4200 + 5200, |b, r, st, what| {
        for len in [1023, 1024, 1088, 2113, 5200] {
            for dist in [
                448, 511, 512, 513, 2048, 4031, 4032, 4095, 4096, 4097, 4159, 4160, 4200,
            ] {
                for base in [0, 3] {
                    b.shift_both(r, st, len, base, base + dist, what);
                }
            }
        }
    });
}

#[test]
fn large_copies_across_page_and_huge_page_boundaries() {
    const MIB2: usize = 2 << 20;
    // Offsets and lengths that straddle 4 KiB and 2 MiB boundaries of the
    // (64-aligned) buffer, so every part of the algorithm meets one.
    let cases = [
        (4096 - 3, 4096 + 7, 5),
        (4096 - 64, 3 * 4096, 0),
        (MIB2 - 4096 - 1, 8192 + 130, 9),
        (MIB2 - 100, MIB2 + 1234, 64),
        (13, MIB2 + 4096 + 3, 1),
    ];
    for (isa, flush, r) in variants() {
        // clflush is slow everywhere; no flush and the newest instruction
        // (CLWB on x86) suffice for the big sizes beside the baseline ISA
        // (the small tests cover every flush kind).
        let newest = FlushKind::ALL[FlushKind::COUNT - 1];
        if flush != FlushKind::None && flush != newest && isa != CopyIsa::ALL[0] {
            continue;
        }
        let mut b = Bench::new(2 * MIB2 + 3 * 4096);
        for st in STORES {
            let what = name(isa, flush, st);
            for (d, len, s) in cases {
                b.copy(r, st, len, d, s, &format!("{what} copy len {len} d {d}"));
                b.set(r, st, len, d, 0x3c, &format!("{what} set len {len} d {d}"));
            }
            b.shift(r, st, MIB2 + 77, 4096 + 5, 3, &format!("{what} up 2MiB"));
            b.shift(r, st, MIB2 + 77, 3, 4096 + 5, &format!("{what} down 2MiB"));
        }
    }
}

/// A reader never sees an aligned word of the size the library promises
/// (pmem_get_attr's atomic store size: 8 bytes, 4 on i686) half old, half
/// new while words are copied with 8-byte-aligned destination and length.
#[test]
fn aligned_words_never_tear() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    const WORDS: usize = 160;
    let probe = [0u8; 8];
    let unit = pmem::testing::mode::attr::get(probe.as_ptr(), probe.len())
        .expect("the platform attributes")
        .atomic_store_size;
    assert!(unit == 8 || unit == 4, "atomic store size {unit}");
    let shared: Arc<Vec<AtomicU64>> = Arc::new((0..WORDS).map(|_| AtomicU64::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (shared, stop) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for w in shared.iter() {
                    let v = w.load(Ordering::Relaxed);
                    for part in v.to_le_bytes().chunks(unit) {
                        assert!(part.iter().all(|&b| b == part[0]), "torn word {v:#x}");
                    }
                    seen += 1;
                }
            }
            seen
        })
    };
    let dst = shared.as_ptr() as *mut u8;
    let sources: Vec<[u64; WORDS]> = (1..=4u64)
        .map(|k| [k * 0x1111_1111_1111_1111; WORDS])
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(400);
    'outer: for round in 0.. {
        for (isa, _, r) in variants() {
            for st in STORES {
                for (i, src) in sources.iter().enumerate() {
                    let first = (round + i) % 9;
                    let words = 1 + (round * 7 + i * 13) % (WORDS - first);
                    // SAFETY: first + words <= WORDS, inside the shared words;
                    // concurrent readers of the same words are the point.
                    unsafe {
                        let d = dst.add(first * 8);
                        (r.memmove)(d, src.as_ptr().cast(), words * 8, st);
                        (r.memset)(d, (i as u8 + 1) * 0x11, words * 8, st);
                    }
                    sfence();
                    let _ = isa;
                }
            }
        }
        if std::time::Instant::now() > deadline {
            break 'outer;
        }
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().expect("reader saw a torn word") > 0);
}

/// The public entry points with every flag combination, on the load-time
/// path: data and guards as the reference says, whatever the flags.
#[test]
fn public_entry_points_every_flag_combination() {
    use pmem::testing::consts::PMEM_F_MEM_VALID_FLAGS;
    let mut b = Bench::new(5000);
    for flags in (0..=PMEM_F_MEM_VALID_FLAGS).filter(|f| f & !PMEM_F_MEM_VALID_FLAGS == 0) {
        for len in [0, 1, 8, 60, 64, 100, 128, 256, 257, 640, 4999] {
            for (d, s) in [(0, 0), (3, 9), (8, 0), (64, 63)] {
                let what = format!("flags {flags:#x} len {len} d {d} s {s}");
                b.reset(len as u32 ^ flags);
                b.expect[GUARD + d..GUARD + d + len].copy_from_slice(&b.src.bytes()[s..s + len]);
                let (dp, sp) = (b.dst.ptr(GUARD + d), b.src.ptr(s));
                // SAFETY: both ranges lie inside their buffers.
                unsafe { memops::memmove(dp, sp, len, flags) };
                pmem::testing::persist::drain();
                b.check(&what);

                b.reset(len as u32 ^ !flags);
                b.expect[GUARD + d..GUARD + d + len].fill(0x42);
                let dp = b.dst.ptr(GUARD + d);
                // SAFETY: the range lies inside the buffer.
                unsafe { memops::memset(dp, 0x42, len, flags) };
                pmem::testing::persist::drain();
                b.check(&what);
            }
        }
    }
}
