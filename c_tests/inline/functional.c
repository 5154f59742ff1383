/*
 * The original 2013 API from pmem_inline.h alone (no library linked):
 * map a file with pmem_map, write, persist, then read the file back through
 * a separate descriptor with read(2) and through a fresh mapping. Built as C
 * and as C++. functional_tu2.c checks the flush decision is shared.
 */
#include <pmem_inline.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define T_NO_LIBPMEM /* no library linked */
#include "../lib/check.h"
#include "pattern.h"

#define FILE_LEN (3 * 4096 + 100)

int tu2_decided(void);
const char *tu2_instruction(void);

int main(int argc, char **argv)
{
	unsigned char *base, *again;
	size_t i;
	int fd;

	t_begin("functional");

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	CHECK(!tu2_decided(), "flush instruction decided before first use");
	CHECK(pmem_map(-1, 4096) == NULL, "pmem_map of a bad fd must give NULL");

	fd = open(argv[1], O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0 || ftruncate(fd, FILE_LEN) != 0) {
		perror(argv[1]);
		return 2;
	}
	base = (unsigned char *)pmem_map(fd, FILE_LEN);
	CHECK(base != NULL, "pmem_map failed");
	close(fd);
	if (base == NULL)
		return t_end();

	for (i = 0; i < FILE_LEN; i++)
		base[i] = test_pattern(i);
	/* Unaligned ranges covering the file, through both original paths. */
	pmem_persist(base, 4096 + 33, 0);
	pmem_flush_cache(base + 4096 + 33, 5000, 0);
	pmem_fence();
	pmem_drain_pm_stores();
	pmem_persist(base + 4096 + 33 + 5000, FILE_LEN - (4096 + 33 + 5000), 0);

	CHECK(tu2_decided(), "the other translation unit does not see the decision");
	CHECK(strcmp(tu2_instruction(), pmem_inline_flush_instruction()) == 0,
	      "translation units disagree on the flush instruction");
	CHECK(munmap(base, FILE_LEN) == 0, "munmap");

	check_file_by_read(argv[1], FILE_LEN);

	fd = open(argv[1], O_RDWR);
	again = fd >= 0 ? (unsigned char *)pmem_map(fd, FILE_LEN) : NULL;
	CHECK(again != NULL, "second pmem_map failed");
	if (again != NULL) {
		check_pattern(again, FILE_LEN, "fresh mapping");
		munmap(again, FILE_LEN);
	}
	if (fd >= 0)
		close(fd);
	unlink(argv[1]);
	printf("functional (%s): flushed with %s\n",
#ifdef __cplusplus
	       "C++",
#else
	       "C",
#endif
	       pmem_inline_flush_instruction());
	return t_end();
}
