"""The advisor in Slack: a slack-bolt App over the same Advisor the web and the terminal use.

Slack wants an acknowledgement within 3 seconds: every listener acks at once and answers in a lazy
listener (run on a worker thread). A thread is a conversation (id slack:CHANNEL:THREAD_TS) in the
store's `slack` channel: apart from the web's conversations, reached only through Slack's signed
requests (the web API answers 404 for it), and opened by the thread's first message.
Retried deliveries (X-Slack-Retry-Num) and repeated event ids never produce a second answer; the bot
ignores its own and other bots' messages. Each Slack user is answered at most SMEBOT_SLACK_RATE_LIMIT
times per window; past it they are told privately when to try again.

Two ways in: HTTP mode at POST /slack/events in the web app (SLACK_SIGNING_SECRET verifies every
request; a forged, unsigned or stale one gets 401), and Socket Mode (`smebot slack`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from typing import Any

from .advisor import Advisor, BadRequest
from .settings import Settings
from .store import SLACK, StoreUnavailable
from .throttle import RateLimits, retry_after
from .slack_blocks import answer_blocks, escape, fallback_text, split_text, strip_mentions

log = logging.getLogger(__name__)
# the conversation store is down: said plainly, as the web's 503 says it (never the database's own message)
STORE_DOWN = "ただいま会話を記録できないため、お答えできませんでした。少し時間をおいて、もう一度お試しください。"
TOO_OFTEN = "短い間にたくさんのご質問をいただきました。{seconds}秒ほどおいて、もう一度お試しください。"


class SeenEvents:
    """Event ids already taken: a bounded, thread-safe memory against duplicate deliveries."""

    def __init__(self, size: int = 5000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def first_time(self, event_id: str | None) -> bool:
        if not event_id:
            return True
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


def thread_conversation(channel: str, thread_ts: str) -> str:
    return f"slack:{channel}:{thread_ts}"


def create_slack_app(advisor: Advisor, settings: Settings, client: Any = None):
    from slack_bolt import App, BoltResponse
    from slack_sdk import WebClient

    if client is None:
        kwargs = {"base_url": settings.slack_api_url} if settings.slack_api_url else {}
        client = WebClient(token=settings.slack_bot_token, **kwargs)
    app = App(
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret or "socket-mode",
        client=client,
        token_verification_enabled=False,  # start even when Slack cannot be reached; auth.test on first use
        process_before_response=False,
    )
    seen = SeenEvents()
    per_user = RateLimits(settings.slack_rate_limit)

    def too_often(client, channel: str, user: str | None, thread_ts: str | None = None) -> bool:
        """Past the user's rate: say so to them alone, and answer nothing."""
        wait = per_user.hit(f"slack:{user}") if user else None
        if wait is None:
            return False
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts,
                                  text=TOO_OFTEN.format(seconds=retry_after(wait)))
        return True

    @app.middleware
    def no_retries(body, next, request):
        # Slack retries an event it thinks was not acknowledged; the first delivery is answered already.
        if request.headers.get("x-slack-retry-num"):
            return BoltResponse(status=200, body="")
        if body.get("type") == "event_callback" and not seen.first_time(body.get("event_id")):
            return BoltResponse(status=200, body="")
        return next()

    def ack_now(ack):
        ack()

    def ask(text: str, conversation_id: str):
        return advisor.ask(text, conversation_id, channel=SLACK)  # the core is re-entrant: no lock

    def reply(client, channel: str, thread_ts: str | None, text: str, user: str | None = None) -> None:
        if too_often(client, channel, user, thread_ts):
            return
        conversation_id = thread_conversation(channel, thread_ts or "dm")
        question = strip_mentions(text)
        try:
            answer = ask(question, conversation_id)
        except BadRequest as exc:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=escape(f"うまく受け取れませんでした：{exc}"))
            return
        except StoreUnavailable:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=STORE_DOWN)
            return
        client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=fallback_text(answer.answer),
            blocks=answer_blocks(answer, conversation_id),
        )

    def from_a_bot(event: dict, context) -> bool:
        return bool(event.get("bot_id") or event.get("subtype") or event.get("user") == context.get("bot_user_id"))

    def on_mention(event, client, context):
        if from_a_bot(event, context):
            return
        reply(client, event["channel"], event.get("thread_ts") or event["ts"], event.get("text", ""), event.get("user"))

    app.event("app_mention")(ack=ack_now, lazy=[on_mention])

    def on_message(event, client, context):
        if from_a_bot(event, context):
            return
        bot = context.get("bot_user_id")
        if bot and f"<@{bot}>" in event.get("text", ""):
            return  # a mention: app_mention answers it
        channel, thread_ts = event["channel"], event.get("thread_ts")
        if event.get("channel_type") == "im":
            reply(client, channel, thread_ts, event.get("text", ""), event.get("user"))
        elif thread_ts and advisor.conversation(thread_conversation(channel, thread_ts), SLACK) is not None:
            reply(client, channel, thread_ts, event.get("text", ""), event.get("user"))  # a follow-up in the bot's thread

    app.event("message")(ack=ack_now, lazy=[on_message])

    def on_command(body, client):
        channel, user = body["channel_id"], body["user_id"]
        if too_often(client, channel, user):
            return
        conversation_id = thread_conversation(channel, f"cmd-{body.get('trigger_id', user)}"[:40])
        try:
            answer = ask(body.get("text", ""), conversation_id)
        except BadRequest as exc:
            client.chat_postEphemeral(channel=channel, user=user, text=escape(f"使い方：/smebot 質問（{exc}）"))
            return
        except StoreUnavailable:
            client.chat_postEphemeral(channel=channel, user=user, text=STORE_DOWN)
            return
        client.chat_postEphemeral(
            channel=channel,
            user=user,
            text=fallback_text(answer.answer),
            blocks=answer_blocks(answer, conversation_id, post_button=not answer.refused),
        )

    app.command("/smebot")(ack=ack_now, lazy=[on_command])

    def on_post(body, client):
        conversation_id, turn = body["actions"][0]["value"].rsplit("|", 1)
        conv = advisor.conversation(conversation_id, SLACK)
        if conv is None or int(turn) >= len(conv.turns):
            return
        answer = _stored_answer(conv.turns[int(turn)].answer, int(turn))
        client.chat_postMessage(
            channel=body["channel"]["id"],
            text=fallback_text(answer.answer),
            blocks=answer_blocks(answer, conversation_id),
        )

    app.action("post_to_channel")(ack=ack_now, lazy=[on_post])

    def on_feedback(body, client):
        action = body["actions"][0]
        conversation_id, turn = action["value"].rsplit("|", 1)
        rating = "up" if action["action_id"] == "feedback_up" else "down"
        try:
            advisor.store.add_feedback(conversation_id, int(turn), rating, f"slack:{body['user']['id']}", channel=SLACK)
        except LookupError:
            return
        channel = (body.get("channel") or {}).get("id")
        if channel:
            client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text="ご意見ありがとうございました。")

    app.action("feedback_up")(ack=ack_now, lazy=[on_feedback])
    app.action("feedback_down")(ack=ack_now, lazy=[on_feedback])

    def on_choice(body, client):
        conversation_id, n = body["actions"][0]["value"].rsplit("|", 1)
        channel = (body.get("channel") or body.get("container", {})).get("id") or body["container"]["channel_id"]
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        if too_often(client, channel, (body.get("user") or {}).get("id"), thread_ts):
            return
        answer = ask(n, conversation_id)
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=fallback_text(answer.answer),
                                blocks=answer_blocks(answer, conversation_id))

    app.action(re.compile(r"^choice_\d+$"))(ack=ack_now, lazy=[on_choice])

    def on_shortcut(body, client):
        message = body.get("message", {})
        channel, user = body["channel"]["id"], body["user"]["id"]
        if too_often(client, channel, user):
            return
        try:
            draft = advisor.draft(strip_mentions(message.get("text", "")))
        except BadRequest as exc:
            client.chat_postEphemeral(channel=channel, user=user, text=escape(f"返信案を作れませんでした：{exc}"))
            return
        text = draft.draft + "\n\n送信前の確認事項：\n" + "\n".join(f"□ {c}" for c in draft.checks)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": p}} for p in split_text(escape(text))][:50]
        client.chat_postEphemeral(channel=channel, user=user, text=fallback_text(draft.draft), blocks=blocks)

    app.shortcut("reply_draft")(ack=ack_now, lazy=[on_shortcut])
    return app


