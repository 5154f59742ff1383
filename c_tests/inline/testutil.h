/* A check counter shared by the tests here: the first 20 failures are
 * described, all are counted. */
#ifndef INLINE_TESTUTIL_H
#define INLINE_TESTUTIL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static unsigned test_failures;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			if (test_failures++ < 20) {                          \
				fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
				fprintf(stderr, __VA_ARGS__);                   \
				fputc('\n', stderr);                            \
			}                                                    \
		}                                                            \
	} while (0)

/* The exit status: 0 when every CHECK held. */
static inline int test_result(const char *name)
{
	if (test_failures)
		fprintf(stderr, "%s: %u check(s) failed\n", name, test_failures);
	return test_failures ? 1 : 0;
}

/* The bytes the file tests write: byte i of the file is test_pattern(i). */
static inline unsigned char test_pattern(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

/* Does got[0, len) hold test_pattern? `how` names where it came from. */
static inline void check_pattern(const unsigned char *got, size_t len, const char *how)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (got[i] != test_pattern(i)) {
			CHECK(0, "%s: byte %zu is %u, wrote %u", how, i, got[i], test_pattern(i));
			return;
		}
}

/* Reads `path` through a descriptor of its own and checks its len bytes. */
static inline void check_file_by_read(const char *path, size_t len)
{
	unsigned char *buf = (unsigned char *)malloc(len);
	int fd = open(path, O_RDONLY);
	ssize_t n = buf != NULL && fd >= 0 ? read(fd, buf, len) : -1;

	CHECK(n == (ssize_t)len, "read(2) of %s returned %zd", path, n);
	if (n == (ssize_t)len)
		check_pattern(buf, len, "read(2)");
	free(buf);
	if (fd >= 0)
		close(fd);
}

#endif
