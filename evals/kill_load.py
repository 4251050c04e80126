"""`python -m evals.kill_load`: turns under load while workers are killed, retried with Idempotency-Key.

`smebot serve --workers 2` on the bundled index and a fresh SQLite store; KILL_CLIENTS clients (default 32)
each loop for KILL_SECONDS (default 45): a new question or a follow-up in one of their conversations, each
intended turn sent with its own Idempotency-Key and sent again with that key when its reply is lost (a
connection cut by a kill, a 5xx), up to 6 times. A third and two thirds of the way in, one worker is
killed with SIGKILL (uvicorn starts another). Afterwards the store is read directly: every turn a client
was acknowledged is stored under its number, no intended turn is stored twice (each key once, and each
conversation holds exactly its acknowledged turns), no gaps. Writes evals/reports/kill_load.md and .json.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from .load import questions
from .servers import ROOT, child_env, smebot_serve

REPORTS = ROOT / "evals" / "reports"
FOLLOW_UPS = ("上限はいくらですか？", "申請方法は？", "窓口はどこですか", "締切はいつ？", "What is the upper limit?")


def workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes (spawned children), not multiprocessing's resource tracker."""
    children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [c for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")]


async def client(url: str, seconds: float, asked: list[str], tally: dict, seed: int) -> None:
    rnd = random.Random(seed)
    mine: list[str] = []
    end = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while time.monotonic() < end:
            body = {"message": rnd.choice(asked)}
            if mine and rnd.random() < 0.5:
                body = {"message": rnd.choice(FOLLOW_UPS), "conversation_id": rnd.choice(mine)}
            key = str(uuid.uuid4())
            tally["intended"] += 1
            for attempt in range(6):
                try:
                    r = await http.post("/api/chat", json=body, headers={"Idempotency-Key": key})
                except httpx.HTTPError:
                    tally["retries_after_cut"] += 1
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                if r.status_code >= 500:
                    tally["retries_after_5xx"] += 1
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                if r.status_code == 200:
                    got = r.json()
                    tally["acknowledged"].append((got["conversation_id"], got["turn"], key))
                    if got["conversation_id"] not in mine:
                        mine.append(got["conversation_id"])
                else:
                    tally["other_status"][r.status_code] += 1
                break
            else:
                tally["gave_up"] += 1


async def drive(url: str, clients: int, seconds: float, serve_pid: int) -> dict:
    asked = questions()
    tally = {"intended": 0, "acknowledged": [], "retries_after_cut": 0, "retries_after_5xx": 0, "gave_up": 0,
             "other_status": Counter(), "killed": []}

    async def killer() -> None:
        for at in (seconds / 3, 2 * seconds / 3):
            await asyncio.sleep(at - (seconds / 3 if tally["killed"] else 0))
            victims = workers_of(serve_pid)
            if victims:
                os.kill(victims[0], signal.SIGKILL)
                tally["killed"].append(victims[0])

    await asyncio.gather(killer(), *(client(url, seconds, asked, tally, i) for i in range(clients)))
    return tally


def check(database_url: str, tally: dict) -> dict:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        turns = Counter((r.conversation_id, r.n) for r in conn.execute(text("SELECT conversation_id, n FROM turns")))
        keys = Counter(r.key for r in conn.execute(text("SELECT key FROM idempotency_keys")))
        per_conversation = Counter(r.conversation_id for r in conn.execute(text("SELECT conversation_id FROM turns")))
    acknowledged = {(cid, n) for cid, n, _ in tally["acknowledged"]}
    acked_per_conversation = Counter(cid for cid, _ in acknowledged)
    return {
        "turns_intended": tally["intended"],
        "turns_acknowledged": len(acknowledged),
        "turns_stored": sum(turns.values()),
        "acknowledged_not_stored": len(acknowledged - set(turns)),
        "stored_twice_same_number": sum(c - 1 for c in turns.values() if c > 1),
        "keys_stored_twice": sum(c - 1 for c in keys.values() if c > 1),
        "conversations_with_more_turns_than_acknowledged": sum(
            1 for cid, n in per_conversation.items() if n > acked_per_conversation.get(cid, 0)),
        "stored_not_acknowledged": len(set(turns) - acknowledged),
        "retries_after_a_cut_connection": tally["retries_after_cut"],
        "retries_after_a_5xx": tally["retries_after_5xx"],
        "gave_up": tally["gave_up"],
        "other_statuses": {str(k): v for k, v in tally["other_status"].items()},
        "workers_killed": len(tally["killed"]),
    }


def main() -> dict:
    clients = int(os.environ.get("KILL_CLIENTS", "32"))
    seconds = float(os.environ.get("KILL_SECONDS", "45"))
    work = Path(tempfile.mkdtemp(prefix="smebot-kill-"))
    database_url = f"sqlite:///{work / 'c.db'}"
    env = child_env(data_dir=str(ROOT / "data"), database_url=database_url, rate_limit="none")
    started = time.monotonic()
    with smebot_serve(env, workers=2) as served:
        tally = asyncio.run(drive(served.url, clients, seconds, served.proc.pid))
    result = {"clients": clients, "seconds": seconds, "workers": 2, "store": "sqlite",
              **check(database_url, tally), "elapsed_s": round(time.monotonic() - started, 1)}
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "kill_load.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    lines = ["# Turns under load while workers are killed", "",
             f"{clients} clients, {seconds:.0f} s, `smebot serve --workers 2`, SQLite; one worker killed with SIGKILL "
             "a third and two thirds of the way in; every intended turn sent with its own Idempotency-Key and sent "
             "again with it after a cut connection or a 5xx (`python -m evals.kill_load`).", "",
             "| figure | value |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in result.items()]
    (REPORTS / "kill_load.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
