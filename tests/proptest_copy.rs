//! Property tests: pmem::testing::memops::{memmove, memset} against a naive
//! reference over random lengths, alignments, overlaps and flag sets, with
//! guard bytes around the destination so an overrun is caught.

mod common;

use proptest::prelude::*;

/// Bytes before and after every region the test lets the routine touch.
const GUARD: usize = 256;
/// Longest copy: past every plausible non-temporal threshold and page size.
const MAX_LEN: usize = 20_000;

/// The six PMEM_F_MEM_* flags of libpmem.h are bits 0-5, so every value
/// below this is one combination of them.
const FLAG_COMBINATIONS: u32 = 1 << 6;

/// A buffer whose bytes are a function of their index and `seed`, so a byte
/// copied from the wrong place shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32 * 7) as u8 ^ (i >> 8) as u8)
        .collect()
}

/// Lengths weighted towards the edges the SIMD paths care about.
fn length() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..=130,
        (1usize..=64).prop_map(|k| k * 64),
        (0usize..=4).prop_flat_map(|k| {
            let base = [255usize, 4095, 4096, 8191, 16384][k];
            (0usize..=2).prop_map(move |d| base + d)
        }),
        0usize..=MAX_LEN,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// Disjoint buffers: pmem_memcpy's case.
    #[test]
    fn memmove_disjoint(len in length(), dst_off in 0usize..128, src_off in 0usize..128,
                        flags in 0..FLAG_COMBINATIONS, seed: u8) {
        let src = pattern(src_off + len, seed);
        let mut dst = pattern(GUARD + dst_off + len + GUARD, seed.wrapping_add(1));
        let mut want = dst.clone();
        want[GUARD + dst_off..][..len].copy_from_slice(&src[src_off..][..len]);
        // SAFETY: both ranges lie inside their vectors; they do not overlap.
        unsafe {
            pmem::testing::memops::memmove(dst.as_mut_ptr().add(GUARD + dst_off),
                                  src.as_ptr().add(src_off), len, flags);
        }
        prop_assert!(dst == want, "len {} dst_off {} src_off {} flags {:#x}",
                     len, dst_off, src_off, flags);
    }

    /// Source and destination in one buffer, at any distance either way.
    #[test]
    fn memmove_overlapping(len in length(), a in 0usize..4096, b in 0usize..4096,
                           flags in 0..FLAG_COMBINATIONS, seed: u8) {
        let mut buf = pattern(GUARD + a.max(b) + len + GUARD, seed);
        let mut want = buf.clone();
        want.copy_within(GUARD + a..GUARD + a + len, GUARD + b);
        let base = buf.as_mut_ptr();
        // SAFETY: both ranges lie inside `buf`; memmove allows overlap.
        unsafe {
            pmem::testing::memops::memmove(base.add(GUARD + b), base.add(GUARD + a), len, flags);
        }
        prop_assert!(buf == want, "len {} src {} dst {} flags {:#x}", len, a, b, flags);
    }

    /// Source and destination 1 to 300 bytes apart, either way: the
    /// distances at which a step of a few lines overlaps itself.
    #[test]
    fn memmove_overlapping_near(len in length(), a in 0usize..512, dist in 1usize..=300,
                                up: bool, flags in 0..FLAG_COMBINATIONS, seed: u8) {
        let (s, d) = if up { (a, a + dist) } else { (a + dist, a) };
        let mut buf = pattern(GUARD + a + dist + len + GUARD, seed);
        let mut want = buf.clone();
        want.copy_within(GUARD + s..GUARD + s + len, GUARD + d);
        let base = buf.as_mut_ptr();
        // SAFETY: both ranges lie inside `buf`; memmove allows overlap.
        unsafe {
            pmem::testing::memops::memmove(base.add(GUARD + d), base.add(GUARD + s), len, flags);
        }
        prop_assert!(buf == want, "len {} src {} dst {} flags {:#x}", len, s, d, flags);
    }

    #[test]
    fn memset_any(len in length(), off in 0usize..128, c: u8, flags in 0..FLAG_COMBINATIONS, seed: u8) {
        let mut buf = pattern(GUARD + off + len + GUARD, seed);
        let mut want = buf.clone();
        want[GUARD + off..][..len].fill(c);
        // SAFETY: the range lies inside `buf`.
        unsafe { pmem::testing::memops::memset(buf.as_mut_ptr().add(GUARD + off), c, len, flags) };
        prop_assert!(buf == want, "len {} off {} c {} flags {:#x}", len, off, c, flags);
    }
}

/// The properties above under every policy of the table (the process's own
/// is the one this CPU gets): re-runs them in a child with PMEM_POLICY set,
/// since the policy is chosen once at load (fastpath_env checks that
/// PMEM_POLICY reaches the library).
#[test]
fn properties_hold_under_every_policy() {
    for policy in pmem::testing::policy::ALL {
        let out = common::self_command()
            .args([
                "--exact",
                "memmove_disjoint",
                "memmove_overlapping",
                "memmove_overlapping_near",
                "memset_any",
            ])
            .env("PMEM_POLICY", policy.name)
            .output()
            .expect("re-run the test binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("4 passed"),
            "PMEM_POLICY={}:\n{stdout}\n{}",
            policy.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
