"""`make load`: a bounded load run against /api/chat on loopback (no language model).

Starts `smebot serve` on a free 127.0.0.1 port in its own process (LOAD_WORKERS worker processes,
default 1), then 16 concurrent clients post the dev and held-out questions in turn for 30 seconds
(both bounded; the run stops by itself). Prints requests per second, latency p50/p95, errors and the
server's resident memory (all its processes).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .metrics import load_set

CLIENTS = int(os.environ.get("LOAD_CLIENTS", "16"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "30"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "1"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's workers)."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        total += rss_mb(int(child))
    return total


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process and its children have used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        total += cpu_s(int(child))
    return total


async def clients(url: str, questions: list[str], n_clients: int, seconds: float) -> tuple[list[float], int, int]:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def one(worker: int) -> None:
        nonlocal errors
        i = worker
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    r = await client.post("/api/chat", json={"message": questions[i % len(questions)], "conversation_id": None})
                    ok = r.status_code == 200 and "answer" in r.json()
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                errors += not ok
                i += n_clients

    await asyncio.gather(*(one(w) for w in range(n_clients)))
    return latencies, errors, len(latencies)


def main() -> dict:
    figures = run_load(Path(os.environ.get("SMEBOT_DATA_DIR", "data")), SECONDS, CLIENTS, WORKERS)
    print(json.dumps(figures, indent=1))
    return figures


def run_load(data: Path, seconds: float, clients_n: int, workers: int = 1) -> dict:
    """Serve the index in `data` with `smebot serve --workers N` and load /api/chat for `seconds`."""
    port = free_port()
    env = {**os.environ, "SMEBOT_DATA_DIR": str(data), "SMEBOT_DATABASE_URL": f"sqlite:///{tempfile.mkdtemp()}/load.db"}
    env.setdefault("SMEBOT_RATE_LIMIT", "none")  # every client here is 127.0.0.1: measure the server, not the limit
    smebot = Path(sys.executable).with_name("smebot")
    log = tempfile.NamedTemporaryFile(prefix="smebot-load-", suffix=".log")
    server = subprocess.Popen([str(smebot), "serve", "--port", str(port), "--workers", str(workers)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60 * workers
        while True:
            try:
                # every worker up (each logs its start-up), not just the first to answer
                up = Path(log.name).read_text(errors="replace").count("Application startup complete")
                if up >= workers and httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.3)
        questions = [q.question for p in ("evals/dev.jsonl", "evals/heldout.jsonl") for q in load_set(Path(p))]
        started, cpu_before = time.monotonic(), cpu_s(server.pid)
        latencies, errors, n = asyncio.run(clients(url, questions, clients_n, seconds))
        elapsed = time.monotonic() - started
        server_cpu = cpu_s(server.pid) - cpu_before
        latencies.sort()
        figures = {
            "workers": workers,
            "clients": clients_n,
            "seconds": round(elapsed, 1),
            "requests": n,
            "requests_per_s": round(n / elapsed, 1),
            "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
            "errors": errors,
            "server_rss_mb": round(rss_mb(server.pid), 1),
            "server_cpu_s": round(server_cpu, 1),  # of elapsed × cores: how much of the machine it got
        }
        return figures
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


if __name__ == "__main__":
    main()
