"""`make load`: the advisor served as a deployment serves it, under a bounded mixed load (no language model).

Each run starts `smebot serve --workers N` on a free 127.0.0.1 port, on one of two stacks:

- `embedded`: the index files under SMEBOT_DATA_DIR (default data/) and a SQLite conversation store;
- `servers`: a real Chroma server (`chroma run`) holding a fresh index of corpus/, and a real
  PostgreSQL 15 of its own (evals/servers.py): the parts a deployment runs apart from the web processes.

Then LOAD_CLIENTS clients (default 32) each loop for LOAD_SECONDS (default 60) over a mix of what users
do: a new question (30%), a follow-up in one of their own conversations (30%), a search (30%) and a
👍/👎 on a turn they were answered (10%). Afterwards the store is read directly: every turn a client was
acknowledged (200 with its turn number) must be stored under that number, no (conversation, number)
twice, no gaps, and every acknowledged feedback stored.

A second phase answers the throughput question the issue sets: chat only (new questions), 16 clients,
embedded, with 1 and 2 workers; 2 workers should serve >= 1.6x the requests/s of 1, p95 <= 100 ms.

Settings (environment): LOAD_CLIENTS, LOAD_SECONDS (0 skips the mixed runs), LOAD_WORKERS ("1,2"), LOAD_STACKS
("embedded,servers"), LOAD_CHAT_CLIENTS (16), LOAD_CHAT_SECONDS (30; 0 skips the phase).
Writes evals/reports/load.md and load.json. The rate limit is off (every client here is 127.0.0.1);
the turn gate (max_turns, max_waiting) is as deployed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .metrics import load_set
from .servers import CHROMA, ROOT, SMEBOT, ChromaServer, PostgresServer, child_env, smebot_serve

REPORTS = ROOT / "evals" / "reports"

# what users do, in the proportions the load run sends
MIX = (("chat", 0.3), ("continue", 0.3), ("search", 0.3), ("feedback", 0.1))
# the development sets only: held-out questions stay unseen, even by a load run
QUESTION_SETS = ("dev.jsonl", "notstated.jsonl", "yesno.jsonl", "programs.jsonl")
FOLLOW_UPS = ("上限はいくらですか？", "申請方法は？", "窓口はどこですか", "小規模でも使えますか", "締切はいつ？",
              "それって誰でも使えるの？", "What is the upper limit?", "Who do I contact?")


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def questions() -> list[str]:
    return [q.question for name in QUESTION_SETS for q in load_set(ROOT / "evals" / name)]


# -- the processes ---------------------------------------------------------------------------------


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


def load_env(**settings: str) -> dict[str, str]:
    """A child process's environment (evals/servers.py), with no per-client rate: every client here is
    127.0.0.1, and the run measures the server, not the limit."""
    return child_env(**{"rate_limit": "none", **settings})


@dataclass
class Stack:
    """Where one run's index and conversations live: the settings a server process is started with."""

    name: str
    settings: dict[str, str]


@contextmanager
def stack(name: str, workdir: Path):
    workdir.mkdir(parents=True, exist_ok=True)
    if name == "embedded":
        data = Path(os.environ.get("SMEBOT_DATA_DIR", ROOT / "data")).resolve()
        if not (data / "index").exists():
            raise SystemExit(f"no index in {data}: run `smebot ingest` first (make load does)")
        yield Stack(name, {"data_dir": str(data), "database_url": f"sqlite:///{workdir / 'load.db'}"})
        return
    if name != "servers":
        raise SystemExit(f"LOAD_STACKS: unknown stack {name!r} (embedded, servers)")
    if not CHROMA.exists():
        raise SystemExit("the chroma command is not installed in this environment")
    with ExitStack() as parts:
        chroma = ChromaServer(workdir / "chroma")
        chroma.start()
        parts.callback(chroma.stop)
        postgres = PostgresServer()
        parts.callback(postgres.remove)
        postgres.start()
        settings = {"data_dir": str(workdir / "data"), "chroma_url": chroma.url, "database_url": postgres.url}
        started = time.monotonic()
        subprocess.run([str(SMEBOT), "ingest"], env=load_env(**settings), cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"  servers stack: chroma {chroma.url}, postgres :{postgres.port}, ingest {time.monotonic() - started:.1f} s",
              file=sys.stderr)
        yield Stack(name, settings)


