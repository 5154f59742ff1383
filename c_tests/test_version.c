/*
 * test_version.c -- pmem_check_version: NULL for every version this
 * library provides (major 1, minor 0 or 1), otherwise a message that names
 * both the required and the provided version and is also pmem_errormsg().
 */
#include <stdio.h>
#include <string.h>

#include <libpmem.h>

#include "lib/check.h"

static void
compatible(unsigned major, unsigned minor)
{
	const char *msg = pmem_check_version(major, minor);
	CHECK(msg == NULL, "pmem_check_version(%u, %u) = \"%s\", want NULL", major, minor,
		msg ? msg : "");
}

static void
incompatible(unsigned major, unsigned minor)
{
	const char *msg = pmem_check_version(major, minor);
	CHECK(msg != NULL && msg[0] != '\0', "pmem_check_version(%u, %u) accepted a version "
		"this library does not provide", major, minor);
	if (!msg)
		return;
	/* The message names what was required and what is here. */
	unsigned need = major != PMEM_MAJOR_VERSION ? major : minor;
	unsigned have = major != PMEM_MAJOR_VERSION ? PMEM_MAJOR_VERSION : PMEM_MINOR_VERSION;
	CHECK(t_mentions_number(msg, need) && t_mentions_number(msg, have),
		"pmem_check_version(%u, %u) = \"%s\": should name both %u and %u", major, minor, msg,
		need, have);
	CHECK(strcmp(pmem_errormsg(), msg) == 0,
		"after a failed version check pmem_errormsg() = \"%s\", want \"%s\"",
		pmem_errormsg(), msg);
}

int
main(void)
{
	t_begin("test_version");
	CHECK(PMEM_MAJOR_VERSION == 1 && PMEM_MINOR_VERSION == 1,
		"libpmem.h says version %d.%d, want 1.1", PMEM_MAJOR_VERSION, PMEM_MINOR_VERSION);
	compatible(PMEM_MAJOR_VERSION, PMEM_MINOR_VERSION);
	compatible(1, 0);
	compatible(1, 1);
	incompatible(1, 2);
	incompatible(1, 9);
	incompatible(1, 4000000000u);
	incompatible(0, 0);
	incompatible(0, 1);
	incompatible(2, 0);
	incompatible(7, 1);
	/* A failed check leaves no state behind. */
	compatible(1, 1);
	return t_end();
}
