//! CPU features and the PMEM_* overrides, read once: which flush
//! instruction, which copy ISA, and when to use non-temporal stores.
//!
//! The overrides mean what they mean in PMDK (`man libpmem`):
//! - `PMEM_NO_CLWB=1`: no CLWB (CLFLUSHOPT, else CLFLUSH);
//!   `PMEM_NO_CLFLUSHOPT=1`: no CLFLUSHOPT.
//! - `PMEM_NO_FLUSH=1`: never flush caches, only fence (pmem_deep_flush
//!   still flushes); `=0`: always flush; unset: flush unless the platform
//!   flushes caches on power loss (`map::platform::has_auto_flush`).
//! - `PMEM_NO_MOVNT=1`: temporal stores only, whatever the flags say.
//! - `PMEM_MOVNT_THRESHOLD=N`: copies of N bytes or more use streaming
//!   stores, smaller ones temporal stores (default 256; see
//!   [`Config::small_movnt`] for what we do below it when N is unset).
//! - `PMEM_AVX=0`, `PMEM_AVX512F=0`, `PMEM_MOVDIR64B=0`: do not use that
//!   copy path (each switch only its own, as in PMDK).
//!
//! A value other than 0 or 1 (or a number, for the threshold) is logged
//! as a warning and ignored.
//!
//! [`config`] is what every hot path reads: a `OnceLock` filled by
//! [`init`] from the library constructor, or on first use by whatever
//! calls in before constructors run. After that, a read is one atomic
//! load and a branch: no lock, no environment access, no allocation.


use std::sync::OnceLock;

/// PMDK's default `PMEM_MOVNT_THRESHOLD`.
pub const DEFAULT_MOVNT_THRESHOLD: usize = 256;

pub use crate::arch::{detect, CopyIsa, Features, FlushKind};

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
    /// stores (8-byte ones for partial lines): a streaming store and a fence
    /// beat store + write-back + fence at every size on the development
    /// machine (AMD EPYC: ~95 ns against ~160 ns for a durable 8..200 B
    /// copy). The exception is short overlapping moves, whose destination
    /// lines the source reads have just cached (`memops` stores those
    /// temporally, whatever the threshold). Off when the user set
    /// PMEM_MOVNT_THRESHOLD, so its documented meaning holds, and where
    /// nothing is flushed (eADR), where plain stores are cheapest.
    pub small_movnt: bool,
}

/// What the library chose, for the demo and the platform-attributes API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Description {
    /// "clwb", "clflushopt", "clflush" or "none".
    pub flush: &'static str,
    /// "avx512f", "avx", "sse2" or "movdir64b".
    pub copy: &'static str,
    /// Whether pmem_drain must fence (SFENCE) for stores to be durable.
    pub fence: bool,
    /// Whether copies may use non-temporal stores at all.
    pub movnt: bool,
    pub movnt_threshold: usize,
}

