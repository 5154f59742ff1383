/*
 * obj_tx -- a small transactional libpmemobj program, unmodified by fit
 * mode: libpmemobj maps its pool itself (MAP_SHARED) and only calls libpmem
 * to flush, so fit mode adopts the mapping at its first flush.
 *
 *   obj_tx create POOL          make the pool (run without fit mode)
 *   obj_tx [-b] run POOL N      N transactions, each appending value i+1
 *                               to vals[] and adding it to sum
 *   obj_tx check POOL           open (libpmemobj recovers) and check that
 *                               sum and count agree with vals[]
 *
 * -b plants a bug: the value is stored outside the transaction (never
 * snapshotted, never flushed); a final pmemobj_persist of the whole root
 * hides it from every run that is not crashed.
 */
#include <libpmemobj.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYOUT "obj_tx"
#define NVALS 64

struct root {
	uint64_t count;
	uint64_t sum;
	char apart[4096]; /* vals on other lines and pages than count and sum */
	uint64_t vals[NVALS];
};

static int usage(void)
{
	fprintf(stderr, "usage: obj_tx create POOL | obj_tx [-b] run POOL N | obj_tx check POOL\n");
	return 2;
}

static PMEMobjpool *open_pool(const char *path)
{
	PMEMobjpool *pop = pmemobj_open(path, LAYOUT);
	if (pop == NULL)
		fprintf(stderr, "obj_tx: pmemobj_open %s: %s\n", path, pmemobj_errormsg());
	return pop;
}

static struct root *root_of(PMEMobjpool *pop)
{
	return pmemobj_direct(pmemobj_root(pop, sizeof(struct root)));
}

static int run(const char *path, int n, int planted)
{
	PMEMobjpool *pop = open_pool(path);
	if (pop == NULL)
		return 1;
	struct root *r = root_of(pop);
	int failed = 0;
	for (int i = 0; i < n && r->count < NVALS; i++) {
		uint64_t v = (uint64_t)i + 1;
		if (planted)
			r->vals[r->count] = v; /* the bug: outside the transaction */
		TX_BEGIN(pop) {
			pmemobj_tx_add_range_direct(&r->count, 2 * sizeof(uint64_t));
			if (!planted) {
				pmemobj_tx_add_range_direct(&r->vals[r->count], sizeof(uint64_t));
				r->vals[r->count] = v;
			}
			r->sum += v;
			r->count++;
		} TX_ONABORT {
			fprintf(stderr, "obj_tx: transaction %d aborted: %s\n", i, pmemobj_errormsg());
			failed = 1;
		} TX_END
	}
	pmemobj_persist(pop, r, sizeof(*r));
	pmemobj_close(pop);
	return failed;
}

static int check(const char *path)
{
	PMEMobjpool *pop = open_pool(path);
	if (pop == NULL)
		return 1;
	struct root *r = root_of(pop);
	uint64_t sum = 0;
	int bad = r->count > NVALS;
	for (uint64_t i = 0; !bad && i < r->count; i++) {
		if (r->vals[i] == 0) {
			printf("%s: value %ju of %ju is missing\n", path, (uintmax_t)i, (uintmax_t)r->count);
			bad = 1;
		}
		sum += r->vals[i];
	}
	if (!bad && sum != r->sum) {
		printf("%s: sum %ju, but the %ju values add up to %ju\n", path, (uintmax_t)r->sum,
		       (uintmax_t)r->count, (uintmax_t)sum);
		bad = 1;
	}
	pmemobj_close(pop);
	return bad;
}

int main(int argc, char **argv)
{
	int planted = argc > 1 && strcmp(argv[1], "-b") == 0;
	argv += planted;
	argc -= planted;
	if (argc == 3 && strcmp(argv[1], "create") == 0) {
		PMEMobjpool *pop = pmemobj_create(argv[2], LAYOUT, PMEMOBJ_MIN_POOL, 0644);
		if (pop == NULL) {
			fprintf(stderr, "obj_tx: pmemobj_create %s: %s\n", argv[2], pmemobj_errormsg());
			return 1;
		}
		root_of(pop);
		pmemobj_close(pop);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "run") == 0)
		return run(argv[2], atoi(argv[3]), planted);
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return check(argv[2]);
	return usage();
}
