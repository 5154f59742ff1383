/*
 * auto_route.c -- checks where each persistence mode sends a flush, by
 * counting msync(2) calls through the msync_count.so shim (LD_PRELOAD).
 *   auto_route FILE MODE     MODE as PMEM_PERSIST_MODE says: auto or flush
 * In auto mode a persist inside a non-pmem mapping made by pmem_map_file
 * must msync and one of heap memory must not; in flush mode neither does.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libpmem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/check.h"

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: auto_route FILE auto|flush\n");
		return 2;
	}
	unsigned long (*count)(void) =
		(unsigned long (*)(void))dlsym(RTLD_DEFAULT, "msync_count_calls");
	if (!count) {
		fprintf(stderr, "auto_route: run with LD_PRELOAD=msync_count.so\n");
		return 2;
	}
	t_begin("auto_route");
	int automode = strcmp(argv[2], "auto") == 0;
	size_t len;
	int is_pmem;
	char *file = pmem_map_file(argv[1], 1 << 20, PMEM_FILE_CREATE, 0600, &len, &is_pmem);
	if (!file) {
		CHECK(file != NULL, "map %s", argv[1]);
		return t_end();
	}
	CHECK(!is_pmem, "%s is persistent memory; the test needs an ordinary file", argv[1]);
	char *heap = malloc(4096);
	if (!CHECK(heap != NULL, "malloc(4096)"))
		return t_end();

	unsigned long before = count();
	strcpy(file + 100, "durable");
	pmem_persist(file + 100, 8);
	CHECK(count() - before == (automode ? 1u : 0u),
		"pmem_persist in a non-pmem mapping: %lu msync calls", count() - before);

	before = count();
	pmem_memcpy_persist(file + 8192, "copied", 7);
	CHECK(count() - before == (automode ? 1u : 0u),
		"pmem_memcpy_persist in a non-pmem mapping: %lu msync calls", count() - before);

	before = count();
	memset(heap, 1, 4096);
	pmem_persist(heap, 4096);
	pmem_memset_persist(heap, 2, 4096);
	CHECK(count() - before == 0,
		"persists of heap memory: %lu msync calls, want none", count() - before);

	free(heap);
	pmem_unmap(file, len);
	printf("auto_route: %s mode\n", argv[2]);
	return t_end();
}
