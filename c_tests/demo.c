/*
 * demo.c -- libpmem in one screen: keep an append-only log in a file.
 *
 * Maps a file with pmem_map_file, appends records with pmem_memcpy_persist
 * (each one durable before the log's length says it exists), unmaps,
 * reopens and checks every record, and shows what the library found out
 * about the platform (pmem_get_attr) and how fast the appends were.
 *
 *   cc demo.c $(pkg-config --cflags --libs libpmem) -o demo && ./demo FILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpmem.h>
#include <pmem_attr.h>

#define LOG_SIZE ((size_t)64 << 20)
#define RECORD_SIZE 1024
#define MAGIC 0x474f4c2d4d454d50ull	/* "PMEM-LOG" */

/* One log record: a sequence number, a payload, and a checksum of both. */
struct record {
	uint64_t seq;
	uint64_t checksum;
	char payload[RECORD_SIZE - 16];
};

/* The log: a header, then records; count says how many are valid. */
struct log {
	uint64_t magic;
	uint64_t count;
	char pad[RECORD_SIZE - 16];
	struct record records[];
};

#define CAPACITY ((LOG_SIZE - sizeof(struct log)) / sizeof(struct record))

static uint64_t
checksum(const struct record *r)
{
	uint64_t h = 14695981039346656037ull ^ r->seq;	/* FNV-1a */
	for (size_t i = 0; i < sizeof(r->payload); i++)
		h = (h ^ (unsigned char)r->payload[i]) * 1099511628211ull;
	return h;
}

static void
make_record(struct record *r, uint64_t seq)
{
	r->seq = seq;
	int n = snprintf(r->payload, sizeof(r->payload), "record %" PRIu64 ": ", seq);
	for (size_t i = (size_t)n; i < sizeof(r->payload); i++)
		r->payload[i] = (char)('a' + (seq + i) % 26);
	r->checksum = checksum(r);
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
die(const char *what)
{
	fprintf(stderr, "demo: %s: %s\n", what, pmem_errormsg());
	exit(1);
}

int
main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE (created; must not exist)\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	const char *why = pmem_check_version(PMEM_MAJOR_VERSION, PMEM_MINOR_VERSION);
	if (why)
		return die(why), 1;

	printf("libpmem demo: an append-only log in %s\n\n", path);

	/* 1. Create and map the file. */
	size_t mapped;
	int is_pmem;
	struct log *log = pmem_map_file(path, LOG_SIZE, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600,
		&mapped, &is_pmem);
	if (!log)
		die("pmem_map_file");
	printf("1. pmem_map_file created and mapped a %zu MiB file.\n", mapped >> 20);
	printf("   Is it persistent memory? %s\n\n", is_pmem ?
		"yes: stores become durable by flushing CPU caches, no system call." :
		"no: an ordinary file in the page cache (a DAX file system would say yes).");

	/* 2. What the library detected. */
	struct pmem_attr attr;
	if (pmem_get_attr(log, mapped, &attr) != 0)
		die("pmem_get_attr");
	printf("2. What libpmem detected (pmem_get_attr):\n");
	printf("   persistent memory      %s\n", attr.is_pmem ? "yes" : "no");
	printf("   persistence mode       %s\n", attr.persist_mode);
	printf("   flush instruction      %s (one flush covers %zu bytes)\n",
		attr.flush_instruction, attr.flush_granularity);
	printf("   copy path              %s\n", attr.copy_path);
	printf("   non-temporal threshold copies of %zu bytes or more bypass the cache\n",
		attr.movnt_threshold);
	printf("   caches persistent      %s\n", attr.stores_durable_at_fence ?
		"yes (eADR: a fence is enough)" : "no (stores need flushing)");
	printf("   page size              %zu bytes\n\n", attr.page_size);

	/* 3. Append: each record is durable before the count that publishes it. */
	log->magic = MAGIC;
	log->count = 0;
	pmem_persist(log, 16);
	struct record rec;
	double start = now();
	for (uint64_t i = 0; i < CAPACITY; i++) {
		make_record(&rec, i);
		pmem_memcpy_persist(&log->records[i], &rec, sizeof(rec));
		uint64_t count = i + 1;
		pmem_memcpy_persist(&log->count, &count, sizeof(count));
	}
	double seconds = now() - start;
	double mb = (double)(CAPACITY * sizeof(struct record)) / 1e6;
	printf("3. Appended %zu records of %d bytes with pmem_memcpy_persist:\n", (size_t)CAPACITY,
		RECORD_SIZE);
	printf("   %.1f MB in %.3f s = %.0f MB/s (%.2f us per record, each made durable)\n\n", mb,
		seconds, mb / seconds, seconds * 1e6 / (double)CAPACITY);

	if (pmem_unmap(log, mapped) != 0)
		die("pmem_unmap");

	/* 4. Reopen (no CREATE: the whole existing file) and check every record. */
	log = pmem_map_file(path, 0, 0, 0, &mapped, NULL);
	if (!log)
		die("pmem_map_file (reopening)");
	uint64_t bad = 0;
	for (uint64_t i = 0; i < log->count; i++) {
		const struct record *r = &log->records[i];
		bad += r->seq != i || r->checksum != checksum(r);
	}
	int ok = log->magic == MAGIC && log->count == CAPACITY && bad == 0;
	printf("4. Unmapped, reopened: the log holds %" PRIu64 " records, %" PRIu64 " damaged.\n",
		log->count, bad);
	printf("   First record: \"%.30s...\"\n", log->records[0].payload);
	pmem_unmap(log, mapped);
	printf("\n%s\n", ok ? "Every record came back intact." : "demo: VERIFICATION FAILED");
	return ok ? 0 : 1;
}
