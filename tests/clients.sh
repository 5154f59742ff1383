#!/usr/bin/env bash
# Real PMDK clients on our libpmem.so.1: Debian's fio (libpmem engine),
# pmempool and a libpmemobj program, each run twice: with our library first
# on LD_LIBRARY_PATH, and with it in LD_PRELOAD. Each run is traced with
# LD_DEBUG=bindings, and fails unless its pmem_* calls were bound to our
# library and none to another libpmem (Debian's).
#
#   tests/clients.sh PREFIX WORKDIR     (PREFIX: where `make install` put us)
#
# Prints one "PASS: ", "FAIL: " or "SKIP: " line per test and exits non-zero
# if any failed. A missing tool is a skip, named with the reason, except
# under CI=true, where it is a failure.
set -uo pipefail

prefix=$(cd "${1:?usage: clients.sh PREFIX WORKDIR}" && pwd)
work=${2:?usage: clients.sh PREFIX WORKDIR}
here=$(cd "$(dirname "$0")/.." && pwd)
ours=$prefix/lib/libpmem.so.1
CC=${CC:-cc}
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

. "$here/c_tests/lib/testlib.sh"

[ -e "$ours" ] || { t_fail "clients" "$ours is not installed"; exit 1; }

# served_by_ours TAG: the pmem_* bindings traced for run TAG all went to
# our library, and there was at least one. Sets $why otherwise.
served_by_ours() {
	local bindings ours_n others
	bindings=$(cat "$work/$1.bind".* 2>/dev/null | grep "normal symbol \`pmem_[a-z_]*'")
	ours_n=$(grep -c -F " to $ours [" <<<"$bindings")
	others=$(grep -v -F " to $ours [" <<<"$bindings" | grep . |
		sed -n "s/.* to \([^ ]*\) .*symbol \`\(pmem_[a-z_]*\)'.*/\2 -> \1/p" | sort -u | head -5)
	if [ -n "$others" ]; then
		why="pmem_* calls were served by another library: ${others//$'\n'/, }"
		return 1
	fi
	if [ "$ours_n" = 0 ]; then
		why="no pmem_* symbol was bound to $ours (LD_DEBUG=bindings saw none)"
		return 1
	fi
	why="$ours_n pmem_* bindings, all to our library"
}

# inject MODE TAG CMD...: runs CMD with our library injected as MODE says
# ("path" or "preload", or "none" for the control run), traced; output in
# $work/TAG.out. Returns CMD's status.
inject() {
	local mode=$1 tag=$2
	shift 2
	rm -f "$work/$tag".bind.*
	local -a env=(LD_DEBUG=bindings LD_DEBUG_OUTPUT="$work/$tag.bind")
	case $mode in
	path) env+=(LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}") ;;
	preload) env+=(LD_PRELOAD="$ours") ;;
	esac
	env "${env[@]}" "$@" >>"$work/$tag.out" 2>&1
}

# report NAME TAG OK: PASS/FAIL for a run, with its output's tail on failure.
report() {
	local name=$1 tag=$2 ok=$3
	if [ "$ok" = 0 ] && served_by_ours "$tag"; then
		t_pass "$name"
	else
		local said=""
		if [ "$ok" != 0 ]; then
			# The client's own error lines, else the end of its output.
			said=$(grep -m 6 -iE 'err=|error|fail|bad |not consistent' "$work/$tag.out" ||
				tail -n 6 "$work/$tag.out")
			said="the client failed (exit $ok); it said:"$'\n'"  | ${said//$'\n'/$'\n'  | }"
		fi
		t_fail "$name" ${said:+"$said"} ${why:+"$why"}
	fi
	why=
}

modes=(path preload)
label() { [ "$1" = path ] && echo "our lib first on LD_LIBRARY_PATH" || echo "our lib in LD_PRELOAD"; }

# --- fio, libpmem engine: write, then verify every block's crc32c ----------
fio_blocks=4096	# two jobs of 8 MiB in 4 KiB blocks
run_fio() {
	local mode=$1 tag=fio-$1 ok=0 verified
	: >"$work/$tag.out"
	# PMEM_IS_PMEM_FORCE=1: the engine refuses memory it is told is not pmem.
	# Two jobs: non-temporal stores (direct=1) and cached stores (direct=0).
	# Run inside $work with --aux-path there too: any state file fio writes
	# (local-JOB-N-verify.state) lands in the scratch directory, not the tree.
	(cd "$work" && inject "$mode" "$tag" env PMEM_IS_PMEM_FORCE=1 fio --debug=verify \
		--ioengine=libpmem --bs=4k --size=8m --rw=write --verify=crc32c \
		--do_verify=1 --verify_fatal=1 --verify_state_save=0 --aux-path="$work" \
		--name=nt --direct=1 --filename="$work/$tag.nt" \
		--name=wb --direct=0 --filename="$work/$tag.wb") || ok=$?
	verified=$(grep -c 'crc32c verify' "$work/$tag.out")
	if [ "$ok" = 0 ] && [ "$verified" != "$fio_blocks" ]; then
		ok=1
		echo "fio: verify error: it verified $verified blocks, want $fio_blocks" >>"$work/$tag.out"
	fi
	report "fio --ioengine=libpmem writes and verifies (crc32c), $(label "$mode")" "$tag" "$ok"
}

