/*
 * test_memops.c -- pmem_memmove, pmem_memcpy, pmem_memset with every
 * combination of PMEM_F_MEM_* flags, and their _persist and _nodrain forms:
 * many lengths and alignments, overlapping moves in both directions, on a
 * file mapping and on ordinary memory, each compared with libc's result
 * (including the bytes around the destination, which must not change).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpmem.h>

#include "lib/check.h"

#define MiB ((size_t)1 << 20)
#define GUARD 64
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef void *move_fn(void *, const void *, size_t, unsigned);
typedef void *set_fn(void *, int, size_t, unsigned);

/* The fixed-behaviour forms, given the flagged forms' shape. */
#define MOVE_ADAPTER(f) \
	static void *f##_any(void *d, const void *s, size_t n, unsigned fl) \
	{ (void)fl; return f(d, s, n); }
#define SET_ADAPTER(f) \
	static void *f##_any(void *d, int c, size_t n, unsigned fl) \
	{ (void)fl; return f(d, c, n); }
MOVE_ADAPTER(pmem_memmove_persist)
MOVE_ADAPTER(pmem_memcpy_persist)
MOVE_ADAPTER(pmem_memmove_nodrain)
MOVE_ADAPTER(pmem_memcpy_nodrain)
SET_ADAPTER(pmem_memset_persist)
SET_ADAPTER(pmem_memset_nodrain)

/* A function under test, and whether it takes the flags argument. */
#define OP_TABLE(fn_type) struct { const char *name; fn_type *fn; int takes_flags; }

static const OP_TABLE(move_fn) moves[] = {
	{"pmem_memmove", pmem_memmove, 1},
	{"pmem_memcpy", pmem_memcpy, 1},
	{"pmem_memmove_persist", pmem_memmove_persist_any, 0},
	{"pmem_memcpy_persist", pmem_memcpy_persist_any, 0},
	{"pmem_memmove_nodrain", pmem_memmove_nodrain_any, 0},
	{"pmem_memcpy_nodrain", pmem_memcpy_nodrain_any, 0},
};

static const OP_TABLE(set_fn) sets[] = {
	{"pmem_memset", pmem_memset, 1},
	{"pmem_memset_persist", pmem_memset_persist_any, 0},
	{"pmem_memset_nodrain", pmem_memset_nodrain_any, 0},
};

static const size_t lens[] = {0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
	127, 128, 129, 255, 256, 257, 511, 512, 1000, 1023, 1024, 1025, 2048, 4095, 4096, 4097,
	8197, 16447, 65539, 262161};
static const size_t dst_offs[] = {0, 1, 7, 8, 31, 32, 63};
static const size_t src_offs[] = {0, 5, 32};
/* Distances between overlapping source and destination. */
static const size_t overlaps[] = {1, 7, 8, 63, 64, 65, 100, 4096, 4097};

/* The area under test and libc's idea of what it must hold. */
struct area {
	unsigned char *mem;
	unsigned char *shadow;
	size_t len;
	const char *where;
};

static int reported;
/* Cases verified, and how many of them differed from the shadow. */
static unsigned long cases, bad_cases;

/* Compares [off - GUARD, off + len + GUARD) of the area with its shadow. */
static void
verify(struct area *a, size_t off, size_t len, const char *what, unsigned flags, void *ret,
	void *want_ret)
{
	size_t lo = off - GUARD, n = len + 2 * GUARD;
	int same = memcmp(a->mem + lo, a->shadow + lo, n) == 0;
	cases++;
	if (same && ret == want_ret)
		return;
	bad_cases++;
	if (reported++ > 20)	/* one bug tends to fail thousands of cases */
		return;
	size_t bad = 0;
	while (bad < n && a->mem[lo + bad] == a->shadow[lo + bad])
		bad++;
	CHECK(ret == want_ret, "%s on %s (flags 0x%x, len %zu) returned %p, not pmemdest %p",
		what, a->where, flags, len, ret, want_ret);
	CHECK(same, "%s on %s (flags 0x%x, len %zu, dest offset %zu): byte %zd relative to dest "
		"is 0x%02x, want 0x%02x", what, a->where, flags, len, off % 4096,
		(ssize_t)bad - GUARD, a->mem[lo + bad], a->shadow[lo + bad]);
}

