/*
 * is_pmem_scale.c -- pmem_is_pmem stays fast as live mappings grow.
 *
 * One 4 KiB file is mapped again and again (each mapping is its own VMA and
 * its own registry record) up to 1,000, 10,000 and 100,000 live mappings;
 * at each level random addresses inside random mappings are looked up, and
 * the mean lookup time is printed. The answer must be 0 everywhere (no DAX
 * here), and the time at 100,000 may not exceed MAX_GROWTH times the time
 * at 1,000 (a logarithmic lookup grows well under 2x).
 *
 * Every mapping is a VMA, so vm.max_map_count (65530 by default) must be
 * raised: as root the test raises it for its run and restores it at exit;
 * otherwise it stops at what the limit allows and says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/check.h"

#define SYSCTL "/proc/sys/vm/max_map_count"
#define NEEDED_MAP_COUNT 140000L
/* VMAs the process has besides the test's own mappings. */
#define MAP_COUNT_MARGIN 5000L
#define MAX_GROWTH 20.0
#define LOOKUPS 2000000L

static long saved_map_count = -1;

static long
read_map_count(void)
{
	FILE *f = fopen(SYSCTL, "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int
write_map_count(long v)
{
	FILE *f = fopen(SYSCTL, "w");
	if (!f)
		return -1;
	int ok = fprintf(f, "%ld\n", v) > 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void
restore_map_count(void)
{
	if (saved_map_count > 0 && write_map_count(saved_map_count) == 0)
		printf("is_pmem_scale: vm.max_map_count restored to %ld\n", saved_map_count);
}

/* How many live mappings this run may make. */
static long
mapping_budget(long wanted)
{
	long limit = read_map_count();
	if (limit >= wanted + MAP_COUNT_MARGIN)
		return wanted;
	if (geteuid() == 0 && write_map_count(NEEDED_MAP_COUNT) == 0) {
		saved_map_count = limit;
		atexit(restore_map_count);
		printf("is_pmem_scale: vm.max_map_count raised from %ld to %ld for this run\n",
			limit, NEEDED_MAP_COUNT);
		return wanted;
	}
	printf("is_pmem_scale: vm.max_map_count is %ld and cannot be raised here: "
	       "stopping at %ld live mappings\n", limit, limit - MAP_COUNT_MARGIN);
	return limit - MAP_COUNT_MARGIN;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static inline uint64_t
next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Mean ns of one pmem_is_pmem over `n` lookups in the first `live` maps. */
static double
lookup_ns(char **maps, long live, long n)
{
	long wrong = 0;
	uint64_t t0 = t_now_ns();
	for (long i = 0; i < n; i++) {
		uint64_t r = next_random();
		const char *a = maps[r % (uint64_t)live] + ((r >> 40) & 4095);
		wrong += pmem_is_pmem(a, 1 + ((r >> 52) & 63) % (4096 - ((r >> 40) & 4095)));
	}
	double ns = (double)(t_now_ns() - t0) / (double)n;
	CHECK(wrong == 0, "%ld of %ld lookups said pmem on a non-DAX file", wrong, n);
	return ns;
}

int
main(void)
{
	t_begin("is_pmem_scale");
	const int sanitized = t_sanitized();
	const long levels_full[] = { 1000, 10000, 100000 };
	/* valgrind tracks a limited number of segments. */
	const long levels_small[] = { 100, 1000, 3000 };
	const long *levels = sanitized ? levels_small : levels_full;
	const int nlevels = 3;
	const long lookups = sanitized ? LOOKUPS / 100 : LOOKUPS;

	const char *dir = t_tmpdir();
	char path[4096];
	snprintf(path, sizeof(path), "%s/file", dir);
	if (!CHECK(t_make_file(path, 4096) == 0, "create %s", path))
		return t_end();

	long budget = mapping_budget(levels[nlevels - 1]);
	char **maps = calloc((size_t)levels[nlevels - 1], sizeof(*maps));
	if (!maps)
		return 2;
	double ns[3] = { 0 };
	long live = 0;
	int measured = 0;
	for (int l = 0; l < nlevels; l++) {
		long target = levels[l] < budget ? levels[l] : budget;
		for (; live < target; live++) {
			size_t len;
			maps[live] = pmem_map_file(path, 0, 0, 0, &len, NULL);
			if (!CHECK(maps[live] != NULL, "mapping %ld: %s", live, pmem_errormsg()))
				goto out;
		}
		ns[l] = lookup_ns(maps, live, lookups);
		measured = l + 1;
		printf("is_pmem_scale: %7ld live mappings: %.1f ns per pmem_is_pmem\n", live, ns[l]);
		if (target < levels[l])
			break;
	}
	int outside = 0;
	CHECK(pmem_is_pmem(&outside, sizeof(outside)) == 0, "stack reported as pmem");
	if (measured >= 2 && !sanitized) {
		/* All levels unless vm.max_map_count stopped the run early. */
		int last = measured - 1;
		double growth = ns[last] / ns[0];
		printf("is_pmem_scale: growth %ld -> %ld mappings: %.2fx\n", levels[0], live,
			growth);
		CHECK(growth <= MAX_GROWTH, "lookup %.1f ns at %ld, %.1f ns at %ld", ns[0],
			levels[0], ns[last], live);
	}
out:
	for (long i = 0; i < live; i++)
		CHECK(pmem_unmap(maps[i], 4096) == 0, "unmap %ld: %s", i, pmem_errormsg());
	free(maps);
	return t_end();
}
