"""The scaling benchmark's report: bench.md (tables, growth, verdicts), bench.json and two charts."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

LINEAR_TOLERANCE = 1.15  # a growth exponent up to this counts as linear (timing noise on 2 cores)

# (label, how to read it from one size, unit)
COSTS = [
    ("advisor ingest, cold", lambda s: s["advisor"]["ingest_cold_s"], "s"),
    ("advisor search p50", lambda s: s["advisor"]["search_p50_ms"], "ms"),
    ("advisor ask p50", lambda s: s["advisor"]["ask_p50_ms"], "ms"),
    ("advisor query process peak memory", lambda s: s["advisor"]["peak_mb"], "MB"),
    ("recipe build (its ingest)", lambda s: s["recipe"]["seconds"], "s"),
    ("recipe search p50", lambda s: s["recipe"]["search_p50_ms"], "ms"),
    ("recipe peak memory", lambda s: s["recipe"]["peak_mb"], "MB"),
]


def exponent(a: dict, b: dict, get) -> float | None:
    """b in cost ~ size^b between two sizes (size = advisor passages); 1.0 is linear."""
    ratio = b["advisor"]["chunks"] / a["advisor"]["chunks"]
    ca, cb = get(a), get(b)
    return math.log(cb / ca) / math.log(ratio) if ca > 0 and cb > 0 and ratio > 1 else None


def verdict(x: float | None) -> str:
    if x is None:
        return "—"
    if x < 0.3:
        return f"{x:.2f} (nearly flat)"
    if x <= LINEAR_TOLERANCE:
        return f"{x:.2f} (linear or better)"
    return f"{x:.2f} (**worse than linear**)"


def to_markdown(figures: dict) -> str:
    sizes = figures["sizes"]
    out = [
        "# Scaling benchmark",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M}, {figures['machine']['cpus']} CPUs, Python {figures['machine']['python']}; "
        f"whole run {figures['minutes']:.1f} min (`make bench`).",
        "",
        "Corpora: the bundled corpus (1x), then the real documents once plus varied copies of each up to "
        "about 10 and 100 times its bytes (evals/scale.py: another title, each section under another "
        "section's heading, about 60% of its sentences shuffled, now and then one from elsewhere; sentences "
        "holding a phrase the evaluation sets need are left out of copies, so a question must find the real "
        "passage among look-alikes). Copies still take up the 800-character reading window. Questions: "
        "evals/dev.jsonl (90 answerable, 108 for latency).",
        "",
        "## Advisor",
        "",
        "| size | passages | corpus MB | ingest cold s | passages/s | unchanged s | ingest peak MB | index load s "
        "| search p50 / p95 ms | ask p50 / p95 ms | query peak MB | hit@800 | MRR |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in sizes:
        a = s["advisor"]
        out.append(
            f"| {s['factor']}x | {a['chunks']:,} | {s['corpus_bytes'] / 1e6:.1f} | {a['ingest_cold_s']:.1f} "
            f"| {a['ingest_chunks_per_s']:.0f} | {a['ingest_unchanged_s']:.2f} | {a['ingest_peak_mb']:.0f} "
            f"| {a['load_s']:.1f} | {a['search_p50_ms']:.1f} / {a['search_p95_ms']:.1f} "
            f"| {a['ask_p50_ms']:.1f} / {a['ask_p95_ms']:.1f} | {a['peak_mb']:.0f} | {a['hit800']:.3f} | {a['mrr']:.3f} |"
        )
    out += [
        "",
        "## LangChain quickstart recipe (same machine, same corpora and questions)",
        "",
        "| size | chunks | build s (= its ingest; nothing is kept) | chunks/s | search p50 / p95 ms | peak MB "
        "| hit@800 | MRR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in sizes:
        r = s["recipe"]
        out.append(
            f"| {s['factor']}x | {r['chunks']:,} | {r['seconds']:.1f} | {r['chunks'] / r['seconds']:.0f} "
            f"| {r['search_p50_ms']:.1f} / {r['search_p95_ms']:.1f} | {r['peak_mb']:.0f} | {r['hit800']:.3f} | {r['mrr']:.3f} |"
        )
    out += [
        "",
        "## Advisor against the recipe",
        "",
        "| size | search p50 advisor / recipe | ask p50 advisor / recipe search | found (hit@800) advisor / recipe | goal: faster and ≥ 4x found |",
        "|---|---|---|---|---|",
    ]
    for s in sizes:
        a, r = s["advisor"], s["recipe"]
        speed = a["search_p50_ms"] / r["search_p50_ms"]
        ask = a["ask_p50_ms"] / r["search_p50_ms"]
        found = a["hit800"] / r["hit800"] if r["hit800"] else math.inf
        ok = speed < 1 and found >= 4
        out.append(
            f"| {s['factor']}x | {speed:.2f} | {ask:.2f} | {'∞' if math.isinf(found) else f'{found:.1f}x'} "
            f"({a['hit800']:.3f} / {r['hit800']:.3f}) | {'met' if ok else 'not met'} |"
        )
    http = [s for s in sizes if s.get("http")]
    if http:
        out += [
            "",
            "## HTTP (`smebot serve`, POST /api/chat, 8 clients on loopback, no language model)",
            "",
            "| size | requests | requests/s | p50 ms | p95 ms | errors | server RSS MB |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in http:
            h = s["http"]
            out.append(
                f"| {s['factor']}x | {h['requests']:,} | {h['requests_per_s']:.0f} | {h['p50_ms']:.0f} | {h['p95_ms']:.0f} "
                f"| {h['errors']} | {h['server_rss_mb']:.0f} |"
            )
    if len(sizes) > 1:
        out += [
            "",
            "## How cost grows (exponent b in cost ∝ passages^b; 1.0 = linear)",
            "",
            "| cost | " + " | ".join(f"{a['factor']}x → {b['factor']}x" for a, b in zip(sizes, sizes[1:])) + " |",
            "|---|" + "---|" * (len(sizes) - 1),
        ]
        for label, get, _ in COSTS:
            out.append(f"| {label} | " + " | ".join(verdict(exponent(a, b, get)) for a, b in zip(sizes, sizes[1:])) + " |")
    out += ["", "![cost against corpus size](bench-cost.png)", "", "![quality against corpus size](bench-quality.png)", ""]
    return "\n".join(out)


def charts(figures: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = figures["sizes"]
    x = [s["advisor"]["chunks"] for s in sizes]
    xr = [s["recipe"]["chunks"] for s in sizes]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    panels = [
        ("ingest (s)", [("advisor, cold", x, [s["advisor"]["ingest_cold_s"] for s in sizes]),
                        ("advisor, unchanged", x, [s["advisor"]["ingest_unchanged_s"] for s in sizes]),
                        ("recipe build", xr, [s["recipe"]["seconds"] for s in sizes])]),
        ("query latency p50 (ms)", [("advisor search", x, [s["advisor"]["search_p50_ms"] for s in sizes]),
                                    ("advisor ask", x, [s["advisor"]["ask_p50_ms"] for s in sizes]),
                                    ("recipe search", xr, [s["recipe"]["search_p50_ms"] for s in sizes])]),
        ("peak memory (MB)", [("advisor queries", x, [s["advisor"]["peak_mb"] for s in sizes]),
                              ("advisor ingest", x, [s["advisor"]["ingest_peak_mb"] for s in sizes]),
                              ("recipe", xr, [s["recipe"]["peak_mb"] for s in sizes])]),
    ]
    for ax, (title, lines) in zip(axes, panels):
        for label, xs, ys in lines:
            ax.plot(xs, ys, marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("passages (chunks) in the index")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Cost against corpus size (log-log: slope 1 = linear)")
    fig.tight_layout()
    fig.savefig(out / "bench-cost.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    labels = [f"{s['factor']}x" for s in sizes]
    ax.plot(labels, [s["advisor"]["hit800"] for s in sizes], marker="o", label="advisor (hybrid + term map)")
    ax.plot(labels, [s["recipe"]["hit800"] for s in sizes], marker="o", label="LangChain quickstart recipe")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("hit within 800 characters (real passages only)")
    ax.set_xlabel("corpus size")
    ax.set_title("Quality as the corpus grows (dev questions)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "bench-quality.png", dpi=110)
    plt.close(fig)


def write_report(figures: dict, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False), encoding="utf-8")
    charts(figures, out)
    path = out / "bench.md"
    path.write_text(to_markdown(figures), encoding="utf-8")
    return path
