#!/usr/bin/env bash
# Crash injection and pmem-sweep on the append example:
#  - PMEM_FIT_CRASH_AT kills the program at the point asked, before its lines
#    reach the file, and PMEM_FIT_REPORT counts the points passed;
#  - the correct program passes the sweep at every point (in parallel, and
#    sampled), statically linked too;
#  - the variant with one missing persist is caught, with a reproducer that
#    fails again on its own.
set -uo pipefail
# pmem-sweep passes its stdin on to every run: give it none.
exec </dev/null
out=$(cd "${1:?usage: sweep-test.sh OUTDIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
sweep=${PMEM_SWEEP:?PMEM_SWEEP names the pmem-sweep binary}
. "$here/../lib/testlib.sh"
bad() { t_fail "$*"; }
# The largest point count in a PMEM_FIT_REPORT file (JSON lines).
points_in() { sed -n 's/.*"event":"count".*"points":\([0-9]*\).*/\1/p' "$1" | sort -n | tail -1; }

# 20 records: a record persist and a count persist each, then the final one.
points=41
setup='truncate -s 8192 pool'
check="$here/append_check pool"

# Crash injection by hand: point 3 is record 1's persist, so records 0 and
# its count (points 1, 2) are in the file and nothing after.
rm -f "$out/crash.pool" "$out/crash.report"; truncate -s 8192 "$out/crash.pool"
PMEM_PERSIST_MODE=fit PMEM_FIT_CRASH_AT=3 PMEM_FIT_REPORT="$out/crash.report" \
	"$here/append" "$out/crash.pool" 20
status=$?
[ "$status" = 137 ] || bad "PMEM_FIT_CRASH_AT=3: exit status $status, want 137 (SIGKILL)"
[ "$(points_in "$out/crash.report")" = 2 ] || bad "report says $(points_in "$out/crash.report") points passed, want 2"
grep -q '"event":"crash".*"point":3,"tear":0,"lines":1' "$out/crash.report" || bad "no crash record for point 3"
count=$(od -An -tu8 -N8 "$out/crash.pool" | tr -d ' ')
[ "$count" = 1 ] || bad "crashed file counts $count records, want 1"
"$here/append_check" "$out/crash.pool" 1 || bad "crashed file does not check"
# Record 1 (bytes 128..191) was being persisted at the crash: none of it may be there.
cmp -s -n 64 -i 128:0 "$out/crash.pool" /dev/zero || bad "the crashed point's lines reached the file"

# A full run in fit mode reports every point.
rm -f "$out/full.pool" "$out/full.report"; truncate -s 8192 "$out/full.pool"
PMEM_PERSIST_MODE=fit PMEM_FIT_REPORT="$out/full.report" "$here/append" "$out/full.pool" 20 ||
	bad "full fit run failed"
[ "$(points_in "$out/full.report")" = $points ] || bad "full run passed $(points_in "$out/full.report") points, want $points"

# The correct program survives a crash at every point.
"$sweep" --jobs 2 --setup "$setup" --check "$check" --workdir "$out/sweep-good" \
	-- "$here/append" pool 20 >"$out/good.out" 2>"$out/good.err"
status=$?
[ "$status" = 0 ] || { bad "sweep of the correct program exited $status"; cat "$out/good.out" "$out/good.err"; }
grep -q "of \([0-9]*\) states passed ($points points)" "$out/good.err" || bad "sweep did not run all $points points"
grep -q " 0 failed" "$out/good.err" || bad "a state of the correct program failed"

# ... also statically linked, on a seeded sample.
"$sweep" --sample 7 --seed 42 --setup "$setup" --check "$check" --workdir "$out/sweep-static" \
	-- "$here/append_static" pool 20 >"$out/static.out" 2>"$out/static.err" ||
	{ bad "sampled sweep of the static program failed"; cat "$out/static.out" "$out/static.err"; }
grep -q "states passed (7 points)" "$out/static.err" || bad "sampled sweep did not run 7 points"

# The variant with one missing persist is caught and named.
"$sweep" --jobs 2 --setup "$setup" --check "$check" --workdir "$out/sweep-bad" \
	-- "$here/append" -b pool 20 >"$out/bad.out" 2>"$out/bad.err"
status=$?
[ "$status" = 1 ] || bad "sweep of the buggy program exited $status, want 1"
first=$(sed -n 's/^point \([0-9]*\): FAILED.*/\1/p' "$out/bad.out" | head -1)
[ "$first" = 2 ] || bad "first failing point is $first, want 2 (record 0's count)"
[ -n "$first" ] || { bad "sweep named no failing point"; cat "$out/bad.out"; }
grep -q "missing or torn" "$out/bad.out" || bad "the check's message is not in the report"

# Its reproducer fails again on its own.
if [ -n "$first" ]; then
	repro=$(grep -A3 "^point $first:" "$out/bad.out" | sed -n 's/^  reproduce: pmem-sweep //p' | head -1)
	(cd "$out" && eval "\"$sweep\" --workdir \"$out/repro\" $repro") >"$out/repro.out" 2>&1
	status=$?
	[ "$status" = 1 ] || { bad "reproducer of point $first exited $status, want 1"; cat "$out/repro.out"; }
fi

[ "$t_failed" = 0 ] && echo "sweep: crash injection, $points-point sweep, sample, static and the buggy variant ok"
[ "$t_failed" = 0 ]
