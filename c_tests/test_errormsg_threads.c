/*
 * test_errormsg_threads.c -- pmem_errormsg() is per thread: each thread
 * sees the message of its own last error, never another thread's, and
 * never NULL, not even before its first error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpmem.h>

#include "lib/check.h"

#define THREADS 8

static pthread_barrier_t all_failed, all_checked;

struct job {
	int id;
	char path[4096];
};

static void *
thread_main(void *arg)
{
	struct job *job = arg;
	const char *fresh = pmem_errormsg();
	CHECK(fresh != NULL, "thread %d: pmem_errormsg() is NULL before any error", job->id);

	/* Round 1: a version error that names this thread's number. */
	unsigned major = 100 + (unsigned)job->id;
	pmem_check_version(major, 0);
	pthread_barrier_wait(&all_failed);
	const char *msg = pmem_errormsg();
	CHECK(msg && t_mentions_number(msg, major),
		"thread %d: pmem_errormsg() = \"%s\", want this thread's error naming %u",
		job->id, msg ? msg : "(NULL)", major);
	for (int other = 0; msg && other < THREADS; other++)
		CHECK(other == job->id || !t_mentions_number(msg, 100 + (unsigned)other),
			"thread %d sees thread %d's error: \"%s\"", job->id, other, msg);
	pthread_barrier_wait(&all_checked);

	/* Round 2: a mapping error on this thread's own path. */
	errno = 0;
	void *p = pmem_map_file(job->path, 0, 0, 0, NULL, NULL);
	CHECK(p == NULL && errno == ENOENT, "thread %d: mapping a missing file: errno %d",
		job->id, errno);
	pthread_barrier_wait(&all_failed);
	msg = pmem_errormsg();
	CHECK(msg && strstr(msg, job->path) != NULL,
		"thread %d: pmem_errormsg() = \"%s\", want this thread's error about %s",
		job->id, msg ? msg : "(NULL)", job->path);
	return NULL;
}

static void *
quiet_thread(void *arg)
{
	(void)arg;
	const char *msg = pmem_errormsg();
	CHECK(msg != NULL, "a thread without errors got NULL from pmem_errormsg()");
	return NULL;
}

int
main(void)
{
	t_begin("test_errormsg_threads");
	CHECK(pmem_errormsg() != NULL, "pmem_errormsg() is NULL before any error");
	pmem_check_version(77, 0);
	char *mine = strdup(pmem_errormsg());
	CHECK(t_mentions_number(mine, 77), "main thread: pmem_errormsg() = \"%s\"", mine);

	pthread_barrier_init(&all_failed, NULL, THREADS);
	pthread_barrier_init(&all_checked, NULL, THREADS);
	pthread_t tids[THREADS];
	struct job jobs[THREADS];
	for (int i = 0; i < THREADS; i++) {
		jobs[i].id = i;
		snprintf(jobs[i].path, sizeof(jobs[i].path), "%s/no-dir-%d/thread-%d-file",
			t_tmpdir(), i, i);
		pthread_create(&tids[i], NULL, thread_main, &jobs[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(tids[i], NULL);
	pthread_t quiet;
	pthread_create(&quiet, NULL, quiet_thread, NULL);
	pthread_join(quiet, NULL);

	CHECK(strcmp(pmem_errormsg(), mine) == 0,
		"other threads' errors changed the main thread's message to \"%s\"", pmem_errormsg());
	free(mine);
	return t_end();
}
