/*
 * pmem_inline.h -- header-only cache-flush fast path for x86-64 (GCC, Clang;
 * C99 or later, C++11 or later). The functions below are compiled into the
 * caller: they need no library at link time and no special compiler flags.
 *
 * Two APIs:
 *
 *   Prefixed, always declared, usable beside libpmem.h:
 *     void pmem_inline_flush(const void *addr, size_t len);
 *     void pmem_inline_drain(void);
 *     void pmem_inline_persist(const void *addr, size_t len);
 *     const char *pmem_inline_flush_instruction(void);
 *       ("clwb", "clflushopt", "clflush" or "none": what flush uses)
 *     PMEM_INLINE_CACHELINE (64, the flush granule)
 *
 *   The original 2013 libpmem API (as its pmem.h declares it):
 *     void *pmem_map(int fd, size_t len);
 *     void pmem_persist(void *addr, size_t len, int flags);
 *     void pmem_flush_cache(void *addr, size_t len, int flags);
 *     void pmem_fence(void);
 *     void pmem_drain_pm_stores(void);
 *   so a program written for pmem.h compiles unchanged with this header
 *   instead. These names are macros over internal inline functions, so
 *   taking their address is not supported; pmem_msync_mode and
 *   pmem_fit_mode stay library functions (include pmem.h for them).
 *
 * Include-order rule: where libpmem.h (PMDK's API) is also included, in
 * either order, pmem_persist is the library's two-argument function and the
 * original-API names above are not declared; use the prefixed functions.
 *   - libpmem.h first: this header sees LIBPMEM_H and skips the original API.
 *   - this header first: this project's libpmem.h re-includes this header,
 *     which then withdraws the original-API macros before libpmem.h
 *     declares its functions. (With another libpmem.h, such as PMDK's, the
 *     macros stay, and the pmem_persist macro passes any two-argument use,
 *     the library's prototype included, through to the library's function.)
 *   - Define PMEM_INLINE_NO_ORIGINAL_API before including this header to
 *     get the prefixed functions only.
 *
 * The flush instruction is chosen once per program, on first use: CLWB, else
 * CLFLUSHOPT, else CLFLUSH, by CPUID (skipped for what the compiler target
 * already guarantees, __CLWB__ / __CLFLUSHOPT__). As in libpmem,
 * PMEM_NO_CLWB=1 and PMEM_NO_CLFLUSHOPT=1 rule those instructions out and
 * PMEM_NO_FLUSH=1 turns flushing off (drain still fences); the environment
 * is read once, at that first use.
 *
 * Testing: with -DPMEM_INLINE_TEST_HOOK=fn, every flushed line's address is
 * passed to `void fn(const void *line)`, which the test program defines.
 *
 * Every other identifier here starts with pmem_inline_impl_ or
 * PMEM_INLINE_IMPL_ (internal; not `__`, which C++ reserves).
 */

#ifndef PMEM_INLINE_H
#define PMEM_INLINE_H

#if !defined(__x86_64__)
#error "pmem_inline.h supports x86-64 only"
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The flush granule: one x86-64 cache line. */
#define PMEM_INLINE_CACHELINE 64

/* Values of pmem_inline_impl_flush_kind_cache; 0 means not decided yet. */
#define PMEM_INLINE_IMPL_UNDECIDED 0u
#define PMEM_INLINE_IMPL_NONE 1u
#define PMEM_INLINE_IMPL_CLFLUSH 2u
#define PMEM_INLINE_IMPL_CLFLUSHOPT 3u
#define PMEM_INLINE_IMPL_CLWB 4u

/* Casts and null, spelled so that C++'s stricter warnings stay quiet. */
#ifdef __cplusplus
#define PMEM_INLINE_IMPL_ADDR(p) reinterpret_cast<uintptr_t>(p)
#define PMEM_INLINE_IMPL_PTR(type, a) reinterpret_cast<type>(a)
#define PMEM_INLINE_IMPL_NULL nullptr
#else
#define PMEM_INLINE_IMPL_ADDR(p) ((uintptr_t)(p))
#define PMEM_INLINE_IMPL_PTR(type, a) ((type)(a))
#define PMEM_INLINE_IMPL_NULL NULL
#endif

/*
 * The decision, shared by every translation unit of a program (or shared
 * object): a weak definition in each, merged into one by the linker.
 */
extern unsigned pmem_inline_impl_flush_kind_cache;
__attribute__((weak, visibility("hidden"))) unsigned pmem_inline_impl_flush_kind_cache;

