#!/bin/sh
# Tests of include/pmem_inline.h against the installed layout in $1 (a
# prefix made by `make install PREFIX=$1`); build output goes to $2.
# Prints one line per test and "N passed, N failed" (c_tests/lib/testlib.sh);
# exits 1 on failure. The test programs use the C tests' kit, lib/check.c.
set -u
PREFIX=$1
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
# No binary of an earlier run may stand in for one that fails to build.
rm -rf "$OUT/logs" "$OUT/bin"
mkdir -p "$OUT/logs" "$OUT/bin"
. "$HERE/../lib/testlib.sh"

CFLAGS_LIB=$(pkg-config --cflags libpmem) || exit 1
LIBS=$(pkg-config --libs libpmem)
if [ "$(pkg-config --variable=includedir libpmem)" != "$PREFIX/include" ]; then
	echo "libpmem.pc points to $(pkg-config --variable=includedir libpmem), not $PREFIX"
	exit 1
fi
RPATH="-Wl,-rpath,$PREFIX/lib"
WARN="-Wall -Wextra -Werror -pedantic"

# run NAME COMMAND...: one test; its output is shown only when it fails.
run() {
	name=$1
	shift
	log="$OUT/logs/$(echo "$name" | tr ' /+=' '__px').log"
	if "$@" >"$log" 2>&1; then
		t_pass "$name"
	else
		t_fail "$name" "$(cat "$log")"
	fi
}

# must_not_compile COMPILER ARGS...: the compiler must reject the three-
# argument pmem_persist beside libpmem.h, and for that reason.
must_not_compile() {
	! "$@" >"$OUT/neg.log" 2>&1 &&
		grep -Eq "too many arguments|requires 2 arguments" "$OUT/neg.log"
}

# The compiler / standard matrix. Each entry: compiler, language flags.
MATRIX="gcc:-std=c99 gcc:-std=c11 clang:-std=c99 clang:-std=c11
g++:-x_c++_-std=c++11 g++:-x_c++_-std=c++17 clang++:-x_c++_-std=c++11 clang++:-x_c++_-std=c++17"

PMDK_INC="$OUT/pmdk-include"
mkdir -p "$PMDK_INC"
cp "$PREFIX/include/pmem_inline.h" "$PMDK_INC/"

