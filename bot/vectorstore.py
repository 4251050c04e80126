"""The Chroma collection a serving process searches, with a time limit on every call and a back-off.

A Chroma server that is stopped, frozen or slow must not hold a turn up, nor fail it: each call may
take `chroma_timeout` seconds, and a call that fails or times out marks the store down. While it is
down, searches skip the dense ranking at once and rank by BM25 alone (the answer says `degraded`);
after `chroma_retry_after` seconds one search tries the server again (the others keep to BM25
meanwhile, so a frozen server costs one request per back-off the timeout, not every request), and the
first call that succeeds brings the store back, without a restart.

Embedded Chroma (files under the data dir) has no server to wait for; its errors are treated alike.

    VectorStoreDown      the store cannot answer now; search goes on without it
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from .settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class VectorStoreDown(RuntimeError):
    """The vector store cannot answer now (unreachable, too slow, or in its back-off)."""


# -- what a turn did without ---------------------------------------------------------------------

_parts_down: ContextVar[set[str] | None] = ContextVar("smebot_parts_down", default=None)


@contextmanager
def noting_parts_down() -> Iterator[set[str]]:
    """Collect the parts that were down during the work inside (one turn, on its own thread).

    A context variable, not an attribute: turns run side by side, and a search deep in the core
    (the library's, the agent's) must not need the turn handed to it to say it went without."""
    down: set[str] = set()
    token = _parts_down.set(down)
    try:
        yield down
    finally:
        _parts_down.reset(token)


def note_down(part: str) -> None:
    down = _parts_down.get()
    if down is not None:
        down.add(part)


# -- the store -----------------------------------------------------------------------------------


def within(seconds: float, fn: Callable[[], T]) -> T:
    """fn() on a helper thread, given up after `seconds` (TimeoutError); for calls with no timeout of their own.

    A call given up on stays blocked on its thread until its server answers or goes: that is why
    the store calls a frozen server at most once per back-off."""
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="smebot-deadline", daemon=True).start()
    if not done.wait(seconds):
        raise TimeoutError(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class VectorStore:
    """The serving generation's Chroma collection; `query` has a collection's signature."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.timeout = settings.chroma_timeout
        self.retry_after = settings.chroma_retry_after
        self._client: Any = None
        self._collection: Any = None
        self._down_since: float | None = None  # monotonic; None while the store answers
        self._retry_at = 0.0  # monotonic: no call before this while down
        self._lock = threading.Lock()  # guards the two fields above

    # -- state -----------------------------------------------------------------------------------

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def _claim_call(self) -> bool:
        """May this thread call the store now? While it is down, one thread per back-off may."""
        with self._lock:
            if self._down_since is None:
                return True
            now = time.monotonic()
            if now < self._retry_at:
                return False
            self._retry_at = now + self.retry_after  # this thread tries; the others keep to BM25
            return True

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            if self._down_since is None:
                self._down_since = now
                log.warning(
                    "vector store %s unavailable (%s: %s); searching with BM25 alone, retrying every %g s",
                    self.name, type(exc).__name__, exc, self.retry_after,
                )
            self._retry_at = now + self.retry_after
            self._collection = None  # looked up again when the server is back (it may be a new one)

    def _answered(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is not None:
                log.warning("vector store %s back after %.1f s", self.name, time.monotonic() - self._down_since)
                self._down_since = None

    # -- calls -----------------------------------------------------------------------------------

    def _open(self) -> Any:
        """The collection, connecting first if need be; each step within the timeout."""
        collection = self._collection
        if collection is not None:
            return collection
        if self._client is None:
            from .index import chroma_client

            if self.settings.chroma_url:
                import httpx

                # a cheap call with a timeout first: the client's constructor calls the server without one
                base = self.settings.chroma_url.rstrip("/")
                httpx.get(f"{base}/api/v2/heartbeat", timeout=self.timeout).raise_for_status()
                self._client = within(self.timeout, lambda: chroma_client(self.settings, timeout=self.timeout))
            else:  # files under the data dir: nothing to wait for
                self._client = chroma_client(self.settings)
        self._collection = self._client.get_collection(self.name, embedding_function=None)
        return self._collection

    def _call(self, fn: Callable[[Any], T]) -> T:
        if not self._claim_call():
            raise VectorStoreDown(f"vector store {self.name} is down")
        try:
            result = fn(self._open())
        except Exception as exc:  # any failure of the store: unreachable, timed out, missing collection
            self._failed(exc)
            raise VectorStoreDown(f"vector store {self.name} is down") from exc
        self._answered()
        return result

    def connect(self) -> bool:
        """Connect now (at start-up); False, and BM25 alone until a later try succeeds, if it cannot."""
        try:
            self._call(lambda collection: None)
            return True
        except VectorStoreDown:
            return False

    def query(self, **kwargs: Any) -> dict[str, Any]:
        """collection.query(**kwargs), within the timeout; VectorStoreDown if the store cannot answer."""
        return self._call(lambda collection: collection.query(**kwargs))

    def check(self) -> bool:
        """Can the store serve now? (For readiness: a call to the server, within the back-off.)"""
        try:
            self._call(lambda collection: collection.count())
            return True
        except VectorStoreDown:
            return False
