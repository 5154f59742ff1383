#!/usr/bin/env python3
"""The per-row verdict of `make bench-policy` (bench/policy.sh).

usage: policy_report.py RAW_DIR RESULTS_MD

RAW_DIR is bench/run.sh's raw output with several variants of our library
(run-<round>-<label>.tsv, fio-<bs>-<label>.json, meta.tsv whose `variants`
line lists label:VAR=v,...). For every row: PMDK's time divided by each
variant's (the median over rounds of each run's median, as in report.py),
and which choice wins. A variant "wins" a row when it is at least NOISE
faster than our library with PMDK's choices (the `pmdk_choices` variant);
otherwise PMDK's choice stands there.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import (fio_bw, fio_sizes, fmt_ns, fmt_size, median_of, read_meta,  # noqa: E402
                    read_runs, spread)

BASE = "pmdk_choices"
# Ratios within 3 % of each other are ties (the noise bar: 0.97).
NOISE = 1.03


def rel_iqr(values):
    """Interquartile range across rounds relative to the median (0 for one round)."""
    if not values or len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4)
    return (q3 - q1) / statistics.median(values)


def verdict(ratios, noise):
    """The winning variant of one row (by ratio PMDK/variant), or BASE.
    noise[label]: that variant's relative IQR on the row; a win smaller than
    the two variants' IQRs together is reported as unclear."""
    base = ratios.get(BASE)
    if base is None:
        return "n/a"
    best = max((r, label) for label, r in ratios.items() if r is not None)
    if best[1] != BASE and best[0] >= base * NOISE:
        gain = best[0] / base - 1
        if gain < noise.get(best[1], 0) + noise.get(BASE, 0):
            return f"unclear: {best[1]} +{100 * gain:.0f} % within the spread"
        return f"**{best[1]}** (+{100 * gain:.0f} %)"
    return f"{BASE} (tie within {100 * (NOISE - 1):.0f} %)"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    raw, md_path = sys.argv[1:]
    meta = read_meta(raw)
    samples, order, run_meta = read_runs(raw)
    variants = [v.split(":", 1) for v in meta.get("variants", "").split()]
    labels = [label for label, _ in variants]
    if BASE not in labels:
        sys.exit(f"policy_report.py: no {BASE} variant in {meta.get('variants')}")
    rows = [k for k in order if k[0] == "lib"]

    md = [
        "# bench-policy: each choice of our library against PMDK",
        "",
        f"- CPU: `{meta['cpu']}` ({meta.get('cpu_id', '?')}; flags: {meta['cpu_flags'].strip()}); "
        f"kernel {meta['kernel']}",
        f"- Date: {meta['date']}; {meta['mode']} mode, {meta['rounds']} rounds, each running PMDK "
        f"then every variant below, {meta['elapsed_s']} s in all",
        f"- Load average (1/5/15 min): {meta.get('load_start', '?')} at the start, "
        f"{meta.get('load', '?')}",
        "- Run-to-run spread (median interquartile range / median): "
        + ", ".join(f"{lib} {spread(samples, lib)}" for lib in ["pmdk"] + labels),
        "",
        "Variants (our library, with these variables):",
        "",
    ]
    md += [f"- `{label}`: {('`' + env.replace(',', ' ') + '`') if env else '(none)'}"
           for label, env in variants]
    md += [
        "",
        "Cells: PMDK's time / the variant's time, so **>1.00 means that variant beats PMDK**. "
        f"Verdict: the variant at least {100 * (NOISE - 1):.0f} % faster than `{BASE}` on that row, "
        f"else `{BASE}` (PMDK's instruction choice is kept where nothing beats it); \"unclear\" "
        "when that gain is smaller than the two variants' run-to-run spreads (interquartile range "
        "over rounds / median) on the row together: rerun on a quieter machine or with more rounds.",
        "",
        "| operation | size | alignment | PMDK ns/op | " + " | ".join(labels) + " | verdict |",
        "|---|---:|---|---:|" + "---:|" * len(labels) + "---|",
    ]
    wins = {label: [] for label in labels}
    losses = {label: [] for label in labels}
    for key in rows:
        group, op, size, align = key
        p = median_of(samples, ("pmdk",) + key)
        ratios, noise = {}, {}
        for label in labels:
            v = median_of(samples, (label,) + key)
            ratios[label] = p / v if p and v else None
            noise[label] = rel_iqr(samples.get((label,) + key))
        cells = [op, fmt_size(size), align, fmt_ns(p) if p else "n/a"]
        cells += [f"{r:.2f}" if r is not None else "n/a" for r in ratios.values()]
        cells.append(verdict(ratios, noise))
        md.append("| " + " | ".join(cells) + " |")
        base = ratios.get(BASE)
        name = f"{op} {fmt_size(size)} {align}"
        for label, r in ratios.items():
            if label == BASE or r is None or base is None:
                continue
            if r >= base * NOISE:
                wins[label].append(f"{name} ({r / base:.2f})")
            elif r * NOISE <= base:
                losses[label].append(f"{name} ({r / base:.2f})")

    sizes = fio_sizes(raw)
    if sizes:
        md += ["", f"## fio, libpmem engine ({meta['fio']}), {meta['fio_secs']} s per run", "",
               "Cells: the variant's bandwidth / PMDK's (>1.00 = faster than PMDK); median of "
               f"{meta.get('fio_runs', '1')} alternating runs each.",
               "",
               "| block size | PMDK GB/s | " + " | ".join(labels) + " | verdict |",
               "|---:|---:|" + "---:|" * len(labels) + "---|"]
        for bs in sizes:
            p = fio_bw(raw, bs, "pmdk")[0]
            ratios = {}
            for label in labels:
                v = fio_bw(raw, bs, label)[0]
                ratios[label] = v / p if p and v else None
            cells = [bs.replace("k", " KiB"), f"{p / 1e9:.2f}" if p else "failed"]
            cells += [f"{r:.2f}" if r is not None else "failed" for r in ratios.values()]
            cells.append(verdict(ratios, {}))
            md.append("| " + " | ".join(cells) + " |")

    md += ["", f"## Per variant: rows it wins or loses against `{BASE}` (by {100 * (NOISE - 1):.0f} % or more)", ""]
    for label in labels:
        if label == BASE:
            continue
        md.append(f"- `{label}`: wins {len(wins[label])}, loses {len(losses[label])}")
        if wins[label]:
            md.append(f"  - wins: {'; '.join(wins[label])}")
        if losses[label]:
            md.append(f"  - loses: {'; '.join(losses[label])}")
    md.append("")
    with open(md_path, "w") as f:
        f.write("\n".join(md))


if __name__ == "__main__":
    main()
