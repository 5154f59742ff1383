/*
 * hashmap_atomic -- a chained hash map through libpmemobj's atomic API
 * (pmemobj_alloc with constructors, pmemobj_free, pmemobj_persist), no
 * transactions. An insert builds its entry in a constructor and publishes
 * it with one 16-byte store within a cache line; a remove unlinks, then
 * frees. The count is a hint recomputed at recovery. When the map holds
 * twice as many entries as buckets it is rebuilt: copies of all entries go
 * into a new bucket array (buckets_tmp), which then replaces the old one;
 * recovery undoes a rebuild that did not reach the switch and finishes one
 * that did. The first insert "rebuilds" from no array at all.
 *
 * The buckets pointer straddles two cache lines on purpose (its pool id on
 * one, its offset on the next). The switch writes the pool id, persists,
 * then writes the offset: each half is 8 bytes, stored and persisted
 * alone, so no crash can leave a pointer with an offset and no pool id.
 *
 * Planted bug (-b): the switch assigns the 16-byte pointer in one store and
 * persists it once. Either line can reach the media without the other: the
 * first switch can leave {0, off}, which recovery takes for a finished
 * switch and then cannot use.
 */
#include "hashmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct root {
	uint64_t count;
	uint64_t unused;
	PMEMoid buckets_tmp;
	char area[192]; /* holds `buckets` across a line boundary (buckets_slot) */
};

#define B(oid) ((struct buckets *)pmemobj_direct(oid))
#define TYPE_ENTRY 3
#define TYPE_BUCKETS 4

/* The buckets pointer: 8 bytes before a 64-byte boundary inside area. */
static PMEMoid *buckets_slot(struct root *r)
{
	uintptr_t a = (uintptr_t)r->area;
	return (PMEMoid *)((a + 63) / 64 * 64 + 56);
}

static int check_oid(PMEMoid oid, const char *what)
{
	if (oid.off != 0 && pmemobj_direct(oid) == NULL) {
		printf("hashmap_atomic: %s {0x%" PRIx64 ", 0x%" PRIx64 "} points nowhere\n", what,
		       oid.pool_uuid_lo, oid.off);
		return -1;
	}
	return 0;
}

struct entry_init {
	uint64_t key, value;
	PMEMoid next;
};

static int entry_ctor(PMEMobjpool *pop, void *ptr, void *arg)
{
	struct entry *e = ptr;
	struct entry_init *in = arg;
	e->key = in->key;
	e->value = in->value;
	e->next = in->next;
	pmemobj_persist(pop, e, sizeof(*e));
	return 0;
}

static int buckets_ctor(PMEMobjpool *pop, void *ptr, void *arg)
{
	struct buckets *b = ptr;
	b->n = *(uint64_t *)arg;
	b->unused = 0;
	memset(b->b, 0, b->n * sizeof(PMEMoid));
	pmemobj_persist(pop, b, sizeof(*b) + b->n * sizeof(PMEMoid));
	return 0;
}

/* Makes a new entry at the head of *head. */
static int push(PMEMobjpool *pop, PMEMoid *head, uint64_t key, uint64_t value)
{
	struct entry_init in = {key, value, *head};
	PMEMoid oid;
	if (pmemobj_alloc(pop, &oid, sizeof(struct entry), TYPE_ENTRY, entry_ctor, &in) != 0)
		return -1;
	*head = oid; /* one line: the bucket array's slots are 16-byte aligned */
	pmemobj_persist(pop, head, sizeof(*head));
	return 0;
}

/* Frees every entry of a bucket array, unlinking each first. */
static void free_entries(PMEMobjpool *pop, struct buckets *b)
{
	for (uint64_t i = 0; i < b->n; i++) {
		while (!OID_IS_NULL(b->b[i])) {
			PMEMoid e = b->b[i];
			b->b[i] = E(e)->next;
			pmemobj_persist(pop, &b->b[i], sizeof(b->b[i]));
			pmemobj_free(&e);
		}
	}
}

/* Replaces the buckets pointer by buckets_tmp: the switch. */
static void switch_buckets(PMEMobjpool *pop, struct root *r)
{
	PMEMoid *slot = buckets_slot(r);
	if (planted) {
		*slot = r->buckets_tmp; /* the bug: 16 bytes on two lines, one store */
		pmemobj_persist(pop, slot, sizeof(*slot));
		return;
	}
	slot->pool_uuid_lo = r->buckets_tmp.pool_uuid_lo;
	pmemobj_persist(pop, &slot->pool_uuid_lo, sizeof(uint64_t));
	slot->off = r->buckets_tmp.off;
	pmemobj_persist(pop, &slot->off, sizeof(uint64_t));
}

/* Drops buckets_tmp once the switch is done (the object is now the buckets). */
static void clear_tmp(PMEMobjpool *pop, struct root *r)
{
	r->buckets_tmp.off = 0;
	pmemobj_persist(pop, &r->buckets_tmp.off, sizeof(uint64_t));
}

