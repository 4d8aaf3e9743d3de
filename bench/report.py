#!/usr/bin/env python3
"""Writes the load section of BENCHMARKS.md and bench/ratios.svg from what
bench/run.sh measured (results.tsv, machine.tsv) and criterion's estimates.

The section sits between two marker lines; the rest of BENCHMARKS.md is kept.
"""
import argparse
import csv
import json
import os
import statistics
import sys

BEGIN = "<!-- bench/run.sh writes from here: begin -->"
END = "<!-- bench/run.sh writes up to here: end -->"

WORKLOADS = {
    "preflight": "Allowed preflight (`OPTIONS`, `Origin`, `ACRM: PUT`, `ACRH: content-type`)",
    "get": "Proxied GET (`Origin` allowed; the upstream answers `{\"id\":1}`)",
    "preflight-log": "Allowed preflight, access logs on",
    "get-log": "Proxied GET, access logs on",
}
SERVERS = {
    "preflight": "preflight serve",
    "nginx": "nginx (`map` + `add_header`)",
    "haproxy": "HAProxy (`http-request return`)",
    "rs/cors": "Go rs/cors + ReverseProxy",
    "express": "Express + cors",
    "axum": "axum + tower-http CorsLayer",
    "hyper-204": "bare hyper, fixed 204 (ceiling)",
    "upstream": "the upstream directly (ceiling)",
    "preflight-log": "preflight serve, access log to a file",
    "nginx-log": "nginx, access_log to a file (buffer=64k)",
}
BASE = {"preflight": "nginx", "get": "nginx", "preflight-log": "nginx-log", "get-log": "nginx-log"}
OURS = {"preflight": "preflight", "get": "preflight", "preflight-log": "preflight-log", "get-log": "preflight-log"}

# Criterion benchmarks kept in the table: (full id, what it measures).
CRITERION = [
    ("preflight_allowed/decide", "core: the allowed-preflight decision (`Policy::decide`)"),
    ("preflight_allowed/decide+write", "core: decide and write the answer's headers"),
    ("actual_allowed/decide+apply", "core: an allowed actual request, decide and apply"),
    ("hostile_acrh_1mib/decide", "core: a 1 MiB hostile ACRH, refused"),
    ("allowed preflight/preflight-tower", "tower: `CorsLayer` answers an allowed preflight"),
    ("allowed preflight/tower-http", "tower: tower-http's `CorsLayer`, same"),
    ("allowed actual request/preflight-tower", "tower: `CorsLayer`, an allowed GET"),
    ("allowed actual request/tower-http", "tower: tower-http's `CorsLayer`, same"),
]


