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
//!   [`Config::small_movnt`] for what a CPU's policy may do below it when N
//!   is unset).
//! - `PMEM_AVX=0`, `PMEM_AVX512F=0`: do not use that copy path (each switch
//!   only its own, as in PMDK).
//! - `PMEM_MOVDIR64B=1`: use MOVDIR64B for whole streamed lines when the
//!   CPU has it (off by default, as in PMDK 2.x); `=0`: never.
//! - `PMEM_POLICY`, `PMEM_PREFETCH_LINES`, `PMEM_SMALL_MOVNT`,
//!   `PMEM_PARTIAL_MOVNT`, `PMEM_SHARED_TEMPORAL_BELOW`: force the choices
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

use core::ffi::CStr;
use std::sync::OnceLock;

use crate::policy::{self, Policy, Vendor};

/// PMDK's default `PMEM_MOVNT_THRESHOLD`.
pub const DEFAULT_MOVNT_THRESHOLD: usize = policy::PMDK.movnt_threshold;

/// What the CPU (and the OS, for vector register state) supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    pub clflush: bool,
    pub clflushopt: bool,
    pub clwb: bool,
    pub avx: bool,
    pub avx512f: bool,
    pub movdir64b: bool,
    /// Who made the CPU and its display family: the policy table's key.
    pub vendor: Vendor,
    pub family: u32,
}

/// The instruction that writes a cache line back, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushKind {
    None = 0,
    Clflush = 1,
    Clflushopt = 2,
    Clwb = 3,
}

impl FlushKind {
    pub const COUNT: usize = 4;

    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("?")
    }

    /// The name as a C string (pmem_get_attr hands it to C).
    pub fn c_name(self) -> &'static CStr {
        match self {
            FlushKind::None => c"none",
            FlushKind::Clflush => c"clflush",
            FlushKind::Clflushopt => c"clflushopt",
            FlushKind::Clwb => c"clwb",
        }
    }
}

/// The instruction set the copy routines use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyIsa {
    Sse2 = 0,
    Avx = 1,
    Avx512f = 2,
    /// SSE2 for partial lines, MOVDIR64B for whole non-temporal lines.
    Movdir64b = 3,
}

impl CopyIsa {
    pub const COUNT: usize = 4;
    pub const ALL: [CopyIsa; CopyIsa::COUNT] = [
        CopyIsa::Sse2,
        CopyIsa::Avx,
        CopyIsa::Avx512f,
        CopyIsa::Movdir64b,
    ];

    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("?")
    }

    /// The name as a C string (pmem_get_attr hands it to C).
    pub fn c_name(self) -> &'static CStr {
        match self {
            CopyIsa::Sse2 => c"sse2",
            CopyIsa::Avx => c"avx",
            CopyIsa::Avx512f => c"avx512f",
            CopyIsa::Movdir64b => c"movdir64b",
        }
    }

    /// Whether this CPU can run the path at all (SSE2 is x86_64 baseline).
    pub fn supported(self, f: &Features) -> bool {
        match self {
            CopyIsa::Sse2 => true,
            CopyIsa::Avx => f.avx,
            CopyIsa::Avx512f => f.avx512f,
            CopyIsa::Movdir64b => f.movdir64b,
        }
    }
}

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
    /// stores (the policy's `small_movnt`, see [`crate::policy`]), except
    /// moves shorter than `shared_lines_temporal_below` whose source
    /// shares cache lines with the destination. Off when the user set
    /// PMEM_MOVNT_THRESHOLD, so its documented meaning holds, and where
    /// nothing is flushed (eADR), where plain stores are cheapest.
    pub small_movnt: bool,
    /// The policy's `shared_lines_temporal_below`.
    pub shared_lines_temporal_below: usize,
    /// Streamed copies stream their partial lines too (the policy's
    /// `partial_movnt`).
    pub partial_movnt: bool,
    /// Source prefetch distance of long streaming copies, in lines (0: none).
    pub prefetch_lines: u8,
    /// The name of the policy these knobs started from.
    pub policy: &'static str,
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
    /// The name of the CPU policy (`crate::policy`): "pmdk", "amd-fam19"...
    pub policy: &'static str,
}

