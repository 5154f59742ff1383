#!/bin/bash
# Builds the guest's initramfs (newc cpio, gzip) for tests/dax/run.sh from what
# Debian installed on this host: a static busybox, the NVDIMM/DAX/ext4 kernel
# modules with their dependencies, mkfs.ext4 and ndctl with their shared
# libraries, the test program, and each libpmem.so.1 under test.
#
# usage: mkinitramfs.sh OUT.cpio.gz KVER DAX_TEST_BIN NAME=LIBPMEM.so.1...
set -euo pipefail

out=$1 kver=$2 test_bin=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
moddir=/lib/modules/$kver
stage=$(mktemp -d "${TMPDIR:-/tmp}/dax-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

die() { echo "mkinitramfs: $*" >&2; exit 1; }

# Modules the guest loads, in this order; each one's modules.dep dependencies
# are loaded before it. crc32c comes before ext4 because ext4 asks for it
# only through a soft dependency.
MODULES="libnvdimm nfit virtio_pci virtio_pmem nd_btt nd_pmem dax_pmem device_dax
	crc32c_generic crc16 mbcache jbd2 ext4"

# Host programs copied with their libraries.
PROGRAMS="/sbin/mkfs.ext4 /usr/bin/ndctl"

mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,mnt,etc,libs,lib64,lib/x86_64-linux-gnu,"$moddir"}

# Copies FILE to the same path under the stage, following symlinks.
stage_file() {
	local dest=$stage$1
	[ -e "$dest" ] && return 0
	mkdir -p "$(dirname "$dest")"
	cp -L "$1" "$dest"
}

# Copies the shared libraries (and the dynamic loader) that ELF needs,
# except libpmem: each library under test lives under /libs/NAME instead.
stage_libs() {
	local lib
	for lib in $(ldd "$1" | awk '$1 !~ /^libpmem\.so/ && /\// {print ($2 == "=>") ? $3 : $1}'); do
		stage_file "$lib"
	done
}

# Prints the path (relative to $moddir) of module NAME's deps then its own,
# from modules.dep, each once.
declare -A seen_mod=()
module_order() {
	local path line dep
	path=$(modinfo -k "$kver" -n "$1" 2>/dev/null) || die "no module $1 for $kver"
	path=${path#"$moddir"/}
	[ -n "${seen_mod[$path]:-}" ] && return 0
	seen_mod[$path]=1
	line=$(grep -m1 "^$path:" "$moddir/modules.dep") || die "$path not in modules.dep"
	for dep in ${line#*:}; do
		module_order "$(basename "${dep%%.ko*}")"
	done
	echo "$path"
}

# Kernel modules: decompressed here, since busybox insmod may not read .ko.xz.
: > "$stage/etc/modules.load"
for m in $MODULES; do
	for rel in $(module_order "$m"); do
		grep -qxF "${rel%%.ko*}.ko" "$stage/etc/modules.load" && continue
		dest=$stage$moddir/${rel%%.ko*}.ko
		mkdir -p "$(dirname "$dest")"
		case $rel in
		*.ko.xz) xz -dc "$moddir/$rel" > "$dest" ;;
		*.ko.zst) zstd -qdc "$moddir/$rel" > "$dest" ;;
		*.ko.gz) gzip -dc "$moddir/$rel" > "$dest" ;;
		*.ko) cp "$moddir/$rel" "$dest" ;;
		*) die "unknown module file $rel" ;;
		esac
		echo "${rel%%.ko*}.ko" >> "$stage/etc/modules.load"
	done
done
# ndctl looks modules up through libkmod: give it an index of these.
cp "$moddir"/modules.builtin* "$moddir"/modules.order "$stage$moddir/" 2>/dev/null || true
depmod -b "$stage" "$kver"

cp /bin/busybox "$stage/bin/busybox"
! ldd /bin/busybox >/dev/null 2>&1 || die "/bin/busybox is not static (install busybox-static)"

for prog in $PROGRAMS; do
	[ -x "$prog" ] || die "missing $prog"
	stage_file "$prog"
	stage_libs "$prog"
done
# mkfs.ext4 wants its defaults file; without it it warns and guesses.
[ -e /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$stage/etc/"

cp "$test_bin" "$stage/bin/dax_test"
stage_libs "$test_bin"

for spec in "$@"; do
	name=${spec%%=*} lib=${spec#*=}
	[ -e "$lib" ] || die "no library $lib for $name"
	mkdir -p "$stage/libs/$name"
	cp -L "$lib" "$stage/libs/$name/libpmem.so.1"
	stage_libs "$lib"
done

install -m 755 "$here/init" "$stage/init"

( cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 ) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
