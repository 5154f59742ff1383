/*
 * fitbench -- the cost of fit mode: writes and persists a whole file in
 * 4 KiB blocks and prints elapsed time and the process's anonymous and
 * file-backed resident memory before unmapping.
 * usage: fitbench FILE MIB
 */
#include <libpmem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long status_kb(const char *key)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			kb = atol(line + strlen(key));
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char *argv[])
{
	if (argc != 3)
		return 2;
	size_t len = (size_t)atol(argv[2]) << 20, mapped;
	char *p = pmem_map_file(argv[1], len, PMEM_FILE_CREATE, 0644, &mapped, NULL);
	if (p == NULL) {
		perror(argv[1]);
		return 1;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t off = 0; off < len; off += 4096) {
		memset(p + off, (int)(off >> 12), 4096);
		pmem_persist(p + off, 4096);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("%.1f ms, RssAnon %ld KiB, RssFile %ld KiB\n", ms,
	       status_kb("RssAnon:"), status_kb("RssFile:"));
	pmem_unmap(p, mapped);
	return 0;
}
