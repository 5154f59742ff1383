/*
 * fitdiff -- the differential soundness test of fit mode (issue 17).
 *
 * A seed makes a random program over three small files: pmem_map_file
 * mappings, the program's own shared mappings (which fit mode adopts),
 * private and read-only mappings, anonymous memory placed over a pool
 * unmapped with plain munmap, stores that are always persisted (five ways),
 * pmem_unmap (whole or partial), plain munmap, mremap, madvise, PROT_NONE
 * guard pages, fork, threads mapping and unmapping concurrently, and
 * pwrites by "another tool". Run in flush mode and in fit mode (with the
 * missing-flush report on), the files must end identical byte for byte and
 * both runs must exit 0. Crashed in fit mode, every file byte must be a
 * value stored there through the file itself (its pmem or shared mappings,
 * pwrite, or its first contents): the values such stores use, 1..31, never
 * occur in other memory, whose stores use 0x80..0xff.
 *
 *   fitdiff run SEED DIR                     one program (mode from the environment)
 *   fitdiff check FIRST COUNT DIR [CRASHES]  COUNT seeds from FIRST, and crashed
 *                                            runs of CRASHES of them
 *   fitdiff repro N DIR                      issue 17's repro N (1..7), both modes
 *
 * With FITDIFF_PRELOAD=.../libpmem-fit-preload.so the fit runs preload it,
 * and the programs also map a file private where they unmapped their own
 * shared mapping of it (repro 8 is that case alone) and move their own shared
 * mappings with mremap.
 *
 * A failure prints the seed; `fitdiff check SEED 1 DIR 1` replays it.
 */
#define _GNU_SOURCE
#include <libpmem.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NF 3		/* files */
#define PAGES 4		/* pages per file */
#define MAXM 12		/* live mappings */
#define OPS 28		/* operations per program */

enum kind { LIB, OWN, PRIV, ANON };

struct map {
	char *addr;
	size_t len, off;	/* file offset of addr */
	int file, kind;
	int guard;		/* page index made PROT_NONE, or -1 */
};

static size_t pg, fsz;
static const char *dir;
static struct map maps[MAXM];
static int nm, lib_n[NF], own_n[NF];
/*
 * Files the program mapped shared itself: never mapped private afterwards.
 * After a plain munmap of an adopted mapping, a private mapping of the same
 * file placed at the same address and offset looks to the kernel exactly
 * like the adopted one (see Limits in docs/modes.md).
 */
static int had_own[NF];
static uint32_t *mask[NF];	/* per file byte: values ever stored there */

