/*
 * test_log.c -- pmem_log_set_threshold, pmem_log_get_threshold and
 * pmem_log_set_function: defaults, every level, the EINVAL cases, and a
 * user logging function that receives the library's messages, filtered by
 * the main threshold, until the default function is restored.
 * needs: PMDK 2.1's logging API (Debian's PMDK 1.12 has none)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpmem.h>

#include "lib/check.h"

#define ALL_LEVELS 7

static int calls;
static int calls_by_level[ALL_LEVELS];
static int bad_calls;
static char last_message[1024];

static void
collect(enum pmem_log_level level, const char *file_name, unsigned line_no,
	const char *function_name, const char *message)
{
	(void)line_no;
	calls++;
	if ((int)level < 0 || (int)level >= ALL_LEVELS || message == NULL ||
	    (file_name != NULL && function_name == NULL)) {
		bad_calls++;
		return;
	}
	calls_by_level[level]++;
	snprintf(last_message, sizeof(last_message), "%s", message);
}

static void
reset_calls(void)
{
	calls = bad_calls = 0;
	memset(calls_by_level, 0, sizeof(calls_by_level));
	last_message[0] = '\0';
}

/* Calls below the threshold's severity that reached the function. */
static int
calls_less_severe_than(enum pmem_log_level threshold)
{
	int n = 0;
	for (int l = (int)threshold + 1; l < ALL_LEVELS; l++)
		n += calls_by_level[l];
	return n;
}

/* Something every libpmem reports as an error: a missing file. */
static void
provoke_error(void)
{
	void *p = pmem_map_file(t_path("no-such-dir/no-such-file"), 0, 0, 0, NULL, NULL);
	CHECK(p == NULL, "mapping a missing file succeeded");
}

static enum pmem_log_level
get(enum pmem_log_threshold t)
{
	enum pmem_log_level v = (enum pmem_log_level)-1;
	CHECK(pmem_log_get_threshold(t, &v) == 0, "pmem_log_get_threshold(%d) failed: %s", t,
		strerror(errno));
	return v;
}

static void
thresholds(void)
{
	if (!getenv("PMEM_LOG_LEVEL"))
		CHECK(get(PMEM_LOG_THRESHOLD) == PMEM_LOG_LEVEL_WARNING,
			"default main threshold is %d, want PMEM_LOG_LEVEL_WARNING", get(PMEM_LOG_THRESHOLD));
	CHECK(get(PMEM_LOG_THRESHOLD_AUX) == PMEM_LOG_LEVEL_HARK,
		"default auxiliary threshold is %d, want PMEM_LOG_LEVEL_HARK",
		get(PMEM_LOG_THRESHOLD_AUX));

	for (int t = PMEM_LOG_THRESHOLD; t <= PMEM_LOG_THRESHOLD_AUX; t++)
		for (int l = PMEM_LOG_LEVEL_HARK; l <= PMEM_LOG_LEVEL_DEBUG; l++) {
			int r = pmem_log_set_threshold((enum pmem_log_threshold)t, (enum pmem_log_level)l);
			CHECK(r == 0, "pmem_log_set_threshold(%d, %d) = %d: %s", t, l, r, strerror(errno));
			CHECK(get((enum pmem_log_threshold)t) == (enum pmem_log_level)l,
				"threshold %d reads back as %d after setting %d", t,
				get((enum pmem_log_threshold)t), l);
		}
	/* Keep the built-in function's stderr copy quiet for the rest of the test. */
	pmem_log_set_threshold(PMEM_LOG_THRESHOLD_AUX, PMEM_LOG_LEVEL_HARK);

	/* Errors: EINVAL, and the threshold stays as it was. */
	pmem_log_set_threshold(PMEM_LOG_THRESHOLD, PMEM_LOG_LEVEL_NOTICE);
	errno = 0;
	CHECK_FAILS(pmem_log_set_threshold((enum pmem_log_threshold)2, PMEM_LOG_LEVEL_ERROR) != 0,
		1, EINVAL, "pmem_log_set_threshold of threshold 2");
	errno = 0;
	CHECK_FAILS(pmem_log_set_threshold((enum pmem_log_threshold)-1, PMEM_LOG_LEVEL_ERROR) != 0,
		1, EINVAL, "pmem_log_set_threshold of threshold -1");
	errno = 0;
	CHECK_FAILS(pmem_log_set_threshold(PMEM_LOG_THRESHOLD, (enum pmem_log_level)7) != 0,
		1, EINVAL, "pmem_log_set_threshold to level 7");
	errno = 0;
	CHECK_FAILS(pmem_log_set_threshold(PMEM_LOG_THRESHOLD, (enum pmem_log_level)-1) != 0,
		1, EINVAL, "pmem_log_set_threshold to level -1");
	CHECK(get(PMEM_LOG_THRESHOLD) == PMEM_LOG_LEVEL_NOTICE,
		"a failed pmem_log_set_threshold changed the threshold to %d", get(PMEM_LOG_THRESHOLD));

	enum pmem_log_level v;
	errno = 0;
	CHECK_FAILS(pmem_log_get_threshold((enum pmem_log_threshold)2, &v) != 0, 1, EINVAL,
		"pmem_log_get_threshold of threshold 2");
	errno = 0;
	CHECK_FAILS(pmem_log_get_threshold(PMEM_LOG_THRESHOLD, NULL) != 0, 1, EINVAL,
		"pmem_log_get_threshold into NULL");
}

