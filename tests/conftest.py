"""Shared fixtures: real Sudachi, real chiVe vectors, a real Chroma on disk in tmp, nothing mocked.

The bundled corpus is indexed once per session into a temporary data dir; tests that change a
corpus build their own small one.
"""

from __future__ import annotations

import os
import shutil
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
    corpus = tmp_path / "corpus"
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
