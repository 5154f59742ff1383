#!/bin/bash
# `make bench`: our libpmem.so.1 against Debian's PMDK libpmem, alternating
# runs (PMDK, ours, PMDK, ours, ...) so drift on a shared machine hits both
# alike; then fio's libpmem engine, alternating the same way; then
# bench/results/<cpu>.md and .png.  See bench/README.md.
#
# Environment:
#   BENCH_QUICK=1    ~1 minute development run (2 rounds, short batches)
#   BENCH_ROUNDS=N   rounds (one run per library each); default 15, quick 2
#   BENCH_OURS=PATH  our libpmem.so.1 (default: build/libpmem.so.1)
#   BENCH_PMDK=PATH  PMDK's (default: /usr/lib/x86_64-linux-gnu/libpmem.so.1)
#   BENCH_DIR=DIR    where the benchmark files live (default: /dev/shm)
#   BENCH_OUT=FILE   the report (default bench/results/<cpu>.md, the plot
#                    next to it; with variants build/bench/policy.md)
#   BENCH_VARIANTS="label:VAR=v,VAR=v label2:..."  run our library once per
#                    variant (label: letters, digits, _) with those variables
#                    set, each round after PMDK's run; more than one variant
#                    gives the per-row verdict report (bench/policy.sh)
#   BENCH_FIO_SECS=N seconds per fio run (default 8, quick 2)
#   BENCH_FIO_RUNS=N fio runs per library and block size (default 3, quick 1)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
ours=${BENCH_OURS:-$root/build/libpmem.so.1}
pmdk=${BENCH_PMDK:-/usr/lib/x86_64-linux-gnu/libpmem.so.1}
dir=${BENCH_DIR:-/dev/shm}
quick=${BENCH_QUICK:-0}
if [ "$quick" != 0 ] && [ -n "$quick" ]; then
	quick=1 mode=quick rounds=${BENCH_ROUNDS:-2} batch_ms=3 fio_secs=${BENCH_FIO_SECS:-2} fio_runs=${BENCH_FIO_RUNS:-1}
else
	quick=0 mode=full rounds=${BENCH_ROUNDS:-15} batch_ms=10 fio_secs=${BENCH_FIO_SECS:-8} fio_runs=${BENCH_FIO_RUNS:-3}
fi
work=$root/build/bench
raw=$work/raw
mkdir -p "$work"

# Our library's variants: label and the variables it runs with.
read -r -a variants <<< "${BENCH_VARIANTS:-ours:}"
labels=()
for v in "${variants[@]}"; do
	label=${v%%:*}
	[[ $label =~ ^[A-Za-z0-9_]+$ ]] && [ "$label" != pmdk ] ||
		{ echo "bench: bad variant label '$label' in BENCH_VARIANTS" >&2; exit 1; }
	labels+=("$label")
done
policy_mode=0
[ ${#labels[@]} -gt 1 ] && policy_mode=1
# The CPU as a file name: model name, display family and model (hex).
cpu_slug() {
	local name fam model
	name=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 |
		sed -e 's/([RrTtMm]*)//g' -e 's/CPU//g; s/Processor//g; s/@.*//' |
		tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//')
	fam=$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1)
	model=$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1)
	printf '%s-fam%xh-m%xh\n' "${name:-cpu}" "${fam:-0}" "${model:-0}"
}
if [ $policy_mode = 1 ]; then
	out=${BENCH_OUT:-$work/policy.md}
else
	out=${BENCH_OUT:-$here/results/$(cpu_slug).md}
fi
mkdir -p "$(dirname "$out")"
out=$(realpath "$out")
png=${out%.md}.png

die() { echo "bench: $*" >&2; exit 1; }

