/*
 * conformance.c -- edge and bad inputs to the mapping, msync, version and
 * deep functions, with everything observable printed: return value, errno,
 * out-parameters, and the file and directory left behind.
 *
 * tests/conformance.sh runs it under PMDK's libpmem and under ours and
 * diffs the two outputs. Nothing run-dependent is printed (no addresses, no
 * pids): a difference is a difference in behaviour.
 *
 * usage: conformance WORKDIR [TMPFS_DIR]
 *   WORKDIR    an empty directory on a file system with fallocate and holes
 *   TMPFS_DIR  an empty 1 MiB tmpfs (optional): the out-of-space cases
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libpmem.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB (1024UL)
#define MiB (1024UL * 1024)
#define C PMEM_FILE_CREATE
#define X PMEM_FILE_EXCL
#define S PMEM_FILE_SPARSE
#define T PMEM_FILE_TMPFILE

static const char *Work;
static size_t Page;

/* WORKDIR/dir/name (a fresh string; the test leaks them), with the case
 * directory created */
static const char *
at(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", Work, dir);
	mkdir(path, 0755);
	if (name && *name)
		snprintf(path, sizeof(path), "%s/%s/%s", Work, dir, name);
	return strdup(path);
}

static const char *
errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/* a file of `size` bytes of a pattern (starting at `seed`), its middle
 * quarter a hole, and mode `mode` */
static void
make_file(const char *path, size_t size, int seed, mode_t mode)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char *buf = malloc(size ? size : 1);
	for (size_t i = 0; i < size; i++)
		buf[i] = (char)(seed + i % 251);
	if (size && write(fd, buf, size) != (ssize_t)size)
		abort();
	if (size >= 4 * 4 * KiB)
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			(off_t)(size / 4) & ~4095L, (off_t)(size / 4) & ~4095L);
	fchmod(fd, mode);
	close(fd);
	free(buf);
}

