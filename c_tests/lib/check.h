/*
 * check.h -- the small test kit every C test here uses: checks that say
 * what went wrong, temporary directories, which libpmem answered, and
 * re-running the test binary as a child with a different environment.
 */
#ifndef C_TESTS_CHECK_H
#define C_TESTS_CHECK_H 1

#include <stddef.h>

/* Records a failure (and prints where and why) unless cond holds. */
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

void t_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void t_check_fails(int returned_bad, int got_errno, int want_errno,
	const char *file, int line, const char *what);

/*
 * Starts a test program: prints which libpmem serves it and, when the
 * runner says which one must (PMEM_TEST_LIB: a path, or "static"), fails
 * if another one does. Returns argv-independent state only.
 */
void t_begin(const char *name);
/* Prints the verdict and returns the process exit status (0 or 1). */
int t_end(void);

/* 1 when the runner is checking these tests against Debian's PMDK libpmem. */
int t_is_pmdk(void);

/*
 * 1 when the runner put this program under valgrind (c_tests/hardening sets
 * HARDENING_SANITIZER=valgrind): long case matrices then run a sample of
 * their cases, since everything is some 30 times slower there.
 */
int t_under_valgrind(void);

/* A fresh private directory (under $TMPDIR or /tmp), removed by t_end. */
const char *t_tmpdir(void);
/* "<t_tmpdir()>/<name>", in a static buffer per call slot (4 slots). */
const char *t_path(const char *name);

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

#endif
