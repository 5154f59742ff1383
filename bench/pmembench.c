/*
 * pmembench: times libpmem's copy/fill/flush entry points on a pmem_map_file()
 * mapping, plus this machine's ceiling (plain non-temporal stores + SFENCE)
 * and floor (cheapest sequences that make 64 B durable), with no library.
 *
 * Built against the installed <libpmem.h> and linked with -lpmem; which
 * libpmem.so.1 serves the calls is decided by the dynamic linker (run.sh sets
 * LD_LIBRARY_PATH) and checked here with dladdr() against --expect.
 *
 * Output: '#'-prefixed metadata lines, then one tab-separated row per
 * measurement:  R <group> <operation> <size> <alignment> <ns per op>
 * Medians across runs, GB/s and ratios are computed by report.py.
 *
 * Working set: every operation writes a fresh destination; destinations
 * sweep a ring of RING_SPAN bytes (4x this machine's 32 MiB L3), so each
 * flush writes back a really dirty line and each write misses the cache, as
 * an append-only log on real persistent memory would.  Copy sources live in
 * ordinary DRAM and stay put (hot in cache for small sizes).  The scattered
 * rows instead write small ranges to random pages of a separate large pool.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <immintrin.h>
#include <libpmem.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)
#define LINE ((size_t)64)
#define MAX_SIZE (64 * MIB)
/* Room below the ring for memmove sources (dst - size/2) and above it for
 * misaligned tails. */
#define PAD (MAX_SIZE / 2 + 64 * KIB)
#define RING_SPAN (2 * MAX_SIZE + 64 * KIB)
#define FILE_SIZE (PAD + RING_SPAN + 64 * KIB)
#define SAMPLES 5	/* timed batches per row; the row reports their median */
#define NODRAIN_BATCH 32

static const size_t copy_sizes[] = {8, 64, 256, KIB, 4 * KIB, 64 * KIB, 2 * MIB, 64 * MIB};
static const size_t flush_sizes[] = {64, 256, 4 * KIB};
static const size_t nodrain_sizes[] = {64, 256};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* An alignment case: byte offsets of destination and source from a
 * 64-byte boundary. */
struct align {
	const char *name;
	size_t dst;
	size_t src;
};
static const struct align aligns[] = {
	{"aligned", 0, 0},
	{"dst+1/src+3", 1, 3},
};

/* One benchmark row in flight: where the next operation writes. */
struct ctx {
	char *ring;	/* first byte of the destination ring */
	char *src;	/* copy source in DRAM (already offset) */
	size_t size;	/* bytes per operation */
	size_t dst_off; /* destination offset from the slot start */
	size_t src_off;
	size_t stride;	/* distance between consecutive destinations */
	size_t nslots;
	size_t slot;
};

static inline char *next_slot(struct ctx *c)
{
	char *d = c->ring + c->slot * c->stride;
	if (++c->slot == c->nslots)
		c->slot = 0;
	return d;
}

static void ring_setup(struct ctx *c, size_t size, size_t dst_off)
{
	c->size = size;
	c->dst_off = dst_off;
	c->stride = (size + dst_off + LINE - 1) / LINE * LINE;
	c->nslots = RING_SPAN / c->stride;
	c->slot = 0;
}

/* ---- CPU features ------------------------------------------------------ */

struct cpu {
	int avx512f, clwb, clflushopt, movdir64b;
};
static struct cpu cpu;

static void cpu_detect(void)
{
	unsigned a, b, c, d;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		cpu.clflushopt = (b >> 23) & 1;
		cpu.clwb = (b >> 24) & 1;
		cpu.movdir64b = (c >> 28) & 1;
	}
	/* Unlike the raw CPUID bit, this also checks the OS saves ZMM state. */
	cpu.avx512f = __builtin_cpu_supports("avx512f");
}

/* ---- library-free ceiling and floor primitives ------------------------- */

/* Per-ISA templates: VEC is the vector type, W its width in bytes. The
 * ceiling ops handle any size that is a multiple of 8 into a 64-byte aligned
 * destination: whole lines with vector NT stores, the rest with MOVNTI. */
