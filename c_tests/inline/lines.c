/*
 * Which lines pmem_inline_flush flushes, seen through the test hook
 * (-DPMEM_INLINE_TEST_HOOK=record_line), against an independent
 * expectation: the line of every byte in [addr, addr + len), one by one.
 * Also checks the instruction choice against /proc/cpuinfo and the
 * PMEM_NO_* variables as this process sees them (the Makefile runs it under
 * several settings). Built as C and as C++.
 */
#include <pmem_inline.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_NO_LIBPMEM /* no library linked */
#include "../lib/check.h"

#define AREA 8192
#define MAX_LINES (AREA / PMEM_INLINE_CACHELINE + 2)

#ifdef __cplusplus
extern "C" {
#endif
void record_line(const void *line);
#ifdef __cplusplus
}
#endif

static uintptr_t recorded[MAX_LINES];
static size_t n_recorded;

void record_line(const void *line)
{
	if (n_recorded < MAX_LINES)
		recorded[n_recorded] = (uintptr_t)line;
	n_recorded++;
}

static int env_is_1(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] == '1' && v[1] == '\0';
}

/* Does the "flags" line of /proc/cpuinfo list `flag`? */
static int cpu_has(const char *flag)
{
	static char line[8192];
	FILE *f = fopen("/proc/cpuinfo", "r");
	int found = 0;

	while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
		char *tok;

		if (strncmp(line, "flags", 5) != 0)
			continue;
		for (tok = strtok(line, " \t\n"); tok != NULL; tok = strtok(NULL, " \t\n"))
			if (strcmp(tok, flag) == 0)
				found = 1;
		break;
	}
	if (f != NULL)
		fclose(f);
	return found;
}

static const char *expected_instruction(void)
{
	if (env_is_1("PMEM_NO_FLUSH"))
		return "none";
	if (!env_is_1("PMEM_NO_CLWB") && cpu_has("clwb"))
		return "clwb";
	if (!env_is_1("PMEM_NO_CLFLUSHOPT") && cpu_has("clflushopt"))
		return "clflushopt";
	return "clflush";
}

/* One case: the recorded lines must be exactly the expected ones, in order. */
static void check_range(const unsigned char *addr, size_t len, int flushing)
{
	uintptr_t expect[MAX_LINES];
	size_t n_expect = 0, i;

	for (i = 0; i < len; i++) {
		uintptr_t line = (uintptr_t)(addr + i) / PMEM_INLINE_CACHELINE *
			PMEM_INLINE_CACHELINE;

		if (n_expect == 0 || expect[n_expect - 1] != line)
			expect[n_expect++] = line;
	}
	if (!flushing)
		n_expect = 0;

	n_recorded = 0;
	pmem_inline_flush(addr, len);
	CHECK(n_recorded == n_expect, "flush(+%zu, %zu): %zu lines, expected %zu",
	      (size_t)((uintptr_t)addr % AREA), len, n_recorded, n_expect);
	for (i = 0; i < n_expect && i < n_recorded; i++)
		CHECK(recorded[i] == expect[i], "flush(+%zu, %zu): line %zu differs",
		      (size_t)((uintptr_t)addr % AREA), len, i);
}

int main(void)
{
	static const size_t big_lens[] = { 255, 256, 257, 1000, 4095, 4096, 4097 };
	const char *want = expected_instruction();
	const char *got = pmem_inline_flush_instruction();
	int flushing = strcmp(want, "none") != 0;
	unsigned char *area;
	size_t off, len, k, cases = 0;

	t_begin("lines");

	CHECK(strcmp(got, want) == 0, "flush instruction %s, expected %s", got, want);
	if (posix_memalign((void **)&area, 4096, AREA) != 0)
		return 2;
	memset(area, 1, AREA);

	for (off = 0; off < 2 * PMEM_INLINE_CACHELINE + 1; off++) {
		for (len = 0; len <= 3 * PMEM_INLINE_CACHELINE + 1; len++, cases++)
			check_range(area + off, len, flushing);
		for (k = 0; k < sizeof(big_lens) / sizeof(big_lens[0]); k++, cases++)
			check_range(area + off, big_lens[k], flushing);
	}
	/* pmem_inline_persist flushes the same way. */
	n_recorded = 0;
	pmem_inline_persist(area + 70, 60);
	CHECK(n_recorded == (flushing ? 2u : 0u), "persist(+70, 60): %zu lines", n_recorded);
	free(area);
	printf("lines: %zu ranges, instruction %s\n", cases, got);
	return t_end();
}
