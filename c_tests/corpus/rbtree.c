/*
 * rbtree -- a red-black tree in transactions, every field it changes added
 * to the transaction on its own (set() below).
 *
 * Planted bug (-b): a rotation writes the parent's child slot (or the
 * root's) directly, outside the undo log. The slot's new value is neither
 * logged nor flushed at commit, so after a crash the parent can still point
 * to the node rotated down, while that node says its parent is the one
 * rotated up: a subtree is lost, or the tree holds a cycle.
 */
#include "corpus.h"

#include <inttypes.h>
#include <stdio.h>

#define MAX_DEPTH 128

struct node {
	uint64_t key, value;
	uint64_t red;
	PMEMoid parent, left, right;
};

struct root {
	PMEMoid top;
};

#define D(oid) ((struct node *)pmemobj_direct(oid))
#define SAME(a, b) ((a).off == (b).off)

static void set(PMEMoid *slot, PMEMoid v)
{
	pmemobj_tx_add_range_direct(slot, sizeof(*slot));
	*slot = v;
}

static void set_red(struct node *n, uint64_t red)
{
	pmemobj_tx_add_range_direct(&n->red, sizeof(n->red));
	n->red = red;
}

static int is_red(PMEMoid n)
{
	return !OID_IS_NULL(n) && D(n)->red;
}

/* The slot that points to x: its parent's left or right, or the root's. */
static PMEMoid *slot_of(struct root *r, PMEMoid x)
{
	PMEMoid p = D(x)->parent;
	if (OID_IS_NULL(p))
		return &r->top;
	return SAME(D(p)->left, x) ? &D(p)->left : &D(p)->right;
}

static void replace_in_parent(struct root *r, PMEMoid x, PMEMoid y)
{
	PMEMoid *slot = slot_of(r, x);
	if (planted)
		*slot = y; /* the bug: outside the log */
	else
		set(slot, y);
}

/* Rotates x down to the left (right = 0) or the right: its child c takes its place. */
static void rotate(struct root *r, PMEMoid x, int right)
{
	struct node *xn = D(x);
	PMEMoid c = right ? xn->left : xn->right;
	struct node *cn = D(c);
	PMEMoid inner = right ? cn->right : cn->left;
	set(right ? &xn->left : &xn->right, inner);
	if (!OID_IS_NULL(inner))
		set(&D(inner)->parent, x);
	replace_in_parent(r, x, c);
	set(&cn->parent, xn->parent);
	set(right ? &cn->right : &cn->left, x);
	set(&xn->parent, c);
}

static void fixup(struct root *r, PMEMoid x)
{
	while (is_red(D(x)->parent)) {
		PMEMoid p = D(x)->parent;
		PMEMoid g = D(p)->parent;
		int p_is_left = SAME(D(g)->left, p);
		PMEMoid uncle = p_is_left ? D(g)->right : D(g)->left;
		if (is_red(uncle)) {
			set_red(D(p), 0);
			set_red(D(uncle), 0);
			set_red(D(g), 1);
			x = g;
			continue;
		}
		if (SAME(x, p_is_left ? D(p)->right : D(p)->left)) {
			x = p;
			rotate(r, x, !p_is_left);
			p = D(x)->parent;
		}
		set_red(D(p), 0);
		set_red(D(g), 1);
		rotate(r, g, p_is_left);
	}
	if (D(r->top)->red)
		set_red(D(r->top), 0);
}

static PMEMoid find(struct root *r, uint64_t key, PMEMoid *parent)
{
	PMEMoid x = r->top;
	*parent = OID_NULL;
	for (int depth = 0; !OID_IS_NULL(x) && depth < MAX_DEPTH; depth++) {
		struct node *n = D(x);
		if (n == NULL || n->key == key)
			return n ? x : OID_NULL;
		*parent = x;
		x = key < n->key ? n->left : n->right;
	}
	return OID_NULL;
}

static int insert(PMEMobjpool *pop, uint64_t key, uint64_t value)
{
	struct root *r = map_root(pop);
	int failed = 0;
	TX_BEGIN(pop) {
		PMEMoid parent;
		PMEMoid x = find(r, key, &parent);
		if (!OID_IS_NULL(x)) {
			pmemobj_tx_add_range_direct(&D(x)->value, sizeof(uint64_t));
			D(x)->value = value;
		} else {
			x = pmemobj_tx_zalloc(sizeof(struct node), 2);
			struct node *n = D(x);
			n->key = key;
			n->value = value;
			n->red = 1;
			n->parent = parent;
			if (OID_IS_NULL(parent))
				set(&r->top, x);
			else
				set(key < D(parent)->key ? &D(parent)->left : &D(parent)->right, x);
			fixup(r, x);
		}
	} TX_ONABORT {
		fprintf(stderr, "rbtree: insert of %" PRIu64 " aborted: %s\n", key, pmemobj_errormsg());
		failed = 1;
	} TX_END
	return failed;
}

static int lookup(PMEMobjpool *pop, uint64_t key, uint64_t *value)
{
	PMEMoid parent;
	PMEMoid x = find(map_root(pop), key, &parent);
	if (!OID_IS_NULL(x))
		*value = D(x)->value;
	return !OID_IS_NULL(x);
}

struct walk {
	int (*f)(uint64_t, uint64_t, void *);
	void *arg;
	int black_height;
	long visits;
};

/*
 * In order; checks parent links, key order, no red node with a red child,
 * and the same number of black nodes on every path.
 */
static int walk(struct walk *w, PMEMoid x, PMEMoid parent, int depth, int blacks, uint64_t lo,
		uint64_t hi)
{
	if (OID_IS_NULL(x)) {
		if (w->black_height < 0)
			w->black_height = blacks;
		if (blacks != w->black_height) {
			printf("rbtree: paths with %d and %d black nodes\n", w->black_height, blacks);
			return -1;
		}
		return 0;
	}
	struct node *n = D(x);
	if (n == NULL || depth > MAX_DEPTH || ++w->visits > MAX_ENTRIES) {
		printf("rbtree: %s at depth %d\n", n ? "too deep or a cycle" : "a dangling child", depth);
		return -1;
	}
	if (!SAME(n->parent, parent)) {
		printf("rbtree: node %" PRIu64 " names another parent than the node above it\n", n->key);
		return -1;
	}
	if (n->key <= lo || n->key >= hi) {
		printf("rbtree: key %" PRIu64 " out of order\n", n->key);
		return -1;
	}
	if (n->red && is_red(parent)) {
		printf("rbtree: red node %" PRIu64 " under a red parent\n", n->key);
		return -1;
	}
	blacks += !n->red;
	if (walk(w, n->left, x, depth + 1, blacks, lo, n->key) != 0)
		return -1;
	if (w->f != NULL && w->f(n->key, n->value, w->arg) != 0)
		return -1;
	return walk(w, n->right, x, depth + 1, blacks, n->key, hi);
}

static int each(PMEMobjpool *pop, int (*f)(uint64_t, uint64_t, void *), void *arg)
{
	struct root *r = map_root(pop);
	struct walk w = {f, arg, -1, 0};
	if (is_red(r->top)) {
		printf("rbtree: the root is red\n");
		return -1;
	}
	return walk(&w, r->top, OID_NULL, 0, 0, 0, UINT64_MAX);
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
	.name = "rbtree",
	.root_size = sizeof(struct root),
	.can_remove = 0,
	.recover = recover,
	.insert = insert,
	.remove = NULL,
	.lookup = lookup,
	.each = each,
	.verify = verify,
};