#define DEFINE_ISA(isa, attr, VEC, W, LOADU, STORE, STREAM, SET1)                \
	attr static void nt_copy_##isa(char *d, const char *s, size_t n)         \
	{                                                                        \
		for (; n >= LINE; n -= LINE, d += LINE, s += LINE)               \
			for (size_t j = 0; j < LINE; j += W)                     \
				STREAM((VEC *)(d + j), LOADU((const VEC *)(s + j))); \
		for (; n >= 8; n -= 8, d += 8, s += 8) {                         \
			long long v;                                             \
			memcpy(&v, s, 8);                                        \
			_mm_stream_si64((long long *)d, v);                      \
		}                                                                \
	}                                                                        \
	attr static void nt_fill_##isa(char *d, int ch, size_t n)                \
	{                                                                        \
		VEC v = SET1((char)ch);                                          \
		for (; n >= LINE; n -= LINE, d += LINE)                          \
			for (size_t j = 0; j < LINE; j += W)                     \
				STREAM((VEC *)(d + j), v);                       \
		long long w;                                                     \
		memset(&w, ch, 8);                                               \
		for (; n >= 8; n -= 8, d += 8)                                   \
			_mm_stream_si64((long long *)d, w);                      \
	}                                                                        \
	attr static void store_line_##isa(char *d, const char *s)                \
	{                                                                        \
		for (size_t j = 0; j < LINE; j += W)                             \
			STORE((VEC *)(d + j), LOADU((const VEC *)(s + j)));      \
	}                                                                        \
	attr static void nt_line_##isa(char *d, const char *s)                   \
	{                                                                        \
		for (size_t j = 0; j < LINE; j += W)                             \
			STREAM((VEC *)(d + j), LOADU((const VEC *)(s + j)));     \
	}

DEFINE_ISA(avx512, __attribute__((target("avx512f"))), __m512i, 64,
	   _mm512_loadu_si512, _mm512_store_si512, _mm512_stream_si512, _mm512_set1_epi8)
DEFINE_ISA(sse2, , __m128i, 16, _mm_loadu_si128, _mm_store_si128, _mm_stream_si128,
	   _mm_set1_epi8)

struct isa {
	const char *name;
	void (*nt_copy)(char *, const char *, size_t);
	void (*nt_fill)(char *, int, size_t);
	void (*store_line)(char *, const char *);
	void (*nt_line)(char *, const char *);
};
static const struct isa isa_avx512 = {"AVX-512", nt_copy_avx512, nt_fill_avx512,
				      store_line_avx512, nt_line_avx512};
static const struct isa isa_sse2 = {"SSE2", nt_copy_sse2, nt_fill_sse2, store_line_sse2,
				    nt_line_sse2};
static const struct isa *isa;

__attribute__((target("clwb"))) static void wb_clwb(const void *p) { _mm_clwb((void *)p); }
__attribute__((target("clflushopt"))) static void wb_clflushopt(const void *p)
{
	_mm_clflushopt((void *)p);
}
static void wb_clflush(const void *p) { _mm_clflush(p); }

static void (*write_back)(const void *);
static const char *write_back_name;

__attribute__((target("movdir64b"))) static void movdir64b_line(char *d, const char *s)
{
	_movdir64b(d, s);
}

/* ---- operations: each call does one (or NODRAIN_BATCH) operations ----- */

typedef void (*op_fn)(struct ctx *);

static void op_memcpy(struct ctx *c)
{
	pmem_memcpy_persist(next_slot(c) + c->dst_off, c->src, c->size);
}

/* Overlapping move, destination size/2 above the source: the backward path. */
static void op_memmove(struct ctx *c)
{
	char *slot = next_slot(c);
	pmem_memmove_persist(slot + c->dst_off, slot - c->size / 2 + c->src_off, c->size);
}

static void op_memset(struct ctx *c)
{
	pmem_memset_persist(next_slot(c) + c->dst_off, 0x5a, c->size);
}

/* Dirty every line of the range with one 8-byte store, so the flush that
 * follows has real work; the stores are the same for both libraries. */
static char *dirty_next(struct ctx *c)
{
	char *d = next_slot(c);
	for (size_t o = 0; o < c->size; o += LINE)
		*(volatile uint64_t *)(d + o) = o;
	return d;
}

static void op_persist(struct ctx *c) { pmem_persist(dirty_next(c), c->size); }

