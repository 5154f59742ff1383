//! `cpu::Config::build` as x86_64 CPUs meet it: the PMEM_* switches of
//! the x86 write-backs and copy paths, and the policy table keyed by CPUID
//! vendor, family and features.

use crate::cpu::*;
use crate::policy::Vendor;

use super::ALL;

/// ALL, made by Intel: family 6 with AVX-512F and MOVDIR64B.
const INTEL: Features = Features {
    vendor: Vendor::Intel,
    family: 6,
    ..ALL
};

/// An Intel family 6 core without MOVDIR64B (no table entry).
const INTEL_OLDER: Features = Features {
    movdir64b: false,
    ..INTEL
};

fn build(f: &Features, vars: &[(&str, &str)], auto_flush: bool) -> Config {
    Config::build(f, &crate::env::from_pairs(vars), &|| Ok(auto_flush))
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
    assert!(!c.instruction_choice().fence || c.movnt);
}

#[test]
fn policy_from_the_table() {
    let amd = build(&ALL, &[], false);
    assert_eq!(amd.policy, "amd-fam19");
    assert!(amd.small_movnt && amd.partial_movnt && amd.parts_first && !amd.forward_block16);
    assert_eq!(
        (amd.prefetch_lines, amd.shared_lines_temporal_below),
        (16, 4096)
    );
    // Intel with AVX-512F and MOVDIR64B: short moves that share lines
    // temporal, nothing else changed.
    let intel = build(&INTEL, &[], false);
    assert_eq!(intel.policy, "intel-avx512-movdir64b");
    assert!(!intel.small_movnt && !intel.partial_movnt && !intel.parts_first);
    assert!(intel.forward_block16);
    assert_eq!(
        (intel.prefetch_lines, intel.shared_lines_temporal_below),
        (0, 4096)
    );
    assert_eq!(intel.isa, CopyIsa::Avx512f);
    // Other Intel and unknown CPUs: PMDK's choices.
    for f in [
        INTEL_OLDER,
        Features {
            avx512f: false,
            ..INTEL
        },
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
    assert_eq!(c.instruction_choice().policy, "pmdk");
    assert!(!c.small_movnt && !c.partial_movnt);
    let c = build(&INTEL_OLDER, &[("PMEM_SMALL_MOVNT", "1")], false);
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
    // The shared-lines rule goes with the policy's other size rules.
    for vars in [[("PMEM_NO_FLUSH", "1")], [("PMEM_MOVNT_THRESHOLD", "256")]] {
        for f in [ALL, INTEL] {
            assert_eq!(build(&f, &vars, false).shared_lines_temporal_below, 0);
        }
    }
    let c = build(&ALL, &[("PMEM_NO_MOVNT", "1")], false);
    assert!(!c.movnt);
    assert!(!c.instruction_choice().movnt);
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
