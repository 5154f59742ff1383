/*
 * driver.c -- the command line, the workload and the recovery checker
 * shared by the corpus programs (see corpus.h and corpus-test.sh).
 *
 *   PROG create POOL            make an empty pool (run without fit mode)
 *   PROG [-b] run POOL          apply the workload read from stdin: lines
 *                               "i KEY VALUE" (insert or update) and
 *                               "r KEY" (remove); after each operation
 *                               returns, POOL.done holds how many did
 *   PROG check POOL WORKLOAD    open the pool (recovery), then check it
 *                               against the workload: exit 0 or print why
 *                               and exit 1
 *   PROG serve POOL WORKLOAD    pmem-sweep's --check-server: check POOL in
 *                               each directory read from stdin, answering
 *                               "pmem-sweep: pass" or "pmem-sweep: fail"
 *   PROG gen N SEED             print a workload of N operations
 *
 * The check: the keys listed are unique and are exactly those of the
 * workload's first k operations, k being the number completed before the
 * crash or one more (the one in flight); every lookup agrees with the
 * listing; the map's own invariants hold; and the map still takes inserts
 * (and removes) after recovery.
 */
#include "corpus.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int planted;

struct op {
	char kind; /* 'i' or 'r' */
	uint64_t key, value;
};

struct ops {
	struct op *v;
	size_t n, cap;
};

struct kv {
	uint64_t key, value;
};

struct list {
	struct kv *v;
	size_t n, cap;
};

static void *grow(void *p, size_t *cap, size_t elem)
{
	*cap = *cap ? 2 * *cap : 64;
	p = realloc(p, *cap * elem);
	if (p == NULL) {
		perror("realloc");
		exit(2);
	}
	return p;
}

/* Reads a workload; returns -1 (after saying where) on a malformed line. */
static int read_ops(FILE *f, struct ops *ops)
{
	char line[256];
	size_t lineno = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		struct op op = {0};
		lineno++;
		if (line[0] == '\n' || line[0] == '#')
			continue;
		if (sscanf(line, "i %" SCNu64 " %" SCNu64, &op.key, &op.value) == 2)
			op.kind = 'i';
		else if (sscanf(line, "r %" SCNu64, &op.key) == 1)
			op.kind = 'r';
		if (op.kind == 0 || op.key == 0) {
			fprintf(stderr, "%s: workload line %zu: want \"i KEY VALUE\" or \"r KEY\", KEY > 0\n",
				MAP.name, lineno);
			return -1;
		}
		if (op.kind == 'r' && !MAP.can_remove) {
			fprintf(stderr, "%s: workload line %zu: this map has no remove\n", MAP.name,
				lineno);
			return -1;
		}
		if (ops->n == ops->cap)
			ops->v = grow(ops->v, &ops->cap, sizeof(*ops->v));
		ops->v[ops->n++] = op;
	}
	return 0;
}

void *map_root(PMEMobjpool *pop)
{
	return pmemobj_direct(pmemobj_root(pop, MAP.root_size));
}

int count_entry(uint64_t key, uint64_t value, void *arg)
{
	(void)key, (void)value;
	++*(uint64_t *)arg;
	return 0;
}

static PMEMobjpool *open_pool(const char *path)
{
	PMEMobjpool *pop = pmemobj_open(path, MAP.name);
	if (pop == NULL) {
		printf("%s: pmemobj_open %s: %s\n", MAP.name, path, pmemobj_errormsg());
		return NULL;
	}
	if (MAP.recover(pop) != 0) {
		pmemobj_close(pop);
		return NULL;
	}
	return pop;
}

static char *done_path(const char *pool)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s.done", pool);
	return path;
}

/*
 * At a clean shutdown the caches reach the media: flush every object, so
 * that only a crash can expose a store the program never flushed itself.
 */
static void clean_shutdown(PMEMobjpool *pop)
{
	for (PMEMoid oid = pmemobj_first(pop); !OID_IS_NULL(oid); oid = pmemobj_next(oid))
		pmemobj_persist(pop, pmemobj_direct(oid), pmemobj_alloc_usable_size(oid));
	pmemobj_persist(pop, map_root(pop), MAP.root_size);
}

