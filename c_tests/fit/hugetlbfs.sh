#!/usr/bin/env bash
# Issue 17's repro 6 (fit mode must never adopt a hugetlbfs mapping, whose
# private copy cannot be made once no huge page is free) needs a hugetlbfs
# mount with exactly one free huge page. FITREPRO_HUGETLBFS names one; else,
# as root on a machine with no huge pages reserved, this reserves one 2 MiB
# page, mounts a hugetlbfs in the test's own directory, runs the repro, and
# unmounts and gives the page back, whatever happens.
# usage: hugetlbfs.sh FITDIFF DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testlib.sh"
fitdiff=$1 dir=$2

if [ -n "${FITREPRO_HUGETLBFS:-}" ]; then
	"$fitdiff" repro 6 "$dir/repro6" || t_fail "repro 6"
	exit "$t_failed"
fi
sysctl=/proc/sys/vm/nr_hugepages
if [ "$(id -u)" != 0 ]; then
	t_skip "repro 6" "needs root to reserve a huge page (or FITREPRO_HUGETLBFS)"
	exit "$t_failed"
fi
saved=$(cat "$sysctl")
if [ "$saved" != 0 ]; then
	# Someone else's reservation: leave it alone.
	t_skip_by_design "repro 6" "vm.nr_hugepages is $saved, not ours to change (set FITREPRO_HUGETLBFS)"
	exit "$t_failed"
fi
mnt="$dir/hugetlbfs"
cleanup() {
	mountpoint -q "$mnt" && umount "$mnt"
	echo "$saved" >"$sysctl"
	rmdir "$mnt" 2>/dev/null
}
trap cleanup EXIT
mkdir -p "$mnt"
echo 1 >"$sysctl"
if [ "$(cat "$sysctl")" != 1 ]; then
	t_skip_by_design "repro 6" "the kernel could not reserve a 2 MiB huge page"
	exit "$t_failed"
fi
mount -t hugetlbfs -o pagesize=2M,size=2M none "$mnt" || {
	t_fail "cannot mount hugetlbfs on $mnt"
	exit "$t_failed"
}
FITREPRO_HUGETLBFS=$mnt "$fitdiff" repro 6 "$dir/repro6" || t_fail "repro 6"
exit "$t_failed"
