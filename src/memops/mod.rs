//! pmem_memmove / pmem_memcpy / pmem_memset: pick temporal or streaming
//! stores and the routine for the load-time ISA and flush instruction,
//! then fence. The routines are the architecture layer's
//! (`crate::arch::routines`).

use crate::arch::source::{Fill, Mem, Source};
use crate::consts::{
    PMEM_F_MEM_NODRAIN, PMEM_F_MEM_NOFLUSH, PMEM_F_MEM_NONTEMPORAL, PMEM_F_MEM_TEMPORAL,
    PMEM_F_MEM_WB, PMEM_F_MEM_WC,
};
use crate::cpu::{self, Config, CopyIsa, FlushKind};
use crate::persist::{self, mode_hook, CACHELINE};

pub use crate::arch::{Routines, Stores};

/// Streaming stores with `cfg`'s policy for partial lines and prefetch.
#[inline(always)]
fn streaming(cfg: &Config) -> Stores {
    Stores {
        nt: true,
        partial: cfg.partial_movnt,
        prefetch: cfg.prefetch_lines,
        parts_first: cfg.parts_first,
        block16: cfg.forward_block16,
    }
}

/// The routines for `isa` and `flush`. Calling them is only sound when
/// `isa.supported(&cpu::detect())`.
#[inline]
pub fn routines(isa: CopyIsa, flush: FlushKind) -> &'static Routines {
    crate::arch::routines(isa, flush)
}

/// Streaming stores or not, from the flags, the size, whether source and
/// destination share cache lines and the load-time policy. Moves shorter
/// than the policy's `shared_lines_temporal_below` whose source shares
/// lines with the destination (overlapping or adjacent ranges) store
/// temporally: the source reads have just pulled those lines into the
/// cache, and a streaming store to a cached line must first evict it.
#[inline]
fn non_temporal(cfg: &Config, len: usize, flags: u32, shared_lines: bool) -> bool {
    if !cfg.movnt {
        return false;
    }
    if flags & (PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_WC) != 0 {
        return true;
    }
    if flags & (PMEM_F_MEM_TEMPORAL | PMEM_F_MEM_WB) != 0 {
        return false;
    }
    if shared_lines && len < cfg.shared_lines_temporal_below {
        // The CPU's policy (0 when the user set a threshold).
        false
    } else if cfg.small_movnt {
        // The CPU's policy (the user did not set a threshold).
        len >= 8
    } else {
        len >= cfg.movnt_threshold
    }
}

/// Whether `[dst, dst + len)` and the source share a cache line: then
/// reading the source caches destination lines. A fill shares none.
#[inline(always)]
fn shares_lines<S: Source>(src: S, dst: *mut u8, len: usize) -> bool {
    match src.addr() {
        Some(src) => {
            let lines = |p: usize| {
                let end = p.wrapping_add(len).wrapping_add(CACHELINE - 1);
                (p & !(CACHELINE - 1), end & !(CACHELINE - 1))
            };
            let ((d0, d1), (s0, s1)) = (lines(dst as usize), lines(src));
            len != 0 && d0 < s1 && s0 < d1
        }
        None => false,
    }
}

/// The copy shared by memmove and memset: picks the routine and the store
/// kind; flushing, fencing and the mode hooks are handled here.
///
/// # Safety
/// As `memmove` or `memset`.
#[inline(always)]
unsafe fn run<S: Source>(dst: *mut u8, src: S, len: usize, flags: u32) {
    let cfg = match (mode_hook::current(), cpu::config_if_made()) {
        (None, Some(cfg)) => cfg,
        // SAFETY: run_slow's contract is ours, passed on unchanged.
        _ => return unsafe { run_slow(dst, src, len, flags) },
    };
    if flags & PMEM_F_MEM_NOFLUSH != 0 {
        // NOFLUSH implies NODRAIN (pmem_memmove(3)).
        // SAFETY: dst and the source cover len bytes and do not wrap (our
        // contract); the routine's ISA is supported (the load-time choice
        // only picks what the CPU reported).
        return unsafe {
            src.copy_with(
                routines(cfg.isa, FlushKind::None),
                dst,
                len,
                Stores::TEMPORAL,
            )
        };
    }
    let st = if non_temporal(cfg, len, flags, shares_lines(src, dst, len)) {
        streaming(cfg)
    } else {
        Stores::TEMPORAL
    };
    // SAFETY: the ranges as above; `cfg.flush` and `cfg.isa` were chosen
    // at load among what this CPU supports.
    unsafe { src.copy_with(routines(cfg.isa, cfg.flush), dst, len, st) };
    if flags & PMEM_F_MEM_NODRAIN == 0 {
        persist::fence();
    }
}

/// `run` under a persistence mode, or before the load-time choice is
/// made. Out of line, so that the fast path keeps few registers live
/// across calls (each spill is a store, and stores queue behind
/// streaming stores). Either source passes in one register.
///
/// # Safety
/// As `run`.
#[inline(never)]
unsafe fn run_slow<S: Source>(dst: *mut u8, src: S, len: usize, flags: u32) {
    if mode_hook::current().is_none() {
        cpu::init();
        // SAFETY: run's contract is ours; the load-time choice is made now,
        // so run takes its fast path rather than coming back here.
        return unsafe { run(dst, src, len, flags) };
    }
    // The mode makes the range durable its own way: one flush call per
    // operation, so it sees each pmem_mem* call as one point.
    // SAFETY: the ranges are valid and do not wrap (our contract), and
    // `cpu::config().isa` is supported by this CPU (chosen at load).
    unsafe {
        src.copy_with(
            routines(cpu::config().isa, FlushKind::None),
            dst,
            len,
            Stores::TEMPORAL,
        )
    };
    if flags & PMEM_F_MEM_NOFLUSH == 0 {
        // SAFETY: `[dst, dst + len)` was just written, so it is mapped, and
        // it does not wrap (our contract).
        unsafe { persist::flush(dst, len) };
    }
    if flags & PMEM_F_MEM_NODRAIN == 0 {
        persist::drain();
    }
}

