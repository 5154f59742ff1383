//! Where our copy instructions may differ from PMDK's, per CPU, and the
//! measurements that allow it.
//!
//! PMDK's choices (libpmem2's x86_64 code, read for facts) are the default
//! for every CPU: below `PMEM_MOVNT_THRESHOLD` (256 B) copies use temporal
//! stores and write the lines back; at or above it whole lines are
//! streamed and the partial head and tail lines are stored temporally and
//! written back; no source prefetch on the AVX-512 path; MOVDIR64B only when
//! `PMEM_MOVDIR64B` asks for it. A CPU gets another entry only where
//! `make bench` / `make bench-policy` on that vendor and family showed the
//! difference to win; each entry names the results file.
//!
//! The table is looked up once at load ([`crate::cpu::Config::build`]);
//! `PMEM_POLICY` and the per-knob variables of [`apply_overrides`] force
//! any other choice, so `make bench-policy` can compare them on any CPU.
//!
//! **The table is x86-only, on purpose.** Every knob (streaming below the
//! threshold, partial lines as MOVNTI, source prefetch, MOVDIR64B) is a
//! choice of the x86_64 copy template; the portable copies that every other
//! architecture uses have no streaming stores and nothing to choose, so
//! their `arch::policy_key` gives every CPU [`Key::default()`] (vendor
//! `Other`), which gets PMDK's entry. An aarch64 entry becomes worth writing
//! when aarch64 gets copies with such a choice (say, STNP streaming
//! stores); its key would then need that architecture's identification
//! (MIDR implementer and part) next to CPUID's fields here.

use crate::env::Lookup;

/// CPU vendors the table can tell apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Vendor {
    Intel,
    Amd,
    #[default]
    Other,
}

impl Vendor {
    /// From CPUID leaf 0's 12-byte vendor string.
    pub fn from_id(id: &[u8; 12]) -> Vendor {
        match id {
            b"GenuineIntel" => Vendor::Intel,
            b"AuthenticAMD" => Vendor::Amd,
            _ => Vendor::Other,
        }
    }
}

/// What the table looks a CPU up by: CPUID's vendor and display family,
/// and the features an entry may require (x86; see the module comment).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Key {
    pub vendor: Vendor,
    pub family: u32,
    /// AVX-512F usable (CPU and OS).
    pub avx512f: bool,
    pub movdir64b: bool,
}

/// The choices that may differ from PMDK's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Name for `PMEM_POLICY`, logs and the benchmark.
    pub name: &'static str,
    /// Streaming copies of at least [`PREFETCH_MIN_LINES`] whole lines
    /// prefetch their source this many lines ahead of the loads; 0: never.
    pub prefetch_lines: u8,
    /// Copies of 8 bytes or more below the threshold still use streaming
    /// stores (unless the user set `PMEM_MOVNT_THRESHOLD`).
    pub small_movnt: bool,
    /// Streamed copies write their partial lines (of 8 bytes or more, in
    /// copies up to 1 KiB) with 8-byte streaming stores instead of
    /// temporal stores and a write-back.
    pub partial_movnt: bool,
    /// Moves shorter than this whose source shares cache lines with the
    /// destination use temporal stores, streaming or not otherwise (0:
    /// none do).
    pub shared_lines_temporal_below: usize,
    /// The default non-temporal threshold (`PMEM_MOVNT_THRESHOLD` wins).
    pub movnt_threshold: usize,
    /// Whether MOVDIR64B is used when the CPU has it and `PMEM_MOVDIR64B`
    /// is unset (`PMEM_MOVDIR64B=1` turns it on, `=0` off, either way).
    pub movdir64b: bool,
    /// Streamed copies of disjoint ranges store and write back their
    /// partial head and tail lines before the whole lines, so the
    /// write-backs overlap the streaming; PMDK: head, lines, tail.
    pub parts_first: bool,
    /// Forward streaming runs of whole lines take sixteen lines per step,
    /// all loaded before any is stored (where sixteen are left and the
    /// ranges are at least 64 lines apart); false: four. PMDK's AVX-512
    /// code takes 32 lines a step, its AVX code 8.
    pub forward_block16: bool,
}

