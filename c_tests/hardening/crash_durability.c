/*
 * crash_durability.c -- acknowledged records survive SIGKILL; torn ones are
 * rejected.
 *
 * A writer (this program re-executed as `crash_durability writer FILE`)
 * maps FILE with pmem_map_file and appends records: header (magic, sequence
 * number, length, CRC-32 of all three and the payload) first, payload next,
 * then persists the record and only then writes its sequence number to
 * stdout, a pipe to the parent. The parent kills it with SIGKILL after a
 * random delay (fixed seed, printed; CRASH_SEED overrides), drains the
 * pipe, and verifies the file through pmem_map_file: recovery reads records
 * in order and stops at the first whose magic, sequence or CRC is wrong.
 * Every acknowledged record must be recovered intact, and recovery may
 * accept at most the one record that was persisted but not yet
 * acknowledged; a half-written record must fail its CRC: each accepted
 * record is also compared with the bytes the writer wrote (a function of
 * its sequence number), so a torn record that passed would show.
 *
 * Two modes, ROUNDS rounds each (fewer under a sanitizer): flush (PMEM_PERSIST_MODE=flush,
 * pmem_persist) and msync (PMEM_PERSIST_MODE=msync with pmem_persist when
 * the library reports that mode through pmem_get_attr; otherwise the writer
 * calls pmem_msync itself and the parent says so).
 *
 * SIGKILL ends the process, not the machine: the page cache survives, so
 * this proves the write/persist/acknowledge protocol and the recovery rules
 * through the library, not power-failure durability of the medium.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pmem_attr.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/check.h"

#define ROUNDS 30
/* valgrind starts each writer in about a second. */
#define ROUNDS_SANITIZED 6
#define FILE_LEN (8UL << 20)
#define MAGIC 0x52454344u /* "RECD" */
#define MAX_PAYLOAD 600u
#define MAX_DELAY_US 20000u

struct header {
	uint32_t magic;
	uint32_t seq;
	uint32_t len;
	uint32_t crc;
};

/* What the writer tells the parent first: how it persists. */
enum persist_how { VIA_PERSIST_IN_MODE = 1, VIA_PMEM_MSYNC = 2 };

static uint32_t
crc32_update(uint32_t crc, const void *data, size_t n)
{
	const unsigned char *p = data;
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static uint32_t
record_crc(const struct header *h, const unsigned char *payload)
{
	struct header tmp = *h;
	tmp.crc = 0;
	return crc32_update(crc32_update(0, &tmp, sizeof(tmp)), payload, h->len);
}

static uint32_t
payload_len(uint32_t seq)
{
	return 1 + (seq * 2654435761u >> 7) % MAX_PAYLOAD;
}

static unsigned char
payload_byte(uint32_t seq, uint32_t i)
{
	return (unsigned char)(seq * 131 + i * 7 + (i >> 3));
}

static size_t
record_size(uint32_t len)
{
	return (sizeof(struct header) + len + 7) & ~(size_t)7;
}

/* The persistence mode the library reports for a range, or NULL. */
static const char *
library_mode(const void *addr, size_t len)
{
	typedef int (*get_attr_fn)(const void *, size_t, struct pmem_attr *);
	get_attr_fn get_attr = (get_attr_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "pmem_get_attr");
	static struct pmem_attr attr;
	if (!get_attr || get_attr(addr, len, &attr) != 0)
		return NULL;
	return attr.persist_mode;
}

static void
send_all(const void *buf, size_t n)
{
	if (write(STDOUT_FILENO, buf, n) != (ssize_t)n)
		_exit(3);
}

static int
writer(const char *path)
{
	size_t len;
	unsigned char *base = pmem_map_file(path, 0, 0, 0, &len, NULL);
	if (!base) {
		fprintf(stderr, "writer: map %s: %s\n", path, pmem_errormsg());
		return 2;
	}
	const char *want = getenv("PMEM_PERSIST_MODE");
	const char *have = library_mode(base, len);
	uint32_t how = (want && strcmp(want, "msync") == 0 && !(have && strcmp(have, "msync") == 0))
		? VIA_PMEM_MSYNC
		: VIA_PERSIST_IN_MODE;
	send_all(&how, sizeof(how));

	size_t off = 0;
	for (uint32_t seq = 0;; seq++) {
		struct header h = { MAGIC, seq, payload_len(seq), 0 };
		if (off + record_size(h.len) > len)
			break;
		unsigned char *payload = base + off + sizeof(h);
		unsigned char buf[MAX_PAYLOAD];
		for (uint32_t i = 0; i < h.len; i++)
			buf[i] = payload_byte(seq, i);
		h.crc = record_crc(&h, buf);
		memcpy(base + off, &h, sizeof(h));
		memcpy(payload, buf, h.len);
		if (how == VIA_PMEM_MSYNC) {
			if (pmem_msync(base + off, record_size(h.len)) != 0)
				return 2;
		} else {
			pmem_persist(base + off, record_size(h.len));
		}
		send_all(&seq, sizeof(seq));
		off += record_size(h.len);
	}
	return 0;
}

struct recovery {
	uint32_t records; /* valid records, in order from the start */
	int torn;	  /* the next slot held a header for the next record with a bad CRC */
};

static struct recovery
recover(const char *path)
{
	struct recovery r = { 0, 0 };
	size_t len;
	unsigned char *base = pmem_map_file(path, 0, 0, 0, &len, NULL);
	if (!CHECK(base != NULL, "verifier: map %s: %s", path, pmem_errormsg()))
		return r;
	size_t off = 0;
	for (;; r.records++) {
		struct header h;
		if (off + sizeof(h) > len)
			break;
		memcpy(&h, base + off, sizeof(h));
		if (h.magic != MAGIC || h.seq != r.records || h.len == 0 || h.len > MAX_PAYLOAD ||
		    off + record_size(h.len) > len)
			break;
		const unsigned char *payload = base + off + sizeof(h);
		if (record_crc(&h, payload) != h.crc) {
			r.torn = 1;
			break;
		}
		/* An oracle independent of the CRC: what the writer wrote. */
		uint32_t bad = h.len != payload_len(h.seq);
		for (uint32_t i = 0; !bad && i < h.len; i++)
			bad = payload[i] != payload_byte(h.seq, i);
		CHECK(!bad, "record %u passed its CRC but is not what was written", h.seq);
		off += record_size(h.len);
	}
	CHECK(pmem_unmap(base, len) == 0, "verifier: unmap: %s", pmem_errormsg());
	return r;
}

static uint64_t rng;
/* Per mode: rounds that recovered one unacknowledged record, or saw a torn one. */
static int unacked_recovered, torn_rejected;

static uint32_t
next_random(void)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng >> 33);
}

