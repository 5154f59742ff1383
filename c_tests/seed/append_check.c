/*
 * append_check -- verifies a file written by append, reading it with
 * read(2): every record the header counts must be whole and in sequence.
 * usage: append_check FILE [MIN_COUNT]
 */
#include "record.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	if (argc < 2) {
		fprintf(stderr, "usage: append_check FILE [MIN_COUNT]\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	struct header hdr;
	if (fd < 0 || pread(fd, &hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) {
		perror(argv[1]);
		return 2;
	}
	uint64_t min = argc > 2 ? strtoull(argv[2], NULL, 0) : 0;
	if (hdr.count < min) {
		printf("%s: %llu records, want at least %llu\n", argv[1],
		       (unsigned long long)hdr.count, (unsigned long long)min);
		return 1;
	}
	for (uint64_t i = 0; i < hdr.count; i++) {
		struct record r;
		off_t off = (off_t)(sizeof(hdr) + i * sizeof(r));
		if (pread(fd, &r, sizeof(r), off) != (ssize_t)sizeof(r)) {
			printf("%s: record %llu of %llu is past the end\n", argv[1],
			       (unsigned long long)i, (unsigned long long)hdr.count);
			return 1;
		}
		if (r.seq != i || r.sum != record_sum(&r)) {
			printf("%s: record %llu of %llu is missing or torn\n", argv[1],
			       (unsigned long long)i, (unsigned long long)hdr.count);
			return 1;
		}
	}
	close(fd);
	return 0;
}
