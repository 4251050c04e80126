"""Dependencies that fail: a real Chroma server and a real PostgreSQL 15 stopped and frozen while the
web app (real uvicorn on loopback) serves.

- Chroma stopped or frozen: answers go on from BM25 alone, with citations, `degraded: true` and a
  note that says so; no request waits much past `chroma_timeout`; readiness names the vector store;
  once the server is back, answers are whole again without a restart.
- PostgreSQL stopped or frozen: the calls that need it answer 503 `{"error"}` (with Retry-After),
  in JSON and in the stream, naming no host, port or driver; search still answers; readiness
  names the database; once it is back, the same conversations go on.

Figures (time to answer while frozen, time to recover) land in test-artifacts/dependencies.json.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import PG_BIN, ROOT, free_port, write_small_corpus

from bot.advisor import Advisor
from bot.settings import Settings
from bot.store import DEADLINE_GRACE, ConversationStore, StoreUnavailable
from bot.web import create_app
from evals.servers import CHROMA, ChromaServer, PostgresServer, uvicorn_thread

ARTIFACTS = ROOT / "test-artifacts"
FIGURES: dict[str, object] = {}
CHROMA_TIMEOUT = 1.0
RETRY_AFTER = 0.5
DB_TIMEOUT = 1.0
QUESTION = "BCPの策定を手伝ってほしい"


def record(**figures: object) -> None:
    FIGURES.update(figures)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dependencies.json").write_text(json.dumps(FIGURES, ensure_ascii=False, indent=1) + "\n")


def no_connection_details(body: str, *details: str) -> None:
    lowered = body.lower()
    for word in ("psycopg", "sqlalchemy", "traceback", "connection refused", "127.0.0.1", "localhost", *details):
        assert word.lower() not in lowered, f"{word!r} reached the client: {body[:300]}"


def serving(settings: Settings, advisor: Advisor):
    """The web app on real uvicorn, on a loopback port, in this process (so the test reaches its Advisor)."""
    return uvicorn_thread(create_app(settings, advisor))


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    """A Chroma server holding the vectors of a small corpus indexed through it, and the settings that use it."""
    if not CHROMA.exists():
        pytest.skip("chroma command not installed")
    from ingest.pipeline import ingest

    root = tmp_path_factory.mktemp("chroma-down")
    server = ChromaServer(root / "server")
    server.start()
    settings = Settings(
        data_dir=root / "data",
        corpus_dir=write_small_corpus(root),
        chroma_url=server.url,
        chroma_timeout=CHROMA_TIMEOUT,
        chroma_retry_after=RETRY_AFTER,
        db_timeout=DB_TIMEOUT,
    )
    assert ingest(settings).ok
    try:
        yield server, settings
    finally:
        server.stop()


@pytest.fixture
def chroma_up(chroma):
    """The server is running when the test starts, and again when it ends."""
    server, settings = chroma
    if server.proc is None or server.proc.poll() is not None:
        server.start()
    yield server, settings
    server.thaw()
    if server.proc.poll() is not None:
        server.start()


def chat(client: httpx.Client, url: str, message: str = QUESTION, conversation_id: str | None = None) -> httpx.Response:
    return client.post(f"{url}/api/chat", json={"message": message, "conversation_id": conversation_id})


def until(check, timeout: float, step: float = 0.1):
    """Poll check() until it returns something true; (value, seconds taken)."""
    start = time.monotonic()
    while True:
        value = check()
        if value:
            return value, time.monotonic() - start
        assert time.monotonic() - start < timeout, "did not happen in time"
        time.sleep(step)


# -- Chroma --------------------------------------------------------------------------------------------


def test_chroma_stopped_answers_degraded_with_citations_and_recovers(chroma_up, tmp_path):
    server, settings = chroma_up
    advisor = Advisor(settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    with serving(settings, advisor) as url, httpx.Client(timeout=30) as client:
        whole = chat(client, url).json()
        assert whole["degraded"] is False and whole["citations"]
        assert client.get(f"{url}/healthz/ready").json() == {
            "status": "ready", "checks": {"index": "ok", "vector_store": "ok", "database": "ok"}, "error": None
        }

        server.stop()
        r = chat(client, url, conversation_id=whole["conversation_id"])
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["degraded"] is True and not answer["refused"] and answer["citations"]
        assert answer["answer"].endswith("お答えしています。）")  # says what it was made without, after the answer
        assert any("事業継続" in c["text"] or "BCP" in c["text"] for c in answer["citations"])
        assert answer["turn"] == 1  # the conversation goes on
        english = chat(client, url, "Can you help us write a business continuity plan?").json()
        assert english["degraded"] is True and "(Search by meaning is down" in english["answer"]
        search = client.post(f"{url}/api/search", json={"query": "事業継続計画", "k": 3})
        assert search.status_code == 200 and search.json()["results"]
        ready = client.get(f"{url}/healthz/ready")
        assert ready.status_code == 503 and ready.headers["retry-after"]
        assert ready.json()["checks"]["vector_store"] == "down" and ready.json()["error"] == "down: vector store"
        # a balancer that should keep a process answering from BM25 asks with degraded=ok
        kept = client.get(f"{url}/healthz/ready", params={"degraded": "ok"})
        assert kept.status_code == 200 and kept.json()["status"] == "degraded"
        assert client.get(f"{url}/healthz/live").json() == {"status": "ok"}
        assert client.get(f"{url}/healthz").status_code == 200

        server.start()
        back = time.monotonic()
        _, recovered = until(lambda: chat(client, url).json()["degraded"] is False, timeout=20)
        assert client.get(f"{url}/healthz/ready").status_code == 200
        record(chroma_stopped={"recovery_s_after_restart": round(recovered, 2), "retry_after_s": RETRY_AFTER})
        assert time.monotonic() - back < 20


def test_chroma_frozen_costs_a_request_the_timeout_at_most(chroma_up, tmp_path):
    server, settings = chroma_up
    advisor = Advisor(settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    with serving(settings, advisor) as url, httpx.Client(timeout=60) as client:
        started = time.monotonic()
        assert chat(client, url).json()["degraded"] is False
        normal = time.monotonic() - started

        server.freeze()

        def timed(_):
            t = time.monotonic()
            r = chat(client, url)
            return time.monotonic() - t, r.status_code, r.json()

        with ThreadPoolExecutor(8) as pool:  # in flight together when the server stops answering
            first = list(pool.map(timed, range(8)))
        assert all(status == 200 and a["degraded"] and a["citations"] for _, status, a in first)
        slowest = max(s for s, _, _ in first)
        # the timeout, plus turns queued behind each other on a small machine's threads
        assert slowest < CHROMA_TIMEOUT + 8 * normal + 3, first
        then = [timed(0) for _ in range(5)]  # the store is known down: no call, no wait (one try per back-off)
        assert all(a["degraded"] for _, _, a in then)
        live = time.monotonic()
        assert client.get(f"{url}/healthz/live", timeout=2).status_code == 200
        live = time.monotonic() - live
        ready = client.get(f"{url}/healthz/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["vector_store"] == "down"

        server.thaw()
        _, recovered = until(lambda: chat(client, url).json()["degraded"] is False, timeout=20)
        record(
            chroma_frozen={
                "answer_s_before_freeze": round(normal, 3),
                "answer_s_while_frozen_8_concurrent_max": round(slowest, 3),
                "answer_s_while_frozen_8_concurrent_median": round(sorted(s for s, _, _ in first)[4], 3),
                "answer_s_while_frozen_after_detected_max": round(max(s for s, _, _ in then), 3),
                "live_s_while_frozen": round(live, 3),
                "recovery_s_after_thaw": round(recovered, 2),
                "chroma_timeout_s": CHROMA_TIMEOUT,
            }
        )
        assert max(s for s, _, _ in then) < CHROMA_TIMEOUT + 2 * normal + 1


def test_a_server_starts_while_chroma_is_down_and_picks_it_up_later(chroma_up, tmp_path):
    server, settings = chroma_up
    server.stop()
    started = time.monotonic()
    advisor = Advisor(settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    assert time.monotonic() - started < 30
    first = advisor.ask(QUESTION)
    assert first.degraded and first.citations
    server.start()
    time.sleep(RETRY_AFTER)
    assert advisor.ask(QUESTION).degraded is False


def test_an_answer_is_degraded_only_when_its_own_search_went_without(chroma_up, tmp_path):
    server, settings = chroma_up
    advisor = Advisor(settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    server.stop()
    refused = advisor.ask("株価の予想を教えて")  # out of scope: refused before any search
    assert refused.refused and not refused.degraded
    draft = advisor.draft("BCPの策定を手伝ってもらえますか。")
    assert any("検索の一部" in check for check in draft.checks)


# -- PostgreSQL ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres():
    if PG_BIN is None:
        pytest.skip("PostgreSQL server binaries not installed (make test installs Debian's postgresql)")
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def postgres_up(postgres):
    if postgres.proc is None or postgres.proc.poll() is not None:
        postgres.start()
    yield postgres
    postgres.thaw()
    if postgres.proc.poll() is not None:
        postgres.start()


def pg_settings(index_settings: Settings, server: PostgresServer) -> Settings:
    return index_settings.model_copy(update={"database_url": server.url, "db_timeout": DB_TIMEOUT})


def stream(client: httpx.Client, url: str, conversation_id: str | None = None) -> tuple[int, str]:
    with client.stream("POST", f"{url}/api/chat/stream", json={"message": QUESTION, "conversation_id": conversation_id}) as r:
        return r.status_code, r.read().decode()


def assert_store_down(r: httpx.Response, server: PostgresServer) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/json") and r.headers["retry-after"]
    assert r.json() == {"error": "the conversation store is unavailable; try again shortly"}
    no_connection_details(r.text, str(server.port))


def test_postgres_stopped_is_a_clean_503_and_recovers(postgres_up, index_settings):
    server = postgres_up
    settings = pg_settings(index_settings, server)
    advisor = Advisor(settings)
    with serving(settings, advisor) as url, httpx.Client(timeout=30) as client:
        first = chat(client, url).json()
        cid = first["conversation_id"]
        assert client.get(f"{url}/healthz/ready").status_code == 200

        server.stop()
        assert_store_down(chat(client, url), server)  # a new conversation cannot be kept
        assert_store_down(chat(client, url, "申し込みはどこで？", cid), server)
        assert_store_down(client.get(f"{url}/api/conversations/{cid}"), server)
        assert_store_down(
            client.post(f"{url}/api/feedback", json={"conversation_id": cid, "turn": 0, "rating": "up"}), server
        )
        assert_store_down(client.post(f"{url}/api/diagnose", json={"name": "bcp"}), server)
        status, body = stream(client, url, cid)  # an id to look up: refused before the stream starts
        assert status == 503
        no_connection_details(body, str(server.port))
        status, body = stream(client, url)  # a new conversation: the turn is made, then cannot be kept
        assert status == 200 and "event: error" in body and '"status": 503' in body and "event: done" not in body
        no_connection_details(body, str(server.port))
        assert client.post(f"{url}/api/search", json={"query": "事業継続", "k": 3}).status_code == 200
        ready = client.get(f"{url}/healthz/ready")
        assert ready.status_code == 503 and ready.json()["error"] == "down: database"
        assert ready.json()["checks"] == {"index": "ok", "vector_store": "ok", "database": "down"}
        assert client.get(f"{url}/healthz/ready", params={"degraded": "ok"}).status_code == 503  # no answer without it
        assert client.get(f"{url}/healthz/live").status_code == 200

        server.start()
        back = time.monotonic()
        again = chat(client, url, "申し込みはどこで？", cid)
        recovered = time.monotonic() - back
        assert again.status_code == 200 and again.json()["turn"] == 1  # nothing half-written while it was down
        assert client.get(f"{url}/healthz/ready").status_code == 200
        assert [t["turn"] for t in client.get(f"{url}/api/conversations/{cid}").json()["turns"]] == [0, 1]
        record(postgres_stopped={"first_answer_s_after_restart": round(recovered, 3)})


def test_postgres_frozen_costs_a_request_a_bounded_time(postgres_up, index_settings):
    server = postgres_up
    settings = pg_settings(index_settings, server)
    advisor = Advisor(settings)
    with serving(settings, advisor) as url, httpx.Client(timeout=60) as client:
        cid = chat(client, url).json()["conversation_id"]

        server.freeze()

        def timed(_):
            t = time.monotonic()
            r = chat(client, url, "申し込みはどこで？", cid)
            return time.monotonic() - t, r

        with ThreadPoolExecutor(4) as pool:
            frozen = list(pool.map(timed, range(4)))
        for _, r in frozen:
            assert_store_down(r, server)
        slowest = max(s for s, _ in frozen)
        # a pooled connection's wait meets its deadline (timeout + grace), then a new connection its
        # connect timeout (libpq's: 2 s at least)
        assert slowest < DB_TIMEOUT + DEADLINE_GRACE + 2 + 1.5, [s for s, _ in frozen]
        live = time.monotonic()
        assert client.get(f"{url}/healthz/live", timeout=2).status_code == 200
        live = time.monotonic() - live
        ready = client.get(f"{url}/healthz/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] == "down"

        server.thaw()
        (_, recovered) = until(lambda: chat(client, url, "ほかには？", cid).status_code == 200, timeout=20)
        turns = [t["turn"] for t in client.get(f"{url}/api/conversations/{cid}").json()["turns"]]
        assert turns == list(range(len(turns))) and len(turns) >= 2
        record(
            postgres_frozen={
                "answer_s_while_frozen_4_concurrent_max": round(slowest, 3),
                "answer_s_while_frozen_4_concurrent_min": round(min(s for s, _ in frozen), 3),
                "live_s_while_frozen": round(live, 3),
                "recovery_s_after_thaw": round(recovered, 2),
                "db_timeout_s": DB_TIMEOUT,
            }
        )


def test_slack_is_told_plainly_when_the_store_is_down(postgres_up, index_settings):
    from fakes import SlackStandIn
    from fastapi.testclient import TestClient
    from test_slack import SECRET, mention

    from bot.web import create_app

    server, standin = postgres_up, SlackStandIn()
    settings = pg_settings(index_settings, server).model_copy(
        update={"slack_signing_secret": SECRET, "slack_bot_token": "xoxb-test-token", "slack_api_url": standin.url}
    )
    try:
        with TestClient(create_app(settings, advisor=Advisor(settings))) as client:
            server.stop()
            assert mention(client).status_code == 200
            [post] = standin.wait_for("chat.postMessage")
            assert "会話を記録できない" in post["text"]
            no_connection_details(json.dumps(post, ensure_ascii=False), str(server.port))
    finally:
        standin.close()


def test_a_store_that_cannot_be_reached_says_so_without_details():
    port = free_port()  # nothing listens here
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        ConversationStore(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", timeout=DB_TIMEOUT)
    assert time.monotonic() - started < 5
    no_connection_details(str(caught.value), str(port))


def test_the_schema_declares_the_statuses_of_failing_dependencies(index_settings, tmp_path):
    from fastapi.testclient import TestClient

    from bot.web import create_app

    advisor = Advisor(index_settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    with TestClient(create_app(index_settings, advisor)) as client:
        paths = client.get("/openapi.json").json()["paths"]
        for path, method in [("/api/chat", "post"), ("/api/chat/stream", "post"), ("/api/diagnose", "post"),
                             ("/api/conversations/{conversation_id}", "get"), ("/api/feedback", "post")]:
            assert "503" in paths[path][method]["responses"], path
        assert {"200", "503"} <= set(paths["/healthz/ready"]["get"]["responses"])
        assert "200" in paths["/healthz/live"]["get"]["responses"]
        assert client.get("/healthz/live").json() == {"status": "ok"}
        ready = client.get("/healthz/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["vector_store"] == "ok"
