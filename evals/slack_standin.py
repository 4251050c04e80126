"""A local stand-in for Slack's Web API (tests, the Slack bench and evals/slack_scenarios.py):
answers like Slack, records every call.

Besides the Web API methods (POST /api/<method>) it takes the posts an app makes to a command's or
an interaction's `response_url` (POST /api/response/<name>, recorded as method "response"), and it can
be told to fail a method the way Slack does (`fail("chat.postMessage", "not_in_channel")`).
"""

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
        failures = self.failures = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                method = "response" if "/response/" in path else path.rsplit("/", 1)[-1]
                raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                if "json" in (self.headers.get("content-type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                for key in ("blocks", "view", "prompts", "loading_messages", "metadata"):
                    if isinstance(params.get(key), str) and params[key][:1] in "[{":
                        params[key] = json.loads(params[key])
                with lock:
                    calls.append((method, params))
                    n = len(calls)
                    error = failures.get(method)
                reply = {"ok": True}
                if error:
                    reply = {"ok": False, "error": error}
                elif method == "auth.test":
                    reply.update(user_id="UBOT", bot_id="BBOT", team_id="T1", user="smebot", team="test")
                elif method == "chat.postMessage":
                    reply.update(channel=params.get("channel"), ts=f"1700000000.{n:06d}")
                elif method == "chat.update":
                    reply.update(channel=params.get("channel"), ts=params.get("ts"))
                elif method == "chat.postEphemeral":
                    reply.update(message_ts=f"1700000001.{n:06d}")
                elif method in ("views.open", "views.publish", "views.update"):
                    reply.update(view={"id": f"V{n:06d}", **(params.get("view") or {})})
                elif method == "conversations.replies":
                    reply.update(messages=[], has_more=False)
                body = json.dumps(reply).encode() if method != "response" or not error else b"error"
                self.send_response(200 if method != "response" or not error else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def response_url(self, name: str = "r1") -> str:
        """A response_url for a command or an interaction: what is posted to it is recorded as "response"."""
        return f"{self.url}response/{name}"

    def fail(self, method: str, error: str | None) -> None:
        """Make `method` answer {"ok": false, "error": error} (None: answer normally again)."""
        with self.lock:
            if error is None:
                self.failures.pop(method, None)
            else:
                self.failures[method] = error

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
