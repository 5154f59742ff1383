#!/usr/bin/env bash
# The PMEM_* variables must not reach into a privileged program, and no file
# they name may stop a program before main. Runs env_safety (the program
# named by $1) in a fresh directory of its own, always removed:
#
# fifo      PMEM_LOG_FILE and PMEM_FIT_REPORT name FIFOs nobody reads: the
#           program must still start (under a 20 s timeout), and nothing may
#           have been written into them.
# setuid    a setuid-root copy, run as user nobody with PMEM_LOG_FILE and
#           PMEM_FIT_REPORT naming files in a root-only (0700) directory and
#           variables that switch off durability (PMEM_IS_PMEM_FORCE=1,
#           PMEM_NO_FLUSH=1, PMEM_PERSIST_MODE=msync): it must create nothing
#           there and ignore them all. The same copy run by root itself (no privilege gained, so
#           the variables count) must create the log file: the control that
#           shows the check can fail. Needs root and setpriv; otherwise a named
#           skip, which under CI=true is a failure.
set -u
prog=${1:?usage: env_safety.sh PROGRAM}
. "$(dirname "$0")/../lib/testlib.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/env-safety-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP PIPE
# What env_safety checks is honoured unprivileged and ignored privileged.
switches=(PMEM_IS_PMEM_FORCE=1 PMEM_NO_FLUSH=1 PMEM_PERSIST_MODE=msync PMEM_MOVNT_THRESHOLD=1)

fifo_case() {
	mkfifo "$dir/log.fifo" "$dir/report.fifo" || { t_fail fifo "mkfifo failed"; return; }
	local out status
	out=$(env PMEM_LOG_FILE="$dir/log.fifo" PMEM_FIT_REPORT="$dir/report.fifo" "${switches[@]}" \
		timeout 20 "$prog" unprivileged 2>&1)
	status=$?
	if [ "$status" = 124 ]; then
		t_fail fifo "the program hung before main with PMEM_LOG_FILE and PMEM_FIT_REPORT naming FIFOs"
	elif [ "$status" != 0 ]; then
		t_fail fifo "exit status $status" "$out"
	else
		t_pass fifo
	fi
	rm -f "$dir/log.fifo" "$dir/report.fifo"
}

setuid_case() {
	[ "$(id -u)" = 0 ] || { t_skip setuid "needs root to install a setuid-root program"; return; }
	command -v setpriv >/dev/null || { t_skip setuid "no setpriv (Debian package util-linux)"; return; }
	local nobody nogroup
	nobody=$(id -u nobody 2>/dev/null) && nogroup=$(id -g nobody) ||
		{ t_skip setuid "no user nobody"; return; }
	as_nobody() { setpriv --reuid="$nobody" --regid="$nogroup" --clear-groups "$@"; }

	chmod 755 "$dir"
	mkdir -m 700 "$dir/secret"
	cp "$prog" "$dir/env_safety" && chown 0:0 "$dir/env_safety" && chmod 4755 "$dir/env_safety"
	vars=(PMEM_LOG_FILE="$dir/secret/log" PMEM_FIT_REPORT="$dir/secret/report"
		PMEM_LOG_LEVEL=debug "${switches[@]}")
	# Without the setuid bit, nobody must be able to run it at all (it finds its library).
	local out status
	chmod 755 "$dir/env_safety"
	if ! out=$(as_nobody env "${vars[@]}" "$dir/env_safety" unprivileged 2>&1); then
		t_skip setuid "user nobody cannot run the test program here (its library unreadable?): $out"
		return
	fi
	chmod 4755 "$dir/env_safety"
	out=$(as_nobody env "${vars[@]}" "$dir/env_safety" privileged 2>&1)
	status=$?
	if [ "$status" = 77 ]; then
		t_skip setuid "the setuid bit has no effect in $dir (a nosuid mount?)"
		return
	fi
	local created
	created=$(ls -A "$dir/secret")
	if [ "$status" != 0 ] || [ -n "$created" ]; then
		t_fail setuid "a setuid-root program run by nobody honoured PMEM_* variables" \
			"exit status $status; created in the root-only directory: ${created:-nothing}" "$out"
	else
		t_pass setuid
	fi

	rm -rf "$dir/secret"/*
	out=$(env "${vars[@]}" "$dir/env_safety" unprivileged 2>&1)
	status=$?
	if [ "$status" = 0 ] && [ -f "$dir/secret/log" ]; then
		t_pass "setuid control (root's own run honours the variables)"
	else
		t_fail "setuid control (root's own run honours the variables)" \
			"exit status $status; no log file: $(ls -A "$dir/secret")" "$out"
	fi
}

fifo_case
setuid_case
t_summary
