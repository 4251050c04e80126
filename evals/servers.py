"""Real servers on loopback for the tests and the load run: `chroma run`, a PostgreSQL 15 of our own,
`smebot serve` in its own process, and the web app on uvicorn in a thread of this process.

Chroma and PostgreSQL can be started, stopped (and started again on the same port and data), frozen
and thawed, so a test or `make load` can use, break and mend the same dependency a deployment has.
Nothing here is a stand-in: `chroma run` is Chroma's own server, PostgreSQL is Debian's (make
system-deps), `smebot serve` is the command users run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMA = Path(sys.executable).with_name("chroma")
SMEBOT = Path(sys.executable).with_name("smebot")
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


# -- the advisor itself ------------------------------------------------------------------------------


def child_env(**settings: str) -> dict[str, str]:
    """The environment of a process started here: this tree's code, nothing fetched from a hub, none of
    the developer's SMEBOT_* settings, and the settings given (data_dir=... -> SMEBOT_DATA_DIR)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMEBOT_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    env.update({f"SMEBOT_{k.upper()}": v for k, v in settings.items()})
    return env


@dataclass
class Served:
    url: str
    proc: subprocess.Popen
    log: Path  # its standard output and error


@contextmanager
def smebot_serve(env: dict[str, str], workers: int = 1, log_dir: Path | None = None) -> Iterator[Served]:
    """`smebot serve --workers N` in its own process group on a free loopback port, once every worker
    is up and the app says it is ready; stopped (the whole group) afterwards."""
    import httpx

    port = free_port()
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="smebot-serve-"))
    log = log_dir / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(SMEBOT), "serve", "--port", str(port), "--workers", str(workers)], env=env,
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        # every worker up (each logs its start-up), not just the first to answer
        up = log.read_text(errors="replace").count("Application startup complete") >= workers
        return up and httpx.get(f"{url}/healthz/ready", timeout=2).status_code == 200

    try:
        try:
            wait_until_up(ready, proc, f"smebot serve --workers {workers}", timeout=120 * workers)
        except DidNotStart as exc:
            raise DidNotStart(f"{exc}:\n{log.read_text(errors='replace')[-3000:]}") from None
        yield Served(url, proc, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@contextmanager
def uvicorn_thread(app: Any, timeout: float = 30.0) -> Iterator[str]:
    """The ASGI app on real uvicorn, on a free loopback port, in a thread of this process (so the
    caller reaches the app's objects); its URL, and the server stopped afterwards."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise DidNotStart("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
