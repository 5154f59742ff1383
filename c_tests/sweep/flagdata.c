/*
 * flagdata -- the classic persistence-ordering bug and its fix, with
 * PMDK's API. Slot i of FILE is a 64-byte data line (sequence number,
 * payload, checksum) followed by a line holding its valid flag; the last
 * line holds statistics.
 *
 * usage: flagdata [-b|-f] [-u] [-w] [-m] FILE N    fill slots 0..N-1 (creates FILE)
 *        flagdata -c FILE                check: a set flag means whole data
 *   (default)  data persisted, then the flag persisted: correct
 *   -b  data and flag persisted with ONE pmem_persist: the flag can reach
 *       the media before the data
 *   -f  pmem_flush(data), pmem_flush(flag), one pmem_drain: the same bug
 *   -u  also counts slots in the statistics line and never flushes it
 *       (a missing flush that no crash state can show: nothing reads it)
 *   -w  ends with a persist of every slot, all already in the file (wasted)
 *   -m  maps FILE with mmap(2) and unmaps it with munmap(2), as libpmemobj
 *       does (fit mode adopts the mapping at its first flush)
 */
#include <libpmem.h>

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct data {
	uint64_t seq;
	char payload[48];
	uint64_t sum;
};

struct slot {
	struct data data;	/* line 0 */
	uint64_t valid;		/* line 1 */
	char pad[56];
};

#define SLOTS 16
#define FILE_LEN (SLOTS * sizeof(struct slot) + 64)

static uint64_t data_sum(const struct data *d)
{
	const unsigned char *p = (const unsigned char *)d;
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < offsetof(struct data, sum); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static int check(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct slot s[SLOTS];
	if (fd < 0 || pread(fd, s, sizeof(s), 0) != (ssize_t)sizeof(s)) {
		perror(path);
		return 2;
	}
	for (int i = 0; i < SLOTS; i++) {
		if (s[i].valid && (s[i].data.seq != (uint64_t)i ||
				   s[i].data.sum != data_sum(&s[i].data))) {
			printf("%s: slot %d is marked valid but its data is missing or torn\n",
			       path, i);
			return 1;
		}
	}
	close(fd);
	return 0;
}

int main(int argc, char *argv[])
{
	int mode = 0, stats = 0, waste = 0, plain = 0, opt;
	while ((opt = getopt(argc, argv, "bfucwm")) != -1) {
		if (opt == 'u')
			stats = 1;
		else if (opt == 'm')
			plain = 1;
		else if (opt == 'w')
			waste = 1;
		else if (opt == 'b' || opt == 'f' || opt == 'c')
			mode = opt;
		else
			return 2;
	}
	if (mode == 'c' && argc - optind == 1)
		return check(argv[optind]);
	if (mode == 'c' || argc - optind != 2) {
		fprintf(stderr, "usage: flagdata [-b|-f] [-u] [-w] [-m] FILE N | flagdata -c FILE\n");
		return 2;
	}
	size_t len = FILE_LEN;
	int is_pmem;
	char *base;
	if (plain) {
		int fd = open(argv[optind], O_RDWR | O_CREAT, 0644);
		if (fd < 0 || ftruncate(fd, FILE_LEN) != 0) {
			perror(argv[optind]);
			return 1;
		}
		base = mmap(NULL, FILE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (base == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
	} else {
		base = pmem_map_file(argv[optind], FILE_LEN, PMEM_FILE_CREATE, 0644, &len,
				     &is_pmem);
		if (base == NULL) {
			fprintf(stderr, "%s: %s\n", argv[optind], pmem_errormsg());
			return 1;
		}
	}
	struct slot *slot = (struct slot *)base;
	uint64_t *count = (uint64_t *)(base + SLOTS * sizeof(struct slot));
	int n = atoi(argv[optind + 1]);
	for (int i = 0; i < n && i < SLOTS; i++) {
		struct data *d = &slot[i].data;
		d->seq = (uint64_t)i;
		for (size_t j = 0; j < sizeof(d->payload); j++)
			d->payload[j] = (char)('a' + (i + j) % 26);
		d->sum = data_sum(d);
		if (mode == 0)
			pmem_persist(d, sizeof(*d));
		slot[i].valid = 1;
		if (mode == 'b') {
			pmem_persist(&slot[i], sizeof(slot[i]));
		} else if (mode == 'f') {
			pmem_flush(d, sizeof(*d));
			pmem_flush(&slot[i].valid, sizeof(slot[i].valid));
			pmem_drain();
		} else {
			pmem_persist(&slot[i].valid, sizeof(slot[i].valid));
		}
		if (stats)
			(*count)++;
	}
	if (waste)
		pmem_persist(base, SLOTS * sizeof(struct slot));
	if (plain)
		munmap(base, len);
	else
		pmem_unmap(base, len);
	return 0;
}
