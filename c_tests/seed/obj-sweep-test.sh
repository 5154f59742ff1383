#!/usr/bin/env bash
# pmem-sweep on an unmodified libpmemobj program (Debian's libpmemobj, whose
# pool mapping fit mode adopts at its first flush):
#  - the transactional program passes the check at every point;
#  - the variant that stores a value outside its transaction is caught.
# PMEM_IS_PMEM_FORCE=1 makes libpmemobj flush cache lines (pmem_persist)
# instead of msync'ing whole pages, so the sweep sees line-granular points.
set -uo pipefail
# pmem-sweep passes its stdin on to every run: give it none.
exec </dev/null
out=$(cd "${1:?usage: obj-sweep-test.sh OUTDIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
sweep=${PMEM_SWEEP:?PMEM_SWEEP names the pmem-sweep binary}
prog="$here/obj_tx"
. "$here/../lib/testlib.sh"
bad() { t_fail "$*"; }

rm -rf "$out/obj" && mkdir -p "$out/obj"
"$prog" create "$out/obj/template" || { t_fail "cannot create a libpmemobj pool"; exit 1; }
setup="cp $out/obj/template pool"
check="$prog check pool"
export PMEM_IS_PMEM_FORCE=1

# Every point of 6 transactions: no false positive.
"$sweep" --jobs 2 --setup "$setup" --check "$check" --workdir "$out/obj/good" \
	-- "$prog" run pool 6 >"$out/obj/good.out" 2>"$out/obj/good.err"
status=$?
[ "$status" = 0 ] || { bad "sweep of the libpmemobj program exited $status"; cat "$out/obj/good.out" "$out/obj/good.err"; }
# Under the default crash-state strategies: every point, and more states
# than points (tears and flips of in-flight lines), all passing.
total=$(sed -n 's/^pmem-sweep: \([0-9]*\) points, states .*/\1/p' "$out/obj/good.err")
[ "${total:-0}" -gt 20 ] || bad "the libpmemobj program has ${total:-no} points: its pool was not adopted"
states=$(sed -n "s/^pmem-sweep: \([0-9]*\) of \1 states passed ($total points).*/\1/p" "$out/obj/good.err")
[ -n "$states" ] || bad "not every state of the libpmemobj program passed"
[ "${states:-0}" -gt "${total:-0}" ] || bad "only ${states:-no} states for $total points: no crash states beyond the base ones"

# The planted bug (a store outside the transaction) is caught.
"$sweep" --jobs 2 --setup "$setup" --check "$check" --workdir "$out/obj/bad" \
	-- "$prog" -b run pool 6 >"$out/obj/bad.out" 2>"$out/obj/bad.err"
status=$?
[ "$status" = 1 ] || { bad "sweep of the planted bug exited $status, want 1"; cat "$out/obj/bad.out" "$out/obj/bad.err"; }
grep -q "FAILED: check failed (exit 1): pool: value .* is missing" "$out/obj/bad.out" ||
	bad "the sweep did not name the missing value"

[ "$t_failed" = 0 ] && echo "obj-sweep-test: libpmemobj program clean in all $states states of its $total points, planted bug caught"
[ "$t_failed" = 0 ]
