#!/bin/sh
# make check-man: every page in docs/man must render without a single groff
# warning, both through groff directly and through man -l as a reader sees
# it, fit 80 columns, have a NAME line whatis can index, and (section 3) an
# EXAMPLES program that compiles against include/. Then the pages are
# installed into a scratch DESTDIR, found by name with man, and uninstalled.
# Missing tools are a named skip, and a failure under CI=true.
set -eu
root=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
cd "$root"

# A missing tool ends the check: a named skip, or a failure under CI=true.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	c_tests/lib/testlib.sh skip check-man "$1 is not installed (Debian package $2)"
	exit
}
need groff groff-base
need man man-db
need lexgrog man-db
need "${CC:-cc}" gcc

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pmem-check-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
	echo "check-man: FAIL: $*"
	failed=1
}

# The C program between .EX and .EE, with the roff escapes it uses undone.
example_c() {
	sed -n '/^\.EX$/,/^\.EE$/p' "$1" | sed -e '/^\.E[XE]$/d' \
		-e 's/\\e/\\/g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\&//g'
}

pages=$(ls docs/man/*.[1-8])
for page in $pages; do
	name=$(basename "$page")
	if ! groff -man -Tutf8 -ww -z "$page" 2>"$tmp/err" || [ -s "$tmp/err" ]; then
		fail "$name: groff -ww:"; cat "$tmp/err"
	fi
	if ! MANWIDTH=80 man --warnings=all -l "$page" >"$tmp/out" 2>"$tmp/err" ||
		[ -s "$tmp/err" ]; then
		fail "$name: man -l:"; cat "$tmp/err"
	fi
	grep -q '^NAME' "$tmp/out" || fail "$name: rendered page has no NAME section"
	wide=$(awk 'length > 80' "$tmp/out")
	[ -z "$wide" ] || fail "$name: lines wider than 80 columns:
$wide"
	lexgrog "$page" >/dev/null || fail "$name: lexgrog cannot parse its NAME section"
	case "$name" in
	*.3)
		example_c "$page" >"$tmp/example.c"
		[ -s "$tmp/example.c" ] || fail "$name: no EXAMPLES program"
		"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -fsyntax-only -Iinclude \
			"$tmp/example.c" || fail "$name: its example does not compile"
		;;
	esac
done

# Installed where man finds them by name, and removed again.
mandir="$tmp/dest/usr/share/man"
make --no-print-directory install-man DESTDIR="$tmp/dest" PREFIX=/usr >/dev/null
for page in $pages; do
	name=$(basename "$page")
	section=${name##*.}
	[ -f "$mandir/man$section/$name" ] || fail "$name: not installed in man$section"
	MANWIDTH=80 man -M "$mandir" "$section" "${name%.*}" >/dev/null 2>&1 ||
		fail "$name: man -M $mandir $section ${name%.*} does not find it"
done
make --no-print-directory uninstall-man DESTDIR="$tmp/dest" PREFIX=/usr >/dev/null
left=$(find "$tmp/dest" -type f)
[ -z "$left" ] || fail "uninstall-man left: $left"

[ "$failed" = 0 ] || exit 1
echo "check-man: $(echo "$pages" | wc -w) pages render cleanly, install and uninstall"
