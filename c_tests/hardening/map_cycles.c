/*
 * map_cycles.c -- a million pmem_map_file / pmem_unmap cycles of one 4 KiB
 * file leave resident memory and the descriptor table as they were.
 *
 * VmRSS is read after a warm-up of 10,000 cycles (allocator and registry at
 * their working size) and again at the end; it may not grow by more than
 * RSS_TOLERANCE_KIB. A leak of even one byte a cycle would add ~1 MiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/check.h"

#define WARMUP 10000L
#define CYCLES 1000000L
#define CYCLES_SANITIZED 20000L
#define RSS_TOLERANCE_KIB 512L
/* The run must stay well inside `make check`'s budget. */
#define TIME_LIMIT_S 40.0

static int
cycle(const char *path, long i)
{
	size_t len = 0;
	int is_pmem = -1;
	void *addr = pmem_map_file(path, 0, 0, 0, &len, &is_pmem);
	if (!CHECK(addr != NULL, "cycle %ld: map: %s", i, pmem_errormsg()))
		return -1;
	int ok = CHECK(len == 4096 && is_pmem == 0, "cycle %ld: len %zu is_pmem %d", i, len,
		is_pmem);
	ok &= CHECK(pmem_unmap(addr, len) == 0, "cycle %ld: unmap: %s", i, pmem_errormsg());
	return ok ? 0 : -1;
}

int
main(void)
{
	t_begin("map_cycles");
	const char *dir = t_tmpdir();
	char path[4096];
	snprintf(path, sizeof(path), "%s/file", dir);
	if (!CHECK(t_make_file(path, 4096) == 0, "create %s", path))
		return t_end();

	long total = t_sanitized() ? CYCLES_SANITIZED : CYCLES;
	int fds = t_count_fds();
	long i;
	for (i = 0; i < WARMUP; i++)
		if (cycle(path, i))
			return t_end();
	long rss_warm = t_rss_kib();
	uint64_t t0 = t_now_ns();
	for (; i < total; i++)
		if (cycle(path, i))
			return t_end();
	double secs = (double)(t_now_ns() - t0) / 1e9;
	long rss_end = t_rss_kib();

	printf("map_cycles: %ld cycles, VmRSS %ld KiB at %ld, %ld KiB at %ld (%+ld KiB), "
	       "%.2f s for %ld cycles (%.0f ns/cycle)\n",
		total, rss_warm, WARMUP, rss_end, total, rss_end - rss_warm, secs, total - WARMUP,
		secs * 1e9 / (double)(total - WARMUP));
	CHECK(t_count_fds() == fds, "descriptors: %d before, %d after", fds, t_count_fds());
	if (t_sanitized()) {
		printf("map_cycles: under a sanitizer: memory and time reported, not judged\n");
	} else {
		CHECK(rss_end - rss_warm <= RSS_TOLERANCE_KIB, "VmRSS grew by %ld KiB",
			rss_end - rss_warm);
		CHECK(secs < TIME_LIMIT_S, "%.1f s for %ld cycles", secs, total - WARMUP);
	}
	return t_end();
}
