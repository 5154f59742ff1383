#!/bin/sh
# One-way layers: no module under src/ names a module of a higher layer
# (`crate::x`, `$crate::x`, or `x` inside `use crate::{...}`), comments
# excepted. The layers, lowest first, as lib.rs describes them:
#   0 env error log consts range range_map   what every layer shares (and the
#                                         tests' helpers, test_common)
#   1 policy arch sysfs cpu      platform facts: CPU features, sysfs, the load-time choice
#   2 persist                    flush, fence, drain, msync
#   3 memops                     copies
#   4 map mode                   mappings and persistence modes
#   5 ffi api init testing       the C and Rust surfaces, the ELF constructor
# A module may use its own layer and those below. Usage: tests/layers.sh [ROOT]
set -eu
root=${1:-$(dirname "$0")/..}
cd "$root"
find src -name '*.rs' ! -path src/lib.rs | sort | perl -e '
my %rank = (env=>0, error=>0, log=>0, consts=>0, range=>0, range_map=>0, test_common=>0,
            policy=>1, arch=>1, sysfs=>1, cpu=>1,
            persist=>2, memops=>3, map=>4, mode=>4,
            ffi=>5, api=>5, init=>5, testing=>5);
my $bad = 0; my $files = 0;
while (my $path = <STDIN>) {
    chomp $path;
    my ($top) = $path =~ m{^src/([a-z_0-9]+)};
    die "layers.sh: $path: module $top has no layer; add it to the table\n"
        unless defined $rank{$top};
    open my $fh, "<", $path or die "$path: $!";
    my @lines = <$fh>;
    close $fh;
    $files++;
    # Comments (and doc comments) name other layers freely.
    s{^\s*//.*}{} for @lines;
    s{\s//.*}{} for @lines;
    my $text = join "", @lines;
    my @hits;
    while ($text =~ /\$?\bcrate::([a-z_][a-z0-9_]*)/g) {
        push @hits, [$1, pos $text];
    }
    # `use crate::{a, b::c, d::{e, f}}`: the names at the group'"'"'s top level.
    while ($text =~ /\bcrate::\{/g) {
        my $start = pos $text;
        my ($depth, $i, $top_level) = (1, $start, "");
        for (; $i < length $text && $depth > 0; $i++) {
            my $c = substr $text, $i, 1;
            $depth++ if $c eq "{";
            $depth-- if $c eq "}";
            $top_level .= $c if $depth == 1 && $c ne "{";
        }
        for my $item (split /,/, $top_level) {
            push @hits, [$1, $start] if $item =~ /^\s*([a-z_][a-z0-9_]*)/;
        }
    }
    for my $h (@hits) {
        my ($target, $pos) = @$h;
        next unless defined $rank{$target};
        next if $rank{$target} <= $rank{$top};
        my $line = 1 + (() = substr($text, 0, $pos) =~ /\n/g);
        print "$path:$line: $top (layer $rank{$top}) uses crate::$target (layer $rank{$target})\n";
        $bad++;
    }
}
die "layers.sh: no sources found\n" unless $files;
if ($bad) { print "layers.sh: $bad upward import(s)\n"; exit 1; }
print "layers.sh: $files files, every import points down or sideways\n";
'
# One reader of the environment: src/env.rs, which ignores it in privileged
# (setuid, setgid) programs as secure_getenv does. Test files may read theirs.
readers=$(grep -rnE 'std::env::var|getenv\(' src --include='*.rs' |
	grep -vE '^src/env\.rs:|^src/([^:]*/)?tests\.rs:|_tests\.rs:' || true)
if [ -n "$readers" ]; then
	echo "layers.sh: the environment is read outside src/env.rs (use crate::env::var):"
	echo "$readers"
	exit 1
fi
