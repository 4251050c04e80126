"""The HTTP connection as `smebot serve` runs it: uvicorn's h11 protocol with limits on what a client
may make the server hold before a request reaches the app.

uvicorn alone (0.55) waits forever for a connection that sends nothing or drips its headers a line at a
time, and its httptools parser takes a 16 MB header or 50,000 headers. Here:

- the request line and headers together are at most `max_header_bytes` (h11's incomplete-event limit:
  more gets 400 and the connection is closed), which bounds their number as well as their size;
- a connection must send a whole request head within `head_timeout` seconds of connecting, or of the
  first byte of its next request; past that it is closed (slowloris; an idle socket);
- an idle keep-alive connection is closed after `keep_alive_timeout` seconds (uvicorn's timer);
- after `requests_per_connection` requests the response says `Connection: close`, so a client on a
  keep-alive connection reconnects and lands on any worker, a restarted one included.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import Settings, get_settings

PROTOCOL = "bot.http_server:GuardedH11Protocol"


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head and a bound on requests per connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()  # read once per process
        self.head_timeout = settings.head_timeout
        self.requests_per_connection = settings.requests_per_connection
        self._head_deadline: asyncio.TimerHandle | None = None
        self._served = 0
        self._last_cycle: object | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()  # a socket that never sends anything is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE:
            self._await_head()  # a head still coming in: the deadline set at its first byte holds
        else:
            self._head_arrived()
        if self.cycle is not None and self.cycle is not self._last_cycle:
            self._last_cycle = self.cycle
            self._served += 1
            if self._served >= self.requests_per_connection:
                # the last on this connection: uvicorn answers a request that says Connection: close with
                # that header, and closes once the response is sent
                self.cycle.keep_alive = False
                self.cycle.scope["headers"] = [*self.cycle.scope["headers"], (b"connection", b"close")]

    def _await_head(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _head_arrived(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What `smebot serve` passes to uvicorn besides the app, the address and the workers."""
    trusted = settings.forwarded_allow_ips.strip()
    return {
        "http": PROTOCOL,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
    }