/* size, mode, allocation and first bytes of a file (or its absence) */
static void
show_file(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		printf("  file: %s\n", errname(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		printf("  file: type %o\n", st.st_mode & S_IFMT);
		return;
	}
	unsigned long long alloc = (unsigned long long)st.st_blocks * 512;
	printf("  file: size=%lld mode=%04o alloc=%s first=", (long long)st.st_size,
		st.st_mode & 07777,
		alloc == 0 ? "none" : alloc >= (unsigned long long)st.st_size ? "full" : "partial");
	int fd = open(path, O_RDONLY);
	unsigned char b[4] = {0};
	ssize_t n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;
	for (ssize_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
	if (fd >= 0)
		close(fd);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void
show_dir(const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, by_name);
	printf("  dir:");
	for (int i = 0; i < n; i++) {
		if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, ".."))
			printf(" %s", list[i]->d_name);
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	printf("%s\n", n < 0 ? " (unreadable)" : "");
}

/* pmem_map_file with everything it returns printed; unmaps on success */
static void
map(const char *label, const char *path, size_t len, int flags, mode_t mode)
{
	size_t mlen = 0xdeadbeef;
	int is_pmem = -7;
	errno = 0;
	void *p = pmem_map_file(path, len, flags, mode, &mlen, &is_pmem);
	int e = errno;
	printf("%s: map_file(len=%zu flags=%#x mode=%04o)", label, len, flags, mode);
	if (p == NULL) {
		printf(" = NULL errno=%s msg=%s", errname(e), *pmem_errormsg() ? "yes" : "no");
		printf(" mlen=%s is_pmem=%s\n", mlen == 0xdeadbeef ? "untouched" : "WRITTEN",
			is_pmem == -7 ? "untouched" : "WRITTEN");
		return;
	}
	/* errno too: fio tells a file that is not pmem by it (EOPNOTSUPP) */
	printf(" = ok errno=%s mlen=%zu is_pmem=%d", e ? errname(e) : "0", mlen, is_pmem);
	if (mlen >= 2 * MiB)
		printf(" aligned2M=%d", (uintptr_t)p % (2 * MiB) == 0);
	const char *hint = getenv("PMEM_MMAP_HINT");
	if (hint)
		printf(" at_or_above_hint=%d", (uintptr_t)p >= strtoull(hint, NULL, 16));
	printf(" query=%d", pmem_is_pmem(p, mlen));
	((volatile char *)p)[mlen - 1] = ((volatile char *)p)[mlen - 1];
	errno = 0;
	int rc = pmem_unmap(p, mlen);
	printf(" unmap=%d\n", rc);
}

/* a mapping of a fresh 4-page file, for the calls that take addresses */
static char *
scratch_mapping(const char *dir, size_t *len)
{
	return pmem_map_file(at(dir, "m"), 4 * Page, C, 0600, len, NULL);
}

static void
rc_case(const char *label, int rc)
{
	int e = errno;
	printf("%s = %d", label, rc);
	if (rc != 0)
		printf(" errno=%s", errname(e));
	printf("\n");
}

#define RC(label, call) do { errno = 0; int rc_ = (call); rc_case(label, rc_); } while (0)

static void
paths(void)
{
	map("null path", NULL, 0, 0, 0);
	map("null path create", NULL, 4096, C, 0600);
	map("empty path", "", 0, 0, 0);
	map("empty path create", "", 4096, C, 0600);
	map("directory", at("dir", ""), 0, 0, 0);
	map("directory create", at("dir", ""), 4096, C, 0600);
	map("missing parent", at("missing", "no/such"), 0, 0, 0);
	map("missing parent create", at("missing", "no/such"), 4096, C, 0600);
	show_dir(at("missing", ""));
	make_file(at("notdir", "f"), 4096, 1, 0644);
	map("file as directory", at("notdir", "f/x"), 0, 0, 0);
	map("file as directory create", at("notdir", "f/x"), 4096, C, 0600);
	char longname[5000];
	memset(longname, 'a', sizeof(longname));
	longname[sizeof(longname) - 1] = 0;
	map("name too long", longname, 0, 0, 0);
	map("dev null", "/dev/null", 0, 0, 0);
	map("dev null create", "/dev/null", 4096, C, 0600);
	map("dev zero sparse", "/dev/zero", 0, S, 0);
}

static void
lengths_and_flags(void)
{
	const char *f = at("rules", "f");
	make_file(f, 8 * KiB, 1, 0640);
	map("existing whole", f, 0, 0, 0);
	map("existing len without create", f, 4096, 0, 0);
	map("existing create len 0", f, 0, C, 0600);
	map("unknown flag", f, 0, 1 << 4, 0);
	map("unknown flag with create", f, 4096, C | (1 << 7), 0600);
	map("all flag bits", f, 0, -1, 0);
	map("tmpfile without create", at("rules", ""), 0, T, 0);
	map("tmpfile without create len", at("rules", ""), 4096, T, 0);
	map("excl without create", f, 0, X, 0);
	map("sparse without create", f, 0, S, 0);
	map("create len beyond off_t", f, (size_t)-1, C, 0600);
	map("create len off_t max+1", f, (size_t)INT64_MAX + 1, C | S, 0600);
	show_file(f);
	make_file(at("rules", "empty"), 0, 0, 0644);
	map("empty file", at("rules", "empty"), 0, 0, 0);
	show_file(at("rules", "empty"));
	show_dir(at("rules", ""));
}

static void
create(void)
{
	map("new", at("new", "a"), 4096, C, 0640);
	show_file(at("new", "a"));
	map("new odd length", at("new", "b"), 5000, C, 0600);
	show_file(at("new", "b"));
	map("new sparse", at("new", "c"), 1 * MiB, C | S, 0600);
	show_file(at("new", "c"));
	map("new excl", at("new", "d"), 3 * MiB, C | X, 0604);
	show_file(at("new", "d"));
	map("new setuid mode", at("new", "e"), 4096, C, 04755);
	show_file(at("new", "e"));
	map("new mode 0", at("new", "g"), 4096, C, 0);
	show_file(at("new", "g"));
	show_dir(at("new", ""));

	const char *f = at("resize", "f");
	make_file(f, 16 * KiB, 3, 0640);
	map("existing excl", f, 4096, C | X, 0600);
	show_file(f);
	map("existing shrink", f, 8 * KiB, C, 0600);
	show_file(f);
	map("existing extend", f, 64 * KiB, C, 0600);
	show_file(f);
	make_file(f, 64 * KiB, 5, 0600);
	map("existing extend sparse", f, 256 * KiB, C | S, 0600);
	show_file(f);
	map("existing same size", f, 256 * KiB, C, 0600);
	show_file(f);
	show_dir(at("resize", ""));
}

static void
links(void)
{
	const char *f = at("links", "target");
	make_file(f, 8 * KiB, 7, 0644);
	if (symlink("target", at("links", "link")) != 0)
		perror("symlink");
	map("symlink", at("links", "link"), 0, 0, 0);
	if (symlink("absent", at("links", "dangling")) != 0)
		perror("symlink");
	map("dangling symlink", at("links", "dangling"), 0, 0, 0);
	map("dangling symlink create", at("links", "dangling"), 4096, C, 0600);
	show_file(at("links", "absent"));
	if (symlink("gone", at("links", "dangling2")) != 0)
		perror("symlink");
	map("dangling symlink create excl", at("links", "dangling2"), 4096, C | X, 0600);
	show_dir(at("links", ""));
}

static void
tmpfiles(void)
{
	const char *d = at("tmp", "");
	map("tmpfile", d, 8192, C | T, 0644);
	map("tmpfile excl", d, 8192, C | T | X, 0644);
	map("tmpfile sparse", d, 4 * MiB, C | T | S, 0644);
	map("tmpfile len 0", d, 0, C | T, 0644);
	show_dir(d);
	map("tmpfile missing dir", at("tmp", "none"), 4096, C | T, 0644);
	make_file(at("tmp", "file"), 4096, 1, 0644);
	map("tmpfile in a file", at("tmp", "file"), 4096, C | T, 0644);
	show_dir(d);
}

/* lengths no file system can hold (each case in its own directory, so
 * what one leaves behind cannot show up in another's listing) */
static void
too_big(void)
{
	size_t huge = (size_t)1 << 62;
	map("create huge", at("big1", "a"), huge, C | S, 0600);
	show_dir(at("big1", ""));
	map("create huge excl", at("big2", "b"), huge, C | S | X, 0600);
	show_dir(at("big2", ""));
	make_file(at("big3", "c"), 8 * KiB, 9, 0640);
	map("existing create huge", at("big3", "c"), huge, C, 0600);
	show_file(at("big3", "c"));
	map("tmpfile huge", at("big4", ""), huge, C | T | S, 0600);
	show_dir(at("big4", ""));
}

/* growing past RLIMIT_FSIZE (SIGXFSZ ignored) fails with EFBIG */
static void
file_size_limit(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit lim = {64 * KiB, 64 * KiB};
		setrlimit(RLIMIT_FSIZE, &lim);
		signal(SIGXFSZ, SIG_IGN);
		make_file(at("fsize", "old"), 32 * KiB, 11, 0640);
		map("rlimit existing", at("fsize", "old"), 1 * MiB, C, 0600);
		show_file(at("fsize", "old"));
		map("rlimit existing sparse", at("fsize", "old"), 1 * MiB, C | S, 0600);
		show_file(at("fsize", "old"));
		map("rlimit new", at("fsize2", "new"), 1 * MiB, C, 0600);
		show_dir(at("fsize2", ""));
		map("rlimit new excl", at("fsize3", "new"), 1 * MiB, C | X, 0600);
		show_dir(at("fsize3", ""));
		map("rlimit tmpfile", at("fsize4", ""), 1 * MiB, C | T, 0600);
		show_dir(at("fsize4", ""));
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
}

/* total bytes allocated to the files in `dir` */
static long long
allocated(const char *dir)
{
	struct dirent **list;
	long long sum = 0;
	int n = scandir(dir, &list, NULL, by_name);
	for (int i = 0; i < n; i++) {
		char p[4096];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", dir, list[i]->d_name);
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
			sum += (long long)st.st_blocks * 512;
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	return sum;
}

/* a fresh f (256 KiB, a 64 KiB hole) in the tmpfs, then a filler that
 * leaves 32 KiB free */
static const char *
fill_tmpfs(const char *tmpfs)
{
	char filler[4096], *f = malloc(4096);
	snprintf(filler, sizeof(filler), "%s/filler", tmpfs);
	snprintf(f, 4096, "%s/f", tmpfs);
	unlink(filler);
	make_file(f, 256 * KiB, 13, 0640);
	int fd = open(filler, O_RDWR | O_CREAT, 0600);
	if (posix_fallocate(fd, 0, (off_t)(1 * MiB - 32 * KiB) - allocated(tmpfs)) != 0)
		abort();
	close(fd);
	return f;
}

/* a 1 MiB tmpfs with 32 KiB left: posix_fallocate runs out */
static void
out_of_space(const char *tmpfs)
{
	if (tmpfs == NULL) {
		printf("out of space: no tmpfs given\n");
		return;
	}
	char fresh[4096];
	snprintf(fresh, sizeof(fresh), "%s/fresh", tmpfs);
	const char *f = fill_tmpfs(tmpfs);
	map("full extend", f, 512 * KiB, C, 0600);
	show_file(f);
	f = fill_tmpfs(tmpfs);
	map("full shrink filling hole", f, 128 * KiB, C, 0600);
	show_file(f);
	f = fill_tmpfs(tmpfs);
	map("full same size filling hole", f, 256 * KiB, C, 0600);
	show_file(f);
	f = fill_tmpfs(tmpfs);
	map("full extend sparse", f, 512 * KiB, C | S, 0600);
	show_file(f);
	f = fill_tmpfs(tmpfs);
	map("full new", fresh, 512 * KiB, C, 0600);
	show_file(fresh);
	unlink(fresh);
	f = fill_tmpfs(tmpfs);
	map("full new excl", fresh, 512 * KiB, C | X, 0600);
	show_file(fresh);
	map("full tmpfile", tmpfs, 512 * KiB, C | T, 0600);
	show_dir(tmpfs);
}

static void
unmapping(void)
{
	size_t len;
	char *p = scratch_mapping("unmap", &len);
	RC("unmap NULL 0", pmem_unmap(NULL, 0));
	RC("unmap NULL page", pmem_unmap(NULL, Page));
	RC("unmap unaligned", pmem_unmap(p + 1, Page));
	RC("unmap len 0", pmem_unmap(p, 0));
	RC("unmap huge len", pmem_unmap(p, SIZE_MAX - Page));
	RC("unmap middle page", pmem_unmap(p + Page, 1));
	RC("unmap rest", pmem_unmap(p, len));
	RC("unmap again", pmem_unmap(p, len));
}

static void
queries(void)
{
	size_t len;
	char *p = scratch_mapping("query", &len);
	printf("is_pmem NULL 0 = %d\n", pmem_is_pmem(NULL, 0));
	printf("is_pmem NULL 1 = %d\n", pmem_is_pmem(NULL, 1));
	printf("is_pmem mapping = %d\n", pmem_is_pmem(p, len));
	printf("is_pmem mapping 0 = %d\n", pmem_is_pmem(p, 0));
	printf("is_pmem past end = %d\n", pmem_is_pmem(p, len + 1));
	printf("is_pmem wrapping = %d\n", pmem_is_pmem((void *)(UINTPTR_MAX - 4095), 8192));
	printf("is_pmem stack = %d\n", pmem_is_pmem(&len, sizeof(len)));

	RC("msync mapping", pmem_msync(p, len));
	RC("msync unaligned inside", pmem_msync(p + 100, 10));
	RC("msync len 0", pmem_msync(p, 0));
	RC("msync NULL 0", pmem_msync(NULL, 0));
	RC("deep_drain mapping", pmem_deep_drain(p, len));
	RC("deep_persist mapping", pmem_deep_persist(p + 1, len - 1));
	RC("deep_drain NULL 0", pmem_deep_drain(NULL, 0));
	RC("deep_persist len 0", pmem_deep_persist(p, 0));
	pmem_deep_flush(p, len);
	printf("deep_flush mapping: done\n");
	RC("unmap last page", pmem_unmap(p + len - Page, Page));
	RC("msync into unmapped page", pmem_msync(p + len - Page - 1, 2));
	RC("deep_drain into unmapped page", pmem_deep_drain(p + len - Page - 1, 2));
	printf("is_pmem into unmapped page = %d\n", pmem_is_pmem(p + len - Page - 1, 2));
	pmem_unmap(p, len);
	RC("msync unmapped", pmem_msync(p, len));
	RC("deep_drain unmapped", pmem_deep_drain(p, len));
	printf("is_pmem unmapped = %d\n", pmem_is_pmem(p, len));
	RC("deep_drain unmapped SIZE_MAX", pmem_deep_drain(p, SIZE_MAX));
	RC("deep_drain unmapped SIZE_MAX-1", pmem_deep_drain(p, SIZE_MAX - 1));
	RC("deep_drain unmapped to the top", pmem_deep_drain(p, UINTPTR_MAX - (uintptr_t)p));
	RC("deep_persist unmapped SIZE_MAX", pmem_deep_persist(p, SIZE_MAX));

	errno = 0;
	int af = pmem_has_auto_flush();
	printf("has_auto_flush = %d%s%s\n", af, af < 0 ? " errno=" : "",
		af < 0 ? errname(errno) : "");
	printf("has_hw_drain = %d\n", pmem_has_hw_drain());
}

/* Swaps two mappings of `len` bytes as PMDK's memcpy/memmove tests do: each
 * is unmapped and mapped again at the other's address, given as a hint. */
static void
swap_mappings(char **file_map, char **anon, size_t len, int fd)
{
	char *f = *file_map, *a = *anon;
	munmap(a, len);
	*file_map = mmap(a, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	munmap(f, len);
	*anon = mmap(f, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

/* PMDK's tests map a file, an anonymous range of the same size just above
 * it (by hint), then swap the two, and need both orders to come out; that
 * depends on where pmem_map_file places its mapping. */
static void
placement(void)
{
	size_t sizes[] = {4096, 64 * KiB, 2 * MiB, 2 * MiB + 4096, 4 * MiB, 8 * MiB};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%zu", i);
		const char *path = at("order", name);
		size_t len;
		char *dest = pmem_map_file(path, sizes[i], C, 0600, &len, NULL);
		int fd = open(path, O_RDWR);
		if (dest == NULL || fd < 0) {
			printf("memory order %zu: setup failed\n", sizes[i]);
			continue;
		}
		char *src = mmap(dest + len, len, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (src <= dest)
			swap_mappings(&dest, &src, len, fd);
		int above = src > dest;
		swap_mappings(&dest, &src, len, fd);
		int below = dest > src;
		printf("memory order %zu: src above=%d then below=%d\n", sizes[i], above, below);
		munmap(dest, len);
		munmap(src, len);
		close(fd);
	}
}

/* unknown pmem_mem* flags: the call succeeds and leaves errno alone */
static void
unknown_flags(void)
{
	char a[64] = {0}, b[64] = {1};
	errno = 12345;
	pmem_memcpy(a, b, sizeof(a), 0x80000000u | PMEM_F_MEM_NOFLUSH);
	printf("memcpy unknown flags: errno %s, copied=%d\n",
		errno == 12345 ? "untouched" : errname(errno), a[0] == 1);
	errno = 12345;
	pmem_memset(a, 7, sizeof(a), 0x40000000u);
	printf("memset unknown flags: errno %s, set=%d\n",
		errno == 12345 ? "untouched" : errname(errno), a[0] == 7);
}

static void
versions(void)
{
	unsigned v[][2] = {{-1u, 0}, {1, 0}, {1, 1}, {1, 2}, {0, 0}, {2, 0}, {0, 99}, {1, 99}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		errno = 0;
		const char *m = pmem_check_version(v[i][0], v[i][1]);
		int e = errno;
		printf("check_version(%u, %u) = %s errno=%s\n", v[i][0], v[i][1],
			m ? "message" : "NULL", e ? errname(e) : "0");
	}
}

/*
 * posix_fallocate, interposed as PMDK's own pmem_map_file test does: calls
 * are counted, and above Fallocate_fail_above bytes (when non-zero) it
 * fails with ENOSPC as that test's mock does; otherwise glibc's runs.
 */
static int Fallocate_calls;
static off_t Fallocate_fail_above;

int
posix_fallocate(int fd, off_t offset, off_t len)
{
	static int (*real)(int, off_t, off_t);
	Fallocate_calls++;
	if (Fallocate_fail_above && len > Fallocate_fail_above)
		return ENOSPC;
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "posix_fallocate");
	return real(fd, offset, len);
}

/* pmem_map_file with the posix_fallocate calls it made printed */
static void
counted_map(const char *label, const char *path, size_t len, int flags)
{
	Fallocate_calls = 0;
	map(label, path, len, flags, 0600);
	printf("  posix_fallocate calls: %d\n", Fallocate_calls);
}

/* Which calls reach posix_fallocate, and what its failure leaves. */
static void
fallocate_calls(void)
{
	counted_map("fallocate new", at("falloc", "new"), 64 * KiB, C);
	counted_map("fallocate new sparse", at("falloc", "sparse"), 64 * KiB, C | S);
	counted_map("fallocate tmpfile", at("falloc", ""), 64 * KiB, C | T);
	make_file(at("falloc", "old"), 4096, 1, 0644);
	counted_map("fallocate existing", at("falloc", "old"), 64 * KiB, C);
	Fallocate_fail_above = 4 * MiB;
	counted_map("fallocate new ENOSPC", at("falloc", "big"), 8 * MiB, C);
	Fallocate_fail_above = 0;
	show_dir(at("falloc", ""));
}

/* The void calls given a range that wraps, or ends at the very top of the
 * address space: nothing may be flushed; errno shows whether it was said. */
static void
wrapping_ranges(void)
{
	static char buf[64];
	void *top = (void *)(UINTPTR_MAX - 4095);
	struct { const char *label; void (*f)(const void *, size_t); void *addr; size_t len; } c[] = {
		{"persist wrapping", pmem_persist, buf, SIZE_MAX},
		{"flush wrapping", pmem_flush, buf, SIZE_MAX},
		{"deep_flush wrapping", pmem_deep_flush, buf, SIZE_MAX},
		{"persist to the top", pmem_persist, top, 4096},
		{"flush to the top", pmem_flush, top, 4096},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		errno = 0;
		c[i].f(c[i].addr, c[i].len);
		printf("%s: errno=%s\n", c[i].label, errno ? errname(errno) : "0");
	}
}

int
main(int argc, char *argv[])
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s WORKDIR [TMPFS_DIR]\n", argv[0]);
		return 2;
	}
	Work = argv[1];
	Page = (size_t)sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	/* first: the first message a process logs used to clobber errno */
	versions();
	paths();
	lengths_and_flags();
	create();
	links();
	tmpfiles();
	too_big();
	file_size_limit();
	out_of_space(argc > 2 ? argv[2] : NULL);
	unmapping();
	queries();
	placement();
	unknown_flags();
	wrapping_ranges();
	fallocate_calls();
	return 0;
}
