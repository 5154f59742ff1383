/*
 * libpmem-fit-preload.so -- tells libpmem's fit mode of every munmap, mremap
 * and MAP_FIXED mmap the program makes, before the kernel frees or replaces
 * the range, so fit mode forgets its records of the range under its lock
 * first (docs/modes.md, "Soundness"). Without it fit mode proves its records
 * against the kernel before it acts, which cannot tell a private mapping put
 * exactly where an adopted one was plainly unmapped from that adopted one.
 *
 * Use it only with PMEM_PERSIST_MODE=fit: LD_PRELOAD=.../libpmem-fit-preload.so.
 * libpmem finds pmem_fit_preload_connect at load and hands it its hook; in
 * any other mode (or without libpmem) every call goes straight through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

/*
 * libpmem's hook: forgets [a1, a1 + l1) and [a2, a2 + l2) (a2 may be NULL),
 * then calls call(ctx) with its lock held and returns what it returned: -1
 * for a failure, else 0 (munmap) or the mapping's address (mmap, mremap).
 * After a successful mremap (`moved`, l2 the new length), a1's records
 * follow to the address returned.
 */
typedef intptr_t (*call_fn)(void *ctx);
typedef intptr_t (*change_fn)(void *a1, size_t l1, void *a2, size_t l2, int moved, call_fn call,
	void *ctx);

static change_fn _Atomic hook;

void pmem_fit_preload_connect(change_fn h);

void pmem_fit_preload_connect(change_fn h)
{
	hook = h;
}

static void *next_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

struct call {
	void *addr, *new_addr, *result;
	size_t len, new_len;
	int prot, flags, fd;
	off_t off;
};

static intptr_t call_munmap(void *ctx)
{
	struct call *c = ctx;
	static int (*real)(void *, size_t);
	if (!real)
		real = (int (*)(void *, size_t))next_sym("munmap");
	return real ? real(c->addr, c->len) : (errno = ENOSYS, -1);
}

static intptr_t call_mmap(void *ctx)
{
	struct call *c = ctx;
	static void *(*real)(void *, size_t, int, int, int, off_t);
	if (!real)
		real = (void *(*)(void *, size_t, int, int, int, off_t))next_sym("mmap");
	c->result = real ? real(c->addr, c->len, c->prot, c->flags, c->fd, c->off) : MAP_FAILED;
	return (intptr_t)c->result;
}

static intptr_t call_mremap(void *ctx)
{
	struct call *c = ctx;
	static void *(*real)(void *, size_t, size_t, int, ...);
	if (!real)
		real = (void *(*)(void *, size_t, size_t, int, ...))next_sym("mremap");
	c->result = real ? real(c->addr, c->len, c->new_len, c->flags, c->new_addr) : MAP_FAILED;
	return (intptr_t)c->result;
}

int munmap(void *addr, size_t len)
{
	struct call c = { .addr = addr, .len = len };
	change_fn h = hook;
	return (int)(h ? h(addr, len, NULL, 0, 0, call_munmap, &c) : call_munmap(&c));
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct call c = { .addr = addr, .len = len, .prot = prot, .flags = flags, .fd = fd,
		.off = off };
	change_fn h = hook;
	/* Only MAP_FIXED replaces what was there; a hint never does. */
	if (h && (flags & MAP_FIXED))
		h(addr, len, NULL, 0, 0, call_mmap, &c);
	else
		call_mmap(&c);
	return c.result;
}

void *mremap(void *addr, size_t len, size_t new_len, int flags, ...)
{
	struct call c = { .addr = addr, .len = len, .new_len = new_len, .flags = flags };
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		c.new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	change_fn h = hook;
	/* The old range moves or shrinks; a fixed new one replaces what was there. */
	if (h)
		h(addr, len, c.new_addr, new_len, 1, call_mremap, &c);
	else
		call_mremap(&c);
	return c.result;
}
