#!/usr/bin/env bash
# Crash states and pmem-sweep (see docs/modes.md):
#  - the data/flag bug persisted with one pmem_persist (and with two flushes
#    and one drain) is found by the default sweep, not by --states none;
#    its reproducers fail again on their own; the correct program passes
#    every point in every state;
#  - a line seen through two aliases of one file's shadow is one candidate;
#  - PMEM_FIT_CRASH_AT=N.k tears a 70-byte persist at the line boundary,
#    and the sweep finds the tear;
#  - the missing-flush report names the planted unflushed line, at unmap,
#    at drains and in the sweep's summary; wasted flushes are counted;
#  - usability: a relative --workdir, a program behind a shell wrapper,
#    a timeout that kills grandchildren, and --workdir DIR leaving the
#    user's files (counter.c, job-scheduler/) alone;
#  - --check-server: the same failures as --check, servers replaced when
#    they exit or hang.
set -uo pipefail
# pmem-sweep passes its stdin on to every run: give it none.
exec </dev/null
out=$(cd "${1:?usage: sweep-test.sh OUTDIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
sweep=${PMEM_SWEEP:?PMEM_SWEEP names the pmem-sweep binary}
fd="$here/flagdata"
. "$here/../lib/testlib.sh"
bad() { t_fail "$*"; }
# The largest point count in a report.
points_in() { sed -n 's/.*"event":"count".*"points":\([0-9]*\).*/\1/p' "$1" | sort -n | tail -1; }
# A sweep of flagdata: sweep_fd NAME [sweep options] -- [flagdata options].
sweep_fd() {
	local name=$1
	shift
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	"$sweep" --jobs 2 --workdir "$out/wd" --seed 1 "${opts[@]}" --check "$fd -c pool" \
		-- "$fd" "$@" pool 4 >"$out/$name.out" 2>"$out/$name.err"
}

# 1. The classic bug: data and valid flag persisted with one call.
sweep_fd bug -- -b
status=$?
[ "$status" = 1 ] || { bad "default sweep of the one-persist bug exited $status, want 1"; cat "$out/bug.out" "$out/bug.err"; }
grep -q "marked valid but its data is missing" "$out/bug.out" || bad "the check's message is not in the report"
grep -q "at the crash: pool+64 written (stored, never flushed)" "$out/bug.out" ||
	bad "the failure does not say the flag line reached the file first"
# The flip states of a point come from one run (its crash writes their
# images): the same failures as one run per state.
sweep_fd bug-runs --no-images -- -b
[ "$(grep '^point' "$out/bug.out" | sort)" = "$(grep '^point' "$out/bug-runs.out" | sort)" ] ||
	bad "one run per point and one run per state disagree" "$(diff <(grep '^point' "$out/bug.out" | sort) <(grep '^point' "$out/bug-runs.out" | sort))"
# With a budget the crash samples the same states the sweep would.
sweep_fd bug-b2 --budget 2 -- -b -u
sweep_fd bug-b2-runs --budget 2 --no-images -- -b -u
[ "$(grep '^point' "$out/bug-b2.out" | sort)" = "$(grep '^point' "$out/bug-b2-runs.out" | sort)" ] ||
	bad "--budget 2: one run per point and one run per state disagree"
left=$(grep "states left out by --budget 2" "$out/bug-b2.err")
[ -n "$left" ] && [ "$left" = "$(grep "states left out by --budget 2" "$out/bug-b2-runs.err")" ] ||
	bad "--budget 2: left-out counts differ: $left"
# --dedupe: one check per distinct crash image, the same failures.
sweep_fd bug-dedupe --dedupe -- -b
[ "$(grep '^point' "$out/bug.out" | sort)" = "$(grep '^point' "$out/bug-dedupe.out" | sort)" ] ||
	bad "--dedupe changed the failing states"
grep -q "had the files of a state already checked" "$out/bug-dedupe.err" || bad "--dedupe found no repeated image"
sweep_fd bug-none --states none -- -b
[ $? = 0 ] || bad "--states none (one state per point) should miss the bug"
# Its reproducers fail again: pmem-sweep --only, and the environment by hand.
repro=$(sed -n 's/^  reproduce: pmem-sweep //p' "$out/bug.out" | head -1)
(cd "$out" && eval "\"$sweep\" --workdir \"$out/wd\" $repro") >"$out/repro.out" 2>&1
[ $? = 1 ] || { bad "pmem-sweep reproducer '$repro' did not fail"; cat "$out/repro.out"; }
hand=$(sed -n 's/^  by hand:   //p' "$out/bug.out" | head -1)
mkdir -p "$out/hand" && (cd "$out/hand" && eval "$hand") >/dev/null 2>&1
"$fd" -c "$out/hand/pool" >/dev/null && bad "the by-hand reproducer '$hand' left a good file"
# The same bug with two flushes and one drain: the flag's line may persist
# while the data's, flushed but not drained, does not.
sweep_fd bug-flush -- -f
[ $? = 1 ] || bad "the default sweep missed the flush/flush/drain bug"
grep -q "lost (flushed, not yet drained)" "$out/bug-flush.out" || bad "no state lost an undrained line"

# 2. The correct program passes every point in every state.
sweep_fd good --
status=$?
[ "$status" = 0 ] || { bad "sweep of the correct program exited $status"; cat "$out/good.out" "$out/good.err"; }
grep -q "16 of 16 states passed (8 points)" "$out/good.err" || { bad "correct program: not 16 states"; cat "$out/good.err"; }

# 3. Line-granular tearing: point 1 cut after 1 of its 2 lines.
rm -rf "$out/tear" && mkdir "$out/tear"
{ (cd "$out/tear" && PMEM_PERSIST_MODE=fit PMEM_FIT_CRASH_AT=1.1 PMEM_FIT_REPORT=report "$here/tear" pool); } 2>/dev/null
[ $? = 137 ] || bad "PMEM_FIT_CRASH_AT=1.1 did not kill the program"
head -c 64 "$out/tear/pool" | grep -q "line: this one tea$" || bad "the first line of the string is not in the file"
cmp -s -n 6 -i 64:0 "$out/tear/pool" /dev/zero || bad "the second line reached the file"
grep -q '"event":"crash".*"tear":1,"lines":2' "$out/tear/report" || bad "crash record: $(cat "$out/tear/report")"
"$sweep" --workdir "$out/wd" --check "$here/tear -c pool" -- "$here/tear" pool >"$out/tear.out" 2>&1
[ $? = 1 ] || bad "the sweep did not find the tear"
grep -q "^point 1.1: FAILED.*torn" "$out/tear.out" || { bad "no torn point 1.1"; cat "$out/tear.out"; }
# The tear's image comes from the crash at the start of the point: the same
# failures as a run torn inside the point.
"$sweep" --workdir "$out/wd" --no-images --check "$here/tear -c pool" -- "$here/tear" pool >"$out/tear-runs.out" 2>&1
[ "$(grep '^point' "$out/tear.out" | sort)" = "$(grep '^point' "$out/tear-runs.out" | sort)" ] ||
	bad "tears: one run per point and one run per state disagree"

# A line mapped through two aliases of one shadow is one crash candidate.
rm -rf "$out/alias" && mkdir "$out/alias"
{ (cd "$out/alias" && PMEM_PERSIST_MODE=fit PMEM_FIT_CRASH_AT=1 PMEM_FIT_REPORT=report "$here/alias" pool); } 2>/dev/null
[ $? = 137 ] || bad "PMEM_FIT_CRASH_AT=1 did not kill alias"
grep -q '"event":"crash".*"candidates":2,"unfenced":0,"dirty":2,' "$out/alias/report" ||
	bad "aliases: want 2 dirty candidates: $(grep crash "$out/alias/report")"

# 4. Missing flushes: -u stores a statistics line (offset 2048) never flushed.
rm -rf "$out/mf" && mkdir "$out/mf"
(cd "$out/mf" && PMEM_PERSIST_MODE=fit PMEM_FIT_REPORT=report PMEM_FIT_DRAIN_SCAN=1 "$fd" -u -w pool 4) ||
	bad "flagdata -u failed"
grep -q '"event":"unflushed","pid":[0-9]*,"at":"unmap","file":"[^"]*/pool","offset":2048,"len":64' "$out/mf/report" ||
	{ bad "no unflushed record at unmap for offset 2048"; cat "$out/mf/report"; }
[ "$(grep -c '"at":"drain".*"offset":2048' "$out/mf/report")" = 1 ] ||
	bad "drain scans should report the line once"
grep -q '"event":"summary".*"flushed_lines":8,"wasted_lines":32,"unflushed_lines":' "$out/mf/report" ||
	{ bad "summary: $(grep summary "$out/mf/report")"; }
sweep_fd mf --states none -- -u -w
grep -q "pool offset 2048, 64 bytes: never flushed; still unflushed at pmem_unmap after point 9" "$out/mf.out" ||
	{ bad "the sweep's summary does not name the unflushed line"; cat "$out/mf.out"; }
grep -q "wasted flushes: 32 of 40 flushed lines" "$out/mf.out" || bad "no wasted-flush summary"
# A file mapped with mmap and released with plain munmap, as libpmemobj
# does: with the fit preload the report still sees the line at munmap.
sweep_fd mfm --states none -- -u -m
grep -q "pool offset 2048, 64 bytes: never flushed; still unflushed at munmap after point 8" "$out/mfm.out" ||
	{ bad "the missing flush of a munmapped file is not reported"; cat "$out/mfm.out" "$out/mfm.err"; }
sweep_fd mfd --states none --drain-scan -- -u
grep -q "pool offset 2048, 64 bytes: never flushed; still unflushed at a drain after point 3" "$out/mfd.out" ||
	{ bad "--drain-scan: the line is not reported at the first drain after its store"; cat "$out/mfd.out"; }

# 5. Usability.
# A relative --workdir.
(cd "$out" && "$sweep" --workdir rel --check "$fd -c pool" -- "$fd" pool 2) >"$out/rel.out" 2>&1 ||
	{ bad "relative --workdir failed"; cat "$out/rel.out"; }
[ -e "$out/rel" ] && bad "the --workdir the sweep made was left behind"
# A shell wrapper: every point reached; a later libpmem process in the same
# run does not crash again.
"$sweep" --workdir "$out/wd" --check "$fd -c pool" -- sh -c "$fd pool 4; $fd pool 4; true" \
	>"$out/wrap.out" 2>"$out/wrap.err" || { bad "sweep through a shell wrapper failed"; cat "$out/wrap.out" "$out/wrap.err"; }
grep -q "not reached" "$out/wrap.out" && bad "points not reached through a shell wrapper"
rm -rf "$out/once" && mkdir "$out/once"
(cd "$out/once" && PMEM_PERSIST_MODE=fit PMEM_FIT_CRASH_AT=2 PMEM_FIT_REPORT=report \
	sh -c "$fd pool 4; $fd pool 4 && echo second ran") >"$out/once.out" 2>&1
grep -q "second ran" "$out/once.out" || bad "the second process crashed too"
[ "$(grep -c '"event":"crash"' "$out/once/report")" = 1 ] || bad "want one crash record"
# A timeout kills the whole process group.
"$sweep" --workdir "$out/wd" --timeout 1 -- sh -c "sleep 60 & echo \$! >$out/bg.pid; wait" \
	>"$out/timeout.out" 2>&1
[ $? = 2 ] || bad "a timed-out sweep should exit 2"
# Dead or a zombie waiting for its new parent to reap it.
bg=$(cat "$out/bg.pid")
sleep 0.2
case $(sed 's/.*) \(.\).*/\1/' "/proc/$bg/stat" 2>/dev/null) in
"" | Z) ;;
*) bad "the grandchild outlived the timeout"; kill "$bg" ;;
esac
# A daemon (setsid, parent gone) left running by a crashed run is killed
# with it: pmem-sweep is the child subreaper of its commands.
rm -f "$out"/daemon.*
cat >"$out/daemonize.sh" <<'EOF'
#!/bin/sh
# daemonize.sh PIDFILE: start a daemon in a session of its own, wait until it runs.
setsid sh -c 'echo $$ >"$0.tmp"; mv "$0.tmp" "$0"; exec sleep 60' "$1" &
while [ ! -s "$1" ]; do sleep 0.01; done
EOF
chmod +x "$out/daemonize.sh"
"$sweep" --workdir "$out/wd" --states none \
	-- sh -c "$out/daemonize.sh $out/daemon.\$PMEM_SWEEP_POINT; $fd pool 2" \
	>"$out/daemon.out" 2>&1 || { bad "the sweep of a daemonizing program failed"; cat "$out/daemon.out"; }
