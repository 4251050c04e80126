"""The advisor in Slack: a slack-bolt App over the same Advisor the web and the terminal use.

Slack wants an acknowledgement within 3 seconds: every listener acks at once and answers afterwards
(lazy listeners, or bolt's own worker threads for the assistant's events). A thread is a
conversation (id slack:CHANNEL:THREAD_TS) in the store's `slack` channel: apart from the web's
conversations, reached only through Slack's signed requests (the web API answers 404 for it), and
opened by the thread's first message.

Where people meet the advisor:
- the assistant surface (bolt's `Assistant`): a thread per topic in the app's Chat tab, opened with a
  greeting, a button per direction of the policy and Slack's suggested prompts; while an answer is
  prepared the thread shows a status ("回答を準備しています…"); its first question names the thread;
- a channel: `@smebot 質問` is answered in its thread, and the thread's later messages too, but only
  those that ask the advisor something (bot/slack_triage.py): a thanks or an acknowledgement gets a
  reaction, a message addressed to someone else (`<@U…> …`, 「田中さん、…」) gets nothing;
- a direct message outside the Chat tab starts a thread (a conversation) of its own;
- `/smebot 質問`: answered through the command's response_url (`respond()`, which works in DMs and in
  private channels the app has not joined), visible to the asker alone; "チャンネルに投稿" posts it,
  and the posted message's thread continues the conversation;
- Slack's feedback buttons under each answer; 👎 opens a modal for an optional comment;
- the App Home tab says what the advisor can do.

Retried deliveries (X-Slack-Retry-Num) and repeated event ids never produce a second answer, whichever
process or host gets them: an event is answered by the process that claims its id in the shared
conversation store (`ConversationStore.claim_event`, an insert only one claim can make), with this
process's memory of ids as a fast path. The bot ignores its own and other bots' messages. Each Slack
user is answered at most SMEBOT_SLACK_RATE_LIMIT times per window; past it they are told privately
when to try again.

Two ways in: HTTP mode at POST /slack/events in the web app (SLACK_SIGNING_SECRET verifies every
request: one with a missing or malformed X-Slack-Request-Timestamp or X-Slack-Signature gets 400
before bolt reads those headers, a forged or stale one 401), and Socket Mode (`smebot slack`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from .advisor import Advisor, BadRequest
from .core.intent import language_of
from .settings import Settings
from .slack_blocks import (
    answer_blocks,
    escape,
    fallback_text,
    split_text,
    strip_mentions,
)
from .slack_triage import REACTIONS, Triage, triage
from .slack_views import (
    COMMENT_MODAL,
    EXAMPLE_ACTION,
    comment_modal,
    greeting_blocks,
    home_view,
    modal_comment,
    suggested_prompts,
    thread_title,
    words,
)
from .store import SLACK, StoreUnavailable, Turn
from .throttle import RateLimits, retry_after

log = logging.getLogger(__name__)


# Slack's signature headers as Slack sends them: seconds since the epoch (ten digits until 2286), and
# "v0=" with an HMAC-SHA256 in hex. Anything else is refused before bolt parses it (bolt's int() and
# float() of the timestamp raised on "abc", "1.5" or 400 digits: a 500 with a traceback).
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
_TIMESTAMP = re.compile(r"[0-9]{1,10}")
_SIGNATURE = re.compile(r"v0=[0-9a-fA-F]{64}")


def malformed_signature_headers(headers: Mapping[str, Any]) -> str | None:
    """What is wrong with a request's Slack signature headers, in a few words (for a 400); None if
    they are well formed. Whether the signature is right is bolt's to say (401). `headers`: names in
    lower case, each a value or a list of values (bolt's BoltRequest.headers)."""
    for name, shape, expected in (
        (TIMESTAMP_HEADER, _TIMESTAMP, "seconds since the epoch"),
        (SIGNATURE_HEADER, _SIGNATURE, "v0= and 64 hex digits"),
    ):
        value = headers.get(name)
        values = [value] if isinstance(value, str) else list(value or [])
        shown = name.title()  # X-Slack-Request-Timestamp, X-Slack-Signature
        if not values:
            return f"missing {shown} header"
        if len(values) > 1:
            return f"more than one {shown} header"
        if not isinstance(values[0], str) or not shape.fullmatch(values[0]):
            return f"malformed {shown} header (expected {expected})"
    return None


class SeenEvents:
    """Event ids this process has taken: a bounded, thread-safe memory against duplicate deliveries
    (the fast path; the shared store's claim is what holds across processes)."""

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


def _thread_contexts(size: int = 5000):
    """Where the user was when they opened an assistant thread (Slack's thread context), kept in
    memory: the advisor does not answer from it, and bolt's default store would cost two Web API
    calls (conversations.replies, chat.update) each time it changes."""
    from slack_bolt.context.assistant.thread_context import AssistantThreadContext
    from slack_bolt.context.assistant.thread_context_store.store import (
        AssistantThreadContextStore,
    )

    class ThreadContexts(AssistantThreadContextStore):
        def __init__(self) -> None:
            self._contexts: OrderedDict[tuple[str, str], dict] = OrderedDict()
            self._lock = threading.Lock()

        def save(self, *, channel_id: str, thread_ts: str, context: dict[str, str]) -> None:
            with self._lock:
                self._contexts[(channel_id, thread_ts)] = dict(context)
                if len(self._contexts) > size:
                    self._contexts.popitem(last=False)

        def find(self, *, channel_id: str, thread_ts: str):
            with self._lock:
                found = self._contexts.get((channel_id, thread_ts))
            return AssistantThreadContext(found) if found else None

    return ThreadContexts()


def create_slack_app(advisor: Advisor, settings: Settings, client: Any = None):
    from slack_bolt import App, Assistant, BoltResponse
    from slack_bolt.context.set_status import SetStatus
    from slack_bolt.context.set_title import SetTitle
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

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

    def first_delivery(event_id: Any) -> bool:
        """Is this event id new to every process sharing the store? (Claimed now if so.)"""
        if not isinstance(event_id, str) or not event_id:
            return True
        if not seen.first_time(event_id):
            return False  # this process took it already
        try:
            return advisor.store.claim_event(event_id)
        except StoreUnavailable:
            return True  # this process's memory only; the answer says the store is down

    def wait_for(user: str | None) -> int | None:
        """Seconds the user should wait (past their rate), or None."""
        wait = per_user.hit(f"slack:{user}") if user else None
        return None if wait is None else retry_after(wait)

    @app.middleware
    def no_retries(body, next, request):
        # Slack retries an event it thinks was not acknowledged; the first delivery is answered already.
        if request.headers.get("x-slack-retry-num"):
            return BoltResponse(status=200, body="")
        # A repeat (a replay, a balancer's second try) may reach another process or host: the id is
        # claimed in the shared store, and only its first claim is answered.
        if body.get("type") == "event_callback" and not first_delivery(body.get("event_id")):
            return BoltResponse(status=200, body="")
        return next()

    def ack_now(ack):
        ack()

    def ask(text: str, conversation_id: str):
        return advisor.ask(text, conversation_id, channel=SLACK)  # the core is re-entrant: no lock

    def links() -> dict[str, str]:
        """Program name → official page, from the index in use: citations link to them."""
        programs = getattr(getattr(advisor, "index", None), "programs", None) or {}
        return {name: r.front_subsidy_detail_page_url for name, r in programs.items() if r.front_subsidy_detail_page_url}

    def blocks_for(answer, conversation_id: str, **kwargs) -> list[dict]:
        return answer_blocks(answer, conversation_id, links=links(), **kwargs)

    def reply(
        client,
        channel: str,
        thread_ts: str,
        text: str,
        user: str | None,
        *,
        bot: str | None,
        ts: str | None = None,
        status: Callable[..., Any] | None = None,
        title: Callable[[str], Any] | None = None,
    ) -> None:
        """Answer a message in its thread, if it asks the advisor something.

        `bot` is the app's own user id (a mention of it is not a mention of someone else); `ts` is
        the message's own timestamp (for a reaction); `status` and `title` are the assistant
        thread's (bolt's set_status and set_title), None outside assistant threads.
        """
        kind = triage(text, bot)
        if kind is Triage.ELSEWHERE:
            return
        if kind in REACTIONS:
            if ts:
                _quietly(client.reactions_add, channel=channel, timestamp=ts, name=REACTIONS[kind])
            return
        question = strip_mentions(text)
        said = words(language_of(question))
        wait = wait_for(user)
        if wait is not None:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=said["too_often"].format(seconds=wait))
            return
        conversation_id = thread_conversation(channel, thread_ts)
        if status is not None:
            _quietly(status, said["status"], loading_messages=said["loading"])
        try:
            answer = ask(question, conversation_id)
        except BadRequest as exc:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=escape(said["bad_request"].format(reason=exc)))
            return
        except StoreUnavailable:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=said["store_down"])
            return
        if title is not None and answer.turn == 0:
            _quietly(title, thread_title(question))
        client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=fallback_text(answer.answer),
            blocks=blocks_for(answer, conversation_id),
        )  # posting the answer clears the thread's status

    def from_a_bot(event: dict, context) -> bool:
        return bool(event.get("bot_id") or event.get("subtype") or event.get("user") == context.get("bot_user_id"))

    # --- the assistant surface: a thread per topic in the app's Chat tab ---------------------------

    assistant = Assistant(thread_context_store=_thread_contexts())

    @assistant.thread_started
    def on_thread_started(say, set_suggested_prompts):
        said = words("ja")
        say(text=said["greeting"], blocks=greeting_blocks("ja"))
        set_suggested_prompts(prompts=suggested_prompts("ja"), title=said["prompts_title"])

    @assistant.user_message
    def on_assistant_message(payload, client, context, set_status, set_title):
        if from_a_bot(payload, context):
            return
        reply(client, payload["channel"], payload["thread_ts"], payload.get("text", ""), payload.get("user"),
              bot=context.get("bot_user_id"), ts=payload.get("ts"), status=set_status, title=set_title)

    app.assistant(assistant)

    def on_example(body, client, context):
        """A greeting's direction button: its example question, asked in the thread."""
        channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        reply(client, channel, thread_ts, body["actions"][0]["value"], (body.get("user") or {}).get("id"),
              bot=context.get("bot_user_id"), status=SetStatus(client, channel, thread_ts), title=SetTitle(client, channel, thread_ts))

    app.action(re.compile(rf"^{EXAMPLE_ACTION}_\d+$"))(ack=ack_now, lazy=[on_example])

    # --- channels and direct messages --------------------------------------------------------------

    def on_mention(event, client, context):
        if from_a_bot(event, context):
            return
        reply(client, event["channel"], event.get("thread_ts") or event["ts"], event.get("text", ""), event.get("user"),
              bot=context.get("bot_user_id"), ts=event["ts"])

    app.event("app_mention")(ack=ack_now, lazy=[on_mention])

    def on_message(event, client, context):
        if from_a_bot(event, context):
            return
        bot = context.get("bot_user_id")
        if bot and f"<@{bot}>" in event.get("text", ""):
            return  # a mention: app_mention answers it
        channel, thread_ts = event["channel"], event.get("thread_ts")
        if event.get("channel_type") == "im":
            # a DM outside an assistant thread starts a thread (a conversation) of its own
            reply(client, channel, thread_ts or event["ts"], event.get("text", ""), event.get("user"), bot=bot, ts=event["ts"])
        elif thread_ts and advisor.conversation(thread_conversation(channel, thread_ts), SLACK) is not None:
            # a later message in a thread the advisor answered
            reply(client, channel, thread_ts, event.get("text", ""), event.get("user"), bot=bot, ts=event["ts"])

    app.event("message")(ack=ack_now, lazy=[on_message])

    # --- /smebot: answered to the asker alone, through the command's response_url -------------------

    def on_command(body, respond):
        user = body["user_id"]
        question = body.get("text", "").strip()
        said = words(language_of(question))
        if not question:
            respond(text=said["usage"], response_type="ephemeral")
            return
        wait = wait_for(user)
        if wait is not None:
            respond(text=said["too_often"].format(seconds=wait), response_type="ephemeral")
            return
        conversation_id = thread_conversation(body["channel_id"], f"cmd-{body.get('trigger_id', user)}"[:40])
        try:
            answer = ask(question, conversation_id)
        except BadRequest as exc:
            respond(text=escape(f"{said['usage']}（{exc}）"), response_type="ephemeral")
            return
        except StoreUnavailable:
            respond(text=said["store_down"], response_type="ephemeral")
            return
        respond(
            text=fallback_text(answer.answer),
            blocks=blocks_for(answer, conversation_id, post_button=not answer.refused),
            response_type="ephemeral",
        )

    app.command("/smebot")(ack=ack_now, lazy=[on_command])

    def on_post(body, client, respond):
        """"チャンネルに投稿": the private answer, posted; the post's thread continues the conversation."""
        conversation_id, turn = body["actions"][0]["value"].rsplit("|", 1)
        conv = advisor.conversation(conversation_id, SLACK)
        if conv is None or int(turn) >= len(conv.turns):
            return
        answer = conv.turns[int(turn)].answer  # the contract dict, as it was given
        said = words((answer.get("intent") or {}).get("language", "ja"))
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        try:
            posted = client.chat_postMessage(channel=channel, text=fallback_text(answer["answer"]),
                                             blocks=blocks_for(answer, conversation_id))
        except SlackApiError:  # a DM or a private channel the app is not in: posted through the command's response_url
            respond(text=fallback_text(answer["answer"]), blocks=blocks_for(answer, conversation_id),
                    response_type="in_channel", replace_original=False)
            respond(text=said["posted_no_thread"], response_type="ephemeral", replace_original=True)
            return
        thread = thread_conversation(channel, posted["ts"])
        forked = _fork(advisor, conv, int(turn), thread)
        if forked is not None:  # the post's buttons now speak for the thread's conversation
            _quietly(client.chat_update, channel=channel, ts=posted["ts"], text=fallback_text(answer["answer"]),
                     blocks=blocks_for(forked, thread))
        respond(text=said["posted"], response_type="ephemeral", replace_original=True)

    app.action("post_to_channel")(ack=ack_now, lazy=[on_post])

    # --- feedback: Slack's feedback buttons; 👎 asks for a comment in a modal -----------------------

    def store_feedback(value: str, rating: str, comment: str) -> bool:
        conversation_id, turn = value.rsplit("|", 1)
        try:
            advisor.store.add_feedback(conversation_id, int(turn), rating, comment, channel=SLACK)
        except (LookupError, ValueError):
            return False
        return True

    def on_feedback(body, client, respond):
        action = body["actions"][0]
        user = body["user"]["id"]
        rating, value = action["value"].split("|", 1)
        said = words("ja")
        if rating == "down":
            metadata = json.dumps({"value": value, "user": user})
            try:
                client.views_open(trigger_id=body["trigger_id"], view=comment_modal(metadata))
                return  # recorded when the modal is sent or closed
            except SlackApiError:
                pass  # no modal (the trigger expired): the 👎 alone
        if store_feedback(value, "up" if rating == "up" else "down", f"slack:{user}"):
            _quietly(respond, text=said[f"feedback_{'up' if rating == 'up' else 'down'}"],
                     response_type="ephemeral", replace_original=False)

    app.action("feedback")(ack=ack_now, lazy=[on_feedback])

    def on_comment(ack, view, body):
        meta = json.loads(view.get("private_metadata") or "{}")
        comment = modal_comment(view)
        store_feedback(meta.get("value", "|0"), "down", comment or f"slack:{body['user']['id']}")
        ack(response_action="update", view=_thanks_view(words("ja")))

    app.view_submission(COMMENT_MODAL)(on_comment)

    def on_comment_closed(ack, view, body):
        ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        store_feedback(meta.get("value", "|0"), "down", f"slack:{body['user']['id']}")

    app.view_closed(COMMENT_MODAL)(on_comment_closed)

    def on_old_feedback(body, client):
        """👍/👎 buttons of answers posted before Slack's feedback buttons were used."""
        action = body["actions"][0]
        rating = "up" if action["action_id"] == "feedback_up" else "down"
        if not store_feedback(action["value"], rating, f"slack:{body['user']['id']}"):
            return
        channel = (body.get("channel") or {}).get("id")
        if channel:
            client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=words("ja")["feedback_up"])

    app.action("feedback_up")(ack=ack_now, lazy=[on_old_feedback])
    app.action("feedback_down")(ack=ack_now, lazy=[on_old_feedback])

    # --- a clarifying question's choices, the reply-draft shortcut, the App Home ------------------

    def on_choice(body, client):
        conversation_id, n = body["actions"][0]["value"].rsplit("|", 1)
        channel = (body.get("channel") or body.get("container", {})).get("id") or body["container"]["channel_id"]
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        user = (body.get("user") or {}).get("id")
        wait = wait_for(user)
        if wait is not None:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts,
                                      text=words("ja")["too_often"].format(seconds=wait))
            return
        answer = ask(n, conversation_id)
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=fallback_text(answer.answer),
                                blocks=blocks_for(answer, conversation_id))

    app.action(re.compile(r"^choice_\d+$"))(ack=ack_now, lazy=[on_choice])

    def on_shortcut(body, client):
        message = body.get("message", {})
        channel, user = body["channel"]["id"], body["user"]["id"]
        wait = wait_for(user)
        if wait is not None:
            client.chat_postEphemeral(channel=channel, user=user, text=words("ja")["too_often"].format(seconds=wait))
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

    def on_home(event, client):
        if event.get("tab", "home") == "home":
            client.views_publish(user_id=event["user"], view=home_view())

    app.event("app_home_opened")(on_home)
    return app


def _quietly(call: Callable[..., Any], *args, **kwargs) -> None:
    """A call whose failure must not cost the answer (a status, a title, a reaction)."""
    try:
        call(*args, **kwargs)
    except Exception as exc:  # the answer still goes out
        log.warning("Slack call failed (%s); going on", exc)


def _thanks_view(said: dict) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": said["modal_title"][:24]},
            "close": {"type": "plain_text", "text": said["modal_close"]},
            "blocks": [{"type": "section", "text": {"type": "plain_text", "text": said["feedback_down"]}}]}


def _fork(advisor: Advisor, conv, turn: int, conversation_id: str):
    """The conversation a posted answer's thread continues: a copy of what the advisor knew then
    (the company's profile, the dialogue state) with the posted turn as its first. Its answer, or None
    if the thread has one already."""
    store = advisor.store
    if store.get(conversation_id, SLACK) is not None:
        return None
    thread = store.create(conversation_id, channel=SLACK)
    thread.profile, thread.state = dict(conv.profile), dict(conv.state)
    source = conv.turns[turn]
    copied = Turn(None, source.question, source.resolved, {**source.answer, "conversation_id": conversation_id}, source.refused)
    store.add_turn(thread, copied)
    return copied.answer


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
