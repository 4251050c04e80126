"""The conversation store on a real PostgreSQL 15 server, started for this module on loopback."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import free_port, wait_until_up

from bot.settings import Settings
from bot.store import ConversationStore, Turn

PG_BIN = next((p for p in [Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin")] if (p / "initdb").exists()), None)


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    if PG_BIN is None:
        pytest.skip("PostgreSQL server binaries not installed (make test installs Debian's postgresql)")
    # not under pytest's tmp dir: that is private to root, and the server runs as postgres
    root = Path(tempfile.mkdtemp(prefix="smebot-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]),
                   check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        _as_postgres([str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(sock)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        def ready() -> bool:
            try:
                psycopg.connect(url, connect_timeout=1).close()
                return True
            except psycopg.OperationalError:
                return False

        wait_until_up(ready, proc, "postgres")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(root, ignore_errors=True)


def test_database_url_selects_postgresql(postgres_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    assert Settings().conversation_db.startswith("postgresql+psycopg://")


def test_turns_round_trip_on_postgresql(postgres_url):
    url = Settings(database_url=postgres_url).conversation_db
    store = ConversationStore(url)
    conv = store.create()
    conv.profile["industry"] = "印刷"
    conv.state["last"] = {"query": "展示会に出たい", "direction": "②"}
    store.add_turn(conv, Turn(0, "展示会に出たい", "展示会に出たい", {"answer": "はい。[1]", "citations": []}, False))
    again = ConversationStore(url).get(conv.id)  # a second process, migrations already applied
    assert again.profile == {"industry": "印刷"} and again.state["last"]["direction"] == "②"
    assert again.turns[0].question == "展示会に出たい" and again.turns[0].answer["answer"] == "はい。[1]"


def test_the_advisor_converses_on_postgresql(postgres_url, index_settings):
    from bot.advisor import Advisor

    advisor = Advisor(index_settings, store=ConversationStore(Settings(database_url=postgres_url).conversation_db))
    first = advisor.ask("元請けに代金を減らされた")
    second = advisor.ask("申し込みはどこで？", first.conversation_id)
    assert second.turn == 1 and "下請" in " ".join(c.result.chunk.text for c in second.citations)
