"""Limits and headers of the web app: per-client rates, turns at once, body size, time limits, clients
that leave, 405 with Allow, and the security headers on every response. In process (TestClient) and on
real uvicorn on loopback; the burst of 1,500 requests at once runs against `smebot serve` in its own process."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time

import httpx
import pytest
from conftest import ROOT
from fastapi.testclient import TestClient

from bot.advisor import Advisor
from bot.store import ConversationStore
from bot.web import create_app
from evals.servers import child_env, smebot_serve, uvicorn_thread



@pytest.fixture(scope="module")
def slow_advisor(index_settings, tmp_path_factory):
    """An Advisor whose turns take `delay` seconds more (a model, a slow dependency)."""
    db = tmp_path_factory.mktemp("limits") / "c.db"
    advisor = Advisor(index_settings, store=ConversationStore(f"sqlite:///{db}"))
    turn = advisor._turn
    advisor.delay = 0.0

    def slow_turn(*args, **kwargs):
        time.sleep(advisor.delay)
        return turn(*args, **kwargs)

    advisor._turn = slow_turn
    return advisor


def stored_conversations(advisor: Advisor) -> int:
    from sqlalchemy import func, select

    from bot.store import conversations

    with advisor.store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(conversations)).scalar_one()


def app_with(settings, advisor, **changes):
    return create_app(settings.model_copy(update=changes), advisor=advisor)


# -- headers ---------------------------------------------------------------------------------------


def test_every_response_carries_the_security_headers(index_settings, advisor):
    with TestClient(create_app(index_settings, advisor=advisor)) as client:
        responses = [
            client.get("/"),
            client.get("/static/app.js"),
            client.get("/healthz/live"),
            client.post("/api/search", json={"query": "展示会", "k": 1}),
            client.post("/api/chat", json={}),
            client.get("/api/conversations/nope"),
            client.get("/no/such/page"),
        ]
    for r in responses:
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, r.url
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-frame-options"] == "DENY"
        assert "camera=()" in r.headers["permissions-policy"]
        assert "access-control-allow-origin" not in r.headers  # CORS closed unless configured


def test_the_page_has_no_inline_script_or_style():
    import re

    html = (ROOT / "bot" / "static" / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>: the CSP blocks it"
    assert "<style" not in html and " style=" not in html and not re.search(r"\son[a-z]+=", html)


def test_cors_is_open_only_to_the_origins_configured(index_settings, advisor):
    app = app_with(index_settings, advisor, cors_origins=["https://desk.example.jp"])
    with TestClient(app) as client:
        ok = client.post("/api/search", json={"query": "展示会", "k": 1}, headers={"origin": "https://desk.example.jp"})
        other = client.post("/api/search", json={"query": "展示会", "k": 1}, headers={"origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://desk.example.jp"
    assert "access-control-allow-origin" not in other.headers


def test_a_method_not_allowed_says_which_are(index_settings, advisor):
    with TestClient(create_app(index_settings, advisor=advisor)) as client:
        r = client.request("TRACE", "/api/chat")
        assert r.status_code == 405 and r.headers["allow"] == "POST" and r.json()["error"]
        r = client.get("/api/feedback")
        assert r.status_code == 405 and r.headers["allow"] == "POST"
        r = client.put("/api/conversations/x")
        assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "DELETE"}


# -- body size, rate, turns at once, time --------------------------------------------------------------


def test_a_body_over_the_limit_is_413_before_it_is_read(index_settings, advisor):
    app = app_with(index_settings, advisor, max_body_bytes=2048)
    body = ('{"message": "' + "あ" * 1000 + '"}').encode()
    with TestClient(app) as client:
        r = client.post("/api/chat", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "2,048 bytes" in r.json()["error"]
        # no Content-Length (chunked): counted as it arrives
        r = client.post("/api/chat", content=iter([body[:1000], body[1000:]]), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]
        assert client.post("/api/chat", json={"message": "展示会に出たい"}).status_code == 200


def test_a_client_over_its_rate_gets_429_with_retry_after(index_settings, advisor):
    app = app_with(index_settings, advisor, rate_limit="3/minute")
    with TestClient(app) as client:
        codes = [client.post("/api/search", json={"query": "展示会", "k": 1}) for _ in range(5)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429, 429]
        assert 1 <= int(codes[-1].headers["retry-after"]) <= 60 and "too many requests" in codes[-1].json()["error"]
        assert client.get("/healthz/live").status_code == 200  # health is never limited
    other = TestClient(app, client=("203.0.113.9", 5000))  # another address has its own allowance
    with other:
        assert other.post("/api/search", json={"query": "展示会", "k": 1}).status_code == 200


def test_turns_past_the_bound_get_503_at_once(index_settings, slow_advisor):
    """One turn at a time, none waiting: while one runs, the next is turned away in milliseconds."""
    slow_advisor.delay = 1.0
    app = app_with(index_settings, slow_advisor, max_turns=1, max_waiting=0)
    try:
        with TestClient(app) as client:
            first = threading.Thread(target=lambda: client.post("/api/chat", json={"message": "展示会に出たい"}))
            first.start()
            time.sleep(0.3)
            started = time.monotonic()
            r = client.post("/api/chat", json={"message": "BCPを作りたい"})
            took = time.monotonic() - started
            s = client.post("/api/chat/stream", json={"message": "BCPを作りたい"})
            first.join()
    finally:
        slow_advisor.delay = 0.0
    # the server is busy, not the client over its rate: 503 with Retry-After (429 is the rate limit's)
    assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1 and r.json()["error"]
    assert took < 0.2, f"the 503 took {took:.2f} s"
    assert s.status_code == 503 and s.headers["content-type"].startswith("application/json")  # before the stream


def test_a_request_waits_for_a_slot_only_so_long(index_settings, slow_advisor):
    slow_advisor.delay = 1.0
    app = app_with(index_settings, slow_advisor, max_turns=1, max_waiting=4, turn_wait=0.2)
    try:
        with TestClient(app) as client:
            first = threading.Thread(target=lambda: client.post("/api/chat", json={"message": "展示会に出たい"}))
            first.start()
            time.sleep(0.3)
            started = time.monotonic()
            r = client.post("/api/search", json={"query": "BCP"})
            took = time.monotonic() - started
            first.join()
    finally:
        slow_advisor.delay = 0.0
    assert r.status_code == 503 and 0.15 < took < 0.6


def test_a_turn_past_its_time_is_503_and_not_stored(index_settings, slow_advisor):
    slow_advisor.delay = 1.0
    app = app_with(index_settings, slow_advisor, request_timeout=0.3)
    before = stored_conversations(slow_advisor)
    try:
        with TestClient(app) as client:
            r = client.post("/api/chat", json={"message": "展示会に出たい"})
            with client.stream("POST", "/api/chat/stream", json={"message": "展示会に出たい"}) as s:
                events = "".join(s.iter_text())
            time.sleep(1.2)  # the turns finish on their threads
    finally:
        slow_advisor.delay = 0.0
    assert r.status_code == 503 and "longer than 0.3 s" in r.json()["error"] and r.headers["retry-after"]
    assert "event: error" in events and "longer than 0.3 s" in events
    assert stored_conversations(slow_advisor) == before


def test_a_client_that_leaves_is_not_answered_into_the_store(index_settings, slow_advisor):
    """On real uvicorn: the client hangs up while its turn computes; the turn stores nothing."""
    slow_advisor.delay = 1.0
    before = stored_conversations(slow_advisor)
    try:
        with uvicorn_thread(create_app(index_settings, advisor=slow_advisor)) as url:
            for path in ("/api/chat", "/api/chat/stream"):
                with pytest.raises(httpx.ReadTimeout):
                    httpx.post(url + path, json={"message": "展示会に出たい"}, timeout=httpx.Timeout(5, read=0.3))
            time.sleep(1.5)
            assert httpx.post(url + "/api/chat", json={"message": "展示会に出たい"}, timeout=10).status_code == 200
    finally:
        slow_advisor.delay = 0.0
    assert stored_conversations(slow_advisor) == before + 1  # only the one that waited for its answer


# -- a burst on real uvicorn ---------------------------------------------------------------------------


async def burst(url: str, n: int, timeout: float) -> dict:
    """`n` chat requests at once (each its own connection), and /healthz/live asked every 50 ms meanwhile
    from a thread of its own (so the probe does not wait behind this client's own event loop)."""
    questions = ["展示会に出たい", "BCPを作りたい", "跡継ぎがいない", "サイバー攻撃が心配", "設備を入れたい"]
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=0)
    results: list[tuple[int | str, float, str | None]] = []
    live: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=url, timeout=timeout) as probe_client:
            while not stop.is_set():
                started = time.perf_counter()
                probe_client.get("/healthz/live")
                live.append(time.perf_counter() - started)
                time.sleep(0.05)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
        async def one(i: int) -> None:
            started = time.perf_counter()
            try:
                r = await client.post("/api/chat", json={"message": questions[i % len(questions)]})
                results.append((r.status_code, time.perf_counter() - started, r.headers.get("retry-after")))
                if r.status_code != 200:
                    assert "error" in r.json()
            except httpx.TimeoutException:
                results.append(("timeout", time.perf_counter() - started, None))
            except httpx.TransportError as exc:
                results.append((type(exc).__name__, time.perf_counter() - started, None))

        prober = threading.Thread(target=probe)
        prober.start()
        started = time.perf_counter()
        try:
            await asyncio.gather(*(one(i) for i in range(n)))
        finally:
            elapsed = time.perf_counter() - started
            stop.set()
            prober.join()
    return {"results": results, "live": live, "elapsed": elapsed}


