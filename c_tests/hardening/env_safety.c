/*
 * env_safety.c -- the PMEM_* variables as a privileged program meets them
 * (run by env_safety.sh, which sets them).
 *
 *   env_safety privileged     installed setuid root and run by another user:
 *                             every variable must read as unset, so
 *                             PMEM_IS_PMEM_FORCE=1, PMEM_NO_FLUSH=1,
 *                             PMEM_PERSIST_MODE=msync and
 *                             PMEM_MOVNT_THRESHOLD=1 change nothing (the
 *                             script checks that PMEM_LOG_FILE and
 *                             PMEM_FIT_REPORT created nothing). Exits 77
 *                             when the setuid bit took no effect.
 *   env_safety unprivileged   the same variables honoured (the control run,
 *                             and the FIFO case: reaching main at all is
 *                             the test there).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/check.h"
#include <pmem_attr.h>

int
main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: env_safety privileged|unprivileged\n");
		return 2;
	}
	int privileged = strcmp(argv[1], "privileged") == 0;
	if (privileged && (geteuid() != 0 || getuid() == 0)) {
		printf("env_safety: uid %d euid %d: not running setuid root\n",
			(int)getuid(), (int)geteuid());
		return 77;
	}
	t_begin(privileged ? "env_safety privileged" : "env_safety unprivileged");
	/* An ordinary heap buffer: pmem only if PMEM_IS_PMEM_FORCE=1 is obeyed. */
	static char buf[4096];
	int want = privileged ? 0 : 1;
	CHECK(pmem_is_pmem(buf, sizeof(buf)) == want,
		"PMEM_IS_PMEM_FORCE=1 %s", privileged ? "obeyed in a setuid program" : "ignored");
	struct pmem_attr a;
	if (CHECK(pmem_get_attr(buf, sizeof(buf), &a) == 0, "pmem_get_attr")) {
		const char *mode = privileged ? "flush" : "msync";
		CHECK(strcmp(a.persist_mode, mode) == 0, "persistence mode %s, want %s",
			a.persist_mode, mode);
		/* Without PMEM_NO_FLUSH only eADR makes the flush "none". */
		int no_flush = strcmp(a.flush_instruction, "none") == 0;
		CHECK(privileged ? !no_flush || a.stores_durable_at_fence : no_flush,
			"flush instruction %s with PMEM_NO_FLUSH=1", a.flush_instruction);
		CHECK((a.movnt_threshold == 1) == !privileged,
			"movnt threshold %zu with PMEM_MOVNT_THRESHOLD=1", a.movnt_threshold);
	}
	return t_end();
}
