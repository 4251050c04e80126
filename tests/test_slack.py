"""Slack over HTTP: signed requests against the real FastAPI + bolt app, with slack_sdk pointed at a
local stand-in for Slack's Web API that records every call."""

import hashlib
import hmac
import json
import time
import urllib.parse

import pytest
from fakes import SlackStandIn
from fastapi.testclient import TestClient

from bot.advisor import Advisor
from bot.models import Answer, Chunk, Citation, SearchResult
from bot.slack_blocks import MAX_BLOCKS, SECTION_LIMIT, answer_blocks, escape, strip_mentions
from bot.store import ConversationStore
from bot.web import create_app

SECRET = "test-signing-secret"


@pytest.fixture
def slack(index_settings, tmp_path):
    standin = SlackStandIn()
    settings = index_settings.model_copy(
        update={"slack_signing_secret": SECRET, "slack_bot_token": "xoxb-test-token", "slack_api_url": standin.url}
    )
    advisor = Advisor(settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    with TestClient(create_app(settings, advisor=advisor)) as client:
        yield client, standin, advisor
    standin.close()


def signed(body: str, content_type: str, timestamp: int | None = None, secret: str = SECRET) -> dict:
    ts = str(timestamp or int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, "Content-Type": content_type}


def event(client, payload: dict, event_id: str, extra_headers: dict | None = None):
    body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id,
                       "event_time": int(time.time()), "event": payload}, ensure_ascii=False)
    headers = {**signed(body, "application/json"), **(extra_headers or {})}
    return client.post("/slack/events", content=body.encode(), headers=headers)


def form(client, fields: dict):
    body = urllib.parse.urlencode(fields)
    return client.post("/slack/events", content=body.encode(), headers=signed(body, "application/x-www-form-urlencoded"))


def interaction(client, payload: dict):
    return form(client, {"payload": json.dumps(payload, ensure_ascii=False)})


def mention(client, text="<@UBOT> 展示会に出たいのですが、補助はありますか", ts="1700000000.000001", event_id="Ev1"):
    return event(client, {"type": "app_mention", "user": "U1", "text": text, "ts": ts, "channel": "C1"}, event_id)


def test_a_mention_is_answered_in_its_thread_with_citations_and_buttons(slack):
    client, standin, _ = slack
    started = time.perf_counter()
    r = mention(client)
    assert r.status_code == 200 and time.perf_counter() - started < 3  # acknowledged at once
    [post] = standin.wait_for("chat.postMessage")
    assert post["channel"] == "C1" and post["thread_ts"] == "1700000000.000001"
    kinds = [b["type"] for b in post["blocks"]]
    assert kinds[0] == "section" and "context" in kinds and kinds[-1] == "context_actions"
    context = " ".join(e["text"] for b in post["blocks"] if b["type"] == "context" for e in b["elements"])
    assert "戦略Ⅰ" in context and "見本市への出展支援" in context
    [feedback] = post["blocks"][-1]["elements"]  # Slack's own feedback buttons
    assert feedback["type"] == "feedback_buttons" and feedback["positive_button"]["value"].startswith("up|slack:C1:")


