/*
 * fidelity_eof -- in fit mode a persist past end-of-file in a pmem_map
 * mapping (original API; the mapping may be longer than the file) writes
 * the bytes before end-of-file and never grows the file, as a shared
 * mapping's write-back does not. usage: fidelity_eof FILE
 */
#include "pmem.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* pmem.h is the original API: not beside libpmem.h. */
#define T_NO_LIBPMEM
#include "../lib/check.h"

int main(int argc, char **argv)
{
	if (argc != 2)
		return fprintf(stderr, "usage: fidelity_eof FILE\n"), 2;
	t_begin("fidelity_eof");
	pmem_fit_mode();
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		return perror(argv[1]), 1;
	char *p = pmem_map(fd, 4096);
	if (p == NULL)
		return perror("pmem_map"), 1;
	memset(p, 'x', 100);
	pmem_persist(p, 100, 0);
	struct stat st;
	char buf[16] = "";
	if (fstat(fd, &st) != 0)
		return perror(argv[1]), 1;
	CHECK(st.st_size == 10, "the persist grew the file to %lld bytes", (long long)st.st_size);
	CHECK(pread(fd, buf, sizeof(buf), 0) == 10 && memcmp(buf, "xxxxxxxxxx", 10) == 0,
		"the bytes before end-of-file were not written");
	return t_end();
}
