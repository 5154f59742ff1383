//! The PMEM_* overrides, end to end: each case re-runs this test binary
//! with the variables set, and the child reports what the library chose
//! (read at load, as in a C program) and copies through the public entry
//! points on that path. The parent checks the report against
//! `Config::build` for this CPU with the same variables.

mod common;

use pmem::testing::consts::*;
use pmem::testing::cpu::{self, Config};

const CHILD: &str = "child_reports_choice_and_copies";
const REPORT: &str = "FASTPATH-DESCRIBE ";

fn report(d: &pmem::testing::persist::InstructionChoice) -> String {
    format!(
        "flush={} copy={} fence={} movnt={} threshold={} policy={}",
        d.flush, d.copy, d.fence, d.movnt, d.movnt_threshold, d.policy
    )
}

/// Runs the child with exactly `vars` among the PMEM_* variables.
fn run_child(vars: &[(&str, &str)]) -> (String, std::process::Output) {
    let mut cmd = common::self_command();
    cmd.args([
        "--ignored",
        "--exact",
        CHILD,
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, _) in std::env::vars() {
        if k.starts_with("PMEM_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(vars.iter().copied());
    let out = cmd.output().expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child with {vars:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(REPORT).map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no report from child with {vars:?}:\n{stdout}"))
        .to_string();
    (line, out)
}

fn expected(vars: &[(&str, &str)]) -> Config {
    let env = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    Config::build(&cpu::detect(), &env, &pmem::testing::sysfs::has_auto_flush)
}

#[test]
fn overrides_reach_the_library() {
    let cases: &[&[(&str, &str)]] = &[
        &[],
        &[("PMEM_AVX512F", "0")],
        &[("PMEM_AVX", "0")],
        &[("PMEM_AVX512F", "0"), ("PMEM_AVX", "0")],
        &[("PMEM_MOVDIR64B", "0")],
        &[("PMEM_MOVDIR64B", "1")],
        // Every policy of the table and every knob, each on its own and
        // against the grain of this CPU's entry: the child copies through
        // each (the differential check below).
        &[("PMEM_POLICY", "pmdk")],
        &[("PMEM_POLICY", "amd-fam19")],
        &[("PMEM_POLICY", "amd-fam19"), ("PMEM_PREFETCH_LINES", "0")],
        &[("PMEM_POLICY", "amd-fam19"), ("PMEM_PARTIAL_MOVNT", "0")],
        &[("PMEM_POLICY", "amd-fam19"), ("PMEM_SMALL_MOVNT", "0")],
        &[
            ("PMEM_POLICY", "amd-fam19"),
            ("PMEM_SHARED_TEMPORAL_BELOW", "0"),
        ],
        &[("PMEM_POLICY", "pmdk"), ("PMEM_PREFETCH_LINES", "1")],
        &[("PMEM_POLICY", "pmdk"), ("PMEM_PARTIAL_MOVNT", "1")],
        &[("PMEM_POLICY", "pmdk"), ("PMEM_SMALL_MOVNT", "1")],
        &[("PMEM_POLICY", "amd-fam19"), ("PMEM_MOVNT_THRESHOLD", "64")],
        &[("PMEM_NO_CLWB", "1")],
        &[("PMEM_NO_CLWB", "1"), ("PMEM_NO_CLFLUSHOPT", "1")],
        &[("PMEM_NO_FLUSH", "1")],
        &[("PMEM_NO_FLUSH", "0")],
        &[("PMEM_NO_MOVNT", "1")],
        &[("PMEM_MOVNT_THRESHOLD", "0")],
        &[("PMEM_MOVNT_THRESHOLD", "1024")],
        &[
            ("PMEM_NO_MOVNT", "1"),
            ("PMEM_AVX512F", "0"),
            ("PMEM_AVX", "0"),
        ],
    ];
    for vars in cases {
        let want = expected(vars);
        let (got, _) = run_child(vars);
        assert_eq!(got, report(&want.instruction_choice()), "with {vars:?}");
    }
    // The forcing must actually change something on this CPU.
    #[cfg(target_arch = "x86_64")]
    {
        let f = cpu::detect();
        let default = expected(&[]);
        if f.avx512f && !f.movdir64b {
            assert_eq!(expected(&[("PMEM_AVX512F", "0")]).isa, cpu::CopyIsa::Avx);
        }
        if f.clwb {
            assert_ne!(expected(&[("PMEM_NO_CLWB", "1")]).flush, default.flush);
        }
    }
    assert!(!expected(&[("PMEM_NO_MOVNT", "1")]).movnt);
    let pmdk = expected(&[("PMEM_POLICY", "pmdk")]);
    let amd = expected(&[("PMEM_POLICY", "amd-fam19")]);
    assert_eq!((pmdk.policy, amd.policy), ("pmdk", "amd-fam19"));
    // The forced policies are the table's, knob for knob.
    for (c, p) in [
        (&pmdk, &pmem::testing::policy::PMDK),
        (&amd, &pmem::testing::policy::AMD_FAM19),
    ] {
        assert_eq!(c.prefetch_lines, p.prefetch_lines);
        assert_eq!(c.partial_movnt, p.partial_movnt);
        // The size rules apply only where lines are written back: with
        // nothing to flush (riscv64, loongarch64) the library zeroes them.
        let sizes = c.flush != cpu::FlushKind::None;
        let want = if sizes {
            p.shared_lines_temporal_below
        } else {
            0
        };
        assert_eq!(c.shared_lines_temporal_below, want);
    }
    assert_ne!(pmdk.partial_movnt, amd.partial_movnt);
}

/// What the child reports as the policy is the one the table gives this
/// CPU when nothing is forced.
#[test]
fn default_policy_is_the_tables() {
    let f = cpu::detect();
    let (got, _) = run_child(&[]);
    let want = pmem::testing::policy::for_cpu(&cpu::policy_key(&f)).name;
    assert!(got.ends_with(&format!("policy={want}")), "{got}");
}

#[test]
fn malformed_values_are_logged_and_ignored() {
    let log = std::env::temp_dir().join(format!("fastpath-env-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let log_s = log.to_str().unwrap();
    let vars = [
        ("PMEM_MOVNT_THRESHOLD", "lots"),
        ("PMEM_NO_CLWB", "yes"),
        ("PMEM_NO_FLUSH", "2"),
        ("PMEM_POLICY", "fastest"),
        ("PMEM_PREFETCH_LINES", "many"),
        ("PMEM_LOG_FILE", log_s),
    ];
    let (got, _) = run_child(&vars);
    assert_eq!(got, report(&expected(&[]).instruction_choice()));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(text.contains("PMEM_MOVNT_THRESHOLD"), "log: {text:?}");
    assert!(text.contains("PMEM_NO_FLUSH"), "log: {text:?}");
    // An x86 switch: other architectures never read it.
    #[cfg(target_arch = "x86_64")]
    assert!(text.contains("PMEM_NO_CLWB"), "log: {text:?}");
    assert!(text.contains("PMEM_POLICY"), "log: {text:?}");
    assert!(text.contains("PMEM_PREFETCH_LINES"), "log: {text:?}");
}

/// Run by the tests above in a fresh process (ignored in normal runs).
#[test]
#[ignore = "re-executed by overrides_reach_the_library with PMEM_* set"]
fn child_reports_choice_and_copies() {
    println!(
        "{REPORT}{}",
        report(&pmem::testing::persist::instruction_choice())
    );
    let src: Vec<u8> = (0..80_000u32).map(|i| (i ^ (i >> 8)) as u8).collect();
    let mut dst = vec![0u8; 80_100];
    let flag_sets = [
        0,
        PMEM_F_MEM_NODRAIN,
        PMEM_F_MEM_NONTEMPORAL,
        PMEM_F_MEM_TEMPORAL,
        PMEM_F_MEM_WC,
        PMEM_F_MEM_WB,
        PMEM_F_MEM_NOFLUSH,
        PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_NODRAIN,
    ];
    for flags in flag_sets {
        for len in [
            0, 1, 8, 63, 64, 65, 192, 255, 256, 257, 1024, 4100, 5000, 70_000,
        ] {
            for (d, s) in [(0, 0), (1, 0), (8, 40), (63, 5)] {
                dst.fill(0xee);
                // SAFETY: both ranges lie inside the vectors.
                unsafe {
                    pmem::testing::memops::memmove(
                        dst[d..].as_mut_ptr(),
                        src[s..].as_ptr(),
                        len,
                        flags,
                    )
                };
                pmem::testing::persist::drain();
                assert_eq!(
                    &dst[d..d + len],
                    &src[s..s + len],
                    "flags {flags:#x} len {len}"
                );
                assert!(dst[..d].iter().chain(&dst[d + len..]).all(|&b| b == 0xee));
                // SAFETY: the range lies inside the vector.
                unsafe { pmem::testing::memops::memset(dst[d..].as_mut_ptr(), 0x11, len, flags) };
                pmem::testing::persist::drain();
                assert!(dst[d..d + len].iter().all(|&b| b == 0x11));
                assert!(dst[..d].iter().chain(&dst[d + len..]).all(|&b| b == 0xee));
            }
            // Overlapping moves, both directions (the shared-lines path).
            for (from, to) in [(0, 24), (24, 0), (3, 64), (64, 3)] {
                if len + from.max(to) > dst.len() {
                    continue;
                }
                dst[..len + 64].copy_from_slice(&src[..len + 64]);
                let mut want = dst.clone();
                want.copy_within(from..from + len, to);
                // SAFETY: both ranges lie inside the vector; overlap is allowed.
                unsafe {
                    let base = dst.as_mut_ptr();
                    pmem::testing::memops::memmove(base.add(to), base.add(from), len, flags)
                };
                pmem::testing::persist::drain();
                assert!(dst == want, "flags {flags:#x} len {len} move {from}->{to}");
            }
        }
    }
}
