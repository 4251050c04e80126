"""What a client may make `smebot serve` hold before a request reaches the app: a real server, real
sockets. Header size and count, a socket that sends nothing, headers dripped a line at a time, requests
per keep-alive connection, and X-Forwarded-For believed only from configured proxies."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from evals.servers import child_env, smebot_serve

pytestmark = pytest.mark.slow

HEAD_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def served(index_settings):
    env = child_env(data_dir=str(index_settings.data_dir), head_timeout=str(HEAD_TIMEOUT), requests_per_connection="3",
                    keep_alive_timeout="2", rate_limit="2/minute")
    with smebot_serve(env) as s:
        yield s


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closes the socket (recv gives b''), or None if it is still open then."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        while True:
            if sock.recv(4096) == b"":
                return time.monotonic() - start
    except (socket.timeout, TimeoutError):
        return None
    except ConnectionResetError:
        return time.monotonic() - start


def _refused(headers) -> bool:
    """The server answers 400, or closes the connection while the client is still sending (the rest of
    the head unread): either way nothing was served."""
    try:
        return httpx.get(f"{served_url}/healthz", headers=headers).status_code == 400
    except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
        return True


served_url = ""


@pytest.fixture(autouse=True)
def _url(served):
    global served_url
    served_url = served.url


def test_a_huge_header_is_refused(served):
    assert _refused({"x-big": "a" * 200_000})
    assert _refused({"x-big": "a" * 16_000_000})


def test_thousands_of_headers_are_refused(served):
    assert _refused([(f"x-h{i}", "1") for i in range(20_000)])


def test_an_ordinary_request_is_served(served):
    assert httpx.get(f"{served.url}/healthz", headers={"x-note": "a" * 2000}).status_code == 200


def test_a_socket_that_sends_nothing_is_closed(served):
    with _connect(served.url) as sock:
        closed = _closed_within(sock, HEAD_TIMEOUT + 10)
    assert closed is not None and closed < HEAD_TIMEOUT + 5


def test_headers_dripped_a_line_at_a_time_are_cut_off(served):
    with _connect(served.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        closed = False
        while time.monotonic() - start < HEAD_TIMEOUT + 8:
            try:
                sock.sendall(b"X-Drip: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if _closed_within(sock, 0.5) is not None:
                closed = True
                break
        assert closed and time.monotonic() - start < HEAD_TIMEOUT + 5


def test_a_keep_alive_connection_is_closed_after_its_requests(served):
    with httpx.Client(base_url=served.url) as client:
        answers = [client.get("/healthz") for _ in range(3)]
    assert [r.headers.get("connection") for r in answers][-1] == "close"
    assert all(r.headers.get("connection") != "close" for r in answers[:-1])


def test_x_forwarded_for_from_this_host_does_not_escape_the_rate_limit(served):
    """No proxy is configured: a client on the host that says it is someone else is still counted as itself."""
    codes = [httpx.get(f"{served.url}/api/conversations/x", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
             for i in range(4)]
    assert 429 in codes
