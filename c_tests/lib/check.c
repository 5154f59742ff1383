/*
 * check.c -- the test kit behind check.h. Plain C99 plus POSIX; it calls
 * libpmem only through the pmem_errormsg pointer t_begin hands it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifndef T_NO_LIBPMEM
#define T_NO_LIBPMEM
#endif
#include "check.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* After this many described failures the rest are only counted. */
#define SHOWN_FAILURES 100

static const char *test_name = "test";
static const char *(*errormsg)(void);
static int passes, failures, skips;
static char tmpdir[PATH_MAX];
static pid_t tmpdir_owner;

static int
under_ci(void)
{
	const char *ci = getenv("CI");
	return ci && strcmp(ci, "true") == 0;
}

int
t_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
	if (ok) {
		__atomic_fetch_add(&passes, 1, __ATOMIC_RELAXED);
		return 1;
	}
	int nth = __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
	if (nth > SHOWN_FAILURES) {
		if (nth == SHOWN_FAILURES + 1)
			fprintf(stderr, "%s: more failures follow; counted, not shown\n", test_name);
		return 0;
	}
	/* One buffer, one write: lines of concurrent failures stay whole. */
	char msg[1024];
	int n = snprintf(msg, sizeof(msg), "%s: FAIL at %s:%d: ", test_name, file, line);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(msg))
		n += vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	const char *why = errormsg ? errormsg() : NULL;
	if (n >= 0 && (size_t)n < sizeof(msg)) {
		if (errormsg)
			snprintf(msg + n, sizeof(msg) - (size_t)n,
				"\n    (check: %s; pmem_errormsg: \"%s\")\n", expr,
				why ? why : "(NULL)");
		else
			snprintf(msg + n, sizeof(msg) - (size_t)n, "\n    (check: %s)\n", expr);
	}
	fputs(msg, stderr);
	return 0;
}

void
t_check_fails(int returned_bad, int got_errno, int want_errno,
	const char *file, int line, const char *what)
{
	t_check(returned_bad && got_errno == want_errno, file, line, "fails with errno",
		"%s: want failure with errno %d (%s), got %s with errno %d (%s)",
		what, want_errno, strerror(want_errno),
		returned_bad ? "failure" : "success", got_errno, strerror(got_errno));
}

int
t_check_mem(const void *got, const void *want, size_t len,
	const char *file, int line, const char *what)
{
	const unsigned char *g = (const unsigned char *)got;
	const unsigned char *w = (const unsigned char *)want;
	size_t i = 0;
	while (i < len && g[i] == w[i])
		i++;
	if (i == len)
		return t_check(1, file, line, "", "%s", "");
	return t_check(0, file, line, "memcmp(got, want, len) == 0",
		"%s: byte %zu of %zu is 0x%02x, want 0x%02x", what, i, len, g[i], w[i]);
}

void
t_skip(const char *what, const char *why_fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, why_fmt);
	vsnprintf(why, sizeof(why), why_fmt, ap);
	va_end(ap);
	if (under_ci()) {
		__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
		fprintf(stderr, "%s: FAIL: %s cannot run under CI=true: %s\n", test_name, what, why);
		return;
	}
	__atomic_fetch_add(&skips, 1, __ATOMIC_RELAXED);
	printf("%s: SKIP: %s (%s)\n", test_name, what, why);
}

/* Where the errormsg function lives: a library path, or "static" (this executable). */
static const char *
serving_object(char *buf, size_t len)
{
	Dl_info info;
	char exe[PATH_MAX], obj[PATH_MAX];
	/* A function pointer handed over as data: POSIX dladdr's own convention. */
	void *sym;
	memcpy(&sym, &errormsg, sizeof(sym));
	if (!dladdr(sym, &info) || !info.dli_fname)
		return "(unknown)";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (info.dli_fname[0] == '\0' || !realpath(info.dli_fname, obj))
		snprintf(obj, sizeof(obj), "%s", exe);
	if (strcmp(obj, exe) == 0)
		return "static";
	snprintf(buf, len, "%s", obj);
	return buf;
}

void
t_begin_with(const char *name, const char *(*pmem_errormsg_fn)(void))
{
	test_name = name;
	errormsg = pmem_errormsg_fn;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!errormsg)
		return;
	char buf[PATH_MAX];
	const char *served = serving_object(buf, sizeof(buf));
	const char *want = getenv("PMEM_TEST_LIB");
	if (want && *want) {
		char real[PATH_MAX];
		if (strcmp(want, "static") == 0 || !realpath(want, real))
			snprintf(real, sizeof(real), "%s", want);
		CHECK(strcmp(served, real) == 0,
			"libpmem is served by %s, expected %s", served, real);
	}
	printf("%s: libpmem from %s\n", name, served);
}

