"""Many processes, one truth: real processes on one database (a SQLite file, a real PostgreSQL 15).

- migrations: processes starting at once on a fresh database apply each migration exactly once;
- turn numbers: processes appending to one conversation (a Slack thread each thinks is new) take
  unique, gapless numbers, and the thread is one conversation;
- servers: two `smebot serve` processes on one data dir (and one `smebot serve --workers 2`), real
  uvicorn on loopback, 32 concurrent clients posting turns to one conversation through both: every
  request answered 200, every turn stored exactly once with the number its answer acknowledged,
  every feedback stored. Figures land in test-artifacts/many-processes.json.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager

import pytest
from conftest import ROOT

from bot.settings import Settings
from bot.store import MIGRATIONS, ConversationStore
from evals.servers import child_env, smebot_serve

ARTIFACTS = ROOT / "test-artifacts"


def run_together(script: str, args: list[list[str]], timeout: float = 120) -> list[dict]:
    """Start one Python process per argument list, all released at the same instant; their JSON outputs."""
    start_at = str(time.time() + 3.0)  # after every interpreter has imported SQLAlchemy
    prelude = "import sys, time, json\ntime.sleep(max(0.0, float(sys.argv[1]) - time.time()))\n"
    procs = [
        subprocess.Popen([sys.executable, "-c", prelude + script, start_at, *a], env=child_env(), cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for a in args
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db(request, tmp_path):
    """The URL of an empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return Settings(database_url=request.getfixturevalue("pg_database")).conversation_db


def test_migrations_run_once_when_processes_start_at_once(fresh_db):
    script = (
        "import bot.store as s\n"
        "applied = []\n"
        "orig = s.ConversationStore.migrate\n"
        "def migrate(self):\n"
        "    applied.extend(orig(self))\n"
        "    return applied\n"
        "s.ConversationStore.migrate = migrate\n"
        "store = s.ConversationStore(sys.argv[2])\n"
        "print(json.dumps({'applied': applied, 'recorded': store.applied()}))\n"
    )
    results = run_together(script, [[fresh_db]] * 6)
    names = sorted(name for name, _ in MIGRATIONS)
    applied = Counter(name for r in results for name in r["applied"])
    assert applied == Counter(names), applied  # each migration by exactly one of the six processes
    assert all(r["recorded"] == names for r in results)  # and every one of them saw the finished schema


APPEND = """
from bot.store import ConversationStore, Turn
store = ConversationStore(sys.argv[2])
taken = []
for k in range(int(sys.argv[4])):
    conv = store.get(sys.argv[3], "slack") or store.create(sys.argv[3], channel="slack")
    turn = Turn(None, f"{sys.argv[5]}-{k}", "q", {"answer": "a", "turn": None}, False)
    store.add_turn(conv, turn)
    taken.append(turn.n)
print(json.dumps({"taken": taken}))
"""


def test_processes_appending_to_one_new_thread_take_unique_gapless_numbers(fresh_db):
    ConversationStore(fresh_db).engine.dispose()  # migrated, as `smebot serve` does before its workers
    thread = "slack:C1:1700000000.000001"
    results = run_together(APPEND, [[fresh_db, thread, "30", f"p{i}"] for i in range(4)])
    taken = [n for r in results for n in r["taken"]]
    assert sorted(taken) == list(range(120)), sorted(Counter(taken).items(), key=lambda x: -x[1])[:5]
    store = ConversationStore(fresh_db)
    conv = store.get(thread, "slack")
    assert [t.n for t in conv.turns] == list(range(120))
    assert sorted(t.question for t in conv.turns) == sorted(f"p{i}-{k}" for i in range(4) for k in range(30))
    with store.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM conversations")).scalar() == 1


# -- real servers ------------------------------------------------------------------------------

QUESTIONS = [
    "展示会に出たいのですが、補助はありますか",
    "BCPの助成金の上限っていくら？",
    "サイバー攻撃に備えたい",
    "跡継ぎがいなくて困っています",
    "元請けに代金を減らされた",
    "ほかには？",
    "申請の前に必要なことは？",
    "Who do I call about customer harassment?",
]
CLIENTS = 32
TURNS_EACH = 4


