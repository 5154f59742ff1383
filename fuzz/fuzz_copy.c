/*
 * fuzz_copy.c -- libFuzzer harness over the pmem_mem* family.
 *
 * Input: function (u8: memmove, memcpy, memset, each plain with flags,
 * _persist or _nodrain), length, destination and source offsets (u32
 * each, within one arena, so they overlap whenever they are close), flags
 * (u32, unknown bits included) and the fill byte. The same operation is
 * done on a copy of the arena with plain memmove/memset (the library
 * documents memcpy as overlap-safe), and the two arenas must match byte for
 * byte, guard zones included; the return value must be the destination.
 *
 * The library is not instrumented, so its own stray stores are caught by
 * the comparison of the whole arena, not by ASan.
 */
#include "fuzz_input.h"
#include <libpmem.h>

#define SPAN (96 * 1024)
#define GUARD 4096
#define ARENA (GUARD + 2 * SPAN + GUARD)

static unsigned char *arena, *reference, *pristine;

static void
quiet(enum pmem_log_level level, const char *file, unsigned line, const char *func,
	const char *msg)
{
	(void)level;
	(void)file;
	(void)line;
	(void)func;
	(void)msg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	arena = malloc(ARENA);
	reference = malloc(ARENA);
	pristine = malloc(ARENA);
	if (!arena || !reference || !pristine)
		abort();
	for (size_t i = 0; i < ARENA; i++)
		pristine[i] = (unsigned char)(i * 7 + (i >> 9));
	pmem_log_set_function(quiet);
	return 0;
}

typedef void *(*move_fn)(void *, const void *, size_t);
typedef void *(*set_fn)(void *, int, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t op = FUZZ_U8(&in) % 9;
	size_t len = FUZZ_U32(&in) % (SPAN + 1);
	size_t dst_off = FUZZ_U32(&in) % (2 * SPAN - len + 1);
	size_t src_off = FUZZ_U32(&in) % (2 * SPAN - len + 1);
	unsigned flags = FUZZ_U32(&in);
	int c = (int)FUZZ_U32(&in); /* any int: memset uses its low byte */

	memcpy(arena, pristine, ARENA);
	memcpy(reference, pristine, ARENA);
	unsigned char *dst = arena + GUARD + dst_off;
	const unsigned char *src = arena + GUARD + src_off;

	static const move_fn moves[] = { pmem_memmove_persist, pmem_memmove_nodrain,
		pmem_memcpy_persist, pmem_memcpy_nodrain };
	static const set_fn sets[] = { pmem_memset_persist, pmem_memset_nodrain };
	void *ret;
	switch (op) {
	case 0: ret = pmem_memmove(dst, src, len, flags); break;
	case 1: ret = pmem_memcpy(dst, src, len, flags); break;
	case 2: ret = pmem_memset(dst, c, len, flags); break;
	case 3: case 4: case 5: case 6: ret = moves[op - 3](dst, src, len); break;
	default: ret = sets[op - 7](dst, c, len); break;
	}
	int is_set = op == 2 || op >= 7;
	if (is_set)
		memset(reference + GUARD + dst_off, c, len);
	else
		memmove(reference + GUARD + dst_off, reference + GUARD + src_off, len);

	FUZZ_ASSERT(ret == dst, "op %u returned %p, destination %p", op, ret, (void *)dst);
	if (memcmp(arena, reference, ARENA) != 0) {
		size_t i = 0;
		while (arena[i] == reference[i])
			i++;
		FUZZ_ASSERT(0, "op %u len %zu dst %zu src %zu flags 0x%x: byte %zd (dst+%zd) is %u, "
			"want %u", op, len, dst_off, src_off, flags, (ssize_t)i,
			(ssize_t)i - (ssize_t)(GUARD + dst_off), arena[i], reference[i]);
	}
	return 0;
}
