/*
 * tear -- persists a 70-byte string at the start of FILE with one
 * pmem_persist. The string spans two cache lines, so a crash inside that
 * one call can leave its first 64 bytes in the file without the last 6.
 * usage: tear FILE      write and persist the string
 *        tear -c FILE   check: the file holds all of it or none of it
 */
#include <libpmem.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char text[] =
	"Seventy bytes of text cannot fit in a 64-byte line: this one tears!!!!";

static int check(const char *path)
{
	char buf[sizeof(text) - 1];
	static const char zero[sizeof(text) - 1];
	int fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
		perror(path);
		return 2;
	}
	close(fd);
	if (memcmp(buf, text, sizeof(buf)) == 0 || memcmp(buf, zero, sizeof(buf)) == 0)
		return 0;
	printf("%s: torn: \"%.*s\"\n", path, (int)strnlen(buf, sizeof(buf)), buf);
	return 1;
}

int main(int argc, char *argv[])
{
	size_t len;
	int is_pmem;
	if (argc == 3 && strcmp(argv[1], "-c") == 0)
		return check(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: tear [-c] FILE\n");
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
