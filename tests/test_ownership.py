"""Conversations belong to whoever holds their id.

Ids are issued by the server and unguessable; a client cannot create a conversation by naming it,
read or continue one it was not given, nor reach a Slack thread's conversation through the web
API: every such id gets 404 with {"error": ...} on /api/chat, /api/chat/stream,
GET /api/conversations/{id}, /api/feedback and /api/diagnose. Real app (TestClient), real SQLite
file, real Slack signatures against a stand-in for Slack's Web API.
"""

import json
import re
import urllib.parse

import pytest
from fakes import SlackStandIn
from fastapi.testclient import TestClient
from test_slack import SECRET, mention

from bot.advisor import Advisor
from bot.store import ConversationStore
from bot.web import create_app

SLACK_THREAD = "slack:C1:1700000000.000001"  # what test_slack.mention opens


@pytest.fixture(scope="module")
def site(index_settings, tmp_path_factory):
    """The web app with Slack in HTTP mode, both over one store: (client, standin, advisor)."""
    standin = SlackStandIn()
    settings = index_settings.model_copy(
        update={"slack_signing_secret": SECRET, "slack_bot_token": "xoxb-test-token", "slack_api_url": standin.url}
    )
    db = tmp_path_factory.mktemp("own") / "c.db"
    advisor = Advisor(settings, store=ConversationStore(f"sqlite:///{db}"))
    with TestClient(create_app(settings, advisor=advisor)) as client:
        yield client, standin, advisor
    standin.close()


def chat(client, message, conversation_id=None):
    return client.post("/api/chat", json={"message": message, "conversation_id": conversation_id})


def every_web_path(client, conversation_id: str) -> dict[str, object]:
    """What each web path answers for this id: {path: response}."""
    quoted = urllib.parse.quote(conversation_id, safe="")
    return {
        "chat": chat(client, "ほかには？", conversation_id),
        "stream": client.post("/api/chat/stream", json={"message": "ほかには？", "conversation_id": conversation_id}),
        "read": client.get(f"/api/conversations/{quoted}"),
        "feedback": client.post("/api/feedback", json={"conversation_id": conversation_id, "turn": 0, "rating": "down"}),
        "diagnose": client.post("/api/diagnose", json={"name": "bcp", "conversation_id": conversation_id}),
    }


