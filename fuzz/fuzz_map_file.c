/*
 * fuzz_map_file.c -- libFuzzer harness over pmem_map_file's arguments.
 *
 * Input: path kind (u8), flags (u32, unknown bits included), length class
 * (u8) and raw length (u64), mode (u16), then a file name. Every path lies
 * inside a scratch directory (new files, fixtures, the directory itself, a
 * subdirectory, missing parents, a file used as a parent, the empty path,
 * a symlink). Lengths run from 0 to a few MiB, or from 2^45 up: nothing in
 * between, so a non-sparse create can never fill the shared disk.
 *
 * Invariants checked on every input: success returns a usable mapping of
 * the right length that pmem_unmap accepts and is_pmem 0; failure returns
 * NULL with errno and a message and leaves the out-parameters untouched;
 * no descriptor is leaked; nothing outside the scratch directory changes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../c_tests/lib/check.h"
#include "fuzz_input.h"

#define KIB 1024UL
#define MIB (1024 * KIB)
#define EXISTING_LEN (8 * KIB)

static char root[4096];
static int fds_at_start = -1;
static struct stat sentinel_st;

/* The fixtures every input starts from, inside root/scratch. */
static void
reset_scratch(void)
{
	t_remove_tree("scratch");
	if (mkdir("scratch", 0700) || mkdir("scratch/dir", 0700) ||
	    t_make_file("scratch/existing", EXISTING_LEN) ||
	    t_make_file("scratch/empty", 0) || symlink("existing", "scratch/link")) {
		perror("fuzz_map_file: fixtures");
		abort();
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The kit's scratch directory: made under $TMPDIR, removed at exit. */
	t_begin_with("fuzz_map_file", NULL);
	snprintf(root, sizeof(root), "%s", t_tmpdir());
	if (chdir(root) != 0 || t_make_file("sentinel", 4096) != 0) {
		perror("fuzz_map_file: setup");
		abort();
	}
	stat("sentinel", &sentinel_st);
	reset_scratch();
	pmem_log_set_function(t_quiet_log);
	return 0;
}

/* A file name from the input: [a-z0-9_-] only, so it stays in its directory. */
static void
take_name(struct fuzz_input *in, char *buf, size_t size)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789_-";
	size_t n = 0;
	while (in->left && n + 1 < size && n < 24)
		buf[n++] = alphabet[FUZZ_U8(in) % (sizeof(alphabet) - 1)];
	if (n == 0)
		buf[n++] = 'f';
	buf[n] = '\0';
}

static void
make_path(uint8_t kind, const char *name, char *path, size_t size)
{
	switch (kind % 12) {
	case 0: snprintf(path, size, "scratch/%s", name); break;
	case 1: snprintf(path, size, "scratch/existing"); break;
	case 2: snprintf(path, size, "scratch/empty"); break;
	case 3: snprintf(path, size, "scratch"); break;
	case 4: snprintf(path, size, "scratch/dir/"); break;
	case 5: snprintf(path, size, "scratch/missing/%s", name); break;
	case 6: snprintf(path, size, "scratch/existing/%s", name); break;
	case 7: snprintf(path, size, "%s", ""); break;
	case 8: snprintf(path, size, "scratch/%s/", name); break;
	case 9: snprintf(path, size, "%s/scratch/%s", root, name); break;
	case 10: snprintf(path, size, "scratch/link"); break;
	default: snprintf(path, size, "scratch/dir/%s", name); break;
	}
}

static size_t
make_length(uint8_t class, uint64_t raw)
{
	switch (class % 6) {
	case 0: return 0;
	case 1: return raw % (64 * KIB);
	case 2: return (raw % 16) * 4 * KIB;
	case 3: return 2 * MIB + ((raw % 5) - 2) * 4 * KIB;
	case 4: return SIZE_MAX - raw % 8192;
	default: return ((size_t)1 << 45) | raw; /* past ext4's 16 TiB */
	}
}

/* Nothing but scratch/ and an unchanged sentinel in the root directory. */
static void
check_outside(void)
{
	DIR *d = opendir(".");
	FUZZ_ASSERT(d != NULL, "opendir root");
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		FUZZ_ASSERT(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
				!strcmp(e->d_name, "scratch") || !strcmp(e->d_name, "sentinel"),
			"%s appeared outside the scratch directory", e->d_name);
	closedir(d);
	struct stat st;
	FUZZ_ASSERT(stat("sentinel", &st) == 0 && st.st_size == sentinel_st.st_size &&
			st.st_mtim.tv_sec == sentinel_st.st_mtim.tv_sec &&
			st.st_mtim.tv_nsec == sentinel_st.st_mtim.tv_nsec &&
			st.st_mode == sentinel_st.st_mode,
		"the sentinel outside the scratch directory changed");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t kind = FUZZ_U8(&in);
	int flags = (int)FUZZ_U32(&in);
	uint8_t len_class = FUZZ_U8(&in);
	size_t len = make_length(len_class, FUZZ_U64(&in));
	mode_t mode = FUZZ_U16(&in) & 07777;
	char name[32], path[4200];
	take_name(&in, name, sizeof(name));
	make_path(kind, name, path, sizeof(path));

	if (fds_at_start < 0)
		fds_at_start = t_count_fds();
	size_t mapped = (size_t)0xdeadbeef;
	int is_pmem = -7;
	errno = 0;
	char *addr = pmem_map_file(path, len, flags, mode, &mapped, &is_pmem);
	if (addr) {
		FUZZ_ASSERT(mapped > 0 && is_pmem == 0, "mapped %zu is_pmem %d", mapped, is_pmem);
		if ((flags & PMEM_FILE_CREATE) && len)
			FUZZ_ASSERT(mapped == len, "asked %zu, mapped %zu", len, mapped);
		addr[0] = 1;
		addr[mapped - 1] = 2;
		pmem_persist(addr, 1);
		FUZZ_ASSERT(pmem_is_pmem(addr, mapped) == 0, "is_pmem on a non-DAX file");
		FUZZ_ASSERT(pmem_unmap(addr, mapped) == 0, "unmap: %s", pmem_errormsg());
	} else {
		const char *msg = pmem_errormsg();
		FUZZ_ASSERT(errno != 0 && msg && *msg, "failure without errno or message");
		FUZZ_ASSERT(mapped == (size_t)0xdeadbeef && is_pmem == -7,
			"failure wrote the out-parameters (%zu, %d)", mapped, is_pmem);
	}
	int fds = t_count_fds();
	FUZZ_ASSERT(fds == fds_at_start, "%d descriptors open, %d at start", fds, fds_at_start);
	check_outside();
	reset_scratch();
	return 0;
}