def micros(text):
    """wrk's latency ("244.00us", "1.23ms", "2.00s") in microseconds."""
    for unit, factor in (("us", 1.0), ("ms", 1000.0), ("s", 1e6)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    raise ValueError(f"latency {text!r}")


def load_results(path):
    points = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            key = (row["workload"], row["server"])
            requests = int(row["requests"])
            p = points.setdefault(key, {"cpu": [], "rps": [], "p50": [], "p99": [], "rss": [], "errors": []})
            p["cpu"].append(float(row["cpu_s"]) * 1e6 / requests)
            p["rps"].append(float(row["rps"]))
            p["p50"].append(micros(row["p50"]))
            p["p99"].append(micros(row["p99"]))
            p["rss"].append(int(row["rss_kib"]))
            if row["errors"] not in ("-", ""):
                p["errors"].append(row["errors"].strip())
    out = {}
    for key, p in points.items():
        out[key] = {
            "cpu": statistics.median(p["cpu"]),
            "cpu_range": (min(p["cpu"]), max(p["cpu"])),
            "rps": statistics.median(p["rps"]),
            "p50": statistics.median(p["p50"]),
            "p99": statistics.median(p["p99"]),
            "rss": max(p["rss"]),
            "rounds": len(p["cpu"]),
            "errors": p["errors"],
        }
    return out


def load_machine(path):
    m = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            m[k] = v
    return m


def load_criterion(root):
    found = {}
    if not os.path.isdir(root):
        return found
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        try:
            with open(os.path.join(dirpath, "benchmark.json")) as f:
                full_id = json.load(f)["full_id"]
            with open(os.path.join(dirpath, "estimates.json")) as f:
                median = json.load(f)["median"]["point_estimate"]
            found[full_id] = (median, os.path.getmtime(os.path.join(dirpath, "estimates.json")))
        except (OSError, KeyError, ValueError):
            continue
    return found


def fmt_us(v):
    return f"{v:,.0f} µs" if v >= 100 else f"{v:.1f} µs"


def fmt_ns(v):
    return f"{v / 1000:.2f} µs" if v >= 10000 else f"{v:.1f} ns"


def table(res, workload):
    base = res.get((workload, BASE[workload]))
    rows = [
        "| server | CPU per request | ratio to " + BASE[workload] + " | requests/s | p50 | p99 | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (w, s), p in res.items():
        if w != workload:
            continue
        ratio = f"{p['cpu'] / base['cpu']:.2f}x" if base else "-"
        lo, hi = p["cpu_range"]
        name = SERVERS.get(s, s)
        if s == OURS[workload]:
            name = f"**{name}**"
        err = f" ({'; '.join(sorted(set(p['errors'])))})" if p["errors"] else ""
        rows.append(
            f"| {name}{err} | {p['cpu']:.2f} µs ({lo:.2f}–{hi:.2f}) | {ratio} | {p['rps']:,.0f} | "
            f"{fmt_us(p['p50'])} | {fmt_us(p['p99'])} | {p['rss'] / 1024:.1f} MiB |"
        )
    return "\n".join(rows)


def targets(res, crit):
    rows = ["| target | measured | met? |", "|---|---|---|"]

    def ratio(w, a, b):
        pa, pb = res.get((w, a)), res.get((w, b))
        return None if not pa or not pb else pa["cpu"] / pb["cpu"]

    def row(what, value, limit, shown):
        if value is None:
            rows.append(f"| {what} | not measured | - |")
        else:
            rows.append(f"| {what} | {shown} | {'yes' if value <= limit else '**no**'} |")

    r = ratio("preflight", "preflight", "nginx")
    row("preflight CPU/request ≤ 1.0x nginx", r, 1.0, f"{r:.2f}x" if r else "")
    r = ratio("preflight", "preflight", "hyper-204")
    row("preflight CPU/request ≤ 1.1x bare hyper", r, 1.1, f"{r:.2f}x" if r else "")
    r = ratio("get", "preflight", "nginx")
    row("proxied GET CPU/request ≤ 1.0x nginx", r, 1.0, f"{r:.2f}x" if r else "")
    r = ratio("preflight-log", "preflight-log", "nginx-log")
    row("preflight, logs on, CPU/request ≤ 1.0x nginx logs on", r, 1.0, f"{r:.2f}x" if r else "")
    r = ratio("get-log", "preflight-log", "nginx-log")
    row("proxied GET, logs on, CPU/request ≤ 1.0x nginx logs on", r, 1.0, f"{r:.2f}x" if r else "")
    for w, label in (("preflight", "preflight"), ("get", "proxied GET")):
        a, b = res.get((w, "preflight")), res.get((w, "nginx"))
        if a and b:
            row(f"{label} p99 no worse than nginx", a["p99"] / b["p99"], 1.0,
                f"{fmt_us(a['p99'])} vs {fmt_us(b['p99'])}")
    rss = max((p["rss"] for (w, s), p in res.items() if s.startswith("preflight")), default=None)
    row("preflight's peak RSS under load ≤ 30 MiB", None if rss is None else rss / 1024, 30.0,
        f"{rss / 1024:.1f} MiB" if rss else "")
    d = crit.get("preflight_allowed/decide")
    row("allowed-preflight decision ≤ 150 ns (criterion)", None if d is None else d[0], 150.0,
        fmt_ns(d[0]) if d else "")
    return "\n".join(rows)


def chart(res, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = []
    for w in ("preflight", "get", "preflight-log", "get-log"):
        base = res.get((w, BASE[w]))
        if not base:
            continue
        items = [(SERVERS.get(s, s), p["cpu"] / base["cpu"], s == OURS[w])
                 for (ww, s), p in res.items() if ww == w]
        items.sort(key=lambda t: t[1])
        groups.append((WORKLOADS[w].split(" (")[0], BASE[w], items))
    heights = [max(1.6, 0.38 * len(g[2]) + 0.9) for g in groups]
    fig, axes = plt.subplots(len(groups), 1, figsize=(8.5, sum(heights)),
                             gridspec_kw={"height_ratios": heights})
    if len(groups) == 1:
        axes = [axes]
    for ax, (title, base, items) in zip(axes, groups):
        names = [n for n, _, _ in items]
        vals = [v for _, v, _ in items]
        colors = ["#c0392b" if ours else "#7f8c8d" for _, _, ours in items]
        ax.barh(names, vals, color=colors)
        ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:.2f}x", va="center", fontsize=8)
        ax.set_title(f"{title}: server CPU per request, ratio to {base} (lower is better)", fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlim(0, max(vals) * 1.18)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})


def section(res, machine, crit, chart_rel):
    out = [BEGIN, "", "## preflight serve against nginx and its peers (bench/run.sh)", ""]
    load = machine.get("load", "?")
    out.append(
        f"Taken {machine.get('date', '?')} by `bench/run.sh` ({machine.get('params', '')}; the whole "
        f"run took {machine.get('elapsed', '?')}). Load average at the end of the load points: {load} "
        f"on {machine.get('cores', '?')} cores."
    )
    note = os.environ.get("BENCH_NOTE")
    if note:
        out += ["", f"**Note.** {note}"]
    out += ["", "| | |", "|---|---|"]
    for k in ("cpu", "cores", "kernel", "preflight", "rustc", "nginx", "haproxy", "wrk", "go", "node", "axum"):
        out.append(f"| {k} | {machine.get(k, '?')} |")
    out += [
        "",
        "**Method.** Every server on core 1, `wrk -t1 -c50 --latency` on core 0, the upstream (an nginx",
        "answering `{\"id\":1}` with `X-Request-Id`) on core 1 too; 127.0.0.1 only. Access logs off",
        "except in the logs-on pair. CPU per request: utime+stime of the server's process (all threads)",
        "from `/proc/PID/stat`, read before and after the point, divided by the requests wrk counted;",
        "for a proxy this is the proxy's own CPU, not the upstream's. Every configuration's answer is",
        "checked with curl before it is timed. A warm-up point of each, then interleaved rounds in ABBA",
        "order; each figure is the median of the rounds (the CPU column gives the rounds' range).",
        "Peak RSS: `VmHWM`. Configurations: `bench/conf/`, `bench/peers/`.",
        "",
        "```sh",
        "bench/run.sh        # ROUNDS=3 DUR=5 WARM=1 CONNS=50; installs missing peers",
        "```",
        "",
        f"![CPU per request, ratio to nginx]({chart_rel})",
        "",
    ]
    for w in ("preflight", "get", "preflight-log", "get-log"):
        if any(k[0] == w for k in res):
            out += [f"### {WORKLOADS[w]}", "", table(res, w), ""]
    out += ["### Targets (ratios from this run)", "", targets(res, crit), ""]
    out += ["### criterion (core and tower layer)", ""]
    rows = [(fid, what, crit[fid]) for fid, what in CRITERION if fid in crit]
    if rows:
        out += [
            "`cargo bench -p preflight-core --bench decide` and `-p preflight-tower --bench layer`"
            " (`--warm-up-time 1 --measurement-time 2`), run by `bench/run.sh` after the load points;"
            " medians.",
            "",
            "| benchmark | what | median |",
            "|---|---|---:|",
        ]
        for fid, what, (median, _mtime) in rows:
            out.append(f"| `{fid}` | {what} | {fmt_ns(median)} |")
    else:
        out.append("No criterion results found (SKIP_CRITERION=1 and none from an earlier run).")
    out += ["", END]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--criterion", required=True)
    ap.add_argument("--benchmarks", required=True)
    ap.add_argument("--chart", required=True)
    a = ap.parse_args()
    res = load_results(a.results)
    machine = load_machine(a.machine)
    crit = load_criterion(a.criterion)
    chart(res, a.chart)
    rel = os.path.relpath(a.chart, os.path.dirname(os.path.abspath(a.benchmarks)))
    text = section(res, machine, crit, rel)
    with open(a.benchmarks) as f:
        doc = f.read()
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        doc = head + text + ("\n" + tail if tail else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    with open(a.benchmarks, "w") as f:
        f.write(doc)
    print(f"wrote {a.benchmarks} and {a.chart}", file=sys.stderr)


if __name__ == "__main__":
    main()
