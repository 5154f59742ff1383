/*
 * undo_safety.c -- a failed pmem_map_file must not lose a byte.
 *
 *   undo_safety EXT4_DIR TMPFS_DIR   (undo_safety.sh mounts both)
 *
 * ext4 (about 22 MiB): a 4 MiB pool made with PMEM_FILE_CREATE keeps every
 * allocated block when growing it to 64 MiB fails with ENOSPC, so once the
 * file system is full its first 4 MiB can still be written through a
 * mapping (the old undo punched SEEK_HOLE's "holes", which on ext4 include
 * fallocated-unwritten extents, and the writes then died with SIGBUS).
 * A new file whose sizing fails leaves neither a name nor used space.
 *
 * tmpfs (48 MiB, 16 MiB taken): while one thread's pmem_map_file(44 MiB)
 * runs out of space on a sparse 16 MiB file (tmpfs only finds out after
 * some 30 ms of allocating), another writes a record into the file's
 * hole; the record must survive the failed call's undo, every time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../lib/check.h"

#define MIB (1024UL * 1024)
#define TRIALS 12

static sigjmp_buf on_sigbus;

static void
sigbus(int sig)
{
	(void)sig;
	siglongjmp(on_sigbus, 1);
}

static long long
allocated(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_blocks * 512 : -1;
}

/* Fills the file system holding `dir` with a file `dir`/filler. */
static void
fill(const char *dir)
{
	char filler[4200];
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	static char block[1 << 16];
	memset(block, 0xee, sizeof(block));
	while (fd >= 0 && write(fd, block, sizeof(block)) > 0)
		;
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static void
grow_failure_keeps_blocks(const char *ext4)
{
	char pool[4200], fresh[4200];
	snprintf(pool, sizeof(pool), "%s/pool", ext4);
	snprintf(fresh, sizeof(fresh), "%s/fresh", ext4);
	size_t len;
	void *p = pmem_map_file(pool, 4 * MIB, PMEM_FILE_CREATE, 0600, &len, NULL);
	if (!CHECK(p != NULL, "creating the 4 MiB pool: %s", pmem_errormsg()))
		return;
	pmem_unmap(p, len);
	long long before = allocated(pool);
	CHECK(before >= (long long)(4 * MIB), "the new pool has %lld bytes allocated", before);

	errno = 0;
	p = pmem_map_file(pool, 64 * MIB, PMEM_FILE_CREATE, 0600, NULL, NULL);
	CHECK(p == NULL && errno == ENOSPC, "growing to 64 MiB: %p, errno %d", p, errno);
	long long after = allocated(pool);
	CHECK(after >= before, "the failed grow released blocks: %lld allocated before, %lld after",
		before, after);

	/* A new file: nothing may remain of it, name or blocks. */
	struct statvfs sv0, sv1;
	statvfs(ext4, &sv0);
	errno = 0;
	p = pmem_map_file(fresh, 64 * MIB, PMEM_FILE_CREATE, 0600, NULL, NULL);
	CHECK(p == NULL && errno == ENOSPC, "creating a 64 MiB file: %p, errno %d", p, errno);
	CHECK(access(fresh, F_OK) != 0, "the failed create left %s behind", fresh);
	statvfs(ext4, &sv1);
	CHECK(sv1.f_bfree >= sv0.f_bfree, "the failed create kept %llu blocks",
		(unsigned long long)(sv0.f_bfree - sv1.f_bfree));

	/* Full file system: the pool's first 4 MiB must still take writes. */
	fill(ext4);
	p = pmem_map_file(pool, 0, 0, 0, &len, NULL);
	if (!CHECK(p != NULL, "mapping the pool: %s", pmem_errormsg()))
		return;
	struct sigaction sa = {.sa_handler = sigbus}, old;
	sigaction(SIGBUS, &sa, &old);
	volatile int bus = 0;
	if (sigsetjmp(on_sigbus, 1) == 0)
		pmem_memset_persist(p, 0x5a, 4 * MIB);
	else
		bus = 1;
	sigaction(SIGBUS, &old, NULL);
	CHECK(!bus, "SIGBUS writing the pool's first 4 MiB on a full file system");
	pmem_unmap(p, len);
}

struct race {
	const char *path;
	pthread_barrier_t start;
	long delay_us;
	int write_rc;
};

static const char record[16] = "IMPORTANT-RECORD";

static void *
writer(void *arg)
{
	struct race *r = arg;
	int fd = open(r->path, O_RDWR);
	pthread_barrier_wait(&r->start);
	usleep((useconds_t)r->delay_us);
	r->write_rc = (int)pwrite(fd, record, sizeof(record), 8 * MIB);
	close(fd);
	return NULL;
}

static void
concurrent_writer_survives(const char *tmpfs)
{
	char path[4200], taken[4200];
	snprintf(path, sizeof(path), "%s/sparse", tmpfs);
	snprintf(taken, sizeof(taken), "%s/taken", tmpfs);
	int tfd = open(taken, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(tfd >= 0 && posix_fallocate(tfd, 0, (off_t)(16 * MIB)) == 0, "taking 16 MiB");
	close(tfd);
	int lost = 0, failed_as_expected = 0;
	for (int t = 0; t < TRIALS; t++) {
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		CHECK(fd >= 0 && ftruncate(fd, (off_t)(16 * MIB)) == 0, "sparse file: %s",
			strerror(errno));
		close(fd);
		struct race r = {.path = path, .delay_us = (t % 6) * 2000};
		pthread_barrier_init(&r.start, NULL, 2);
		pthread_t w;
		pthread_create(&w, NULL, writer, &r);
		pthread_barrier_wait(&r.start);
		errno = 0;
		void *p = pmem_map_file(path, 44 * MIB, PMEM_FILE_CREATE, 0600, NULL, NULL);
		int e = errno;
		pthread_join(w, NULL);
		pthread_barrier_destroy(&r.start);
		failed_as_expected += p == NULL && e == ENOSPC;
		CHECK(r.write_rc == (int)sizeof(record), "trial %d: the writer's pwrite: %d", t,
			r.write_rc);
		char back[16] = {0};
		fd = open(path, O_RDONLY);
		CHECK(pread(fd, back, sizeof(back), 8 * MIB) == sizeof(back), "read back");
		close(fd);
		if (memcmp(back, record, sizeof(record)) != 0)
			lost++;
	}
	CHECK(failed_as_expected == TRIALS, "only %d of %d calls failed with ENOSPC",
		failed_as_expected, TRIALS);
	CHECK(lost == 0, "the record written meanwhile was lost in %d of %d trials", lost, TRIALS);
	unlink(path);
	unlink(taken);
}

int
main(int argc, char *argv[])
{
	t_begin("undo_safety");
	if (argc != 3) {
		fprintf(stderr, "usage: %s EXT4_DIR TMPFS_DIR\n", argv[0]);
		return 2;
	}
	pmem_log_set_function(t_quiet_log);
	grow_failure_keeps_blocks(argv[1]);
	concurrent_writer_survives(argv[2]);
	return t_end();
}