/// Streaming copies shorter than this many lines never prefetch.
pub const PREFETCH_MIN_LINES: usize = 64;

/// PMDK's choices: for every CPU not measured otherwise.
pub const PMDK: Policy = Policy {
    name: "pmdk",
    prefetch_lines: 0,
    small_movnt: false,
    partial_movnt: false,
    shared_lines_temporal_below: 0,
    movnt_threshold: 256,
    // PMDK 2.x compiles its MOVDIR64B path but uses it only when
    // PMEM_MOVDIR64B is set non-zero; on the one Intel CPU measured
    // (bench/results/intel-xeon-avx512-movdir64b.md) it was no faster than
    // AVX-512 and slower at 2 MiB.
    movdir64b: false,
    parts_first: false,
    forward_block16: true,
};

/// AMD family 19h (Zen 3/Zen 4; measured on an EPYC, model 11h).
/// Evidence: bench/results/amd-epyc-fam19h-m11h.md and
/// bench/results/amd-epyc-fam19h-m11h-policy.md (make bench and make
/// bench-policy on that machine):
/// - small_movnt and partial_movnt: a durable 8..1024 B copy costs ~95 ns
///   streamed against ~160 ns stored and written back (~1.7x on the
///   8 B-1 KiB memcpy/memset rows, aligned and misaligned);
/// - prefetch 16 lines ahead: DRAM-sourced copies of 4 KiB+ streamed 10-15 %
///   faster on the quiet machine (commit 5a9b169); on the loaded VM the
///   64 MiB rows went either way (the -policy.md appendix). The weakest
///   entry: a quiet make bench-policy should confirm it or set 0;
/// - shared lines below 4 KiB temporal: a 64 B overlapping move took
///   ~350 ns streamed against ~170 ns stored and written back.
pub const AMD_FAM19: Policy = Policy {
    name: "amd-fam19",
    prefetch_lines: 16,
    small_movnt: true,
    partial_movnt: true,
    shared_lines_temporal_below: 4096,
    movnt_threshold: 256,
    movdir64b: false,
    // The template's order when the AMD entry was measured (PMEM_PARTS_FIRST
    // lets make bench-policy check it there).
    parts_first: true,
    // Four-line steps, as the entry was measured; sixteen (PMDK-like) await
    // a quiet make bench-policy there (variant pmdk_forward4 shows the
    // difference; with prefetch the wide steps are untested).
    forward_block16: false,
};