static int rebuild(PMEMobjpool *pop, struct root *r, uint64_t n)
{
	struct buckets *old = B(*buckets_slot(r));
	if (pmemobj_alloc(pop, &r->buckets_tmp, sizeof(struct buckets) + n * sizeof(PMEMoid),
			  TYPE_BUCKETS, buckets_ctor, &n) != 0)
		return -1;
	struct buckets *nb = B(r->buckets_tmp);
	for (uint64_t i = 0; old != NULL && i < old->n; i++) {
		for (PMEMoid e = old->b[i]; !OID_IS_NULL(e); e = E(e)->next) {
			if (push(pop, &nb->b[hash(E(e)->key, n)], E(e)->key, E(e)->value) != 0)
				return -1;
		}
	}
	PMEMoid old_oid = *buckets_slot(r);
	switch_buckets(pop, r);
	clear_tmp(pop, r);
	/* A crash from here on leaks the old array and entries, nothing more. */
	if (old != NULL) {
		free_entries(pop, old);
		pmemobj_free(&old_oid);
	}
	return 0;
}

static int insert(PMEMobjpool *pop, uint64_t key, uint64_t value)
{
	struct root *r = map_root(pop);
	struct buckets *b = B(*buckets_slot(r));
	if (b == NULL) {
		if (rebuild(pop, r, 4) != 0)
			return -1;
		b = B(*buckets_slot(r));
	}
	PMEMoid *head = &b->b[hash(key, b->n)];
	for (PMEMoid e = *head; !OID_IS_NULL(e); e = E(e)->next) {
		if (E(e)->key == key) {
			E(e)->value = value;
			pmemobj_persist(pop, &E(e)->value, sizeof(value));
			return 0;
		}
	}
	if (push(pop, head, key, value) != 0)
		return -1;
	r->count++;
	pmemobj_persist(pop, &r->count, sizeof(r->count));
	return r->count > 2 * b->n ? rebuild(pop, r, 2 * b->n) : 0;
}

static int remove_key(PMEMobjpool *pop, uint64_t key)
{
	struct root *r = map_root(pop);
	struct buckets *b = B(*buckets_slot(r));
	if (b == NULL)
		return 1;
	for (PMEMoid *link = &b->b[hash(key, b->n)]; !OID_IS_NULL(*link);
	     link = &E(*link)->next) {
		PMEMoid e = *link;
		if (E(e)->key != key)
			continue;
		*link = E(e)->next;
		pmemobj_persist(pop, link, sizeof(*link));
		pmemobj_free(&e);
		r->count--;
		pmemobj_persist(pop, &r->count, sizeof(r->count));
		return 0;
	}
	return 1;
}

static int lookup(PMEMobjpool *pop, uint64_t key, uint64_t *value)
{
	struct root *r = map_root(pop);
	if (check_oid(*buckets_slot(r), "the buckets pointer") != 0)
		return -1;
	struct buckets *b = B(*buckets_slot(r));
	if (b == NULL)
		return 0;
	long steps = 0;
	for (PMEMoid e = b->b[hash(key, b->n)]; !OID_IS_NULL(e); e = E(e)->next) {
		if (check_oid(e, "an entry pointer") != 0 || ++steps > MAX_ENTRIES)
			return -1;
		if (E(e)->key == key) {
			*value = E(e)->value;
			return 1;
		}
	}
	return 0;
}

static int each(PMEMobjpool *pop, int (*f)(uint64_t, uint64_t, void *), void *arg)
{
	struct root *r = map_root(pop);
	if (check_oid(*buckets_slot(r), "the buckets pointer") != 0)
		return -1;
	struct buckets *b = B(*buckets_slot(r));
	long steps = 0;
	for (uint64_t i = 0; b != NULL && i < b->n; i++) {
		for (PMEMoid e = b->b[i]; !OID_IS_NULL(e); e = E(e)->next) {
			if (check_oid(e, "an entry pointer") != 0)
				return -1;
			if (++steps > MAX_ENTRIES) {
				printf("hashmap_atomic: bucket %" PRIu64 " has a cycle\n", i);
				return -1;
			}
			if (hash(E(e)->key, b->n) != i) {
				printf("hashmap_atomic: key %" PRIu64 " in bucket %" PRIu64 "\n",
				       E(e)->key, i);
				return -1;
			}
			if (f != NULL && f(E(e)->key, E(e)->value, arg) != 0)
				return -1;
		}
	}
	return 0;
}

/* Undoes a rebuild that did not switch, finishes one that did, recounts. */
static int recover(PMEMobjpool *pop)
{
	struct root *r = map_root(pop);
	if (!OID_IS_NULL(r->buckets_tmp)) {
		if (buckets_slot(r)->off == r->buckets_tmp.off) {
			clear_tmp(pop, r);
		} else {
			free_entries(pop, B(r->buckets_tmp));
			pmemobj_free(&r->buckets_tmp);
		}
	}
	uint64_t n = 0;
	if (each(pop, count_entry, &n) != 0)
		return -1;
	if (n != r->count) {
		r->count = n;
		pmemobj_persist(pop, &r->count, sizeof(r->count));
	}
	return 0;
}

static int verify(PMEMobjpool *pop)
{
	struct root *r = map_root(pop);
	uint64_t n = 0;
	if (each(pop, count_entry, &n) != 0)
		return -1;
	if (n != r->count || !OID_IS_NULL(r->buckets_tmp)) {
		printf("hashmap_atomic: count %" PRIu64 " for %" PRIu64 " entries%s\n", r->count, n,
		       OID_IS_NULL(r->buckets_tmp) ? "" : ", a rebuild left unfinished");
		return -1;
	}
	return 0;
}

const struct map_ops MAP = {
	.name = "hashmap_atomic",
	.root_size = sizeof(struct root),
	.can_remove = 1,
	.recover = recover,
	.insert = insert,
	.remove = remove_key,
	.lookup = lookup,
	.each = each,
	.verify = verify,
};