/* Reads acknowledgements from `fd` until `deadline` (0: none), EOF, or
 * `enough` of them. */
static void
read_acks(int fd, uint64_t deadline, uint32_t enough, uint32_t *acked, int *in_order,
	uint32_t *how)
{
	while (*acked < enough) {
		int wait_ms = -1;
		if (deadline) {
			uint64_t now = t_now_ns();
			if (now >= deadline)
				return;
			wait_ms = (int)((deadline - now + 999999) / 1000000);
		}
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, wait_ms) <= 0)
			continue;
		uint32_t v;
		ssize_t n = read(fd, &v, sizeof(v));
		if (n <= 0)
			return;
		if (n != sizeof(v)) /* writes of 4 bytes to a pipe are atomic */
			continue;
		if (*how == 0)
			*how = v;
		else if (v == (*acked)++ && *in_order)
			continue;
		else
			*in_order = 0;
	}
}

static void
run_round(const char *self, const char *path, const char *mode, int round, uint32_t *how)
{
	unlink(path);
	t_make_file(path, FILE_LEN);
	int pipefd[2];
	if (pipe(pipefd) != 0)
		exit(2);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		setenv("PMEM_PERSIST_MODE", mode, 1);
		execl(self, self, "writer", path, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	uint32_t acked = 0, how_now = 0;
	int in_order = 1;
	/* Every fifth round dies as early as it may; the rest after the first ack. */
	uint32_t delay_us = next_random() % MAX_DELAY_US;
	if (round % 5 != 0) {
		read_acks(pipefd[0], t_now_ns() + 10000000000ULL, 1, &acked, &in_order, &how_now);
		delay_us += 1;
	}
	read_acks(pipefd[0], t_now_ns() + (uint64_t)delay_us * 1000, UINT32_MAX, &acked,
		&in_order, &how_now);
	kill(pid, SIGKILL);
	read_acks(pipefd[0], 0, UINT32_MAX, &acked, &in_order, &how_now);
	close(pipefd[0]);
	int status;
	waitpid(pid, &status, 0);
	if (how_now)
		*how = how_now;

	struct recovery r = recover(path);
	CHECK(in_order, "%s round %d: acknowledgements out of order", mode, round);
	CHECK(r.records >= acked, "%s round %d: %u records acknowledged, %u recovered", mode,
		round, acked, r.records);
	CHECK(r.records <= acked + 1, "%s round %d: %u recovered past %u acknowledged", mode,
		round, r.records, acked);
	unacked_recovered += r.records == acked + 1;
	torn_rejected += r.torn;
	printf("  %s round %2d: killed after %5u us, %6u acknowledged, %6u recovered%s\n", mode,
		round, delay_us, acked, r.records, r.torn ? ", torn record rejected" : "");
}

int
main(int argc, char **argv)
{
	/* The writer's stdout is the acknowledgement pipe: no kit output there. */
	if (argc == 3 && strcmp(argv[1], "writer") == 0)
		return writer(argv[2]);
	t_begin("crash_durability");

	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = '\0';
	const char *seed_env = getenv("CRASH_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 20261127;
	rng = seed;
	const int rounds = t_sanitized() ? ROUNDS_SANITIZED : ROUNDS;
	printf("crash_durability: seed %llu (CRASH_SEED=%llu reproduces), %d rounds per mode\n",
		(unsigned long long)seed, (unsigned long long)seed, rounds);

	const char *dir = t_tmpdir();
	char path[4096];
	snprintf(path, sizeof(path), "%s/log", dir);
	const char *modes[] = { "flush", "msync" };
	for (int m = 0; m < 2; m++) {
		uint32_t how = 0;
		unacked_recovered = torn_rejected = 0;
		for (int round = 0; round < rounds; round++)
			run_round(self, path, modes[m], round, &how);
		printf("crash_durability: %s: %d rounds; "
		       "%d recovered one persisted but unacknowledged record, "
		       "%d stopped at a torn record\n",
			modes[m], rounds, unacked_recovered, torn_rejected);
		if (how == VIA_PMEM_MSYNC)
			printf("crash_durability: the library reports no msync mode "
			       "(pmem_get_attr); the msync rounds called pmem_msync\n");
	}
	return t_end();
}