/// Copies `len` bytes from `src` to `dst` (the ranges may overlap), then
/// flushes and drains as `flags` (`PMEM_F_MEM_*`) say.
///
/// # Safety
/// `dst` must be writable and `src` readable for `len` bytes, and neither
/// range may pass the end of the address space.
#[inline]
pub unsafe fn memmove(dst: *mut u8, src: *const u8, len: usize, flags: u32) {
    // SAFETY: `run`'s contract is ours, for a memory source.
    unsafe { run(dst, Mem(src), len, flags) };
}

/// Fills `len` bytes at `dst` with `c`, then flushes and drains as `flags`
/// say.
///
/// # Safety
/// `dst` must be writable for `len` bytes, and the range may not pass the
/// end of the address space.
#[inline]
pub unsafe fn memset(dst: *mut u8, c: u8, len: usize, flags: u32) {
    // SAFETY: `run`'s contract is ours; a fill reads no memory.
    unsafe { run(dst, Fill::new(c), len, flags) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(dst: usize, src: usize, len: usize) -> bool {
        shares_lines(Mem(src as *const u8), dst as *mut u8, len)
    }

    #[test]
    fn shared_lines_are_line_granular() {
        let base = 0x10_000;
        assert!(shares(base + 32, base, 64), "overlapping");
        assert!(shares(base + 40, base, 40), "adjacent within one line");
        assert!(!shares(base + 64, base, 64), "adjacent at a line boundary");
        assert!(!shares(base + 4096, base, 100), "far apart");
        assert!(shares(base, base + 100, 128), "source above");
        assert!(!shares(base + 32, base, 0), "nothing copied");
        assert!(!shares_lines(Fill::new(0), base as *mut u8, 64));
    }

    /// This CPU's configuration under the AMD family 19h policy, unless
    /// `vars` say otherwise.
    fn build(vars: &[(&str, &str)]) -> Config {
        let given = crate::env::from_pairs(vars);
        let env = |name: &str| {
            let amd = (name == "PMEM_POLICY").then(|| "amd-fam19".to_string());
            given(name).or(amd)
        };
        Config::build(&cpu::detect(), &env, &|| Ok(false))
    }

    /// Where the copies have no streaming stores, nothing is ever
    /// non-temporal; the tests below are for where they have.
    fn streaming_stores(cfg: &Config) -> bool {
        if !crate::arch::STREAMING_STORES {
            assert!(!non_temporal(cfg, 4096, PMEM_F_MEM_NONTEMPORAL, false));
            return false;
        }
        true
    }

    #[test]
    fn shared_lines_pick_temporal_stores_below_the_policys_limit() {
        let ours = build(&[]);
        assert_eq!(ours.policy, "amd-fam19");
        if !streaming_stores(&ours) {
            return;
        }
        assert!(non_temporal(&ours, 64, 0, false));
        assert!(!non_temporal(&ours, 64, 0, true));
        assert!(!non_temporal(&ours, 4095, 0, true));
        assert!(non_temporal(&ours, 4096, 0, true));
        assert!(non_temporal(&ours, 64, PMEM_F_MEM_NONTEMPORAL, true));
        let user = build(&[("PMEM_MOVNT_THRESHOLD", "256")]);
        assert!(non_temporal(&user, 256, 0, true));
        assert!(!non_temporal(&user, 255, 0, false));
        let off = build(&[("PMEM_SHARED_TEMPORAL_BELOW", "0")]);
        assert!(non_temporal(&off, 64, 0, true));
        // Without small_movnt (the Intel entry): only the moves between
        // the threshold and the limit change, to temporal.
        let intel = build(&[("PMEM_POLICY", "intel-avx512-movdir64b")]);
        assert!(!intel.small_movnt);
        assert!(!non_temporal(&intel, 64, 0, false));
        assert!(!non_temporal(&intel, 256, 0, true));
        assert!(!non_temporal(&intel, 4095, 0, true));
        assert!(non_temporal(&intel, 4096, 0, true));
        assert!(non_temporal(&intel, 256, 0, false));
        let user = build(&[
            ("PMEM_POLICY", "intel-avx512-movdir64b"),
            ("PMEM_MOVNT_THRESHOLD", "256"),
        ]);
        assert!(non_temporal(&user, 256, 0, true));
    }

    #[test]
    fn pmdk_policy_streams_from_the_threshold_only() {
        let pmdk = build(&[("PMEM_POLICY", "pmdk")]);
        if !streaming_stores(&pmdk) {
            return;
        }
        assert!(!non_temporal(&pmdk, 8, 0, false));
        assert!(!non_temporal(&pmdk, 255, 0, false));
        assert!(non_temporal(&pmdk, 256, 0, false));
        assert!(non_temporal(&pmdk, 256, 0, true));
        assert!(non_temporal(&pmdk, 8, PMEM_F_MEM_NONTEMPORAL, false));
        assert_eq!(streaming(&pmdk), Stores::NT);
        let amd = build(&[]);
        let st = streaming(&amd);
        assert!(st.nt && st.partial && st.prefetch == 16);
    }
}
