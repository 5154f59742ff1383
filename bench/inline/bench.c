/*
 * Inline persist (pmem_inline.h) against the library call (libpmem.so) at
 * small sizes. Each measurement times OPS operations on the same buffer,
 * every cache line of which is dirtied before each persist; rounds
 * alternate which side runs first, and the table reports medians.
 *
 *   bench [rounds]     prints a Markdown table on stdout
 */
#include <libpmem.h>
#include <pmem_inline.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPS 100000
#define MAX_ROUNDS 31

static unsigned char *dst;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Stores one byte per line of dst[0, size), so every persisted line is dirty. */
static void dirty(size_t size, size_t i)
{
	size_t off;

	for (off = 0; off < size; off += PMEM_INLINE_CACHELINE)
		((volatile unsigned char *)dst)[off] = (unsigned char)i;
}

/* One timed function per (operation, side): ns per operation. */
#define DEFINE_BENCH(name, prepare, op)                                      \
	static double name(size_t size)                                      \
	{                                                                    \
		double t0 = now_ns();                                        \
		size_t i;                                                    \
		for (i = 0; i < OPS; i++) {                                  \
			prepare;                                             \
			op;                                                  \
		}                                                            \
		return (now_ns() - t0) / OPS;                                \
	}

DEFINE_BENCH(persist_inline, dirty(size, i), pmem_inline_persist(dst, size))
DEFINE_BENCH(persist_library, dirty(size, i), pmem_persist(dst, size))

typedef double bench_fn(size_t size);

static const struct {
	const char *name;
	bench_fn *inline_side;
	bench_fn *library_side;
} ops[] = {
	{ "persist", persist_inline, persist_library },
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, 256 };
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	size_t o, s;
	int r;

	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "rounds: 1..%d\n", MAX_ROUNDS);
		return 2;
	}
	if (posix_memalign((void **)&dst, 4096, 4096) != 0)
		return 2;
	memset(dst, 0, 4096);

	printf("| operation | size | inline ns/op | library ns/op | library / inline |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			double in[MAX_ROUNDS], lib[MAX_ROUNDS], mi, ml;

			ops[o].inline_side(sizes[s]); /* warm-up, not counted */
			ops[o].library_side(sizes[s]);
			for (r = 0; r < rounds; r++) {
				if (r % 2) {
					lib[r] = ops[o].library_side(sizes[s]);
					in[r] = ops[o].inline_side(sizes[s]);
				} else {
					in[r] = ops[o].inline_side(sizes[s]);
					lib[r] = ops[o].library_side(sizes[s]);
				}
			}
			mi = median(in, rounds);
			ml = median(lib, rounds);
			printf("| %s | %zu B | %.1f | %.1f | %.2f |\n", ops[o].name, sizes[s],
			       mi, ml, ml / mi);
		}
	}
	printf("\nFlush instruction: %s; medians of %d alternating rounds of %d operations.\n",
	       pmem_inline_flush_instruction(), rounds, OPS);
	free(dst);
	return 0;
}
