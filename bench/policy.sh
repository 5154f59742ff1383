#!/bin/bash
# `make bench-policy`: our library under each alternative copy policy
# (src/policy.rs) against PMDK, in the same alternating rounds, with a
# per-row verdict of which choice wins. Runs bench/run.sh with
# BENCH_VARIANTS; see bench/README.md.
#
# Environment: as bench/run.sh (BENCH_QUICK=1 for a ~2-minute run;
# default 5 rounds, ~6 minutes), plus BENCH_POLICY_EXTRA="label:VAR=v,..."
# for more variants. The report goes to build/bench/policy.md (BENCH_OUT).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# The named policies of src/policy.rs (policy::ALL), then each knob of the
# AMD entry alone on top of PMDK's choices, and the AMD entry without its
# shared-lines rule. `pmdk_choices` is the base every verdict compares with.
variants=(
	"pmdk_choices:PMEM_POLICY=pmdk"
	"amd_fam19:PMEM_POLICY=amd-fam19"
	"intel_avx512_movdir64b:PMEM_POLICY=intel-avx512-movdir64b"
	"pmdk_prefetch16:PMEM_POLICY=pmdk,PMEM_PREFETCH_LINES=16"
	"pmdk_small_movnt:PMEM_POLICY=pmdk,PMEM_SMALL_MOVNT=1,PMEM_SHARED_TEMPORAL_BELOW=4096"
	"pmdk_partial_movnt:PMEM_POLICY=pmdk,PMEM_PARTIAL_MOVNT=1"
	"pmdk_parts_first:PMEM_POLICY=pmdk,PMEM_PARTS_FIRST=1"
	"pmdk_forward4:PMEM_POLICY=pmdk,PMEM_FORWARD_BLOCK16=0"
	"amd_no_shared_rule:PMEM_POLICY=amd-fam19,PMEM_SHARED_TEMPORAL_BELOW=0"
)
# MOVDIR64B only where the CPU has it (CPUID.7.0:ECX[28], "movdir64b").
if grep -q -m1 -w movdir64b /proc/cpuinfo; then
	variants+=("pmdk_movdir64b:PMEM_POLICY=pmdk,PMEM_MOVDIR64B=1")
fi
# shellcheck disable=SC2206 # space-separated on purpose
variants+=(${BENCH_POLICY_EXTRA:-})

quick=${BENCH_QUICK:-0}
if [ "$quick" != 0 ] && [ -n "$quick" ]; then
	export BENCH_ROUNDS=${BENCH_ROUNDS:-3}
else
	export BENCH_ROUNDS=${BENCH_ROUNDS:-5} BENCH_FIO_SECS=${BENCH_FIO_SECS:-4}
fi
BENCH_VARIANTS="${variants[*]}" exec "$here/run.sh"