static void
user_function(void)
{
	CHECK(pmem_log_set_function(collect) == 0, "pmem_log_set_function(collect) failed: %s",
		strerror(errno));

	/* Threshold WARNING (the default): the error arrives, nothing less severe does. */
	pmem_log_set_threshold(PMEM_LOG_THRESHOLD, PMEM_LOG_LEVEL_WARNING);
	reset_calls();
	provoke_error();
	CHECK(calls_by_level[PMEM_LOG_LEVEL_ERROR] > 0,
		"a failed pmem_map_file logged no ERROR message to the user function (%d calls)",
		calls);
	CHECK(last_message[0] != '\0', "the user function received an empty message");
	CHECK(bad_calls == 0, "%d calls had a bad level, a NULL message, or a file name without "
		"a function name", bad_calls);
	CHECK(calls_less_severe_than(PMEM_LOG_LEVEL_WARNING) == 0,
		"%d messages less severe than the WARNING threshold reached the function",
		calls_less_severe_than(PMEM_LOG_LEVEL_WARNING));

	/* Threshold FATAL: errors are filtered out. */
	pmem_log_set_threshold(PMEM_LOG_THRESHOLD, PMEM_LOG_LEVEL_FATAL);
	reset_calls();
	provoke_error();
	CHECK(calls_less_severe_than(PMEM_LOG_LEVEL_FATAL) == 0,
		"with threshold FATAL, %d less severe messages reached the function",
		calls_less_severe_than(PMEM_LOG_LEVEL_FATAL));

	/* Threshold DEBUG: everything passes, the error included. */
	pmem_log_set_threshold(PMEM_LOG_THRESHOLD, PMEM_LOG_LEVEL_DEBUG);
	reset_calls();
	provoke_error();
	CHECK(calls_by_level[PMEM_LOG_LEVEL_ERROR] > 0,
		"with threshold DEBUG the error did not reach the function");

	/* Back to the built-in function: ours is no longer called. */
	pmem_log_set_threshold(PMEM_LOG_THRESHOLD, PMEM_LOG_LEVEL_WARNING);
	CHECK(pmem_log_set_function(PMEM_LOG_USE_DEFAULT_FUNCTION) == 0,
		"restoring the default logging function failed: %s", strerror(errno));
	reset_calls();
	provoke_error();
	CHECK(calls == 0, "the user function was called %d times after the default function was "
		"restored", calls);
}

int
main(void)
{
	t_begin("test_log");
	thresholds();
	user_function();
	return t_end();
}
