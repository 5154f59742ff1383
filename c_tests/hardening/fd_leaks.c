/*
 * fd_leaks.c -- no call leaks a file descriptor, whether it succeeds or
 * fails. A matrix of pmem_map_file paths x flags x lengths x modes, plus the
 * unmap, msync, deep and platform calls on good and bad arguments, is run
 * twice: the first pass lets one-time descriptors (syslog's socket, say)
 * open; around the second, /proc/self/fd must not change, call by call and
 * in total.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/check.h"

#define KIB 1024UL
#define MIB (1024 * KIB)

static const char *scratch;
static int pass;
static int calls;

/* Descriptors open before the current call (second pass only). */
static int fds_before;

static void
before_call(void)
{
	fds_before = t_count_fds();
}

static void
after_call(const char *what)
{
	calls++;
	if (pass == 2) {
		int now = t_count_fds();
		CHECK(now == fds_before, "%s: %d descriptors before, %d after", what,
			fds_before, now);
	}
}

enum path_kind {
	P_EXISTING, /* a 64 KiB file */
	P_EMPTY_FILE,
	P_NEW,
	P_DIR,
	P_MISSING_PARENT,
	P_FILE_AS_PARENT,
	P_EMPTY_STRING,
	P_DEV_NULL,
	P_DEV_ZERO,
	P_READ_ONLY_DIR_NEW, /* a new file in a directory mode 0500 */
	P_KINDS
};

static const char *const kind_name[P_KINDS] = {
	"existing", "empty-file", "new", "dir", "missing-parent",
	"file-as-parent", "empty-string", "/dev/null", "/dev/zero", "ro-dir-new",
};

/* Lays out the fixture for `kind` and returns its path. */
static const char *
path_for(enum path_kind kind, char *buf, size_t size)
{
	static unsigned serial;
	switch (kind) {
	case P_EXISTING:
		snprintf(buf, size, "%s/existing", scratch);
		t_make_file(buf, 64 * KIB);
		break;
	case P_EMPTY_FILE:
		snprintf(buf, size, "%s/empty", scratch);
		t_make_file(buf, 0);
		break;
	case P_NEW:
		snprintf(buf, size, "%s/new-%u", scratch, serial++);
		break;
	case P_DIR:
		snprintf(buf, size, "%s", scratch);
		break;
	case P_MISSING_PARENT:
		snprintf(buf, size, "%s/no/such/dir/file", scratch);
		break;
	case P_FILE_AS_PARENT:
		snprintf(buf, size, "%s/existing/child", scratch);
		break;
	case P_EMPTY_STRING:
		snprintf(buf, size, "%s", "");
		break;
	case P_DEV_NULL:
		snprintf(buf, size, "/dev/null");
		break;
	case P_DEV_ZERO:
		snprintf(buf, size, "/dev/zero");
		break;
	case P_READ_ONLY_DIR_NEW:
		snprintf(buf, size, "%s/ro/new-%u", scratch, serial++);
		break;
	default:
		buf[0] = '\0';
	}
	return buf;
}

static const int flag_sets[] = {
	0,
	PMEM_FILE_CREATE,
	PMEM_FILE_CREATE | PMEM_FILE_EXCL,
	PMEM_FILE_CREATE | PMEM_FILE_SPARSE,
	PMEM_FILE_CREATE | PMEM_FILE_EXCL | PMEM_FILE_SPARSE,
	PMEM_FILE_TMPFILE,
	PMEM_FILE_TMPFILE | PMEM_FILE_CREATE,
	PMEM_FILE_TMPFILE | PMEM_FILE_CREATE | PMEM_FILE_EXCL,
	PMEM_FILE_EXCL,
	PMEM_FILE_SPARSE,
	1 << 4,
	PMEM_FILE_CREATE | (1 << 30),
	-1,
};

static const size_t lengths[] = {
	0, 1, 4 * KIB, 4 * KIB + 1, 2 * MIB, (size_t)1 << 45, SIZE_MAX,
};

static const mode_t modes[] = { 0600, 0, 07777 };

