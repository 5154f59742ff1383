# libpmem, in Rust. `make` builds, `make check` tests, `make demo` shows it.
#
# Cargo builds the crate; this Makefile links the shipped libpmem.so.1 itself
# from the static library, because rustc's own export list for a cdylib
# overrides any version script (symbols would come out at version "Base").

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DESTDIR    ?=

CARGO ?= cargo
CC    ?= cc

VERSION    := 1.1.0
SONAME     := libpmem.so.1
BUILD      := build
RUST_LIB   := target/release/libpmem.a
SHARED     := $(BUILD)/libpmem.so.$(VERSION)
STATIC     := $(BUILD)/libpmem.a
# What a program linking libpmem.a needs besides it (rustc --print native-static-libs).
NATIVE_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# Every symbol the version script exports, so the linker pulls each in.
EXPORTS    := $(shell sed -n 's/^[[:space:]]*\(pmem_[a-z0-9_]*\);$$/\1/p' libpmem.map)
HEADERS    := $(wildcard include/*.h)
SWEEP      := $(BUILD)/pmem-sweep
# Fit mode's optional LD_PRELOAD companion (tools/fit-preload).
FIT_PRELOAD := $(BUILD)/libpmem-fit-preload.so
# Hand-written roff, installed as they are: docs/man/NAME.SECTION.
MAN_PAGES  := $(wildcard docs/man/*.[1-8])

comma := ,

.PHONY: all header rust install uninstall install-man uninstall-man check check-doc check-layers check-man check-header check-abi check-conformance check-seed check-sweep check-fit check-fit-long check-corpus check-corpus-long check-inline check-hardening check-dax check-cross fuzz demo bench bench-policy clean FORCE

all: $(SHARED) $(BUILD)/$(SONAME) $(BUILD)/libpmem.so $(STATIC) $(BUILD)/libpmem.pc $(SWEEP) $(FIT_PRELOAD)

# Cargo decides itself whether anything changed.
$(RUST_LIB): FORCE
	$(CARGO) build --release --lib

$(SHARED): $(RUST_LIB) libpmem.map | $(BUILD)
	$(CC) -shared -o $@ -Wl,-soname,$(SONAME) -Wl,--version-script=libpmem.map \
		$(addprefix -Wl$(comma)-u$(comma),$(EXPORTS)) $(RUST_LIB) \
		-Wl,--gc-sections -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack $(NATIVE_LIBS)

$(BUILD)/$(SONAME): $(SHARED)
	ln -sf libpmem.so.$(VERSION) $@

$(BUILD)/libpmem.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

# The crash-point sweep tool (tools/pmem-sweep).
$(SWEEP): FORCE | $(BUILD)
	$(CARGO) build --release -p pmem-sweep
	cp target/release/pmem-sweep $@

$(STATIC): $(RUST_LIB) | $(BUILD)
	cp $< $@

$(FIT_PRELOAD): tools/fit-preload/pmem_fit_preload.c | $(BUILD)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ $< -ldl

# The .pc names the install paths, so install writes it afresh for its PREFIX.
PC_SUBST = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	-e 's|@NATIVE_LIBS@|$(NATIVE_LIBS)|' libpmem.pc.in

# Remade every time: PREFIX may differ from the last run's.
$(BUILD)/libpmem.pc: libpmem.pc.in Makefile FORCE | $(BUILD)
	$(PC_SUBST) > $@

$(BUILD):
	mkdir -p $@

install: all install-man
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR)
	install -m 755 $(SWEEP) $(DESTDIR)$(BINDIR)/
	install -m 755 $(SHARED) $(FIT_PRELOAD) $(DESTDIR)$(LIBDIR)/
	ln -sf libpmem.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpmem.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	$(PC_SUBST) > $(DESTDIR)$(LIBDIR)/pkgconfig/libpmem.pc
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/

install-man:
	for p in $(MAN_PAGES); do \
		d=$(DESTDIR)$(MANDIR)/man$${p##*.}; \
		install -d $$d && install -m 644 $$p $$d/ || exit 1; \
	done

uninstall: uninstall-man
	rm -f $(DESTDIR)$(LIBDIR)/libpmem.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libpmem.so $(DESTDIR)$(LIBDIR)/libpmem.a \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/libpmem.pc $(DESTDIR)$(LIBDIR)/libpmem-fit-preload.so
	rm -f $(DESTDIR)$(BINDIR)/pmem-sweep
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(notdir $(HEADERS)))

uninstall-man:
	rm -f $(foreach p,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $p))/$(notdir $p))

# No module imports from a higher layer (the layers: lib.rs, tests/layers.sh).
check-layers:
	tests/layers.sh $(CURDIR)

# The committed header must be exactly what cbindgen makes of src/ffi, and
# the hand-written pmem_attr.h must lay struct pmem_attr out as Rust does.
check-header:
	rm -f $(BUILD)/libpmem.h.gen; mkdir -p $(BUILD)
	$(CARGO) run --release -q -p pmem-header -- $(BUILD)/libpmem.h.gen
	diff -u include/libpmem.h $(BUILD)/libpmem.h.gen || \
	  { echo "include/libpmem.h is stale: run 'make header' and commit it"; exit 1; }
	$(CARGO) test --release -q -p libpmem --test attr_layout

# cbindgen runs in a workspace tool (tools/pmem-header), not a build
# script: building the library never writes into the source tree.
header:
	$(CARGO) run --release -q -p pmem-header -- include/libpmem.h

check-abi: all
	tests/check-abi.sh $(SHARED)

# The mapping surface, differentially against Debian's PMDK libpmem.
check-conformance: all
	tests/conformance.sh $(CURDIR)

# The original API, persistence modes, crash injection and pmem-sweep.
check-seed: all
	$(MAKE) --no-print-directory -C c_tests/seed check LIBPMEM_ROOT=$(CURDIR)

# Crash states, tears and the missing-flush report of fit mode, through
# pmem-sweep (c_tests/sweep/sweep-test.sh).
check-sweep: all
	$(MAKE) --no-print-directory -C c_tests/sweep check LIBPMEM_ROOT=$(CURDIR)

# Fit mode's soundness: random programs in flush and fit mode leave the same
# files, crashes only bytes stored through them; issue 17's repros
# (c_tests/fit). check-fit-long runs 100,000 programs each way, without and with
# libpmem-fit-preload.so (about an hour each on a loaded 2-core VM).
check-fit: all
	$(MAKE) --no-print-directory -C c_tests/fit check LIBPMEM_ROOT=$(CURDIR)

check-fit-long: all
	$(MAKE) --no-print-directory -C c_tests/fit check-long LIBPMEM_ROOT=$(CURDIR)

# The crash-testing corpus: our own libpmemobj programs swept, every planted
# bug class found (c_tests/corpus/corpus-test.sh). check-corpus-long sweeps
# a 40-operation workload in every default state (tens of minutes).
check-corpus: all
	$(MAKE) --no-print-directory -C c_tests/corpus check LIBPMEM_ROOT=$(CURDIR)

check-corpus-long: all
	$(MAKE) --no-print-directory -C c_tests/corpus check-long LIBPMEM_ROOT=$(CURDIR)

# The header-only pmem_inline.h: compile matrix, functional and line tests.
check-inline: all
	$(MAKE) --no-print-directory -C c_tests/inline check LIBPMEM_ROOT=$(CURDIR)

# Leaks, limits, concurrency, crash durability; valgrind and ASan+UBSan runs;
# the fuzzers for CHECK_FUZZ_SECONDS each (c_tests/hardening/Makefile).
check-hardening: all
	$(MAKE) --no-print-directory -C c_tests/hardening check LIBPMEM_ROOT=$(CURDIR)

# The libFuzzer harnesses alone, FUZZ_SECONDS (default 60) each.
fuzz: all
	$(MAKE) --no-print-directory -C c_tests/hardening fuzz LIBPMEM_ROOT=$(CURDIR)

# rustdoc of the whole workspace, warnings as errors (the doc tests run
# under cargo test below).
check-doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace

# The man pages render without warnings, install and uninstall.
check-man:
	docs/man/check.sh $(CURDIR)

check: all check-layers check-header check-abi check-conformance check-seed check-sweep check-fit check-corpus check-inline check-hardening check-doc check-man
	$(CARGO) test --release --workspace
	$(MAKE) --no-print-directory -C c_tests check LIBPMEM_ROOT=$(CURDIR)

# libpmem on a real DAX driver: Debian's kernel under QEMU with an emulated
# NVDIMM (needs root to install its Debian packages; see tests/dax/run.sh).
check-dax: all
	tests/dax/run.sh

# libpmem.so.1 for aarch64, ppc64le, riscv64 and i686 with Debian's cross
# toolchains: ABI check, Rust tests and C tests under qemu-user; loongarch64
# type-checked only (tests/cross/run.sh; CROSS_TARGETS="aarch64 ..." for some).
check-cross:
	tests/cross/run.sh $(CROSS_TARGETS)

demo: all
	$(MAKE) --no-print-directory -C c_tests demo LIBPMEM_ROOT=$(CURDIR)

# Ours vs PMDK's libpmem, machine ceiling and floor; BENCH_QUICK=1 for ~1 min.
bench: all
	bench/run.sh

# Our library under each copy policy against PMDK, with a per-row verdict.
bench-policy: all
	bench/policy.sh

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
	$(MAKE) -C c_tests clean
	$(MAKE) -C c_tests/seed clean
	$(MAKE) -C c_tests/sweep clean
	$(MAKE) -C c_tests/corpus clean
	$(MAKE) -C c_tests/inline clean
	$(MAKE) -C c_tests/hardening clean
