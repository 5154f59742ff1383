/*
 * dax_test.c -- libpmem against a real DAX kernel driver (run by tests/dax/init
 * inside the emulated-NVDIMM guest; see tests/dax/run.sh).
 *
 *   dax_test fsdax  NAME DIR CONTROL_DIR   DIR on ext4 -o dax, CONTROL_DIR not DAX
 *   dax_test devdax NAME DEVICE SLOT       DEVICE a Device DAX node (/dev/daxX.Y)
 *
 * Several libraries take turns on one Device DAX: each writes its marker in
 * its own SLOT (a DEV_SPAN-sized piece from the start), so a later run does
 * not overwrite it before run.sh looks.
 *
 * Prints one "PASS NAME/MODE/check", "FAIL NAME/MODE/check: why" or
 * "SKIP NAME/MODE/check: why" line per check, "INFO ..." lines for facts that
 * are not checks, and "MARKER NAME/MODE HEX" for a string it persisted, which
 * run.sh looks for in the NVDIMM's backing file after the guest is gone.
 * DAX_MAP_SYNC=1 or 0 in the environment says whether the kernel must grant
 * MAP_SYNC on DIR's file system; is_pmem is checked against the kernel's
 * answer either way.
 *
 * Exits 1 if any check failed, else 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <libpmem.h>

#define MiB (1024UL * 1024UL)
#define FILE_SIZE (4 * MiB)
#define CONTROL_SIZE (2 * MiB)
/* Device DAX: only these bytes at each end of the device are written. */
#define DEV_SPAN (4 * MiB)
#define MARKER_LEN 32

static char prefix[128];	/* NAME/MODE, before each check's name */
static const char *lib_name;	/* NAME: which libpmem.so.1 runs */
static int failures;

static void report(const char *status, const char *check, const char *fmt, va_list ap)
{
	printf("%s %s/%s", status, prefix, check);
	if (fmt != NULL) {
		fputs(": ", stdout);
		vprintf(fmt, ap);
	}
	putchar('\n');
	fflush(stdout);
}

/* PASS check if ok, else FAIL check with the printf-style reason. Returns ok. */
static int expect(int ok, const char *check, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(ok ? "PASS" : "FAIL", check, ok ? NULL : fmt, ap);
	va_end(ap);
	if (!ok)
		failures++;
	return ok;
}

static void skip(const char *check, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("SKIP", check, fmt, ap);
	va_end(ap);
}

static void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("INFO %s: ", prefix);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
}

static const char *why(void)
{
	static char buf[512];
	const char *msg = pmem_errormsg();

	snprintf(buf, sizeof(buf), "errno %d (%s), pmem_errormsg \"%s\"", errno, strerror(errno),
		 msg ? msg : "(null)");
	return buf;
}

/* ---- sysfs, procfs and tracefs ---- */

