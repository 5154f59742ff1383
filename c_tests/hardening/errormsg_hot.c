/*
 * errormsg_hot.c -- threads on the error path at once, many times over:
 * each fails calls in a loop and reads pmem_errormsg(). Built with
 * AddressSanitizer (the Makefile's asan run) this is the case that crashed
 * in ASan's __tls_get_addr interception (google/sanitizers#1322) while the
 * error message lived in a 1 KiB dynamic-TLS block; the rounds run in
 * forked children so one crash is counted, not fatal to the count.
 *
 * Whether ASan's interception crashes depends on the compiler runtime and
 * glibc (it does not on every machine), so the property the fix gives is
 * checked as well: libpmem's thread-local block (its PT_TLS segment) stays
 * small, as the per-thread state lives behind a pthread key.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/check.h"

#define THREADS 8
#define ROUNDS 12

static const char *scratch;
static int iterations;

static void *
fail_in_a_loop(void *arg)
{
	long id = (long)arg;
	char path[4200];
	int bad = 0;
	for (int i = 0; i < iterations; i++) {
		snprintf(path, sizeof(path), "%s/missing-%ld/%d", scratch, id, i);
		errno = 0;
		void *p = pmem_map_file(path, 0, 0, 0, NULL, NULL);
		const char *msg = pmem_errormsg();
		if (p != NULL || errno != ENOENT || msg == NULL || !strstr(msg, path))
			bad++;
		if (i % 16 == 0)
			pmem_check_version(99 + (unsigned)id, 0);
	}
	return (void *)(long)bad;
}

/* One round: THREADS threads at once; the exit status is the bad answers. */
static int
round_in_child(void)
{
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, fail_in_a_loop, (void *)i) != 0)
			return 100;
	long bad = 0;
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	return bad > 99 ? 99 : (int)bad;
}

/* The largest TLS block any module named like libpmem asks for per thread. */
#define TLS_LIMIT 256

static int
tls_of_libpmem(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "libpmem"))
		return 0;
	long *found = data;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_TLS && (long)info->dlpi_phdr[i].p_memsz > *found)
			*found = (long)info->dlpi_phdr[i].p_memsz;
	return 0;
}

int
main(void)
{
	t_begin("errormsg_hot");
	long tls = 0;
	dl_iterate_phdr(tls_of_libpmem, &tls);
	printf("libpmem thread-local block: %ld bytes\n", tls);
	CHECK(tls <= TLS_LIMIT, "libpmem's thread-local block is %ld bytes, want at most %d", tls,
		TLS_LIMIT);

	scratch = t_tmpdir();
	pmem_log_set_function(t_quiet_log);
	int valgrind = getenv("HARDENING_SANITIZER") &&
		strcmp(getenv("HARDENING_SANITIZER"), "valgrind") == 0;
	iterations = valgrind ? 50 : 2000;
	int rounds = valgrind ? 1 : ROUNDS;
	int crashed = 0;
	for (int r = 0; r < rounds; r++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0)
			_exit(round_in_child());
		int status = 0;
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait: %s", strerror(errno));
		if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) >= 100)) {
			crashed++;
			continue;
		}
		CHECK(WEXITSTATUS(status) == 0, "round %d: %d wrong errno/message answers", r,
			WEXITSTATUS(status));
	}
	CHECK(crashed == 0, "%d of %d rounds of %d threads on the error path crashed", crashed,
		rounds, THREADS);
	return t_end();
}
