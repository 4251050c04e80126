"""`make bench`: how the advisor's cost grows with the corpus, beside the LangChain quickstart recipe.

For each size (the bundled corpus, then about 10 and 100 times it, built from the real text by
evals/scale.py) it measures, each in a fresh process so memory figures do not mix:

- ingest: cold (empty data dir) and unchanged (`smebot ingest` again, process start included),
  passages per second and peak memory (VmHWM);
- queries: search and ask latency p50/p95 over the dev questions with the models loaded, quality
  (hit within 800 characters and MRR, counting only the real passages among the copies), the
  time to load the index, and peak memory;
- the same for the recipe (RecursiveCharacterTextSplitter 1000/200, Chroma, MiniLM): its ingest
  is its whole build, as it keeps nothing between runs;
- HTTP: a short bounded load on /api/chat against `smebot serve` on that index.

It writes evals/reports/bench.md, bench.json and bench-*.png, with the growth exponent between
sizes (1.0 = linear) for each cost. Targets live here, not in timed tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .metrics import RetrievalScore, load_set

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "evals" / "reports"
DEV = ROOT / "evals" / "dev.jsonl"
FILLER = "〓"  # a copy's text in the reading window: it takes room but holds no needed phrase


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else 0.0


def _real_texts(results: list[tuple[str, str]]) -> list[str]:
    from .scale import is_real

    return [text if is_real(source) else FILLER * len(text) for text, source in results]


# -- children: each runs in its own process and prints one JSON line -----------------------------


def child_ingest(corpus: Path, data: Path) -> dict:
    from bot.settings import Settings
    from ingest.pipeline import ingest

    started = time.perf_counter()
    report = ingest(Settings(data_dir=data, corpus_dir=corpus))
    return {"seconds": time.perf_counter() - started, "chunks": report.chunks, "peak_mb": peak_mb()}


def child_query(corpus: Path, data: Path) -> dict:
    from bot.advisor import Advisor
    from bot.settings import Settings
    from bot.store import ConversationStore

    started = time.perf_counter()
    advisor = Advisor(Settings(data_dir=data, corpus_dir=corpus), store=ConversationStore("sqlite://"))
    load_s = time.perf_counter() - started
    questions = load_set(DEV)
    for q in questions[:10]:  # warm-up: first calls pay for lazy imports and caches
        advisor.ask(q.question)
    score = RetrievalScore()
    search_ms, ask_ms = [], []
    for q in questions:
        t = time.perf_counter()
        results = advisor.search(q.question, 5)
        search_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        advisor.ask(q.question)
        ask_ms.append((time.perf_counter() - t) * 1000)
        if q.answerable:
            score.add(q, _real_texts([(r.chunk.text, r.chunk.source) for r in results]))
    f = score.figures()
    return {
        "load_s": load_s,
        "search_p50_ms": statistics.median(search_ms),
        "search_p95_ms": pct(search_ms, 0.95),
        "ask_p50_ms": statistics.median(ask_ms),
        "ask_p95_ms": pct(ask_ms, 0.95),
        "hit800": f["hit@800"],
        "mrr": f["mrr"],
        "peak_mb": peak_mb(),
    }


def child_recipe(corpus: Path) -> dict:
    from .recipe import QuickstartRecipe

    started = time.perf_counter()
    recipe = QuickstartRecipe(corpus)
    build_s = time.perf_counter() - started
    questions = load_set(DEV)
    for q in questions[:10]:
        recipe.search(q.question)
    score = RetrievalScore()
    search_ms = []
    for q in questions:
        t = time.perf_counter()
        results = recipe.search_with_sources(q.question)
        search_ms.append((time.perf_counter() - t) * 1000)
        if q.answerable:
            score.add(q, _real_texts(results))
    f = score.figures()
    return {
        "seconds": build_s,
        "chunks": recipe.size,
        "search_p50_ms": statistics.median(search_ms),
        "search_p95_ms": pct(search_ms, 0.95),
        "hit800": f["hit@800"],
        "mrr": f["mrr"],
        "peak_mb": peak_mb(),
    }


# The scaled corpora are meant to be large: the index-wide passage cap that guards a deployment's corpus
# (SMEBOT_MAX_INDEX_PASSAGES) is lifted for them, or the 100x copy would be cut short.
SCALE_ENV = {"SMEBOT_MAX_INDEX_PASSAGES": "10000000"}


def _run_child(*args: str, env: dict | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "evals.bench", "--child", *args],
        cwd=ROOT, env={**os.environ, **SCALE_ENV, **(env or {})}, check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the run ------------------------------------------------------------------------------------


def measure_size(factor: int, work: Path, http_seconds: float, step) -> dict:
    from .load import run_load
    from .scale import build, needed_phrases

    corpus, data = work / f"corpus-{factor}x", work / f"data-{factor}x"
    step(f"{factor}x: building the corpus")
    built = build(ROOT / "corpus", corpus, factor, leave_out=needed_phrases(sorted((ROOT / "evals").glob("*.jsonl"))))
    step(f"{factor}x: advisor ingest (cold)")
    cold = _run_child("ingest", str(corpus), str(data))
    step(f"{factor}x: advisor ingest (unchanged, as `smebot ingest`)")
    smebot = Path(sys.executable).with_name("smebot")
    started = time.perf_counter()
    subprocess.run([str(smebot), "ingest"], check=True, capture_output=True, cwd=ROOT,
                   env={**os.environ, **SCALE_ENV, "SMEBOT_DATA_DIR": str(data), "SMEBOT_CORPUS_DIR": str(corpus)})
    unchanged_s = time.perf_counter() - started
    step(f"{factor}x: advisor queries")
    query = _run_child("query", str(corpus), str(data))
    step(f"{factor}x: recipe build and queries")
    recipe = _run_child("recipe", str(corpus))
    http = None
    if http_seconds > 0:
        step(f"{factor}x: HTTP load ({http_seconds:.0f} s)")
        http = run_load(data, http_seconds, 8)
    return {
        "factor": factor,
        "corpus_bytes": built["bytes"],
        "advisor": {
            "chunks": cold["chunks"],
            "ingest_cold_s": cold["seconds"],
            "ingest_chunks_per_s": cold["chunks"] / cold["seconds"],
            "ingest_unchanged_s": unchanged_s,
            "ingest_peak_mb": cold["peak_mb"],
            **{k: v for k, v in query.items()},
        },
        "recipe": recipe,
        "http": http,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,10,100", help="corpus sizes as multiples of the bundled corpus")
    parser.add_argument("--http-seconds", type=float, default=8.0, help="length of each HTTP load run (0: skip)")
    parser.add_argument("--out", type=Path, default=REPORTS, help="where bench.md, bench.json and charts go")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *paths = args.child
        result = {"ingest": child_ingest, "query": child_query, "recipe": child_recipe}[kind](*map(Path, paths))
        print(json.dumps(result))
        return result

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    factors = [int(x) for x in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="smebot-bench-"))
    steps_per_size = 5 + (args.http_seconds > 0)
    started = time.perf_counter()
    sizes: list[dict] = []
    done = [0]
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn()) as progress:
        task = progress.add_task("bench", total=len(factors) * steps_per_size)

        def step(text: str) -> None:  # a step begins: the one before it is done
            progress.update(task, description=text, completed=done[0])
            done[0] += 1

        for factor in factors:
            sizes.append(measure_size(factor, work, args.http_seconds, step))
        progress.update(task, completed=len(factors) * steps_per_size, description="done")
    figures = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "minutes": (time.perf_counter() - started) / 60,
        "sizes": sizes,
    }
    from .bench_report import write_report

    write_report(figures, args.out)
    print(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
