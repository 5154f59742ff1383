/*
 * test_map_file.c -- pmem_map_file (create, open, every flag, errors),
 * pmem_unmap (whole, partial, bad arguments) and pmem_is_pmem, including
 * PMEM_IS_PMEM_FORCE in child processes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpmem.h>

#include "lib/check.h"

#define MiB ((size_t)1 << 20)

static size_t page;

static off_t
file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static int
exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int
dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* A forced PMEM_IS_PMEM_FORCE in our own environment changes what is_pmem must be. */
static int
expected_is_pmem(void)
{
	const char *force = getenv("PMEM_IS_PMEM_FORCE");
	return force && strcmp(force, "1") == 0;
}

static void
create_then_reopen(void)
{
	const char *path = t_path("created");
	size_t mapped = 0;
	int is_pmem = -1;
	umask(0);
	unsigned char *p = pmem_map_file(path, 2 * MiB, PMEM_FILE_CREATE, 0640, &mapped, &is_pmem);
	CHECK(p != NULL, "pmem_map_file(CREATE, 2 MiB) of a new file failed: %s", strerror(errno));
	if (!p)
		return;
	CHECK(mapped == 2 * MiB, "mapped length %zu, want %zu", mapped, 2 * MiB);
	CHECK(is_pmem == expected_is_pmem(), "*is_pmemp = %d on a non-DAX file", is_pmem);
	CHECK(pmem_is_pmem(p, mapped) == is_pmem,
		"pmem_is_pmem disagrees with *is_pmemp (%d)", is_pmem);
	struct stat st;
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode), "the file was not created");
	CHECK((st.st_mode & 0777) == 0640, "file mode %o, want 0640", st.st_mode & 0777);
	CHECK(st.st_size == (off_t)(2 * MiB), "file size %lld, want 2 MiB", (long long)st.st_size);
	CHECK((size_t)st.st_blocks * 512 >= 2 * MiB,
		"without PMEM_FILE_SPARSE the file must be fully allocated (%lld blocks)",
		(long long)st.st_blocks);

	unsigned char want[4096];
	t_fill(want, sizeof(want), 1);
	memcpy(p + MiB - 100, want, sizeof(want));
	pmem_persist(p + MiB - 100, sizeof(want));
	CHECK(pmem_unmap(p, mapped) == 0, "pmem_unmap of the whole mapping failed: %s",
		strerror(errno));

	/* Without CREATE: the whole existing file, len 0, mode ignored. */
	mapped = 0;
	p = pmem_map_file(path, 0, 0, 0, &mapped, &is_pmem);
	CHECK(p != NULL, "reopening the existing file failed: %s", strerror(errno));
	if (!p)
		return;
	CHECK(mapped == 2 * MiB, "reopened length %zu, want the file size %zu", mapped, 2 * MiB);
	CHECK(memcmp(p + MiB - 100, want, sizeof(want)) == 0,
		"data written before pmem_unmap is not there after reopening");
	CHECK(pmem_unmap(p, mapped) == 0, "pmem_unmap failed: %s", strerror(errno));

	/* NULL out-pointers are allowed. */
	p = pmem_map_file(path, 0, 0, 0, NULL, NULL);
	CHECK(p != NULL, "pmem_map_file with NULL mapped_lenp/is_pmemp failed");
	if (p)
		pmem_unmap(p, 2 * MiB);

	/* CREATE on an existing file truncates or extends it to len, keeping the data. */
	p = pmem_map_file(path, MiB, PMEM_FILE_CREATE, 0600, &mapped, NULL);
	CHECK(p != NULL && mapped == MiB && file_size(path) == (off_t)MiB,
		"CREATE on an existing 2 MiB file with len 1 MiB: got %p, length %zu, file size %lld",
		(void *)p, mapped, (long long)file_size(path));
	if (p) {
		CHECK(memcmp(p + MiB - 100, want, 100) == 0, "truncating lost the data before len");
		pmem_unmap(p, mapped);
	}
	p = pmem_map_file(path, 3 * MiB, PMEM_FILE_CREATE, 0600, &mapped, NULL);
	CHECK(p != NULL && mapped == 3 * MiB && file_size(path) == (off_t)(3 * MiB),
		"CREATE on an existing 1 MiB file with len 3 MiB: got %p, length %zu, file size %lld",
		(void *)p, mapped, (long long)file_size(path));
	if (p) {
		CHECK(p[3 * MiB - 1] == 0 && p[2 * MiB] == 0, "the extended part is not zero");
		pmem_unmap(p, mapped);
	}
	CHECK((stat(path, &st), (st.st_mode & 0777) == 0640),
		"mode of an existing file changed to %o", st.st_mode & 0777);
}

