"""Shared fixtures: real Sudachi, real chiVe vectors, a real Chroma on disk in tmp, nothing mocked.

The bundled corpus is indexed once per session into a temporary data dir; tests that change a
corpus build their own small one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
POLICY = CORPUS / "policy" / "tokyo-sme-vision-strategy1.txt"
JAPANESE_FONT = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    """No SMEBOT_* setting from the developer's shell leaks into a test; the cwd is the repo root."""
    for key in list(os.environ):
        if key.startswith("SMEBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(ROOT)
    from bot.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def index_settings(tmp_path_factory):
    """Settings whose data dir holds an index of the bundled corpus, built once."""
    from bot.settings import Settings
    from ingest.pipeline import ingest

    data = tmp_path_factory.mktemp("data")
    settings = Settings(data_dir=data, corpus_dir=Path("corpus"))
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        report = ingest(settings)
    finally:
        os.chdir(cwd)
    assert report.ok and report.chunks > 50
    return settings


@pytest.fixture(scope="session")
def advisor(index_settings):
    from bot.advisor import Advisor

    return Advisor(index_settings)


@pytest.fixture
def small_corpus(tmp_path):
    """A corpus of its own: the policy text with its metadata, and one Markdown guide."""
    return write_small_corpus(tmp_path)


def write_small_corpus(root):
    """The policy text and one guide under root/corpus: enough for a cited answer about BCP."""
    corpus = root / "corpus"
    (corpus / "policy").mkdir(parents=True)
    shutil.copy(POLICY, corpus / "policy" / POLICY.name)
    shutil.copy(POLICY.with_name(POLICY.name + ".meta.yaml"), corpus / "policy")
    (corpus / "guides").mkdir()
    (corpus / "guides" / "bcp.md").write_text(
        "---\ntitle: BCP策定支援のご案内\nkind: guide\ndirection: ④\n---\n"
        "# BCP策定支援のご案内\n\n## 対象\n\n都内の中小企業が対象です。"
        "専門家が個別に訪問し、事業継続計画の策定を手伝います。\n\n## 申込方法\n\n窓口へお申し込みください。\n",
        encoding="utf-8",
    )
    return corpus


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(ready, proc, what: str, timeout: float = 30.0) -> None:
    """Poll `ready()` (True once the server answers) until it is, the process dies, or time runs out."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            pytest.fail(f"{what} did not start")
        time.sleep(0.2)


PG_BIN = next((p for p in [Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin")] if (p / "initdb").exists()), None)


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """A real PostgreSQL 15 server for the session, on a free loopback port; its URL."""
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


@pytest.fixture
def pg_database(postgres_url):
    """A new, empty database on the session's PostgreSQL server: its URL (dropped afterwards)."""
    import uuid

    import psycopg

    name = f"smebot_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
