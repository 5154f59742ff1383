/*
 * alias -- maps FILE twice with pmem_map_file (in fit mode two aliases of
 * one shadow), stores a line through the first mapping and never flushes
 * it, then stores and persists the next line through the second (point 1).
 * Crashed at point 1, each dirty line must be one candidate, however many
 * mappings show it: the crash record says 2 candidates, not 4.
 * usage: alias FILE
 */
#include <libpmem.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char *argv[])
{
	size_t len_a, len_b;
	int is_pmem;
	if (argc != 2) {
		fprintf(stderr, "usage: alias FILE\n");
		return 2;
	}
	char *a = pmem_map_file(argv[1], 4096, PMEM_FILE_CREATE, 0644, &len_a, &is_pmem);
	char *b = a ? pmem_map_file(argv[1], 0, 0, 0, &len_b, &is_pmem) : NULL;
	if (b == NULL) {
		fprintf(stderr, "%s: %s\n", argv[1], pmem_errormsg());
		return 1;
	}
	if (b[0] != 0 || (a[0] = 'A', b[0] != 'A')) {
		fprintf(stderr, "alias: the two mappings do not share stores\n");
		return 1;
	}
	memset(a, 'a', 64);	/* never flushed */
	memset(b + 64, 'b', 64);
	pmem_persist(b + 64, 64);
	pmem_unmap(b, len_b);
	pmem_unmap(a, len_a);
	return 0;
}