/// A PMEM_* switch: Some(true) for "1", Some(false) for "0", None when
/// unset; anything else is logged and treated as unset.
fn switch(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<bool> {
    let v = env(name)?;
    match v.as_str() {
        "1" => Some(true),
        "0" => Some(false),
        _ => {
            crate::log_warning!("ignoring {name}={v:?}: expected 0 or 1");
            None
        }
    }
}

fn threshold(env: &dyn Fn(&str) -> Option<String>) -> Option<usize> {
    let v = env("PMEM_MOVNT_THRESHOLD")?;
    match v.trim().parse::<usize>() {
        Ok(n) => Some(n),
        Err(_) => {
            crate::log_warning!(
                "ignoring PMEM_MOVNT_THRESHOLD={v:?}: expected a non-negative integer"
            );
            None
        }
    }
}

impl Config {
    /// Decides from the CPU's features, an environment lookup and the
    /// platform's auto-flush answer (asked only when PMEM_NO_FLUSH is unset).
    pub fn build(
        f: &Features,
        env: &dyn Fn(&str) -> Option<String>,
        auto_flush: &dyn Fn() -> crate::Result<bool>,
    ) -> Config {
        let sw = |name: &str| switch(env, name);
        let deep_flush = crate::arch::best_flush(f, &sw);
        let flush_caches = match switch(env, "PMEM_NO_FLUSH") {
            Some(no_flush) => !no_flush,
            // An unknown answer is "no": flushing is always safe.
            None => !matches!(auto_flush(), Ok(true)),
        };
        let flush = if flush_caches {
            deep_flush
        } else {
            FlushKind::None
        };

        let isa = crate::arch::best_isa(f, &sw);

        let movnt = crate::arch::STREAMING_STORES && switch(env, "PMEM_NO_MOVNT") != Some(true);
        let user_threshold = threshold(env);
        Config {
            flush,
            deep_flush,
            isa,
            movnt,
            movnt_threshold: user_threshold.unwrap_or(DEFAULT_MOVNT_THRESHOLD),
            small_movnt: user_threshold.is_none() && flush != FlushKind::None,
        }
    }

    pub fn describe(&self) -> Description {
        Description {
            flush: self.flush.name(),
            copy: self.isa.name(),
            fence: crate::arch::fence_required(self.flush, self.movnt),
            movnt: self.movnt,
            movnt_threshold: self.movnt_threshold,
        }
    }
}

static CONFIG: OnceLock<Config> = OnceLock::new();

/// The process's choice. `has_auto_flush` runs inside the one-time
/// initialisation, so it must not flush or copy through this crate.
fn from_process() -> Config {
    let env = |name: &str| std::env::var(name).ok();
    Config::build(&detect(), &env, &crate::map::platform::has_auto_flush)
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
pub fn describe() -> Description {
    config().describe()
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    const ALL: Features = Features {
        clflush: true,
        clflushopt: true,
        clwb: true,
        avx: true,
        avx512f: true,
        movdir64b: true,
    };

    fn build(f: &Features, vars: &[(&str, &str)], auto_flush: bool) -> Config {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Config::build(f, &env, &|| Ok(auto_flush))
    }

    #[test]
    fn best_instructions_by_default() {
        let c = build(&ALL, &[], false);
        assert_eq!(c.flush, FlushKind::Clwb);
        assert_eq!(c.isa, CopyIsa::Movdir64b);
        assert!(c.movnt && c.small_movnt);
        assert_eq!(c.movnt_threshold, DEFAULT_MOVNT_THRESHOLD);
        let no_movdir = Features {
            movdir64b: false,
            ..ALL
        };
        assert_eq!(build(&no_movdir, &[], false).isa, CopyIsa::Avx512f);
        let old = Features {
            clflush: true,
            ..Features::default()
        };
        let c = build(&old, &[], false);
        assert_eq!((c.flush, c.isa), (FlushKind::Clflush, CopyIsa::Sse2));
        assert!(!c.describe().fence || c.movnt);
    }

    #[test]
    fn flush_overrides() {
        let kind = |vars: &[(&str, &str)], auto| build(&ALL, vars, auto).flush;
        assert_eq!(kind(&[("PMEM_NO_CLWB", "1")], false), FlushKind::Clflushopt);
        assert_eq!(
            kind(&[("PMEM_NO_CLWB", "1"), ("PMEM_NO_CLFLUSHOPT", "1")], false),
            FlushKind::Clflush
        );
        // NO_CLFLUSHOPT alone leaves CLWB in place.
        assert_eq!(kind(&[("PMEM_NO_CLFLUSHOPT", "1")], false), FlushKind::Clwb);
        assert_eq!(kind(&[("PMEM_NO_CLWB", "0")], false), FlushKind::Clwb);
        assert_eq!(kind(&[("PMEM_NO_CLWB", "yes")], false), FlushKind::Clwb);
        // PMEM_NO_FLUSH: 1 never, 0 always, unset: ask the platform.
        assert_eq!(kind(&[("PMEM_NO_FLUSH", "1")], false), FlushKind::None);
        assert_eq!(kind(&[("PMEM_NO_FLUSH", "0")], true), FlushKind::Clwb);
        assert_eq!(kind(&[], true), FlushKind::None);
        assert_eq!(kind(&[("PMEM_NO_FLUSH", "2")], true), FlushKind::None);
        assert_eq!(kind(&[("PMEM_NO_FLUSH", "2")], false), FlushKind::Clwb);
        // Deep flush keeps the instruction whatever PMEM_NO_FLUSH says.
        let c = build(&ALL, &[("PMEM_NO_FLUSH", "1")], false);
        assert_eq!(c.deep_flush, FlushKind::Clwb);
        let c = Config::build(&ALL, &|_| None, &|| {
            Err(crate::Error::new(libc::EIO, "no sysfs"))
        });
        assert_eq!(c.flush, FlushKind::Clwb);
    }

    #[test]
    fn copy_overrides() {
        let isa = |f: &Features, vars: &[(&str, &str)]| build(f, vars, false).isa;
        let no_movdir = Features {
            movdir64b: false,
            ..ALL
        };
        assert_eq!(isa(&ALL, &[("PMEM_MOVDIR64B", "0")]), CopyIsa::Avx512f);
        assert_eq!(isa(&no_movdir, &[("PMEM_AVX512F", "0")]), CopyIsa::Avx);
        assert_eq!(isa(&no_movdir, &[("PMEM_AVX", "0")]), CopyIsa::Avx512f);
        assert_eq!(
            isa(&no_movdir, &[("PMEM_AVX", "0"), ("PMEM_AVX512F", "0")]),
            CopyIsa::Sse2
        );
        assert_eq!(
            isa(&no_movdir, &[("PMEM_AVX512F", "off")]),
            CopyIsa::Avx512f
        );
        let avx_only = Features {
            avx: true,
            ..Features::default()
        };
        assert_eq!(isa(&avx_only, &[("PMEM_AVX512F", "1")]), CopyIsa::Avx);
    }

    #[test]
    fn movnt_overrides() {
        assert!(!build(&ALL, &[("PMEM_NO_FLUSH", "1")], false).small_movnt);
        let c = build(&ALL, &[("PMEM_NO_MOVNT", "1")], false);
        assert!(!c.movnt);
        assert!(!c.describe().movnt);
        let c = build(&ALL, &[("PMEM_MOVNT_THRESHOLD", "0")], false);
        assert_eq!((c.movnt_threshold, c.small_movnt), (0, false));
        let c = build(&ALL, &[("PMEM_MOVNT_THRESHOLD", "4096")], false);
        assert_eq!(c.movnt_threshold, 4096);
        for bad in ["-1", "lots", ""] {
            let c = build(&ALL, &[("PMEM_MOVNT_THRESHOLD", bad)], false);
            assert_eq!(c.movnt_threshold, DEFAULT_MOVNT_THRESHOLD, "{bad:?}");
            assert!(c.small_movnt);
        }
    }

    #[test]
    fn detection_matches_std() {
        let f = detect();
        assert_eq!(f.avx, std::arch::is_x86_feature_detected!("avx"));
        assert_eq!(f.avx512f, std::arch::is_x86_feature_detected!("avx512f"));
        assert!(f.clflush);
    }
}