/* Reads a one-line file into buf without its newline. Returns 0 or -1. */
static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	if (fgets(buf, (int)size, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int write_str(const char *path, const char *s, int append)
{
	int fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/*
 * Counts the NVDIMM regions, and in *matching those whose sysfs attribute
 * attr reads value (a region without attr does not match). Logs each value.
 */
static int count_regions(const char *attr, const char *value, int *matching)
{
	glob_t g;
	char path[PATH_MAX], val[64];
	int regions = 0;

	*matching = 0;
	if (glob("/sys/bus/nd/devices/region*", 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		snprintf(path, sizeof(path), "%s/%s", g.gl_pathv[i], attr);
		regions++;
		if (read_line(path, val, sizeof(val)) != 0) {
			info("%s: none", path);
			continue;
		}
		info("%s = '%s'", path, val);
		*matching += strcmp(val, value) == 0;
	}
	globfree(&g);
	return regions;
}

/*
 * What pmem_has_auto_flush() must say here: 1 when every NVDIMM region's
 * persistence domain is the CPU cache, 0 when one's is not or is not told,
 * -1 if there is no region.
 */
static int expected_auto_flush(void)
{
	int cpu_cache, regions = count_regions("persistence_domain", "cpu_cache", &cpu_cache);

	return regions == 0 ? -1 : cpu_cache == regions;
}

/*
 * 1 if some NVDIMM region's deep_flush reads 1, i.e. writing it does
 * something (the platform has flush hints), 0 if none does, -1 if there is
 * no region.
 */
static int region_needs_deep_flush(void)
{
	int ones, regions = count_regions("deep_flush", "1", &ones);

	return regions == 0 ? -1 : ones > 0;
}

/* 1 if the mapping holding addr has VmFlags token flag in /proc/self/smaps. */
static int vm_flag(const void *addr, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int inside = 0, found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;

		/* "lo-hi perms ..." starts a mapping; "Key: value" lines follow. */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		} else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
			char *tok, *save;

			for (tok = strtok_r(line + 8, " \n", &save); tok != NULL;
			     tok = strtok_r(NULL, " \n", &save))
				found |= strcmp(tok, flag) == 0;
			break;
		}
	}
	fclose(f);
	return found;
}

/*
 * 1 if the kernel maps path with MAP_SYNC (so stores reach the media with
 * only CPU cache flushes: what is_pmem means on a file), 0 if it refuses,
 * -1 if path cannot be tried.
 */
static int kernel_map_sync(const char *path)
{
	int fd = open(path, O_RDWR);
	void *p;

	if (fd < 0)
		return -1;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return errno == EOPNOTSUPP ? 0 : -1;
	munmap(p, 4096);
	return 1;
}

#define TRACEFS "/sys/kernel/tracing/"

/*
 * Starts the function tracer on the NVDIMM flush entry points, for this
 * process only. Returns 0, or -1 if the kernel cannot trace them.
 */
static int trace_start(void)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (write_str(TRACEFS "tracing_on", "0", 0) != 0 ||
	    write_str(TRACEFS "set_ftrace_filter", "deep_flush_store", 0) != 0 ||
	    write_str(TRACEFS "set_ftrace_filter", "nvdimm_flush", 1) != 0 ||
	    write_str(TRACEFS "set_ftrace_pid", pid, 0) != 0 ||
	    write_str(TRACEFS "current_tracer", "function", 0) != 0 ||
	    write_str(TRACEFS "trace", "", 0) != 0 || write_str(TRACEFS "tracing_on", "1", 0) != 0)
		return -1;
	return 0;
}

/* Stops tracing; counts the traced calls of each function. */
static void trace_stop(int *deep_flush_store, int *nvdimm_flush)
{
	FILE *f;
	char line[512];

	*deep_flush_store = *nvdimm_flush = 0;
	write_str(TRACEFS "tracing_on", "0", 0);
	f = fopen(TRACEFS "trace", "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#')
			continue;
		*deep_flush_store += strstr(line, " deep_flush_store") != NULL;
		*nvdimm_flush += strstr(line, " nvdimm_flush") != NULL;
	}
	if (f != NULL)
		fclose(f);
	write_str(TRACEFS "current_tracer", "nop", 0);
	write_str(TRACEFS "set_ftrace_pid", "", 0);
}

/* ---- data that must survive ---- */

/* A marker unique to this run, for run.sh to find in the backing file. */
static void make_marker(char *marker)
{
	struct timespec ts;
	static const char hex[] = "0123456789abcdef";
	uint64_t x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)ts.tv_nsec * 6364136223846793005ULL ^ (uint64_t)getpid() ^
	    (uint64_t)ts.tv_sec << 20;
	for (int i = 0; i < MARKER_LEN; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		marker[i] = hex[(x >> 59) & 15];
	}
}

/* What [off, off + span) of the device or file should hold after write_span. */
static void expected_span(char *mirror, size_t off, size_t span, const char *marker)
{
	for (size_t i = 0; i < span; i++)
		mirror[i] = (char)(i * 7 + off / 4096 + 1);
	memset(mirror + span / 4, 0x5a, span / 4);
	memcpy(mirror + 64, marker, MARKER_LEN);
}

/*
 * Writes mirror's span to [off, off + span) of the mapping, a quarter
 * through each way libpmem offers to make stores durable, then checks the
 * mapping reads back as mirror (PASS/FAIL check).
 */
static void write_span(const char *check, char *pmem, const char *mirror, size_t off, size_t span)
{
	size_t q = span / 4;
	char *dst = pmem + off;

	memcpy(dst, mirror, q);
	pmem_persist(dst, q);

	pmem_memset_persist(dst + q, 0x5a, q);

	pmem_memcpy_persist(dst + 2 * q, mirror + 2 * q, q);

	/* Lands shifted by one byte, then an overlapping move puts it right. */
	pmem_memcpy_nodrain(dst + 3 * q + 1, mirror + 3 * q, q - 1);
	pmem_memmove_nodrain(dst + 3 * q, dst + 3 * q + 1, q - 1);
	pmem_memcpy_nodrain(dst + span - 1, mirror + span - 1, 1);
	pmem_drain();

	expect(memcmp(dst, mirror, span) == 0, check,
	       "mapping differs from what persist/memset/memcpy/memmove should have stored");
}

