/*
 * test_persist.c -- pmem_persist, pmem_flush, pmem_drain, pmem_msync,
 * pmem_deep_flush/drain/persist, pmem_has_hw_drain, pmem_has_auto_flush:
 * on file mappings, on ordinary memory, at odd alignments, and their errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <libpmem.h>

#include "lib/check.h"

#define LEN ((size_t)1 << 20)
/* The longest of on_file_mapping's odd lengths. */
#define ODD_LEN_MAX 4099

/* The bytes at [off, off+len) of the file, as read(2) sees them, equal want. */
static int
file_has(const char *path, size_t off, const void *want, size_t len)
{
	unsigned char buf[8192];
	int fd = open(path, O_RDONLY);
	int same = fd >= 0 && len <= sizeof(buf) && pread(fd, buf, len, (off_t)off) == (ssize_t)len &&
		memcmp(buf, want, len) == 0;
	if (fd >= 0)
		close(fd);
	return same;
}

/*
 * Every msync(2) the library makes comes here first: the program's own
 * definition interposes on the C library's. Reading the file back cannot
 * show that data was synced (read(2) sees the page cache, synced or not),
 * so the checks below ask whether an MS_SYNC msync covered the range.
 */
#define MAX_SYNCS 64
static struct {
	uintptr_t start, end;
} syncs[MAX_SYNCS];
static unsigned nsyncs;

int
msync(void *addr, size_t len, int flags)
{
	if ((flags & MS_SYNC) && nsyncs < MAX_SYNCS) {
		syncs[nsyncs].start = (uintptr_t)addr;
		syncs[nsyncs].end = (uintptr_t)addr + len;
		nsyncs++;
	}
	return (int)syscall(SYS_msync, addr, len, flags);
}

/* Whether an MS_SYNC msync since the last call covered [p, p + len). */
static int
synced(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	int covered = 0;
	for (unsigned i = 0; i < nsyncs; i++)
		covered |= syncs[i].start <= a && a + len <= syncs[i].end;
	nsyncs = 0;
	return covered;
}

/* An address range that is certainly not mapped. */
static void *
unmapped_range(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, len);
	return p;
}

static void
platform_queries(void)
{
	CHECK(pmem_has_hw_drain() == 0, "pmem_has_hw_drain() = %d; x86_64 always needs a drain",
		pmem_has_hw_drain());
	int af = pmem_has_auto_flush();
	CHECK(af == 0 || af == 1, "pmem_has_auto_flush() = %d (errno %d)", af, errno);
	glob_t g;
	int regions = glob("/sys/bus/nd/devices/region*", 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
	if (regions)
		globfree(&g);
	else
		CHECK(af == 0, "pmem_has_auto_flush() = %d on a machine with no NVDIMM region", af);
	CHECK(pmem_has_auto_flush() == af, "pmem_has_auto_flush changed its answer");
}

static void
on_file_mapping(void)
{
	const char *path = t_path("persist");
	size_t mapped;
	unsigned char *p = pmem_map_file(path, LEN, PMEM_FILE_CREATE, 0600, &mapped, NULL);
	CHECK(p != NULL, "setup: pmem_map_file failed: %s", strerror(errno));
	if (!p)
		return;
	unsigned char want[4096];

	t_fill(want, sizeof(want), 11);
	memcpy(p, want, sizeof(want));
	pmem_persist(p, sizeof(want));
	CHECK(memcmp(p, want, sizeof(want)) == 0, "pmem_persist changed the data");

	/* Odd starts and lengths, crossing cache lines and pages. */
	static const size_t offs[] = {1, 63, 64, 65, 4095, 4097, 8191};
	static const size_t lens[] = {0, 1, 7, 63, 64, 65, 129, 4096, ODD_LEN_MAX};
	unsigned char expect[ODD_LEN_MAX];
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			unsigned char *a = p + 65536 + offs[i] * 3;
			t_fill(a, lens[j], (unsigned)(i * 31 + j));
			pmem_flush(a, lens[j]);
			pmem_drain();
			pmem_persist(a, lens[j]);
			pmem_deep_flush(a, lens[j]);
			t_fill(expect, lens[j], (unsigned)(i * 31 + j));
			CHECK(memcmp(a, expect, lens[j]) == 0,
				"flush/persist at offset %zu len %zu changed the data", offs[i], lens[j]);
		}
	pmem_drain();

	t_fill(want, sizeof(want), 12);
	memcpy(p + 300000, want, sizeof(want));
	synced(NULL, 0);
	CHECK(pmem_msync(p + 300000, sizeof(want)) == 0,
		"pmem_msync of an unaligned range of a file mapping failed: %s", strerror(errno));
	CHECK(synced(p + 300000, sizeof(want)), "pmem_msync made no msync(MS_SYNC) of its range");
	CHECK(file_has(path, 300000, want, sizeof(want)), "after pmem_msync the file lacks the data");
	CHECK(pmem_msync(p, mapped) == 0, "pmem_msync of the whole mapping failed: %s",
		strerror(errno));
	CHECK(pmem_msync(p + 5, 0) == 0, "pmem_msync with len 0 failed: %s", strerror(errno));

	t_fill(want, sizeof(want), 13);
	memcpy(p + 500001, want, sizeof(want));
	synced(NULL, 0);
	CHECK(pmem_deep_persist(p + 500001, sizeof(want)) == 0, "pmem_deep_persist failed: %s",
		strerror(errno));
	/* Off persistent memory, deep persistence is msync's (on it, the region's deep flush). */
	if (!pmem_is_pmem(p, mapped))
		CHECK(synced(p + 500001, sizeof(want)),
			"pmem_deep_persist of a file off pmem made no msync(MS_SYNC) of its range");
	CHECK(file_has(path, 500001, want, sizeof(want)), "after pmem_deep_persist the file lacks the data");
	pmem_deep_flush(p + 3, 1000);
	CHECK(pmem_deep_drain(p + 3, 1000) == 0, "pmem_deep_drain failed: %s", strerror(errno));
	CHECK(pmem_deep_persist(p, mapped) == 0, "pmem_deep_persist of the whole mapping failed: %s",
		strerror(errno));

	CHECK(pmem_unmap(p, mapped) == 0, "pmem_unmap failed");
}

