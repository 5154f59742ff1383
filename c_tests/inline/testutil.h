/* A check counter shared by the tests here: the first 20 failures are
 * described, all are counted. */
#ifndef INLINE_TESTUTIL_H
#define INLINE_TESTUTIL_H

#include <stdio.h>

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

#endif