/* Fresh guard bytes around [off, off + len), identical in area and shadow. */
static void
reset(struct area *a, size_t off, size_t len, unsigned seed)
{
	t_fill(a->mem + off - GUARD, len + 2 * GUARD, seed);
	memcpy(a->shadow + off - GUARD, a->mem + off - GUARD, len + 2 * GUARD);
}

/*
 * Lengths up to this get every flag combination; main lowers it under
 * valgrind, where every length and alignment still runs with fewer flag sets.
 */
static size_t all_flags_up_to = 4097;

/* Every flag combination for short copies; a representative few for long ones. */
static int
flags_wanted(unsigned flags, size_t len)
{
	static const unsigned few[] = {0, PMEM_F_MEM_NODRAIN, PMEM_F_MEM_NONTEMPORAL,
		PMEM_F_MEM_TEMPORAL, PMEM_F_MEM_WC, PMEM_F_MEM_WB, PMEM_F_MEM_NOFLUSH,
		PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_NODRAIN, PMEM_F_MEM_VALID_FLAGS};
	if (len <= all_flags_up_to)
		return 1;
	for (size_t i = 0; i < ARRAY_LEN(few); i++)
		if (few[i] == flags)
			return 1;
	return 0;
}

/*
 * Loops over every function of table, every flag combination it takes
 * (0 alone for the fixed forms), and every length worth trying with it.
 */
#define FOR_EACH_CASE(table, i, flags, l) \
	for (size_t i = 0; i < ARRAY_LEN(table); i++) \
		for (unsigned flags = 0; \
		     flags <= (table[i].takes_flags ? PMEM_F_MEM_VALID_FLAGS : 0); flags++) \
			for (size_t l = 0; l < ARRAY_LEN(lens); l++) \
				if (flags_wanted(flags, lens[l]))

static void
copies(struct area *a, unsigned char *src)
{
	const size_t base = 4096;
	FOR_EACH_CASE(moves, m, flags, l)
		for (size_t d = 0; d < ARRAY_LEN(dst_offs); d++)
			for (size_t s = 0; s < ARRAY_LEN(src_offs); s++) {
				size_t off = base + dst_offs[d], len = lens[l];
				reset(a, off, len, (unsigned)(l * 7 + d));
				t_fill(src + src_offs[s], len, (unsigned)(flags + l + s));
				void *r = moves[m].fn(a->mem + off, src + src_offs[s], len, flags);
				memmove(a->shadow + off, src + src_offs[s], len);
				verify(a, off, len, moves[m].name, flags, r, a->mem + off);
			}
	pmem_drain();
}

static void
overlapping(struct area *a)
{
	const size_t base = 8192;
	FOR_EACH_CASE(moves, m, flags, l)
		for (size_t o = 0; o < ARRAY_LEN(overlaps); o++)
			for (int up = 0; up < 2; up++) {
				size_t len = lens[l], dist = overlaps[o];
				size_t dst = up ? base + dist : base, src = up ? base : base + dist;
				reset(a, base, len + dist, (unsigned)(l + o));
				void *r = moves[m].fn(a->mem + dst, a->mem + src, len, flags);
				memmove(a->shadow + dst, a->shadow + src, len);
				verify(a, base, len + dist, moves[m].name, flags, r, a->mem + dst);
			}
}

static void
fills(struct area *a)
{
	static const int values[] = {0, 0xa5, 0x1ff, -1, 'x'};
	const size_t base = 4096;
	FOR_EACH_CASE(sets, f, flags, l)
		for (size_t d = 0; d < ARRAY_LEN(dst_offs); d++) {
			size_t off = base + dst_offs[d], len = lens[l];
			int c = values[(l + d) % ARRAY_LEN(values)];
			reset(a, off, len, (unsigned)(l * 5 + d));
			void *r = sets[f].fn(a->mem + off, c, len, flags);
			memset(a->shadow + off, c, len);
			verify(a, off, len, sets[f].name, flags, r, a->mem + off);
		}
}

