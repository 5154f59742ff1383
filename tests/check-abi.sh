#!/usr/bin/env bash
# Checks the shipped shared object's ABI: SONAME libpmem.so.1, every PMDK
# symbol at LIBPMEM_1.0, the original API at LIBPMEM_SEED_1.0, the extensions
# the headers declare at LIBPMEM_EXT_1.0, nothing else (libpmem.map is what
# is checked, never the reference). CC compiles the headers. OBJDUMP and READELF
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

# The expected list comes from outside libpmem.map, so that an entry point
# the map forgets (and the linker then keeps local) is reported missing:
# LIBPMEM_1.0 is PMDK's list (tests/abi, the project's shared copy when it
# is there); the other versions are what the headers declare.
list() { grep -v '^#' "$1" | sed '/^$/d' | sort -u; }
lists=$here/tests/abi
for f in libpmem-1.0.symbols seed-api.symbols; do
	if [ -f "$abi/$f" ] && ! cmp -s "$abi/$f" "$lists/$f"; then
		echo "FAIL: tests/abi/$f differs from $abi/$f"; fail=1
	fi
done
# The functions header $1 declares (gcc's -aux-info lists every prototype
# with the file that declared it).
declared() {
	local tmp; tmp=$(mktemp -d)
	printf '#include "%s"\n' "$1" >"$tmp/h.c"
	"${CC:-cc}" -I"$here/include" -fsyntax-only -aux-info "$tmp/aux" "$tmp/h.c" ||
		{ rm -rf "$tmp"; echo "FAIL: cannot compile include/$1" >&2; return 1; }
	grep -F "/include/$1:" "$tmp/aux" | sed -n 's/.*[ *]\(pmem_[a-z0-9_]*\) (.*/\1/p' | sort -u
	rm -rf "$tmp"
}
want_pmdk=$(list "$lists/libpmem-1.0.symbols")
h_libpmem=$(declared libpmem.h) && h_seed=$(declared pmem.h) && h_attr=$(declared pmem_attr.h) || exit 1
if [ "$h_seed" != "$(list "$lists/seed-api.symbols")" ]; then
	echo "FAIL: include/pmem.h declares other functions than tests/abi/seed-api.symbols lists:"
	diff <(list "$lists/seed-api.symbols") <(echo "$h_seed") || true; fail=1
fi
# PMDK's functions keep PMDK's version; the original API's others are
# LIBPMEM_SEED_1.0; anything else a header declares is an extension.
want_seed=$(comm -23 <(echo "$h_seed") <(echo "$want_pmdk"))
want_ext=$(sort -u <(echo "$h_libpmem") <(echo "$h_attr") | sed '/^$/d' |
	comm -23 - <(echo "$want_pmdk") | comm -23 - <(echo "$want_seed"))
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
