#!/usr/bin/env bash
# Compiles every c_tests/test_*.c as a user would (pkg-config against an
# installed prefix), dynamically and statically, runs them (and again on
# Debian's PMDK libpmem, to check the tests themselves), then the header
# checks, the PMDK-header client and tests/clients.sh; ends with the line
# "N passed, N failed".
#
#   run-tests.sh PREFIX BUILD_DIR            our library (make check)
#   run-tests.sh --pmdk PREFIX BUILD_DIR     only the programs already built,
#                                            on Debian's PMDK (make check-pmdk)
set -uo pipefail

impl=ours
if [ "${1:-}" = --pmdk ]; then impl=pmdk; shift; fi
prefix=$(cd "${1:?prefix}" && pwd)
build=${2:?build dir}
mkdir -p "$build"
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
CC=${CC:-cc}
CXX=${CXX:-c++}
PMDK_LIB=${PMDK_LIB:-/usr/lib/x86_64-linux-gnu/libpmem.so.1}
CFLAGS=(-std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread)
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# The tests set what they need themselves; inherited settings would change answers.
unset PMEM_IS_PMEM_FORCE PMEM_LOG_LEVEL PMEM_LOG_FILE LD_PRELOAD
export TMPDIR=${TMPDIR:-/tmp}

. "$here/lib/testlib.sh"
log=$build/last-run.log
: >"$log"

# run_case NAME CMD...: one test case; its output is shown only on failure.
run_case() {
	local name=$1; shift
	local out=$build/out.$$
	if timeout 120 "$@" >"$out" 2>&1; then
		t_pass "$name"
	else
		t_fail "$name" "$(sed 's/^/| /' "$out")"
	fi
	cat "$out" >>"$log"; rm -f "$out"
}

# Tests that call functions PMDK 1.12 does not have say so on a line of their own.
pmdk_lacks() { grep -q '^ \* needs: PMDK 2' "$1"; }

tests=("$here"/test_*.c)

# The dynamic test programs again, on Debian's PMDK libpmem: a check of the
# tests' own expectations wherever PMDK 1.12 defines the same behaviour.
run_on_pmdk() {
	if [ ! -e "$PMDK_LIB" ]; then
		t_skip "the C tests on PMDK" "no $PMDK_LIB (Debian package libpmem1)"
		return
	fi
	for src in "${tests[@]}"; do
		name=$(basename "$src" .c)
		if pmdk_lacks "$src"; then
			t_skip_by_design "$name on PMDK" "uses API that PMDK 1.12 lacks"
			continue
		fi
		[ -x "$build/$name" ] || { t_fail "$name on PMDK (not built: run make check first)"; continue; }
		run_case "$name on PMDK (checks the test itself)" env LD_PRELOAD="$PMDK_LIB" \
			PMEM_TEST_IMPL=pmdk PMEM_TEST_LIB="$PMDK_LIB" "$build/$name"
	done
}

if [ "$impl" = pmdk ]; then
	run_on_pmdk
	t_summary
	exit
fi

pkg-config --exists libpmem || { echo "pkg-config cannot find libpmem under $prefix"; exit 1; }
read -ra cflags <<<"$(pkg-config --cflags libpmem)"
read -ra libs <<<"$(pkg-config --libs libpmem)"
read -ra static_libs <<<"$(pkg-config --static --libs libpmem)"
ours=$prefix/lib/libpmem.so.1

# Everything below compiles against the prefix, not a system libpmem.
case " ${cflags[*]} ${libs[*]} " in
*" -I$prefix/include "*"-L$prefix/lib "*) t_pass "pkg-config libpmem points at the install prefix" ;;
*) t_fail "pkg-config libpmem points at the install prefix (it says: ${cflags[*]} ${libs[*]})" ;;
esac

for src in "${tests[@]}"; do
	name=$(basename "$src" .c)
	if "$CC" "${CFLAGS[@]}" -o "$build/$name" "$src" "$here/lib/check.c" \
		"${cflags[@]}" "${libs[@]}" >"$build/$name.cc.log" 2>&1; then
		run_case "$name (dynamic)" env LD_LIBRARY_PATH="$prefix/lib" \
			PMEM_TEST_LIB="$ours" "$build/$name"
	else
		t_fail "$name (dynamic): does not compile" "$(sed 's/^/| /' "$build/$name.cc.log")"
	fi
	# Static: the archive, then what pkg-config says it needs; --as-needed
	# keeps the -lpmem in that list from also pulling in the shared library.
	if "$CC" "${CFLAGS[@]}" -o "$build/$name.static" "$src" "$here/lib/check.c" \
		"${cflags[@]}" "$prefix/lib/libpmem.a" -Wl,--as-needed "${static_libs[@]}" \
		>"$build/$name.static.cc.log" 2>&1; then
		if readelf -d "$build/$name.static" | grep -q 'NEEDED.*libpmem'; then
			t_fail "$name (static): still links libpmem.so"
		else
			run_case "$name (static)" env PMEM_TEST_LIB=static "$build/$name.static"
		fi
	else
		t_fail "$name (static): does not compile" "$(sed 's/^/| /' "$build/$name.static.cc.log")"
	fi
done

run_on_pmdk

# The installed headers: strict C99 and C++11.
for h in "$prefix"/include/*.h; do
	hn=$(basename "$h")
	run_case "$hn compiles as strict C99" "$CC" -std=c99 -Wall -Wextra -Werror -pedantic \
		"${cflags[@]}" -fsyntax-only -x c - <<<"#include <$hn>"
	run_case "$hn compiles as C++11" "$CXX" -std=c++11 -Wall -Wextra -Werror -pedantic \
		"${cflags[@]}" -fsyntax-only -x c++ - <<<"#include <$hn>"
done

# A program built against Debian's PMDK header and library runs on ours.
if [ -e /usr/include/libpmem.h ] && [ -e "$(dirname "$PMDK_LIB")/libpmem.so" ]; then
	if "$CC" "${CFLAGS[@]}" -o "$build/pmdk_built_client" "$here/pmdk_built_client.c" \
		"$here/lib/check.c" -lpmem >"$build/pmdk_built_client.cc.log" 2>&1; then
		run_case "pmdk_built_client (PMDK's header and -lpmem, run on ours)" \
			env LD_LIBRARY_PATH="$prefix/lib" PMEM_TEST_LIB="$ours" \
			"$build/pmdk_built_client"
	else
		t_fail "pmdk_built_client: does not compile" \
			"$(sed 's/^/| /' "$build/pmdk_built_client.cc.log")"
	fi
else
	t_skip "pmdk_built_client" "Debian's libpmem-dev is not installed"
fi

# Real clients: fio, pmempool, libpmemobj.
clients_out=$build/clients.log
CC="$CC" "$root/tests/clients.sh" "$prefix" "$build/clients" >"$clients_out" 2>&1
clients_rc=$?
cat "$clients_out"
before=$t_failed
t_tally "$clients_out"
if [ "$clients_rc" != 0 ] && [ "$t_failed" = "$before" ]; then
	t_fail "tests/clients.sh exited $clients_rc without naming a failed test"
fi

t_summary
