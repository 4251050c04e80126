"""The HTTP API against the real app (FastAPI TestClient: the whole ASGI stack, in process)."""

import json

import pytest
from fastapi.testclient import TestClient

from bot.advisor import Advisor
from bot.store import ConversationStore
from bot.web import create_app


@pytest.fixture(scope="module")
def client(index_settings, tmp_path_factory):
    db = tmp_path_factory.mktemp("api") / "c.db"
    advisor = Advisor(index_settings, store=ConversationStore(f"sqlite:///{db}"))
    with TestClient(create_app(index_settings, advisor=advisor)) as c:
        yield c


def test_search_has_the_contract_shape(client):
    r = client.post("/api/search", json={"query": "展示会に出たい", "k": 3})
    assert r.status_code == 200
    data = r.json()
    assert data["query"] == "展示会に出たい" and len(data["results"]) == 3
    assert {"text", "source", "title", "section", "page", "score"} <= set(data["results"][0])


def test_chat_continues_a_conversation_and_lists_its_turns(client):
    first = client.post("/api/chat", json={"message": "跡継ぎがいない", "conversation_id": None}).json()
    assert first["refused"] is False and first["citations"] and first["mode"] == "extractive"
    second = client.post("/api/chat", json={"message": "ほかには？", "conversation_id": first["conversation_id"]}).json()
    assert second["turn"] == 1
    turns = client.get(f"/api/conversations/{first['conversation_id']}").json()["turns"]
    assert [t["question"] for t in turns] == ["跡継ぎがいない", "ほかには？"]


