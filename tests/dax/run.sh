#!/bin/bash
# make check-dax: libpmem against a real kernel DAX driver. Boots Debian's
# kernel under QEMU with emulated persistent memory, from an initramfs built
# here out of Debian packages (mkinitramfs.sh); the guest (init) runs
# dax_test on an fsdax ext4 mount and on Device DAX, for each libpmem.so.1
# under test. This script prints the guest's results, checks the persisted
# markers landed in the device's backing file, and ends with
# "N passed, N failed".
#
# Settings (environment or make variables):
#   DAX_LIBS         NAME=PATH pairs of libpmem.so.1 to test; default ours
#                    (build/libpmem.so.1) and, as a reference for the test bed
#                    itself, Debian's PMDK libpmem.so.1 ("pmdk")
#   DAX_ACCEL        tcg (default: software emulation) or kvm
#   DAX_BOOTS        the guests to boot, each with one pmem device (default
#                    all three): cpu, mem-ctrl = an ACPI NVDIMM whose
#                    persistence domain is the CPU cache / memory controller;
#                    virtio = a virtio-pmem device (asynchronous: the kernel
#                    refuses MAP_SYNC, the region tells no persistence domain)
#   DAX_TIMEOUT      seconds each guest may take (default 300; it needs ~20)
#   DAX_KERNEL       kernel version under /lib/modules (default the newest
#                    with a /boot/vmlinuz-VERSION)
#   DAX_OUT          work directory (default build/dax)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${DAX_OUT:-$root/build/dax}
accel=${DAX_ACCEL:-tcg}
boots=${DAX_BOOTS:-cpu mem-ctrl virtio}
guest_timeout=${DAX_TIMEOUT:-300}
pmdk_lib=/usr/lib/x86_64-linux-gnu/libpmem.so.1
nvdimm_mib=256

die() { echo "check-dax: $*" >&2; exit 1; }

# Installs the Debian packages this needs when something is missing.
ensure_packages() {
	local missing=()
	command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
	compgen -G '/boot/vmlinuz-*' >/dev/null || missing+=(linux-image-amd64)
	{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || missing+=(busybox-static)
	command -v cpio >/dev/null || missing+=(cpio)
	[ -x /sbin/mkfs.ext4 ] || missing+=(e2fsprogs)
	[ -x /usr/bin/ndctl ] || missing+=(ndctl)
	command -v depmod >/dev/null || missing+=(kmod)
	[ -e "$pmdk_lib" ] || missing+=(libpmem1)
	command -v cc >/dev/null || missing+=(gcc libc6-dev)
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing Debian packages, install them as root: ${missing[*]}"
	echo "check-dax: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" ||
		{ apt-get update && apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"; } ||
		die "apt-get install ${missing[*]} failed"
}

# The kernel version to boot: DAX_KERNEL or the newest installed one.
pick_kernel() {
	local v
	if [ -n "${DAX_KERNEL:-}" ]; then
		echo "$DAX_KERNEL"
		return
	fi
	for v in $(printf '%s\n' /boot/vmlinuz-* | sed 's|^/boot/vmlinuz-||' | sort -V -r); do
		[ -f "/lib/modules/$v/modules.dep" ] && { echo "$v"; return; }
	done
	die "no /boot/vmlinuz-VERSION with /lib/modules/VERSION (install linux-image-amd64)"
}

qemu_accel() {
	case $accel in
	tcg) echo "-accel tcg -cpu max" ;;
	kvm) echo "-accel kvm -cpu host" ;;
	*) die "DAX_ACCEL must be tcg or kvm" ;;
	esac
}

ensure_packages
kver=$(pick_kernel)
[ -f "/boot/vmlinuz-$kver" ] || die "no /boot/vmlinuz-$kver"
mkdir -p "$out"

libs=${DAX_LIBS:-"rust=$root/build/libpmem.so.1 pmdk=$pmdk_lib"}
[ -e "$root/build/libpmem.so" ] || die "no build/libpmem.so: run make first"
cc -O2 -Wall -Wextra -Werror -I"$root/include" -o "$out/dax_test" "$here/dax_test.c" \
	-L"$root/build" -lpmem