/* ---- the checks ---- */

struct mapping {
	char *addr;
	size_t len;
	int is_pmem;
};

static void check_auto_flush(void)
{
	int expected = expected_auto_flush();
	int got = pmem_has_auto_flush();

	if (expected < 0)
		skip("has_auto_flush", "no NVDIMM region in sysfs");
	else
		expect(got == expected, "has_auto_flush",
		       "pmem_has_auto_flush() = %d, sysfs persistence_domain says %d", got, expected);
}

/*
 * pmem_deep_flush/deep_drain/deep_persist on the range return 0; reports
 * which NVDIMM flush paths the kernel ran meanwhile for this process.
 * Returns the number of region deep_flush writes seen, or -1 if untraceable.
 */
static int check_deep(struct mapping *m)
{
	int traced = trace_start() == 0;
	int dfs = -1, nf = -1, rc_drain, rc_persist, rc_empty;

	pmem_deep_flush(m->addr, m->len);
	rc_drain = pmem_deep_drain(m->addr, m->len);
	rc_persist = pmem_deep_persist(m->addr, 4096);
	rc_empty = pmem_deep_persist(m->addr, 0);
	if (traced)
		trace_stop(&dfs, &nf);

	expect(rc_drain == 0, "deep_drain", "pmem_deep_drain() = %d, %s", rc_drain, why());
	expect(rc_persist == 0, "deep_persist", "pmem_deep_persist() = %d, %s", rc_persist, why());
	expect(rc_empty == 0, "deep_persist_empty", "pmem_deep_persist(len 0) = %d", rc_empty);
	if (traced)
		info("during deep flush: %d region deep_flush writes, %d nvdimm_flush calls", dfs, nf);
	else
		info("ftrace unavailable: deep flush not observed");
	return traced ? dfs : -1;
}

/*
 * Remaps path whole and compares [off, off + span) with mirror and, if
 * tail_off is not 0, [tail_off, tail_off + span) with mirror + span.
 */
static void check_remap(const char *path, size_t expect_len, int want_pmem, const char *mirror,
			size_t off, size_t span, size_t tail_off)
{
	struct mapping m;

	m.addr = pmem_map_file(path, 0, 0, 0, &m.len, &m.is_pmem);
	if (!expect(m.addr != NULL, "remap", "pmem_map_file(%s) again: %s", path, why()))
		return;
	expect(m.len == expect_len && m.is_pmem == want_pmem, "remap_attrs",
	       "len %zu is_pmem %d, want %zu %d", m.len, m.is_pmem, expect_len, want_pmem);
	expect(memcmp(m.addr + off, mirror, span) == 0 &&
		       (tail_off == 0 || memcmp(m.addr + tail_off, mirror + span, span) == 0),
	       "data_survives_remap", "contents differ after pmem_unmap + pmem_map_file");
	expect(pmem_unmap(m.addr, m.len) == 0, "unmap_again", "%s", why());
}

/* The file seen through read(2) holds what the mapping wrote. */
static void check_read_back(const char *path, const char *mirror, size_t span)
{
	char *buf = malloc(span);
	int fd = open(path, O_RDONLY);
	ssize_t n = -1;

	if (buf != NULL && fd >= 0)
		n = pread(fd, buf, span, 0);
	expect(n == (ssize_t)span && memcmp(buf, mirror, span) == 0, "data_via_read",
	       "read(2) of %s differs from what was stored (n %zd)", path, n);
	if (fd >= 0)
		close(fd);
	free(buf);
}

/* A file on a non-DAX file system is not pmem: is_pmem must say 0. */
static void check_control(const char *dir)
{
	char path[4096];
	struct mapping m;

	snprintf(path, sizeof(path), "%s/%s.control", dir, lib_name);
	unlink(path);
	m.addr = pmem_map_file(path, CONTROL_SIZE, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600, &m.len,
			       &m.is_pmem);
	if (!expect(m.addr != NULL, "nondax_map", "pmem_map_file(%s): %s", path, why()))
		return;
	expect(m.is_pmem == 0 && pmem_is_pmem(m.addr, m.len) == 0, "nondax_not_pmem",
	       "is_pmem %d, pmem_is_pmem %d on a tmpfs file", m.is_pmem,
	       pmem_is_pmem(m.addr, m.len));
	pmem_unmap(m.addr, m.len);
	unlink(path);
}

