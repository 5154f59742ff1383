/* A second translation unit: the flush decision is made once per program. */
#include <pmem_inline.h>

int tu2_decided(void);
const char *tu2_instruction(void);

int tu2_decided(void)
{
	return pmem_inline_impl_flush_kind_cache != 0;
}

const char *tu2_instruction(void)
{
	return pmem_inline_flush_instruction();
}