def test_chat_stream_sends_deltas_then_the_whole_answer(client):
    with client.stream("POST", "/api/chat/stream", json={"message": "サイバー攻撃が心配"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    events = [block for block in body.split("\n\n") if block.strip()]
    kinds = [e.split("\n")[0].removeprefix("event: ") for e in events]
    assert kinds[0] == "delta" and kinds[-1] == "done"
    done = json.loads(events[-1].split("\n", 1)[1].removeprefix("data: "))
    deltas = "".join(json.loads(e.split("\n", 1)[1].removeprefix("data: "))["text"] for e in events[:-1])
    assert deltas == done["answer"] and done["citations"]


def test_draft_has_the_contract_shape(client):
    r = client.post("/api/draft", json={"inquiry": "展示会の出展費用に補助はありますか？\nまた、跡継ぎの相談窓口はありますか？"})
    data = r.json()
    assert r.status_code == 200 and {"draft", "citations", "checks"} <= set(data)
    assert data["draft"].startswith("【返信案（下書き）】") and len(data["checks"]) >= 3


def test_a_follow_ups_draft_is_made_from_the_conversations_answer(client):
    # 「上限はいくら？」 alone names no program; drafted with its conversation, it holds the answered limit
    first = client.post("/api/chat", json={"message": "BCPの助成金について教えて"}).json()
    cid = first["conversation_id"]
    second = client.post("/api/chat", json={"message": "上限はいくら？", "conversation_id": cid}).json()
    assert "1,500万円" in second["answer"]
    r = client.post("/api/draft", json={"inquiry": "上限はいくら？", "conversation_id": cid, "turn": second["turn"]})
    data = r.json()
    assert r.status_code == 200, data
    assert "1,500万円" in data["draft"] and "確認できませんでした" not in data["draft"]
    assert "1. 「上限はいくら？（『BCP実践促進助成金』について）」について" in data["draft"]  # the follow-up, named
    assert data["citations"] and all(f"[{c['n']}]" in data["draft"] for c in data["citations"])
    assert any("当てはまるか" in c for c in data["checks"])
    # without a turn, the last answer; a turn the conversation does not have, or an id not issued: 404
    assert client.post("/api/draft", json={"inquiry": "x？", "conversation_id": cid}).json()["draft"] == data["draft"]
    assert client.post("/api/draft", json={"inquiry": "x？", "conversation_id": cid, "turn": 9}).status_code == 404
    assert client.post("/api/draft", json={"inquiry": "x？", "conversation_id": "not-issued"}).status_code == 404


def test_citations_name_their_program_and_official_page(client):
    data = client.post("/api/chat", json={"message": "BCPの助成金の上限っていくら？"}).json()
    first = data["citations"][0]
    assert first["program"] == "BCP実践促進助成金"
    assert first["label"].startswith("「BCP実践促進助成金」ガイド")
    assert first["url"] == "https://www.tokyo-kosha.or.jp/support/josei/setsubijosei/bcp.html"
    assert "how_to_apply" in data["programs"][0]


def test_feedback_is_stored(client):
    chat = client.post("/api/chat", json={"message": "展示会に出たい"}).json()
    r = client.post("/api/feedback", json={"conversation_id": chat["conversation_id"], "turn": 0, "rating": "up", "comment": "助かりました"})
    assert r.status_code == 204
    store = client.app.state.advisor.store
    assert store.feedback_for(chat["conversation_id"]) == [{"turn": 0, "rating": "up", "comment": "助かりました"}]


def test_healthz_reports_the_index_and_versions(client):
    data = client.get("/healthz").json()
    assert data["status"] == "ok" and data["index"]["chunks"] > 50 and data["versions"]["chromadb"]


@pytest.mark.parametrize(
    "path, body, status, says",
    [
        ("/api/chat", {"message": ""}, 422, "empty"),
        ("/api/chat", {"message": "  \n "}, 422, "empty"),
        ("/api/chat", {"message": "あ" * 50_000}, 422, "limit"),
        ("/api/chat", {"message": 42}, 422, "message"),
        ("/api/chat", {}, 422, "message"),
        ("/api/search", {"query": "展示会", "k": 500}, 422, "k"),
        ("/api/draft", {"inquiry": "   "}, 422, "empty"),
        ("/api/draft", {"inquiry": "@"}, 400, "no question"),
        ("/api/feedback", {"conversation_id": "nope", "turn": 0, "rating": "up"}, 404, "no conversation"),
        ("/api/feedback", {"conversation_id": "x", "turn": 0, "rating": "meh"}, 422, "rating"),
        ("/api/chat/stream", {"message": ""}, 422, "empty"),
        ("/api/chat/stream", {"message": "展示会", "conversation_id": "x" * 5000}, 404, "no conversation"),
        ("/api/search", {"query": "展示会", "k": True}, 422, "k"),
        ("/api/search", {"query": "展示会", "k": "5"}, 422, "k"),
        ("/api/feedback", {"conversation_id": "x", "turn": 2**63, "rating": "up"}, 422, "turn"),
        ("/api/feedback", {"conversation_id": "x", "turn": -1, "rating": "up"}, 422, "turn"),
        ("/api/diagnose", {"name": "nope"}, 404, "no check sheet"),
    ],
)
def test_bad_input_gets_a_4xx_that_says_what_is_wrong(client, path, body, status, says):
    r = client.post(path, json=body)
    assert r.status_code == status
    assert says in r.json()["error"]


def test_unknown_conversation_and_malformed_json(client):
    r = client.get("/api/conversations/does-not-exist")
    assert r.status_code == 404 and "does-not-exist" in r.json()["error"]
    r = client.post("/api/chat", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]


@pytest.mark.parametrize("text", ["\x1f", "\x00", " \x85 ", "\ufeff", "\u3000\t"])
def test_a_text_of_control_characters_or_spaces_is_refused_by_the_schema(client, text):
    """The schema's pattern and the server agree: 422 naming the field, never a 400 the schema did not say."""
    r = client.post("/api/search", json={"query": text})
    assert r.status_code == 422 and "query" in r.json()["error"]


def test_every_turn_number_in_the_schema_has_its_bounds(client):
    """An optional `turn` (a draft's) once had its bounds written as ge/le, which JSON Schema does not read:
    Schemathesis then sent turn -1105206 as schema-valid and got 422."""
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    draft = schemas["DraftRequest"]["properties"]["turn"]["anyOf"][0]
    feedback = schemas["FeedbackRequest"]["properties"]["turn"]
    for turn in (draft, feedback):
        assert (turn["minimum"], turn["maximum"]) == (0, 1_000_000) and "ge" not in turn
