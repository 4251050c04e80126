"""What the Slack app does, scenario by scenario: each is sent (signed) to the web app's /slack/events
and the calls the app makes to a local stand-in for Slack's Web API are printed as a table
(scenario → the API calls, and the text each posted, shortened).

    python -m evals.slack_scenarios            # index corpus/ into a temporary data dir first
    SMEBOT_DATA_DIR=data python -m evals.slack_scenarios   # or use an index already built
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .slack_standin import SlackStandIn

SECRET = "scenario-secret"
TEXT_CHARS = 70
QUIET = 1.0  # seconds without a new call: the scenario is done


class Workspace:
    """A signed-request sender and the stand-in's call log, scenario after scenario."""

    def __init__(self, client, standin: SlackStandIn) -> None:
        self.client, self.standin = client, standin
        self.n = 0

    def _post(self, body: str, content_type: str) -> None:
        ts = str(int(time.time()))
        sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        r = self.client.post("/slack/events", content=body.encode(), headers={
            "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, "Content-Type": content_type})
        assert r.status_code == 200, r.text
        self.last_response = r

    def event(self, payload: dict) -> None:
        self.n += 1
        self._post(json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": f"Ev{self.n}",
                               "event_time": int(time.time()), "event": payload}, ensure_ascii=False), "application/json")

    def form(self, fields: dict) -> None:
        self._post(urllib.parse.urlencode(fields), "application/x-www-form-urlencoded")

    def interaction(self, payload: dict) -> None:
        self.form({"payload": json.dumps(payload, ensure_ascii=False)})

    def command(self, text: str, channel: str) -> None:
        self.n += 1
        self.form({"command": "/smebot", "text": text, "user_id": "U1", "channel_id": channel, "team_id": "T1",
                   "trigger_id": f"TR{self.n}", "response_url": self.standin.response_url(f"cmd{self.n}")})

    def click(self, action_id: str, value: str, channel: str, message: dict | None = None) -> None:
        self.n += 1
        payload = {"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": channel}, "team": {"id": "T1"},
                   "container": {"channel_id": channel}, "trigger_id": f"TR{self.n}",
                   "response_url": self.standin.response_url(f"act{self.n}"),
                   "actions": [{"action_id": action_id, "value": value, "type": "button"}]}
        if message:
            payload["message"] = message
        self.interaction(payload)

    def settle(self, since: int, timeout: float = 30.0) -> list[tuple[str, dict]]:
        """The calls made since `since`, once none has come for QUIET seconds."""
        deadline = time.monotonic() + timeout
        count, still = len(self.standin.calls), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if len(self.standin.calls) != count:
                count, still = len(self.standin.calls), time.monotonic()
            elif time.monotonic() - still > (QUIET if count > since else QUIET * 2):
                break  # quiet for a while (a little longer while nothing has come at all)
        with self.standin.lock:
            return [c for c in self.standin.calls[since:] if c[0] != "auth.test"]


def said(method: str, params: dict) -> str:
    """What a call shows a person, in a few words."""
    if method == "reactions.add":
        return f":{params.get('name')}:"
    if method == "assistant.threads.setStatus":
        return params.get("status", "")
    if method == "assistant.threads.setTitle":
        return params.get("title", "")
    if method == "assistant.threads.setSuggestedPrompts":
        return " / ".join(p["title"] for p in params.get("prompts", []))
    if method in ("views.open", "views.publish"):
        view = params.get("view") or {}
        return f"{view.get('type')} view ({len(view.get('blocks', []))} blocks)"
    text = params.get("text") or ""
    if method == "response":
        text = f"[{params.get('response_type') or ('replace' if params.get('replace_original') else '')}] {text}"
    cites = [e["text"] for b in params.get("blocks") or [] if b.get("type") == "context" for e in b.get("elements", [])
             if e.get("text", "").startswith("[")]
    text = " ".join(text.split())
    text = text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"
    return text + (f"  ⟨{cites[0][:60]}⟩" if cites else "")