# Without PMEM_IS_PMEM_FORCE the engine must refuse a page-cache file, as on
# PMDK: it tells one by the errno pmem_map_file leaves (EOPNOTSUPP, from the
# refused MAP_SYNC), and with another errno it benchmarked the page cache and
# its writes then failed with EBADF.
run_fio_refuses() {
	local mode=$1 tag=fio-refuses-$1 ok=0 refused
	: >"$work/$tag.out"
	(cd "$work" && inject "$mode" "$tag" fio --ioengine=libpmem --bs=4k --size=1m \
		--rw=write --aux-path="$work" \
		--name=nt --direct=1 --filename="$work/$tag.nt" \
		--name=wb --direct=0 --filename="$work/$tag.wb") || ok=$?
	refused=$(grep -c 'err=95/.*does not point to persistent memory' "$work/$tag.out")
	if [ "$ok" != 0 ] && [ "$refused" = 2 ]; then
		ok=0
	else
		echo "fio: want both jobs refused with err=95 (exit $ok, $refused refused)" >>"$work/$tag.out"
		ok=1
	fi
	report "fio --ioengine=libpmem refuses a file that is not pmem (err=95), $(label "$mode")" \
		"$tag" "$ok"
}

if ! command -v fio >/dev/null; then
	t_skip "fio --ioengine=libpmem" "fio is not installed (Debian package fio)"
elif ! fio --enghelp 2>/dev/null | grep -qw libpmem; then
	t_skip "fio --ioengine=libpmem" "this fio has no libpmem engine"
else
	for m in "${modes[@]}"; do run_fio "$m"; done
	for m in "${modes[@]}"; do run_fio_refuses "$m"; done
fi

# --- pmempool: create an obj pool, check it -------------------------------
run_pmempool() {
	local mode=$1 tag=pmempool-$1 ok=0 pool=$work/pmempool-$1.obj
	: >"$work/$tag.out"
	inject "$mode" "$tag" pmempool create obj --size=32M "$pool" || ok=$?
	[ "$ok" = 0 ] && { inject "$mode" "$tag" pmempool check -v "$pool" || ok=$?; }
	if [ "$ok" = 0 ] && ! grep -q "^$pool: consistent$" "$work/$tag.out"; then
		ok=1
		echo "error: pmempool check did not report '$pool: consistent'" >>"$work/$tag.out"
	fi
	report "pmempool create obj, then check -v reports consistent, $(label "$mode")" "$tag" "$ok"
}

if ! command -v pmempool >/dev/null; then
	t_skip "pmempool create/check" "pmempool is not installed (Debian package pmdk-tools)"
else
	for m in "${modes[@]}"; do run_pmempool "$m"; done

	# Control: without injection Debian's library answers, and the binding
	# check must notice, or it proves nothing.
	: >"$work/control.out"
	inject none control pmempool create obj --size=32M "$work/control.obj"
	if served_by_ours control; then
		t_fail "binding check tells Debian's libpmem from ours (control run)" \
			"an uninjected pmempool looked served by ours: $why"
	else
		t_pass "binding check tells Debian's libpmem from ours (control run)"
	fi
	why=
fi

# --- libpmemobj: transactions, reopen, verify -----------------------------
run_pmemobj() {
	local mode=$1 tag=pmemobj-$1 ok=0 pool=$work/pmemobj-$1.obj
	: >"$work/$tag.out"
	inject "$mode" "$tag" "$work/pmemobj_client" create "$pool" || ok=$?
	# A new process: what it reads back was persisted by the first.
	[ "$ok" = 0 ] && { inject "$mode" "$tag" "$work/pmemobj_client" verify "$pool" || ok=$?; }
	report "libpmemobj transactions commit, abort and survive reopening, $(label "$mode")" \
		"$tag" "$ok"
}

if [ ! -e /usr/include/libpmemobj.h ]; then
	t_skip "libpmemobj client" "libpmemobj's header is not installed (Debian package libpmemobj-dev)"
elif ! $CC -std=gnu11 -O2 -Wall -Wextra -Werror -o "$work/pmemobj_client" \
	"$here/c_tests/pmemobj_client.c" "$here/c_tests/lib/check.c" -lpmemobj \
	>"$work/pmemobj-cc.log" 2>&1; then
	t_fail "libpmemobj client compiles" "$(sed 's/^/  | /' "$work/pmemobj-cc.log")"
else
	for m in "${modes[@]}"; do run_pmemobj "$m"; done
fi

[ "$t_failed" = 0 ]
