"""Shared fixtures: real Sudachi, real chiVe vectors, a real Chroma on disk in tmp, nothing mocked.

The bundled corpus is indexed once per session into a temporary data dir; tests that change a
corpus build their own small one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from evals import servers
from evals.servers import PG_BIN, PostgresServer, free_port  # noqa: F401 (tests import them from here)

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


def wait_until_up(ready, proc, what: str, timeout: float = 30.0) -> None:
    """Poll `ready()` (True once the server answers) until it is, the process dies, or time runs out."""
    try:
        servers.wait_until_up(ready, proc, what, timeout)
    except servers.DidNotStart as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL 15 server for the session, on a free loopback port; its URL."""
    if PG_BIN is None:
        pytest.skip("PostgreSQL server binaries not installed (make test installs Debian's postgresql)")
    server = PostgresServer()
    try:
        server.start()
        yield server.url
    finally:
        server.remove()


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