static void op_flush_drain(struct ctx *c)
{
	char *d = dirty_next(c);
	pmem_flush(d, c->size);
	pmem_drain();
}

static void op_nodrain_batch(struct ctx *c)
{
	for (int k = 0; k < NODRAIN_BATCH; k++)
		pmem_memcpy(next_slot(c), c->src, c->size, PMEM_F_MEM_NODRAIN);
	pmem_drain();
}

/* ---- scattered: each operation on a random page of a large pool -------- */

/* Small persists spread over a pool much larger than the last-level cache,
 * one random page each (B-tree node or hash-bucket updates): unlike the ring,
 * every operation also pays a TLB miss and a cold line on a cold page. The
 * page sequence is a fixed-seed xorshift, reset per row, so both libraries
 * see the same pages in the same order. */
#define SCATTER_POOL (512 * MIB)
#define PAGE ((size_t)4096)
static const size_t scatter_sizes[] = {8, 64, 256};

struct scatter {
	char *pool;
	size_t pages;
	uint64_t state;
};
static struct scatter sc;

static void scatter_reset(void) { sc.state = 0x9e3779b97f4a7c15ULL; }

static inline char *scatter_next(struct ctx *c)
{
	uint64_t x = sc.state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	sc.state = x;
	return sc.pool + (x % sc.pages) * PAGE + c->dst_off;
}

static void op_scatter_memcpy(struct ctx *c)
{
	pmem_memcpy_persist(scatter_next(c), c->src, c->size);
}

static void op_scatter_memset(struct ctx *c)
{
	pmem_memset_persist(scatter_next(c), 0x5a, c->size);
}

static void op_scatter_persist(struct ctx *c)
{
	char *d = scatter_next(c);
	for (size_t o = 0; o < c->size; o += LINE)
		*(volatile uint64_t *)(d + o) = o;
	pmem_persist(d, c->size);
}

static void op_ceil_copy(struct ctx *c)
{
	isa->nt_copy(next_slot(c), c->src, c->size);
	_mm_sfence();
}

static void op_ceil_fill(struct ctx *c)
{
	isa->nt_fill(next_slot(c), 0x5a, c->size);
	_mm_sfence();
}

static void op_floor_store_wb(struct ctx *c)
{
	char *d = next_slot(c);
	isa->store_line(d, c->src);
	write_back(d);
	_mm_sfence();
}

static void op_floor_nt(struct ctx *c)
{
	isa->nt_line(next_slot(c), c->src);
	_mm_sfence();
}

static void op_floor_movdir64b(struct ctx *c)
{
	movdir64b_line(next_slot(c), c->src);
	_mm_sfence();
}