static void
map_matrix(void)
{
	char path[4096], what[4200];
	for (int k = 0; k < P_KINDS; k++)
		for (size_t f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++)
			for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++)
				for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
					/* /dev/zero with CREATE and a length would
					 * fallocate nothing but is harmless; a real
					 * file of 1 << 45 bytes cannot exist here. */
					path_for((enum path_kind)k, path, sizeof(path));
					snprintf(what, sizeof(what),
						"pmem_map_file(%s, %zu, 0x%x, 0%o)",
						kind_name[k], lengths[l], flag_sets[f], modes[m]);
					size_t mapped = 0;
					int is_pmem = -1;
					before_call();
					void *addr = pmem_map_file(path, lengths[l], flag_sets[f],
						modes[m], &mapped, &is_pmem);
					if (addr) {
						CHECK(is_pmem == 0, "%s: is_pmem %d", what, is_pmem);
						CHECK(pmem_unmap(addr, mapped) == 0, "%s: unmap: %s",
							what, pmem_errormsg());
					}
					after_call(what);
				}
}

/* The calls that take an address: on a live mapping and on bad ranges. */
static void
range_calls(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/ranges", scratch);
	size_t mapped;
	int is_pmem;
	before_call();
	char *addr = pmem_map_file(path, 64 * KIB, PMEM_FILE_CREATE, 0600, &mapped, &is_pmem);
	after_call("map for range calls");
	if (!CHECK(addr != NULL, "map %s: %s", path, pmem_errormsg()))
		return;

	static char stack_buf[256];
	struct {
		const char *what;
		const void *addr;
		size_t len;
	} ranges[] = {
		{ "whole", addr, mapped },
		{ "inner", addr + 4096, 4096 },
		{ "unaligned", addr + 7, 100 },
		{ "zero length", addr, 0 },
		{ "past end", addr + mapped - 4096, 8192 },
		{ "NULL", NULL, 4096 },
		{ "not mapped by us", stack_buf, sizeof(stack_buf) },
		{ "huge", addr, SIZE_MAX / 2 },
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		char what[128];
		const void *a = ranges[i].addr;
		size_t n = ranges[i].len;
		snprintf(what, sizeof(what), "range calls on %s", ranges[i].what);
		before_call();
		(void)pmem_is_pmem(a, n);
		(void)pmem_msync(a, n);
		(void)pmem_deep_drain(a, n);
		(void)pmem_has_auto_flush();
		(void)pmem_has_hw_drain();
		(void)pmem_errormsg();
		after_call(what);
	}
	/* These flush the lines first, so only a mapped range is valid. */
	before_call();
	pmem_deep_flush(addr, mapped);
	pmem_persist(addr, mapped);
	CHECK(pmem_deep_persist(addr, mapped) == 0, "deep_persist: %s", pmem_errormsg());
	after_call("deep_flush/persist");

	/* Bad unmaps, then a partial one, then the rest. */
	before_call();
	(void)pmem_unmap(NULL, 4096);
	(void)pmem_unmap(addr + 1, 4096);
	(void)pmem_unmap(addr, 0);
	CHECK(pmem_unmap(addr + 4096, 4096) == 0, "partial unmap: %s", pmem_errormsg());
	CHECK(pmem_unmap(addr, mapped) == 0, "unmap rest: %s", pmem_errormsg());
	after_call("unmaps");

	before_call();
	(void)pmem_check_version(1, 0);
	(void)pmem_check_version(99, 0);
	after_call("check_version");
}

int
main(void)
{
	t_begin("fd_leaks");
	scratch = t_tmpdir();
	char ro[4096];
	snprintf(ro, sizeof(ro), "%s/ro", scratch);
	mkdir(ro, 0500);

	int start = -1;
	for (pass = 1; pass <= 2; pass++) {
		if (pass == 2)
			start = t_count_fds();
		map_matrix();
		range_calls();
	}
	int end = t_count_fds();
	printf("fd_leaks: %d calls per pass, %d descriptors before the second pass, %d after\n",
		calls / 2, start, end);
	CHECK(start == end, "descriptors: %d before the matrix, %d after", start, end);
	chmod(ro, 0700);
	return t_end();
}
