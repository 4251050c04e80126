"""`make bench`: speed and memory of the core, measured in one run (targets live here, not in tests).

- ingest of the bundled corpus: cold (empty data dir) and unchanged (a second `smebot ingest`
  as a user runs it, process start included);
- search and ask latency in process, models loaded (p50/p95 over the dev and held-out questions,
  three passes);
- the serving process's resident memory after the models and the index are loaded.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.settings import Settings

from .metrics import load_set


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> dict:
    from bot.advisor import Advisor
    from ingest.pipeline import ingest

    data = Path(tempfile.mkdtemp(prefix="smebot-bench-"))
    settings = Settings(data_dir=data)
    started = time.perf_counter()
    report = ingest(settings)
    cold = time.perf_counter() - started

    env = {**os.environ, "SMEBOT_DATA_DIR": str(data)}
    smebot = Path(sys.executable).with_name("smebot")
    started = time.perf_counter()
    subprocess.run([str(smebot), "ingest"], env=env, check=True, capture_output=True)
    unchanged_cli = time.perf_counter() - started

    serving = subprocess.run(
        [sys.executable, "-m", "evals.bench", "--serving-rss"], env=env, check=True, capture_output=True, text=True
    )
    serving_rss = json.loads(serving.stdout.strip().splitlines()[-1])

    started = time.perf_counter()
    advisor = Advisor(settings)
    load_s = time.perf_counter() - started
    questions = [q.question for p in ("evals/dev.jsonl", "evals/heldout.jsonl") for q in load_set(Path(p))]
    search_ms, ask_ms = [], []
    for _ in range(3):
        for q in questions:
            t = time.perf_counter()
            advisor.search(q, 5)
            search_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            advisor.ask(q)
            ask_ms.append((time.perf_counter() - t) * 1000)
    figures = {
        "chunks": report.chunks,
        "ingest_cold_s": round(cold, 2),
        "ingest_cold_chunks_per_s": round(report.chunks / cold, 1),
        "ingest_unchanged_cli_s": round(unchanged_cli, 2),
        "advisor_load_s": round(load_s, 2),
        "queries": len(search_ms),
        "search_ms_p50": round(statistics.median(search_ms), 2),
        "search_ms_p95": round(pct(search_ms, 0.95), 2),
        "ask_ms_p50": round(statistics.median(ask_ms), 2),
        "ask_ms_p95": round(pct(ask_ms, 0.95), 2),
        **serving_rss,
    }
    print(json.dumps(figures, indent=1))
    return figures


def serving_rss() -> None:
    """In a fresh process, as `smebot serve` would be: load the core, answer, report memory."""
    from bot.advisor import Advisor

    before = rss_mb()
    advisor = Advisor(Settings())
    for q in load_set(Path("evals/dev.jsonl"))[:30]:
        advisor.ask(q.question)
    print(json.dumps({"rss_mb_python_start": round(before, 1), "rss_mb_serving": round(rss_mb(), 1)}))


if __name__ == "__main__":
    serving_rss() if "--serving-rss" in sys.argv else main()