static int run(const char *path)
{
	struct ops ops = {0};
	if (read_ops(stdin, &ops) != 0)
		return 2;
	int done = open(done_path(path), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (done < 0) {
		perror(done_path(path));
		return 1;
	}
	PMEMobjpool *pop = open_pool(path);
	if (pop == NULL)
		return 1;
	for (size_t i = 0; i < ops.n; i++) {
		struct op *op = &ops.v[i];
		int ret = op->kind == 'i' ? MAP.insert(pop, op->key, op->value)
					  : MAP.remove(pop, op->key) < 0;
		if (ret != 0) {
			fprintf(stderr, "%s: operation %zu failed\n", MAP.name, i + 1);
			return 1;
		}
		/* The page cache keeps this through the program's SIGKILL. */
		char text[32];
		int len = snprintf(text, sizeof(text), "%20zu\n", i + 1);
		if (pwrite(done, text, (size_t)len, 0) != len) {
			perror(done_path(path));
			return 1;
		}
	}
	clean_shutdown(pop);
	pmemobj_close(pop);
	close(done);
	free(ops.v);
	return 0;
}

static size_t read_done(const char *pool)
{
	FILE *f = fopen(done_path(pool), "r");
	size_t n = 0;
	if (f == NULL)
		return 0;
	if (fscanf(f, "%zu", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

static int cmp_kv(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* The map after the first k operations, sorted by key. */
static void model(const struct ops *ops, size_t k, struct list *out)
{
	out->n = 0;
	for (size_t i = 0; i < k; i++) {
		const struct op *op = &ops->v[i];
		size_t j = 0;
		while (j < out->n && out->v[j].key != op->key)
			j++;
		if (op->kind == 'r') {
			if (j < out->n)
				out->v[j] = out->v[--out->n];
			continue;
		}
		if (j == out->n) {
			if (out->n == out->cap)
				out->v = grow(out->v, &out->cap, sizeof(*out->v));
			out->n++;
		}
		out->v[j] = (struct kv){op->key, op->value};
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_kv);
}

static int collect(uint64_t key, uint64_t value, void *arg)
{
	struct list *l = arg;
	if (l->n >= MAX_ENTRIES) {
		printf("%s: more than %d entries listed: a cycle\n", MAP.name, MAX_ENTRIES);
		return 1;
	}
	if (l->n == l->cap)
		l->v = grow(l->v, &l->cap, sizeof(*l->v));
	l->v[l->n++] = (struct kv){key, value};
	return 0;
}

static int list_map(PMEMobjpool *pop, struct list *l)
{
	l->n = 0;
	if (MAP.each(pop, collect, l) != 0)
		return -1;
	qsort(l->v, l->n, sizeof(*l->v), cmp_kv);
	for (size_t i = 1; i < l->n; i++) {
		if (l->v[i].key == l->v[i - 1].key) {
			printf("%s: key %" PRIu64 " is listed twice\n", MAP.name, l->v[i].key);
			return -1;
		}
	}
	return 0;
}

static int same(const struct list *a, const struct list *b)
{
	return a->n == b->n && memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0;
}

/* Says how `got` differs from `want` (both sorted). */
static void differ(const struct list *got, const struct list *want, size_t k)
{
	size_t i = 0, j = 0;
	while (i < got->n || j < want->n) {
		if (j == want->n || (i < got->n && got->v[i].key < want->v[j].key)) {
			printf("%s: after %zu operations, key %" PRIu64 " is there but should not be\n",
			       MAP.name, k, got->v[i].key);
			return;
		}
		if (i == got->n || want->v[j].key < got->v[i].key) {
			printf("%s: after %zu operations, key %" PRIu64 " is missing\n", MAP.name, k,
			       want->v[j].key);
			return;
		}
		if (got->v[i].value != want->v[j].value) {
			printf("%s: after %zu operations, key %" PRIu64 " holds %" PRIu64
			       ", want %" PRIu64 "\n",
			       MAP.name, k, got->v[i].key, got->v[i].value, want->v[j].value);
			return;
		}
		i++, j++;
	}
}

/* Every key the workload names, and every key listed, looks up as listed. */
static int lookups_agree(PMEMobjpool *pop, const struct ops *ops, const struct list *l)
{
	for (size_t i = 0; i < ops->n + l->n; i++) {
		uint64_t key = i < ops->n ? ops->v[i].key : l->v[i - ops->n].key;
		struct kv probe = {key, 0};
		struct kv *want = bsearch(&probe, l->v, l->n, sizeof(*l->v), cmp_kv);
		uint64_t value = 0;
		int found = MAP.lookup(pop, key, &value);
		if (found < 0)
			return -1;
		if (found != (want != NULL) || (want && value != want->value)) {
			printf("%s: lookup of key %" PRIu64 " gives %s, the listing %s\n", MAP.name,
			       key, found ? "a value" : "nothing", want ? "a value" : "nothing");
			return -1;
		}
	}
	return 0;
}

/* The map still works: insert 16 new keys (splits, a rebuild), find them, remove them. */
static int usable(PMEMobjpool *pop, const struct list *l)
{
	uint64_t base = l->n ? l->v[l->n - 1].key + 1 : 1;
	for (uint64_t k = base; k < base + 16; k++) {
		if (MAP.insert(pop, k, k * 3) != 0) {
			printf("%s: after recovery, inserting key %" PRIu64 " fails\n", MAP.name, k);
			return -1;
		}
	}
	for (uint64_t k = base; k < base + 16; k++) {
		uint64_t v = 0;
		if (MAP.lookup(pop, k, &v) != 1 || v != k * 3) {
			printf("%s: after recovery, key %" PRIu64 " was inserted but is not found\n",
			       MAP.name, k);
			return -1;
		}
		if (MAP.can_remove && (MAP.remove(pop, k) != 0 || MAP.lookup(pop, k, &v) != 0)) {
			printf("%s: after recovery, key %" PRIu64 " cannot be removed\n", MAP.name, k);
			return -1;
		}
	}
	return MAP.verify(pop);
}

static int check(const char *path, const char *workload)
{
	struct ops ops = {0};
	FILE *f = fopen(workload, "r");
	if (f == NULL) {
		printf("%s: %s: %s\n", MAP.name, workload, strerror(errno));
		return 2;
	}
	if (read_ops(f, &ops) != 0)
		return 2;
	fclose(f);
	size_t done = read_done(path);
	PMEMobjpool *pop = open_pool(path);
	if (pop == NULL)
		return 1;
	struct list got = {0}, want = {0};
	int bad = list_map(pop, &got) != 0;
	if (!bad) {
		model(&ops, done, &want);
		if (!same(&got, &want)) {
			struct list next = {0};
			if (done < ops.n)
				model(&ops, done + 1, &next);
			if (done == ops.n || !same(&got, &next)) {
				differ(&got, &want, done);
				bad = 1;
			}
			free(next.v);
		}
	}
	bad = bad || lookups_agree(pop, &ops, &got) != 0 || MAP.verify(pop) != 0 ||
	      usable(pop, &got) != 0;
	pmemobj_close(pop);
	free(got.v);
	free(want.v);
	free(ops.v);
	return bad;
}

/*
 * The check of every state pmem-sweep sends, in one process: no exec, no
 * dynamic linking, and libpmemobj's runtime memory reused from one open to
 * the next. A crash in recovery ends the server; pmem-sweep counts that as
 * the state's failure and starts another.
 */
static int serve(const char *path, const char *workload)
{
	char dir[4096];
	while (fgets(dir, sizeof(dir), stdin) != NULL) {
		dir[strcspn(dir, "\n")] = '\0';
		int bad = 1;
		if (chdir(dir) != 0)
			printf("%s: %s: %s\n", MAP.name, dir, strerror(errno));
		else
			bad = check(path, workload);
		printf("pmem-sweep: %s\n", bad ? "fail" : "pass");
		fflush(stdout);
	}
	return 0;
}

/* N operations on about 2N/3 keys: inserts, updates and (if the map has them) removes. */
static int gen(long n, unsigned long long seed)
{
	uint64_t x = seed;
	uint64_t keys = (uint64_t)n * 2 / 3 + 1;
	for (long i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t r = x >> 33;
		uint64_t key = 1 + r % keys;
		if (MAP.can_remove && (r >> 20) % 4 == 0)
			printf("r %" PRIu64 "\n", key);
		else
			printf("i %" PRIu64 " %" PRIu64 "\n", key, 1 + (r >> 8) % 1000000);
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: %s create POOL | %s [-b] run POOL < WORKLOAD | %s check POOL WORKLOAD |"
		" %s serve POOL WORKLOAD | %s gen N SEED\n",
		MAP.name, MAP.name, MAP.name, MAP.name, MAP.name);
	return 2;
}

int main(int argc, char **argv)
{
	planted = argc > 1 && strcmp(argv[1], "-b") == 0;
	argv += planted;
	argc -= planted;
	if (argc == 3 && strcmp(argv[1], "create") == 0) {
		PMEMobjpool *pop = pmemobj_create(argv[2], MAP.name, PMEMOBJ_MIN_POOL, 0644);
		if (pop == NULL) {
			fprintf(stderr, "%s: pmemobj_create %s: %s\n", MAP.name, argv[2],
				pmemobj_errormsg());
			return 1;
		}
		map_root(pop);
		pmemobj_close(pop);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "run") == 0)
		return run(argv[2]);
	if (argc == 4 && strcmp(argv[1], "check") == 0)
		return check(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "gen") == 0)
		return gen(atol(argv[2]), strtoull(argv[3], NULL, 0));
	return usage();
}
