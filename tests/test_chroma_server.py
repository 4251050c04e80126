"""The same index on a real Chroma server (`chroma run`), as a deployment with SMEBOT_CHROMA_URL uses it."""

import pytest

from bot.advisor import Advisor
from bot.settings import Settings
from evals.servers import CHROMA, ChromaServer
from ingest.pipeline import ingest


@pytest.fixture
def chroma_server(tmp_path):
    if not CHROMA.exists():
        pytest.skip("chroma command not installed")
    server = ChromaServer(tmp_path / "server")
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


def test_ingest_and_search_against_a_chroma_server(chroma_server, tmp_path, small_corpus):
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=small_corpus, chroma_url=chroma_server)
    report = ingest(settings)
    assert report.ok and report.chunks > 50
    assert not (tmp_path / "data" / "chroma").exists()  # vectors live on the server
    advisor = Advisor(settings)
    results = advisor.search("サイバー攻撃への備え", 3, method="dense")
    assert results and all(r.ranks.get("dense") for r in results)
    assert ingest(settings).unchanged