# -- the clients -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients sent and were told, kept per run (each client appends to its own lists)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    acknowledged_turns: set[tuple[str, int]] = field(default_factory=set)
    acknowledged_feedback: list[tuple[str, int]] = field(default_factory=list)
    conversations: set[str] = field(default_factory=set)
    client_errors: Counter = field(default_factory=Counter)


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams, for JSON requests.

    The cheapest client that still speaks real HTTP to the real server: on a 2-core machine the load
    generator shares the cores with the server, and httpx's async client costs several times the
    CPU per request of this one, which would be measured as the server's slowness."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port, self.timeout = host, int(port), timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict) -> tuple[int, dict | None]:
        try:
            return await asyncio.wait_for(self._post(path, body), self.timeout)
        except BaseException:
            await self.close()  # a half-read answer leaves the connection unusable
            raise

    async def _post(self, path: str, body: dict) -> tuple[int, dict | None]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = json.dumps(body, ensure_ascii=False).encode()
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode() + data
        )
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
        payload = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return int(status_line.split()[1]), json.loads(payload) if payload else None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def run_clients(url: str, n_clients: int, seconds: float, mix: tuple, asked: list[str]) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds
    kinds, weights = zip(*mix)

    async def one(worker: int) -> None:
        http = Connection(url)
        rng = random.Random(worker)
        mine: list[str] = []  # this client's conversations
        answered: list[tuple[str, int]] = []  # turns it was answered
        i = worker
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            if kind == "continue" and not mine:
                kind = "chat"
            if kind == "feedback" and not answered:
                kind = "search"
            question = asked[i % len(asked)]
            i += n_clients
            if kind == "search":
                path, body = "/api/search", {"query": question, "k": 5}
            elif kind == "chat":
                path, body = "/api/chat", {"message": question, "conversation_id": None}
            elif kind == "continue":
                path, body = "/api/chat", {"message": rng.choice(FOLLOW_UPS), "conversation_id": rng.choice(mine)}
            else:
                cid, n = rng.choice(answered)
                path, body = "/api/feedback", {"conversation_id": cid, "turn": n, "rating": rng.choice(("up", "down"))}
            started = time.perf_counter()
            try:
                status, data = await http.post(path, body)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
                tally.client_errors[type(exc).__name__] += 1
                tally.statuses[kind]["client error"] += 1
                continue
            tally.latencies[kind].append((time.perf_counter() - started) * 1000)
            tally.statuses[kind][status] += 1
            if path == "/api/chat" and status == 200:
                cid, n = data["conversation_id"], data["turn"]
                if (cid, n) in tally.acknowledged_turns:
                    tally.client_errors["same turn number acknowledged twice"] += 1
                tally.acknowledged_turns.add((cid, n))
                tally.conversations.add(cid)
                answered.append((cid, n))
                if cid not in mine:
                    mine.append(cid)
            elif kind == "feedback" and status == 204:
                tally.acknowledged_feedback.append((body["conversation_id"], body["turn"]))

        await http.close()

    await asyncio.gather(*(one(w) for w in range(n_clients)))
    return tally


# -- what was stored -------------------------------------------------------------------------------


def stored(database_url: str) -> dict:
    """The turns and feedback in the store, read directly (not through the server)."""
    from sqlalchemy import create_engine, text

    from bot.settings import Settings

    engine = create_engine(Settings(database_url=database_url).conversation_db)
    with engine.connect() as conn:
        turns = [(cid, n) for cid, n in conn.execute(text("SELECT conversation_id, n FROM turns"))]
        feedback = [(cid, n) for cid, n in conn.execute(text("SELECT conversation_id, turn FROM feedback"))]
        next_turn = dict(conn.execute(text("SELECT id, next_turn FROM conversations")).all())
    engine.dispose()
    return {"turns": turns, "feedback": feedback, "next_turn": next_turn}


