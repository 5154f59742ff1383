/*
 * corpus.h -- what every program of the crash-testing corpus shares: a map
 * of uint64 keys to uint64 values kept in a libpmemobj pool, driven by a
 * workload on stdin, and checked after a crash by a checker that knows the
 * workload (driver.c).
 */
#ifndef CORPUS_H
#define CORPUS_H

#include <libpmemobj.h>
#include <stdint.h>

/* The operations a map provides; each returns 0 on success. */
struct map_ops {
	const char *name;	/* also the pool's layout name */
	size_t root_size;
	int can_remove;		/* the workload may remove keys */
	/* Run after every pmemobj_open: finish or undo what a crash left. */
	int (*recover)(PMEMobjpool *pop);
	/* Insert, or update the value of a key already there. */
	int (*insert)(PMEMobjpool *pop, uint64_t key, uint64_t value);
	/* 0 removed, 1 not there, -1 failed. */
	int (*remove)(PMEMobjpool *pop, uint64_t key);
	/* 1 found (*value set), 0 not there, -1 the structure is broken. */
	int (*lookup)(PMEMobjpool *pop, uint64_t key, uint64_t *value);
	/*
	 * Calls f on every entry; stops at f's non-zero return. Returns -1
	 * (after printing why) when the structure is broken: a cycle, a
	 * dangling pointer, an entry in the wrong place.
	 */
	int (*each)(PMEMobjpool *pop, int (*f)(uint64_t key, uint64_t value, void *arg),
		    void *arg);
	/* The map's own invariants (balance, order, its count); prints why. */
	int (*verify)(PMEMobjpool *pop);
};

extern const struct map_ops MAP;

/* Non-zero: the program plants its bug class (the -b switch). */
extern int planted;

/* Most entries a listing may yield before it is called a cycle. */
#define MAX_ENTRIES 100000

/* The pool's root object. */
void *map_root(PMEMobjpool *pop);

/* An `each` callback that counts entries into the uint64_t at arg. */
int count_entry(uint64_t key, uint64_t value, void *arg);

#endif