sleep 0.2
n=0
for f in "$out"/daemon.[0-9]*; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	pid=$(cat "$f")
	[ -n "$pid" ] && [ -e "/proc/$pid" ] && case $(sed 's/.*) \(.\).*/\1/' "/proc/$pid/stat" 2>/dev/null) in
	"" | Z) ;;
	*) bad "a daemon of run $f outlived its run"; kill "$pid" ;;
	esac
done
[ "$n" = 5 ] || bad "$n daemons started, want 5 (the counting run and 4 points)"
# A check that fails even without a crash: its own exit status (3), the
# never-flushed stores and the run by hand.
"$sweep" --workdir "$out/wd" --check "$fd -c pool && false" -- "$fd" -u pool 2 >"$out/uncrashed.out" 2>&1
[ $? = 3 ] || bad "an uncrashed run failing its check should exit 3"
grep -q "^the program's run without a crash already fails the check" "$out/uncrashed.out" &&
	grep -q "pool offset 2048, 64 bytes: never flushed" "$out/uncrashed.out" &&
	grep -q "^  by hand:   .*PMEM_PERSIST_MODE=fit $fd -u pool 2; sh -c" "$out/uncrashed.out" ||
	{ bad "the uncrashed failure is not reported"; cat "$out/uncrashed.out"; }
