"""Slack timing on loopback: time from an event's arrival to the ack, and to the posted answer.

A real uvicorn server runs the web app with the Slack app in HTTP mode; slack_sdk talks to a local
stand-in for Slack's Web API. Signed app_mention events are sent one after another (bounded count).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bot.advisor import Advisor
from bot.settings import Settings
from bot.store import ConversationStore
from bot.web import create_app

from .metrics import load_set
from .servers import uvicorn_thread
from .slack_standin import SlackStandIn

SECRET = "bench-secret"
EVENTS = 60


def main() -> dict:
    standin = SlackStandIn()
    # one user sends every event: no per-user rate here (the bench measures answers, not the limit)
    settings = Settings(slack_signing_secret=SECRET, slack_bot_token="xoxb-bench", slack_api_url=standin.url,
                        slack_rate_limit="none")
    advisor = Advisor(settings, store=ConversationStore(f"sqlite:///{tempfile.mkdtemp()}/slack.db"))
    questions = [q.question for q in load_set(Path("evals/dev.jsonl")) if q.answerable]
    ack_ms, answer_ms = [], []
    with uvicorn_thread(create_app(settings, advisor=advisor)) as url, httpx.Client(base_url=url) as client:
        for i in range(EVENTS):
            body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": f"Ev{i}", "event": {
                "type": "app_mention", "user": "U1", "text": f"<@UBOT> {questions[i % len(questions)]}",
                "ts": f"1700000000.{i:06d}", "channel": "C1"}}, ensure_ascii=False)
            ts = str(int(time.time()))
            sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
            before = len(standin.posted("chat.postMessage"))
            started = time.perf_counter()
            r = client.post("/slack/events", content=body.encode(), headers={
                "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, "Content-Type": "application/json"})
            ack_ms.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200
            standin.wait_for("chat.postMessage", before + 1)
            answer_ms.append((time.perf_counter() - started) * 1000)
    standin.close()

    def p95(values):
        return sorted(values)[int(0.95 * (len(values) - 1))]

    figures = {
        "events": EVENTS,
        "ack_ms_p50": round(statistics.median(ack_ms), 1),
        "ack_ms_p95": round(p95(ack_ms), 1),
        "posted_ms_p50": round(statistics.median(answer_ms), 1),
        "posted_ms_p95": round(p95(answer_ms), 1),
    }
    print(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
