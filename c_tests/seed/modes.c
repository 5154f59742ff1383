/*
 * modes -- an original-API program run in each persistence mode.
 *
 * usage: modes FILE MODE [call]
 *   MODE is the mode expected (pmem_get_attr says which is on); with "call"
 *   the program switches to it itself (pmem_msync_mode / pmem_fit_mode),
 *   otherwise PMEM_PERSIST_MODE has chosen it.
 * Stores three things: one persisted with pmem_persist, one flushed with
 * pmem_flush_cache + pmem_fence + pmem_drain_pm_stores, one never flushed;
 * then reads the file back with pread(2). Flushed data must be in the file
 * in every mode; in fit mode the unflushed data and the rest of partly
 * flushed pages must not be, and the flushed lines must be whole. After
 * "fit call", the program switches to msync mode and checks that its fit
 * mapping still behaves as one.
 */
#include "pmem.h"
#include "pmem_attr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* pmem.h is the original API: not beside libpmem.h. */
#define T_NO_LIBPMEM
#include "../lib/check.h"

#define FILE_LEN (3 * 4096)

/* Whether the file holds `s` at `off`. */
static int file_has(int fd, off_t off, const char *s)
{
	char buf[64] = { 0 };
	size_t n = strlen(s);
	return pread(fd, buf, n, off) == (ssize_t)n && memcmp(buf, s, n) == 0;
}

int main(int argc, char *argv[])
{
	if (argc < 3) {
		fprintf(stderr, "usage: modes FILE MODE [call]\n");
		return 2;
	}
	const char *mode = argv[2];
	t_begin("modes");
	if (argc > 3 && strcmp(argv[3], "call") == 0) {
		if (strcmp(mode, "msync") == 0)
			pmem_msync_mode();
		else if (strcmp(mode, "fit") == 0)
			pmem_fit_mode();
	}
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, FILE_LEN) < 0) {
		perror(argv[1]);
		return 2;
	}
	char *p = pmem_map(fd, FILE_LEN);
	if (p == NULL) {
		perror("pmem_map");
		return 2;
	}
	struct pmem_attr attr;
	CHECK(pmem_get_attr(p, FILE_LEN, &attr) == 0, "pmem_get_attr");
	CHECK(strcmp(attr.persist_mode, mode) == 0, "the expected mode is on");

	strcpy(p + 10, "persisted");		/* line 0 */
	strcpy(p + 40, "same-line");		/* line 0 too: written with it */
	pmem_persist(p + 10, 10, 0);
	strcpy(p + 4096 + 64, "flushed");	/* line 65 */
	pmem_flush_cache(p + 4096 + 64, 8, 0);
	pmem_fence();
	pmem_drain_pm_stores();
	strcpy(p + 4096 + 128, "unflushed");	/* line 66, same page */
	strcpy(p + 8192, "never");		/* a page nothing flushes */

	CHECK(file_has(fd, 10, "persisted"), "pmem_persist reached the file");
	CHECK(file_has(fd, 4096 + 64, "flushed"), "pmem_flush_cache reached the file");
	int fit = strcmp(mode, "fit") == 0;
	/* Shared modes: the page cache is the mapping; fit: only flushed lines. */
	CHECK(file_has(fd, 40, "same-line") == 1, "the whole flushed line is written");
	CHECK(file_has(fd, 4096 + 128, "unflushed") == !fit, "unflushed line");
	CHECK(file_has(fd, 8192, "never") == !fit, "unflushed page");

	close(fd);	/* pmem_map's mapping outlives the fd */
	/* A read-only fd cannot be mapped read/write, in any mode. */
	fd = open(argv[1], O_RDONLY);
	errno = 0;
	CHECK(pmem_map(fd, 4096) == NULL && errno == EACCES, "read-only fd refused with EACCES");
	close(fd);

	strcpy(p + 200, "after-close");
	pmem_persist(p + 200, 12, 0);
	fd = open(argv[1], O_RDONLY);
	CHECK(file_has(fd, 200, "after-close"), "a flush after close(fd) reached the file");
	close(fd);

	if (fit && argc > 3) {
		/* Fit mappings stay fit in the next mode: their flushes still
		 * reach the file, their unflushed stores still do not. */
		pmem_msync_mode();
		strcpy(p + 300, "in-msync-mode");
		pmem_persist(p + 300, 14, 0);
		fd = open(argv[1], O_RDONLY);
		CHECK(file_has(fd, 300, "in-msync-mode"), "a fit mapping flushed in msync mode");
		CHECK(!file_has(fd, 8192, "never"), "a fit mapping's unflushed page after the switch");
		close(fd);
	}
	printf("modes: %s mode\n", mode);
	return t_end();
}
