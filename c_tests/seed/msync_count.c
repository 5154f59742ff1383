/*
 * msync_count.c -- an LD_PRELOAD shim that counts msync(2) calls, so a test
 * can see which persistence path the library took (auto mode: msync inside
 * non-pmem mappings, cache-line flushes elsewhere).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <sys/mman.h>

static unsigned long calls;

int
msync(void *addr, size_t len, int flags)
{
	static int (*real)(void *, size_t, int);
	if (!real)
		real = (int (*)(void *, size_t, int))dlsym(RTLD_NEXT, "msync");
	__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
	return real(addr, len, flags);
}

unsigned long
msync_count_calls(void)
{
	return __atomic_load_n(&calls, __ATOMIC_RELAXED);
}