static void run_fsdax(const char *dir, const char *control_dir)
{
	char path[4096], marker[MARKER_LEN + 1] = {0};
	char *mirror = malloc(FILE_SIZE);
	struct mapping m;
	int want;

	snprintf(path, sizeof(path), "%s/%s.pool", dir, lib_name);
	unlink(path);
	m.addr = pmem_map_file(path, FILE_SIZE, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600, &m.len,
			       &m.is_pmem);
	if (!expect(m.addr != NULL && mirror != NULL, "map_create", "pmem_map_file(%s): %s", path,
		    why()))
		return;
	expect(m.len == FILE_SIZE, "map_len", "mapped %zu bytes, asked %lu", m.len, FILE_SIZE);
	/* pmem exactly when the kernel grants MAP_SYNC on this file system. */
	want = kernel_map_sync(path);
	info("the kernel %s MAP_SYNC on %s", want == 1 ? "allows" : "refuses", dir);
	if (getenv("DAX_MAP_SYNC") != NULL)
		expect(want == atoi(getenv("DAX_MAP_SYNC")), "kernel_map_sync",
		       "the kernel's MAP_SYNC answer is %d, this device should give %s", want,
		       getenv("DAX_MAP_SYNC"));
	expect(want >= 0 && m.is_pmem == want, "is_pmem", "is_pmem = %d, want %d", m.is_pmem, want);
	if (want == 1)
		expect(vm_flag(m.addr, "sf"), "map_sync",
		       "mapping lacks VmFlags 'sf' in /proc/self/smaps: not mapped MAP_SYNC");
	expect(pmem_is_pmem(m.addr, m.len) == want && pmem_is_pmem(m.addr + 4096, 4096) == want,
	       "pmem_is_pmem", "pmem_is_pmem = %d (whole), %d (one page), want %d",
	       pmem_is_pmem(m.addr, m.len), pmem_is_pmem(m.addr + 4096, 4096), want);
	info("mapped at %p (%s2 MiB aligned)", (void *)m.addr,
	     ((uintptr_t)m.addr & (2 * MiB - 1)) ? "not " : "");

	make_marker(marker);
	expected_span(mirror, 0, FILE_SIZE, marker);
	write_span("writes", m.addr, mirror, 0, FILE_SIZE);
	check_auto_flush();
	check_deep(&m);
	expect(pmem_unmap(m.addr, m.len) == 0, "unmap", "%s", why());

	check_remap(path, FILE_SIZE, want, mirror, 0, FILE_SIZE, 0);
	check_read_back(path, mirror, FILE_SIZE);
	printf("MARKER %s %s\n", prefix, marker);
	check_control(control_dir);
	free(mirror);
}

/* The Device DAX node's size, from /sys/dev/char/MAJ:MIN/size. */
static size_t devdax_size(const char *dev)
{
	struct stat st;
	char path[128], line[64];

	if (stat(dev, &st) != 0 || !S_ISCHR(st.st_mode))
		return 0;
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/size", major(st.st_rdev),
		 minor(st.st_rdev));
	if (read_line(path, line, sizeof(line)) != 0)
		return 0;
	return (size_t)strtoull(line, NULL, 0);
}

/* A length other than the device's is EINVAL, and leaves the outputs alone. */
static void check_len_mismatch(const char *dev, size_t size)
{
	const size_t wrong[] = {size - 2 * MiB, size + 2 * MiB};

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		size_t len = 12345;
		int is_pmem = 77;
		void *p;

		errno = 0;
		p = pmem_map_file(dev, wrong[i], PMEM_FILE_CREATE, 0600, &len, &is_pmem);
		expect(p == NULL && errno == EINVAL && len == 12345 && is_pmem == 77,
		       i ? "len_too_long" : "len_too_short",
		       "len %zu of a %zu-byte device: returned %p, errno %d, outputs %zu/%d", wrong[i],
		       size, p, errno, len, is_pmem);
		if (p != NULL)
			pmem_unmap(p, wrong[i]);
	}
}

