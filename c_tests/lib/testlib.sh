#!/bin/sh
# testlib.sh -- the one shell helper of the test scripts: result lines, the
# skip rule, and the closing tally the CI runner reads.
#
# Sourced (POSIX sh or bash):   . "$root/c_tests/lib/testlib.sh"
#   t_pass NAME                 "PASS: NAME"
#   t_fail NAME [WHY...]        "FAIL: NAME", then each WHY indented
#   t_skip NAME WHY             a tool or privilege is missing: "SKIP: NAME (WHY)",
#                               but under CI=true a FAIL, since CI installs everything
#   t_skip_by_design NAME WHY   the case does not apply here (no install can
#                               change that): a skip even under CI
#   t_tally FILE                adds the PASS:/FAIL:/SKIP: lines another runner
#                               printed into FILE to the counts
#   t_summary                   names the failures, prints "N passed, N failed"
#                               (", N skipped" if any) alone on a line; its status
#                               is 0 only if nothing failed
# From a Makefile or another language:
#   testlib.sh skip NAME WHY    prints the SKIP (exit 0) or, under CI=true, the FAIL (exit 1)
#   testlib.sh summary FILE     t_tally FILE, then t_summary

t_passed=0
t_failed=0
t_skipped=0
t_failed_names=

t_pass() {
	t_passed=$((t_passed + 1))
	echo "PASS: $1"
}

t_fail() {
	t_failed=$((t_failed + 1))
	t_failed_names="$t_failed_names
  $1"
	echo "FAIL: $1"
	shift
	for t_why in "$@"; do
		printf '%s\n' "$t_why" | sed 's/^/    /'
	done
}

t_skip() {
	if [ "${CI:-}" = true ]; then
		t_fail "$1 (cannot be skipped under CI=true: $2)"
		return
	fi
	t_skip_by_design "$1" "$2"
}

t_skip_by_design() {
	t_skipped=$((t_skipped + 1))
	echo "SKIP: $1 ($2)"
}

t_tally() {
	while IFS= read -r t_line; do
		case $t_line in
		"PASS: "*) t_passed=$((t_passed + 1)) ;;
		"FAIL: "*)
			t_failed=$((t_failed + 1))
			t_failed_names="$t_failed_names
  ${t_line#FAIL: }"
			;;
		"SKIP: "*) t_skipped=$((t_skipped + 1)) ;;
		esac
	done <"$1"
}

t_summary() {
	[ "$t_failed" = 0 ] || echo "failed:$t_failed_names"
	if [ "$t_skipped" = 0 ]; then
		echo "$t_passed passed, $t_failed failed"
	else
		echo "$t_passed passed, $t_failed failed, $t_skipped skipped"
	fi
	[ "$t_failed" = 0 ]
}

if [ "${0##*/}" = testlib.sh ] && [ $# -gt 0 ]; then
	case $1 in
	skip)
		t_skip "${2:?usage: testlib.sh skip NAME WHY}" "${3:?usage: testlib.sh skip NAME WHY}"
		[ "$t_failed" = 0 ]
		;;
	summary)
		t_tally "${2:?usage: testlib.sh summary FILE}"
		t_summary
		;;
	*)
		echo "usage: testlib.sh skip NAME WHY | summary FILE" >&2
		exit 2
		;;
	esac
fi
