/*
 * dlopen_cycles.c -- loading and unloading libpmem 300 times leaves no
 * descriptor behind, with PMEM_LOG_FILE and PMEM_FIT_REPORT set (each opens
 * a file at load), in fit mode (which opens /proc/self/maps), and a failing
 * call in every cycle (which gives the thread its error state). PMDK's count stays flat; ours once grew by one per cycle.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/check.h"

#define CYCLES 300

typedef void *(*map_file_fn)(const char *, size_t, int, mode_t, size_t *, int *);
typedef const char *(*errormsg_fn)(void);

int
main(void)
{
	t_begin("dlopen_cycles");
	const char *scratch = t_tmpdir();
	const char *installed = getenv("PMEM_TEST_LIB");
	if (!installed || !*installed)
		installed = "libpmem.so.1";
	/*
	 * A copy under another name: should the program itself be linked to
	 * libpmem (clang does not drop unused libraries), dlopen of that one
	 * would only count references and never load or unload anything.
	 */
	char lib[4200], cmd[9000];
	snprintf(lib, sizeof(lib), "%s/libpmem-copy.so", scratch);
	snprintf(cmd, sizeof(cmd), "cp -L '%s' '%s'", installed, lib);
	if (!CHECK(system(cmd) == 0, "%s failed", cmd))
		return t_end();
	char log[4200], report[4200], missing[4200];
	snprintf(log, sizeof(log), "%s/log", scratch);
	snprintf(report, sizeof(report), "%s/report", scratch);
	snprintf(missing, sizeof(missing), "%s/none/file", scratch);
	setenv("PMEM_LOG_FILE", log, 1);
	setenv("PMEM_FIT_REPORT", report, 1);
	/* Fit mode keeps /proc/self/maps open for its kernel queries. */
	setenv("PMEM_PERSIST_MODE", "fit", 1);
	int cycles = t_sanitized() ? 30 : CYCLES;

	int before = -1;
	for (int i = 0; i < cycles; i++) {
		void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
		if (!CHECK(h != NULL, "dlopen %s: %s", lib, dlerror()))
			break;
		map_file_fn map_file = (map_file_fn)(uintptr_t)dlsym(h, "pmem_map_file");
		errormsg_fn errormsg = (errormsg_fn)(uintptr_t)dlsym(h, "pmem_errormsg");
		CHECK(map_file && errormsg, "dlsym: %s", dlerror());
		if (map_file && errormsg) {
			void *p = map_file(missing, 0, 0, 0, NULL, NULL);
			CHECK(p == NULL && strstr(errormsg(), "none"), "cycle %d: the failure", i);
		}
		CHECK(dlclose(h) == 0, "dlclose: %s", dlerror());
		/* The first cycle may open one-time descriptors (syslog's socket). */
		if (i == 0)
			before = t_count_fds();
	}
	int after = t_count_fds();
	printf("descriptors after the first cycle: %d, after %d cycles: %d\n", before, cycles,
		after);
	CHECK(after == before, "%d descriptors leaked over %d dlopen/dlclose cycles",
		after - before, cycles - 1);
	struct stat st;
	CHECK(stat(log, &st) == 0 && st.st_size > 0, "PMEM_LOG_FILE %s got no messages", log);
	return t_end();
}