/// Intel family 6 with AVX-512F and MOVDIR64B: Tiger Lake and the
/// Sapphire Rapids line (Sapphire, Emerald, Granite Rapids). Measured on
/// two 2-vCPU VMs of that line, reporting models A7h and CFh:
/// bench/results/intel-xeon-fam6h-ma7h-policy.md and
/// bench/results/intel-xeon-fam6h-mcfh-policy.md (make bench-policy), with
/// make bench in bench/results/intel-xeon-fam6h-mcfh.md.
/// - Shared lines below 4 KiB temporal: overlapping moves of 256 B-1 KiB,
///   which stream from PMDK's threshold, stored and written back ran at
///   1.03-1.97 of PMDK on CFh, 1-53 % faster than streamed (+18-42 % on
///   A7h); at 4 KiB streaming wins again (a limit of 8 KiB: 0.66).
/// - Not small_movnt: streaming a lone 64 B line won on A7h (+9 %) and on
///   CFh for random pages (+45 %) and NODRAIN batches (+70 %), but lost a
///   quarter on CFh's consecutive lines (0.75), so it stays off.
/// - PMDK's order of parts and lines in streamed copies (head, lines,
///   tail) was 3-9 % faster than both parts first on CFh's misaligned
///   256 B-4 KiB copies and fills.
/// - The 2-64 MiB memcpy rows of this entry's column in the CFh report
///   (0.67-0.92) are noise from other jobs: for copies between disjoint
///   ranges the entry runs exactly PMDK's choices.
/// - Everything else stays PMDK's: partial lines streamed lost 23-45 %
///   at 256 B-1 KiB misaligned, prefetch up to 2.3x at 2-64 MiB, and
///   MOVDIR64B lost 12-17 rows by up to 18 %. That includes wide forward
///   steps (`forward_block16`, nearer PMDK's 32-line ones than four): 64
///   MiB memcpy_persist ran at 0.93-0.98 of PMDK with four-line steps and
///   0.99-1.05 with sixteen, 4 KiB-2 MiB unchanged
///   (bench/results/intel-xeon-fam6h-mcfh-inproc.md, both libraries in one
///   process; make bench-policy's pmdk_forward4 column in
///   intel-xeon-fam6h-mcfh-policy-quiet.md points the same way, within
///   its noise). Thirty-two-line steps, PMDK's own width, measured the
///   same as sixteen (0.99-1.02 from 8 KiB to 64 MiB), so the template
///   keeps sixteen, which every ISA has.
pub const INTEL_AVX512_MOVDIR64B: Policy = Policy {
    name: "intel-avx512-movdir64b",
    prefetch_lines: 0,
    small_movnt: false,
    partial_movnt: false,
    shared_lines_temporal_below: 4096,
    movnt_threshold: 256,
    movdir64b: false,
    parts_first: false,
    forward_block16: true,
};

/// Every named policy, for `PMEM_POLICY` and the benchmark.
pub const ALL: [&Policy; 3] = [&PMDK, &AMD_FAM19, &INTEL_AVX512_MOVDIR64B];

/// Features an entry requires of the CPU (none: any CPU of its families).
#[derive(Clone, Copy)]
struct Needs {
    avx512f: bool,
    movdir64b: bool,
}

const ANY: Needs = Needs {
    avx512f: false,
    movdir64b: false,
};

/// One row of the table: a vendor, a range of CPUID display families and
/// the features the CPU must have.
struct Entry {
    vendor: Vendor,
    families: core::ops::RangeInclusive<u32>,
    needs: Needs,
    policy: &'static Policy,
}

impl Entry {
    fn matches(&self, k: &Key) -> bool {
        self.vendor == k.vendor
            && self.families.contains(&k.family)
            && (!self.needs.avx512f || k.avx512f)
            && (!self.needs.movdir64b || k.movdir64b)
    }
}

/// The table. Intel family 6 spans fifteen years of cores; only those with
/// AVX-512F and MOVDIR64B (the line measured) get an entry. The first Intel
/// run (bench/results/intel-xeon-avx512-movdir64b.md, before this table)
/// showed the AMD choices losing there, so no Intel CPU gets them.
const TABLE: &[Entry] = &[
    Entry {
        vendor: Vendor::Amd,
        families: 0x19..=0x19,
        needs: ANY,
        policy: &AMD_FAM19,
    },
    Entry {
        vendor: Vendor::Intel,
        families: 6..=6,
        needs: Needs {
            avx512f: true,
            movdir64b: true,
        },
        policy: &INTEL_AVX512_MOVDIR64B,
    },
];

/// The policy for a CPU: its table entry, else PMDK's.
pub fn for_cpu(key: &Key) -> &'static Policy {
    TABLE
        .iter()
        .find(|e| e.matches(key))
        .map_or(&PMDK, |e| e.policy)
}

/// The policy named `name` (`PMEM_POLICY`), if there is one.
pub fn by_name(name: &str) -> Option<&'static Policy> {
    ALL.iter().copied().find(|p| p.name == name)
}

