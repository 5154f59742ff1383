/*
 * attr -- pmem_get_attr: EINVAL on a NULL attr, sane values for a file
 * mapping and for memory the library did not map. usage: attr FILE
 */
#include <libpmem.h>
#include "pmem_attr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/check.h"

static int one_of(const char *s, const char *const *names)
{
	for (; *names; names++)
		if (s && strcmp(s, *names) == 0)
			return 1;
	return 0;
}

int main(int argc, char *argv[])
{
	if (argc != 2)
		return 2;
	t_begin("attr");
	static const char *const insns[] = { "clwb", "clflushopt", "clflush", "none", NULL };
	static const char *const modes[] = { "flush", "msync", "fit", "auto", NULL };
	struct pmem_attr a;

	errno = 0;
	CHECK(pmem_get_attr(NULL, 0, NULL) == -1 && errno == EINVAL, "a NULL attr: want -1, EINVAL");
	CHECK(strstr(pmem_errormsg(), "attr") != NULL, "the message names attr");

	size_t len;
	int is_pmem;
	char *p = pmem_map_file(argv[1], 1 << 20, PMEM_FILE_CREATE, 0644, &len, &is_pmem);
	CHECK(p != NULL, "pmem_map_file %s", argv[1]);
	memset(&a, 0xff, sizeof(a));
	CHECK(pmem_get_attr(p, len, &a) == 0, "pmem_get_attr of a file mapping");
	CHECK(a.flush_granularity == 64, "flush_granularity %zu", a.flush_granularity);
	CHECK(a.stores_durable_at_fence == pmem_has_auto_flush(), "stores_durable_at_fence %d",
		a.stores_durable_at_fence);
	CHECK(a.atomic_store_size == 8, "atomic_store_size %zu", a.atomic_store_size);
	CHECK(a.page_size == (size_t)sysconf(_SC_PAGESIZE), "page_size %zu", a.page_size);
	CHECK(a.is_pmem == is_pmem && a.is_pmem == pmem_is_pmem(p, len), "is_pmem %d", a.is_pmem);
	CHECK(one_of(a.flush_instruction, insns), "flush_instruction %s", a.flush_instruction);
	CHECK(a.copy_path != NULL && a.copy_path[0] != '\0', "copy_path empty");
	CHECK(a.movnt_threshold > 0, "movnt_threshold %zu", a.movnt_threshold);
	CHECK(one_of(a.persist_mode, modes), "persist_mode %s", a.persist_mode);
	const char *want_mode = getenv("PMEM_PERSIST_MODE") ? getenv("PMEM_PERSIST_MODE") : "flush";
	CHECK(strcmp(a.persist_mode, want_mode) == 0, "persist_mode %s, want %s", a.persist_mode,
		want_mode);

	int stack;
	CHECK(pmem_get_attr(&stack, sizeof(stack), &a) == 0 && a.is_pmem == 0,
		"pmem_get_attr of the stack: is_pmem %d", a.is_pmem);
	pmem_unmap(p, len);
	printf("attr: %s via %s, copy %s, mode %s\n", a.flush_instruction, "pmem_get_attr",
		a.copy_path, a.persist_mode);
	return t_end();
}