def test_a_program_question_gets_a_program_block_after_the_answer(slack):
    # needs the core to fill the answer's `programs`
    client, standin, _ = slack
    mention(client, text="<@UBOT> BCPの助成金の上限っていくら？", event_id="EvP")
    [post] = standin.wait_for("chat.postMessage")
    blocks = post["blocks"]
    programs = [i for i, b in enumerate(blocks) if b["type"] == "section" and b["text"]["text"].startswith("*BCP実践促進助成金*")]
    assert programs, [b for b in blocks if b["type"] == "section"]
    at = programs[0]
    assert at > 0 and blocks[0]["type"] == "section"  # after the answer's text
    assert "上限: " in blocks[at]["text"]["text"]
    assert blocks[at + 1]["type"] == "context"
    assert blocks[at + 1]["elements"][0]["text"].endswith(("公式情報", "民間の解説を含む"))
    assert len(blocks) <= 50 and blocks[-1]["type"] == "context_actions"
    # its citations name the program and section, linked to the program's official page
    context = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"] if e["text"].startswith("[")]
    assert any(t.startswith("[") and "<https://www.tokyo-kosha.or.jp/" in t and "「BCP実践促進助成金」ガイド（" in t for t in context), context


def test_a_follow_up_in_the_thread_continues_the_conversation(slack):
    client, standin, advisor = slack
    mention(client)
    standin.wait_for("chat.postMessage")
    event(client, {"type": "message", "user": "U1", "text": "ほかには？", "ts": "1700000000.000009",
                   "thread_ts": "1700000000.000001", "channel": "C1", "channel_type": "channel"}, "Ev2")
    posts = standin.wait_for("chat.postMessage", 2)
    assert posts[1]["thread_ts"] == "1700000000.000001"
    conv = advisor.conversation("slack:C1:1700000000.000001", "slack")  # the Slack channel of the store
    assert [t.question for t in conv.turns] == ["展示会に出たいのですが、補助はありますか", "ほかには？"]


def test_a_direct_message_gets_an_answer(slack):
    client, standin, _ = slack
    event(client, {"type": "message", "user": "U1", "text": "跡継ぎがいなくて困っています", "ts": "1700000000.000002",
                   "channel": "D1", "channel_type": "im"}, "Ev3")
    [post] = standin.wait_for("chat.postMessage")
    assert post["channel"] == "D1" and "承継" in json.dumps(post["blocks"], ensure_ascii=False)


def test_messages_in_other_threads_and_from_bots_are_left_alone(slack):
    client, standin, _ = slack
    event(client, {"type": "message", "user": "U2", "text": "今日の会議は？", "ts": "1.1", "thread_ts": "1.0",
                   "channel": "C9", "channel_type": "channel"}, "Ev4")
    event(client, {"type": "message", "bot_id": "BOTHER", "text": "ほかには？", "ts": "1.2", "channel": "D1",
                   "channel_type": "im"}, "Ev5")
    event(client, {"type": "message", "user": "UBOT", "text": "ほかには？", "ts": "1.3", "channel": "D1",
                   "channel_type": "im"}, "Ev6")
    time.sleep(1.0)
    assert standin.posted("chat.postMessage") == []


def test_a_retried_or_repeated_event_is_answered_once(slack):
    client, standin, _ = slack
    mention(client, event_id="EvR")
    assert mention(client, event_id="EvR").status_code == 200  # the same event id delivered again
    body_retry = event(client, {"type": "app_mention", "user": "U1", "text": "<@UBOT> 展示会", "ts": "1700000000.000001",
                                "channel": "C1"}, "EvR2", {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert body_retry.status_code == 200
    standin.wait_for("chat.postMessage")
    time.sleep(1.0)
    assert len(standin.posted("chat.postMessage")) == 1


def command(client, standin, text, channel="C1", trigger="TR1"):
    return form(client, {"command": "/smebot", "text": text, "user_id": "U1", "channel_id": channel, "team_id": "T1",
                         "trigger_id": trigger, "response_url": standin.response_url(f"cmd-{trigger}")})


def click(client, standin, action_id: str, value: str, channel="C1", message=None, trigger="TR2"):
    payload = {"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": channel}, "team": {"id": "T1"},
               "actions": [{"action_id": action_id, "value": value, "type": "button"}], "trigger_id": trigger,
               "response_url": standin.response_url(f"act-{trigger}"), "container": {"channel_id": channel}}
    if message:
        payload["message"] = message
    return interaction(client, payload)


def test_slash_command_answers_through_respond_and_the_posted_answer_s_thread_continues(slack):
    client, standin, advisor = slack
    assert command(client, standin, "BCPを作りたい").status_code == 200
    [private] = standin.wait_for("response")
    assert private["response_type"] == "ephemeral" and standin.posted("chat.postEphemeral") == []
    button = next(e for b in private["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "post_to_channel")
    click(client, standin, "post_to_channel", button["value"])
    [post] = standin.wait_for("chat.postMessage")
    assert post["channel"] == "C1" and "ＢＣＰ" in json.dumps(post["blocks"], ensure_ascii=False)
    responses = standin.wait_for("response", 2)
    assert responses[1]["replace_original"] is True and "スレッド" in responses[1]["text"]
    [update] = standin.wait_for("chat.update")  # the post's buttons now name the thread's conversation
    thread_ts = update["ts"]
    assert f"slack:C1:{thread_ts}|0" in json.dumps(update["blocks"])
    event(client, {"type": "message", "user": "U1", "text": "申請の前に必要なことは？", "ts": "1700000009.000001",
                   "thread_ts": thread_ts, "channel": "C1", "channel_type": "channel"}, "EvCmd")
    posts = standin.wait_for("chat.postMessage", 2)
    assert posts[1]["thread_ts"] == thread_ts
    conv = advisor.conversation(f"slack:C1:{thread_ts}", "slack")
    assert [t.question for t in conv.turns] == ["BCPを作りたい", "申請の前に必要なことは？"]


def test_slash_command_in_a_channel_the_app_is_not_in_posts_through_the_response_url(slack):
    client, standin, _ = slack
    command(client, standin, "展示会に出たい", channel="G9", trigger="TRG")
    [private] = standin.wait_for("response")
    button = next(e for b in private["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "post_to_channel")
    standin.fail("chat.postMessage", "not_in_channel")
    click(client, standin, "post_to_channel", button["value"], channel="G9", trigger="TRG2")
    responses = standin.wait_for("response", 3)
    assert responses[1]["response_type"] == "in_channel" and responses[1]["blocks"]
    assert "招待" in responses[2]["text"]


def test_an_empty_slash_command_says_how_to_use_it(slack):
    client, standin, _ = slack
    command(client, standin, "  ")
    [usage] = standin.wait_for("response")
    assert "/smebot 質問" in usage["text"]


def test_message_shortcut_makes_a_private_reply_draft(slack):
    client, standin, _ = slack
    interaction(client, {"type": "message_action", "callback_id": "reply_draft", "user": {"id": "U1"},
                         "channel": {"id": "C1"}, "team": {"id": "T1"}, "trigger_id": "TR3",
                         "message": {"text": "展示会の出展費用に補助はありますか？", "ts": "1.5", "user": "U7"}})
    [ephemeral] = standin.wait_for("chat.postEphemeral")
    text = json.dumps(ephemeral["blocks"], ensure_ascii=False)
    assert "返信案（下書き）" in text and "確認事項" in text


def test_feedback_buttons_are_stored_and_thumbs_down_asks_for_a_comment(slack):
    client, standin, advisor = slack
    mention(client)
    [post] = standin.wait_for("chat.postMessage")
    [buttons] = post["blocks"][-1]["elements"]
    click(client, standin, "feedback", buttons["positive_button"]["value"], trigger="T9")
    [thanks] = standin.wait_for("response")
    assert thanks["response_type"] == "ephemeral" and "ありがとう" in thanks["text"]
    click(client, standin, "feedback", buttons["negative_button"]["value"], trigger="T10")
    [opened] = standin.wait_for("views.open")
    assert opened["trigger_id"] == "T10" and opened["view"]["callback_id"] == "feedback_comment"
    view = {**opened["view"], "state": {"values": {"comment": {"text": {"type": "plain_text_input", "value": "締切が知りたかった"}}}}}
    r = interaction(client, {"type": "view_submission", "user": {"id": "U1"}, "team": {"id": "T1"}, "view": view})
    assert r.status_code == 200 and r.json()["response_action"] == "update"
    rows = advisor.store.feedback_for("slack:C1:1700000000.000001")
    assert [(x["rating"], x["comment"]) for x in rows] == [("up", "slack:U1"), ("down", "締切が知りたかった")]


def test_a_comment_modal_closed_still_records_the_thumbs_down(slack):
    client, standin, advisor = slack
    mention(client)
    [post] = standin.wait_for("chat.postMessage")
    [buttons] = post["blocks"][-1]["elements"]
    click(client, standin, "feedback", buttons["negative_button"]["value"], trigger="T11")
    [opened] = standin.wait_for("views.open")
    interaction(client, {"type": "view_closed", "user": {"id": "U1"}, "team": {"id": "T1"}, "view": opened["view"]})
    deadline = time.monotonic() + 5
    while not advisor.store.feedback_for("slack:C1:1700000000.000001") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert advisor.store.feedback_for("slack:C1:1700000000.000001")[0]["rating"] == "down"


FORGED_BODY = json.dumps({"type": "event_callback", "event_id": "EvX", "team_id": "T1",
                          "event": {"type": "app_mention", "user": "U1", "text": "<@UBOT> 展示会", "ts": "1.9", "channel": "C1"}})


@pytest.mark.parametrize("kind", ["bad signature", "stale", "far future"])
def test_forged_or_stale_requests_get_401_and_do_nothing(slack, kind):
    client, standin, _ = slack
    body = FORGED_BODY
    if kind == "bad signature":
        headers = signed(body, "application/json", secret="not-the-secret")
    elif kind == "stale":
        headers = signed(body, "application/json", timestamp=int(time.time()) - 60 * 10)
    else:
        headers = signed(body, "application/json", timestamp=9_999_999_999)  # well formed, far from now
    assert client.post("/slack/events", content=body.encode(), headers=headers).status_code == 401
    time.sleep(0.5)
    assert [m for m, _ in standin.calls if m.startswith("chat.")] == []  # only the start-up auth.test


def _sig(body: str, ts: str) -> str:
    return "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()


_NOW = str(int(time.time()))
MALFORMED = {  # name: (X-Slack-Request-Timestamp, X-Slack-Signature); None leaves the header out
    "timestamp not a number": ("abc", _sig(FORGED_BODY, "abc")),
    "timestamp missing": (None, _sig(FORGED_BODY, _NOW)),
    "signature missing": (_NOW, None),
    "both missing": (None, None),
    "timestamp empty": ("", _sig(FORGED_BODY, "")),
    "timestamp huge": ("9" * 400, _sig(FORGED_BODY, "9" * 400)),
    "timestamp past int parsing": ("9" * 5000, "v0=" + "0" * 64),
    "timestamp with a fraction": (_NOW + ".5", _sig(FORGED_BODY, _NOW + ".5")),
    "timestamp negative": ("-" + _NOW, _sig(FORGED_BODY, "-" + _NOW)),
    "timestamp with a sign": ("+" + _NOW, _sig(FORGED_BODY, "+" + _NOW)),
    "timestamp in full-width digits": ("１７００００００００".encode(), "v0=" + "0" * 64),  # sent as UTF-8 bytes
    "signature without v0=": (_NOW, _sig(FORGED_BODY, _NOW)[3:]),
    "signature of another version": (_NOW, "v1=" + _sig(FORGED_BODY, _NOW)[3:]),
    "signature too short": (_NOW, _sig(FORGED_BODY, _NOW)[:-2]),
    "signature not hex": (_NOW, "v0=" + "z" * 64),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_slack_headers_get_400_and_do_nothing(slack, kind, caplog):
    client, standin, _ = slack
    timestamp, signature = MALFORMED[kind]
    headers = {"Content-Type": "application/json"}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    with caplog.at_level("INFO"):
        r = client.post("/slack/events", content=FORGED_BODY.encode(), headers=headers)
    assert r.status_code == 400, (r.status_code, r.text)  # answered before bolt: nothing can run after it
    assert "x-slack-" in r.json()["error"].lower() and len(r.text) < 200  # a short message naming the header
    assert not [rec for rec in caplog.records if rec.levelno >= 30 or rec.exc_info]  # no traceback, no error
    assert [m for m, _ in standin.calls if m.startswith("chat.")] == []


def test_a_body_that_is_not_utf8_or_a_header_given_twice_gets_400(slack, caplog):
    client, standin, _ = slack
    well_formed = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64,
                   "Content-Type": "application/json"}
    with caplog.at_level("INFO"):
        r = client.post("/slack/events", content=b'{"type": "event_callback", "x": "\xff\xfe"}', headers=well_formed)
        twice = client.post("/slack/events", content=FORGED_BODY.encode(),
                            headers=[*well_formed.items(), ("X-Slack-Signature", "v0=" + "1" * 64)])
    assert r.status_code == 400 and "UTF-8" in r.json()["error"]
    assert twice.status_code == 400 and "more than one" in twice.json()["error"]
    assert not [rec for rec in caplog.records if rec.exc_info]
    assert [m for m, _ in standin.calls if m.startswith("chat.")] == []


def test_a_replayed_event_is_answered_once_by_two_workers_on_one_store(index_settings, tmp_path):
    """Two workers (two apps, two stores on one database file) each get the same signed event,
    as a replay or a balancer's repeat would bring it: one answer, one stored turn."""
    from concurrent.futures import ThreadPoolExecutor

    standin = SlackStandIn()
    settings = index_settings.model_copy(
        update={"slack_signing_secret": SECRET, "slack_bot_token": "xoxb-test-token", "slack_api_url": standin.url}
    )
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    advisors = [Advisor(settings, store=ConversationStore(url)) for _ in range(2)]
    body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "EvReplay",
                       "event_time": int(time.time()), "event": {"type": "app_mention", "user": "U1", "channel": "C1",
                       "text": "<@UBOT> 展示会に出たいのですが、補助はありますか", "ts": "1700000300.000001"}},
                      ensure_ascii=False)
    headers = signed(body, "application/json")  # the very same request, signature and all
    try:
        with TestClient(create_app(settings, advisor=advisors[0])) as one, \
                TestClient(create_app(settings, advisor=advisors[1])) as two:
            for first, then in ((one, two), (two, one)):  # one after the other, either way round
                assert first.post("/slack/events", content=body.encode(), headers=headers).status_code == 200
                assert then.post("/slack/events", content=body.encode(), headers=headers).status_code == 200
            # and another event (another thread) to both at once
            racing = body.replace("EvReplay", "EvRace").replace("1700000300.000001", "1700000300.000002")
            again = signed(racing, "application/json")
            with ThreadPoolExecutor(max_workers=2) as pool:
                codes = list(pool.map(lambda c: c.post("/slack/events", content=racing.encode(), headers=again).status_code,
                                      (one, two)))
            assert codes == [200, 200]
            standin.wait_for("chat.postMessage", 2)
            time.sleep(1.5)
            posts = standin.posted("chat.postMessage")
            assert sorted(p["thread_ts"] for p in posts) == ["1700000300.000001", "1700000300.000002"]
            for thread in ("1700000300.000001", "1700000300.000002"):
                assert len(advisors[0].conversation(f"slack:C1:{thread}", "slack").turns) == 1
    finally:
        standin.close()


def test_blocks_respect_slacks_limits_and_escape_user_text():
    long_text = ("とても長い回答の文です。" * 400 + "\n") * 3  # ~14,000 characters
    chunk = Chunk(id="c", text="t", source="s", title="t", section="戦略Ⅰ > ② 販路開拓の強化", page=None)
    citations = [Citation(n, SearchResult(chunk, 1.0)) for n in range(1, 13)]
    blocks = answer_blocks(Answer(long_text + "<@U123> <script>&", citations, refused=False, turn=0), "conv")
    assert len(blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    assert all(len(b["elements"]) <= 10 for b in blocks if b["type"] == "context")
    assert sum(len(b["elements"]) for b in blocks if b["type"] == "context") == 12
    text = "".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "<@U123>" not in text and "&lt;@U123&gt;" in text and "&amp;" in text
    assert escape("<!channel>") == "&lt;!channel&gt;"
    assert strip_mentions("<@UBOT> 展示会 &lt;大型&gt;") == "展示会 <大型>"


def test_the_web_app_starts_when_slack_cannot_be_reached(index_settings, tmp_path, caplog):
    settings = index_settings.model_copy(update={"slack_signing_secret": SECRET, "slack_bot_token": "xoxb-wrong",
                                                 "slack_api_url": "http://127.0.0.1:9/api/"})
    advisor = Advisor(settings, store=ConversationStore("sqlite://"))
    with caplog.at_level("WARNING"), TestClient(create_app(settings, advisor=advisor)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/").status_code == 200
        deadline = time.monotonic() + 10
        while "Slack is not reachable" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
    assert "Slack is not reachable" in caplog.text


def test_without_a_signing_secret_the_slack_endpoint_says_so(index_settings):
    advisor = Advisor(index_settings, store=ConversationStore("sqlite://"))
    with TestClient(create_app(index_settings, advisor=advisor)) as client:
        r = client.post("/slack/events", json={})
        assert r.status_code == 404 and "SLACK_SIGNING_SECRET" in r.json()["error"]


def test_socket_mode_without_tokens_says_what_is_missing(monkeypatch, index_settings):
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.settings import get_settings

    monkeypatch.setenv("SMEBOT_DATA_DIR", str(index_settings.data_dir))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["slack"])
    assert result.exit_code == 2 and "SLACK_APP_TOKEN" in result.output


def test_a_slack_user_past_their_rate_is_told_privately(index_settings, tmp_path):
    standin = SlackStandIn()
    settings = index_settings.model_copy(update={
        "slack_signing_secret": SECRET, "slack_bot_token": "xoxb-test-token", "slack_api_url": standin.url,
        "slack_rate_limit": "2/minute",
    })
    advisor = Advisor(settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    try:
        with TestClient(create_app(settings, advisor=advisor)) as client:
            for i in range(3):
                assert mention(client, ts=f"1700000000.00010{i}", event_id=f"EvRate{i}").status_code == 200
            standin.wait_for("chat.postMessage", 2)
            [told] = standin.wait_for("chat.postEphemeral")
            assert told["user"] == "U1" and "秒ほどおいて" in told["text"]
            time.sleep(0.5)
            assert len(standin.posted("chat.postMessage")) == 2  # the third was not answered
    finally:
        standin.close()


def assistant_thread_started(client, channel="D7", thread_ts="1700000100.000001", event_id="EvAT"):
    return event(client, {"type": "assistant_thread_started", "assistant_thread": {
        "user_id": "U1", "channel_id": channel, "thread_ts": thread_ts,
        "context": {"channel_id": "C1", "team_id": "T1", "enterprise_id": None}}, "event_ts": "1700000100.000002"}, event_id)


def im(client, text, ts, thread_ts=None, channel="D7", event_id=None):
    payload = {"type": "message", "user": "U1", "text": text, "ts": ts, "channel": channel, "channel_type": "im"}
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return event(client, payload, event_id or f"Ev-{ts}")


def test_an_assistant_thread_opens_with_a_greeting_and_suggested_prompts(slack):
    client, standin, _ = slack
    assert assistant_thread_started(client).status_code == 200
    [prompts] = standin.wait_for("assistant.threads.setSuggestedPrompts")
    assert prompts["channel_id"] == "D7" and prompts["thread_ts"] == "1700000100.000001"
    assert len(prompts["prompts"]) == 4 and all(p["title"] and p["message"] for p in prompts["prompts"])
    [greeting] = standin.wait_for("chat.postMessage")
    assert greeting["thread_ts"] == "1700000100.000001" and "東京都の中小企業支援策" in greeting["text"]
    buttons = [e for b in greeting["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"][0] for b in buttons] == list("①②③④⑤")  # the five directions of strategy I


def test_an_assistant_thread_shows_the_status_takes_a_title_and_continues(slack):
    client, standin, advisor = slack
    assistant_thread_started(client)
    standin.wait_for("chat.postMessage")
    im(client, "展示会に出たいのですが、補助はありますか", "1700000100.000005", thread_ts="1700000100.000001")
    posts = standin.wait_for("chat.postMessage", 2)
    [status] = standin.wait_for("assistant.threads.setStatus")
    assert status["thread_ts"] == "1700000100.000001" and status["status"] == "回答を準備しています…"
    [title] = standin.wait_for("assistant.threads.setTitle")
    assert title["title"] == "展示会に出たいのですが、補助はありますか"
    assert posts[1]["thread_ts"] == "1700000100.000001" and posts[1]["blocks"][-1]["type"] == "context_actions"
    names = [m for m, _ in standin.calls]
    assert names.index("assistant.threads.setStatus") < len(names) - 1 - names[::-1].index("chat.postMessage")
    im(client, "ほかには？", "1700000100.000007", thread_ts="1700000100.000001")
    standin.wait_for("chat.postMessage", 3)
    assert len(standin.posted("assistant.threads.setTitle")) == 1  # the title is the first question's
    conv = advisor.conversation("slack:D7:1700000100.000001", "slack")
    assert [t.question for t in conv.turns] == ["展示会に出たいのですが、補助はありますか", "ほかには？"]


def test_a_greeting_button_asks_its_example_question(slack):
    client, standin, _ = slack
    assistant_thread_started(client)
    [greeting] = standin.wait_for("chat.postMessage")
    button = next(e for b in greeting["blocks"] if b["type"] == "actions" for e in b["elements"] if e["text"]["text"].startswith("⑤"))
    click(client, standin, button["action_id"], button["value"], channel="D7",
          message={"ts": "1700000100.000003", "thread_ts": "1700000100.000001", "user": "UBOT"})
    posts = standin.wait_for("chat.postMessage", 2)
    assert posts[1]["thread_ts"] == "1700000100.000001" and "承継" in json.dumps(posts[1]["blocks"], ensure_ascii=False)
    assert standin.wait_for("assistant.threads.setStatus") and standin.wait_for("assistant.threads.setTitle")


def test_thanks_and_talk_between_colleagues_get_a_reaction_or_nothing(slack):
    client, standin, _ = slack
    mention(client)
    standin.wait_for("chat.postMessage")
    for i, text in enumerate(["ありがとうございます！", "田中さん、この件は来週の会議で共有しましょう。", "<@U2> これ見ておいてください",
                              "<@U2> この助成金、うちも対象ですか？", "了解です、申請してみます"]):
        event(client, {"type": "message", "user": "U1", "text": text, "ts": f"1700000000.00002{i}",
                       "thread_ts": "1700000000.000001", "channel": "C1", "channel_type": "channel"}, f"EvSocial{i}")
    reactions = standin.wait_for("reactions.add", 2)
    assert sorted(r["name"] for r in reactions) == ["ok_hand", "pray"]
    assert {r["timestamp"] for r in reactions} == {"1700000000.000020", "1700000000.000024"}
    time.sleep(1.0)
    assert len(standin.posted("chat.postMessage")) == 1  # no re-answer


def test_a_direct_message_outside_the_chat_tab_starts_its_own_thread(slack):
    client, standin, advisor = slack
    im(client, "跡継ぎがいなくて困っています", "1700000200.000001", channel="D1")
    im(client, "サイバー攻撃が心配です", "1700000200.000002", channel="D1")
    posts = standin.wait_for("chat.postMessage", 2)
    assert sorted(p["thread_ts"] for p in posts) == ["1700000200.000001", "1700000200.000002"]
    assert len(advisor.conversation("slack:D1:1700000200.000001", "slack").turns) == 1  # two topics, two conversations


def test_the_app_home_says_what_the_advisor_can_do(slack):
    client, standin, _ = slack
    event(client, {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home", "event_ts": "1.0"}, "EvHome")
    [published] = standin.wait_for("views.publish")
    assert published["user_id"] == "U1" and published["view"]["type"] == "home"
    text = json.dumps(published["view"]["blocks"], ensure_ascii=False)
    assert all(m in text for m in "①②③④⑤") and "/smebot" in text and "出典" in text


@pytest.mark.parametrize("text, expected", [
    ("ありがとうございます！", "thanks"),
    ("本当にありがとうございました。助かりました🙏", "thanks"),
    ("Got it, thanks!", "thanks"),
    ("了解です", "acknowledged"),
    ("わかりました、申請してみます", "acknowledged"),
    ("田中さん、この件確認お願いします", "elsewhere"),
    ("佐藤部長 来週の打合せで共有します", "elsewhere"),
    ("<@U2> この助成金、うちも対象ですか？", "elsewhere"),
    ("皆さん、共有です", "elsewhere"),
    ("<@UBOT> ありがとう", "thanks"),
    ("ほかには？", "answer"),
    ("社長さん向けの支援はありますか", "answer"),
    ("smebotさん、上限はいくら？", "answer"),
    ("ありがとうございます。では申請の前に必要なことは？", "answer"),
    ("従業員は20人です", "answer"),
    ("What about the deadline", "answer"),
])
def test_triage_tells_questions_from_thanks_and_talk_between_people(text, expected):
    from bot.slack_triage import triage

    assert triage(text, "UBOT").value == expected


def test_the_manifest_asks_for_what_the_app_uses():
    from pathlib import Path

    import yaml

    from bot.slack_views import suggested_prompts

    manifest = yaml.safe_load((Path(__file__).resolve().parents[1] / "slack-manifest.yaml").read_text(encoding="utf-8"))
    assert manifest["features"]["assistant_view"]["suggested_prompts"] == suggested_prompts("ja")
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert {"assistant:write", "reactions:write", "chat:write", "commands", "im:history"} <= set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"assistant_thread_started", "assistant_thread_context_changed", "app_home_opened", "message.im",
            "app_mention"} <= set(manifest["settings"]["event_subscriptions"]["bot_events"])
