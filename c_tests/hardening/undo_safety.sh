#!/usr/bin/env bash
# Runs undo_safety (the program named by $1) on a 22 MiB ext4 image
# loop-mounted and a 48 MiB tmpfs, both in a fresh directory of its own,
# always unmounted and removed. Needs root (mount); otherwise a named skip,
# which under CI=true is a failure.
set -u
prog=${1:?usage: undo_safety.sh PROGRAM}
. "$(dirname "$0")/../lib/testlib.sh"
# A named skip ends the run: exit 0, or 1 where testlib made it a failure (CI=true).
skip() {
	t_skip undo_safety "$1"
	exit "$t_failed"
}
[ "$(id -u)" = 0 ] || skip "needs root to mount an ext4 image and a tmpfs"
command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4 (Debian package e2fsprogs)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/undo-safety-XXXXXX") || exit 1
cleanup() {
	umount "$dir/ext4" 2>/dev/null
	umount "$dir/tmpfs" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
mkdir "$dir/ext4" "$dir/tmpfs"
truncate -s 22M "$dir/ext4.img"
mkfs.ext4 -q -F -m 0 "$dir/ext4.img" || skip "mkfs.ext4 failed"
mount -o loop "$dir/ext4.img" "$dir/ext4" || skip "cannot loop-mount an ext4 image here"
mount -t tmpfs -o size=48m tmpfs "$dir/tmpfs" || skip "cannot mount a tmpfs here"
"$prog" "$dir/ext4" "$dir/tmpfs"