#ifdef PMEM_INLINE_TEST_HOOK
void PMEM_INLINE_TEST_HOOK(const void *line);
#define PMEM_INLINE_IMPL_HOOK(line) PMEM_INLINE_TEST_HOOK(PMEM_INLINE_IMPL_PTR(const void *, line))
#else
#define PMEM_INLINE_IMPL_HOOK(line) ((void)0)
#endif

/* Is the environment variable `name` set to exactly "1" (libpmem's rule)? */
static inline int
pmem_inline_impl_env_is_1(const char *name)
{
	const char *value = getenv(name);

	return value != PMEM_INLINE_IMPL_NULL && value[0] == '1' && value[1] == '\0';
}

/* CPUID leaf 7, subleaf 0, EBX: the two instructions' feature bits. */
#define PMEM_INLINE_IMPL_CPUID_CLFLUSHOPT (1u << 23)
#define PMEM_INLINE_IMPL_CPUID_CLWB (1u << 24)

static inline uint32_t
pmem_inline_impl_cpuid7_ebx(void)
{
	uint32_t eax, ebx, ecx, edx;

	__asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0u), "c"(0u));
	if (eax < 7)
		return 0;
	__asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7u), "c"(0u));
	return ebx;
}

/* The first-use slow path: environment, then CPU. Cold: kept out of line. */
static inline __attribute__((cold)) unsigned
pmem_inline_impl_decide_flush_kind(void)
{
	unsigned kind;

	if (pmem_inline_impl_env_is_1("PMEM_NO_FLUSH")) {
		kind = PMEM_INLINE_IMPL_NONE;
	} else {
		int no_clwb = pmem_inline_impl_env_is_1("PMEM_NO_CLWB");
		int no_opt = pmem_inline_impl_env_is_1("PMEM_NO_CLFLUSHOPT");
#if defined(__CLWB__) && defined(__CLFLUSHOPT__)
		uint32_t ebx = PMEM_INLINE_IMPL_CPUID_CLFLUSHOPT | PMEM_INLINE_IMPL_CPUID_CLWB;
#else
		uint32_t ebx = no_clwb && no_opt ? 0 : pmem_inline_impl_cpuid7_ebx();
#if defined(__CLWB__)
		ebx |= PMEM_INLINE_IMPL_CPUID_CLWB;
#endif
#if defined(__CLFLUSHOPT__)
		ebx |= PMEM_INLINE_IMPL_CPUID_CLFLUSHOPT;
#endif
#endif
		if (!no_clwb && (ebx & PMEM_INLINE_IMPL_CPUID_CLWB))
			kind = PMEM_INLINE_IMPL_CLWB;
		else if (!no_opt && (ebx & PMEM_INLINE_IMPL_CPUID_CLFLUSHOPT))
			kind = PMEM_INLINE_IMPL_CLFLUSHOPT;
		else
			kind = PMEM_INLINE_IMPL_CLFLUSH;
	}
	/* Racing first uses compute the same value; relaxed is enough. */
	__atomic_store_n(&pmem_inline_impl_flush_kind_cache, kind, __ATOMIC_RELAXED);
	return kind;
}

static inline unsigned
pmem_inline_impl_flush_kind(void)
{
	unsigned kind = __atomic_load_n(&pmem_inline_impl_flush_kind_cache, __ATOMIC_RELAXED);

	if (__builtin_expect(kind == PMEM_INLINE_IMPL_UNDECIDED, 0))
		kind = pmem_inline_impl_decide_flush_kind();
	return kind;
}

/*
 * One loop per instruction, over the lines in [line, end). The instructions
 * are spelled as bytes (66 prefix + CLFLUSH = CLFLUSHOPT, 66 prefix +
 * XSAVEOPT = CLWB) so that no -m flag or recent assembler is needed; the
 * memory clobber keeps the compiler from sinking earlier stores past them.
 */
#define PMEM_INLINE_IMPL_DEFINE_FLUSH_LOOP(name, insn)                           \
	static inline void                                                   \
	pmem_inline_impl_flush_##name(uintptr_t line, uintptr_t end)             \
	{                                                                    \
		for (; line < end; line += PMEM_INLINE_CACHELINE) {          \
			PMEM_INLINE_IMPL_HOOK(line);                             \
			__asm__ __volatile__(insn                            \
					     : "+m"(*PMEM_INLINE_IMPL_PTR(volatile char *, line)) \
					     :                               \
					     : "memory");                    \
		}                                                            \
	}