# A hanging check fails its state after --check-timeout, not --timeout.
"$sweep" --workdir "$out/wd" --states none --check-timeout 1 \
	--check '[ "$PMEM_SWEEP_POINT" = 0 ] || exec sleep 30' -- "$fd" pool 1 >"$out/hang.out" 2>&1
[ $? = 1 ] || bad "a hanging check should fail its states"
[ "$(grep -c "FAILED: the check timed out after 1 s" "$out/hang.out")" = 2 ] || { bad "hanging check not reported"; cat "$out/hang.out"; }
# The missing-flush report of a 16 MiB pool with every other line unflushed
# (131,072 ranges) is summarized in bounded memory: pmem-sweep's own peak
# RSS (VmHWM, read until it exits) stays far below the 190 MB that holding
# every record took.
"$sweep" --workdir "$out/wd" --states none -- "$here/halfdirty" pool >"$out/half.out" 2>&1 &
sweep_pid=$!
hwm=0
while [ -e "/proc/$sweep_pid/status" ]; do
	h=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$sweep_pid/status" 2>/dev/null)
	[ -n "$h" ] && hwm=$h
	sleep 0.01
done
wait $sweep_pid || { bad "the sweep of halfdirty failed"; cat "$out/half.out"; }
grep -q "^  and 131052 more ranges, 8387328 bytes in all" "$out/half.out" || { bad "no summary of the unflushed ranges"; head -30 "$out/half.out"; }
[ "$hwm" -gt 0 ] && [ "$hwm" -lt 64000 ] || bad "pmem-sweep peaked at ${hwm} kB reading the report"
# SIGTERM: the failures found so far are printed, the work directory is
# removed, the exit status is 128+15.
"$sweep" --workdir "$out/int" --states none \
	--check '[ $((PMEM_SWEEP_POINT % 2)) = 0 ]; r=$?; sleep 0.1; exit $r' \
	-- "$fd" pool 16 >"$out/int.out" 2>"$out/int.err" &
