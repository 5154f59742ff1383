#!/usr/bin/env bash
# The crash-testing corpus (issue 20): every program swept with pmem-sweep,
# its workload on stdin, its own checker after every crash state (one
# checker process a job, --check-server).
#  - each correct program passes every state swept;
#  - each planted bug class is found:
#      btree           a node changed by a split, never added to the transaction
#      rbtree          a parent's child slot written outside the undo log
#      hashmap_atomic  a 16-byte pointer across two cache lines, one store
#      hashmap_tx      a count persisted after the transaction that publishes
#
#   corpus-test.sh OUTDIR small   a short workload and a few states a point (CI)
#   corpus-test.sh OUTDIR long    a longer workload and the default states
set -uo pipefail
exec </dev/null
out=$(cd "${1:?usage: corpus-test.sh OUTDIR small|long}" && pwd)
size=${2:-small}
here=$(cd "$(dirname "$0")" && pwd)
sweep=${PMEM_SWEEP:?PMEM_SWEEP names the pmem-sweep binary}
. "$here/../lib/testlib.sh"

case $size in
small) ops=8 opts=(--budget 2) ;;
long) ops=40 opts=() ;;
*) echo "corpus-test.sh: want small or long, not $size" >&2; exit 2 ;;
esac

# What each planted bug makes the checker say (at least one failing state).
declare -A found=(
	[btree]="listed twice|is missing|out of order|holds"
	[rbtree]="is missing|another parent|dangling|cycle|out of order|black nodes|red node"
	[hashmap_atomic]="points nowhere"
	[hashmap_tx]="count [0-9]* for [0-9]* entries"
)
# States that reach the bug in the small run: the straddling pointer needs
# one of its two lines flipped alone.
declare -A states=([hashmap_atomic]="none,each")

for prog in btree rbtree hashmap_atomic hashmap_tx; do
	d="$out/$prog"
	mkdir -p "$d"
	"$here/$prog" create "$d/template" || { t_fail "$prog: cannot create a pool"; continue; }
	"$here/$prog" gen "$ops" 1 >"$d/workload"
	st=(${states[$prog]:+--states "${states[$prog]}"})
	[ "$size" = long ] && st=()
	for variant in good bad; do
		flag=()
		[ $variant = bad ] && flag=(-b)
		"$sweep" --jobs 2 --seed 1 "${opts[@]}" "${st[@]}" --workdir "$d/wd" \
			--setup "cp $d/template pool" --check-server "$here/$prog serve pool $d/workload" \
			-- "$here/$prog" "${flag[@]}" run pool <"$d/workload" >"$d/$variant.out" 2>"$d/$variant.err"
		status=$?
		summary=$(grep "states passed" "$d/$variant.err")
		if [ $variant = good ]; then
			if [ $status = 0 ]; then
				t_pass "$prog: ${summary#pmem-sweep: }"
			else
				t_fail "$prog: the correct program failed its sweep (exit $status)" \
					"$(head -5 "$d/$variant.out")" "$(tail -3 "$d/$variant.err")"
			fi
		elif [ $status = 1 ] && grep -Eq "FAILED: .*(${found[$prog]})" "$d/$variant.out"; then
			t_pass "$prog -b: planted bug found: $(grep -c FAILED "$d/$variant.out") failing, ${summary#pmem-sweep: }"
		else
			t_fail "$prog -b: the planted bug was not found (exit $status)" \
				"$(head -3 "$d/$variant.out")" "$(tail -3 "$d/$variant.err")"
		fi
	done
done
t_summary
