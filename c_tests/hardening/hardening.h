/*
 * hardening.h -- what the hardening tests share: a check macro with a
 * failure count, a scratch directory removed at exit, and probes of the
 * process (open descriptors, resident memory, time).
 *
 * Each test is one C file with its own main(), built against the installed
 * libpmem exactly as a user would build it.
 */
#ifndef HARDENING_H
#define HARDENING_H 1

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <libpmem.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int hd_checks, hd_failures;
static char hd_scratch[4096];

/* Counts a check; on failure prints where and why, and goes on. */
#define CHECK(cond, ...) hd_check(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)

static inline int
hd_check(int ok, const char *file, int line, const char *what, const char *fmt, ...)
{
	__atomic_add_fetch(&hd_checks, 1, __ATOMIC_RELAXED);
	if (ok)
		return 1;
	__atomic_add_fetch(&hd_failures, 1, __ATOMIC_RELAXED);
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL %s:%d: %s: ", file, line, what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 0;
}

/* Prints the test's tally; the exit status for main(). */
static inline int
hd_finish(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, hd_checks, hd_failures);
	return hd_failures ? 1 : 0;
}

/*
 * Under valgrind or a sanitizer (HARDENING_SANITIZER set by the Makefile)
 * the tests run smaller and report timing and memory figures without
 * judging them: those tools change both.
 */
static inline int
hd_sanitized(void)
{
	const char *s = getenv("HARDENING_SANITIZER");
	return s && *s && strcmp(s, "0") != 0;
}

/* The number of open file descriptors (entries of /proc/self/fd). */
static inline int
hd_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

/* VmRSS of this process in KiB, or -1. */
static inline long
hd_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	char line[256];
	long kib = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static inline uint64_t
hd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
hd_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void
hd_remove_tree(const char *path)
{
	nftw(path, hd_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
hd_remove_scratch(void)
{
	if (hd_scratch[0])
		hd_remove_tree(hd_scratch);
}

/* A fresh directory under $TMPDIR (or /tmp), removed at exit. */
static inline const char *
hd_make_scratch(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(hd_scratch, sizeof(hd_scratch), "%s/pmem-%s-XXXXXX",
		tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(hd_scratch)) {
		perror("mkdtemp");
		exit(2);
	}
	atexit(hd_remove_scratch);
	return hd_scratch;
}

/* Writes `size` zero bytes to a new file `path`; 0 or -1. */
static inline int
hd_make_file(const char *path, size_t size)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = size == 0 || ftruncate(fileno(f), (off_t)size) == 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* A logging function that drops everything: failure paths are exercised by
 * the million here, and the default logger would send each to syslog. */
static inline void
hd_quiet_log(enum pmem_log_level level, const char *file_name, unsigned line_no,
	const char *function_name, const char *message)
{
	(void)level;
	(void)file_name;
	(void)line_no;
	(void)function_name;
	(void)message;
}

#endif
