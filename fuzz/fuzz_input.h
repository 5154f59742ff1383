/*
 * fuzz_input.h -- reads typed fields off a libFuzzer input; a field past
 * the end reads as zero, so every input, however short, is a valid case.
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H 1

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../c_tests/lib/check.h"

/*
 * A broken invariant is a crash for libFuzzer, which then saves the input:
 * the C tests' CHECK (lib/check.h) reports it, abort() makes it a crash.
 */
#define FUZZ_ASSERT(cond, ...)                                                 \
	do {                                                                   \
		if (!CHECK(cond, __VA_ARGS__))                                 \
			abort();                                               \
	} while (0)

struct fuzz_input {
	const uint8_t *data;
	size_t left;
};

static inline uint64_t
fuzz_take(struct fuzz_input *in, size_t bytes)
{
	uint64_t v = 0;
	size_t n = bytes < in->left ? bytes : in->left;
	memcpy(&v, in->data, n); /* little-endian x86_64 */
	in->data += n;
	in->left -= n;
	return v;
}

#define FUZZ_U8(in) ((uint8_t)fuzz_take((in), 1))
#define FUZZ_U16(in) ((uint16_t)fuzz_take((in), 2))
#define FUZZ_U32(in) ((uint32_t)fuzz_take((in), 4))
#define FUZZ_U64(in) fuzz_take((in), 8)

#endif