def _stored_answer(data: dict, turn: int):
    """An Answer rebuilt from its stored JSON (citations included) for re-posting."""
    from .models import Answer, Chunk, Citation, SearchResult

    citations = [
        Citation(
            c["n"],
            SearchResult(
                Chunk(id=c.get("id", ""), text=c["text"], source=c["source"], title=c["title"], section=c["section"], page=c.get("page")),
                c.get("score", 0.0),
            ),
        )
        for c in data.get("citations", [])
    ]
    return Answer(data.get("answer", ""), citations, refused=data.get("refused", False), turn=turn)


def check_connection(app) -> None:
    """Best effort, in the background: say in the log if Slack cannot be reached or the token is wrong."""

    def check() -> None:
        try:
            app.client.auth_test()
        except Exception as exc:  # the web chat goes on; Slack works once it can be reached
            log.warning("Slack is not reachable or the token is not valid yet (%s); the web chat keeps running", exc)

    threading.Thread(target=check, daemon=True).start()


def run_socket_mode(advisor: Advisor, settings: Settings) -> None:
    """`smebot slack`: the app over Socket Mode, for a workspace without a public URL."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    if not settings.slack_bot_token or not settings.slack_app_token:
        raise SystemExit("smebot slack needs SLACK_BOT_TOKEN (xoxb-…) and SLACK_APP_TOKEN (xapp-…); see README, Slack")
    advisor.open_store()  # connect and migrate now, not on the first event
    SocketModeHandler(create_slack_app(advisor, settings), settings.slack_app_token).start()
