#!/usr/bin/env bash
# make check-cross: libpmem for other architectures, with Debian's packages
# only (rustc-web, cargo-web and rust-web-src for Rust 1.96 and the std
# sources; gcc-<gnu> and libc6-dev-<arch>-cross; qemu-user). For each target:
#   1. libpmem.so.1 linked by the Makefile's own rule with the cross gcc
#      (same version script), its exported symbols checked with the cross
#      binutils (tests/check-abi.sh);
#   2. the crate's Rust tests, run under qemu-user;
#   3. the C test programs (c_tests/test_*.c: map/copy/persist, the memops
#      differential, error paths), built with the cross gcc against that
#      libpmem.so.1 and run under qemu-user.
# loongarch64 is only type-checked: Debian 12 has no cross C library for it.
#
#   tests/cross/run.sh [TARGET...]     default: all; names as in the table
#
# One line per target, then "N passed, N failed" (targets). Logs in
# target/cross/<name>/log. aarch64 runs under qemu's cortex-a57, which lacks
# DCPOP, so the DC CVAC path is what runs (qemu 7.2 raises SIGILL on DC CVAP
# even where it advertises DCPOP); src/arch/aarch64.rs tests the CVAP choice
# with injected HWCAP words.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

# name  rust-triple  gnu-prefix  qemu-command
TABLE="
aarch64     aarch64-unknown-linux-gnu      aarch64-linux-gnu      qemu-aarch64 -cpu cortex-a57
ppc64le     powerpc64le-unknown-linux-gnu  powerpc64le-linux-gnu  qemu-ppc64le
riscv64     riscv64gc-unknown-linux-gnu    riscv64-linux-gnu      qemu-riscv64
i686        i686-unknown-linux-gnu         i686-linux-gnu         qemu-i386
loongarch64 loongarch64-unknown-linux-gnu  -                      -
"
# Tests of what qemu-user does not do as Linux does: it places shared file
# mappings where it likes, ignoring the address hint that 2 MiB alignment
# relies on (the library then keeps the kernel's placement, as designed).
QEMU_SKIPS=(
	map::mmap::tests::large_mappings_start_on_large_page_boundaries
	map::tests::create_sizes_allocates_and_honours_mode
	# Counts msync calls with an LD_PRELOAD shim built by the host's cc;
	# under qemu-user LD_PRELOAD reaches qemu itself, not the guest.
	persists_through_msync_unless_pmem
)
# And on i686 only: qemu-user reserves a 32-bit guest's whole address space,
# so msync of a page the program never mapped succeeds instead of ENOMEM;
# and it places the guest at an offset in its own address space without
# translating /proc/self/pagemap reads, so the pages fit mode finds present
# are the wrong ones.
# The pmem_attr.h layout test compiles with the host's cc (x86_64), whose
# layout is the LP64 targets' but not i686's.
declare -A TARGET_SKIPS=(
	[i686]="map::platform::tests::deep_drain_of_page_cache_and_unmapped_ranges_is_msync
		mode::fit::lines::tests::written_pages_skip_untouched_pages_of_large_ranges
		pmem_attr_h_matches_the_rust_struct"
)
RUSTC_WEB=${RUSTC_WEB:-/usr/bin/rustc}
CARGO_WEB=${CARGO_WEB:-/usr/bin/cargo}
BUILD_STD=-Zbuild-std=std,panic_abort

# A missing toolchain ends the check: a named skip, or a failure under CI=true.
missing() {
	c_tests/lib/testlib.sh skip check-cross \
		"$1 is missing (apt-get install rustc-web cargo-web rust-web-src qemu-user and the cross gcc)"
	exit
}
[ -x "$RUSTC_WEB" ] || missing "$RUSTC_WEB (rustc-web)"
[ -x "$CARGO_WEB" ] || missing "$CARGO_WEB (cargo-web)"
[ -d "$("$RUSTC_WEB" --print sysroot)/lib/rustlib/src/rust/library" ] || missing "the std sources (rust-web-src)"

# cargo for TRIPLE, with Debian's toolchain and its own target directory.
xcargo() {
	local triple=$1 dir=$2; shift 2
	env RUSTC="$RUSTC_WEB" RUSTDOC="${RUSTC_WEB%rustc}rustdoc" RUSTC_BOOTSTRAP=1 \
		CARGO_TARGET_DIR="$dir" CARGO_BUILD_TARGET="$triple" "$CARGO_WEB" "$@"
}