/* ---- timing ------------------------------------------------------------ */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double time_calls(struct ctx *c, op_fn op, uint64_t n)
{
	double t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
		op(c);
	return now_ns() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double batch_ns; /* target duration of one timed batch */

/* Median over SAMPLES batches of ns per operation; a call of `op` performs
 * `ops_per_call` operations. */
static double measure(struct ctx *c, op_fn op, unsigned ops_per_call)
{
	op(c); /* warm-up: lazy library set-up, code paths, TLB */
	uint64_t n = 1;
	double t;
	while ((t = time_calls(c, op, n)) < batch_ns / 8 && n < (1ULL << 40))
		n *= 2;
	if (t < batch_ns)
		n = (uint64_t)(n * (batch_ns / t)) + 1;
	double s[SAMPLES];
	for (int i = 0; i < SAMPLES; i++)
		s[i] = time_calls(c, op, n) / ((double)n * ops_per_call);
	qsort(s, SAMPLES, sizeof(s[0]), cmp_double);
	return s[SAMPLES / 2];
}

static int want_lib = 1, want_machine = 1; /* --skip-lib, --skip-machine */
static int want_ring = 1, want_scatter = 1; /* --only-scattered, --skip-scattered */

static void row(struct ctx *c, const char *group, const char *name, op_fn op,
		unsigned ops_per_call, const char *align)
{
	if (!(strcmp(group, "lib") ? want_machine : want_lib) || !(sc.pool || want_ring))
		return;
	double ns = measure(c, op, ops_per_call);
	printf("R\t%s\t%s\t%zu\t%s\t%.3f\n", group, name, c->size, align, ns);
	fflush(stdout);
}

/* The cheapest ways to make one 64-byte line durable, on the current ring. */
static void floor_rows(struct ctx *c)
{
	char label[96];
	snprintf(label, sizeof(label), "%s store+%s+SFENCE",
		 cpu.avx512f ? "64-byte" : "4x16-byte", write_back_name);
	row(c, "floor", label, op_floor_store_wb, 1, "aligned");
	snprintf(label, sizeof(label), "%s NT store+SFENCE",
		 cpu.avx512f ? "one 64-byte" : "4x16-byte");
	row(c, "floor", label, op_floor_nt, 1, "aligned");
	if (cpu.movdir64b)
		row(c, "floor", "MOVDIR64B+SFENCE", op_floor_movdir64b, 1, "aligned");
}

/* The scattered group, on its own pool (mapped here, unmapped after). */
static int scatter_rows(struct ctx *c, const char *dir, char *srcbuf)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/pmembench-pool.%d", dir, (int)getpid());
	size_t len = 0;
	int is_pmem = 0;
	sc.pool = pmem_map_file(path, SCATTER_POOL, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600,
				&len, &is_pmem);
	if (!sc.pool) {
		fprintf(stderr, "pmembench: pmem_map_file(%s): %s\n", path, pmem_errormsg());
		return -1;
	}
	unlink(path);
	printf("# scatter_pool\t%zu MiB, is_pmem=%d\n", len / MIB, is_pmem);
	memset(sc.pool, 0x11, len); /* fault every page in, as for the ring */
	sc.pages = len / PAGE;
	c->src = srcbuf;
	static const struct {
		const char *name;
		op_fn op;
	} ops[] = {
		{"pmem_memcpy_persist", op_scatter_memcpy},
		{"pmem_memset_persist", op_scatter_memset},
		{"pmem_persist", op_scatter_persist},
	};
	for (size_t k = 0; k < COUNT(ops); k++)
		for (size_t s = 0; s < COUNT(scatter_sizes); s++) {
			ring_setup(c, scatter_sizes[s], 0);
			scatter_reset();
			row(c, "lib", ops[k].name, ops[k].op, 1, "aligned, random page");
		}
	pmem_unmap(sc.pool, len);
	sc.pool = NULL;
	return 0;
}

/* ---- setup and verification -------------------------------------------- */