@pytest.mark.slow
def test_a_burst_of_1500_gets_quick_503s_not_timeouts(index_settings, tmp_path):
    """1,500 chat requests at once against `smebot serve` (one process, the default bounds, no per-client
    rate so that the bound on turns is what answers): some answered, the rest 503 with Retry-After,
    none timed out or 500, /healthz/live fast throughout, and only answered turns stored."""
    # the session's index, read-only, and a store of its own (never a copy of a live SQLite file:
    # opening and closing it here would drop this process's locks on it)
    db = tmp_path / "burst.db"
    env = child_env(data_dir=str(index_settings.data_dir), rate_limit="none", database_url=f"sqlite:///{db}")
    with smebot_serve(env) as served:
        run = asyncio.run(burst(served.url, 1500, timeout=30))
        after = httpx.get(served.url + "/healthz/live", timeout=5)
    codes = [c for c, _, _ in run["results"]]
    counts = {c: codes.count(c) for c in set(codes)}
    ok = [t for c, t, _ in run["results"] if c == 200]
    busy = [(t, ra) for c, t, ra in run["results"] if c == 503]
    live = sorted(run["live"])
    report = (
        f"1500 at once in {run['elapsed']:.1f} s: {counts}; 200 p50 {statistics.median(ok):.2f} s max {max(ok):.2f} s; "
        f"503 p50 {statistics.median([t for t, _ in busy]):.2f} s max {max(t for t, _ in busy):.2f} s; "
        f"/healthz/live {len(live)} probes p50 {statistics.median(live) * 1000:.0f} ms max {max(live) * 1000:.0f} ms"
    )
    print(report)
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "burst.txt").write_text(report + "\n", encoding="utf-8")
    assert set(counts) <= {200, 503}, report
    assert counts.get(200, 0) >= 8 and counts.get(503, 0) > 0, report
    assert all(ra and int(ra) >= 1 for _, ra in busy), "every 503 has Retry-After"
    assert statistics.median(live) < 0.2 and max(live) < 5.0 and after.status_code == 200, report
    store = ConversationStore(f"sqlite:///{db}")
    from sqlalchemy import func, select

    from bot.store import turns

    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(turns)).scalar_one() == counts[200]
