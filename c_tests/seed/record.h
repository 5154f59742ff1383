/* record.h -- the file layout shared by append and append_check. */
#ifndef RECORD_H
#define RECORD_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

struct header {
	uint64_t count;		/* records published */
	char pad[56];
};

struct record {			/* one cache line */
	uint64_t seq;
	char payload[48];
	uint64_t sum;
};

/* FNV-1a over the record's bytes before the checksum. */
static inline uint64_t record_sum(const struct record *r)
{
	const unsigned char *p = (const unsigned char *)r;
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < offsetof(struct record, sum); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static inline void record_fill(struct record *r, uint64_t seq)
{
	r->seq = seq;
	for (size_t i = 0; i < sizeof(r->payload); i++)
		r->payload[i] = (char)('a' + (seq + i) % 26);
	r->sum = record_sum(r);
}

#endif
