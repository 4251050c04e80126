"""Real servers on loopback for the tests and the load run: `chroma run` and a PostgreSQL 15 of our own.

Each can be started, stopped (and started again on the same port and data), frozen and thawed, so a
test or `make load` can use, break and mend the same dependency a deployment has. Nothing here is
a stand-in: `chroma run` is Chroma's own server, PostgreSQL is Debian's (make system-deps).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

CHROMA = Path(sys.executable).with_name("chroma")
PG_BIN = next((p for p in [Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin")] if (p / "initdb").exists()), None)


class DidNotStart(RuntimeError):
    """A server process died or did not answer in time."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(ready: Callable[[], object], proc: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    """Poll `ready()` (true once the server answers) until it is, the process dies, or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise DidNotStart(f"{what} did not start")
        time.sleep(0.2)


def as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class ChromaServer:
    """`chroma run` on a loopback port, stopped, started again on the same port and path, frozen, thawed."""

    def __init__(self, path: Path) -> None:
        self.path, self.port = path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(lambda: urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1), self.proc, "chroma")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)


class PostgresServer:
    """A PostgreSQL 15 cluster of its own in a temporary directory: started, stopped (fast shutdown),
    started again on the same port and data, frozen and thawed with every process of it, removed."""

    def __init__(self) -> None:
        if PG_BIN is None:
            raise DidNotStart("PostgreSQL server binaries not installed (make system-deps installs Debian's postgresql)")
        # not under pytest's tmp dir: that is private to root, and the server runs as postgres
        self.root = Path(tempfile.mkdtemp(prefix="smebot-pg-"))
        self.data, self.sock = self.root / "data", self.root / "sock"
        self.sock.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sock, "postgres")
        subprocess.run(
            as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]),
            check=True,
            capture_output=True,
        )
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        import psycopg

        self.proc = subprocess.Popen(
            as_postgres([str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1",
                         "-k", str(self.sock)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def ready() -> bool:
            try:
                psycopg.connect(self.url, connect_timeout=1).close()
                return True
            except psycopg.OperationalError:
                return False

        wait_until_up(ready, self.proc, "postgres")

    def _signal_all(self, sig: int) -> None:
        """The postmaster and its children (each backend is a process group of its own: setsid)."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        except FileNotFoundError:  # stopped
            return
        children = [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat") if _ppid(stat) == postmaster]
        for pid in [postmaster, *children]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.thaw()
            self._signal_all(signal.SIGINT)  # fast shutdown: sessions are ended, not waited for
            self.proc.wait(timeout=30)

    def freeze(self) -> None:
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # runuser stops itself when its child stops (as su does)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _ppid(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
