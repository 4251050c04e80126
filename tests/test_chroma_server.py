"""The same index on a real Chroma server (`chroma run`), as a deployment with SMEBOT_CHROMA_URL uses it."""

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, wait_until_up

from bot.advisor import Advisor
from bot.settings import Settings
from ingest.pipeline import ingest

CHROMA = Path(sys.executable).with_name("chroma")


@pytest.fixture
def chroma_server(tmp_path):
    if not CHROMA.exists():
        pytest.skip("chroma command not installed")
    port = free_port()
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(lambda: urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1), proc, "chroma server")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ingest_and_search_against_a_chroma_server(chroma_server, tmp_path, small_corpus):
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=small_corpus, chroma_url=chroma_server)
    report = ingest(settings)
    assert report.ok and report.chunks > 50
    assert not (tmp_path / "data" / "chroma").exists()  # vectors live on the server
    advisor = Advisor(settings)
    results = advisor.search("サイバー攻撃への備え", 3, method="dense")
    assert results and all(r.ranks.get("dense") for r in results)
    assert ingest(settings).unchanged
