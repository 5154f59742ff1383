# libpmem, in Rust. `make` builds, `make check` tests, `make demo` shows it.
#
# Cargo builds the crate; this Makefile links the shipped libpmem.so.1 itself
# from the static library, because rustc's own export list for a cdylib
# overrides any version script (symbols would come out at version "Base").

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
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

comma := ,

.PHONY: all rust install uninstall check check-header check-abi check-hardening fuzz demo bench clean FORCE

all: $(SHARED) $(BUILD)/$(SONAME) $(BUILD)/libpmem.so $(STATIC) $(BUILD)/libpmem.pc

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

$(STATIC): $(RUST_LIB) | $(BUILD)
	cp $< $@

$(BUILD)/libpmem.pc: libpmem.pc.in Makefile | $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@NATIVE_LIBS@|$(NATIVE_LIBS)|' $< > $@

$(BUILD):
	mkdir -p $@

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libpmem.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpmem.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(BUILD)/libpmem.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libpmem.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libpmem.so $(DESTDIR)$(LIBDIR)/libpmem.a \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/libpmem.pc
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(notdir $(HEADERS)))

# The committed header must be exactly what cbindgen makes of src/ffi.
check-header:
	rm -f $(BUILD)/libpmem.h.gen; mkdir -p $(BUILD)
	PMEM_HEADER_OUT=$(CURDIR)/$(BUILD)/libpmem.h.gen $(CARGO) build --release --lib
	diff -u include/libpmem.h $(BUILD)/libpmem.h.gen || \
	  { echo "include/libpmem.h is stale: run 'make header' and commit it"; exit 1; }

header:
	$(CARGO) build --release --lib

check-abi: all
	tests/check-abi.sh $(SHARED)

check: all check-header check-abi
	$(CARGO) test --release
	$(MAKE) -C c_tests check LIBPMEM_ROOT=$(CURDIR)
	$(MAKE) check-hardening

# Leaks, limits, concurrency, crash durability; valgrind and ASan+UBSan runs;
# the fuzzers for CHECK_FUZZ_SECONDS each (c_tests/hardening/Makefile).
check-hardening: all
	$(MAKE) -C c_tests/hardening check LIBPMEM_ROOT=$(CURDIR)

# The libFuzzer harnesses alone, FUZZ_SECONDS (default 60) each.
fuzz: all
	$(MAKE) -C c_tests/hardening fuzz LIBPMEM_ROOT=$(CURDIR)

demo: all
	$(MAKE) -C c_tests demo LIBPMEM_ROOT=$(CURDIR)

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
	$(MAKE) -C c_tests clean
