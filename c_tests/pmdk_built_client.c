/*
 * pmdk_built_client.c -- an ordinary libpmem program, compiled against
 * Debian's PMDK header (/usr/include/libpmem.h) and linked with its -lpmem,
 * that must run unchanged on our libpmem.so.1 (the runner puts ours first
 * on LD_LIBRARY_PATH and checks that ours is the one serving it).
 */
#include <errno.h>
#include <string.h>

#include <libpmem.h>

#include "lib/check.h"

#define LEN ((size_t)4 << 20)

int
main(void)
{
	t_begin("pmdk_built_client");
	const char *why = pmem_check_version(PMEM_MAJOR_VERSION, PMEM_MINOR_VERSION);
	CHECK(why == NULL, "pmem_check_version(%d, %d): %s", PMEM_MAJOR_VERSION,
		PMEM_MINOR_VERSION, why);

	const char *path = t_path("pmdk-client");
	size_t mapped;
	int is_pmem;
	char *p = pmem_map_file(path, LEN, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600, &mapped,
		&is_pmem);
	CHECK(p != NULL && mapped == LEN, "pmem_map_file: %s", pmem_errormsg());
	if (!p)
		return t_end();
	CHECK(pmem_is_pmem(p, mapped) == is_pmem, "pmem_is_pmem disagrees with *is_pmemp");

	static char record[1000];
	t_fill((unsigned char *)record, sizeof(record), 5);
	pmem_memcpy_persist(p, record, sizeof(record));
	pmem_memset_nodrain(p + 4096, 'z', 5000);
	pmem_drain();
	pmem_memmove(p + 10, p, sizeof(record), PMEM_F_MEM_NONTEMPORAL);
	pmem_memcpy(p + 20000, record, sizeof(record), PMEM_F_MEM_NOFLUSH);
	pmem_persist(p + 20000, sizeof(record));
	p[30000] = 'x';
	pmem_flush(p + 30000, 1);
	pmem_drain();
	CHECK(pmem_msync(p, 4096) == 0, "pmem_msync: %s", strerror(errno));
	CHECK(pmem_deep_persist(p, 8192) == 0, "pmem_deep_persist: %s", strerror(errno));
	CHECK(pmem_has_hw_drain() == 0, "pmem_has_hw_drain() = %d", pmem_has_hw_drain());
	CHECK(pmem_has_auto_flush() >= 0, "pmem_has_auto_flush() failed");
	CHECK(pmem_unmap(p, mapped) == 0, "pmem_unmap: %s", strerror(errno));

	p = pmem_map_file(path, 0, 0, 0, &mapped, NULL);
	CHECK(p != NULL && mapped == LEN, "reopening: %s", pmem_errormsg());
	if (p) {
		CHECK(memcmp(p + 10, record, sizeof(record)) == 0, "moved record lost");
		CHECK(memcmp(p + 20000, record, sizeof(record)) == 0, "copied record lost");
		CHECK(p[4096] == 'z' && p[4096 + 4999] == 'z' && p[30000] == 'x', "memset lost");
		pmem_unmap(p, mapped);
	}

	errno = 0;
	CHECK(pmem_map_file(path, LEN, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600, NULL, NULL) == NULL &&
		errno == EEXIST, "CREATE|EXCL of an existing file: errno %d", errno);
	CHECK(pmem_errormsg() != NULL && pmem_errormsg()[0] != '\0', "no error message");
	return t_end();
}