sweep_pid=$!
for _ in $(seq 100); do grep -q FAILED "$out/int.out" && break; sleep 0.05; done
kill -TERM $sweep_pid
wait $sweep_pid
status=$?
[ $status = 143 ] || bad "SIGTERM: exit status $status, want 143"
grep -q "^point 1: FAILED" "$out/int.out" || bad "SIGTERM: the failure found before it is not printed"
grep -q "^pmem-sweep: interrupted by SIGTERM" "$out/int.err" || bad "SIGTERM: not said"
[ -z "$(ls -A "$out/int" 2>/dev/null)" ] || bad "SIGTERM: the work directory was left: $(ls "$out/int")"
# Standard input reaches every run (read once), and PMEM_IS_PMEM_FORCE=1
# is set and said; the by-hand reproducer replays from the input file.
echo 3 >"$out/three"
"$sweep" --workdir "$out/wd" --states none --check "$fd -c pool" \
	-- sh -c "exec $fd -b pool \$(cat)" <"$out/three" >"$out/stdin.out" 2>"$out/stdin.err"
grep -q "^pmem-sweep: 3 points" "$out/stdin.err" || { bad "stdin did not reach the runs"; cat "$out/stdin.err"; }
grep -q "^pmem-sweep: PMEM_IS_PMEM_FORCE=1 for every command" "$out/stdin.err" || bad "PMEM_IS_PMEM_FORCE not said"
echo 2 | "$sweep" --workdir "$out/wd" --states none -- sh -c "exec $fd pool \$(cat)" 2>"$out/pipe.err"
grep -q "^pmem-sweep: 4 points" "$out/pipe.err" || { bad "piped stdin did not reach the runs"; cat "$out/pipe.err"; }
"$sweep" --workdir "$out/wd" --check "$fd -c pool" -- sh -c "exec $fd -b pool \$(cat)" <"$out/three" >"$out/stdin-bad.out" 2>&1
hand=$(sed -n 's/^  by hand:   //p' "$out/stdin-bad.out" | head -1)
case $hand in *"< $out/three; "*) ;; *) bad "the by-hand line does not read the input file: $hand" ;; esac
rm -rf "$out/hand2" && mkdir "$out/hand2" && (cd "$out/hand2" && eval "$hand") >/dev/null 2>&1
[ $? = 1 ] || bad "the by-hand reproducer '$hand' did not fail its check"
# 6. --check-server: one process judges the states one after another. The
# same failures as --check, with the check's words; a server that exits on
# a failure is replaced; one that hangs fails its state after
# --check-timeout; a job keeps its server; the reproducers fail again.
serve() { # serve [EXIT_ON_FAIL]: a server around flagdata -c, counting its starts
	printf 'echo >>%s/starts; while read -r d; do cd "$d" || exit 2; ' "$out"
	printf 'if %s -c pool; then echo "pmem-sweep: pass"; ' "$fd"
	[ -n "${1:-}" ] && printf 'else exit 1; fi; done' || printf 'else echo "pmem-sweep: fail"; fi; done'
}
failing() { grep -o '^point [0-9.]*\( state [^:]*\)*' "$1" | sort; }
rm -f "$out/starts"
"$sweep" --jobs 2 --workdir "$out/wd" --seed 1 --check-server "$(serve)" -- "$fd" -b pool 4 \
	>"$out/srv.out" 2>"$out/srv.err"
