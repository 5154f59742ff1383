/*
 * pmem.h -- the original (2013) libpmem API, served by this libpmem.so.1.
 *
 * Programs written for the original library compile unchanged with
 * #include "pmem.h" and -lpmem. Its pmem_persist is the same symbol as
 * libpmem.h's two-argument one (the flags argument is ignored), so the two
 * headers cannot be included together.
 *
 * Persistence modes (see docs/modes.md): flush (the default), msync, fit
 * and auto. PMEM_PERSIST_MODE=flush|msync|fit|auto selects one at load;
 * pmem_msync_mode() and pmem_fit_mode() switch at run time.
 */
#ifndef PMEM_H
#define PMEM_H 1

#ifdef LIBPMEM_H
#error "pmem.h (original API) and libpmem.h declare pmem_persist differently; include one"
#endif

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Use msync(2) to make changes durable (files not on persistent memory). */
void pmem_msync_mode(void);

/*
 * Fault-injection test mode: files mapped from now on are private
 * copy-on-write and receive only the 64-byte lines that are flushed.
 */
void pmem_fit_mode(void);

/* Maps len bytes of the open file fd read/write; NULL (errno set) on failure. */
void *pmem_map(int fd, size_t len);

/* Makes [addr, addr + len) durable: flush, fence, drain. No flags are defined. */
void pmem_persist(void *addr, size_t len, int flags);

/* The parts of pmem_persist, for callers that batch them. No flags are defined. */
void pmem_flush_cache(void *addr, size_t len, int flags);
void pmem_fence(void);
void pmem_drain_pm_stores(void);

#ifdef __cplusplus
}
#endif

#endif /* PMEM_H */
