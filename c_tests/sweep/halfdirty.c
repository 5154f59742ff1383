/*
 * halfdirty -- a 16 MiB pool with every other line stored and never
 * flushed: 131,072 missing-flush ranges for the report, which pmem-sweep
 * must summarize without holding them all.
 *
 * usage: halfdirty FILE
 */
#include <libpmem.h>

#include <stdio.h>
#include <string.h>

#define LEN (16u << 20)

int main(int argc, char **argv)
{
	size_t mapped;
	int is_pmem;
	if (argc != 2) {
		fprintf(stderr, "usage: halfdirty FILE\n");
		return 2;
	}
	char *p = pmem_map_file(argv[1], LEN, PMEM_FILE_CREATE, 0644, &mapped, &is_pmem);
	if (p == NULL) {
		perror(argv[1]);
		return 1;
	}
	for (size_t off = 64; off < mapped; off += 128)
		memset(p + off, 0x5a, 64);
	memset(p, 0xa5, 64);
	pmem_persist(p, 64); /* the one point */
	pmem_unmap(p, mapped);
	return 0;
}
