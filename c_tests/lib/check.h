/*
 * check.h -- the one test kit every C test here uses (link lib/check.c):
 *
 *   - CHECK(cond, fmt, ...): counts a check; on failure prints file:line,
 *     the expression, the message and pmem_errormsg(), and goes on;
 *   - t_skip(what, why): a named skip, a failure under CI=true;
 *   - t_begin(name) / t_end(): which libpmem serves the test (checked against
 *     PMEM_TEST_LIB when the runner sets it), and the tally
 *     "NAME: N passed, N failed[, N skipped]"; t_end's value is main's status;
 *   - a private scratch directory removed at the end, even on early exit;
 *   - re-running the test binary with another environment, fill patterns,
 *     and probes of the process (descriptors, resident memory, time).
 *
 * Portable C99 and C++11, -Wall -Wextra -pedantic clean, no libpmem link
 * dependency of its own: a test that must not include or link libpmem
 * defines T_NO_LIBPMEM before including this header.
 */
#ifndef C_TESTS_CHECK_H
#define C_TESTS_CHECK_H 1

#include <stddef.h>
#include <stdint.h>

#ifndef T_NO_LIBPMEM
#include <libpmem.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Counts a check; unless cond holds, records a failure and says where and why. */
#define CHECK(cond, ...) t_check(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)

/*
 * CHECK for a call that must fail: call must return bad and set errno to err.
 * errno is read only after the call returned.
 */
#define CHECK_FAILS(call, bad, err, what) do { \
	__typeof__(call) ret_ = (call); \
	int errno_ = errno; \
	t_check_fails(ret_ == (bad), errno_, (err), __FILE__, __LINE__, (what)); \
} while (0)

/* Returns ok, so a test can stop a case that cannot go on. Thread-safe. */
int t_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void t_check_fails(int returned_bad, int got_errno, int want_errno,
	const char *file, int line, const char *what);

/* Compares len bytes; a failure names `what` and the first differing byte. */
#define CHECK_MEM(got, want, len, what) \
	t_check_mem((got), (want), (len), __FILE__, __LINE__, (what))
int t_check_mem(const void *got, const void *want, size_t len,
	const char *file, int line, const char *what);

/*
 * A part of the test that cannot run here: counted as skipped and named
 * with the reason, or counted as a failure when CI=true.
 */
void t_skip(const char *what, const char *why_fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Starts a test program. With libpmem: prints which libpmem serves it and,
 * when the runner says which one must (PMEM_TEST_LIB: a path, or "static"),
 * fails if another one does; failures also print pmem_errormsg().
 */
void t_begin_with(const char *name, const char *(*errormsg)(void));
#ifndef T_NO_LIBPMEM
#define t_begin(name) t_begin_with((name), pmem_errormsg)
#else
#define t_begin(name) t_begin_with((name), NULL)
#endif
/*
 * Removes the scratch directory, prints "NAME: N passed, N failed" (and
 * ", N skipped" if any) and returns the exit status: 0, or 1 on a failure.
 */
int t_end(void);

/* 1 when the runner is checking these tests against Debian's PMDK libpmem. */
int t_is_pmdk(void);

/*
 * 1 when the runner put this program under valgrind or a sanitizer
 * (HARDENING_SANITIZER, set by c_tests/hardening); long case matrices and
 * time or memory limits scale down or only report there.
 */
int t_sanitized(void);
/* 1 under valgrind only (HARDENING_SANITIZER=valgrind), some 30 times slower. */
int t_under_valgrind(void);

/*
 * A fresh private directory "$TMPDIR/pmem-NAME-XXXXXX" (or under /tmp),
 * removed by t_end or at exit of the process that made it.
 */
const char *t_tmpdir(void);
/* "<t_tmpdir()>/<name>", in a static buffer per call slot (4 slots). */
const char *t_path(const char *name);
/* Creates (or truncates) path as `size` zero bytes; 0 or -1. */
int t_make_file(const char *path, size_t size);
/* Removes a directory tree (or a file); no symlink is followed. */
void t_remove_tree(const char *path);

/* 1 if decimal number n appears in s not as part of a longer number. */
int t_mentions_number(const char *s, unsigned long n);

/*
 * Runs this same executable again as "<exe> <mode>" with the given
 * NAME=VALUE settings added to (or, for "NAME", removed from) its
 * environment; NULL-terminated list. Returns its exit status, or -1.
 */
int t_run_child(const char *mode, const char *const env[]);

/* Fills buf with a pattern that depends on seed, so copies are checkable. */
void t_fill(unsigned char *buf, size_t len, unsigned seed);

/* The number of open file descriptors of this process, or -1. */
int t_count_fds(void);
/* VmRSS of this process in KiB, or -1. */
long t_rss_kib(void);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t t_now_ns(void);

#ifdef PMEM_LOG_USE_DEFAULT_FUNCTION
/*
 * A pmem_log_function (libpmem 2.1 API) that drops everything: for tests
 * that drive failure paths by the thousand, where the default logger would
 * send each to syslog.
 */
static inline void
t_quiet_log(enum pmem_log_level level, const char *file_name, unsigned line_no,
	const char *function_name, const char *message)
{
	(void)level;
	(void)file_name;
	(void)line_no;
	(void)function_name;
	(void)message;
}
#endif

#ifdef __cplusplus
}
#endif

#endif
