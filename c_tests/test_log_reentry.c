/*
 * test_log_reentry.c -- a user log function meets the library's error path:
 * it already sees the new pmem_errormsg(), it may call a failing libpmem
 * function without recursing, it may longjmp out without leaking (the
 * valgrind and ASan runs of c_tests/hardening count the leaks), and
 * unknown pmem_mem* flags reach it at most once per process.
 * needs: PMDK 2.1's logging API (Debian's PMDK 1.12 has none)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <libpmem.h>

#include "lib/check.h"

#define LONGJMP_ROUNDS 1000

static int depth, max_depth, calls;
static int errormsg_matched;
static jmp_buf escape;

/* A path whose mapping fails, naming `what` so messages can be told apart. */
static const char *
missing(const char *what)
{
	return t_path(what);
}

static void
fail_once(const char *what)
{
	void *p = pmem_map_file(missing(what), 0, 0, 0, NULL, NULL);
	CHECK(p == NULL, "mapping a missing file succeeded");
}

/* Compares pmem_errormsg() with the message, then fails again inside. */
static void
reentering(enum pmem_log_level level, const char *file_name, unsigned line_no,
	const char *function_name, const char *message)
{
	(void)level, (void)file_name, (void)line_no, (void)function_name;
	calls++;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (strcmp(pmem_errormsg(), message) == 0)
		errormsg_matched++;
	if (depth < 50) /* a bound, so a broken library fails instead of crashing */
		fail_once("inner/file");
	depth--;
}

static void
escaping(enum pmem_log_level level, const char *file_name, unsigned line_no,
	const char *function_name, const char *message)
{
	(void)level, (void)file_name, (void)line_no, (void)function_name, (void)message;
	calls++;
	longjmp(escape, 1);
}

static int flag_warnings;

static void
counting(enum pmem_log_level level, const char *file_name, unsigned line_no,
	const char *function_name, const char *message)
{
	(void)level, (void)file_name, (void)line_no, (void)function_name;
	calls++;
	if (strstr(message, "flags"))
		flag_warnings++;
}

static void
reentry(void)
{
	calls = depth = max_depth = errormsg_matched = 0;
	CHECK(pmem_log_set_function((pmem_log_function *)reentering) == 0, "set_function failed");
	errno = 0;
	fail_once("outer/file");
	int e = errno;
	pmem_log_set_function(PMEM_LOG_USE_DEFAULT_FUNCTION);
	CHECK(max_depth == 1, "the log function nested %d deep, want 1 (no re-entry)", max_depth);
	CHECK(calls == 1, "the log function ran %d times for one outer failure, want 1", calls);
	CHECK(errormsg_matched == calls,
		"pmem_errormsg() inside the log function was the previous message (%d of %d)",
		calls - errormsg_matched, calls);
	CHECK(e == ENOENT, "errno after the outer failure is %d, want ENOENT", e);
	CHECK(strstr(pmem_errormsg(), "outer") != NULL,
		"pmem_errormsg() after the call is \"%s\", want the outer failure's", pmem_errormsg());
}

static void
escape_by_longjmp(void)
{
	calls = 0;
	CHECK(pmem_log_set_function((pmem_log_function *)escaping) == 0, "set_function failed");
	for (volatile int i = 0; i < LONGJMP_ROUNDS; i++) {
		if (setjmp(escape) == 0)
			fail_once("jumped/file");
	}
	pmem_log_set_function(PMEM_LOG_USE_DEFAULT_FUNCTION);
	CHECK(calls == LONGJMP_ROUNDS, "the longjmping log function ran %d times, want %d", calls,
		LONGJMP_ROUNDS);
	/* After a longjmp out, the next failure still reaches a log function. */
	calls = 0;
	CHECK(pmem_log_set_function((pmem_log_function *)counting) == 0, "set_function failed");
	fail_once("after/file");
	CHECK(calls == 1, "after a longjmp out, a failure reached the log function %d times", calls);
	pmem_log_set_function(PMEM_LOG_USE_DEFAULT_FUNCTION);
}

static void
unknown_flags_quietly(void)
{
	char a[256], b[256];
	memset(b, 5, sizeof(b));
	calls = flag_warnings = 0;
	CHECK(pmem_log_set_function((pmem_log_function *)counting) == 0, "set_function failed");
	for (int i = 0; i < 1000; i++) {
		errno = 4321;
		pmem_memcpy(a, b, sizeof(a), 0x10000u | PMEM_F_MEM_NODRAIN);
		CHECK(errno == 4321, "pmem_memcpy with unknown flags set errno to %d", errno);
		pmem_memset(a, 5, sizeof(a), 0x20000u);
		pmem_memmove(a, b, sizeof(a), 0x40000u);
	}
	pmem_log_set_function(PMEM_LOG_USE_DEFAULT_FUNCTION);
	CHECK(a[0] == 5 && a[255] == 5, "the copies did not happen");
	CHECK(flag_warnings <= 1, "unknown flags were logged %d times, want at most once",
		flag_warnings);
}

int
main(void)
{
	t_begin("test_log_reentry");
	pmem_log_set_threshold(PMEM_LOG_THRESHOLD, PMEM_LOG_LEVEL_WARNING);
	reentry();
	escape_by_longjmp();
	unknown_flags_quietly();
	return t_end();
}