/* What callers do: copy without draining or flushing, then finish themselves. */
static void
deferred_completion(struct area *a, unsigned char *src)
{
	const size_t off = 4096, len = 10000;
	reset(a, off, len, 99);
	t_fill(src, len, 98);
	pmem_memcpy(a->mem + off, src, len / 2, PMEM_F_MEM_NODRAIN);
	pmem_memcpy(a->mem + off + len / 2, src + len / 2, len - len / 2,
		PMEM_F_MEM_NOFLUSH | PMEM_F_MEM_NONTEMPORAL);
	pmem_flush(a->mem + off + len / 2, len - len / 2);
	pmem_drain();
	memcpy(a->shadow + off, src, len);
	verify(a, off, len, "pmem_memcpy NODRAIN/NOFLUSH then flush+drain", 0, a->mem, a->mem);

	/* Unknown flag bits are not an error that loses the copy. */
	reset(a, off, len, 97);
	void *r = pmem_memcpy(a->mem + off, src, len, 1u << 12);
	memcpy(a->shadow + off, src, len);
	verify(a, off, len, "pmem_memcpy with an unknown flag bit", 1u << 12, r, a->mem + off);
}

/* Ours rejects NULL with a length (EINVAL and a message); PMDK would crash. */
static void
null_arguments(unsigned char *buf)
{
	for (size_t m = 0; m < ARRAY_LEN(moves); m++) {
		errno = 0;
		moves[m].fn(NULL, buf, 10, 0);
		CHECK(errno == EINVAL, "%s(NULL, src, 10): errno %d, want EINVAL", moves[m].name, errno);
		errno = 0;
		moves[m].fn(buf, NULL, 10, 0);
		CHECK(errno == EINVAL, "%s(dest, NULL, 10): errno %d, want EINVAL", moves[m].name, errno);
		CHECK(moves[m].fn(NULL, NULL, 0, 0) == NULL, "%s(NULL, NULL, 0) failed", moves[m].name);
	}
	for (size_t f = 0; f < ARRAY_LEN(sets); f++) {
		errno = 0;
		sets[f].fn(NULL, 0, 10, 0);
		CHECK(errno == EINVAL, "%s(NULL, 0, 10): errno %d, want EINVAL", sets[f].name, errno);
	}
	errno = 0;
	pmem_persist(NULL, 10);
	CHECK(errno == EINVAL, "pmem_persist(NULL, 10): errno %d, want EINVAL", errno);
	errno = 0;
	pmem_flush(NULL, 10);
	CHECK(errno == EINVAL, "pmem_flush(NULL, 10): errno %d, want EINVAL", errno);
}

static void
run_all(struct area *a, unsigned char *src)
{
	unsigned long before = cases, bad_before = bad_cases;
	copies(a, src);
	overlapping(a);
	fills(a);
	deferred_completion(a, src);
	/* One check per area, so that a loop that stopped running fails too. */
	unsigned long ran = cases - before, bad = bad_cases - bad_before;
	CHECK(ran >= 1000 && bad == 0, "%lu of %lu copy/fill cases on %s differ from libc's",
		bad, ran, a->where);
	printf("test_memops: %lu copy/fill cases on %s\n", ran, a->where);
}

int
main(void)
{
	t_begin("test_memops");
	if (t_under_valgrind())
		all_flags_up_to = 65;
	unsigned char *src = malloc(MiB);
	struct area file = {.len = MiB, .where = "a file mapping", .shadow = malloc(MiB)};
	size_t mapped;
	file.mem = pmem_map_file(t_path("memops"), MiB, PMEM_FILE_CREATE, 0600, &mapped, NULL);
	CHECK(file.mem != NULL, "setup: pmem_map_file failed: %s", strerror(errno));
	if (file.mem) {
		memset(file.shadow, 0, MiB);
		run_all(&file, src);
		pmem_unmap(file.mem, mapped);
	}
	struct area heap = {.len = MiB, .where = "malloc'd memory", .mem = malloc(MiB),
		.shadow = malloc(MiB)};
	run_all(&heap, src);
	if (!t_is_pmdk())
		null_arguments(src);
	free(heap.shadow);
	free(heap.mem);
	free(file.shadow);
	free(src);
	return t_end();
}
