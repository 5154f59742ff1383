/*
 * libpmem-fit-preload.so -- tells libpmem's fit mode of every call that can
 * unmap or replace memory (munmap, mremap, MAP_FIXED mmap and mmap64,
 * remap_file_pages, shmat with SHM_REMAP) before the kernel acts, so fit mode
 * forgets its records of the range under its lock first, and of
 * madvise(MADV_DONTFORK), after which it trusts no earlier proof (see
 * docs/modes.md, "Soundness"). While it is connected, a record fit mode
 * proved against the kernel stays proved until one of these calls touches
 * it, so a flush need not ask the kernel again. Without it fit mode proves
 * its records against the kernel at every flush, which cannot tell a private
 * mapping put exactly where an adopted one was plainly unmapped from that
 * adopted one.
 *
 * Use it only with PMEM_PERSIST_MODE=fit: LD_PRELOAD=.../libpmem-fit-preload.so.
 * libpmem finds pmem_fit_preload_connect at load and hands it its hook; in
 * any other mode (or without libpmem) every call goes straight through.
 */
#undef _FILE_OFFSET_BITS /* mmap and mmap64 are defined apart below */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/types.h>

/*
 * libpmem's hook. kind UNMAP: forgets [a1, a1 + l1) and [a2, a2 + l2) (a2
 * may be NULL), then calls call(ctx) with its lock held and returns what it
 * returned: -1 for a failure, else 0 (munmap) or the mapping's address.
 * MOVE: the same for an mremap; after it succeeds, a1's records follow to
 * the address returned (l2 the new length). DISTRUST: a change it cannot
 * place; it stops trusting earlier proofs, then calls call(ctx).
 */
enum { UNMAP, MOVE, DISTRUST };
typedef intptr_t (*call_fn)(void *ctx);
typedef intptr_t (*change_fn)(void *a1, size_t l1, void *a2, size_t l2, int kind, call_fn call,
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
	size_t len, new_len, pgoff;
	int prot, flags, fd, advice, shmid;
	off64_t off;
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
	c->result = real ? real(c->addr, c->len, c->prot, c->flags, c->fd, (off_t)c->off)
			 : (errno = ENOSYS, MAP_FAILED);
	return (intptr_t)c->result;
}

static intptr_t call_mmap64(void *ctx)
{
	struct call *c = ctx;
	static void *(*real)(void *, size_t, int, int, int, off64_t);
	if (!real)
		real = (void *(*)(void *, size_t, int, int, int, off64_t))next_sym("mmap64");
	c->result = real ? real(c->addr, c->len, c->prot, c->flags, c->fd, c->off)
			 : (errno = ENOSYS, MAP_FAILED);
	return (intptr_t)c->result;
}

static intptr_t call_mremap(void *ctx)
{
	struct call *c = ctx;
	static void *(*real)(void *, size_t, size_t, int, ...);
	if (!real)
		real = (void *(*)(void *, size_t, size_t, int, ...))next_sym("mremap");
	c->result = real ? real(c->addr, c->len, c->new_len, c->flags, c->new_addr)
			 : (errno = ENOSYS, MAP_FAILED);
	return (intptr_t)c->result;
}

static intptr_t call_madvise(void *ctx)
{
	struct call *c = ctx;
	static int (*real)(void *, size_t, int);
	if (!real)
		real = (int (*)(void *, size_t, int))next_sym("madvise");
	return real ? real(c->addr, c->len, c->advice) : (errno = ENOSYS, -1);
}

static intptr_t call_remap_file_pages(void *ctx)
{
	struct call *c = ctx;
	static int (*real)(void *, size_t, int, size_t, int);
	if (!real)
		real = (int (*)(void *, size_t, int, size_t, int))next_sym("remap_file_pages");
	return real ? real(c->addr, c->len, c->prot, c->pgoff, c->flags) : (errno = ENOSYS, -1);
}

static intptr_t call_shmat(void *ctx)
{
	struct call *c = ctx;
	static void *(*real)(int, const void *, int);
	if (!real)
		real = (void *(*)(int, const void *, int))next_sym("shmat");
	c->result = real ? real(c->shmid, c->addr, c->flags) : (errno = ENOSYS, (void *)-1);
	return (intptr_t)c->result;
}

int munmap(void *addr, size_t len)
{
	struct call c = { .addr = addr, .len = len };
	change_fn h = hook;
	return (int)(h ? h(addr, len, NULL, 0, UNMAP, call_munmap, &c) : call_munmap(&c));
}

/* Only MAP_FIXED replaces what was there; a hint never does. */
static void *mmap_via(call_fn call, struct call *c)
{
	change_fn h = hook;
	if (h && (c->flags & MAP_FIXED))
		h(c->addr, c->len, NULL, 0, UNMAP, call, c);
	else
		call(c);
	return c->result;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct call c = { .addr = addr, .len = len, .prot = prot, .flags = flags, .fd = fd,
		.off = off };
	return mmap_via(call_mmap, &c);
}

/* What mmap is named in programs built with _FILE_OFFSET_BITS=64. */
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	struct call c = { .addr = addr, .len = len, .prot = prot, .flags = flags, .fd = fd,
		.off = off };
	return mmap_via(call_mmap64, &c);
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
		h(addr, len, c.new_addr, new_len, MOVE, call_mremap, &c);
	else
		call_mremap(&c);
	return c.result;
}

/* A child forked later does not map the range: earlier proofs would lie there. */
int madvise(void *addr, size_t len, int advice)
{
	struct call c = { .addr = addr, .len = len, .advice = advice };
	change_fn h = hook;
	if (h && advice == MADV_DONTFORK)
		return (int)h(addr, len, NULL, 0, DISTRUST, call_madvise, &c);
	return (int)call_madvise(&c);
}

/* Remaps file pages inside a shared mapping: replaces the range. */
int remap_file_pages(void *addr, size_t size, int prot, size_t pgoff, int flags)
{
	struct call c = { .addr = addr, .len = size, .prot = prot, .pgoff = pgoff, .flags = flags };
	change_fn h = hook;
	return (int)(h ? h(addr, size, NULL, 0, UNMAP, call_remap_file_pages, &c)
		       : call_remap_file_pages(&c));
}

/* SHM_REMAP replaces what was mapped where the segment goes. */
void *shmat(int shmid, const void *shmaddr, int shmflg)
{
	struct call c = { .shmid = shmid, .addr = (void *)shmaddr, .flags = shmflg };
	change_fn h = hook;
	if (!h || !(shmflg & SHM_REMAP) || !shmaddr) {
		call_shmat(&c);
		return c.result;
	}
	void *at = (shmflg & SHM_RND) ? (void *)((uintptr_t)shmaddr & ~(uintptr_t)(SHMLBA - 1))
				      : (void *)shmaddr;
	struct shmid_ds ds;
	if (shmctl(shmid, IPC_STAT, &ds) == 0)
		h(at, ds.shm_segsz, NULL, 0, UNMAP, call_shmat, &c);
	else
		h(at, 0, NULL, 0, DISTRUST, call_shmat, &c);
	return c.result;
}