async def converse(urls: list[str], conversation_id: str) -> tuple[list[dict], float]:
    """CLIENTS clients, each posting TURNS_EACH turns to one conversation, alternating servers."""
    import httpx

    async def client(i: int, http: httpx.AsyncClient) -> list[dict]:
        done = []
        for k in range(TURNS_EACH):
            question = f"{QUESTIONS[(i + k) % len(QUESTIONS)]}（{chr(0x30A2 + i)}{chr(0x3042 + k)}）"
            url = urls[(i + k) % len(urls)]
            r = await http.post(f"{url}/api/chat", json={"message": question, "conversation_id": conversation_id})
            done.append({"question": question, "status": r.status_code, "body": r.json(), "server": url})
        return done

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=CLIENTS * 2)) as http:
        runs = await asyncio.gather(*(client(i, http) for i in range(CLIENTS)))
    return [d for run in runs for d in run], time.monotonic() - started


async def rate_all(urls: list[str], conversation_id: str, turns: list[int]) -> list[int]:
    import httpx

    async with httpx.AsyncClient(timeout=120) as http:
        async def rate(i: int, n: int) -> int:
            body = {"conversation_id": conversation_id, "turn": n, "rating": "up" if i % 2 else "down"}
            return (await http.post(f"{urls[(i + 1) % len(urls)]}/api/feedback", json=body)).status_code

        return await asyncio.gather(*(rate(i, n) for i, n in enumerate(turns)))


def record(name: str, figures: dict) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "many-processes.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = figures
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False))


@contextmanager
def servers(layout: str, index_settings, request):
    """The servers of a layout over the session's index: (their URLs, their logs, the store's URL)."""
    data = str(index_settings.data_dir)
    if layout == "two servers, postgresql":
        url = request.getfixturevalue("pg_database")
        # every client is 127.0.0.1: no per-address rate here (the bound on turns still applies)
        env, store = child_env(data_dir=data, database_url=url, rate_limit="none"), Settings(database_url=url).conversation_db
    else:
        env, store = child_env(data_dir=data, rate_limit="none"), index_settings.conversation_db  # the data dir's own store
    if layout == "one server, --workers 2":
        with smebot_serve(env, workers=2) as a:
            yield [a.url], [a.log], store
        return
    with smebot_serve(env) as a, smebot_serve(env) as b:
        yield [a.url, b.url], [a.log, b.log], store


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["two servers, sqlite", "two servers, postgresql", "one server, --workers 2"])
def test_many_processes_store_every_turn_exactly_once(layout, index_settings, request):
    import httpx

    with servers(layout, index_settings, request) as (urls, logs, db_url):
        first = httpx.post(f"{urls[0]}/api/chat", json={"message": "展示会に出たい", "conversation_id": None}, timeout=60)
        assert first.status_code == 200
        cid = first.json()["conversation_id"]
        done, seconds = asyncio.run(converse(urls, cid))
        statuses = Counter(d["status"] for d in done)
        assert statuses == {200: CLIENTS * TURNS_EACH}, statuses  # no 500, no 404, nothing lost
        acknowledged = [d["body"]["turn"] for d in done]
        duplicates = sum(c - 1 for c in Counter(acknowledged).values() if c > 1)
        assert duplicates == 0 and sorted(acknowledged) == list(range(1, CLIENTS * TURNS_EACH + 1))
        assert {d["body"]["conversation_id"] for d in done} == {cid}

        # every server reads the same history: each turn once, numbered 0..N-1, as acknowledged
        for url in urls:
            turns = httpx.get(f"{url}/api/conversations/{cid}", timeout=60).json()["turns"]
            assert [t["turn"] for t in turns] == list(range(CLIENTS * TURNS_EACH + 1))
            assert all(t["answer"]["turn"] == t["turn"] for t in turns)
            by_question = {t["question"]: t["turn"] for t in turns}
            assert len(by_question) == len(turns)
            assert all(by_question[d["question"]] == d["body"]["turn"] for d in done)

        ratings = asyncio.run(rate_all(urls, cid, acknowledged))
        assert Counter(ratings) == {204: len(acknowledged)}
        assert len(ConversationStore(db_url).feedback_for(cid)) == len(acknowledged)
        for log in logs:
            text = log.read_text(errors="replace")
            assert "Traceback" not in text and " 500 " not in text, text[-3000:]
    record(layout, {
        "clients": CLIENTS,
        "turns_posted": CLIENTS * TURNS_EACH,
        "turns_stored": CLIENTS * TURNS_EACH,
        "duplicate_turn_numbers": duplicates,
        "missing_turn_numbers": 0,
        "errors": sum(n for s, n in statuses.items() if s != 200),
        "feedback_stored": len(acknowledged),
        "seconds": round(seconds, 2),
        "turns_per_s": round(CLIENTS * TURNS_EACH / seconds, 1),
    })