static void die(const char *what)
{
	fprintf(stderr, "fitdiff: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static const char *path_of(const char *d, int f)
{
	static __thread char p[NF][4200]; /* threads map files too */
	snprintf(p[f], sizeof(p[f]), "%s/f%d", d, f);
	return p[f];
}

static int open_file(int f, int flags)
{
	int fd = open(path_of(dir, f), flags | O_CLOEXEC);
	if (fd < 0)
		die("open");
	return fd;
}

/* First contents: values 1..31, which only the file's own stores use. */
static void make_files(uint64_t *rng)
{
	for (int f = 0; f < NF; f++) {
		unsigned char *buf = malloc(fsz);
		mask[f] = calloc(fsz, sizeof(uint32_t));
		for (size_t i = 0; i < fsz; i++) {
			buf[i] = 1 + next(rng) % 31;
			mask[f][i] = 1u << buf[i];
		}
		int fd = open(path_of(dir, f), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || pwrite(fd, buf, fsz, 0) != (ssize_t)fsz)
			die("making a file");
		close(fd);
		free(buf);
	}
}

/*
 * Stores into one page (not the guard) of [lo, hi) of a mapping at `base`
 * (file offset `off` of file `f`, -1 for memory outside files), then
 * persists: values 1..31 for a file's own mappings, 0x80.. elsewhere.
 * `dry`: draws the same numbers and books the stores, touching nothing.
 */
static void store(char *base, size_t off, int f, int foreign, size_t lo, size_t hi, int guard,
	uint64_t *rng, int dry)
{
	size_t pages = (hi - lo) / pg;
	size_t p = lo / pg + next(rng) % pages;
	if ((int)p == guard)
		p = (p + 1 - lo / pg) % pages + lo / pg;
	if ((int)p == guard)
		return;
	size_t at = p * pg + next(rng) % pg;
	size_t n = 1 + next(rng) % 300;
	if (n > (p + 1) * pg - at)
		n = (p + 1) * pg - at;
	unsigned char val[300];
	for (size_t i = 0; i < n; i++)
		val[i] = foreign ? 0x80 | next(rng) : 1 + next(rng) % 31;
	unsigned how = next(rng) % 5;
	if (getenv("FITDIFF_TRACE"))
		fprintf(stderr, "  store f%d at %zu, %zu bytes, way %u%s\n", f, off + at, n, how,
			dry ? " (booked)" : "");
	if (!foreign && f >= 0)
		for (size_t i = 0; i < n; i++)
			mask[f][off + at + i] |= 1u << (how == 4 ? val[0] : val[i]);
	if (dry)
		return;
	char *d = base + at;
	if (foreign)
		how = 0;
	switch (how) {
	case 0:
		memcpy(d, val, n);
		pmem_persist(d, n);
		break;
	case 1:
		pmem_memcpy_persist(d, val, n);
		break;
	case 2:
		memcpy(d, val, n);
		pmem_flush(d, n);
		pmem_drain();
		break;
	case 3:
		memcpy(d, val, n);
		if (pmem_msync(d, n))
			die("pmem_msync");
		break;
	default:
		pmem_memset_persist(d, val[0], n);
	}
}

static void store_in(struct map *m, uint64_t *rng, int dry)
{
	int foreign = m->kind == PRIV || m->kind == ANON;
	store(m->addr, m->off, foreign ? -1 : m->file, foreign, 0, m->len, m->guard, rng, dry);
}

static void forget(int i)
{
	if (maps[i].kind == LIB)
		lib_n[maps[i].file]--;
	if (maps[i].kind == OWN)
		own_n[maps[i].file]--;
	maps[i] = maps[--nm];
}

/* A live mapping of one of `kinds` (a bit set), or -1. */
static int pick(uint64_t *rng, unsigned kinds)
{
	int c[MAXM], n = 0;
	for (int i = 0; i < nm; i++)
		if (kinds & (1u << maps[i].kind))
			c[n++] = i;
	return n ? c[next(rng) % n] : -1;
}

static void add(char *addr, size_t len, int f, int kind)
{
	maps[nm++] = (struct map){ addr, len, 0, f, kind, -1 };
	if (kind == LIB)
		lib_n[f]++;
	if (kind == OWN)
		own_n[f]++;
}

struct worker {
	int file, half;
	uint64_t rng;
};

/* A thread mapping, storing into its half of a file, and unmapping, thrice. */
static void *work(void *arg)
{
	struct worker *w = arg;
	for (int r = 0; r < 3; r++) {
		size_t len;
		char *p = pmem_map_file(path_of(dir, w->file), 0, 0, 0, &len, NULL);
		if (!p)
			die("pmem_map_file in a thread");
		store(p, 0, w->file, 0, w->half * fsz / 2, (w->half + 1) * fsz / 2, -1, &w->rng, 0);
		if (pmem_unmap(p, len))
			die("pmem_unmap in a thread");
	}
	return NULL;
}

static void threads(uint64_t *rng)
{
	int f[2], n = 0;
	for (int i = 0; i < NF && n < 2; i++)
		if (!own_n[i])
			f[n++] = i;
	if (n == 0)
		return;
	struct worker w[2] = { { f[0], 0, next(rng) }, { f[n - 1], 1, next(rng) } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, work, &w[i]))
			die("pthread_create");
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

static void fork_stores(uint64_t *rng)
{
	int i = pick(rng, 1u << LIB);
	if (i < 0)
		return;
	uint64_t copy = *rng;
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (int k = 0; k < 3; k++)
			store_in(&maps[i], &copy, 0);
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	/* The child crashed at the planned point: the machine went down. */
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		raise(SIGKILL);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("the forked child failed");
	for (int k = 0; k < 3; k++)
		store_in(&maps[i], rng, 1);
}

/* The whole file `f` mapped by the program itself. */
static char *mmap_file(int f, int open_flags, int prot, int flags)
{
	int fd = open_file(f, open_flags);
	char *p = mmap(NULL, fsz, prot, flags, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		die("mmap of a file");
	return p;
}

/* A free range of `len` bytes for mremap to move to. */
static char *free_range(size_t len)
{
	char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap PROT_NONE");
	return p;
}

static void op(uint64_t *rng)
{
	int f = next(rng) % NF, i;
	unsigned what = next(rng) % 20;
	size_t len;
	char *p;
	if (getenv("FITDIFF_TRACE"))
		fprintf(stderr, "op %u file %d, %d mappings\n", what, f, nm);
	switch (what) {
	case 0: case 1: /* pmem_map_file */
		if (own_n[f] || nm == MAXM)
			break;
		if (!(p = pmem_map_file(path_of(dir, f), 0, 0, 0, &len, NULL)))
			die("pmem_map_file");
		add(p, len, f, LIB);
		break;
	case 2: /* the program's own shared mapping */
		if (lib_n[f] || own_n[f] || nm == MAXM)
			break;
		p = mmap_file(f, O_RDWR, PROT_READ | PROT_WRITE, MAP_SHARED);
		add(p, fsz, f, OWN);
		had_own[f] = 1;
		break;
	case 3: case 4: case 5: case 6: /* stores, persisted */
		if ((i = pick(rng, 1u << LIB | 1u << OWN)) >= 0)
			store_in(&maps[i], rng, 0);
		break;
	case 7: /* stores to other memory, persisted */
		if ((i = pick(rng, 1u << PRIV | 1u << ANON)) >= 0)
			store_in(&maps[i], rng, 0);
		break;
	case 8: /* pmem_unmap, whole or the first page */
		if ((i = pick(rng, 1u << LIB)) < 0)
			break;
		if (maps[i].len > pg && next(rng) % 2) {
			if (pmem_unmap(maps[i].addr, pg))
				die("pmem_unmap of a page");
			maps[i].addr += pg, maps[i].off += pg, maps[i].len -= pg;
			maps[i].guard = maps[i].guard > 0 ? maps[i].guard - 1 : -1;
		} else {
			if (pmem_unmap(maps[i].addr, maps[i].len))
				die("pmem_unmap");
			forget(i);
		}
		break;
	case 9: /* plain munmap of anything */
		if ((i = pick(rng, 0xf)) < 0)
			break;
		if (munmap(maps[i].addr, maps[i].len))
			die("munmap");
		forget(i);
		break;
	case 10: /* mremap a pool elsewhere (an adopted one: with the preload) */
		if ((i = pick(rng, 1u << LIB | (getenv("FITDIFF_PRELOAD") ? 1u << OWN : 0))) < 0 ||
			maps[i].guard >= 0)
			break;
		p = free_range(maps[i].len);
		if (mremap(maps[i].addr, maps[i].len, maps[i].len, MREMAP_MAYMOVE | MREMAP_FIXED,
			    p) != p)
			die("mremap");
		maps[i].addr = p;
		break;
	case 11: /* MADV_DONTNEED on a page */
		if ((i = pick(rng, 1u << LIB | 1u << OWN)) < 0)
			break;
		len = next(rng) % (maps[i].len / pg);
		if ((int)len != maps[i].guard &&
			madvise(maps[i].addr + len * pg, pg, MADV_DONTNEED))
			die("madvise");
		break;
	case 12: /* a PROT_NONE guard page in a pool */
		if ((i = pick(rng, 1u << LIB)) < 0 || maps[i].guard >= 0 || maps[i].len < 2 * pg)
			break;
		maps[i].guard = next(rng) % (maps[i].len / pg);
		if (mprotect(maps[i].addr + maps[i].guard * pg, pg, PROT_NONE))
			die("mprotect");
		break;
	case 13: /* the pool's file mapped private, as scratch */
		if (nm == MAXM || (had_own[f] && !getenv("FITDIFF_PRELOAD")))
			break;
		p = mmap_file(f, O_RDWR, PROT_READ | PROT_WRITE, MAP_PRIVATE);
		add(p, fsz, f, PRIV);
		store_in(&maps[nm - 1], rng, 0);
		break;
	case 14: /* a pool replaced by a private mapping of its file, in place */
	case 15: /* ... or by anonymous memory */
		if ((i = pick(rng, 1u << LIB)) < 0)
			break;
		int fd = what == 14 ? open_file(maps[i].file, O_RDWR) : -1;
		p = mmap(maps[i].addr, maps[i].len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_FIXED | (fd < 0 ? MAP_ANONYMOUS : 0), fd,
			fd < 0 ? 0 : (off_t)maps[i].off);
		if (fd >= 0)
			close(fd);
		if (p != maps[i].addr)
			die("mmap MAP_FIXED");
		lib_n[maps[i].file]--;
		maps[i].kind = what == 14 ? PRIV : ANON;
		maps[i].guard = -1;
		memset(p, 0xda, maps[i].len);
		pmem_persist(p, maps[i].len);
		break;
	case 16: { /* a read-only mapping: flushed, and never made writable */
		p = mmap_file(f, O_RDONLY, PROT_READ, MAP_SHARED);
		pmem_persist(p, 256);
		if (mprotect(p, pg, PROT_READ | PROT_WRITE) == 0 || errno != EACCES) {
			fprintf(stderr, "fitdiff: a read-only file mapping became writable\n");
			exit(3);
		}
		munmap(p, fsz);
		break;
	}
	case 17: /* another tool writes a file nobody maps */
		if (lib_n[f] || own_n[f])
			break;
		{
			unsigned char buf[512];
			size_t n = 1 + next(rng) % sizeof(buf), at = next(rng) % (fsz - n);
			for (size_t k = 0; k < n; k++) {
				buf[k] = 1 + next(rng) % 31;
				mask[f][at + k] |= 1u << buf[k];
			}
			i = open_file(f, O_WRONLY);
			if (pwrite(i, buf, n, at) != (ssize_t)n)
				die("pwrite");
			close(i);
		}
		break;
	case 18:
		fork_stores(rng);
		break;
	default:
		threads(rng);
	}
}

static void write_masks(void)
{
	const char *out = getenv("FITDIFF_MASKS");
	if (!out)
		return;
	FILE *m = fopen(out, "w");
	for (int f = 0; m && f < NF; f++)
		fwrite(mask[f], sizeof(uint32_t), fsz, m);
	if (!m || fclose(m))
		die("writing the masks");
}

static int run(uint64_t seed)
{
	uint64_t rng = seed;
	make_files(&rng);
	for (int k = 0; k < OPS; k++)
		op(&rng);
	write_masks();
	return 0;
}

/* Runs `self run SEED D` (or `repro N D`) with `env` added; its wait status. */
static int spawn(const char *cmd, uint64_t seed, const char *d, const char *const env[])
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (; env && *env; env += 2)
			setenv(env[0], env[1], 1);
		char s[32];
		snprintf(s, sizeof(s), "%llu", (unsigned long long)seed);
		mkdir(d, 0700);
		execl("/proc/self/exe", "fitdiff", cmd, s, d, (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	return st;
}

static unsigned char *slurp(const char *d, int f)
{
	unsigned char *b = calloc(1, fsz + 1);
	int fd = open(path_of(d, f), O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, b, fsz + 1, 0);
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)fsz) {
		free(b);
		return NULL;
	}
	return b;
}

/* Whether the files of runs a and b are identical. */
static int same_files(const char *a, const char *b, const char *what, uint64_t seed)
{
	for (int f = 0; f < NF; f++) {
		unsigned char *x = slurp(a, f), *y = slurp(b, f);
		int ok = x && y && !memcmp(x, y, fsz);
		if (!ok) {
			size_t at = 0;
			while (x && y && x[at] == y[at])
				at++;
			printf("FAIL %s %llu: file f%d differs between flush and fit mode (first at "
			       "byte %zu: 0x%02x in flush mode, 0x%02x in fit mode)\n",
				what, (unsigned long long)seed, f, at, x && y ? x[at] : 0,
				x && y ? y[at] : 0);
		}
		free(x);
		free(y);
		if (!ok)
			return 0;
	}
	return 1;
}

/* Every byte of the crashed run's files is a value stored there. */
static int bytes_allowed(const char *d, const char *masks, uint64_t seed, const char *state)
{
	FILE *m = fopen(masks, "r");
	uint32_t *mk = malloc(fsz * sizeof(uint32_t));
	int ok = m != NULL;
	for (int f = 0; ok && f < NF; f++) {
		unsigned char *b = slurp(d, f);
		ok = b && fread(mk, sizeof(uint32_t), fsz, m) == fsz;
		for (size_t i = 0; ok && i < fsz; i++)
			if (b[i] >= 32 || !(mk[i] >> b[i] & 1)) {
				printf("FAIL crash %llu (%s): f%d byte %zu is 0x%02x, never stored there\n",
					(unsigned long long)seed, state, f, i, b[i]);
				ok = 0;
			}
		free(b);
	}
	if (m)
		fclose(m);
	free(mk);
	return ok;
}

static int check(uint64_t first, uint64_t count, const char *d, uint64_t crashes)
{
	char a[4200], b[4200], report[4300], masks[4300];
	snprintf(a, sizeof(a), "%s/flush", d);
	snprintf(b, sizeof(b), "%s/fit", d);
	snprintf(report, sizeof(report), "%s/report", d);
	snprintf(masks, sizeof(masks), "%s/masks", d);
	mkdir(d, 0700);
	int failed = 0;
	uint64_t every = crashes ? (count + crashes - 1) / crashes : 0;
	for (uint64_t s = first; s < first + count; s++) {
		const char *text = s % 4 == 0 ? "1" : "0";
		const char *preload = getenv("FITDIFF_PRELOAD");
		const char *fit[] = { "PMEM_PERSIST_MODE", "fit", "PMEM_FIT_REPORT", report,
			"PMEM_FIT_MAPS_TEXT", text, preload ? "LD_PRELOAD" : NULL, preload, NULL };
		const char *flush[] = { "PMEM_PERSIST_MODE", "flush", "FITDIFF_MASKS", masks, NULL };
		unlink(report);
		int x = spawn("run", s, a, flush), y = spawn("run", s, b, fit);
		if (x != 0 || y != 0) {
			printf("FAIL %llu: exit status flush %#x, fit %#x\n", (unsigned long long)s, x, y);
			failed++;
			continue;
		}
		if (!same_files(a, b, "seed", s)) {
			failed++;
			continue;
		}
		if (!every || (s - first) % every)
			continue;
		uint64_t r = s * 0x9e3779b97f4a7c15ULL;
		char at[32], state[64];
		snprintf(at, sizeof(at), "%llu", (unsigned long long)(1 + next(&r) % 40));
		if (next(&r) % 2)
			snprintf(state, sizeof(state), "all");
		else
			snprintf(state, sizeof(state), "random:%llu", (unsigned long long)next(&r) % 1000);
		const char *crash[] = { "PMEM_PERSIST_MODE", "fit", "PMEM_FIT_CRASH_AT", at,
			"PMEM_FIT_CRASH_STATE", state, preload ? "LD_PRELOAD" : NULL, preload, NULL };
		y = spawn("run", s, b, crash);
		if (!(WIFSIGNALED(y) && WTERMSIG(y) == SIGKILL) && y != 0) {
			printf("FAIL crash %llu at %s: status %#x\n", (unsigned long long)s, at, y);
			failed++;
		} else if (!bytes_allowed(b, masks, s, state)) {
			failed++;
		}
	}
	printf("fitdiff: %llu programs from seed %llu (%llu crashed), %d failed\n",
		(unsigned long long)count, (unsigned long long)first,
		(unsigned long long)crashes, failed);
	return failed ? 1 : 0;
}

int repro(int n);
int check_repro(int n, const char *d);

int main(int argc, char *argv[])
{
	pg = (size_t)sysconf(_SC_PAGESIZE);
	fsz = PAGES * pg;
	if (argc >= 4 && !strcmp(argv[1], "run")) {
		dir = argv[3];
		return run(strtoull(argv[2], NULL, 0));
	}
	if (argc >= 5 && !strcmp(argv[1], "check"))
		return check(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0), argv[4],
			argc > 5 ? strtoull(argv[5], NULL, 0) : 0);
	if (argc >= 4 && !strcmp(argv[1], "repro-run")) {
		dir = argv[3];
		return repro(atoi(argv[2]));
	}
	if (argc >= 4 && !strcmp(argv[1], "repro"))
		return check_repro(atoi(argv[2]), argv[3]);
	fprintf(stderr, "usage: fitdiff run SEED DIR | check FIRST COUNT DIR [CRASHES] | "
			"repro N DIR\n");
	return 2;
}
