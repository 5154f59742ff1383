/*
 * One translation unit for the compile matrix. PROBE_ORDER picks the
 * headers: 0 pmem_inline.h alone (original API), 1 libpmem.h first,
 * 2 pmem_inline.h first, 3 alone with PMEM_INLINE_NO_ORIGINAL_API.
 * PROBE_NEGATIVE adds a three-argument pmem_persist call, which must not
 * compile where libpmem.h is included.
 */
#if PROBE_ORDER == 1
#include <libpmem.h>
#include <pmem_inline.h>
#elif PROBE_ORDER == 2
#include <pmem_inline.h>
#include <libpmem.h>
#elif PROBE_ORDER == 3
#define PMEM_INLINE_NO_ORIGINAL_API
#include <pmem_inline.h>
#else
#include <pmem_inline.h>
#endif

#ifdef PMEM_INLINE_TEST_HOOK
void PMEM_INLINE_TEST_HOOK(const void *line)
{
	(void)line;
}
#endif

int probe_prefixed(void *dest, const void *src, size_t len);
int probe_prefixed(void *dest, const void *src, size_t len)
{
	pmem_inline_flush(src, len);
	pmem_inline_drain();
	pmem_inline_persist(dest, len);
	return pmem_inline_flush_instruction()[0] != '\0';
}

#if PROBE_ORDER == 0
void *probe_original(int fd, void *addr);
void *probe_original(int fd, void *addr)
{
	void *base = pmem_map(fd, 4096);

	pmem_persist(addr, 64, 0);
	pmem_flush_cache(addr, 64, 0);
	pmem_fence();
	pmem_drain_pm_stores();
	return base;
}
#endif

#if PROBE_ORDER == 1 || PROBE_ORDER == 2
void probe_library(const void *addr);
void probe_library(const void *addr)
{
	pmem_persist(addr, 64);
	pmem_flush(addr, 64);
	pmem_drain();
}
#endif

#ifdef PROBE_NEGATIVE
void probe_negative(void *addr);
void probe_negative(void *addr)
{
	pmem_persist(addr, 64, 0);
}
#endif