for entry in $MATRIX; do
	cc=${entry%%:*}
	lang=$(echo "${entry#*:}" | tr _ ' ')
	std=${lang##*=}
	probe="$cc $lang $WARN -O2 -c $HERE/probe.c -o $OUT/probe.o"
	run "compile $cc $std pmem_inline.h alone (original API)" \
		$probe $CFLAGS_LIB -DPROBE_ORDER=0
	run "compile $cc $std libpmem.h then pmem_inline.h" \
		$probe $CFLAGS_LIB -DPROBE_ORDER=1
	run "compile $cc $std pmem_inline.h then libpmem.h" \
		$probe $CFLAGS_LIB -DPROBE_ORDER=2
	run "compile $cc $std PMEM_INLINE_NO_ORIGINAL_API" \
		$probe $CFLAGS_LIB -DPROBE_ORDER=3
	run "compile $cc $std with PMEM_INLINE_TEST_HOOK" \
		$probe $CFLAGS_LIB -DPROBE_ORDER=0 -DPMEM_INLINE_TEST_HOOK=probe_hook
	run "reject $cc $std 3-arg pmem_persist, libpmem.h first" \
		must_not_compile $probe $CFLAGS_LIB -DPROBE_ORDER=1 -DPROBE_NEGATIVE
	run "reject $cc $std 3-arg pmem_persist, libpmem.h second" \
		must_not_compile $probe $CFLAGS_LIB -DPROBE_ORDER=2 -DPROBE_NEGATIVE
	if [ -f /usr/include/libpmem.h ]; then
		# PMDK's own libpmem.h (Debian libpmem-dev), both orders.
		run "compile $cc $std PMDK libpmem.h then pmem_inline.h" \
			$probe -I"$PMDK_INC" -DPROBE_ORDER=1
		run "compile $cc $std pmem_inline.h then PMDK libpmem.h" \
			$probe -I"$PMDK_INC" -DPROBE_ORDER=2
	fi
done

# Runtime tests, each built by a C and a C++ compiler of both families.
RUNTIME="gcc:-std=c11 clang:-std=c11 g++:-x_c++_-std=c++17 clang++:-x_c++_-std=c++17"
for entry in $RUNTIME; do
	cc=${entry%%:*}
	lang=$(echo "${entry#*:}" | tr _ ' ')
	build="$cc $lang $WARN -O2 -D_GNU_SOURCE"
	bin="$OUT/bin/$cc"
	# The kit is C: built by the C compiler of the same family, linked in.
	case $cc in g++) kitcc=gcc ;; clang++) kitcc=clang ;; *) kitcc=$cc ;; esac
	kit="$OUT/bin/$cc-check.o"
	run "build $kitcc lib/check.c (C99) for $cc" $kitcc -std=c99 $WARN -O2 \
		-c "$HERE/../lib/check.c" -o "$kit"

	if run "build $cc lines (test hook)" $build $CFLAGS_LIB \
		-DPMEM_INLINE_TEST_HOOK=record_line "$HERE/lines.c" -x none "$kit" -o "$bin-lines"; then :; fi
	run "$cc lines" env -u PMEM_NO_FLUSH -u PMEM_NO_CLWB -u PMEM_NO_CLFLUSHOPT \
		"$bin-lines"
	run "$cc lines PMEM_NO_CLWB=1" env -u PMEM_NO_FLUSH -u PMEM_NO_CLFLUSHOPT \
		PMEM_NO_CLWB=1 "$bin-lines"
	run "$cc lines PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1" env -u PMEM_NO_FLUSH \
		PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1 "$bin-lines"
	run "$cc lines PMEM_NO_CLWB=0 (only 1 counts)" env -u PMEM_NO_FLUSH \
		-u PMEM_NO_CLFLUSHOPT PMEM_NO_CLWB=0 "$bin-lines"
	run "$cc lines PMEM_NO_FLUSH=1" env PMEM_NO_FLUSH=1 "$bin-lines"

	# The original API needs no library: linked without -lpmem, and the
	# binary must not refer to any pmem_ symbol.
	run "build $cc functional (original API, no library)" $build $CFLAGS_LIB \
		"$HERE/functional.c" "$HERE/functional_tu2.c" -x none "$kit" -o "$bin-functional"
	run "$cc functional: no pmem_ symbol left to link" \
		sh -c "! nm -u '$bin-functional' | grep pmem_"
	run "$cc functional" "$bin-functional" "$OUT/$cc-functional.dat"

	for order in libpmem_first inline_first; do
		def=
		[ $order = inline_first ] && def=-DINLINE_FIRST
		run "build $cc functional_lib ($order)" $build $CFLAGS_LIB $def \
			"$HERE/functional_lib.c" -x none "$kit" -o "$bin-functional_lib" $LIBS $RPATH
		run "$cc functional_lib ($order)" "$bin-functional_lib" \
			"$OUT/$cc-functional_lib.dat"
	done

	run "build $cc guard (library vs inline lines)" $build $CFLAGS_LIB \
		"$HERE/guard.c" -x none "$kit" -o "$bin-guard" $LIBS $RPATH
	run "$cc guard (library vs inline lines)" env -u PMEM_NO_FLUSH "$bin-guard"
done

# Compiled for a target that has both instructions: no CPUID at all, the
# environment still honoured. Only where this CPU can run such a binary.
if grep -qw clwb /proc/cpuinfo && grep -qw clflushopt /proc/cpuinfo; then
	bin="$OUT/bin/gcc-lines-mclwb"
	run "build gcc lines -mclwb -mclflushopt" gcc -std=c11 $WARN -O2 -D_GNU_SOURCE \
		-mclwb -mclflushopt $CFLAGS_LIB -DPMEM_INLINE_TEST_HOOK=record_line \
		"$HERE/lines.c" "$OUT/bin/gcc-check.o" -o "$bin"
	run "gcc lines -mclwb -mclflushopt: no CPUID in the binary" \
		sh -c "! objdump -d '$bin' | grep -qw cpuid"
	run "gcc lines -mclwb -mclflushopt" env -u PMEM_NO_FLUSH -u PMEM_NO_CLWB \
		-u PMEM_NO_CLFLUSHOPT "$bin"
	run "gcc lines -mclwb -mclflushopt PMEM_NO_CLWB=1" env -u PMEM_NO_FLUSH \
		-u PMEM_NO_CLFLUSHOPT PMEM_NO_CLWB=1 "$bin"
fi

t_summary
