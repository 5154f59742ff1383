#!/usr/bin/env bash
# Checks the shipped shared object's ABI: SONAME libpmem.so.1, every PMDK
# symbol at LIBPMEM_1.0, the original API at LIBPMEM_SEED_1.0, the extensions
# libpmem.map lists at LIBPMEM_EXT_1.0, nothing else. OBJDUMP and READELF
# name the binutils to use (a cross target's, for make check-cross).
set -euo pipefail
so=${1:?usage: check-abi.sh path/to/libpmem.so.1.X.Y}
here=$(cd "$(dirname "$0")/.." && pwd)
abi=${PMEM_ABI_DIR:-$here/../shared/abi}
OBJDUMP=${OBJDUMP:-objdump}
READELF=${READELF:-readelf}

fail=0
soname=$("$READELF" -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$soname" != libpmem.so.1 ]; then
	echo "FAIL: SONAME is '$soname', want libpmem.so.1"; fail=1
fi

# "symbol version" for every defined dynamic symbol of ours.
# (ppc64le's objdump adds the ELFv2 local-entry offset, e.g. 0x60, between
# the version and the name.)
exported=$("$OBJDUMP" -T "$so" | awk '$2 == "g" && $4 != "*UND*" && $4 != "*ABS*" {
	v = $(NF-1); if (v ~ /^0x[0-9a-f]+$/) v = $(NF-2); print $NF, v }' | sort)

# The expected list: from the shared ABI files when present, else libpmem.map.
if [ -f "$abi/libpmem-1.0.symbols" ]; then
	want_pmdk=$(grep -v '^#' "$abi/libpmem-1.0.symbols" | sed '/^$/d' | sort -u)
	want_seed=$(grep -v '^#' "$abi/seed-api.symbols" | sed '/^$/d' | sort -u | comm -23 - <(echo "$want_pmdk"))
else
	echo "note: $abi not found; checking against libpmem.map only"
	want_pmdk=$(sed -n '/LIBPMEM_1.0 {/,/};/s/^[[:space:]]*\(pmem_[a-z0-9_]*\);$/\1/p' "$here/libpmem.map" | sort -u)
	want_seed=$(sed -n '/LIBPMEM_SEED_1.0 {/,/}/s/^[[:space:]]*\(pmem_[a-z0-9_]*\);$/\1/p' "$here/libpmem.map" | sort -u)
fi
# Extensions are ours alone: libpmem.map is their only source.
want_ext=$(sed -n '/LIBPMEM_EXT_1.0 {/,/}/s/^[[:space:]]*\(pmem_[a-z0-9_]*\);$/\1/p' "$here/libpmem.map" | sort -u)
want=$( { for s in $want_pmdk; do echo "$s LIBPMEM_1.0"; done
          for s in $want_seed; do echo "$s LIBPMEM_SEED_1.0"; done
          for s in $want_ext; do echo "$s LIBPMEM_EXT_1.0"; done; } | sort)

if [ "$exported" != "$want" ]; then
	echo "FAIL: exported symbols differ from the ABI (< expected, > exported):"
	diff <(echo "$want") <(echo "$exported") || true
	fail=1
fi
n=$(echo "$exported" | grep -c ' LIBPMEM_1.0$' || true)
if [ "$fail" = 0 ]; then
	echo "abi: SONAME libpmem.so.1, $n symbols at LIBPMEM_1.0, $(echo "$want_seed" | grep -c . || true) at LIBPMEM_SEED_1.0, $(echo "$want_ext" | grep -c . || true) at LIBPMEM_EXT_1.0, nothing else exported"
fi
exit $fail
