/*
 * concurrency.c -- threads map, unmap, query, persist and fail at once for a
 * bounded time; every answer must stay right throughout.
 *
 * Mappers map their own files, fill them, persist, unmap a middle page,
 * check what is left, then unmap the rest; each also makes a call fail on a
 * path that names the thread and iteration, and checks that errno and
 * pmem_errormsg() are its own even while the other threads fail too.
 * Queriers ask pmem_is_pmem about addresses the mappers are mapping and
 * unmapping (the answer is 0: nothing is pmem here). A persister writes and
 * persists a shared mapping and reads it back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/check.h"

#define MAPPERS 4
#define QUERIERS 2
#define RUN_SECONDS 3
#define KIB 1024UL

static const char *scratch;
static int stop; /* set once, read with __atomic_load_n */
/* Addresses recently mapped by any mapper, for the queriers. */
static char *recent[64]; /* __atomic_* access only */

struct worker {
	pthread_t thread;
	int id;
	long ops;
};

static int
thread_failure(int id, long iter)
{
	char path[4096], needle[64];
	snprintf(needle, sizeof(needle), "missing-thread-%d-%ld", id, iter);
	snprintf(path, sizeof(path), "%s/%s/file", scratch, needle);
	errno = 0;
	void *addr = pmem_map_file(path, 0, 0, 0, NULL, NULL);
	int ok = CHECK(addr == NULL && errno == ENOENT, "thread %d: map %s: %p errno %d", id,
		path, addr, errno);
	sched_yield();
	const char *msg = pmem_errormsg();
	ok &= CHECK(msg && strstr(msg, needle), "thread %d: errormsg \"%s\" lacks %s", id,
		msg ? msg : "(null)", needle);
	return ok;
}

/* One map / fill / partial unmap / check / unmap round on the thread's file. */
static int
map_round(int id, long iter)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/file-%d", scratch, id);
	/* Now and then a file >= 2 MiB, the large-page path. */
	size_t want = (iter % 16 == 0) ? 2048 * KIB : 64 * KIB;
	size_t len = 0;
	int is_pmem = -1;
	char *addr = pmem_map_file(path, want, PMEM_FILE_CREATE, 0600, &len, &is_pmem);
	if (!CHECK(addr != NULL, "thread %d: map: %s", id, pmem_errormsg()))
		return 0;
	int ok = CHECK(len == want && is_pmem == 0, "thread %d: len %zu is_pmem %d", id, len,
		is_pmem);
	__atomic_store_n(&recent[(id * 16 + iter) % 64], addr, __ATOMIC_RELAXED);

	unsigned char tag = (unsigned char)(id * 31 + iter);
	pmem_memset_persist(addr, tag, len);
	ok &= CHECK(pmem_msync(addr, len) == 0, "thread %d: msync: %s", id, pmem_errormsg());
	ok &= CHECK(pmem_is_pmem(addr, len) == 0, "thread %d: is_pmem", id);

	size_t page = 4096, hole = len / 2 & ~(page - 1);
	ok &= CHECK(pmem_unmap(addr + hole, page) == 0, "thread %d: partial unmap: %s", id,
		pmem_errormsg());
	ok &= CHECK(pmem_is_pmem(addr + hole, page) == 0, "thread %d: is_pmem hole", id);
	ok &= CHECK(addr[0] == (char)tag && addr[len - 1] == (char)tag &&
			addr[hole - 1] == (char)tag && addr[hole + page] == (char)tag,
		"thread %d: content changed", id);
	pmem_persist(addr + hole + page, len - hole - page);
	ok &= CHECK(pmem_unmap(addr, hole) == 0, "thread %d: unmap head: %s", id,
		pmem_errormsg());
	ok &= CHECK(pmem_unmap(addr + hole + page, len - hole - page) == 0,
		"thread %d: unmap tail: %s", id, pmem_errormsg());
	return ok;
}

static void *
mapper(void *arg)
{
	struct worker *w = arg;
	for (long i = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++, w->ops++)
		if (!map_round(w->id, i) || !thread_failure(w->id, i))
			break;
	return NULL;
}

static void *
querier(void *arg)
{
	struct worker *w = arg;
	unsigned r = (unsigned)w->id * 2654435761u;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		r = r * 1103515245u + 12345u;
		char *base = __atomic_load_n(&recent[r % 64], __ATOMIC_RELAXED);
		if (base)
			CHECK(pmem_is_pmem(base + (r >> 8) % (64 * KIB), 64) == 0,
				"querier %d: is_pmem 1 on a non-DAX mapping", w->id);
		w->ops++;
	}
	return NULL;
}

static void *
persister(void *arg)
{
	struct worker *w = arg;
	char path[4096];
	snprintf(path, sizeof(path), "%s/shared", scratch);
	size_t len;
	uint64_t *p = pmem_map_file(path, 256 * KIB, PMEM_FILE_CREATE, 0600, &len, NULL);
	if (!CHECK(p != NULL, "persister: map: %s", pmem_errormsg()))
		return NULL;
	size_t words = len / sizeof(*p);
	for (uint64_t v = 1; !__atomic_load_n(&stop, __ATOMIC_RELAXED); v++, w->ops++) {
		size_t i = (v * 7919) % words;
		p[i] = v;
		pmem_persist(&p[i], sizeof(p[i]));
		if (!CHECK(p[i] == v, "persister: read back %llu, wrote %llu",
			    (unsigned long long)p[i], (unsigned long long)v))
			break;
	}
	CHECK(pmem_unmap(p, len) == 0, "persister: unmap: %s", pmem_errormsg());
	return NULL;
}

int
main(void)
{
	t_begin("concurrency");
	scratch = t_tmpdir();
	pmem_log_set_function(t_quiet_log);
	struct worker w[MAPPERS + QUERIERS + 1];
	int n = 0;
	int fds = t_count_fds();
	for (int i = 0; i < MAPPERS; i++, n++) {
		w[n] = (struct worker){ .id = i };
		pthread_create(&w[n].thread, NULL, mapper, &w[n]);
	}
	for (int i = 0; i < QUERIERS; i++, n++) {
		w[n] = (struct worker){ .id = i };
		pthread_create(&w[n].thread, NULL, querier, &w[n]);
	}
	w[n] = (struct worker){ .id = 0 };
	pthread_create(&w[n].thread, NULL, persister, &w[n]);
	n++;

	sleep(RUN_SECONDS);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	long mapped = 0, queried = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		if (i < MAPPERS)
			mapped += w[i].ops;
		else if (i < MAPPERS + QUERIERS)
			queried += w[i].ops;
	}
	printf("concurrency: %d s, %ld map rounds, %ld queries, %ld persists\n", RUN_SECONDS,
		mapped, queried, w[n - 1].ops);
	CHECK(mapped > 0 && queried > 0 && w[n - 1].ops > 0, "a thread made no progress");
	CHECK(t_count_fds() == fds, "descriptors: %d before, %d after", fds, t_count_fds());
	return t_end();
}
