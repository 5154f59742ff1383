/*
 * tear -- persists a 70-byte string at the start of FILE with one
 * pmem_persist. The string spans two cache lines, so a crash inside that
 * one call can leave its first 64 bytes in the file without the last 6.
 * usage: tear FILE
 */
#include <libpmem.h>

#include <stdio.h>
#include <string.h>

static const char text[] =
	"Seventy bytes of text cannot fit in a 64-byte line: this one tears!!!!";

int main(int argc, char *argv[])
{
	size_t len;
	int is_pmem;
	if (argc != 2) {
		fprintf(stderr, "usage: tear FILE\n");
		return 2;
	}
	char *p = pmem_map_file(argv[1], 4096, PMEM_FILE_CREATE, 0644, &len, &is_pmem);
	if (p == NULL) {
		fprintf(stderr, "%s: %s\n", argv[1], pmem_errormsg());
		return 1;
	}
	memcpy(p, text, sizeof(text) - 1);
	pmem_persist(p, sizeof(text) - 1);
	pmem_unmap(p, len);
	return 0;
}