def assert_all_404(responses: dict) -> None:
    for path, r in responses.items():
        assert r.status_code == 404, (path, r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith("application/json"), path  # the stream never starts
        assert "no conversation" in r.json()["error"], path


def test_ids_are_issued_by_the_server_and_unguessable(site):
    client, _, _ = site
    ids = [chat(client, "展示会に出たい").json()["conversation_id"] for _ in range(3)]
    assert len(set(ids)) == 3
    for cid in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", cid), cid  # secrets.token_urlsafe(24): 192 random bits


def test_a_client_cannot_create_a_conversation_by_naming_it(site):
    client, _, advisor = site
    assert_all_404(every_web_path(client, "my-own-id"))
    assert advisor.conversation("my-own-id") is None  # nothing was created on the way
    assert client.get("/api/conversations/my-own-id").status_code == 404


def test_client_b_cannot_read_or_append_to_client_as_conversation(site):
    client, _, advisor = site
    a = chat(client, "従業員15人の印刷会社です。連絡先は taro@example.jp 03-1234-5678。BCPの助成金はありますか").json()
    a_id = a["conversation_id"]
    # B does not hold A's id: ids shaped like A's, A's with one character changed, and prefixes all fail
    guesses = [a_id[:-1] + ("A" if a_id[-1] != "A" else "B"), a_id[:16], a_id.lower(), a_id + "x"]
    for guess in guesses:
        assert_all_404(every_web_path(client, guess))
    # B's own conversation knows nothing of A
    b = chat(client, "BCPの助成金はありますか").json()
    assert b["conversation_id"] != a_id and b["turn"] == 0
    b_read = client.get(f"/api/conversations/{b['conversation_id']}").json()
    assert "taro@example.jp" not in json.dumps(b_read, ensure_ascii=False) and "employees" not in b_read["profile"]
    # A's conversation is as A left it: one turn, nothing of B's appended
    a_read = client.get(f"/api/conversations/{a_id}").json()
    assert [t["question"] for t in a_read["turns"]] == [a_read["turns"][0]["question"]] and a_read["profile"]["employees"] == 15
    assert advisor.store.feedback_for(a_id) == []
    # and A, holding its id, goes on
    assert chat(client, "申請の前に必要なことは？", a_id).json()["turn"] == 1


def test_a_slack_thread_is_reached_only_through_slack(site):
    client, standin, advisor = site
    assert mention(client).status_code == 200  # a signed request opens the thread's conversation
    standin.wait_for("chat.postMessage")
    conv = advisor.conversation(SLACK_THREAD, "slack")
    assert conv is not None and len(conv.turns) == 1
    assert_all_404(every_web_path(client, SLACK_THREAD))
    assert len(advisor.conversation(SLACK_THREAD, "slack").turns) == 1  # the web appended nothing
    assert advisor.store.feedback_for(SLACK_THREAD) == []
    assert advisor.conversation(SLACK_THREAD) is None  # not in the web's channel at all


@pytest.mark.parametrize("odd", ["x" * 2000, "a\nb", "会話", "../etc/passwd", " "])
def test_an_odd_id_is_404_never_a_500(site, odd):
    client, _, _ = site
    responses = every_web_path(client, odd)
    if odd == "../etc/passwd":  # a path with slashes is no conversation route at all
        responses.pop("read")
    assert_all_404(responses)


def test_an_empty_id_is_no_id(site):
    client, _, _ = site
    r = chat(client, "展示会に出たい", "")
    assert r.status_code == 200 and len(r.json()["conversation_id"]) == 32 and r.json()["turn"] == 0


def test_feedback_on_a_turn_that_does_not_exist_is_404(site):
    client, _, _ = site
    cid = chat(client, "展示会に出たい").json()["conversation_id"]
    r = client.post("/api/feedback", json={"conversation_id": cid, "turn": 5, "rating": "up"})
    assert r.status_code == 404 and "no turn 5" in r.json()["error"]
    assert client.post("/api/feedback", json={"conversation_id": cid, "turn": 0, "rating": "up"}).status_code == 204


def test_the_cli_continues_only_a_conversation_it_was_given(index_settings, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.settings import get_settings

    monkeypatch.setenv("SMEBOT_DATA_DIR", str(index_settings.data_dir))
    monkeypatch.setenv("SMEBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    runner = CliRunner()
    unknown = runner.invoke(app, ["ask", "ほかには？", "--conversation", "shop-42"])
    assert unknown.exit_code == 2 and "no conversation 'shop-42'" in unknown.output
    assert "earlier answer" in unknown.output  # says what --conversation wants
    as_json = runner.invoke(app, ["ask", "ほかには？", "--conversation", "shop-42", "--json"])
    assert as_json.exit_code == 2 and "no conversation" in json.loads(as_json.stdout)["error"]
    first = json.loads(runner.invoke(app, ["ask", "跡継ぎがいない", "--json"]).stdout)
    get_settings.cache_clear()
    second = runner.invoke(app, ["ask", "ほかには？", "--conversation", first["conversation_id"], "--json"])
    assert second.exit_code == 0 and json.loads(second.stdout)["turn"] == 1


def test_odd_ids_are_404_on_postgresql_too(index_settings, pg_database):
    from bot.settings import Settings

    advisor = Advisor(index_settings, store=ConversationStore(Settings(database_url=pg_database).conversation_db))
    with TestClient(create_app(index_settings, advisor=advisor)) as client:
        for odd in ["a\x00b", "x" * 2000, "slack:C1:1.0", "会話"]:
            assert_all_404(every_web_path(client, odd))
        cid = chat(client, "展示会に出たい").json()["conversation_id"]
        assert chat(client, "ほかには？", cid).json()["turn"] == 1
