#!/bin/sh
# Inline persist vs the library's pmem_persist: builds the library, installs
# it into a scratch prefix, builds bench.c against it (pkg-config) and prints
# Markdown tables. Usage: bench/inline/run.sh [rounds]   (default 7, ~10 s)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="$HERE/build"
PREFIX="$OUT/prefix"
CC=${CC:-cc}

rm -rf "$PREFIX"
mkdir -p "$OUT"
make -C "$ROOT" install PREFIX="$PREFIX" >"$OUT/install.log" 2>&1 ||
	{ cat "$OUT/install.log"; exit 1; }
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
$CC -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE "$HERE/bench.c" -o "$OUT/bench" \
	$(pkg-config --cflags --libs libpmem) -Wl,-rpath,"$PREFIX/lib"
echo "### pmem_inline.h vs libpmem ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo
# The library and the header read the same variables. First the default
# choice, then both sides forced to CLFLUSH, which leaves only the cost of
# the call itself (when the library honours PMEM_NO_CLWB/_CLFLUSHOPT);
# then no flushing at all, where the call is all that differs.
echo "#### Default instruction choice"
echo
env -u PMEM_NO_FLUSH -u PMEM_NO_CLWB -u PMEM_NO_CLFLUSHOPT "$OUT/bench" "$@"
echo
echo "#### PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1 (CLFLUSH on both sides)"
echo
env -u PMEM_NO_FLUSH PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1 "$OUT/bench" "$@"
echo
echo "#### PMEM_NO_FLUSH=1 (no flush, fence only: the call overhead alone)"
echo
env -u PMEM_NO_CLWB -u PMEM_NO_CLFLUSHOPT PMEM_NO_FLUSH=1 "$OUT/bench" "$@"