[ $? = 1 ] || bad "--check-server missed the one-persist bug"
[ "$(failing "$out/bug.out")" = "$(failing "$out/srv.out")" ] ||
	bad "--check-server and --check disagree" "$(diff <(failing "$out/bug.out") <(failing "$out/srv.out"))"
grep -q "FAILED: check server said fail: pool: slot 0 is marked valid but its data is missing" "$out/srv.out" ||
	bad "the server's reason is not in the report" "$(head -3 "$out/srv.out")"
[ "$(wc -l <"$out/starts")" -le 2 ] || bad "$(wc -l <"$out/starts") servers started for 2 jobs, want at most 2"
rm -f "$out/starts"
"$sweep" --jobs 2 --workdir "$out/wd" --seed 1 --check-server "$(serve exit)" -- "$fd" -b pool 4 \
	>"$out/srv-exit.out" 2>"$out/srv-exit.err"
[ "$(failing "$out/bug.out")" = "$(failing "$out/srv-exit.out")" ] ||
	bad "a server exiting on failures changed the failing states"
grep -q "FAILED: check server ended (exit 1): pool: slot 0" "$out/srv-exit.out" || bad "a server's exit is not reported"
[ "$(wc -l <"$out/starts")" -gt 2 ] || bad "no new server after one exited"
"$sweep" --workdir "$out/wd" --seed 1 --check-server "$(serve)" -- "$fd" pool 4 >/dev/null 2>"$out/srv-good.err" ||
	bad "--check-server failed the correct program" "$(tail -3 "$out/srv-good.err")"
