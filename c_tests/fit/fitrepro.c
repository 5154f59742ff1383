/*
 * fitrepro.c -- issue 17's repros 1-7 as fixed programs for fitdiff
 * (`fitdiff repro N DIR`): each runs in flush mode and in fit mode (with
 * the missing-flush report on), both must exit 0 and leave the same files;
 * repro 3 is also crashed, and its closed pool must hold none of the
 * anonymous memory placed over it. Every one failed at 8b9d20b. Repro 8, a
 * private mapping placed where an adopted one was plainly unmapped, passes
 * only with libpmem-fit-preload.so (FITDIFF_PRELOAD names it). Repros 9 and
 * 10 (with the preload too) replace a pool whose spans fit mode marked
 * proved, with an mmap64 (what mmap is named under _FILE_OFFSET_BITS=64)
 * and through a fork after MADV_DONTFORK, and flush the new memory: none of
 * it may reach the file.
 */
#define _GNU_SOURCE
#include <libpmem.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP 77
#define FSZ (16 << 10)

static const char *dir_of;

static const char *file(int f)
{
	static __thread char p[4][4200]; /* repro 1 runs threads */
	snprintf(p[f], sizeof(p[f]), "%s/f%d", dir_of, f);
	return p[f];
}

static void fail(const char *what)
{
	fprintf(stderr, "fitrepro: %s (%s)\n", what, strerror(errno));
	exit(1);
}

static void make(int f, int byte)
{
	char buf[FSZ];
	memset(buf, byte, sizeof(buf));
	int fd = open(file(f), O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pwrite(fd, buf, FSZ, 0) != FSZ)
		fail("making a file");
	close(fd);
}

static char *map(int f)
{
	size_t len;
	char *p = pmem_map_file(file(f), 0, 0, 0, &len, NULL);
	if (!p || len != FSZ)
		fail("pmem_map_file");
	return p;
}

/* 1: map, fill, persist, unmap in four threads; each reads its file back. */
static void *round_trips(void *arg)
{
	int f = (int)(intptr_t)arg;
	char want[FSZ], got[FSZ];
	for (int r = 0; r < 2500; r++) {
		char *p = map(f);
		memset(want, 1 + (r + f) % 31, FSZ);
		memcpy(p, want, FSZ);
		pmem_persist(p, FSZ);
		pmem_unmap(p, FSZ);
		int fd = open(file(f), O_RDONLY);
		if (fd < 0 || pread(fd, got, FSZ, 0) != FSZ || memcmp(got, want, FSZ))
			fail("repro 1: what was persisted is not in the file");
		close(fd);
	}
	return NULL;
}

static int counter(int fd)
{
	int v;
	if (pread(fd, &v, sizeof(v), 0) != sizeof(v))
		fail("pread");
	return v;
}

int repro(int n);

