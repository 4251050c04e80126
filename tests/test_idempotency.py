"""A client that retries a request whose reply it lost sends the same Idempotency-Key and gets the turn
that was stored, never a second one: one after the other, on the stream, and two at once. Real uvicorn,
a real SQLite file."""

from __future__ import annotations

import json
import threading
import uuid

import httpx
import pytest

from bot.advisor import Advisor
from bot.store import ConversationStore
from bot.web import create_app
from evals.servers import uvicorn_thread


@pytest.fixture()
def served(index_settings, tmp_path):
    advisor = Advisor(index_settings.model_copy(update={"rate_limit": "none"}), store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    with uvicorn_thread(create_app(advisor.settings, advisor=advisor)) as url:
        yield url, advisor


def _turns(advisor: Advisor, conversation_id: str) -> int:
    return len(advisor.store.get(conversation_id).turns)


def test_a_retry_with_the_same_key_gets_the_stored_turn(served):
    url, advisor = served
    key = str(uuid.uuid4())
    first = httpx.post(f"{url}/api/chat", json={"message": "展示会に出たい"}, headers={"Idempotency-Key": key}, timeout=30).json()
    again = httpx.post(f"{url}/api/chat", json={"message": "展示会に出たい"}, headers={"Idempotency-Key": key}, timeout=30).json()
    assert (again["conversation_id"], again["turn"], again["answer"]) == (first["conversation_id"], first["turn"], first["answer"])
    assert _turns(advisor, first["conversation_id"]) == 1
    # the stream, retried with that key, gives the same turn as its one event
    r = httpx.post(f"{url}/api/chat/stream", json={"message": "展示会に出たい"}, headers={"Idempotency-Key": key}, timeout=30)
    kind, data = r.text.split("\n")[0], json.loads(r.text.split("\n")[1].removeprefix("data: "))
    assert kind == "event: done" and data["turn"] == first["turn"] and data["conversation_id"] == first["conversation_id"]
    # another key is another turn
    other = httpx.post(f"{url}/api/chat", json={"message": "上限は？", "conversation_id": first["conversation_id"]},
                       headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=30).json()
    assert other["turn"] == first["turn"] + 1 and _turns(advisor, first["conversation_id"]) == 2


def test_the_same_key_sent_twice_at_once_stores_one_turn(served):
    url, advisor = served
    start = httpx.post(f"{url}/api/chat", json={"message": "BCPを作りたい"}, timeout=30).json()
    cid, key, got = start["conversation_id"], str(uuid.uuid4()), []
    barrier = threading.Barrier(4)

    def send(path: str) -> None:
        barrier.wait()
        r = httpx.post(f"{url}{path}", json={"message": "上限はいくら？", "conversation_id": cid},
                       headers={"Idempotency-Key": key}, timeout=60)
        if path.endswith("stream"):
            done = [b for b in r.text.strip().split("\n\n") if b.startswith("event: done")]
            got.append(json.loads(done[0].split("\n")[1].removeprefix("data: "))["turn"])
        else:
            got.append(r.json()["turn"])

    threads = [threading.Thread(target=send, args=(p,)) for p in ("/api/chat", "/api/chat", "/api/chat/stream", "/api/chat/stream")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert got == [1, 1, 1, 1] and _turns(advisor, cid) == 2


@pytest.mark.parametrize("key", ["", "a" * 201, "with space", "a\tb"])
def test_a_key_that_is_not_1_to_200_visible_ascii_characters_is_422(served, key):
    url, _ = served
    r = httpx.post(f"{url}/api/chat", json={"message": "展示会に出たい"}, headers={"Idempotency-Key": key}, timeout=30)
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["error"]


def test_a_deleted_conversation_takes_its_keys_with_it(served):
    url, advisor = served
    key = str(uuid.uuid4())
    first = httpx.post(f"{url}/api/chat", json={"message": "展示会に出たい"}, headers={"Idempotency-Key": key}, timeout=30).json()
    assert httpx.delete(f"{url}/api/conversations/{first['conversation_id']}", timeout=30).status_code == 204
    assert advisor.store.answered_for_key(key) is None
    again = httpx.post(f"{url}/api/chat", json={"message": "展示会に出たい"}, headers={"Idempotency-Key": key}, timeout=30).json()
    assert again["conversation_id"] != first["conversation_id"]  # a new turn: nothing of the deleted one comes back
