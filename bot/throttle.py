"""Limits that keep one client, or a burst, from taking the whole service.

Two kinds, both answered at once rather than by queueing until clients time out:
- RateLimits: so many requests per client (a web client's address, a Slack user) per window, with
  the kept `limits` library (a moving window, in this process's memory: each process counts its
  own, so N processes let a client through N times as often);
- TurnGate: so many turns computed at once in this process, and so many waiting for a slot; a
  request past both is turned away, and one that waited too long gives up its place.

The web answers both with 429 and Retry-After (../shared/CONTRACT.md); Slack with a short reply.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


def parse_rate(value: str | None) -> list[RateLimitItem]:
    """'120/minute;20/second' into its windows; '', 'none' or None: no limit. ValueError if unreadable."""
    if value is None or value.strip().lower() in ("", "none", "off", "0"):
        return []
    return parse_many(value)


class RateLimits:
    """Requests per key per window; `hit` counts one and says how long to wait when over."""

    def __init__(self, rate: str | None) -> None:
        self.items = parse_rate(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage()) if self.items else None

    def hit(self, key: str) -> float | None:
        """Count one request of `key`: None if it may go on, else the seconds until it may."""
        if self._limiter is None:
            return None
        for item in self.items:
            if not self._limiter.hit(item, key):
                reset = self._limiter.get_window_stats(item, key).reset_time
                return max(1.0, reset - time.time())
        return None


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


@dataclass
class Busy(Exception):
    """No slot for a turn now; try again after `retry_after` seconds."""

    retry_after: float

    def __str__(self) -> str:
        return "too many requests are being answered at once; try again shortly"


class TurnGate:
    """At most `limit` turns at once on this event loop, at most `waiting` more queued for a slot,
    each for at most `wait` seconds. Past that a request is Busy at once: a burst costs its excess
    clients a quick 429, not a timeout after the server has done their work anyway."""

    def __init__(self, limit: int, waiting: int, wait: float) -> None:
        self.limit, self.waiting, self.wait = limit, waiting, wait
        self._slots = asyncio.Semaphore(limit)
        self.running = 0
        self.queued = 0

    def full(self) -> bool:
        """No slot and no room to wait for one: a request now would be Busy."""
        return self._slots.locked() and self.queued >= self.waiting

    def retry(self) -> float:
        """Seconds to wait: one, and one more per turn slot's worth of requests already waiting."""
        return 1.0 + self.queued / max(1, self.limit)

    async def __aenter__(self) -> TurnGate:
        if self._slots.locked() or self.queued:
            if self.queued >= self.waiting:
                raise Busy(self.retry())
            self.queued += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), self.wait)
            except asyncio.TimeoutError:
                raise Busy(self.retry()) from None
            finally:
                self.queued -= 1
        else:
            await self._slots.acquire()
        self.running += 1
        return self

    async def __aexit__(self, *exc) -> None:
        self.running -= 1
        self._slots.release()
