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

static int failures;

#define EXPECT(cond) do { if (!(cond)) { printf("FAIL: %s\n", #cond); failures++; } } while (0)

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
	static const char *const insns[] = { "clwb", "clflushopt", "clflush", "none", NULL };
	static const char *const modes[] = { "flush", "msync", "fit", "auto", NULL };
	struct pmem_attr a;

	errno = 0;
	EXPECT(pmem_get_attr(NULL, 0, NULL) == -1 && errno == EINVAL);
	EXPECT(strstr(pmem_errormsg(), "attr") != NULL);

	size_t len;
	int is_pmem;
	char *p = pmem_map_file(argv[1], 1 << 20, PMEM_FILE_CREATE, 0644, &len, &is_pmem);
	EXPECT(p != NULL);
	memset(&a, 0xff, sizeof(a));
	EXPECT(pmem_get_attr(p, len, &a) == 0);
	EXPECT(a.flush_granularity == 64);
	EXPECT(a.stores_durable_at_fence == pmem_has_auto_flush());
	EXPECT(a.atomic_store_size == 8);
	EXPECT(a.page_size == (size_t)sysconf(_SC_PAGESIZE));
	EXPECT(a.is_pmem == is_pmem && a.is_pmem == pmem_is_pmem(p, len));
	EXPECT(one_of(a.flush_instruction, insns));
	EXPECT(a.copy_path != NULL && a.copy_path[0] != '\0');
	EXPECT(a.movnt_threshold > 0);
	EXPECT(one_of(a.persist_mode, modes));
	EXPECT(strcmp(a.persist_mode, getenv("PMEM_PERSIST_MODE") ? getenv("PMEM_PERSIST_MODE") : "flush") == 0);

	int stack;
	EXPECT(pmem_get_attr(&stack, sizeof(stack), &a) == 0 && a.is_pmem == 0);
	pmem_unmap(p, len);
	if (failures == 0)
		printf("attr: %s via %s, copy %s, mode %s ok\n", a.flush_instruction,
		       "pmem_get_attr", a.copy_path, a.persist_mode);
	return failures != 0;
}