# shellcheck disable=SC2086 # libs is a list of NAME=PATH words
"$here/mkinitramfs.sh" "$out/initramfs.cpio.gz" "$kver" "$out/dax_test" $libs

passed=0 failed=0 skipped=0
count() {
	case $1 in
	PASS) passed=$((passed + 1)) ;;
	FAIL) failed=$((failed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	esac
}

# map_sync KIND: 1 if ext4 -o dax on boot KIND's device must allow MAP_SYNC.
map_sync() {
	case $1 in
	virtio) echo 0 ;;
	*) echo 1 ;;
	esac
}

# pmem_device KIND IMG: the QEMU options for boot KIND's pmem device on IMG.
pmem_device() {
	local backend="memory-backend-file,id=mem1,share=on,mem-path=$2,size=${nvdimm_mib}M"
	case $1 in
	cpu | mem-ctrl)
		echo "-machine pc,nvdimm=on,nvdimm-persistence=$1 -object $backend -device nvdimm,id=nv1,memdev=mem1" ;;
	virtio)
		echo "-machine pc -object $backend -device virtio-pmem-pci,id=nv1,memdev=mem1" ;;
	*) die "unknown boot $1 in DAX_BOOTS (cpu, mem-ctrl, virtio)" ;;
	esac
}

# boot KIND: one guest run on a fresh pmem device of that kind; prints its
# results, each named KIND/..., and counts them.
boot() {
	local p=$1 img=$out/nvdimm-$1.img log=$out/console-$1.log results=$out/results-$1.txt
	local qemu_rc start elapsed line who marker
	rm -f "$results"
	# Fresh and sparse: the guest starts from a raw namespace.
	rm -f "$img"
	truncate -s ${nvdimm_mib}M "$img"
	echo "check-dax: booting $kver ($(qemu_accel)) with $(pmem_device "$p" "$img" | sed 's/.*-device //')"
	start=$(date +%s)
	set +e
	# shellcheck disable=SC2046 # these print separate options
	timeout -k 10 "$guest_timeout" qemu-system-x86_64 \
		$(pmem_device "$p" "$img") $(qemu_accel) -smp 1 -m 512M,slots=2,maxmem=2G \
		-kernel "/boot/vmlinuz-$kver" -initrd "$out/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 oops=panic loglevel=4 DAX_MAP_SYNC=$(map_sync "$p")" \
		-nographic -serial mon:stdio -serial file:"$results" -no-reboot -net none \
		</dev/null >"$log" 2>&1
	qemu_rc=$?
	set -e
	elapsed=$(($(date +%s) - start))

	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		PASS\ * | FAIL\ * | SKIP\ *) line="${line%% *} $p/${line#* }" ;;
		INFO\ ndctl:*) continue ;;
		INFO\ *) ;;
		MARKER\ *)
			# The string dax_test persisted must be in the NVDIMM's medium.
			read -r _ who marker <<<"$line"
			if grep -qaF "$marker" "$img"; then
				line="PASS $p/$who/marker_in_backing_file"
			else
				line="FAIL $p/$who/marker_in_backing_file: $marker not in $img"
			fi
			;;
		*) continue ;;
		esac
		count "${line%% *}"
		echo "$line"
	done < <(cat "$results" 2>/dev/null)

	if ! tr -d '\r' <"$results" 2>/dev/null | grep -qx 'DAX-TESTS-DONE'; then
		echo "FAIL $p/guest/finished: no DAX-TESTS-DONE (qemu exit $qemu_rc after ${elapsed}s, timeout ${guest_timeout}s); console tail:"
		tail -n 30 "$log" | sed 's/^/    /'
		count FAIL
	fi
	echo "check-dax: guest ran ${elapsed}s; console log $log"
	rm -f "$img"
}

echo "check-dax: libraries: $libs"
for p in $boots; do
	boot "$p"
done
echo "dax: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