/* PMEM_FILE_CREATE with the exact size is allowed (and ignored). */
static void check_create_exact(const char *dev, size_t size)
{
	struct mapping m = {NULL, 0, -1};

	m.addr = pmem_map_file(dev, size, PMEM_FILE_CREATE, 0600, &m.len, &m.is_pmem);
	if (expect(m.addr != NULL && m.len == size && m.is_pmem == 1, "create_exact_len",
		   "pmem_map_file(%s, %zu, PMEM_FILE_CREATE): %p len %zu is_pmem %d: %s", dev,
		   size, (void *)m.addr, m.len, m.is_pmem, m.addr ? "" : why()))
		pmem_unmap(m.addr, m.len);
}

/*
 * Device DAX mapped whole: length, is_pmem, stores that survive (in this
 * run's slot and at the device's end), deep flush.
 */
static void check_devdax_mapping(const char *dev, size_t size, size_t slot)
{
	size_t head = slot * DEV_SPAN;
	char marker[MARKER_LEN + 1] = {0};
	char *mirror = malloc(2 * DEV_SPAN);
	struct mapping m;
	int writes, needs;

	m.addr = pmem_map_file(dev, 0, 0, 0, &m.len, &m.is_pmem);
	if (!expect(m.addr != NULL && mirror != NULL, "map_whole", "pmem_map_file(%s, 0): %s",
		    dev, why())) {
		free(mirror);
		return;
	}
	expect(m.len == size, "map_len", "mapped %zu bytes, sysfs size %zu", m.len, size);
	expect(m.is_pmem == 1, "is_pmem", "is_pmem = %d on Device DAX", m.is_pmem);
	expect(pmem_is_pmem(m.addr, m.len) == 1, "pmem_is_pmem", "pmem_is_pmem = %d",
	       pmem_is_pmem(m.addr, m.len));
	info("mapped at %p, VmFlags sf %d", (void *)m.addr, vm_flag(m.addr, "sf"));
	if (m.len != size) {
		pmem_unmap(m.addr, m.len);
		free(mirror);
		return;
	}

	make_marker(marker);
	expected_span(mirror, head, DEV_SPAN, marker);
	expected_span(mirror + DEV_SPAN, size - DEV_SPAN, DEV_SPAN, marker);
	write_span("writes", m.addr, mirror, head, DEV_SPAN);
	write_span("writes_tail", m.addr, mirror + DEV_SPAN, size - DEV_SPAN, DEV_SPAN);
	check_auto_flush();
	writes = check_deep(&m);
	needs = region_needs_deep_flush();
	if (writes < 0)
		skip("deep_flush_written", "ftrace unavailable");
	else if (needs != 1)
		skip("deep_flush_written",
		     "no region's deep_flush reads 1 (no flush hints): writing it is not required");
	else
		expect(writes > 0, "deep_flush_written",
		       "pmem_deep_persist on Device DAX wrote no region deep_flush");
	expect(pmem_unmap(m.addr, m.len) == 0, "unmap", "%s", why());

	check_remap(dev, size, 1, mirror, head, DEV_SPAN, size - DEV_SPAN);
	printf("MARKER %s %s\n", prefix, marker);
	free(mirror);
}

static void run_devdax(const char *dev, size_t slot)
{
	size_t size = devdax_size(dev);

	if (!expect(size >= (slot + 2) * DEV_SPAN, "sysfs_size",
		    "no size for %s in sysfs, or too small for slot %zu (%zu)", dev, slot, size))
		return;
	info("%s size %zu", dev, size);
	check_devdax_mapping(dev, size, slot);
	check_len_mismatch(dev, size);
	check_create_exact(dev, size);
}

int main(int argc, char **argv)
{
	lib_name = argc >= 3 ? argv[2] : "";
	if (argc >= 5 && strcmp(argv[1], "devdax") == 0) {
		snprintf(prefix, sizeof(prefix), "%s/devdax", argv[2]);
		run_devdax(argv[3], strtoul(argv[4], NULL, 10));
	} else if (argc >= 5 && strcmp(argv[1], "fsdax") == 0) {
		snprintf(prefix, sizeof(prefix), "%s/fsdax", argv[2]);
		run_fsdax(argv[3], argv[4]);
	} else {
		fprintf(stderr, "usage: %s fsdax NAME DIR CONTROL_DIR | devdax NAME DEVICE SLOT\n",
			argv[0]);
		return 2;
	}
	return failures ? 1 : 0;
}
