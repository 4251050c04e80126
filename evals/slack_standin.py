"""A local stand-in for Slack's Web API (tests and the Slack bench): answers like Slack, records calls."""

from __future__ import annotations

import json
import time


class SlackStandIn:
    """A local stand-in for Slack's Web API: answers like Slack does and records every call."""

    def __init__(self) -> None:
        import http.server
        import threading
        import urllib.parse

        calls = self.calls = []
        lock = self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                method = self.path.rsplit("/", 1)[-1]
                raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                if "json" in (self.headers.get("content-type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                for key in ("blocks",):
                    if isinstance(params.get(key), str):
                        params[key] = json.loads(params[key])
                with lock:
                    calls.append((method, params))
                reply = {"ok": True}
                if method == "auth.test":
                    reply.update(user_id="UBOT", bot_id="BBOT", team_id="T1", user="smebot", team="test")
                elif method == "chat.postMessage":
                    reply.update(channel=params.get("channel"), ts=f"1700000000.{len(calls):06d}")
                elif method == "chat.postEphemeral":
                    reply.update(message_ts=f"1700000001.{len(calls):06d}")
                body = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def posted(self, method: str) -> list[dict]:
        with self.lock:
            return [p for m, p in self.calls if m == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.posted(method)
            if len(found) >= count:
                return found
            time.sleep(0.005)
        raise AssertionError(f"expected {count} {method} call(s), got {len(self.posted(method))}: {self.calls}")

    def close(self) -> None:
        self.server.shutdown()