int repro(int n)
{
	dir_of = getenv("FITREPRO_DIR");
	make(0, 1);
	make(1, 2);
	char *p, *q;
	int fd;
	switch (n) {
	case 1: {
		pthread_t t[4];
		make(2, 3);
		make(3, 4);
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, round_trips, (void *)(intptr_t)i);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		return 0;
	}
	case 2: /* stale shadow after a plain munmap */
		p = map(0);
		*(int *)p = 1;
		pmem_persist(p, sizeof(int));
		munmap(p, FSZ);
		fd = open(file(0), O_RDWR);
		int v = counter(fd) + 100;
		if (pwrite(fd, &v, sizeof(v), 0) != sizeof(v))
			fail("pwrite");
		p = map(0);
		(*(int *)p)++;
		pmem_persist(p, sizeof(int));
		pmem_unmap(p, FSZ);
		if (counter(fd) != 102) {
			fprintf(stderr, "fitrepro: repro 2: counter %d, not 102\n", counter(fd));
			return 1;
		}
		close(fd);
		return 0;
	case 3: /* a closed pool under anonymous memory, then a crash */
		p = map(0);
		memset(p, 3, 256);
		pmem_persist(p, 256); /* point 1 */
		munmap(p, FSZ);
		q = mmap(p, FSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (q != p)
			fail("mmap anonymous");
		memset(q, 'Z', FSZ);
		p = map(1);
		memset(p, 4, 64);
		pmem_persist(p, 64); /* point 2 */
		return 0;
	case 4: /* the pool's file mapped private as scratch */
		p = map(0);
		fd = open(file(0), O_RDWR);
		q = mmap(NULL, FSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		if (q == MAP_FAILED)
			fail("mmap private");
		memset(p, 5, 64);
		pmem_persist(p, 64);
		pmem_memcpy_persist(q + 128, "scratch, never for the file", 27);
		return 0;
	case 5: /* a read-only mapping stays read-only */
		fd = open(file(0), O_RDONLY);
		p = mmap(NULL, FSZ, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			fail("mmap read-only");
		pmem_persist(p, 64);
		if (mprotect(p, FSZ, PROT_READ | PROT_WRITE) == 0 || errno != EACCES) {
			fprintf(stderr, "fitrepro: repro 5: the read-only mapping became writable\n");
			return 1;
		}
		return 0;
	case 6: { /* hugetlbfs: left as the program made it */
		const char *hdir = getenv("FITREPRO_HUGETLBFS");
		char path[4200];
		if (!hdir || !*hdir)
			return SKIP;
		snprintf(path, sizeof(path), "%s/fitrepro.%d", hdir, getpid());
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return SKIP;
		unlink(path);
		size_t huge = 2 << 20;
		p = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return SKIP;
		for (int i = 0; i < 3; i++) {
			memset(p, 6 + i, 64);
			pmem_persist(p, 64);
		}
		return 0;
	}
	case 8: /* a private mapping where an adopted one was plainly unmapped */
		fd = open(file(0), O_RDWR);
		p = mmap(NULL, FSZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			fail("mmap shared");
		memset(p, 8, 64);
		pmem_persist(p, 64);
		munmap(p, FSZ);
		q = mmap(p, FSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
		if (q != p)
			return SKIP;
		memset(q, 0xee, 64);
		pmem_persist(q, 64);
		return 0;
	case 9: /* a proved pool replaced by a MAP_FIXED mmap64 */
		p = map(0);
		memset(p, 9, 64);
		pmem_persist(p, 64);
		pmem_persist(p, 64);
		q = mmap64(p, FSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			-1, 0);
		if (q != p)
			fail("mmap64");
		memset(q, 'Z', FSZ);
		pmem_persist(q, FSZ);
		return 0;
	case 10: { /* a proved pool left out of a fork, other memory there in the child */
		p = map(0);
		memset(p, 10, 64);
		pmem_persist(p, 64);
		if (madvise(p, FSZ, MADV_DONTFORK))
			fail("madvise");
		pmem_persist(p, 64);
		pid_t pid = fork();
		if (pid == 0) {
			q = mmap(p, FSZ, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (q != p)
				_exit(SKIP);
			memset(q, 'Z', FSZ);
			pmem_persist(q, FSZ);
			_exit(0);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			fail("fork");
		return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	case 7: /* a PROT_NONE guard page in a pool, report at exit */
		p = map(0);
		if (mprotect(p + 4096, 4096, PROT_NONE))
			fail("mprotect");
		memset(p, 7, 64);
		pmem_persist(p, 64);
		return 0;
	}
	return 2;
}

static int spawn(int n, const char *d, const char *const env[])
{
	pid_t pid = fork();
	if (pid == 0) {
		mkdir(d, 0700);
		setenv("FITREPRO_DIR", d, 1);
		for (; env && *env; env += 2)
			setenv(env[0], env[1], 1);
		char s[16];
		snprintf(s, sizeof(s), "%d", n);
		execl("/proc/self/exe", "fitdiff", "repro-run", s, d, (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return st;
}

static int same(const char *a, const char *b, int f)
{
	char x[FSZ], y[FSZ], pa[4300], pb[4300];
	snprintf(pa, sizeof(pa), "%s/f%d", a, f);
	snprintf(pb, sizeof(pb), "%s/f%d", b, f);
	int fa = open(pa, O_RDONLY), fb = open(pb, O_RDONLY);
	int ok = fa >= 0 && fb >= 0 && pread(fa, x, FSZ, 0) == FSZ && pread(fb, y, FSZ, 0) == FSZ &&
		!memcmp(x, y, FSZ);
	close(fa);
	close(fb);
	return ok;
}

int check_repro(int n, const char *d);

int check_repro(int n, const char *d)
{
	char a[4200], b[4200], report[4300];
	mkdir(d, 0700);
	snprintf(a, sizeof(a), "%s/flush", d);
	snprintf(b, sizeof(b), "%s/fit", d);
	snprintf(report, sizeof(report), "%s/report", d);
	unlink(report);
	const char *flush[] = { "PMEM_PERSIST_MODE", "flush", NULL };
	const char *preload = getenv("FITDIFF_PRELOAD");
	const char *fit[] = { "PMEM_PERSIST_MODE", "fit", "PMEM_FIT_REPORT", report,
		preload ? "LD_PRELOAD" : NULL, preload, NULL };
	if (n >= 8 && !preload) {
		printf("fitdiff: repro %d needs FITDIFF_PRELOAD=.../libpmem-fit-preload.so\n", n);
		return 1;
	}
	int x = spawn(n, a, flush), y = spawn(n, b, fit);
	if (x == SKIP << 8) {
		printf("fitdiff: repro %d SKIPPED: %s\n", n,
			n == 6 ? "no hugetlbfs mount with a free huge page (FITREPRO_HUGETLBFS names one)"
			       : "the kernel placed the mapping elsewhere");
		return 0;
	}
	if (x || y) {
		printf("FAIL repro %d: exit status flush %#x, fit %#x\n", n, x, y);
		return 1;
	}
	for (int f = 0; f < 2; f++)
		if (!same(a, b, f)) {
			printf("FAIL repro %d: file f%d differs between flush and fit mode\n", n, f);
			return 1;
		}
	if (n == 3) {
		const char *crash[] = { "PMEM_PERSIST_MODE", "fit", "PMEM_FIT_CRASH_AT", "2",
			"PMEM_FIT_CRASH_STATE", "all", NULL };
		spawn(n, b, crash);
		char buf[FSZ], p[4300];
		snprintf(p, sizeof(p), "%s/f0", b);
		int fd = open(p, O_RDONLY);
		if (fd < 0 || pread(fd, buf, FSZ, 0) != FSZ || memchr(buf, 'Z', FSZ)) {
			printf("FAIL repro 3: the crash wrote another mapping's bytes into a closed "
			       "pool\n");
			return 1;
		}
		close(fd);
	}
	printf("fitdiff: repro %d passed\n", n);
	return 0;
}
