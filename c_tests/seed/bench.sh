#!/usr/bin/env bash
# The costs the modes add: pmem_persist of 64 bytes on memory the library did
# not map (auto mode looks the range up first), and writing + persisting a
# 64 MiB file in fit mode against flush mode (time and resident memory).
set -euo pipefail
out=${1:?usage: bench.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
best() { # the fastest of 5 runs, in ns/call
	for _ in 1 2 3 4 5; do "$@"; done | sort -n | head -1
}
# fit mode with no fit mapping flushes through the same hook-free line flush
# as auto mode, without auto's mapping lookup: auto - fit is the lookup.
flush=$(PMEM_PERSIST_MODE=flush best "$here/persist_cost")
hook=$(PMEM_PERSIST_MODE=fit best "$here/persist_cost")
auto=$(PMEM_PERSIST_MODE=auto best "$here/persist_cost")
echo "bench: pmem_persist 64 B on heap: flush mode $flush ns/call," \
     "hooked line flush (fit, no fit mappings) $hook ns/call, auto mode $auto ns/call"
for m in flush fit; do
	rm -f "$out/bench.$m"
	echo "bench: 64 MiB in 4 KiB persists, $m mode: $(PMEM_PERSIST_MODE=$m "$here/fitbench" "$out/bench.$m" 64)"
	rm -f "$out/bench.$m"
done
