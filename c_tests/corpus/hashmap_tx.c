/*
 * hashmap_tx -- a chained hash map in transactions, with its entry count
 * kept in the root and trusted by readers (no recount at recovery). It
 * doubles its bucket array, moving every entry, when it holds twice as
 * many entries as buckets.
 *
 * Planted bug (-b): the count is updated after the transaction that
 * publishes (or unlinks) the entry has committed, and persisted on its
 * own: a crash in between leaves a count that disagrees with the entries.
 */
#include "hashmap.h"

#include <inttypes.h>
#include <stdio.h>

struct root {
	uint64_t count;
	uint64_t unused;
	PMEMoid buckets;
};

#define B(oid) ((struct buckets *)pmemobj_direct(oid))
#define TYPE_ENTRY 5
#define TYPE_BUCKETS 6

static void add(void *p, size_t len)
{
	pmemobj_tx_add_range_direct(p, len);
}

static PMEMoid new_buckets(uint64_t n)
{
	PMEMoid oid = pmemobj_tx_zalloc(sizeof(struct buckets) + n * sizeof(PMEMoid), TYPE_BUCKETS);
	B(oid)->n = n;
	return oid;
}

/* Moves every entry into an array twice as large (inside the caller's transaction). */
static void grow(struct root *r)
{
	struct buckets *old = B(r->buckets);
	PMEMoid noid = new_buckets(2 * old->n);
	struct buckets *nb = B(noid);
	for (uint64_t i = 0; i < old->n; i++) {
		PMEMoid e = old->b[i];
		while (!OID_IS_NULL(e)) {
			PMEMoid next = E(e)->next;
			PMEMoid *head = &nb->b[hash(E(e)->key, nb->n)];
			add(&E(e)->next, sizeof(PMEMoid));
			E(e)->next = *head;
			*head = e; /* the new array was allocated in this transaction */
			e = next;
		}
	}
	pmemobj_tx_free(r->buckets);
	add(&r->buckets, sizeof(r->buckets));
	r->buckets = noid;
}

/* The count moves by delta: inside the transaction, or (the bug) after it. */
static void count_in_tx(struct root *r, int64_t delta)
{
	if (planted)
		return;
	add(&r->count, sizeof(r->count));
	r->count += (uint64_t)delta;
}

static void count_after(PMEMobjpool *pop, struct root *r, int64_t delta)
{
	if (!planted || delta == 0)
		return;
	r->count += (uint64_t)delta;
	pmemobj_persist(pop, &r->count, sizeof(r->count));
}

static int insert(PMEMobjpool *pop, uint64_t key, uint64_t value)
{
	struct root *r = map_root(pop);
	int failed = 0;
	int64_t delta = 0;
	TX_BEGIN(pop) {
		if (OID_IS_NULL(r->buckets)) {
			add(&r->buckets, sizeof(r->buckets));
			r->buckets = new_buckets(4);
		}
		struct buckets *b = B(r->buckets);
		PMEMoid *head = &b->b[hash(key, b->n)];
		PMEMoid e = *head;
		while (!OID_IS_NULL(e) && E(e)->key != key)
			e = E(e)->next;
		if (!OID_IS_NULL(e)) {
			add(&E(e)->value, sizeof(uint64_t));
			E(e)->value = value;
		} else {
			e = pmemobj_tx_zalloc(sizeof(struct entry), TYPE_ENTRY);
			E(e)->key = key;
			E(e)->value = value;
			E(e)->next = *head;
			add(head, sizeof(*head));
			*head = e;
			delta = 1;
			count_in_tx(r, 1);
			if (r->count + (planted ? 1 : 0) > 2 * b->n)
				grow(r);
		}
	} TX_ONABORT {
		fprintf(stderr, "hashmap_tx: insert of %" PRIu64 " aborted: %s\n", key,
			pmemobj_errormsg());
		failed = 1;
	} TX_END
	if (!failed)
		count_after(pop, r, delta);
	return failed;
}

static int remove_key(PMEMobjpool *pop, uint64_t key)
{
	struct root *r = map_root(pop);
	int ret = 1;
	if (OID_IS_NULL(r->buckets))
		return 1;
	TX_BEGIN(pop) {
		struct buckets *b = B(r->buckets);
		for (PMEMoid *link = &b->b[hash(key, b->n)]; !OID_IS_NULL(*link);
		     link = &E(*link)->next) {
			PMEMoid e = *link;
			if (E(e)->key != key)
				continue;
			add(link, sizeof(*link));
			*link = E(e)->next;
			pmemobj_tx_free(e);
			count_in_tx(r, -1);
			ret = 0;
			break;
		}
	} TX_ONABORT {
		fprintf(stderr, "hashmap_tx: remove of %" PRIu64 " aborted: %s\n", key,
			pmemobj_errormsg());
		ret = -1;
	} TX_END
	if (ret == 0)
		count_after(pop, r, -1);
	return ret;
}

static int lookup(PMEMobjpool *pop, uint64_t key, uint64_t *value)
{
	struct root *r = map_root(pop);
	struct buckets *b = B(r->buckets);
	long steps = 0;
	for (PMEMoid e = b ? b->b[hash(key, b->n)] : OID_NULL; !OID_IS_NULL(e); e = E(e)->next) {
		if (E(e) == NULL || ++steps > MAX_ENTRIES) {
			printf("hashmap_tx: a broken chain\n");
			return -1;
		}
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
	struct buckets *b = B(r->buckets);
	long steps = 0;
	for (uint64_t i = 0; b != NULL && i < b->n; i++) {
		for (PMEMoid e = b->b[i]; !OID_IS_NULL(e); e = E(e)->next) {
			if (E(e) == NULL || ++steps > MAX_ENTRIES) {
				printf("hashmap_tx: bucket %" PRIu64 " is broken\n", i);
				return -1;
			}
			if (hash(E(e)->key, b->n) != i) {
				printf("hashmap_tx: key %" PRIu64 " in bucket %" PRIu64 "\n", E(e)->key, i);
				return -1;
			}
			if (f != NULL && f(E(e)->key, E(e)->value, arg) != 0)
				return -1;
		}
	}
	return 0;
}

static int verify(PMEMobjpool *pop)
{
	struct root *r = map_root(pop);
	uint64_t n = 0;
	if (each(pop, count_entry, &n) != 0)
		return -1;
	if (n != r->count) {
		printf("hashmap_tx: count %" PRIu64 " for %" PRIu64 " entries\n", r->count, n);
		return -1;
	}
	return 0;
}

static int recover(PMEMobjpool *pop)
{
	(void)pop; /* libpmemobj's transaction recovery is all it needs */
	return 0;
}

const struct map_ops MAP = {
	.name = "hashmap_tx",
	.root_size = sizeof(struct root),
	.can_remove = 1,
	.recover = recover,
	.insert = insert,
	.remove = remove_key,
	.lookup = lookup,
	.each = each,
	.verify = verify,
};
