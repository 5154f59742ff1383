#!/bin/sh
# Builds the libFuzzer harnesses against an installed libpmem and runs each
# for a bounded time.
#
#   fuzz/run.sh PREFIX OUTDIR SECONDS
#
# PREFIX is a `make install PREFIX=...` tree (pkg-config file in lib/pkgconfig);
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
status=0
for h in map_file copy; do
	clang -O1 -g -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-I"$here" -I"$here/../c_tests/hardening" $(pkg --cflags) \
		-o "$out/fuzz_$h" "$here/fuzz_$h.c" $(pkg --libs) -Wl,-rpath,"$prefix/lib"
	mkdir -p "$out/corpus-$h"
	echo "fuzz_$h: ${seconds} s"
	if "$out/fuzz_$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/crash-$h-" \
		"$out/corpus-$h" "$here/corpus/$h" > "$out/fuzz_$h.log" 2>&1; then
		echo "fuzz_$h: $(grep -o 'number_of_executed_units: [0-9]*' "$out/fuzz_$h.log"), no failure"
	else
		tail -40 "$out/fuzz_$h.log"
		echo "fuzz_$h: FAILED (log $out/fuzz_$h.log, input $out/crash-$h-*)"
		status=1
	fi
done
exit $status
