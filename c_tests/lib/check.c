/*
 * check.c -- the test kit behind check.h.
 */
#define _GNU_SOURCE
#include "check.h"

#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpmem.h>

static const char *test_name = "test";
static int failures;
static int checks;
static char tmpdir[PATH_MAX];

void
t_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
	__atomic_fetch_add(&checks, 1, __ATOMIC_RELAXED);
	if (ok)
		return;
	__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "%s: FAIL at %s:%d: ", test_name, file, line);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n    (check: %s; pmem_errormsg: \"%s\")\n", expr,
		pmem_errormsg() ? pmem_errormsg() : "(NULL)");
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

/* Where pmem_errormsg's code lives: a library path, or this executable. */
static const char *
serving_object(char *buf, size_t len)
{
	Dl_info info;
	void *sym = (void *)pmem_errormsg;
	if (!dladdr(sym, &info) || !info.dli_fname)
		return "(unknown)";
	char exe[PATH_MAX], obj[PATH_MAX];
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
t_begin(const char *name)
{
	test_name = name;
	setvbuf(stdout, NULL, _IOLBF, 0);
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
t_under_valgrind(void)
{
	const char *tool = getenv("HARDENING_SANITIZER");
	return tool && strcmp(tool, "valgrind") == 0;
}

static int
remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb; (void)type; (void)ftw;
	return remove(path);
}

int
t_end(void)
{
	if (tmpdir[0])
		nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (failures)
		printf("%s: %d of %d checks FAILED\n", test_name, failures, checks);
	else
		printf("%s: all %d checks passed\n", test_name, checks);
	return failures ? 1 : 0;
}

const char *
t_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof(tmpdir), "%s/pmem-test-XXXXXX",
			base && *base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return tmpdir;
}

const char *
t_path(const char *name)
{
	static char slots[4][PATH_MAX];
	static unsigned next;
	char *p = slots[next++ % 4];
	snprintf(p, PATH_MAX, "%s/%s", t_tmpdir(), name);
	return p;
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
