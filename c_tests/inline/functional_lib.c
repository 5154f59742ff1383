/*
 * The prefixed API beside libpmem.h (include order from INLINE_FIRST):
 * a file mapped by pmem_map_file, written and made durable piecewise with
 * pmem_inline_persist, pmem_inline_flush + pmem_inline_drain and the
 * library's two-argument pmem_persist, then
 * read back with read(2) and through a fresh library mapping. Built as C
 * and as C++, in both include orders.
 */
#ifdef INLINE_FIRST
#include <pmem_inline.h>
#include <libpmem.h>
#else
#include <libpmem.h>
#include <pmem_inline.h>
#endif

#include <stdio.h>
#include <unistd.h>

#include "../lib/check.h"
#include "pattern.h"

#define FILE_LEN ((size_t)64 * 1024)
#define PIECE ((size_t)300)

#ifdef pmem_map
#error "the original-API names must not be visible beside libpmem.h"
#endif

int main(int argc, char **argv)
{
	unsigned char *base;
	size_t mapped = 0, i, off;

	t_begin("functional_lib");

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	unlink(argv[1]);
	base = (unsigned char *)pmem_map_file(argv[1], FILE_LEN, PMEM_FILE_CREATE, 0600,
					      &mapped, NULL);
	CHECK(base != NULL && mapped == FILE_LEN, "pmem_map_file: %s", pmem_errormsg());
	if (base == NULL)
		return t_end();

	/* Small pieces, at offsets of every alignment mod 64, each persisted. */
	for (off = 0; off + PIECE <= FILE_LEN / 4; off += PIECE) {
		for (i = off; i < off + PIECE; i++)
			base[i] = test_pattern(i);
		pmem_inline_persist(base + off, PIECE);
	}
	for (i = off; i < FILE_LEN; i++)
		base[i] = test_pattern(i);
	pmem_inline_persist(base + off, FILE_LEN / 2 - off);
	pmem_persist(base + FILE_LEN / 2, FILE_LEN / 4 + 5); /* the library's */
	pmem_inline_flush(base + 3 * FILE_LEN / 4 + 5, FILE_LEN / 4 - 5);
	pmem_inline_drain();
	CHECK(pmem_unmap(base, FILE_LEN) == 0, "pmem_unmap: %s", pmem_errormsg());

	check_file_by_read(argv[1], FILE_LEN);

	base = (unsigned char *)pmem_map_file(argv[1], 0, 0, 0, &mapped, NULL);
	CHECK(base != NULL && mapped == FILE_LEN, "second pmem_map_file: %s", pmem_errormsg());
	if (base != NULL) {
		check_pattern(base, FILE_LEN, "fresh mapping");
		pmem_unmap(base, mapped);
	}
	unlink(argv[1]);
	return t_end();
}
