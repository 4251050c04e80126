"""A conversation deleted while its next answer is being made: /api/chat answers 404, and the stream ends
with an `error` event carrying the same 404 text, never a 500. Real uvicorn; the turn is held at a gate
so the delete lands mid-turn every time, not 2 times in 24."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from bot.advisor import Advisor
from bot.store import ConversationStore
from bot.web import create_app
from evals.servers import uvicorn_thread


@pytest.fixture()
def gated(index_settings, tmp_path):
    advisor = Advisor(index_settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    turn = advisor._turn
    advisor.started, advisor.proceed = threading.Event(), threading.Event()
    advisor.proceed.set()

    def held_turn(*args, **kwargs):
        advisor.started.set()
        assert advisor.proceed.wait(30)
        return turn(*args, **kwargs)

    advisor._turn = held_turn
    return advisor


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.mark.parametrize("path", ["/api/chat/stream", "/api/chat"])
def test_deleting_a_conversation_while_its_answer_is_made(index_settings, gated, path):
    with uvicorn_thread(create_app(index_settings, advisor=gated)) as url:
        first = httpx.post(url + "/api/chat", json={"message": "展示会に出たい"}, timeout=30).json()
        cid = first["conversation_id"]
        gated.started.clear()
        gated.proceed.clear()
        result: dict = {}

        def ask() -> None:
            result["response"] = httpx.post(url + path, json={"message": "上限はいくら？", "conversation_id": cid}, timeout=30)

        asking = threading.Thread(target=ask)
        asking.start()
        assert gated.started.wait(30)  # the turn is being made
        assert httpx.delete(f"{url}/api/conversations/{cid}", timeout=30).status_code == 204
        gated.proceed.set()
        asking.join(30)
        gone = httpx.post(url + "/api/chat", json={"message": "上限はいくら？", "conversation_id": cid}, timeout=30).json()
    response = result["response"]
    if path == "/api/chat":
        assert response.status_code == 404 and "error" in response.json()
        return
    assert response.status_code == 200  # the stream had started
    kind, data = _events(response.text)[-1]
    assert kind == "error" and data["status"] == 404
    assert data["error"] == gone["error"]  # the text /api/chat gives for that id