# What `make bench` needs; installed here when missing and we are root.
need_pkgs=()
need() { command -v "$1" > /dev/null 2>&1 || need_pkgs+=("$2"); }
need cc gcc
need fio fio
need gnuplot gnuplot-nox
need python3 python3
[ -e /usr/include/libpmem.h ] || need_pkgs+=(libpmem-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
		echo "bench: installing ${need_pkgs[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_pkgs[@]}" > "$work/apt.log" 2>&1 ||
			{ apt-get update > /dev/null 2>&1 &&
			  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_pkgs[@]}"; } ||
			die "could not install ${need_pkgs[*]}"
	else
		die "missing ${need_pkgs[*]}: apt-get install ${need_pkgs[*]}"
	fi
fi

[ -e "$ours" ] || die "$ours not found: run 'make' first"
[ -e "$pmdk" ] || die "$pmdk not found: apt-get install libpmem1"
[ "$(basename "$ours")" = libpmem.so.1 ] ||
	die "BENCH_OURS must name a file called libpmem.so.1 (it is found by soname)"
ours=$(realpath "$ours") ours_dir=$(dirname "$ours")
[ -e "$ours_dir/libpmem.so.1" ] || die "$ours_dir/libpmem.so.1 missing"
pmdk=$(realpath "$pmdk")

rm -rf "$raw"
mkdir -p "$raw"
# Built against the installed <libpmem.h>; linked with -lpmem (Debian's),
# switched to ours at run time through the dynamic linker.
cc -O2 -g -Wall -Wextra -o "$work/pmembench" "$here/pmembench.c" -lpmem

export PMEM_IS_PMEM_FORCE=1 # both libraries take their pmem (flush) paths
# The variables of variant $1 (VAR=v words; none for pmdk).
variant_env() {
	local v
	[ "$1" = pmdk ] && return 0
	for v in "${variants[@]}"; do
		if [ "${v%%:*}" = "$1" ]; then
			v=${v#*:}
			[ -n "$v" ] && echo "${v//,/ }"
			return 0
		fi
	done
}
# Run "$@" with library $1 (pmdk, or one of our variants' labels) serving
# libpmem.so.1; ours with its variant's variables. Our PMEM_* knobs never
# reach PMDK's runs (it reads some of the same names).
with_lib() {
	local lib=$1
	shift
	if [ "$lib" != pmdk ]; then
		# shellcheck disable=SC2046 # VAR=v words, split on purpose
		env $(variant_env "$lib") \
			LD_LIBRARY_PATH="$ours_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"
	else
		env -u LD_LIBRARY_PATH -u LD_PRELOAD "$@"
	fi
}
lib_path() { if [ "$1" != pmdk ]; then echo "$ours"; else echo "$pmdk"; fi; }

# The verdict report compares library rows only; the ceiling and floor
# rows (which no library variable changes) are skipped there.
skip=()
[ $policy_mode = 1 ] && skip=(--skip-machine)
start=$(date +%s)
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench: $rounds rounds x (PMDK, ${labels[*]}), batches of ${batch_ms} ms, files in $dir"
for round in $(seq 1 "$rounds"); do
	for lib in pmdk "${labels[@]}"; do
		printf 'bench: round %s/%s %-16s ... ' "$round" "$rounds" "$lib"
		t0=$(date +%s)
		with_lib "$lib" "$work/pmembench" --dir "$dir" --expect "$(lib_path "$lib")" \
			--batch-ms "$batch_ms" "${skip[@]}" > "$raw/run-$round-$lib.tsv" ||
			die "pmembench failed under $lib (see above)"
		echo "$(($(date +%s) - t0)) s"
	done
done

# fio: libpmem engine, sequential writes of non-temporal copies (direct=1);
# fio_runs alternating runs per library, the report takes the median.
for lib in pmdk "${labels[@]}"; do
	# The engine's libpmem.so.1 must be the intended one.
	got=$(with_lib "$lib" ldd "$(command -v fio)" | awk '$1 == "libpmem.so.1" { print $3 }')
	[ "$(realpath "$got")" = "$(lib_path "$lib")" ] ||
		die "fio would load $got, not $(lib_path "$lib")"
done
for bs in 4k 256k; do
	for run in $(seq 1 "$fio_runs"); do
		for lib in pmdk "${labels[@]}"; do
			printf 'bench: fio bs=%-4s run %s/%s %-16s ... ' "$bs" "$run" "$fio_runs" "$lib"
			file=$dir/pmembench-fio.$$
			if with_lib "$lib" fio --name=pmem --ioengine=libpmem --filename="$file" \
				--size=256M --rw=write --bs="$bs" --direct=1 --iodepth=1 --time_based \
				--runtime="$fio_secs" --output-format=json \
				> "$raw/fio-$bs-$lib-$run.json" 2> "$raw/fio-$bs-$lib-$run.err"; then
				echo ok
			else
				echo "failed (recorded in the report)"
			fi
			rm -f "$file"
		done
	done
done

{
	echo "cpu	$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "cpu_id	$(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo | head -1) family $(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1) model $(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "load	$(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min load average at the end; $(nproc) CPUs)"
	echo "load_start	$load_start"
	echo "variants	${variants[*]}"
	echo "cpu_flags	$(grep -m1 -o -w -E 'avx512f|clwb|clflushopt|movdir64b' /proc/cpuinfo | sort -u | tr '\n' ' ')"
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "kernel	$(uname -r)"
	echo "l3	$(cat /sys/devices/system/cpu/cpu0/cache/index3/size 2> /dev/null || echo unknown)"
	echo "rounds	$rounds"
	echo "mode	$mode"
	echo "batch_ms	$batch_ms"
	echo "fio_secs	$fio_secs"
	echo "fio_runs	$fio_runs"
	echo "fio	$(fio --version)"
	echo "dir	$dir ($(stat -f -c %T "$dir"))"
	echo "root	$root"
	echo "ours	$ours"
	echo "pmdk	$pmdk"
	echo "elapsed_s	$(($(date +%s) - start))"
} > "$raw/meta.tsv"

if [ $policy_mode = 1 ]; then
	python3 -B "$here/policy_report.py" "$raw" "$out"
	cat "$out"
	echo "bench: wrote $out in $(($(date +%s) - start)) s"
	exit 0
fi
python3 -B "$here/report.py" "$raw" "$out" "$work/plot.dat"
subtitle="$(sed -n 's/^cpu\t//p' "$raw/meta.tsv"), $(sed -n 's/^date\t//p' "$raw/meta.tsv"), $mode mode"
subtitle=${subtitle//\'/} # it goes inside a gnuplot string
gnuplot -e "datafile='$work/plot.dat'; outfile='$png'; subtitle='$subtitle'" "$here/plot.gp"

# Hook: the inline-header benchmark appends its own table when present.
status=0
if [ -e "$here/inline/run.sh" ]; then
	echo "bench: running bench/inline/run.sh"
	# It gets the same mode and the two verified library paths.
	if inline_out=$(BENCH_QUICK=$quick BENCH_OURS=$ours BENCH_PMDK=$pmdk bash "$here/inline/run.sh"); then
		printf '\n%s\n' "$inline_out" >> "$out"
	else
		printf '\n## Inline header benchmark\n\nbench/inline/run.sh failed; see the make output.\n' \
			>> "$out"
		status=1
	fi
fi
echo "bench: wrote $out and $png in $(($(date +%s) - start)) s"
exit $status
