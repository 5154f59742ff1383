/*
 * hashmap.h -- the layout both hash maps of the corpus keep in their pools
 * (hashmap_atomic.c, hashmap_tx.c): chained entries in an array of buckets,
 * and the hash that places a key.
 */
#ifndef HASHMAP_H
#define HASHMAP_H

#include "corpus.h"

struct entry {
	uint64_t key, value;
	PMEMoid next;
};

struct buckets {
	uint64_t n;
	uint64_t unused;
	PMEMoid b[];
};

#define E(oid) ((struct entry *)pmemobj_direct(oid))

static inline uint64_t hash(uint64_t key, uint64_t n)
{
	return (key * 0x9e3779b97f4a7c15ULL >> 29) % n;
}

#endif
