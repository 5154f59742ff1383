/*
 * inproc.c -- libraries compared inside one process, call by call.
 *
 * make bench runs each library in a process of its own; rows bound by DRAM
 * bandwidth (64 MiB copies) then move by 20-30 % from run to run on a
 * shared VM, more than the difference sought. Here every library named is
 * loaded into one process (dlopen with RTLD_DEEPBIND, so each keeps its own
 * symbols), and the libraries take turns on the same buffers: a round calls
 * each once, 31 rounds, and each library's time is compared with the first
 * one's round by round (the median of those ratios, and its quartiles).
 *
 *   inproc copy SIZE OFFSET LIB...       pmem_memcpy_persist of SIZE bytes,
 *                                        dst+OFFSET, src+3*OFFSET
 *   inproc scattered SIZE LIB...         an 8-byte store to each line of
 *                                        SIZE bytes on a random page of a
 *                                        512 MiB pool, then pmem_persist
 *
 * Build: cc -O2 -o inproc bench/inproc.c -ldl (bench/README.md).
 * Ratios: LIB1's time / this library's, so >1.00 means faster than LIB1.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define ROUNDS 31
#define MAX_LIBS 8
#define MIB (1024 * 1024UL)
#define PAGE 4096UL

typedef void *(*copy_fn)(void *, const void *, size_t);
typedef void (*persist_fn)(const void *, size_t);

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void *sym(const char *lib, const char *name)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	void *f = h ? dlsym(h, name) : NULL;
	if (f == NULL) {
		fprintf(stderr, "inproc: %s: %s\n", lib, dlerror());
		exit(2);
	}
	return f;
}

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	memset(p, 1, len);
	return p;
}

/* The same page sequence for every library and round. */
static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ns per call of library k in round r. */
static double t[MAX_LIBS][ROUNDS];

static void report(char **libs, int n, size_t size)
{
	for (int k = 0; k < n; k++) {
		double ratio[ROUNDS], own[ROUNDS];
		for (int r = 0; r < ROUNDS; r++) {
			ratio[r] = t[0][r] / t[k][r];
			own[r] = t[k][r];
		}
		qsort(ratio, ROUNDS, sizeof(double), by_value);
		qsort(own, ROUNDS, sizeof(double), by_value);
		printf("%zu B  %-48s median %10.0f ns", size, libs[k], own[ROUNDS / 2]);
		if (k > 0)
			printf("  LIB1/this %.3f (quartiles %.3f-%.3f)", ratio[ROUNDS / 2],
			       ratio[ROUNDS / 4], ratio[3 * ROUNDS / 4]);
		printf("\n");
	}
}

static void copy(size_t size, size_t off, char **libs, int n)
{
	copy_fn f[MAX_LIBS];
	for (int k = 0; k < n; k++)
		f[k] = (copy_fn)sym(libs[k], "pmem_memcpy_persist");
	char *dst = map(2 * size + PAGE), *src = map(size + 3 * off + PAGE);
	/* Short copies are repeated to some 4 MiB a call. */
	int reps = size >= MIB ? 1 : (int)(4 * MIB / size);
	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < n; k++) {
			/* Alternate halves: no copy lands on lines just written. */
			char *d = dst + off + (r & 1) * size;
			double t0 = now_ns();
			for (int i = 0; i < reps; i++)
				f[k](d, src + 3 * off, size);
			t[k][r] = (now_ns() - t0) / reps;
		}
	}
	report(libs, n, size);
}

static void scattered(size_t size, char **libs, int n)
{
	persist_fn f[MAX_LIBS];
	for (int k = 0; k < n; k++)
		f[k] = (persist_fn)sym(libs[k], "pmem_persist");
	size_t len = 512 * MIB, pages = len / PAGE;
	char *pool = map(len);
	const int calls = 200000;
	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < n; k++) {
			uint64_t s = 0x9e3779b97f4a7c15ULL;
			double t0 = now_ns();
			for (int i = 0; i < calls; i++) {
				char *d = pool + xorshift(&s) % pages * PAGE;
				for (size_t o = 0; o < size; o += 64)
					*(volatile uint64_t *)(d + o) = o + (uint64_t)i;
				f[k](d, size);
			}
			t[k][r] = (now_ns() - t0) / calls;
		}
	}
	report(libs, n, size);
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "copy") == 0 && argc - 4 <= MAX_LIBS) {
		copy(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0), argv + 4, argc - 4);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "scattered") == 0 && argc - 3 <= MAX_LIBS) {
		scattered(strtoull(argv[2], NULL, 0), argv + 3, argc - 3);
		return 0;
	}
	fprintf(stderr, "usage: inproc copy SIZE OFFSET LIB... | inproc scattered SIZE LIB...\n"
			"       (at most %d libraries; times are compared with the first)\n",
		MAX_LIBS);
	return 2;
}
