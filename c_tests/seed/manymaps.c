/*
 * manymaps -- fit mode with many mappings and files at once, from several
 * threads, through PMDK's API: every flushed line reaches its own file at
 * the right offset, nothing else does, partial unmaps keep the rest of a
 * mapping working, full unmaps close the engine's file descriptors, and
 * mapping and unmapping other files meanwhile disturbs none of it.
 * Run with PMEM_PERSIST_MODE=fit. usage: manymaps DIR
 */
#include <libpmem.h>
#include "pmem_attr.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/check.h"

#define FILES 32
#define THREADS 4
#define LEN (64 * 1024)
#define LINE 64

static const char *dir;
static char *maps[FILES];
static void path_of(char *buf, size_t n, int i)
{
	snprintf(buf, n, "%s/f%02d", dir, i);
}

static unsigned char pattern(int file, size_t off)
{
	return (unsigned char)(1 + (file * 7 + off / LINE) % 250);
}

/* Fills each of the thread's files; flushes even lines one by one, odd
 * lines never (pmem_memset with NOFLUSH). */
static void *writer(void *arg)
{
	int t = (int)(long)arg;
	for (int i = t; i < FILES; i += THREADS) {
		for (size_t off = 0; off < LEN; off += LINE) {
			if ((off / LINE) % 2 == 0) {
				memset(maps[i] + off, pattern(i, off), LINE);
				pmem_flush(maps[i] + off, LINE);
			} else {
				pmem_memset(maps[i] + off, pattern(i, off), LINE,
					    PMEM_F_MEM_NOFLUSH);
			}
		}
		pmem_drain();
	}
	return NULL;
}

/* Maps, persists into and unmaps files while the writers flush: the
 * registry's write lock against their read locks. */
static void *churner(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++) {
		char path[512];
		size_t len;
		snprintf(path, sizeof(path), "%s/churn%d", dir, i % 8);
		char *p = pmem_map_file(path, 8192, PMEM_FILE_CREATE, 0644, &len, NULL);
		if (!CHECK(p != NULL, "churn map %d", i))
			return NULL;
		p[4096] = (char)(i + 1);
		pmem_persist(p + 4096, 1);
		pmem_unmap(p, len);
		int fd = open(path, O_RDONLY);
		char c = 0;
		CHECK(fd >= 0 && pread(fd, &c, 1, 4096) == 1 && c == (char)(i + 1),
			"churned file %d lost its persisted byte at 4096", i);
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* The file's bytes at `off` are the pattern when `flushed`, else zero. */
static void verify_line(int i, size_t off, int flushed)
{
	char path[512];
	unsigned char buf[LINE];
	path_of(path, sizeof(path), i);
	int fd = open(path, O_RDONLY);
	if (CHECK(fd >= 0 && pread(fd, buf, LINE, (off_t)off) == LINE,
		    "cannot read back file %d, offset %zu", i, off)) {
		int b = 0;
		while (b < LINE && buf[b] == (flushed ? pattern(i, off) : 0))
			b++;
		CHECK(b == LINE, "%s (file %d, offset %zu)",
			flushed ? "flushed line missing" : "unflushed line in file", i, off);
	}
	if (fd >= 0)
		close(fd);
}

int main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: manymaps DIR\n");
		return 2;
	}
	dir = argv[1];
	t_begin("manymaps");
	struct pmem_attr attr;
	if (!CHECK(pmem_get_attr(NULL, 0, &attr) == 0 && strcmp(attr.persist_mode, "fit") == 0,
		    "run me with PMEM_PERSIST_MODE=fit"))
		return t_end();
	int fds_before = open_fds();
	for (int i = 0; i < FILES; i++) {
		char path[512];
		path_of(path, sizeof(path), i);
		size_t len;
		maps[i] = pmem_map_file(path, LEN, PMEM_FILE_CREATE, 0644, &len, NULL);
		if (maps[i] == NULL || len != LEN) {
			perror(path);
			return 2;
		}
	}
	pthread_t th[THREADS + 1];
	for (long t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, writer, (void *)t);
	pthread_create(&th[THREADS], NULL, churner, NULL);
	for (int t = 0; t <= THREADS; t++)
		pthread_join(th[t], NULL);

	/* Cut the middle out of file 0's mapping, then flush an odd line of
	 * the tail: it must land at its own offset, through the kept fd. */
	size_t hole = 16 * 1024, tail_line = 40 * 1024 + LINE;
	pmem_unmap(maps[0] + hole, hole);
	pmem_persist(maps[0] + tail_line, 1);

	/* The other ways to write lines: a persisting copy, a deep flush (one
	 * odd line each) and pmem_msync (the whole page). */
	unsigned char line[LINE];
	memset(line, pattern(1, LINE), LINE);
	pmem_memcpy_persist(maps[1] + LINE, line, LINE);
	pmem_deep_flush(maps[3] + 3 * LINE, 1);
	pmem_msync(maps[2] + 4096 + 10, 1);

	for (int i = 0; i < FILES; i++)
		for (size_t off = 0; off < LEN; off += LINE)
			verify_line(i, off, (off / LINE) % 2 == 0 ||
				    (i == 0 && off == tail_line) ||
				    (i == 1 && off == LINE) ||
				    (i == 3 && off == 3 * LINE) ||
				    (i == 2 && off >= 4096 && off < 8192));

	pmem_unmap(maps[0], hole);
	pmem_unmap(maps[0] + 2 * hole, LEN - 2 * hole);
	for (int i = 1; i < FILES; i++)
		pmem_unmap(maps[i], LEN);
	CHECK(open_fds() == fds_before, "%d descriptors open after unmapping, %d before",
		open_fds(), fds_before);
	printf("manymaps: %d files, %d threads, 200 map/unmap cycles\n", FILES, THREADS);
	return t_end();
}