static int check_library(const char *expect)
{
	Dl_info info;
	if (!dladdr((void *)pmem_persist, &info) || !info.dli_fname) {
		fprintf(stderr, "pmembench: dladdr(pmem_persist) failed\n");
		return -1;
	}
	char got[PATH_MAX], want[PATH_MAX];
	if (!realpath(info.dli_fname, got)) {
		perror(info.dli_fname);
		return -1;
	}
	printf("# library\t%s\n", got);
	if (expect) {
		if (!realpath(expect, want)) {
			perror(expect);
			return -1;
		}
		if (strcmp(got, want) != 0) {
			fprintf(stderr, "pmembench: pmem_persist served by %s, expected %s\n",
				got, want);
			return -1;
		}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: pmembench --dir DIR [--expect LIBPATH] [--batch-ms MS]\n"
			"                 [--skip-lib] [--skip-machine] [--only-scattered]\n"
			"                 [--skip-scattered]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *expect = NULL;
	double batch_ms = 20;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--expect") && i + 1 < argc)
			expect = argv[++i];
		else if (!strcmp(argv[i], "--batch-ms") && i + 1 < argc)
			batch_ms = atof(argv[++i]);
		else if (!strcmp(argv[i], "--skip-lib"))
			want_lib = 0;
		else if (!strcmp(argv[i], "--skip-machine"))
			want_machine = 0;
		else if (!strcmp(argv[i], "--only-scattered"))
			want_ring = 0;
		else if (!strcmp(argv[i], "--skip-scattered"))
			want_scatter = 0;
		else
			usage();
	}
	if (!dir || batch_ms <= 0)
		usage();
	batch_ns = batch_ms * 1e6;

	if (check_library(expect))
		return 1;
	cpu_detect();
	isa = cpu.avx512f ? &isa_avx512 : &isa_sse2;
	write_back = cpu.clwb ? wb_clwb : cpu.clflushopt ? wb_clflushopt : wb_clflush;
	write_back_name = cpu.clwb ? "CLWB" : cpu.clflushopt ? "CLFLUSHOPT" : "CLFLUSH";
	printf("# ceiling_isa\t%s\n# write_back\t%s\n# movdir64b\t%s\n", isa->name,
	       write_back_name, cpu.movdir64b ? "yes" : "no (CPUID.7.0:ECX[28]=0)");

	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/pmembench.%d", dir, (int)getpid());
	size_t mapped_len = 0;
	int is_pmem = 0;
	char *map = pmem_map_file(path, FILE_SIZE, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600,
				  &mapped_len, &is_pmem);
	if (!map) {
		fprintf(stderr, "pmembench: pmem_map_file(%s): %s\n", path, pmem_errormsg());
		return 1;
	}
	unlink(path);
	printf("# map_is_pmem\t%d\n# pmem_is_pmem\t%d\n", is_pmem,
	       pmem_is_pmem(map, mapped_len));
	/* Fault every page in up front, so no row pays for tmpfs allocation. */
	memset(map, 0x11, mapped_len);

	char *srcbuf = mmap(NULL, MAX_SIZE + 4 * KIB, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (srcbuf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(srcbuf, 0x33, MAX_SIZE + 4 * KIB);

	struct ctx c = {.ring = map + PAD};

	/* Each ceiling or floor row runs right after the library rows it
	 * bounds, so that both see the same load on a shared machine. */
	static const struct {
		const char *name;
		op_fn op;
		const char *ceiling; /* bound for the aligned rows, if any */
		op_fn ceiling_op;
	} copies[] = {
		{"pmem_memcpy_persist", op_memcpy, "NT-store copy+SFENCE", op_ceil_copy},
		{"pmem_memmove_persist", op_memmove, NULL, NULL},
		{"pmem_memset_persist", op_memset, "NT-store fill+SFENCE", op_ceil_fill},
	};
	for (size_t k = 0; k < COUNT(copies); k++)
		for (size_t a = 0; a < COUNT(aligns); a++)
			for (size_t s = 0; s < COUNT(copy_sizes); s++) {
				ring_setup(&c, copy_sizes[s], aligns[a].dst);
				c.src = srcbuf + aligns[a].src;
				c.src_off = aligns[a].src;
				row(&c, "lib", copies[k].name, copies[k].op, 1, aligns[a].name);
				if (copies[k].ceiling && aligns[a].dst == 0 && aligns[a].src == 0)
					row(&c, "ceiling", copies[k].ceiling, copies[k].ceiling_op,
					    1, "aligned");
			}
	c.src = srcbuf;
	for (size_t s = 0; s < COUNT(flush_sizes); s++) {
		ring_setup(&c, flush_sizes[s], 0);
		row(&c, "lib", "pmem_persist", op_persist, 1, "aligned");
		row(&c, "lib", "pmem_flush+pmem_drain", op_flush_drain, 1, "aligned");
		if (flush_sizes[s] == LINE)
			floor_rows(&c);
	}
	for (size_t s = 0; s < COUNT(nodrain_sizes); s++) {
		ring_setup(&c, nodrain_sizes[s], 0);
		row(&c, "lib", "32x pmem_memcpy(NODRAIN)+pmem_drain, per copy", op_nodrain_batch,
		    NODRAIN_BATCH, "aligned");
	}
	/* One line written over and over (a log's tail pointer, say): does a
	 * line that was just in cache make small persists cheaper? */
	static const struct {
		const char *name;
		op_fn op;
		size_t size;
	} hot[] = {
		{"pmem_memcpy_persist", op_memcpy, 8},
		{"pmem_memcpy_persist", op_memcpy, 64},
		{"pmem_persist", op_persist, 64},
		{"pmem_flush+pmem_drain", op_flush_drain, 64},
	};
	for (size_t k = 0; k < COUNT(hot); k++) {
		ring_setup(&c, hot[k].size, 0);
		c.nslots = 1;
		row(&c, "lib", hot[k].name, hot[k].op, 1, "aligned, same line");
	}
	if (want_scatter && scatter_rows(&c, dir, srcbuf))
		return 1;
	if (!cpu.movdir64b)
		printf("# skipped\tMOVDIR64B+SFENCE: CPU lacks MOVDIR64B\n");

	pmem_unmap(map, mapped_len);
	return 0;
}