repro=$(sed -n 's/^  reproduce: pmem-sweep //p' "$out/srv.out" | head -1)
(cd "$out" && eval "\"$sweep\" --workdir \"$out/wd\" $repro") >"$out/srv-repro.out" 2>&1
[ $? = 1 ] || { bad "the server's reproducer '$repro' did not fail"; cat "$out/srv-repro.out"; }
hand=$(sed -n 's/^  by hand:   //p' "$out/srv.out" | head -1)
rm -rf "$out/hand3" && mkdir "$out/hand3" && (cd "$out/hand3" && eval "$hand") >"$out/srv-hand.out" 2>&1
grep -qx "pmem-sweep: fail" "$out/srv-hand.out" || bad "the server's by-hand line '$hand' did not fail"
# The first server passes the counting run and hangs on point 1; a new one judges point 2.
"$sweep" --workdir "$out/wd" --states none --check-timeout 1 \
	--check-server 'read -r d; echo "pmem-sweep: pass"; read -r d; exec sleep 30' -- "$fd" pool 1 >"$out/srv-hang.out" 2>&1
[ $? = 1 ] || bad "a hanging server should fail its state"
[ "$(grep -c "FAILED: the check server timed out after 1 s" "$out/srv-hang.out")" = 1 ] ||
	{ bad "hanging server not reported once"; cat "$out/srv-hang.out"; }

# --workdir DIR holding the user's files: they all survive (issue 11).
mkdir -p "$out/w/job-scheduler" && echo 'int main(void){return 0;}' >"$out/w/counter.c"
echo keep >"$out/w/job-scheduler/notes" && echo keep >"$out/w/count"
"$sweep" --workdir "$out/w" --check "$fd -c pool" -- "$fd" pool 2 >/dev/null 2>&1 || bad "sweep in w/ failed"
for f in counter.c count job-scheduler/notes; do
	[ -e "$out/w/$f" ] || bad "pmem-sweep --workdir deleted the user's $f"
done
[ "$(ls -A "$out/w" | sort | tr '\n' ' ')" = "count counter.c job-scheduler " ] ||
	bad "pmem-sweep left something in w/: $(ls -A "$out/w")"
rmdir "$out/wd" 2>/dev/null

[ "$t_failed" = 0 ] && echo "sweep: ordering bugs found, correct program clean in every state, tear, missing-flush report, usability ok"
[ "$t_failed" = 0 ]