static void
create_flags(void)
{
	size_t mapped = 0;
	int is_pmem = 0;

	/* EXCL on a new file works, on an existing one fails with EEXIST. */
	const char *path = t_path("excl");
	void *p = pmem_map_file(path, MiB, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600, &mapped, NULL);
	CHECK(p != NULL && mapped == MiB, "CREATE|EXCL of a new file failed: %s", strerror(errno));
	if (p)
		pmem_unmap(p, mapped);
	mapped = 12345;
	is_pmem = 7;
	errno = 0;
	p = pmem_map_file(path, MiB, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600, &mapped, &is_pmem);
	CHECK_FAILS(p, NULL, EEXIST, "CREATE|EXCL of an existing file");
	CHECK(mapped == 12345 && is_pmem == 7,
		"a failing pmem_map_file modified *mapped_lenp/*is_pmemp (%zu, %d)", mapped, is_pmem);
	CHECK(pmem_errormsg() && pmem_errormsg()[0], "no pmem_errormsg after a failure");

	/* SPARSE: sized with ftruncate, so (almost) nothing is allocated. */
	path = t_path("sparse");
	p = pmem_map_file(path, 64 * MiB, PMEM_FILE_CREATE | PMEM_FILE_SPARSE, 0600, &mapped, NULL);
	CHECK(p != NULL && mapped == 64 * MiB, "CREATE|SPARSE 64 MiB failed: %s", strerror(errno));
	struct stat st;
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)(64 * MiB), "sparse file size wrong");
	CHECK((size_t)st.st_blocks * 512 < 64 * MiB,
		"PMEM_FILE_SPARSE file has %lld bytes allocated: not sparse",
		(long long)st.st_blocks * 512);
	if (p) {
		((char *)p)[32 * MiB] = 'x';
		pmem_persist((char *)p + 32 * MiB, 1);
		pmem_unmap(p, mapped);
	}

	/* TMPFILE: an unnamed file in the directory, which stays empty. */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", t_path("tmpdir"));
	mkdir(dir, 0700);
	p = pmem_map_file(dir, MiB, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE, 0644, &mapped, &is_pmem);
	CHECK(p != NULL && mapped == MiB, "CREATE|TMPFILE in a directory failed: %s",
		strerror(errno));
	CHECK(dir_entries(dir) == 0, "TMPFILE left %d named files in the directory",
		dir_entries(dir));
	if (p) {
		memset(p, 0xab, mapped);
		pmem_persist(p, mapped);
		CHECK(pmem_unmap(p, mapped) == 0, "pmem_unmap of a TMPFILE mapping failed");
	}
	p = pmem_map_file(dir, MiB, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE | PMEM_FILE_EXCL, 0600,
		&mapped, NULL);
	CHECK(p != NULL, "CREATE|TMPFILE|EXCL failed: %s", strerror(errno));
	if (p)
		pmem_unmap(p, mapped);
	errno = 0;
	p = pmem_map_file(t_path("no-such-dir"), MiB, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE, 0600,
		NULL, NULL);
	CHECK_FAILS(p, NULL, ENOENT, "CREATE|TMPFILE in a missing directory");
}

static void
map_errors(void)
{
	void *p;

	errno = 0;
	p = pmem_map_file(t_path("missing"), 0, 0, 0, NULL, NULL);
	CHECK_FAILS(p, NULL, ENOENT, "opening a missing file without CREATE");

	/* Without CREATE, len must be 0. */
	const char *existing = t_path("existing");
	int fd = open(existing, O_CREAT | O_RDWR, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)MiB) == 0, "setup: cannot create %s", existing);
	close(fd);
	errno = 0;
	p = pmem_map_file(existing, MiB, 0, 0, NULL, NULL);
	CHECK_FAILS(p, NULL, EINVAL, "non-zero len without PMEM_FILE_CREATE");

	/* With CREATE, len must be non-zero; nothing is left behind on failure. */
	const char *zero = t_path("zero-len");
	errno = 0;
	p = pmem_map_file(zero, 0, PMEM_FILE_CREATE, 0600, NULL, NULL);
	CHECK_FAILS(p, NULL, EINVAL, "CREATE with len 0");
	CHECK(!exists(zero), "a failed CREATE left %s behind", zero);

	/* A length no file system can allocate. */
	const char *huge = t_path("huge");
	errno = 0;
	/* 4 EiB; on 32-bit targets more than off_t holds. */
	size_t huge_len = sizeof(size_t) == 8 ? (size_t)((uint64_t)1 << 62) : SIZE_MAX / 2 + 1;
	p = pmem_map_file(huge, huge_len, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600, NULL, NULL);
	CHECK(p == NULL && errno != 0, "CREATE of a 4 EiB file did not fail (errno %d)", errno);
	CHECK(!exists(huge), "a failed CREATE|EXCL left the file it created behind: %s", huge);

	/* Unknown flag bits. */
	errno = 0;
	p = pmem_map_file(t_path("badflags"), MiB, PMEM_FILE_CREATE | (1 << 10), 0600, NULL, NULL);
	CHECK_FAILS(p, NULL, EINVAL, "an unknown flag bit");
	CHECK(!exists(t_path("badflags")), "invalid flags still created the file");

	/* TMPFILE needs CREATE. */
	errno = 0;
	p = pmem_map_file(t_tmpdir(), MiB, PMEM_FILE_TMPFILE, 0600, NULL, NULL);
	CHECK_FAILS(p, NULL, EINVAL, "PMEM_FILE_TMPFILE without PMEM_FILE_CREATE");

	/* A directory is not a file to map. */
	errno = 0;
	p = pmem_map_file(t_tmpdir(), 0, 0, 0, NULL, NULL);
	CHECK(p == NULL && errno != 0, "mapping a directory did not fail");

	/* An empty file has nothing to map. */
	const char *empty = t_path("empty");
	fd = open(empty, O_CREAT | O_RDWR, 0600);
	close(fd);
	errno = 0;
	p = pmem_map_file(empty, 0, 0, 0, NULL, NULL);
	CHECK(p == NULL && errno != 0, "mapping an empty file did not fail");

	if (!t_is_pmdk()) {
		/* Ours reports NULL arguments; PMDK would crash. */
		errno = 0;
		p = pmem_map_file(NULL, MiB, PMEM_FILE_CREATE, 0600, NULL, NULL);
		CHECK_FAILS(p, NULL, EINVAL, "a NULL path");
	}
}