int
t_is_pmdk(void)
{
	const char *impl = getenv("PMEM_TEST_IMPL");
	return impl && strcmp(impl, "pmdk") == 0;
}

int
t_sanitized(void)
{
	const char *tool = getenv("HARDENING_SANITIZER");
	return tool && *tool && strcmp(tool, "0") != 0;
}

int
t_under_valgrind(void)
{
	const char *tool = getenv("HARDENING_SANITIZER");
	return tool && strcmp(tool, "valgrind") == 0;
}

static int
remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

void
t_remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Only the process that made the directory removes it: forked children exit too. */
static void
remove_tmpdir(void)
{
	if (tmpdir[0] && getpid() == tmpdir_owner) {
		t_remove_tree(tmpdir);
		tmpdir[0] = '\0';
	}
}

int
t_end(void)
{
	remove_tmpdir();
	int p = __atomic_load_n(&passes, __ATOMIC_RELAXED);
	int f = __atomic_load_n(&failures, __ATOMIC_RELAXED);
	int s = __atomic_load_n(&skips, __ATOMIC_RELAXED);
	if (s)
		printf("%s: %d passed, %d failed, %d skipped\n", test_name, p, f, s);
	else
		printf("%s: %d passed, %d failed\n", test_name, p, f);
	fflush(stdout);
	return f ? 1 : 0;
}

const char *
t_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof(tmpdir), "%s/pmem-%s-XXXXXX",
			base && *base ? base : "/tmp", test_name);
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
		tmpdir_owner = getpid();
		atexit(remove_tmpdir);
	}
	return tmpdir;
}

const char *
t_path(const char *name)
{
	static char slots[4][PATH_MAX];
	static unsigned next;
	char *p = slots[__atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % 4];
	int n = snprintf(p, PATH_MAX, "%s/%s", t_tmpdir(), name);
	if (n < 0 || n >= PATH_MAX) {
		fprintf(stderr, "%s: path too long: %s/%s\n", test_name, tmpdir, name);
		exit(2);
	}
	return p;
}

int
t_make_file(const char *path, size_t size)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = size == 0 || ftruncate(fileno(f), (off_t)size) == 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

int
t_mentions_number(const char *s, unsigned long n)
{
	char num[32];
	int len = snprintf(num, sizeof(num), "%lu", n);
	for (const char *p = s; s && (p = strstr(p, num)); p++) {
		int digit_before = p > s && p[-1] >= '0' && p[-1] <= '9';
		int digit_after = p[len] >= '0' && p[len] <= '9';
		if (!digit_before && !digit_after)
			return 1;
	}
	return 0;
}

int
t_run_child(const char *mode, const char *const env[])
{
	/*
	 * Exec the file /proc/self/exe names rather than the link itself: under
	 * valgrind the link is valgrind, and its tracing of children follows only
	 * a real program path.
	 */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		for (const char *const *e = env; e && *e; e++) {
			const char *eq = strchr(*e, '=');
			if (!eq) {
				unsetenv(*e);
				continue;
			}
			char name[256];
			snprintf(name, sizeof(name), "%.*s", (int)(eq - *e), *e);
			setenv(name, eq + 1, 1);
		}
		/*
		 * make check-cross runs the programs under qemu-user, where a
		 * binary of another architecture cannot exec itself: it names
		 * the emulator command in CROSS_TEST_RUNNER.
		 */
		char runner[1024], *argv[64];
		int argc = 0;
		const char *r = getenv("CROSS_TEST_RUNNER");
		snprintf(runner, sizeof(runner), "%s", r ? r : "");
		for (char *w = strtok(runner, " "); w && argc < 60; w = strtok(NULL, " "))
			argv[argc++] = w;
		const char *prog = exe;
		if (argc) {
			prog = argv[0];
			argv[argc++] = exe;
		} else {
			argv[argc++] = (char *)test_name;
		}
		argv[argc++] = (char *)mode;
		argv[argc] = NULL;
		execvp(prog, argv);
		fprintf(stderr, "execv %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "%s: child '%s' killed by signal %d\n", test_name, mode,
			WTERMSIG(status));
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}

void
t_fill(unsigned char *buf, size_t len, unsigned seed)
{
	unsigned x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
}

int
t_count_fds(void)
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

long
t_rss_kib(void)
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

uint64_t
t_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
