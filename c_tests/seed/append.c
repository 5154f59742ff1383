/*
 * append -- appends checksummed records to a file with the original libpmem
 * API: each record is persisted, then the header's count that publishes it.
 *
 * usage: append [-b] [-M] FILE N
 *   -b  buggy variant: the record's own persist is missing, so a crash after
 *       the count is persisted can leave a counted record absent
 *   -M  msync mode (pmem_msync_mode)
 * The file (made by the caller, e.g. truncate -s 8192) holds a 64-byte header
 * and then 64-byte records; append_check verifies it.
 */
#include "pmem.h"
#include "record.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	int buggy = 0, opt;

	while ((opt = getopt(argc, argv, "bM")) != -1) {
		if (opt == 'b')
			buggy = 1;
		else if (opt == 'M')
			pmem_msync_mode();
		else
			return 2;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: append [-b] [-M] FILE N\n");
		return 2;
	}
	int fd = open(argv[optind], O_RDWR);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(argv[optind]);
		return 1;
	}
	char *base = pmem_map(fd, (size_t)st.st_size);
	if (base == NULL) {
		perror("pmem_map");
		return 1;
	}
	struct header *hdr = (struct header *)base;
	struct record *recs = (struct record *)(base + sizeof(*hdr));
	uint64_t room = ((uint64_t)st.st_size - sizeof(*hdr)) / sizeof(struct record);
	uint64_t n = strtoull(argv[optind + 1], NULL, 0);

	for (uint64_t i = hdr->count; n > 0 && i < room; i++, n--) {
		record_fill(&recs[i], i);
		if (!buggy)
			pmem_persist(&recs[i], sizeof(recs[i]), 0);
		hdr->count = i + 1;
		pmem_persist(&hdr->count, sizeof(hdr->count), 0);
	}
	/* A clean shutdown flushes everything: it hides the buggy variant's
	 * missing persist from any run that is not crashed. */
	pmem_persist(base, (size_t)st.st_size, 0);
	close(fd);
	return n == 0 ? 0 : 1;
}