def scenarios(ws: Workspace) -> list[tuple[str, Callable[[], None]]]:
    thread = "1700000100.000001"
    found: dict[str, Any] = {}

    def greeting_button(marker: str) -> None:
        greeting = next(p for m, p in ws.standin.calls if m == "chat.postMessage" and p.get("thread_ts") == thread)
        button = next(e for b in greeting["blocks"] if b["type"] == "actions" for e in b["elements"]
                      if e["text"]["text"].startswith(marker))
        ws.click(button["action_id"], button["value"], "D7",
                 message={"ts": "1700000100.000002", "thread_ts": thread, "user": "UBOT"})

    def post_button(channel: str) -> None:
        private = [p for m, p in ws.standin.calls if m == "response" and p.get("blocks")][-1]
        button = next(e for b in private["blocks"] if b["type"] == "actions" for e in b["elements"]
                      if e["action_id"] == "post_to_channel")
        ws.click("post_to_channel", button["value"], channel)

    def posted_thread() -> str:
        return [p for m, p in ws.standin.calls if m == "chat.update"][-1]["ts"]

    def feedback(which: str) -> None:
        answer = [p for m, p in ws.standin.calls if m == "chat.postMessage" and p.get("blocks")
                  and p["blocks"][-1]["type"] == "context_actions"][-1]
        found["feedback"] = answer["blocks"][-1]["elements"][0]
        ws.click("feedback", found["feedback"][f"{which}_button"]["value"], answer["channel"])

    def comment() -> None:
        view = [p for m, p in ws.standin.calls if m == "views.open"][-1]["view"]
        view = {**view, "state": {"values": {"comment": {"text": {"type": "plain_text_input", "value": "締切が知りたかった"}}}}}
        ws.interaction({"type": "view_submission", "user": {"id": "U1"}, "team": {"id": "T1"}, "view": view})

    def im(text: str, ts: str, thread_ts: str | None = None, channel: str = "D7") -> None:
        payload = {"type": "message", "user": "U1", "text": text, "ts": ts, "channel": channel, "channel_type": "im"}
        if thread_ts:
            payload["thread_ts"] = thread_ts
        ws.event(payload)

    def in_thread(text: str, ts: str, user: str = "U1") -> None:
        ws.event({"type": "message", "user": user, "text": text, "ts": ts, "thread_ts": "1700000000.000001",
                  "channel": "C1", "channel_type": "channel"})

    return [
        ("Chat tab: a new assistant thread", lambda: ws.event({"type": "assistant_thread_started", "assistant_thread": {
            "user_id": "U1", "channel_id": "D7", "thread_ts": thread, "context": {"channel_id": "C1", "team_id": "T1"}},
            "event_ts": "1700000100.000002"})),
        ("Chat tab: a question", lambda: im("展示会に出たいのですが、補助はありますか", "1700000100.000003", thread)),
        ("Chat tab: a follow-up", lambda: im("申請の前に必要なことは？", "1700000100.000004", thread)),
        ("Chat tab: 「ありがとうございます！」", lambda: im("ありがとうございます！", "1700000100.000005", thread)),
        ("Chat tab: greeting button ⑤", lambda: greeting_button("⑤")),
        ("Channel: @smebot question", lambda: ws.event({"type": "app_mention", "user": "U1", "ts": "1700000000.000001",
                                                         "channel": "C1", "text": "<@UBOT> BCPの助成金の上限っていくら？"})),
        ("Channel thread: 「ありがとうございます！」", lambda: in_thread("ありがとうございます！", "1700000000.000002")),
        ("Channel thread: 「了解です、申請してみます」", lambda: in_thread("了解です、申請してみます", "1700000000.000003")),
        ("Channel thread: 「田中さん、来週の会議で共有しましょう」", lambda: in_thread("田中さん、来週の会議で共有しましょう。", "1700000000.000004", "U2")),
        ("Channel thread: 「<@U2> うちも対象ですか？」", lambda: in_thread("<@U2> この助成金、うちも対象ですか？", "1700000000.000005")),
        ("Channel thread: a follow-up question", lambda: in_thread("申請の前に必要なことは？", "1700000000.000006")),
        ("Channel: English mention", lambda: ws.event({"type": "app_mention", "user": "U3", "ts": "1700000000.000101",
                                                        "channel": "C1", "text": "<@UBOT> Who do I call about customer harassment?"})),
        ("DM outside the Chat tab", lambda: im("跡継ぎがいなくて困っています", "1700000200.000001", channel="D1")),
        ("/smebot in a channel", lambda: ws.command("サイバー攻撃が心配です", "C1")),
        ("/smebot: 'チャンネルに投稿'", lambda: post_button("C1")),
        ("/smebot: a follow-up in the posted thread", lambda: ws.event({
            "type": "message", "user": "U1", "text": "ほかには？", "ts": "1700000300.000001", "thread_ts": posted_thread(),
            "channel": "C1", "channel_type": "channel"})),
        ("/smebot empty", lambda: ws.command("", "C1")),
        ("/smebot in a private channel (app not in it)", lambda: ws.command("展示会に出たい", "G9")),
        ("/smebot private: 'チャンネルに投稿' (not_in_channel)", lambda: (ws.standin.fail("chat.postMessage", "not_in_channel"),
                                                                     post_button("G9"))),
        ("👍 on an answer", lambda: (ws.standin.fail("chat.postMessage", None), feedback("positive"))),
        ("👎 on an answer", lambda: feedback("negative")),
        ("👎: the comment sent", comment),
        ("App Home opened", lambda: ws.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home",
                                               "event_ts": "1.0"})),
    ]


def main() -> list[tuple[str, list[tuple[str, str]]]]:
    from fastapi.testclient import TestClient

    from bot.advisor import Advisor
    from bot.index import read_manifest
    from bot.settings import Settings
    from bot.store import ConversationStore
    from bot.web import create_app
    from ingest.pipeline import ingest

    standin = SlackStandIn()
    data = Path(os.environ.get("SMEBOT_DATA_DIR") or tempfile.mkdtemp(prefix="smebot-scenarios-"))
    settings = Settings(data_dir=data, slack_signing_secret=SECRET, slack_bot_token="xoxb-scenarios",
                        slack_api_url=standin.url, slack_rate_limit="none")
    if read_manifest(settings.index_dir) is None:
        ingest(settings)
    advisor = Advisor(settings, store=ConversationStore(f"sqlite:///{tempfile.mkdtemp()}/slack.db"))
    rows = []
    try:
        with TestClient(create_app(settings, advisor=advisor)) as client:
            ws = Workspace(client, standin)
            ws.settle(0, timeout=3)
            for name, run in scenarios(ws):
                since = len(standin.calls)
                run()
                extra = []
                if name.startswith("👎: the comment"):
                    extra = [("(modal answer)", ws.last_response.json().get("response_action", ""))]
                rows.append((name, [(m, said(m, p)) for m, p in ws.settle(since)] + extra))
    finally:
        standin.close()
    return rows


def table(rows) -> str:
    lines = ["| scenario | API calls | what was posted |", "| --- | --- | --- |"]
    for name, calls in rows:
        methods = ", ".join(m for m, _ in calls) or "(none)"
        texts = "<br>".join(f"{m}: {t}" for m, t in calls if t) or "—"
        lines.append(f"| {name} | {methods} | {texts.replace('|', '/')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(main()))