static void
unmap_cases(void)
{
	size_t mapped;
	unsigned char *p = pmem_map_file(t_path("unmap"), 4 * page, PMEM_FILE_CREATE, 0600,
		&mapped, NULL);
	CHECK(p != NULL, "setup: pmem_map_file failed: %s", strerror(errno));
	if (!p)
		return;
	memset(p, 'u', mapped);

	/* Part of a mapping: the rest stays usable. */
	CHECK(pmem_unmap(p + page, page) == 0, "unmapping the second page failed: %s",
		strerror(errno));
	unsigned char v;
	CHECK(mincore(p + page, page, &v) == -1 && errno == ENOMEM,
		"the unmapped page is still mapped");
	CHECK(p[0] == 'u' && p[2 * page] == 'u' && p[4 * page - 1] == 'u',
		"the pages around a partial unmap lost their data");

	errno = 0;
	CHECK_FAILS(pmem_unmap(p + 1, page), -1, EINVAL, "pmem_unmap of an unaligned address");
	errno = 0;
	CHECK_FAILS(pmem_unmap(p, 0), -1, EINVAL, "pmem_unmap with len 0");
	CHECK(p[0] == 'u', "a failed pmem_unmap unmapped something");

	CHECK(pmem_unmap(p, mapped) == 0, "unmapping the rest (with a hole) failed: %s",
		strerror(errno));
	CHECK(mincore(p, page, &v) == -1 && errno == ENOMEM, "the first page is still mapped");
}

static void
is_pmem_cases(void)
{
	char *heap = malloc(MiB);
	CHECK(pmem_is_pmem(heap, MiB) == expected_is_pmem(),
		"pmem_is_pmem of malloc'd memory = %d", pmem_is_pmem(heap, MiB));
	free(heap);

	const char *force1[] = {"PMEM_IS_PMEM_FORCE=1", NULL};
	const char *force0[] = {"PMEM_IS_PMEM_FORCE=0", NULL};
	CHECK(t_run_child("is-pmem-1", force1) == 0,
		"with PMEM_IS_PMEM_FORCE=1, pmem_is_pmem must answer 1 (see the child's output)");
	CHECK(t_run_child("is-pmem-0", force0) == 0,
		"with PMEM_IS_PMEM_FORCE=0, pmem_is_pmem must answer 0 (see the child's output)");
}

/* The child's half of is_pmem_cases: everything is (or is not) pmem. */
static void
forced_is_pmem(int want)
{
	char *heap = malloc(MiB);
	CHECK(pmem_is_pmem(heap, MiB) == want, "pmem_is_pmem of malloc'd memory = %d, want %d",
		pmem_is_pmem(heap, MiB), want);
	free(heap);
	size_t mapped;
	void *p = pmem_map_file(t_path("forced"), MiB, PMEM_FILE_CREATE, 0600, &mapped, NULL);
	CHECK(p != NULL, "pmem_map_file failed: %s", strerror(errno));
	if (p) {
		CHECK(pmem_is_pmem(p, mapped) == want, "pmem_is_pmem of a file mapping = %d, want %d",
			pmem_is_pmem(p, mapped), want);
		pmem_unmap(p, mapped);
	}
}

int
main(int argc, char *argv[])
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	if (argc > 1) {
		t_begin(argv[1]);
		forced_is_pmem(strcmp(argv[1], "is-pmem-1") == 0);
		return t_end();
	}
	t_begin("test_map_file");
	create_then_reopen();
	create_flags();
	map_errors();
	unmap_cases();
	is_pmem_cases();
	return t_end();
}
