"""ASGI middleware around the web app: what every response says to browsers, and what every request may cost.

- SecurityHeaders: a Content-Security-Policy (the page loads only its own files: no inline script or
  style, no other origin, no framing), nosniff, a referrer policy, no powerful browser features;
- BodyLimit: a body larger than the limit is refused with 413 before the app reads it (by its
  Content-Length, or as it arrives when it has none);
- RateLimit: requests to /api/ per client address per window (bot/throttle.py), 429 with Retry-After;
- ShedLoad: a request for a turn while the process's turn gate is full is a 503 before its body is
  read or validated (in a burst, turning one away costs about half as much).

Each error is the API's {"error": "..."} body. Pure ASGI (no BaseHTTPMiddleware): a streamed answer
passes through untouched, and the app still hears a client that goes away.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from starlette.exceptions import HTTPException

from .throttle import Busy, RateLimits, retry_after

Scope = dict[str, Any]
ASGIApp = Callable

# The page: its own script and style sheet only (bot/static/), the empty favicon as a data: URL.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages load Swagger UI and ReDoc from their CDN with an inline starter script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


async def send_error(send, status: int, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": message}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        csp = DOCS_CSP if scope["path"].startswith(DOCS_PATHS) else PAGE_CSP

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS if k not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", csp.encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class TooLarge(HTTPException):
    """Raised as the body arrives: an HTTPException, so the app's handler answers it (413 {"error"})
    even where the app turns other errors while reading a body into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit:,} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        message = f"the request body is larger than {self.limit:,} bytes"
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_large = int(value) > self.limit
                except ValueError:
                    return await send_error(send, 400, "the Content-Length header is not a number")
                if too_large:
                    return await send_error(send, 413, message)
        received = 0
        started = False

        async def counted():
            nonlocal received
            got = await receive()
            if got["type"] == "http.request":
                received += len(got.get("body", b""))
                if received > self.limit:
                    raise TooLarge(self.limit)
            return got

        async def watched(msg) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counted, watched)
        except TooLarge as exc:
            if not started:
                await send_error(send, 413, exc.detail)


class RateLimit:
    """Per client address on /api/ paths. Behind a proxy, the address is the one uvicorn takes from
    X-Forwarded-For when the proxy is trusted (FORWARDED_ALLOW_IPS)."""

    def __init__(self, app: ASGIApp, limits: RateLimits, prefix: str = "/api/") -> None:
        self.app, self.limits, self.prefix = app, limits, prefix

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = self.limits.hit(client)
            if wait is not None:
                return await send_error(
                    send,
                    429,
                    f"too many requests from this address; try again in {retry_after(wait)} s",
                    [(b"retry-after", retry_after(wait).encode())],
                )
        await self.app(scope, receive, send)


class ShedLoad:
    """Turn paths while the app's TurnGate (`app.state.gate`) is full: 503 at once (the server is busy;
    429 is for a client over its own rate). The gate itself
    still decides for the requests let through (a slot may fill meanwhile)."""

    def __init__(self, app: ASGIApp, paths: frozenset[str]) -> None:
        self.app, self.paths = app, paths

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths and scope["method"] == "POST":
            gate = getattr(scope["app"].state, "gate", None)
            if gate is not None and gate.full():
                busy = Busy(gate.retry())
                return await send_error(send, 503, str(busy), [(b"retry-after", retry_after(busy.retry_after).encode())])
        await self.app(scope, receive, send)