PMEM_INLINE_IMPL_DEFINE_FLUSH_LOOP(clwb, ".byte 0x66; xsaveopt %0")
PMEM_INLINE_IMPL_DEFINE_FLUSH_LOOP(clflushopt, ".byte 0x66; clflush %0")
PMEM_INLINE_IMPL_DEFINE_FLUSH_LOOP(clflush, "clflush %0")

/* Writes back every cache line that overlaps [addr, addr + len). */
static inline void
pmem_inline_flush(const void *addr, size_t len)
{
	uintptr_t start = PMEM_INLINE_IMPL_ADDR(addr);
	uintptr_t line = start - start % PMEM_INLINE_CACHELINE;
	uintptr_t end = start + len;

	if (len == 0)
		return;
	switch (pmem_inline_impl_flush_kind()) {
	case PMEM_INLINE_IMPL_CLWB:
		pmem_inline_impl_flush_clwb(line, end);
		break;
	case PMEM_INLINE_IMPL_CLFLUSHOPT:
		pmem_inline_impl_flush_clflushopt(line, end);
		break;
	case PMEM_INLINE_IMPL_CLFLUSH:
		pmem_inline_impl_flush_clflush(line, end);
		break;
	default: /* PMEM_NO_FLUSH=1 */
		break;
	}
}

/* Waits for earlier flushes and non-temporal stores to complete. */
static inline void
pmem_inline_drain(void)
{
	__asm__ __volatile__("sfence" : : : "memory");
}

/* Makes [addr, addr + len) durable: flush, then drain. */
static inline void
pmem_inline_persist(const void *addr, size_t len)
{
	pmem_inline_flush(addr, len);
	pmem_inline_drain();
}

/* The instruction pmem_inline_flush uses, deciding it if not done yet. */
static inline const char *
pmem_inline_flush_instruction(void)
{
	switch (pmem_inline_impl_flush_kind()) {
	case PMEM_INLINE_IMPL_CLWB:
		return "clwb";
	case PMEM_INLINE_IMPL_CLFLUSHOPT:
		return "clflushopt";
	case PMEM_INLINE_IMPL_CLFLUSH:
		return "clflush";
	default:
		return "none";
	}
}

#if !defined(LIBPMEM_H) && !defined(PMEM_INLINE_NO_ORIGINAL_API)
/* The original 2013 API (see the rule at the top). */
#include <sys/mman.h>
#define PMEM_INLINE_IMPL_ORIGINAL_API 1

static inline void *
pmem_inline_impl_original_map(int fd, size_t len)
{
	void *base = mmap(PMEM_INLINE_IMPL_NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return base == MAP_FAILED ? PMEM_INLINE_IMPL_NULL : base;
}

static inline void
pmem_inline_impl_original_flush_cache(void *addr, size_t len, int flags)
{
	(void)flags;
	pmem_inline_flush(addr, len);
}

static inline void
pmem_inline_impl_original_fence(void)
{
	pmem_inline_drain();
}

/* Nothing to wait for: the platform's ADR drains the memory controller. */
static inline void
pmem_inline_impl_original_drain_pm_stores(void)
{
}

static inline void
pmem_inline_impl_original_persist(void *addr, size_t len, int flags)
{
	pmem_inline_impl_original_flush_cache(addr, len, flags);
	pmem_inline_impl_original_fence();
	pmem_inline_impl_original_drain_pm_stores();
}

#define pmem_map pmem_inline_impl_original_map
#define pmem_flush_cache pmem_inline_impl_original_flush_cache
#define pmem_fence pmem_inline_impl_original_fence
#define pmem_drain_pm_stores pmem_inline_impl_original_drain_pm_stores
/*
 * Three arguments: the inline original. Any other count: the name itself
 * (not re-expanded), so a later libpmem.h prototype and its two-argument
 * calls keep meaning the library's pmem_persist.
 */
#define PMEM_INLINE_IMPL_FOURTH(a, b, c, name, ...) name
#define pmem_persist(...)                                                    \
	PMEM_INLINE_IMPL_FOURTH(__VA_ARGS__, pmem_inline_impl_original_persist,      \
			    pmem_persist, pmem_persist, 0)(__VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif

#endif /* PMEM_INLINE_H */

/*
 * Outside the include guard: this project's libpmem.h includes this header
 * again when it comes second, and the library's API then takes the
 * original-API names back.
 */
#if defined(LIBPMEM_H) && defined(PMEM_INLINE_IMPL_ORIGINAL_API)
#undef pmem_map
#undef pmem_flush_cache
#undef pmem_fence
#undef pmem_drain_pm_stores
#undef pmem_persist
#undef PMEM_INLINE_IMPL_ORIGINAL_API
#endif