def check_store(tally: Tally, store: dict) -> dict:
    turns = Counter(store["turns"])
    by_conversation: dict[str, list[int]] = defaultdict(list)
    for cid, n in turns:
        by_conversation[cid].append(n)
    gaps = sum(sorted(ns) != list(range(len(ns))) for ns in by_conversation.values())
    numbered_ahead = sum(store["next_turn"].get(cid, 0) != len(ns) for cid, ns in by_conversation.items())
    stored_turns = set(turns)
    return {
        "turns_acknowledged": len(tally.acknowledged_turns),
        "turns_stored": sum(turns.values()),
        "acknowledged_not_stored": len(tally.acknowledged_turns - stored_turns),
        "stored_not_acknowledged": len(stored_turns - tally.acknowledged_turns),
        "duplicate_turn_numbers": sum(c - 1 for c in turns.values() if c > 1),
        "conversations_with_gaps": gaps,
        "conversations_misnumbered": numbered_ahead,
        "feedback_acknowledged": len(tally.acknowledged_feedback),
        "feedback_stored": len(store["feedback"]),
        "feedback_acknowledged_not_stored": sum((Counter(tally.acknowledged_feedback) - Counter(store["feedback"])).values()),
    }


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, round(q * (len(values) - 1)))], 1) if values else 0.0


def summarize(tally: Tally, elapsed: float) -> dict:
    kinds = {}
    for kind, lat in tally.latencies.items():
        statuses = tally.statuses[kind]
        kinds[kind] = {
            "requests": sum(statuses.values()),
            "requests_per_s": round(sum(statuses.values()) / elapsed, 1),
            "p50_ms": pct(lat, 0.5),
            "p95_ms": pct(lat, 0.95),
            "statuses": {str(k): v for k, v in sorted(statuses.items(), key=str)},
        }
    ok = {"search": {200}, "chat": {200}, "continue": {200}, "feedback": {204}}
    total = sum(sum(s.values()) for s in tally.statuses.values())
    errors = sum(n for kind, s in tally.statuses.items() for code, n in s.items() if code not in ok[kind])
    every = [x for lat in tally.latencies.values() for x in lat]
    return {
        "requests": total,
        "requests_per_s": round(total / elapsed, 1),
        "p50_ms": pct(every, 0.5),
        "p95_ms": pct(every, 0.95),
        "errors": errors,
        "client_errors": dict(tally.client_errors),
        "by_kind": kinds,
    }


def one_run(the_stack: Stack, workers: int, clients: int, seconds: float, mix: tuple, workdir: Path) -> dict:
    asked = questions()
    with smebot_serve(load_env(**the_stack.settings), workers, log_dir=workdir) as served:
        url, proc = served.url, served.proc
        load_before = os.getloadavg()[0]
        started, cpu_before = time.monotonic(), cpu_s(proc.pid)
        tally = asyncio.run(run_clients(url, clients, seconds, mix, asked))
        elapsed = time.monotonic() - started
        figures = {
            "stack": the_stack.name,
            "workers": workers,
            "clients": clients,
            "seconds": round(elapsed, 1),
            **summarize(tally, elapsed),
            "server_rss_mb": round(rss_mb(proc.pid), 1),
            "server_cpu_s": round(cpu_s(proc.pid) - cpu_before, 1),  # of elapsed x cores: the machine it got
            "load_average_before": round(load_before, 2),
        }
        time.sleep(1.0)  # turns of clients that timed out finish (or are abandoned) before the store is read
    figures.update(check_store(tally, stored(the_stack.settings["database_url"])))
    return figures


def run_load(data: Path, seconds: float, clients: int) -> dict:
    """New questions only from `clients` clients for `seconds` against one `smebot serve` over the index
    in `data` (a store of its own): `make bench`'s HTTP figures at each corpus size."""
    with tempfile.TemporaryDirectory(prefix="smebot-load-") as tmp:
        the_stack = Stack("embedded", {"data_dir": str(data), "database_url": f"sqlite:///{tmp}/load.db"})
        return one_run(the_stack, 1, clients, seconds, (("chat", 1.0),), Path(tmp))


# -- the report ------------------------------------------------------------------------------------


