#!/usr/bin/env python3
"""Turn bench/run.sh's raw output into bench/results/<cpu>.md and gnuplot data.

usage: report.py RAW_DIR RESULTS_MD PLOT_DAT

RAW_DIR holds meta.tsv, run-<round>-<lib>.tsv (pmembench output) and
fio-<bs>-<lib>.json/.err. Every figure is the median over rounds of each
run's own median; GB/s is derived from that median time (1 GB = 1e9 bytes).
"""
import glob
import json
import os
import re
import statistics
import sys

LIBS = ("pmdk", "ours")
RATIO_HEAD = "speed ratio PMDK/ours (PMDK time / our time; >1.00 = ours faster)"


def read_meta(raw):
    meta = {}
    with open(os.path.join(raw, "meta.tsv")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            meta[key] = value
    return meta


def read_runs(raw):
    """Returns (samples, order, run_meta): samples[(lib, group, op, size, align)]
    is a list of ns/op, one per run; order lists keys (lib-free) as first seen;
    run_meta[lib] is the '#' lines of that library's first run."""
    samples, order, run_meta = {}, [], {}
    paths = glob.glob(os.path.join(raw, "run-*-*.tsv"))
    paths.sort(key=lambda p: int(re.search(r"run-(\d+)-", p).group(1)))
    for path in paths:
        lib = re.search(r"run-\d+-(\w+)\.tsv$", path).group(1)
        with open(path) as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                if fields[0].startswith("#"):
                    run_meta.setdefault(lib, {}).setdefault(fields[0][1:].strip(), fields[1])
                    continue
                _, group, op, size, align, ns = fields
                key = (group, op, int(size), align)
                if key not in order:
                    order.append(key)
                samples.setdefault((lib,) + key, []).append(float(ns))
    return samples, order, run_meta


def fmt_size(n):
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def fmt_ns(ns):
    return f"{ns:,.0f}" if ns >= 100 else f"{ns:.1f}"


def gbps(size, ns):
    return size / ns


def median_of(samples, key):
    values = samples.get(key)
    return statistics.median(values) if values else None


def lib_table(samples, order):
    out = [
        f"| operation | size | alignment | PMDK ns/op | ours ns/op | PMDK GB/s | ours GB/s | {RATIO_HEAD} |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for group, op, size, align in order:
        if group != "lib":
            continue
        p = median_of(samples, ("pmdk", group, op, size, align))
        o = median_of(samples, ("ours", group, op, size, align))
        cells = [op, fmt_size(size), align]
        for ns in (p, o):
            cells.append(fmt_ns(ns) if ns else "n/a")
        for ns in (p, o):
            cells.append(f"{gbps(size, ns):.2f}" if ns else "n/a")
        cells.append(f"**{p / o:.2f}**" if p and o else "n/a")
        out.append("| " + " | ".join(cells) + " |")
    return out


# Which library row each ceiling row bounds.
CEILING_OF = {
    "NT-store copy+SFENCE": "pmem_memcpy_persist",
    "NT-store fill+SFENCE": "pmem_memset_persist",
}


def machine_samples(samples, key):
    """Ceiling/floor rows run under both libraries; pool every run."""
    return samples.get(("pmdk",) + key, []) + samples.get(("ours",) + key, [])


def ceiling_table(samples, order):
    out = [
        "| sequence (no library) | size | ns/op | GB/s | bounds | PMDK % of ceiling | ours % of ceiling |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for key in order:
        group, op, size, align = key
        if group != "ceiling":
            continue
        ns = statistics.median(machine_samples(samples, key))
        lib_op = CEILING_OF[op]
        cells = [op, fmt_size(size), fmt_ns(ns), f"{gbps(size, ns):.2f}", f"{lib_op} aligned"]
        for lib in LIBS:
            l_ns = median_of(samples, (lib, "lib", lib_op, size, "aligned"))
            cells.append(f"{100 * ns / l_ns:.0f} %" if l_ns else "n/a")
        out.append("| " + " | ".join(cells) + " |")
    return out


def floor_table(samples, order, run_meta):
    out = ["| sequence that makes 64 B durable (no library) | ns/op |", "|---|---:|"]
    for key in order:
        if key[0] == "floor":
            out.append(f"| {key[1]} | {fmt_ns(statistics.median(machine_samples(samples, key)))} |")
    for lib_meta in run_meta.values():
        if "skipped" in lib_meta:
            out.append(f"| {lib_meta['skipped']} (skipped) | — |")
            break
    out.append("")
    out.append("The same 64 B through the libraries, for comparison:")
    out.append("")
    for op in ("pmem_memcpy_persist", "pmem_persist", "pmem_flush+pmem_drain"):
        vals = [median_of(samples, (lib, "lib", op, 64, "aligned")) for lib in LIBS]
        if all(vals):
            out.append(f"- {op} 64 B aligned: PMDK {fmt_ns(vals[0])} ns, ours {fmt_ns(vals[1])} ns")
    return out


def fio_bw(raw, bs, lib):
    """Median write bandwidth (bytes/s) of the fio runs of lib at bs, or
    (None, first error) when none succeeded."""
    bws, err = [], None
    for path in sorted(glob.glob(os.path.join(raw, f"fio-{bs}-{lib}-*.json"))):
        try:
            with open(path) as f:
                job = json.load(f)["jobs"][0]
            if job["error"]:
                raise ValueError(f"fio error {job['error']}")
            bws.append(job["write"]["bw_bytes"])
        except (OSError, ValueError, KeyError, IndexError) as e:
            if err is None:
                err = str(e)
                errfile = path[:-5] + ".err"
                if os.path.exists(errfile):
                    with open(errfile) as f:
                        lines = f.read().strip().splitlines()
                    err = lines[0] if lines else err
    return (statistics.median(bws), None) if bws else (None, err or "no run")


def fio_sizes(raw):
    return sorted({re.search(r"fio-(\w+?)-", p).group(1) for p in glob.glob(os.path.join(raw, "fio-*.json"))},
                  key=lambda s: int(s[:-1]) * (1024 if s.endswith("k") else 1))


def fio_table(raw):
    out = [
        "| block size | PMDK GB/s | ours GB/s | speed ratio ours/PMDK (>1.00 = ours faster) |",
        "|---:|---:|---:|---:|",
    ]
    for bs in fio_sizes(raw):
        bw, cells = {}, [bs.replace("k", " KiB")]
        for lib in LIBS:
            value, err = fio_bw(raw, bs, lib)
            if value is None:
                cells.append(f"failed: {err}".replace("|", "/"))
            else:
                bw[lib] = value / 1e9
                cells.append(f"{bw[lib]:.2f}")
        cells.append(f"**{bw['ours'] / bw['pmdk']:.2f}**" if len(bw) == 2 else "n/a")
        out.append("| " + " | ".join(cells) + " |")
    return out


def spread(samples, lib):
    """Median over library rows of the interquartile range across rounds,
    relative to the row's median, in %."""
    rel = []
    for k, v in samples.items():
        if k[0] == lib and k[1] == "lib" and len(v) > 1:
            q1, _, q3 = statistics.quantiles(v, n=4)
            rel.append((q3 - q1) / statistics.median(v))
    return f"{100 * statistics.median(rel):.0f} %" if rel else "n/a (one round)"


def pmem_warnings(run_meta):
    out = []
    for lib, m in sorted(run_meta.items()):
        if m.get("map_is_pmem") != "1" or m.get("pmem_is_pmem") != "1":
            out.append(f"- **Note:** {lib} did not report the mapping as pmem under "
                       "PMEM_IS_PMEM_FORCE=1, so it may not be on its pmem code paths.")
    return out


def write_plot_data(samples, path):
    op = "pmem_memcpy_persist"
    sizes = sorted({k[3] for k in samples if k[1] == "lib" and k[2] == op})
    with open(path, "w") as f:
        f.write("# size_bytes pmdk_GBps ours_GBps ceiling_GBps\n")
        for size in sizes:
            row = [size]
            for lib in LIBS:
                ns = median_of(samples, (lib, "lib", op, size, "aligned"))
                row.append(gbps(size, ns) if ns else "NaN")
            ceil = machine_samples(samples, ("ceiling", "NT-store copy+SFENCE", size, "aligned"))
            row.append(gbps(size, statistics.median(ceil)) if ceil else "NaN")
            f.write(" ".join(str(v) for v in row) + "\n")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    raw, md_path, dat_path = sys.argv[1:]
    meta = read_meta(raw)
    samples, order, run_meta = read_runs(raw)
    if not order:
        sys.exit("report.py: no pmembench rows in " + raw)

    def lib_line(lib):
        m = run_meta.get(lib, {})
        path = m.get("library", meta[lib])
        root = meta.get("root", "/nonexistent") + "/"
        if path.startswith(root):  # the repository's own build
            path = path[len(root):]
        return (f"- {'PMDK' if lib == 'pmdk' else 'ours'}: `{path}` "
                f"(verified with dladdr in every run; pmem_map_file is_pmem={m.get('map_is_pmem', '?')}, "
                f"pmem_is_pmem={m.get('pmem_is_pmem', '?')})")

    md = [
        "# libpmem benchmark: ours vs PMDK",
        "",
        f"- CPU: `{meta['cpu']}` ({meta.get('cpu_id', '?')}; flags: {meta['cpu_flags'].strip()}); "
        f"kernel {meta['kernel']}",
        f"- Load average (1/5/15 min): {meta.get('load_start', '?')} at the start, "
        f"{meta.get('load', '?')}",
        f"- Date: {meta['date']}; {meta['mode']} mode, {meta['rounds']} rounds of alternating runs "
        f"(PMDK, ours, ...), {meta['elapsed_s']} s in all",
        lib_line("pmdk"),
        lib_line("ours"),
        f"- Destination: a pmem_map_file() mapping in {meta['dir']}, PMEM_IS_PMEM_FORCE=1; "
        f"each operation writes the next slot of a 128 MiB ring (L3 here: {meta.get('l3', '?')}), so lines are cold "
        "and flushes are real. Copy sources are in DRAM.",
        f"- Each figure is the median over rounds of the per-run median of 5 timed batches "
        f"(~{meta['batch_ms']} ms each). GB/s = bytes per operation / time (1 GB = 10^9 B).",
        f"- Run-to-run spread (median over rows of the interquartile range across rounds / median): "
        f"PMDK {spread(samples, 'pmdk')}, ours {spread(samples, 'ours')}; "
        "ratios closer to 1.00 than that may be noise.",
    ]
    md += pmem_warnings(run_meta)
    md += [
        "",
        "## Library calls",
        "",
        "Ratio column: PMDK's time divided by ours, so **>1.00 means ours is faster**. "
        "memmove rows are overlapping moves with the destination size/2 above the source "
        "(the backward path); the persist and flush rows include one 8-byte store per line "
        "that dirties the range first (identical for both).",
        "",
    ]
    md += lib_table(samples, order)
    md += ["", f"## fio, libpmem engine ({meta['fio']})", "",
           f"Sequential writes (`--rw=write --direct=1`, i.e. non-temporal copies) to a 256 MiB "
           f"file in {meta['dir'].split()[0]}, {meta['fio_secs']} s each, "
           f"{meta.get('fio_runs', '1')} alternating runs per library, median of fio's JSON bandwidth.",
           ""]
    md += fio_table(raw)
    md += ["", "## Machine ceiling", "",
           "Plain non-temporal stores + SFENCE from the benchmark itself, same ring, "
           f"{run_meta.get('pmdk', {}).get('ceiling_isa', '?')} stores (MOVNTI for the 8 B row). "
           "A library at 100 % matches it; above 100 % is noise or a cheaper trick.",
           ""]
    md += ceiling_table(samples, order)
    md += ["", "## Floor: cheapest durable 64 B write", ""]
    md += floor_table(samples, order, run_meta)
    png = os.path.splitext(os.path.basename(md_path))[0] + ".png"
    md += ["", f"![GB/s against size]({png})", ""]
    with open(md_path, "w") as f:
        f.write("\n".join(md))
    write_plot_data(samples, dat_path)


if __name__ == "__main__":
    main()
