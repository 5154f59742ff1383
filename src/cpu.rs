//! The load-time choice, read once: which flush instruction, which copy
//! ISA, and when to use non-temporal stores, from the CPU's features (the
//! architecture layer, `crate::arch`), the CPU's policy ([`crate::policy`])
//! and the PMEM_* overrides. Nothing here names an instruction set.
//!
//! The overrides mean what they mean in PMDK (`man libpmem`):
//! - x86: `PMEM_NO_CLWB=1`: no CLWB (CLFLUSHOPT, else CLFLUSH);
//!   `PMEM_NO_CLFLUSHOPT=1`: no CLFLUSHOPT.
//! - `PMEM_NO_FLUSH=1`: never flush caches, only fence (pmem_deep_flush
//!   still flushes); `=0`: always flush; unset: flush unless the platform
//!   flushes caches on power loss ([`crate::sysfs::has_auto_flush`]).
//! - `PMEM_NO_MOVNT=1`: temporal stores only, whatever the flags say
//!   (and where the copies have no streaming stores, all but x86_64,
//!   always).
//! - `PMEM_MOVNT_THRESHOLD=N`: copies of N bytes or more use streaming
//!   stores, smaller ones temporal stores (default 256; see
//!   [`Config::small_movnt`] for what a CPU's policy may do below it when N
//!   is unset).
//! - x86_64: `PMEM_AVX=0`, `PMEM_AVX512F=0`: do not use that copy path (each switch
//!   only its own, as in PMDK).
//! - `PMEM_MOVDIR64B=1`: use MOVDIR64B for whole streamed lines when the
//!   CPU has it (off by default, as in PMDK 2.x); `=0`: never.
//! - `PMEM_POLICY`, `PMEM_PREFETCH_LINES`, `PMEM_SMALL_MOVNT`,
//!   `PMEM_PARTIAL_MOVNT`, `PMEM_SHARED_TEMPORAL_BELOW`,
//!   `PMEM_PARTS_FIRST`, `PMEM_FORWARD_BLOCK16`: force the choices
//!   where a CPU's [`crate::policy`] may differ from PMDK's (for
//!   `make bench-policy`).
//!
//! A value other than 0 or 1 (or a number, for the threshold) is logged
//! as a warning and ignored.
//!
//! [`config`] is what every hot path reads: a `OnceLock` filled by
//! [`init`] from the library constructor, or on first use by whatever
//! calls in before constructors run. After that, a read is one atomic
//! load and a branch: no lock, no environment access, no allocation.

use std::sync::OnceLock;

use crate::arch;
use crate::env::Lookup;
use crate::policy::{self, Policy};

/// PMDK's default `PMEM_MOVNT_THRESHOLD`.
#[cfg(test)]
pub const DEFAULT_MOVNT_THRESHOLD: usize = policy::PMDK.movnt_threshold;

pub use crate::arch::{detect, policy_key, CopyIsa, Features, FlushKind};

/// The choices made at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// What pmem_flush and the copies use: `None` under PMEM_NO_FLUSH=1 or eADR.
    pub flush: FlushKind,
    /// The CPU's flush instruction, which pmem_deep_flush uses whatever
    /// PMEM_NO_FLUSH says.
    pub deep_flush: FlushKind,
    pub isa: CopyIsa,
    /// False under PMEM_NO_MOVNT=1: every copy uses temporal stores.
    pub movnt: bool,
    /// Copies of at least this many bytes use non-temporal stores.
    pub movnt_threshold: usize,
    /// Below the threshold, copies of 8 bytes or more still use streaming
    /// stores (the policy's `small_movnt`, see `crate::policy`). Off when
    /// the user set PMEM_MOVNT_THRESHOLD, so its documented meaning holds,
    /// and where nothing is flushed (eADR), where plain stores are cheapest.
    pub small_movnt: bool,
    /// Moves shorter than this whose source shares cache lines with the
    /// destination use temporal stores (the policy's
    /// `shared_lines_temporal_below`); 0 where `small_movnt` is turned off
    /// for the reasons above.
    pub shared_lines_temporal_below: usize,
    /// Streamed copies stream their partial lines too (the policy's
    /// `partial_movnt`).
    pub partial_movnt: bool,
    /// Streamed copies of disjoint ranges write their partial lines first
    /// (the policy's `parts_first`).
    pub parts_first: bool,
    /// Forward streaming copies take sixteen lines per step (the policy's
    /// `forward_block16`).
    pub forward_block16: bool,
    /// Source prefetch distance of long streaming copies, in lines (0: none).
    pub prefetch_lines: u8,
    /// The name of the policy these knobs started from.
    pub policy: &'static str,
}

/// The instructions the library chose for this CPU (flush, copy path,
/// fence, streaming), for the demo and for pmem_get_attr, whose per-mapping
/// answer is `mode::attr::Attributes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstructionChoice {
    /// "clwb", "clflushopt", "clflush" or "none".
    pub flush: &'static str,
    /// "avx512f", "avx", "sse2" or "movdir64b".
    pub copy: &'static str,
    /// Whether pmem_drain must fence (SFENCE) for stores to be durable.
    pub fence: bool,
    /// Whether copies may use non-temporal stores at all.
    pub movnt: bool,
    pub movnt_threshold: usize,
    /// The name of the CPU policy (`crate::policy`): "pmdk", "amd-fam19"...
    pub policy: &'static str,
}

