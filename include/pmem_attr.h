/*
 * pmem_attr.h -- platform attributes of a persistent-memory range
 * (an extension of this libpmem, after the SNIA NVM Programming Model's
 * attribute queries; not part of PMDK).
 */
#ifndef PMEM_ATTR_H
#define PMEM_ATTR_H 1

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pmem_attr {
	size_t flush_granularity;	/* bytes one flush instruction covers (cache line) */
	int stores_durable_at_fence;	/* 1 if the CPU caches are in the persistence domain (eADR) */
	size_t atomic_store_size;	/* largest store that can never be torn */
	size_t page_size;		/* the mapping's page size */
	int is_pmem;			/* pmem_is_pmem() of the range */
	const char *flush_instruction;	/* "clwb", "clflushopt", "clflush" or "none" */
	const char *copy_path;		/* e.g. "avx512f", "avx2", "sse2", "movdir64b" */
	size_t movnt_threshold;		/* copies this long or longer use non-temporal stores */
	const char *persist_mode;	/* "flush", "msync", "fit" or "auto" */
};

/*
 * Fills *attr for [addr, addr + len). Returns 0, or -1 with errno set
 * (EINVAL for a NULL attr) and pmem_errormsg() saying why.
 */
int pmem_get_attr(const void *addr, size_t len, struct pmem_attr *attr);

#ifdef __cplusplus
}
#endif

#endif /* PMEM_ATTR_H */