static void
on_ordinary_memory(void)
{
	/* pmem_persist & co. must work on any memory, pmem or not. */
	unsigned char stack[300];
	unsigned char *heap = malloc(LEN);
	t_fill(heap, LEN, 21);
	t_fill(stack, sizeof(stack), 22);
	pmem_persist(heap + 1, LEN - 1);
	pmem_flush(stack + 3, sizeof(stack) - 3);
	pmem_drain();
	pmem_deep_flush(heap, 100);
	unsigned char want[300];
	t_fill(want, sizeof(want), 22);
	CHECK(memcmp(stack, want, sizeof(want)) == 0, "pmem_flush of stack memory changed it");
	unsigned char *ref = malloc(LEN);
	t_fill(ref, LEN, 21);
	CHECK(memcmp(heap, ref, LEN) == 0, "pmem_persist of heap memory changed it");
	free(ref);
	free(heap);

	void *anon = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(pmem_msync(anon, LEN) == 0, "pmem_msync of anonymous memory failed: %s",
		strerror(errno));
	CHECK(pmem_deep_persist(anon, LEN) == 0, "pmem_deep_persist of anonymous memory failed: %s",
		strerror(errno));
	munmap(anon, LEN);
}

/*
 * valgrind.supp names this function: its msync of an unmapped range is
 * on purpose, so keep the name unique.
 */
static void
errors_on_unmapped_range(void)
{
	void *gone = unmapped_range(LEN);
	if (msync(gone, 4096, MS_SYNC) == 0) {
		/* qemu-user for a 32-bit guest keeps the whole range reserved. */
		printf("unmapped ranges: the system's own msync succeeds here, not checked\n");
		return;
	}
	errno = 0;
	CHECK_FAILS(pmem_msync(gone, 4096), -1, ENOMEM, "pmem_msync of an unmapped range");
	CHECK(pmem_errormsg()[0] != '\0', "no pmem_errormsg after pmem_msync failed");
	errno = 0;
	CHECK_FAILS(pmem_deep_drain(gone, 4096), -1, ENOMEM, "pmem_deep_drain of an unmapped range");
}

int
main(void)
{
	t_begin("test_persist");
	platform_queries();
	on_file_mapping();
	on_ordinary_memory();
	errors_on_unmapped_range();
	return t_end();
}