impl Config {
    /// Decides from the CPU's features, an environment lookup and the
    /// platform's auto-flush answer (asked only when PMEM_NO_FLUSH is unset).
    pub fn build(
        f: &Features,
        env: &Lookup,
        auto_flush: &dyn Fn() -> crate::Result<bool>,
    ) -> Config {
        let sw = |name: &str| policy::switch(env, name);
        // The architecture's strongest write-back, after its own switches
        // (x86: PMEM_NO_CLWB, PMEM_NO_CLFLUSHOPT).
        let deep_flush = arch::best_flush(f, &sw);
        let flush_caches = match policy::switch(env, "PMEM_NO_FLUSH") {
            Some(no_flush) => !no_flush,
            // An unknown answer is "no": flushing is always safe.
            None => !matches!(auto_flush(), Ok(true)),
        };
        let flush = if flush_caches {
            deep_flush
        } else {
            FlushKind::None
        };

        let p = Config::policy(f, env);
        // The widest copy path, after the architecture's switches (x86:
        // PMEM_AVX, PMEM_AVX512F, PMEM_MOVDIR64B with the policy's default).
        let isa = arch::best_isa(f, &sw, &p);

        // Only where the copies have streaming stores at all.
        let movnt = arch::STREAMING_STORES && policy::switch(env, "PMEM_NO_MOVNT") != Some(true);
        let user_threshold = policy::number(env, "PMEM_MOVNT_THRESHOLD");
        // The policy's size rules apply unless the user set the threshold
        // or nothing is flushed.
        let policy_sizes = user_threshold.is_none() && flush != FlushKind::None;
        Config {
            flush,
            deep_flush,
            isa,
            movnt,
            movnt_threshold: user_threshold.unwrap_or(p.movnt_threshold),
            small_movnt: p.small_movnt && policy_sizes,
            shared_lines_temporal_below: if policy_sizes {
                p.shared_lines_temporal_below
            } else {
                0
            },
            partial_movnt: p.partial_movnt,
            parts_first: p.parts_first,
            forward_block16: p.forward_block16,
            prefetch_lines: p.prefetch_lines,
            policy: p.name,
        }
    }

    /// The table's policy for this CPU, with the environment's overrides.
    fn policy(f: &Features, env: &Lookup) -> Policy {
        policy::apply_overrides(*policy::for_cpu(&arch::policy_key(f)), env)
    }

    pub fn instruction_choice(&self) -> InstructionChoice {
        InstructionChoice {
            flush: self.flush.name(),
            copy: self.isa.name(),
            fence: arch::fence_required(self.flush, self.movnt),
            movnt: self.movnt,
            movnt_threshold: self.movnt_threshold,
            policy: self.policy,
        }
    }
}

static CONFIG: OnceLock<Config> = OnceLock::new();

/// The process's choice: this CPU, the process's environment (read as
/// `crate::env` reads it: not at all in a privileged program) and the
/// system's sysfs. `sysfs` is a leaf (it reads files, never flushes or
/// copies), so the one-time initialisation cannot re-enter itself.
fn from_process() -> Config {
    Config::build(&detect(), &crate::env::var, &crate::sysfs::has_auto_flush)
}

/// Makes the load-time choice; called from the library constructor.
pub fn init() {
    config();
}

/// The load-time choice (made now if the constructor has not run yet).
#[inline]
pub fn config() -> &'static Config {
    match CONFIG.get() {
        Some(c) => c,
        None => config_slow(),
    }
}

/// The load-time choice if it has been made: always, once the library
/// constructor has run. For hot paths that handle `None` out of line.
#[inline(always)]
pub fn config_if_made() -> Option<&'static Config> {
    CONFIG.get()
}

#[cold]
#[inline(never)]
fn config_slow() -> &'static Config {
    CONFIG.get_or_init(from_process)
}

/// The flush instruction, copy path, fence and threshold in use.
pub fn instruction_choice() -> InstructionChoice {
    config().instruction_choice()
}

#[cfg(test)]
mod tests {
    //! What holds on every architecture; the x86 switches and the policy
    //! table as x86 CPUs meet them are tested in `arch/x86_64`.
    use super::*;

    fn build(vars: &'static [(&str, &str)], auto_flush: crate::Result<bool>) -> Config {
        Config::build(&detect(), &crate::env::from_pairs(vars), &|| {
            auto_flush.clone()
        })
    }

    #[test]
    fn no_flush_and_auto_flush_on_this_cpu() {
        let best = arch::best_flush(&detect(), &|_| None);
        let c = build(&[("PMEM_NO_FLUSH", "1")], Ok(false));
        assert_eq!((c.flush, c.deep_flush), (FlushKind::None, best));
        assert_eq!(build(&[("PMEM_NO_FLUSH", "0")], Ok(true)).flush, best);
        assert_eq!(build(&[], Ok(true)).flush, FlushKind::None);
        assert_eq!(build(&[], Ok(false)).flush, best);
        let unknown = Err(crate::Error::new(libc::EIO, "no sysfs"));
        assert_eq!(build(&[], unknown).flush, best);
    }

    #[test]
    fn streaming_only_where_the_copies_have_it() {
        let c = build(&[], Ok(false));
        assert_eq!(c.movnt, arch::STREAMING_STORES);
        assert!(!build(&[("PMEM_NO_MOVNT", "1")], Ok(false)).movnt);
        let d = c.instruction_choice();
        assert_eq!(d.fence, arch::fence_required(c.flush, c.movnt));
        assert_eq!((d.flush, d.copy), (c.flush.name(), c.isa.name()));
    }
}