fn cpuid(leaf: u32, sub: u32) -> core::arch::x86_64::CpuidResult {
    // SAFETY: CPUID exists on every x86_64 CPU; out-of-range leaves return
    // zeros. (The intrinsic is safe since Rust 1.88; rust-version is older.)
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::__cpuid_count(leaf, sub)
    }
}

/// XCR0: which register states the OS saves (AVX needs YMM, AVX-512 ZMM).
fn xcr0() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: only called after CPUID reported OSXSAVE, so XGETBV(0) is legal.
    unsafe {
        core::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi,
            options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Reads CPUID (and XCR0 for the vector states).
pub fn detect() -> Features {
    let bit = |reg: u32, n: u32| reg & (1 << n) != 0;
    let l1 = cpuid(1, 0);
    let max_leaf = cpuid(0, 0).eax;
    let l7 = if max_leaf >= 7 {
        cpuid(7, 0)
    } else {
        core::arch::x86_64::CpuidResult {
            eax: 0,
            ebx: 0,
            ecx: 0,
            edx: 0,
        }
    };
    let xcr0 = if bit(l1.ecx, 27) { xcr0() } else { 0 };
    let l0 = cpuid(0, 0);
    let mut id = [0u8; 12];
    for (i, reg) in [l0.ebx, l0.edx, l0.ecx].into_iter().enumerate() {
        id[4 * i..4 * i + 4].copy_from_slice(&reg.to_le_bytes());
    }
    let ymm_state = xcr0 & 0b110 == 0b110;
    let zmm_state = xcr0 & 0b1110_0110 == 0b1110_0110;
    Features {
        clflush: bit(l1.edx, 19),
        clflushopt: bit(l7.ebx, 23),
        clwb: bit(l7.ebx, 24),
        avx: bit(l1.ecx, 28) && ymm_state,
        avx512f: bit(l7.ebx, 16) && zmm_state,
        movdir64b: bit(l7.ecx, 28),
        vendor: Vendor::from_id(&id),
        family: policy::display_family(l1.eax),
    }
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

impl Config {
    /// Decides from the CPU's features, an environment lookup and the
    /// platform's auto-flush answer (asked only when PMEM_NO_FLUSH is unset).
    pub fn build(
        f: &Features,
        env: &dyn Fn(&str) -> Option<String>,
        auto_flush: &dyn Fn() -> crate::Result<bool>,
    ) -> Config {
        let mut deep_flush = if f.clflush {
            FlushKind::Clflush
        } else {
            FlushKind::None
        };
        if f.clflushopt && switch(env, "PMEM_NO_CLFLUSHOPT") != Some(true) {
            deep_flush = FlushKind::Clflushopt;
        }
        if f.clwb && switch(env, "PMEM_NO_CLWB") != Some(true) {
            deep_flush = FlushKind::Clwb;
        }
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

        // As in PMDK, PMEM_AVX=0 does not veto AVX-512F: each switch only
        // turns off its own path.
        let mut isa = CopyIsa::Sse2;
        if f.avx && switch(env, "PMEM_AVX") != Some(false) {
            isa = CopyIsa::Avx;
        }
        if f.avx512f && switch(env, "PMEM_AVX512F") != Some(false) {
            isa = CopyIsa::Avx512f;
        }
        let p = Config::policy(f, env);
        if f.movdir64b && switch(env, "PMEM_MOVDIR64B").unwrap_or(p.movdir64b) {
            isa = CopyIsa::Movdir64b;
        }

        let movnt = switch(env, "PMEM_NO_MOVNT") != Some(true);
        let user_threshold = policy::number(env, "PMEM_MOVNT_THRESHOLD");
        Config {
            flush,
            deep_flush,
            isa,
            movnt,
            movnt_threshold: user_threshold.unwrap_or(p.movnt_threshold),
            small_movnt: p.small_movnt && user_threshold.is_none() && flush != FlushKind::None,
            shared_lines_temporal_below: p.shared_lines_temporal_below,
            partial_movnt: p.partial_movnt,
            prefetch_lines: p.prefetch_lines,
            policy: p.name,
        }
    }

    /// The table's policy for this CPU, with the environment's overrides.
    fn policy(f: &Features, env: &dyn Fn(&str) -> Option<String>) -> Policy {
        let sw = |name: &str| switch(env, name);
        policy::apply_overrides(*policy::for_cpu(f.vendor, f.family), env, &sw)
    }

    pub fn describe(&self) -> Description {
        Description {
            flush: self.flush.name(),
            copy: self.isa.name(),
            // Streaming stores and CLWB/CLFLUSHOPT are weakly ordered; only
            // CLFLUSH with temporal stores alone is ordered by itself.
            fence: self.movnt || matches!(self.flush, FlushKind::Clwb | FlushKind::Clflushopt),
            movnt: self.movnt,
            movnt_threshold: self.movnt_threshold,
            policy: self.policy,
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

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Features = Features {
        clflush: true,
        clflushopt: true,
        clwb: true,
        avx: true,
        avx512f: true,
        movdir64b: true,
        vendor: Vendor::Amd,
        family: 0x19,
    };

    /// ALL, made by Intel (a family with no table entry).
    const INTEL: Features = Features {
        vendor: Vendor::Intel,
        family: 6,
        ..ALL
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
        // MOVDIR64B only on request, as in PMDK 2.x.
        assert_eq!(c.isa, CopyIsa::Avx512f);
        assert_eq!(
            build(&ALL, &[("PMEM_MOVDIR64B", "1")], false).isa,
            CopyIsa::Movdir64b
        );
        assert!(c.movnt && c.small_movnt);
        assert_eq!(c.movnt_threshold, DEFAULT_MOVNT_THRESHOLD);
        let old = Features {
            clflush: true,
            ..Features::default()
        };
        let c = build(&old, &[], false);
        assert_eq!((c.flush, c.isa), (FlushKind::Clflush, CopyIsa::Sse2));
        assert!(!c.describe().fence || c.movnt);
    }

    #[test]
    fn policy_from_the_table() {
        let amd = build(&ALL, &[], false);
        assert_eq!(amd.policy, "amd-fam19");
        assert!(amd.small_movnt && amd.partial_movnt);
        assert_eq!(
            (amd.prefetch_lines, amd.shared_lines_temporal_below),
            (16, 4096)
        );
        // Intel and unknown CPUs: PMDK's choices.
        for f in [
            INTEL,
            Features {
                family: 0x1a,
                ..ALL
            },
            Features::default(),
        ] {
            let c = build(&f, &[], false);
            assert_eq!(c.policy, "pmdk", "{f:?}");
            assert!(!c.small_movnt && !c.partial_movnt, "{f:?}");
            assert_eq!(c.prefetch_lines, 0);
            assert_eq!(c.movnt_threshold, 256);
            assert_ne!(c.isa, CopyIsa::Movdir64b);
        }
        // Forcing either way.
        let c = build(&INTEL, &[("PMEM_POLICY", "amd-fam19")], false);
        assert_eq!(
            (c.policy, c.small_movnt, c.prefetch_lines),
            ("amd-fam19", true, 16)
        );
        let c = build(&ALL, &[("PMEM_POLICY", "pmdk")], false);
        assert_eq!(c.describe().policy, "pmdk");
        assert!(!c.small_movnt && !c.partial_movnt);
        let c = build(&INTEL, &[("PMEM_SMALL_MOVNT", "1")], false);
        assert!(c.small_movnt && !c.partial_movnt);
        // A user threshold keeps its meaning under any policy.
        let c = build(&ALL, &[("PMEM_MOVNT_THRESHOLD", "64")], false);
        assert_eq!((c.small_movnt, c.movnt_threshold), (false, 64));
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
        assert_eq!(isa(&ALL, &[("PMEM_MOVDIR64B", "yes")]), CopyIsa::Avx512f);
        assert_eq!(isa(&INTEL, &[("PMEM_MOVDIR64B", "1")]), CopyIsa::Movdir64b);
        assert_eq!(
            isa(&no_movdir, &[("PMEM_MOVDIR64B", "1")]),
            CopyIsa::Avx512f
        );
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
        // The policy key agrees with what the kernel read from CPUID.
        if let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") {
            let field = |name: &str| {
                info.lines()
                    .find(|l| l.split(':').next().map(str::trim) == Some(name))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|v| v.trim().to_string())
            };
            if let Some(fam) = field("cpu family") {
                assert_eq!(f.family.to_string(), fam);
            }
            let vendor = match field("vendor_id").as_deref() {
                Some("GenuineIntel") => Vendor::Intel,
                Some("AuthenticAMD") => Vendor::Amd,
                _ => Vendor::Other,
            };
            assert_eq!(f.vendor, vendor);
        }
    }
}