# Sums "test result: ok. N passed" lines.
rust_passed() { sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$1" | awk '{ s += $1 } END { print s + 0 }'; }

# target NAME TRIPLE GNU QEMU...: the whole check of one target; prints its line.
target() {
	local name=$1 triple=$2 gnu=$3; shift 3
	local qemu=("$@")
	local dir=$root/target/cross/$name
	local build=$root/build/cross/$name
	local log=$dir/log
	mkdir -p "$dir" "$build"
	: >"$log"
	local start=$SECONDS step
	# shellcheck disable=SC2206 # the extra skips are words
	local skips=("${QEMU_SKIPS[@]}" ${TARGET_SKIPS[$name]:-})

	if [ "$gnu" = - ]; then
		step="cargo check (no cross C library to link with)"
		if xcargo "$triple" "$dir" check --lib --tests \
			--config 'profile.dev.panic="unwind"' -Zbuild-std=std,panic_unwind >>"$log" 2>&1; then
			echo "PASS: $name: cargo check of the library and its tests ($((SECONDS - start)) s; check only)"
			return 0
		fi
		echo "FAIL: $name: $step; see $log"; tail -20 "$log" | sed 's/^/    | /'
		return 1
	fi
	for tool in "$gnu-gcc" "$gnu-objdump" "${qemu[0]}"; do
		command -v "$tool" >/dev/null || {
			echo "FAIL: $name: $tool is missing (.ci/run installs it)"; return 1; }
	done
	[ -d "/usr/$gnu/lib" ] || { echo "FAIL: $name: /usr/$gnu/lib is missing (libc6-dev-*-cross)"; return 1; }

	local upper=${triple^^}; upper=${upper//-/_}
	local runner="${qemu[*]} -L /usr/$gnu -E LD_LIBRARY_PATH=$build:/usr/$gnu/lib"
	# Without -E LD_LIBRARY_PATH qemu mixes the cross loader with the host's
	# multiarch libc, and threaded programs hang.
	export "CARGO_TARGET_${upper}_LINKER=$gnu-gcc" "CARGO_TARGET_${upper}_RUNNER=$runner"

	step="libpmem.so.1 (the Makefile's link rule, $gnu-gcc)"
	local rust_lib=$dir/$triple/release/libpmem.a
	local cargo_cmd="env RUSTC=$RUSTC_WEB RUSTDOC=${RUSTC_WEB%rustc}rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$dir CARGO_BUILD_TARGET=$triple $CARGO_WEB $BUILD_STD"
	if ! make --no-print-directory BUILD="$build" RUST_LIB="$rust_lib" CC="$gnu-gcc" \
		CARGO="$cargo_cmd" "$build/libpmem.so" >>"$log" 2>&1; then
		echo "FAIL: $name: $step; see $log"; tail -20 "$log" | sed 's/^/    | /'; return 1
	fi
	local so
	so=$(readlink -f "$build/libpmem.so")

	step="exported symbols ($gnu-objdump -T)"
	local abi
	if ! abi=$(OBJDUMP=$gnu-objdump READELF=$gnu-readelf tests/check-abi.sh "$so" 2>&1); then
		echo "$abi" >>"$log"
		echo "FAIL: $name: $step"; echo "$abi" | sed 's/^/    | /'; return 1
	fi
	echo "$abi" >>"$log"

	step="Rust tests under ${qemu[*]}"
	local rlog=$dir/rust-tests.log
	# As natively, tests run with unwinding (the harness catches a failed
	# test's panic in process; with -Zpanic-abort-tests it would exec
	# itself per test, which qemu-user cannot), so std is built for that
	# too. Tests that re-run their own binary do so under CROSS_TEST_RUNNER.
	CROSS_TEST_RUNNER="$runner" xcargo "$triple" "$dir" test --release -p libpmem \
		--config 'profile.release.panic="unwind"' -Zbuild-std=std,panic_unwind \
		-- "${skips[@]/#/--skip=}" >"$rlog" 2>&1
	local rc=$?
	cat "$rlog" >>"$log"
	if [ $rc != 0 ]; then
		echo "FAIL: $name: $step; see $rlog"
		grep -E '^(test .* FAILED|failures:|error)|panicked' "$rlog" | head -20 | sed 's/^/    | /'
		return 1
	fi
	local rust_n
	rust_n=$(rust_passed "$rlog")

	step="C tests under ${qemu[*]}"
	local c_pass=0 c_fail=0 src bin
	for src in c_tests/test_*.c; do
		bin=$build/$(basename "$src" .c)
		if ! "$gnu-gcc" -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -Iinclude \
			-o "$bin" "$src" c_tests/lib/check.c -L"$build" -lpmem >>"$log" 2>&1; then
			echo "    | $(basename "$src"): does not compile"; c_fail=$((c_fail + 1)); continue
		fi
		# CROSS_TEST_RUNNER: how the programs that re-run themselves do so.
		if CROSS_TEST_RUNNER="$runner" timeout 600 "${qemu[@]}" -L "/usr/$gnu" \
			-E "LD_LIBRARY_PATH=$build:/usr/$gnu/lib" -E "PMEM_TEST_LIB=$so" \
			"$bin" >"$bin.out" 2>&1; then
			c_pass=$((c_pass + 1))
		else
			c_fail=$((c_fail + 1))
			echo "    | $(basename "$bin") failed:"; tail -15 "$bin.out" | sed 's/^/    |   /'
		fi
		cat "$bin.out" >>"$log"
	done
	if [ $c_fail != 0 ]; then
		echo "FAIL: $name: $step: $c_fail of $((c_pass + c_fail)) programs failed; see $log"
		return 1
	fi
	echo "PASS: $name: libpmem.so.1 + ABI, $rust_n Rust tests (${#skips[@]} skipped: what qemu-user does not do as Linux does), $c_pass C test programs under ${qemu[*]} ($((SECONDS - start)) s)"
}

want=("$@")
passed=0 failed=0
while read -r name triple gnu qemu; do
	[ -n "$name" ] || continue
	if [ ${#want[@]} != 0 ] && [[ " ${want[*]} " != *" $name "* ]]; then continue; fi
	# shellcheck disable=SC2086 # the qemu command is words
	if target "$name" "$triple" "$gnu" $qemu; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done <<<"$TABLE"
echo "check-cross: $passed passed, $failed failed"
[ "$failed" = 0 ]
