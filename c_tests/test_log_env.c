/*
 * test_log_env.c -- PMEM_LOG_LEVEL (a number 0-6 or a level name) sets the
 * main threshold at load, and PMEM_LOG_FILE makes the built-in logging
 * function write there: checked in child processes started with them set.
 * needs: PMDK 2.1's logging API (Debian's PMDK 1.12 has none)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpmem.h>

#include "lib/check.h"

/* The version the children ask for, so their error is easy to find in a log. */
#define ODD_MAJOR 4242

static char *
slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}

/* Child: the threshold is what the environment said; then log an error. */
static int
child(const char *mode)
{
	t_begin(mode);
	int want = atoi(mode + strlen("level-"));
	enum pmem_log_level got = (enum pmem_log_level)-1;
	CHECK(pmem_log_get_threshold(PMEM_LOG_THRESHOLD, &got) == 0 && (int)got == want,
		"PMEM_LOG_LEVEL=%s gave main threshold %d, want %d", getenv("PMEM_LOG_LEVEL"),
		(int)got, want);
	CHECK(pmem_check_version(ODD_MAJOR, 0) != NULL, "version %d accepted", ODD_MAJOR);
	return t_end();
}

/* Runs a child with PMEM_LOG_LEVEL=value and PMEM_LOG_FILE set; returns the log. */
static const char *
run_with(const char *value, int want_level, const char *log_name)
{
	char level_env[64], file_env[4200], mode[32];
	snprintf(level_env, sizeof(level_env), "PMEM_LOG_LEVEL=%s", value);
	snprintf(file_env, sizeof(file_env), "PMEM_LOG_FILE=%s", t_path(log_name));
	snprintf(mode, sizeof(mode), "level-%d", want_level);
	const char *env[] = {level_env, file_env, NULL};
	CHECK(t_run_child(mode, env) == 0, "child with PMEM_LOG_LEVEL=%s failed (see its output)",
		value);
	return slurp(t_path(log_name));
}

int
main(int argc, char *argv[])
{
	if (argc > 1)
		return child(argv[1]);
	t_begin("test_log_env");
	char odd[16];
	snprintf(odd, sizeof(odd), "%d", ODD_MAJOR);

	const char *log = run_with("debug", PMEM_LOG_LEVEL_DEBUG, "debug.log");
	CHECK(t_mentions_number(log, ODD_MAJOR),
		"with PMEM_LOG_LEVEL=debug the version error (naming %s) is not in PMEM_LOG_FILE; "
		"it holds: \"%.300s\"", odd, log);

	log = run_with("2", PMEM_LOG_LEVEL_ERROR, "error.log");
	CHECK(t_mentions_number(log, ODD_MAJOR),
		"with PMEM_LOG_LEVEL=2 (error) the version error is not in PMEM_LOG_FILE: \"%.300s\"",
		log);

	log = run_with("WARNING", PMEM_LOG_LEVEL_WARNING, "warning.log");
	CHECK(t_mentions_number(log, ODD_MAJOR),
		"with PMEM_LOG_LEVEL=WARNING the version error is not in PMEM_LOG_FILE: \"%.300s\"",
		log);

	log = run_with("fatal", PMEM_LOG_LEVEL_FATAL, "fatal.log");
	CHECK(!t_mentions_number(log, ODD_MAJOR),
		"with PMEM_LOG_LEVEL=fatal an ERROR message still reached PMEM_LOG_FILE: \"%.300s\"",
		log);

	log = run_with("0", PMEM_LOG_LEVEL_HARK, "hark.log");
	CHECK(!t_mentions_number(log, ODD_MAJOR),
		"with PMEM_LOG_LEVEL=0 an ERROR message still reached PMEM_LOG_FILE: \"%.300s\"", log);
	return t_end();
}