/// The CPUID display family: the base family, plus the extended family
/// when the base is 0xF (as both vendors define it).
pub fn display_family(leaf1_eax: u32) -> u32 {
    let base = (leaf1_eax >> 8) & 0xf;
    if base == 0xf {
        base + ((leaf1_eax >> 20) & 0xff)
    } else {
        base
    }
}

/// `policy` with the overrides in the environment applied:
/// `PMEM_POLICY=<name>` replaces it by that table policy, then
/// `PMEM_PREFETCH_LINES=N` (0-255, 0 = no prefetch),
/// `PMEM_SMALL_MOVNT=0|1`, `PMEM_PARTIAL_MOVNT=0|1`,
/// `PMEM_SHARED_TEMPORAL_BELOW=N` (bytes), `PMEM_PARTS_FIRST=0|1` and
/// `PMEM_FORWARD_BLOCK16=0|1` set one knob each. A malformed value is logged and ignored.
pub fn apply_overrides(mut policy: Policy, env: &Lookup) -> Policy {
    if let Some(name) = env("PMEM_POLICY") {
        match by_name(&name) {
            Some(p) => policy = *p,
            None => {
                let names: Vec<&str> = ALL.iter().map(|p| p.name).collect();
                crate::log_warning!(
                    "ignoring PMEM_POLICY={name:?}: expected one of {}",
                    names.join(", ")
                );
            }
        }
    }
    if let Some(n) = number(env, "PMEM_PREFETCH_LINES") {
        match u8::try_from(n) {
            Ok(n) => policy.prefetch_lines = n,
            Err(_) => crate::log_warning!("ignoring PMEM_PREFETCH_LINES={n}: at most 255"),
        }
    }
    if let Some(on) = switch(env, "PMEM_SMALL_MOVNT") {
        policy.small_movnt = on;
    }
    if let Some(on) = switch(env, "PMEM_PARTIAL_MOVNT") {
        policy.partial_movnt = on;
    }
    if let Some(n) = number(env, "PMEM_SHARED_TEMPORAL_BELOW") {
        policy.shared_lines_temporal_below = n;
    }
    if let Some(on) = switch(env, "PMEM_PARTS_FIRST") {
        policy.parts_first = on;
    }
    if let Some(on) = switch(env, "PMEM_FORWARD_BLOCK16") {
        policy.forward_block16 = on;
    }
    policy
}

