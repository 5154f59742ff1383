/*
 * pattern.h -- the bytes functional.c and functional_lib.c write to their
 * file, and how they read them back (checks through lib/check.h).
 */
#ifndef INLINE_PATTERN_H
#define INLINE_PATTERN_H

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* Byte i of the file is test_pattern(i). */
static inline unsigned char test_pattern(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

/* Does got[0, len) hold test_pattern? `how` names where it came from. */
static inline void check_pattern(const unsigned char *got, size_t len, const char *how)
{
	unsigned char *want = (unsigned char *)malloc(len);
	size_t i;

	if (!CHECK(want != NULL, "%s: no memory for %zu bytes", how, len))
		return;
	for (i = 0; i < len; i++)
		want[i] = test_pattern(i);
	CHECK_MEM(got, want, len, how);
	free(want);
}

/* Reads `path` through a descriptor of its own and checks its len bytes. */
static inline void check_file_by_read(const char *path, size_t len)
{
	unsigned char *buf = (unsigned char *)malloc(len);
	int fd = open(path, O_RDONLY);
	ssize_t n = buf != NULL && fd >= 0 ? read(fd, buf, len) : -1;

	if (CHECK(n == (ssize_t)len, "read(2) of %s returned %zd", path, n))
		check_pattern(buf, len, "read(2)");
	free(buf);
	if (fd >= 0)
		close(fd);
}

#endif
