#!/bin/sh
# Builds the libFuzzer harnesses and runs each for a bounded time.
#
#   fuzz/run.sh PREFIX OUTDIR SECONDS
#
# PREFIX is a `make install PREFIX=...` tree (pkg-config file in lib/pkgconfig).
# By default the harnesses link a libpmem.a that cargo builds from this tree
# with SanitizerCoverage (OUTDIR/cov-target), so libFuzzer is guided by the
# Rust code's branches and comparisons, not only the harness's; the library
# is still not ASan-instrumented (that needs a nightly rustc).
# FUZZ_RUST_COVERAGE=0 links the installed libpmem.so instead.
#
# OUTDIR receives the binaries, the growing corpora (kept between runs) and
# any crashing input (crash-<harness>-*). The committed seeds in
# fuzz/corpus/<harness> are read, never written. Exits non-zero if any
# harness found a failure.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 PREFIX OUTDIR SECONDS" >&2; exit 2; }
prefix=$1 out=$2 seconds=$3
here=$(cd "$(dirname "$0")" && pwd)
pkg() { PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config "$@" libpmem; }

mkdir -p "$out/tmp"
export TMPDIR="$out/tmp"

if [ "${FUZZ_RUST_COVERAGE:-1}" = 1 ]; then
	# --target keeps RUSTFLAGS off build scripts and proc macros.
	triple=$(rustc -vV | sed -n 's/^host: //p')
	sancov="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=3"
	sancov="$sancov -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
	sancov="$sancov -Cllvm-args=-sanitizer-coverage-pc-table"
	sancov="$sancov -Cllvm-args=-sanitizer-coverage-trace-compares"
	RUSTFLAGS="$sancov" CARGO_TARGET_DIR="$out/cov-target" \
		cargo build --quiet --release --lib --target "$triple" \
		--manifest-path "$here/../Cargo.toml"
	link="$out/cov-target/$triple/release/libpmem.a $(pkg --static --libs-only-l | sed 's/-lpmem//')"
else
	link="$(pkg --libs) -Wl,-rpath,$prefix/lib"
fi

status=0
for h in map_file copy; do
	clang -O1 -g -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-I"$here" $(pkg --cflags) \
		-o "$out/fuzz_$h" "$here/fuzz_$h.c" "$here/../c_tests/lib/check.c" $link
	mkdir -p "$out/corpus-$h"
	echo "fuzz_$h: ${seconds} s"
	# The harnesses count open descriptors around every call, so nothing of
	# libFuzzer's may open one behind their back: -rss_limit_mb=0 stops its
	# RSS thread (it reads /proc/self/statm every second) and -print_funcs=0
	# its NEW_FUNC lines (symbolizing them starts llvm-symbolizer on two pipes).
	if "$out/fuzz_$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=0 -print_funcs=0 \
		-print_final_stats=1 -artifact_prefix="$out/crash-$h-" \
		"$out/corpus-$h" "$here/corpus/$h" > "$out/fuzz_$h.log" 2>&1; then
		echo "fuzz_$h: $(grep -o 'number_of_executed_units: [0-9]*' "$out/fuzz_$h.log")," \
			"$(grep -o 'cov: [0-9]*' "$out/fuzz_$h.log" | tail -1), no failure"
	else
		tail -40 "$out/fuzz_$h.log"
		echo "fuzz_$h: FAILED (log $out/fuzz_$h.log, input $out/crash-$h-*)"
		status=1
	fi
done
exit $status