/// A PMEM_* switch: Some(true) for "1", Some(false) for "0", None when
/// unset; anything else is logged and treated as unset.
pub fn switch(env: &Lookup, name: &str) -> Option<bool> {
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

/// A non-negative integer variable; anything else is logged and ignored.
pub fn number(env: &Lookup, name: &str) -> Option<usize> {
    let v = env(name)?;
    match v.trim().parse::<usize>() {
        Ok(n) => Some(n),
        Err(_) => {
            crate::log_warning!("ignoring {name}={v:?}: expected a non-negative integer");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(vendor: Vendor, family: u32, avx512f: bool, movdir64b: bool) -> Key {
        Key {
            vendor,
            family,
            avx512f,
            movdir64b,
        }
    }

    #[test]
    fn table_lookup() {
        assert_eq!(for_cpu(&key(Vendor::Amd, 0x19, false, false)), &AMD_FAM19);
        assert_eq!(for_cpu(&key(Vendor::Amd, 0x19, true, true)), &AMD_FAM19);
        assert_eq!(
            for_cpu(&key(Vendor::Intel, 6, true, true)),
            &INTEL_AVX512_MOVDIR64B
        );
        // Unmeasured families, vendors and Intel cores without both
        // features (Ice Lake: AVX-512F only; Alder Lake: MOVDIR64B only):
        // PMDK's choices.
        for k in [
            key(Vendor::Amd, 0x17, true, true),
            key(Vendor::Amd, 0x1a, true, true),
            key(Vendor::Intel, 6, true, false),
            key(Vendor::Intel, 6, false, true),
            key(Vendor::Intel, 6, false, false),
            key(Vendor::Intel, 0x13, true, true),
            key(Vendor::Other, 0x19, true, true),
            key(Vendor::Other, 6, true, true),
            Key::default(),
        ] {
            assert_eq!(for_cpu(&k), &PMDK, "{k:?}");
        }
    }

    /// PMEM_POLICY can name every entry, so make bench-policy can force it
    /// on any CPU; and PMDK's entry keeps the default threshold.
    #[test]
    fn every_entry_is_named() {
        for e in TABLE {
            assert_eq!(by_name(e.policy.name), Some(e.policy));
        }
        assert_eq!(by_name("pmdk"), Some(&PMDK));
    }

    #[test]
    fn vendor_and_family_decoding() {
        assert_eq!(Vendor::from_id(b"AuthenticAMD"), Vendor::Amd);
        assert_eq!(Vendor::from_id(b"GenuineIntel"), Vendor::Intel);
        assert_eq!(Vendor::from_id(b"HygonGenuine"), Vendor::Other);
        // EPYC 9004: family 0xF + extended 0xA = 0x19, model 0x11.
        assert_eq!(display_family(0x00a1_0f11), 0x19);
        // Sapphire Rapids: family 6 (the extended family is not added).
        assert_eq!(display_family(0x0008_06f8), 6);
    }

    #[test]
    fn names_are_unique_and_found() {
        let names: Vec<_> = ALL.iter().map(|p| p.name).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(by_name(n), Some(ALL[i]));
            assert!(!names[..i].contains(n), "duplicate name {n}");
        }
    }

    fn with(vars: &[(&str, &str)], base: Policy) -> Policy {
        apply_overrides(base, &crate::env::from_pairs(vars))
    }

    #[test]
    fn overrides() {
        assert_eq!(with(&[], AMD_FAM19), AMD_FAM19);
        assert_eq!(with(&[("PMEM_POLICY", "pmdk")], AMD_FAM19), PMDK);
        assert_eq!(with(&[("PMEM_POLICY", "amd-fam19")], PMDK), AMD_FAM19);
        assert_eq!(with(&[("PMEM_POLICY", "fast")], AMD_FAM19), AMD_FAM19);
        let p = with(
            &[
                ("PMEM_POLICY", "pmdk"),
                ("PMEM_PREFETCH_LINES", "8"),
                ("PMEM_SMALL_MOVNT", "1"),
            ],
            AMD_FAM19,
        );
        assert_eq!(
            (p.prefetch_lines, p.small_movnt, p.partial_movnt),
            (8, true, false)
        );
        let p = with(
            &[
                ("PMEM_PREFETCH_LINES", "0"),
                ("PMEM_PARTIAL_MOVNT", "0"),
                ("PMEM_SHARED_TEMPORAL_BELOW", "0"),
            ],
            AMD_FAM19,
        );
        assert_eq!(p.prefetch_lines, 0);
        assert!(!p.partial_movnt && p.small_movnt);
        assert_eq!(p.shared_lines_temporal_below, 0);
        assert!(with(&[("PMEM_PARTS_FIRST", "1")], PMDK).parts_first);
        assert!(!with(&[("PMEM_PARTS_FIRST", "0")], AMD_FAM19).parts_first);
        assert!(with(&[("PMEM_FORWARD_BLOCK16", "1")], AMD_FAM19).forward_block16);
        assert!(!with(&[("PMEM_FORWARD_BLOCK16", "0")], PMDK).forward_block16);
        // Malformed or out of range: ignored.
        let p = with(&[("PMEM_PREFETCH_LINES", "300")], AMD_FAM19);
        assert_eq!(p.prefetch_lines, 16);
        let p = with(&[("PMEM_SHARED_TEMPORAL_BELOW", "big")], AMD_FAM19);
        assert_eq!(p.shared_lines_temporal_below, 4096);
    }
}