def report(mixed: list[dict], chat: list[dict]) -> str:
    out = [
        "# Load (`make load`)",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average before each run shown; "
        "no language model; rate limit off, turn gate as deployed.",
        "",
        "## Mixed load: new questions, follow-ups, searches, feedback",
        "",
        "| stack | workers | clients | s | requests/s | p50 / p95 ms | chat p50 / p95 | search p50 / p95 | errors "
        "| turns acknowledged / stored | lost | duplicates | gaps | feedback acknowledged / stored | server MB | load avg |",
        "|---" * 16 + "|",
    ]
    for f in mixed:
        k = f["by_kind"]
        chat_lat = k.get("chat", {})
        search_lat = k.get("search", {})
        out.append(
            f"| {f['stack']} | {f['workers']} | {f['clients']} | {f['seconds']} | {f['requests_per_s']} "
            f"| {f['p50_ms']} / {f['p95_ms']} | {chat_lat.get('p50_ms')} / {chat_lat.get('p95_ms')} "
            f"| {search_lat.get('p50_ms')} / {search_lat.get('p95_ms')} | {f['errors']} "
            f"| {f['turns_acknowledged']} / {f['turns_stored']} | {f['acknowledged_not_stored']} "
            f"| {f['duplicate_turn_numbers']} | {f['conversations_with_gaps']} "
            f"| {f['feedback_acknowledged']} / {f['feedback_stored']} | {f['server_rss_mb']:.0f} | {f['load_average_before']} |"
        )
    if chat:
        out += ["", "## Chat only (new questions), embedded", "",
                "| workers | clients | requests/s | p50 / p95 ms | errors | server CPU s / elapsed s | load avg |",
                "|---|---|---|---|---|---|---|"]
        for f in chat:
            out.append(f"| {f['workers']} | {f['clients']} | {f['requests_per_s']} | {f['p50_ms']} / {f['p95_ms']} "
                       f"| {f['errors']} | {f['server_cpu_s']} / {f['seconds']} | {f['load_average_before']} |")
        by_workers = {f["workers"]: f for f in chat}
        if 1 in by_workers and 2 in by_workers:
            ratio = by_workers[2]["requests_per_s"] / max(by_workers[1]["requests_per_s"], 0.1)
            out += ["", f"2 workers / 1 worker: {ratio:.2f}x the requests/s (goal >= 1.6x on a quiet 2-core machine)."]
    out += ["", "Statuses by kind, per run:", ""]
    for f in mixed + chat:
        kinds = "; ".join(f"{kind} {v['statuses']}" for kind, v in sorted(f["by_kind"].items()))
        out.append(f"- {f['stack']}, {f['workers']} worker(s), {f['clients']} clients: {kinds}")
    return "\n".join(out) + "\n"


def main() -> dict:
    clients = int(os.environ.get("LOAD_CLIENTS", "32"))
    seconds = float(os.environ.get("LOAD_SECONDS", "60"))
    workers_list = [int(w) for w in env_list("LOAD_WORKERS", "1,2")]
    chat_clients = int(os.environ.get("LOAD_CHAT_CLIENTS", "16"))
    chat_seconds = float(os.environ.get("LOAD_CHAT_SECONDS", "30"))
    mixed: list[dict] = []
    chat: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="smebot-load-") as tmp:
        workdir = Path(tmp)
        for stack_name in env_list("LOAD_STACKS", "embedded,servers"):
            with stack(stack_name, workdir / stack_name) as the_stack:
                for workers in workers_list if seconds > 0 else []:
                    print(f"mixed: {stack_name}, {workers} worker(s), {clients} clients, {seconds:.0f} s", file=sys.stderr)
                    mixed.append(one_run(the_stack, workers, clients, seconds, MIX, workdir))
                    print(json.dumps(mixed[-1], ensure_ascii=False), file=sys.stderr)
                    # each run starts from an empty store so its counts are its own
                    reset_store(the_stack)
                if stack_name == "embedded" and chat_seconds > 0:
                    for workers in workers_list:
                        print(f"chat only: {workers} worker(s), {chat_clients} clients, {chat_seconds:.0f} s", file=sys.stderr)
                        chat.append(one_run(the_stack, workers, chat_clients, chat_seconds, (("chat", 1.0),), workdir))
                        reset_store(the_stack)
    figures = {"mixed": mixed, "chat_only": chat}
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "load.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n")
    (REPORTS / "load.md").write_text(report(mixed, chat))
    print(report(mixed, chat))
    return figures


def reset_store(the_stack: Stack) -> None:
    """Empty the conversation store between runs (the schema stays; the next server migrates nothing)."""
    from sqlalchemy import create_engine, text

    from bot.settings import Settings

    engine = create_engine(Settings(database_url=the_stack.settings["database_url"]).conversation_db)
    with engine.begin() as conn:
        for table in ("feedback", "turns", "conversations"):
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


if __name__ == "__main__":
    main()
