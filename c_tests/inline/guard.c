/*
 * The inline path and the library flush the same lines. A flush
 * instruction faults on an inaccessible page like a load does, so with
 * PROT_NONE pages around an accessible area, whether a call faults shows
 * whether it flushed a line beyond either end of the accessible area. For
 * many (offset, length) pairs, each range is placed so that its expected
 * lines (those covering [addr, addr + len)) end exactly at a guard page,
 * then one line further; same at the start. The library's pmem_persist and
 * pmem_flush and the inline pmem_inline_persist must fault exactly where
 * the expectation says. Run with PMEM_NO_FLUSH unset.
 */
#include <libpmem.h>
#include <pmem_inline.h>

#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/check.h"

#define LINE ((size_t)PMEM_INLINE_CACHELINE)

typedef void flush_fn(const void *addr, size_t len);

static sigjmp_buf on_fault;

static void segv_handler(int sig)
{
	(void)sig;
	siglongjmp(on_fault, 1);
}

static void call_library_persist(const void *addr, size_t len)
{
	pmem_persist(addr, len);
}

static void call_library_flush(const void *addr, size_t len)
{
	pmem_flush(addr, len);
}

static void call_inline_persist(const void *addr, size_t len)
{
	pmem_inline_persist(addr, len);
}

static const struct {
	const char *name;
	flush_fn *fn;
} impls[] = {
	{ "library pmem_persist", call_library_persist },
	{ "library pmem_flush", call_library_flush },
	{ "pmem_inline_persist", call_inline_persist },
};

/* Did fn(addr, len) fault? */
static int faults(flush_fn *fn, const unsigned char *addr, size_t len)
{
	if (sigsetjmp(on_fault, 1) != 0)
		return 1;
	fn(addr, len);
	return 0;
}

/* Lines covering [addr, addr + len) for addr at `off` within its line. */
static size_t expected_lines(size_t off, size_t len)
{
	size_t first = off / LINE, last;

	if (len == 0)
		return 0;
	last = (off + len - 1) / LINE;
	return last - first + 1;
}

int main(void)
{
	static const size_t big_lens[] = { 511, 512, 513, 2048, 4095, 4096, 4097 };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	t_begin("guard");
	/* guard | accessible (2 pages) | guard */
	unsigned char *map = (unsigned char *)mmap(NULL, 4 * page, PROT_READ | PROT_WRITE,
						   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *lo, *hi;
	struct sigaction sa;
	size_t off, len, i, cases = 0;

	if (map == MAP_FAILED)
		return 2;
	memset(map, 0x5a, 4 * page);
	lo = map + page;     /* first accessible byte */
	hi = map + 3 * page; /* first byte of the upper guard */
	if (mprotect(map, page, PROT_NONE) != 0 || mprotect(hi, page, PROT_NONE) != 0)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = segv_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) != 0)
		return 2;

	for (off = 0; off < LINE; off++) {
		for (len = 0; len <= 3 * LINE + 1 + sizeof(big_lens) / sizeof(big_lens[0]);
		     len++) {
			size_t l = len <= 3 * LINE + 1 ? len : big_lens[len - 3 * LINE - 2];
			size_t n = expected_lines(off, l);
			/* [first line, last line] ends at hi, then one line later;
			 * starts at lo, then one line earlier. */
			const unsigned char *at_hi = hi - n * LINE + off;
			const unsigned char *at_lo = lo + off;

			cases++;
			for (i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
				CHECK(!faults(impls[i].fn, at_hi, l),
				      "%s(+%zu, %zu): flushed past the last line",
				      impls[i].name, off, l);
				CHECK(faults(impls[i].fn, at_hi + LINE, l) == (n > 0),
				      "%s(+%zu, %zu): last line %s", impls[i].name, off, l,
				      n > 0 ? "not flushed" : "flushed for an empty range");
				CHECK(!faults(impls[i].fn, at_lo, l),
				      "%s(+%zu, %zu): flushed before the first line",
				      impls[i].name, off, l);
				CHECK(faults(impls[i].fn, at_lo - LINE, l) == (n > 0),
				      "%s(+%zu, %zu): first line %s", impls[i].name, off, l,
				      n > 0 ? "not flushed" : "flushed for an empty range");
			}
		}
	}
	munmap(map, 4 * page);
	printf("guard: %zu ranges x %zu implementations, flush instruction %s\n", cases,
	       sizeof(impls) / sizeof(impls[0]), pmem_inline_flush_instruction());
	return t_end();
}
