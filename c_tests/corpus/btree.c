/*
 * btree -- a B-tree of order 4 (at most 3 keys a node) in transactions,
 * splitting full nodes on the way down.
 *
 * Planted bug (-b): a split moves the upper keys of a full node into a new
 * one and shortens the full node, but never adds the shortened node to the
 * transaction. Its new key count is neither logged nor flushed at commit:
 * after a crash it can keep its old count (keys listed twice) or, if the
 * transaction is rolled back, lose keys that only the new node held.
 */
#include "corpus.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAXK 3
#define MAX_DEPTH 64

struct node {
	uint64_t n;
	uint64_t leaf;
	uint64_t keys[MAXK];
	uint64_t vals[MAXK];
	PMEMoid kids[MAXK + 1];
};

struct root {
	PMEMoid top;
};

#define D(oid) ((struct node *)pmemobj_direct(oid))

static void add(void *p, size_t len)
{
	pmemobj_tx_add_range_direct(p, len);
}

/* x->kids[i] is full: its middle key moves up into x, its upper key into a new node. */
static void split_child(struct node *x, int i)
{
	struct node *y = D(x->kids[i]);
	PMEMoid zoid = pmemobj_tx_zalloc(sizeof(struct node), 1);
	struct node *z = D(zoid);
	z->leaf = y->leaf;
	z->n = 1;
	z->keys[0] = y->keys[2];
	z->vals[0] = y->vals[2];
	if (!y->leaf) {
		z->kids[0] = y->kids[2];
		z->kids[1] = y->kids[3];
	}
	add(x, sizeof(*x));
	for (int j = (int)x->n; j > i; j--) {
		x->keys[j] = x->keys[j - 1];
		x->vals[j] = x->vals[j - 1];
		x->kids[j + 1] = x->kids[j];
	}
	x->keys[i] = y->keys[1];
	x->vals[i] = y->vals[1];
	x->kids[i + 1] = zoid;
	x->n++;
	if (!planted)
		add(y, sizeof(*y));
	y->n = 1;
}

static void insert_nonfull(struct node *x, uint64_t key, uint64_t value)
{
	for (;;) {
		int i = (int)x->n - 1;
		if (x->leaf) {
			add(x, sizeof(*x));
			for (; i >= 0 && x->keys[i] > key; i--) {
				x->keys[i + 1] = x->keys[i];
				x->vals[i + 1] = x->vals[i];
			}
			x->keys[i + 1] = key;
			x->vals[i + 1] = value;
			x->n++;
			return;
		}
		while (i >= 0 && x->keys[i] > key)
			i--;
		i++;
		if (D(x->kids[i])->n == MAXK) {
			split_child(x, i);
			if (key > x->keys[i])
				i++;
		}
		x = D(x->kids[i]);
	}
}

/* The node and slot holding key, if any (depth-limited: a broken tree can cycle). */
static struct node *find(struct root *r, uint64_t key, int *slot)
{
	struct node *x = D(r->top);
	for (int depth = 0; x != NULL && depth < MAX_DEPTH; depth++) {
		int i = 0;
		while (i < (int)x->n && key > x->keys[i])
			i++;
		if (i < (int)x->n && key == x->keys[i]) {
			*slot = i;
			return x;
		}
		if (x->leaf)
			return NULL;
		x = D(x->kids[i]);
	}
	return NULL;
}

static int insert(PMEMobjpool *pop, uint64_t key, uint64_t value)
{
	struct root *r = map_root(pop);
	int failed = 0;
	TX_BEGIN(pop) {
		int slot;
		struct node *x = find(r, key, &slot);
		if (x != NULL) {
			add(&x->vals[slot], sizeof(x->vals[slot]));
			x->vals[slot] = value;
		} else {
			if (OID_IS_NULL(r->top)) {
				add(&r->top, sizeof(r->top));
				r->top = pmemobj_tx_zalloc(sizeof(struct node), 1);
				D(r->top)->leaf = 1;
			}
			if (D(r->top)->n == MAXK) {
				PMEMoid soid = pmemobj_tx_zalloc(sizeof(struct node), 1);
				D(soid)->kids[0] = r->top;
				add(&r->top, sizeof(r->top));
				r->top = soid;
				split_child(D(soid), 0);
			}
			insert_nonfull(D(r->top), key, value);
		}
	} TX_ONABORT {
		fprintf(stderr, "btree: insert of %" PRIu64 " aborted: %s\n", key, pmemobj_errormsg());
		failed = 1;
	} TX_END
	return failed;
}

static int lookup(PMEMobjpool *pop, uint64_t key, uint64_t *value)
{
	int slot;
	struct node *x = find(map_root(pop), key, &slot);
	if (x != NULL)
		*value = x->vals[slot];
	return x != NULL;
}

struct walk {
	int (*f)(uint64_t, uint64_t, void *);
	void *arg;
	int leaf_depth;
	long visits;
};

/* In order; checks node sizes, key order within bounds and equal leaf depth. */
static int walk(struct walk *w, PMEMoid oid, int depth, uint64_t lo, uint64_t hi)
{
	struct node *x = D(oid);
	if (x == NULL || depth > MAX_DEPTH || ++w->visits > MAX_ENTRIES) {
		printf("btree: %s at depth %d\n", x ? "too deep or a cycle" : "a null child", depth);
		return -1;
	}
	if (x->n == 0 || x->n > MAXK) {
		printf("btree: a node holds %" PRIu64 " keys\n", x->n);
		return -1;
	}
	if (x->leaf && w->leaf_depth < 0)
		w->leaf_depth = depth;
	if (x->leaf && depth != w->leaf_depth) {
		printf("btree: leaves at depths %d and %d\n", w->leaf_depth, depth);
		return -1;
	}
	for (int i = 0; i <= (int)x->n; i++) {
		uint64_t below = i == (int)x->n ? hi : x->keys[i];
		uint64_t above = i == 0 ? lo : x->keys[i - 1];
		if (below <= above) {
			printf("btree: keys out of order: %" PRIu64 " then %" PRIu64 "\n", above, below);
			return -1;
		}
		if (!x->leaf && walk(w, x->kids[i], depth + 1, above, below) != 0)
			return -1;
		if (i < (int)x->n && w->f != NULL && w->f(x->keys[i], x->vals[i], w->arg) != 0)
			return -1;
	}
	return 0;
}

static int each(PMEMobjpool *pop, int (*f)(uint64_t, uint64_t, void *), void *arg)
{
	struct root *r = map_root(pop);
	struct walk w = {f, arg, -1, 0};
	return OID_IS_NULL(r->top) ? 0 : walk(&w, r->top, 0, 0, UINT64_MAX);
}

static int verify(PMEMobjpool *pop)
{
	return each(pop, NULL, NULL);
}

static int recover(PMEMobjpool *pop)
{
	(void)pop; /* libpmemobj's transaction recovery is all it needs */
	return 0;
}

const struct map_ops MAP = {
	.name = "btree",
	.root_size = sizeof(struct root),
	.can_remove = 0,
	.recover = recover,
	.insert = insert,
	.remove = NULL,
	.lookup = lookup,
	.each = each,
	.verify = verify,
};
