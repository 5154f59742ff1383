/*
 * fidelity -- fit mode follows what the kernel really maps, not only the
 * library's own calls, and writes only what real persistent memory would.
 * Each case failed before: a plain munmap or a partial pmem_unmap left
 * stale ranges that wrote foreign memory into the file, mremap lost the
 * persists, the same file mapped twice gave two private copies, a forked
 * child's stores never reached its parent, MADV_DONTNEED dropped stores,
 * deep flushes wrote whole pages, foreign shared mappings were not
 * crash-tested at all (and a forked child's flush of one now says so). Run with PMEM_PERSIST_MODE=fit. usage: fidelity DIR
 */
#define _GNU_SOURCE
#include <libpmem.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/check.h"

#define LEN 8192
static const char *dir;
static const char *path(const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static char *map(const char *name)
{
	size_t len;
	char *p = pmem_map_file(path(name), LEN, PMEM_FILE_CREATE, 0644, &len, NULL);
	if (p == NULL) {
		fprintf(stderr, "fidelity: pmem_map_file %s: %s\n", name, pmem_errormsg());
		exit(1);
	}
	return p;
}

/* The file's bytes [off, off + n). */
static void file_at(const char *name, off_t off, char *buf, size_t n)
{
	int fd = open(path(name), O_RDONLY);
	memset(buf, 0, n);
	if (fd < 0 || pread(fd, buf, n, off) < 0)
		perror(name), exit(1);
	close(fd);
}

static int file_has(const char *name, const char *s)
{
	static char buf[LEN];
	file_at(name, 0, buf, LEN);
	return memmem(buf, LEN, s, strlen(s)) != NULL;
}

/* Anonymous memory placed exactly at `at`, as the kernel would reuse it. */
static char *anon_at(void *at, size_t len)
{
	char *q = mmap(at, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (q != at)
		fprintf(stderr, "fidelity: cannot map at %p\n", at), exit(1);
	return q;
}

static void stale_after_munmap(void)
{
	char *p = map("a");
	munmap(p, LEN);
	char *q = anon_at(p, LEN);
	strcpy(q, "unrelated-buffer");
	pmem_persist(q, 64);
	CHECK(!file_has("a", "unrelated-buffer"), "anonymous memory written into a munmapped file");
	munmap(q, LEN);
}

static void partial_unmap_rounds_to_pages(void)
{
	char *p = map("b");
	CHECK(pmem_unmap(p, 100) == 0, "pmem_unmap(p, 100): %s", pmem_errormsg());
	char *q = anon_at(p, 4096);
	strcpy(q + 128, "unrelated");
	pmem_persist(q + 128, 16);
	CHECK(!file_has("b", "unrelated"), "anonymous memory written where pmem_unmap unmapped a page");
	strcpy(p + 4096, "second page");
	pmem_persist(p + 4096, 16);
	CHECK(file_has("b", "second page"), "the rest of the mapping stopped reaching its file");
	munmap(q, 4096);
	pmem_unmap(p + 4096, 4096);
}

static void mremap_is_followed(void)
{
	char *p = map("c");
	char *to = mmap(NULL, LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *q = mremap(p, LEN, LEN, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	CHECK(q == to, "mremap: %s", strerror(errno));
	strcpy(q + 64, "moved");
	pmem_persist(q + 64, 8);
	CHECK(file_has("c", "moved"), "a persist after mremap never reached the file");
	char *s = anon_at(p, LEN);
	strcpy(s, "stale");
	pmem_persist(s, 8);
	CHECK(!file_has("c", "stale"), "memory at the old address written into the file");
	munmap(s, LEN);
	pmem_unmap(q, LEN);
}

/* Two mappings of one file are views of the same memory, as shared ones. */
static void same_file_twice_shares(void)
{
	char *p = map("d");
	size_t len;
	char *q = pmem_map_file(path("d"), 0, 0, 0, &len, NULL);
	CHECK(q != NULL && len == LEN, "a second mapping of one file: %s", pmem_errormsg());
	if (q == NULL)
		return;
	strcpy(p + 64, "through p");
	CHECK(strcmp(q + 64, "through p") == 0, "the second mapping does not see the first's store");
	strcpy(q + 64 + 16, "and q");
	pmem_persist(q + 64, 64);
	CHECK(file_has("d", "through p") && file_has("d", "and q"), "a persist through q lost p's store");
	pmem_unmap(q, LEN);
	pmem_unmap(p, LEN);
	q = map("d"); /* a new mapping shows the file */
	CHECK(strcmp(q + 64, "through p") == 0, "a new mapping does not show the persisted data");
	munmap(q, LEN); /* a plain munmap, then a mapping at the same place */
	q = map("d");
	pmem_unmap(q, LEN);
}

/* A forked child shares the library's mappings with its parent. */
static void fork_shares(void)
{
	char *p = map("e");
	strcpy(p + 128, "parent"); /* the page is the parent's own before the fork */
	pid_t pid = fork();
	if (pid == 0) {
		strcpy(p, "child");
		pmem_persist(p, 8);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	CHECK(strcmp(p, "child") == 0, "the parent does not see the child's store");
	CHECK(file_has("e", "child"), "the child's persist did not reach the file");
	pmem_unmap(p, LEN);
}

/* MADV_DONTNEED keeps a mapping's contents, as for a shared mapping. */
static void dontneed_keeps_stores(void)
{
	char *p = map("i");
	strcpy(p + 4096, "kept");
	CHECK(madvise(p, LEN, MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
	CHECK(strcmp(p + 4096, "kept") == 0, "MADV_DONTNEED lost a store");
	CHECK(!file_has("i", "kept"), "MADV_DONTNEED wrote to the file");
	pmem_unmap(p, LEN);
}

static void deep_flushes_write_lines_only(void)
{
	char *p = map("f");
	strcpy(p, "never flushed");
	strcpy(p + 64, "deep");
	CHECK(pmem_deep_persist(p + 64, 8) == 0, "pmem_deep_persist: %s", pmem_errormsg());
	CHECK(pmem_deep_drain(p, LEN) == 0, "pmem_deep_drain: %s", pmem_errormsg());
	CHECK(file_has("f", "deep"), "pmem_deep_persist did not write its line");
	CHECK(!file_has("f", "never flushed"), "a deep flush wrote a line never flushed");
	pmem_unmap(p, LEN);
}

static void no_growth_past_eof(void)
{
	int fd = open(path("g"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		perror("g"), exit(1);
	size_t len;
	char *p = pmem_map_file(path("g"), 0, 0, 0, &len, NULL);
	CHECK(p != NULL && len == 10, "map a 10-byte file: %s", pmem_errormsg());
	memset(p, 'x', 100);
	pmem_persist(p, 100);
	struct stat st;
	fstat(fd, &st);
	CHECK(st.st_size == 10, "persisting past end-of-file grew the file to %lld", (long long)st.st_size);
	CHECK(file_has("g", "xxxxxxxxxx"), "the bytes before end-of-file were not written");
	pmem_unmap(p, len);
	close(fd);
}

static void foreign_mapping_is_adopted(void)
{
	int fd = open(path("h"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, LEN) != 0)
		perror("h"), exit(1);
	char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	strcpy(p, "before"); /* a shared mapping's store: already in the file */
	strcpy(p + 128, "flushed");
	pmem_persist(p + 128, 8);
	strcpy(p + 256, "unflushed");
	strcpy(p + 4096 + 64, "other page");
	pmem_persist(p + 4096 + 64, 16);
	CHECK(strcmp(p, "before") == 0, "adoption changed the mapping's contents");
	CHECK(file_has("h", "flushed") && file_has("h", "other page"), "persists did not reach the file");
	CHECK(!file_has("h", "unflushed"), "a store after adoption reached the file unflushed");

	/* A forked child's stores to an adopted (private) mapping are not the
	 * parent's: fit mode says so when the child flushes. */
	int fds[2];
	if (pipe(fds) != 0)
		perror("pipe"), exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		strcpy(p + 512, "child");
		pmem_persist(p + 512, 8);
		_exit(0);
	}
	close(fds[1]);
	char msg[1024] = "";
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(msg) - 1 && (n = read(fds[0], msg + got, sizeof(msg) - 1 - got)) > 0)
		got += (size_t)n;
	msg[got] = '\0';
	close(fds[0]);
	waitpid(pid, NULL, 0);
	CHECK(strstr(msg, "forked child") != NULL, "the child's persist was not reported: '%s'", msg);
	munmap(p, LEN);
}

/* Threads flushing a foreign mapping at once: one adoption, every line lands. */
#define THREADS 4
static char *shared_map;

static void *flush_lines(void *arg)
{
	long t = (long)arg;
	for (int i = 0; i < 32; i++) {
		char *line = shared_map + ((size_t)i * THREADS + (size_t)t) * 64;
		snprintf(line, 64, "t%ld-%d", t, i);
		pmem_persist(line, 64);
	}
	return NULL;
}

static void threads_adopt_once(void)
{
	int fd = open(path("k"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, LEN) != 0)
		perror("k"), exit(1);
	shared_map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	pthread_t th[THREADS];
	for (long t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, flush_lines, (void *)t);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	char want[64];
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < 32; i++) {
			snprintf(want, sizeof(want), "t%d-%d", t, i);
			CHECK(file_has("k", want), "line %s of a thread did not reach the file", want);
			CHECK(strcmp(shared_map + ((size_t)i * THREADS + (size_t)t) * 64, want) == 0,
			       "line %s changed in memory", want);
		}
	strcpy(shared_map + LEN - 64, "unflushed");
	CHECK(!file_has("k", "unflushed"), "the mapping was not adopted");
	munmap(shared_map, LEN);
}

/* One descriptor per file, not per mapping: 100 mappings of one file fit
 * in 64 descriptors. Last: it lowers the process's limit. */
static void one_fd_per_file(void)
{
	struct rlimit rl = { 64, 64 };
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s", strerror(errno));
	char *m[100];
	int n = 0;
	for (; n < 100; n++) {
		size_t len;
		m[n] = pmem_map_file(path("j"), LEN, PMEM_FILE_CREATE, 0644, &len, NULL);
		if (m[n] == NULL)
			break;
	}
	CHECK(n == 100, "mapping %d of one file failed: %s", n + 1, pmem_errormsg());
	for (int i = 0; i < n; i++)
		pmem_unmap(m[i], LEN);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return fprintf(stderr, "usage: fidelity DIR\n"), 2;
	dir = argv[1];
	t_begin("fidelity");
	stale_after_munmap();
	partial_unmap_rounds_to_pages();
	mremap_is_followed();
	same_file_twice_shares();
	fork_shares();
	dontneed_keeps_stores();
	deep_flushes_write_lines_only();
	no_growth_past_eof();
	foreign_mapping_is_adopted();
	threads_adopt_once();
	one_fd_per_file();
	return t_end();
}
