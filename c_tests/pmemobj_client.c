/*
 * pmemobj_client.c -- a small libpmemobj program (Debian's libpmemobj, which
 * does its flushing through libpmem): "create" makes a pool and commits
 * transactions (plus one it aborts); "verify", run as a new process, reopens
 * the pool and checks that exactly the committed data is there.
 *
 *   pmemobj_client create POOL
 *   pmemobj_client verify POOL
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libpmemobj.h>

/* Debian's libpmemobj brings its libpmem; the kit must not link another. */
#define T_NO_LIBPMEM
#include "lib/check.h"

#define LAYOUT "libpmem-harness"
#define POOL_SIZE ((size_t)16 << 20)
#define NODES 50
#define COMMITS 20

POBJ_LAYOUT_BEGIN(harness);
POBJ_LAYOUT_ROOT(harness, struct root);
POBJ_LAYOUT_TOID(harness, struct node);
POBJ_LAYOUT_END(harness);

struct node {
	uint64_t value;
	TOID(struct node) next;
};

struct root {
	uint64_t commits;
	uint64_t sum;
	char text[64];
	TOID(struct node) head;
};

static void
create(const char *path)
{
	PMEMobjpool *pop = pmemobj_create(path, LAYOUT, POOL_SIZE, 0600);
	CHECK(pop != NULL, "pmemobj_create: %s", pmemobj_errormsg());
	if (!pop)
		return;
	TOID(struct root) root = POBJ_ROOT(pop, struct root);

	for (uint64_t i = 1; i <= COMMITS; i++) {
		TX_BEGIN(pop) {
			TX_ADD(root);
			D_RW(root)->commits = i;
			D_RW(root)->sum += i;
			snprintf(D_RW(root)->text, sizeof(D_RW(root)->text), "commit %llu",
				(unsigned long long)i);
		} TX_ONABORT {
			CHECK(0, "transaction %llu aborted: %s", (unsigned long long)i,
				pmemobj_errormsg());
		} TX_END
	}

	/* A list built in one transaction. */
	TX_BEGIN(pop) {
		TX_ADD_FIELD(root, head);
		for (uint64_t v = 1; v <= NODES; v++) {
			TOID(struct node) n = TX_NEW(struct node);
			D_RW(n)->value = v * v;
			D_RW(n)->next = D_RO(root)->head;
			D_RW(root)->head = n;
		}
	} TX_ONABORT {
		CHECK(0, "list transaction aborted: %s", pmemobj_errormsg());
	} TX_END

	/* An aborted transaction leaves no trace. */
	TX_BEGIN(pop) {
		TX_ADD(root);
		D_RW(root)->commits = 999999;
		strcpy(D_RW(root)->text, "aborted");
		pmemobj_tx_abort(ECANCELED);
	} TX_END
	CHECK(D_RO(root)->commits == COMMITS, "aborted transaction left commits = %llu",
		(unsigned long long)D_RO(root)->commits);

	pmemobj_close(pop);
}

static void
verify(const char *path)
{
	CHECK(pmemobj_check(path, LAYOUT) == 1, "pmemobj_check says the pool is not consistent: %s",
		pmemobj_errormsg());
	PMEMobjpool *pop = pmemobj_open(path, LAYOUT);
	CHECK(pop != NULL, "pmemobj_open: %s", pmemobj_errormsg());
	if (!pop)
		return;
	TOID(struct root) root = POBJ_ROOT(pop, struct root);
	const struct root *r = D_RO(root);
	CHECK(r->commits == COMMITS, "commits = %llu, want %d", (unsigned long long)r->commits,
		COMMITS);
	CHECK(r->sum == (uint64_t)COMMITS * (COMMITS + 1) / 2, "sum = %llu",
		(unsigned long long)r->sum);
	char want[64];
	snprintf(want, sizeof(want), "commit %d", COMMITS);
	CHECK(strcmp(r->text, want) == 0, "text = \"%s\", want \"%s\"", r->text, want);

	uint64_t count = 0, sum = 0;
	for (TOID(struct node) n = r->head; !TOID_IS_NULL(n) && count <= NODES; n = D_RO(n)->next) {
		count++;
		sum += D_RO(n)->value;
	}
	CHECK(count == NODES, "list has %llu nodes, want %d", (unsigned long long)count, NODES);
	CHECK(sum == (uint64_t)NODES * (NODES + 1) * (2 * NODES + 1) / 6, "list sum %llu wrong",
		(unsigned long long)sum);
	pmemobj_close(pop);
}

int
main(int argc, char *argv[])
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s create|verify POOL\n", argv[0]);
		return 2;
	}
	t_begin(strcmp(argv[1], "create") == 0 ? "pmemobj_client create" : "pmemobj_client verify");
	if (strcmp(argv[1], "create") == 0)
		create(argv[2]);
	else
		verify(argv[2]);
	return t_end();
}
