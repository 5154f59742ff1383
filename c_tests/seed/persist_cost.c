/*
 * persist_cost -- ns per pmem_persist call on 64 bytes, in whatever mode
 * PMEM_PERSIST_MODE selects: on heap memory the library did not map (where
 * auto mode must look the range up, then flush by cache line), or, with
 * FILE, on a 4 KiB pool pmem_map_file creates there (fit mode's own
 * mappings, the case a crash test pays for).
 * usage: persist_cost [CALLS [FILE]]
 */
#include <libpmem.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char *argv[])
{
	long calls = argc > 1 ? atol(argv[1]) : 2000000;
	size_t mapped = 0;
	char *buf = argc > 2 ? pmem_map_file(argv[2], 4096, PMEM_FILE_CREATE, 0600, &mapped, NULL)
			     : aligned_alloc(64, 4096);
	if (buf == NULL) {
		perror(argc > 2 ? argv[2] : "aligned_alloc");
		return 1;
	}
	struct timespec t0, t1;

	for (long i = 0; i < 1000; i++)		/* warm up */
		pmem_persist(buf + (i % 64) * 64, 64);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Clean lines: the flush is as cheap as it gets, so what a mode adds
	 * around it shows. */
	for (long i = 0; i < calls; i++)
		pmem_persist(buf + (i % 64) * 64, 64);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / calls;
	printf("%.1f\n", ns);
	if (argc > 2)
		pmem_unmap(buf, mapped);
	else
		free(buf);
	return 0;
}
