#!/bin/sh
# Differential conformance of the mapping surface: builds
# c_tests/conformance/conformance.c once against <libpmem.h>, runs it under
# Debian's PMDK libpmem and under ours (LD_LIBRARY_PATH=$ROOT/build), in
# three PMEM_IS_PMEM_FORCE settings, with PMEM_MMAP_HINT and with errors
# logged, and diffs.
# Differences are allowed only where tests/conformance-differences.txt
# lists them (the case label, then the reason); anything else fails.
#
# usage: tests/conformance.sh [ROOT]   (ROOT: the source tree, built)
set -eu

ROOT=$(cd "${1:-$(dirname "$0")/..}" && pwd)
PMDK_LIB=${PMDK_LIB:-/usr/lib/x86_64-linux-gnu/libpmem.so.1}
OURS=$ROOT/build/libpmem.so.1
ALLOWED=$ROOT/tests/conformance-differences.txt
CC=${CC:-cc}

[ -e "$PMDK_LIB" ] || { echo "conformance: $PMDK_LIB missing (apt-get install libpmem1)"; exit 1; }
[ -e "$OURS" ] || { echo "conformance: $OURS missing (run make)"; exit 1; }

TMP=$(mktemp -d /tmp/pmem-conformance.XXXXXX)
MOUNTS=""
cleanup() {
	for m in $MOUNTS; do umount "$m" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
# A signal (a closed pipe included) must still unmount the tmpfs mounts.
trap 'exit 1' HUP INT PIPE TERM

# Compiled once, against our header, linked by soname only: the loader
# picks the library at run time.
mkdir -p "$TMP/pmdklib"
ln -s "$PMDK_LIB" "$TMP/pmdklib/libpmem.so.1"
ln -s "$PMDK_LIB" "$TMP/pmdklib/libpmem.so"
$CC -std=gnu11 -Wall -Wextra -Werror -O1 -I"$ROOT/include" \
	-o "$TMP/conformance" "$ROOT/c_tests/conformance/conformance.c" \
	-L"$ROOT/build" -lpmem

run() { # name libdir env...
	name=$1 libdir=$2
	shift 2
	mkdir -p "$TMP/$name-work" "$TMP/$name-tmpfs"
	# A 1 MiB tmpfs for the out-of-space cases, where we may mount one.
	tmpfs=""
	if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m tmpfs "$TMP/$name-tmpfs" 2>/dev/null; then
		MOUNTS="$MOUNTS $TMP/$name-tmpfs"
		tmpfs=$TMP/$name-tmpfs
	fi
	rc=0
	env PMEM_LOG_LEVEL=0 "$@" LD_LIBRARY_PATH="$libdir" \
		"$TMP/conformance" "$TMP/$name-work" $tmpfs \
		>"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
	if [ $rc != 0 ]; then
		echo "conformance: $name exited with $rc"; cat "$TMP/$name.err"; exit 1
	fi
}

# Labels of the allowed differences (up to " -- ").
awk -F ' -- ' '!/^#/ && NF > 1 { print $1 }' "$ALLOWED" | sort -u >"$TMP/allowed"

status=0
for config in plain force1 force0 hint logging; do
	case $config in
	plain) set -- ;;
	force1) set -- PMEM_IS_PMEM_FORCE=1 ;;
	force0) set -- PMEM_IS_PMEM_FORCE=0 ;;
	hint) set -- PMEM_MMAP_HINT=0x10000000000 ;;
	# Errors logged (our default threshold): logging must not change errno.
	logging) set -- PMEM_LOG_LEVEL=warning ;;
	esac
	run "pmdk-$config" "$TMP/pmdklib" "$@"
	run "ours-$config" "$ROOT/build" "$@"
	cases=$(grep -c '' "$TMP/pmdk-$config.out")
	# Compare per case: a case is a line starting in column 0 plus the
	# indented lines after it.
	for side in pmdk ours; do
		awk '/^[^ ]/ { label = $0; sub(/:.*| = .*/, "", label) } { print label "\t" $0 }' \
			"$TMP/$side-$config.out" >"$TMP/$side-$config.keyed"
	done
	diff "$TMP/pmdk-$config.keyed" "$TMP/ours-$config.keyed" >"$TMP/$config.diff" || true
	grep '^[<>]' "$TMP/$config.diff" | cut -c3- | cut -f1 | sort -u >"$TMP/$config.labels"
	cut -f1 "$TMP/pmdk-$config.keyed" | sort -u >"$TMP/$config.present"
	unexpected=$(comm -23 "$TMP/$config.labels" "$TMP/allowed")
	# Listed, run, yet identical: the improvement is gone.
	stale=$(comm -12 "$TMP/allowed" "$TMP/$config.present" | comm -23 - "$TMP/$config.labels")
	allowed=$(comm -12 "$TMP/$config.labels" "$TMP/allowed" | wc -l)
	ncases=$(wc -l <"$TMP/$config.present")
	if [ -n "$unexpected" ]; then
		echo "conformance [$config]: UNEXPECTED differences (PMDK <, ours >):"
		echo "$unexpected" | while IFS= read -r l; do
			grep -F "$l	" "$TMP/$config.diff" | grep '^[<>]' | sed 's/\t/ | /'
		done
		status=1
	fi
	if [ -n "$stale" ]; then
		echo "conformance [$config]: listed differences no longer present:"
		echo "$stale" | sed 's/^/  /'
		status=1
	fi
	if [ -z "$unexpected" ] && [ -z "$stale" ]; then
		echo "conformance [$config]: $ncases cases ($cases lines) match PMDK but for $allowed listed deliberate difference(s)"
	fi
done
[ "${CONFORMANCE_SHOW:-}" ] && for f in "$TMP"/*.diff; do echo "== $f"; cat "$f"; done
exit $status
