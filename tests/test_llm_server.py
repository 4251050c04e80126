"""The model behind an OpenAI-compatible server, over real HTTP: a stand-in server on loopback
(evals/llm_standin.py) replays scripted replies in the wire format, langchain-openai's ChatOpenAI
talks to it through OPENAI_BASE_URL, and the real Advisor (and the real HTTP API) answers.

Each reply type: the answer, its mode and fallback, and what streamed to the asker.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from bot.advisor import Advisor
from bot.store import ConversationStore
from bot.web import create_app
from evals.llm_standin import LLMStandIn

TIMEOUT = 4.0
QUESTION = "BCP実践促進助成金の上限額はいくら？"


@pytest.fixture(scope="module")
def standin():
    with LLMStandIn(slow_delay=1.0) as server:
        yield server


@pytest.fixture
def llm(standin):
    """The module's stand-in, its script and its log emptied for this test."""
    standin._queue.clear()
    standin.requests.clear()
    return standin


@pytest.fixture(scope="module")
def make_advisor(index_settings, standin, tmp_path_factory):
    """An Advisor whose SMEBOT_LLM=openai:standin reaches the stand-in through OPENAI_BASE_URL."""
    made: dict[tuple, Advisor] = {}

    def make(**settings) -> Advisor:
        key = tuple(sorted(settings.items()))
        if key not in made:
            s = index_settings.model_copy(update={"llm": "openai:standin", "llm_timeout": TIMEOUT, **settings})
            db = tmp_path_factory.mktemp("llm") / "c.db"
            with pytest.MonkeyPatch.context() as env:
                env.setenv("OPENAI_BASE_URL", standin.base_url)
                env.setenv("OPENAI_API_KEY", "dummy")
                advisor = Advisor(s, store=ConversationStore(f"sqlite:///{db}"))
                assert type(advisor.llm).__name__ == "ChatOpenAI"  # the real client, built from the settings
            made[key] = advisor
        return made[key]

    return make


@pytest.fixture(scope="module")
def plain(index_settings):
    """The extractive answer to QUESTION: what every fallback answers, after its note."""
    return Advisor(index_settings, store=ConversationStore("sqlite://")).ask(QUESTION)


def ask(advisor: Advisor, question: str = QUESTION):
    deltas: list[str] = []
    started = time.monotonic()
    answer = advisor.ask(question, on_delta=deltas.append)
    return answer, deltas, time.monotonic() - started


def assert_fell_back(answer, deltas, plain, reason):
    assert answer.mode == "extractive" and answer.fallback == reason
    # the plan's answer first (its first sentence answers), the note after it
    assert answer.answer.startswith(plain.answer) and answer.answer.endswith("言語モデルを使わずに資料の該当箇所からお作りしました。）")
    assert deltas == [answer.answer]  # the rendered plan, once: nothing of the model's reply was shown


@pytest.mark.parametrize("kind", ["plan", "good"])
def test_a_faithful_wording_is_the_answer_and_streams_once_checked(make_advisor, llm, plain, kind):
    llm.enqueue(kind)
    answer, deltas, _ = ask(make_advisor())
    assert answer.mode == "llm" and answer.fallback is None and not answer.refused
    assert "".join(deltas) == answer.answer and len(deltas) >= 2  # sentence by sentence
    assert [c.result.chunk.id for c in answer.citations] == [c.result.chunk.id for c in plain.citations]
    if kind == "plan":
        assert answer.answer == plain.answer
    else:
        assert "窓口へご相談ください" in answer.answer
    body = llm.requests[0]
    # bounded and offered the tool the way llama.cpp's server takes it
    assert body["max_tokens"] == 800 and body["max_completion_tokens"] == 800
    assert body["tool_choice"] == "auto" and body["tools"][0]["function"]["name"] == "search_policy"
    assert body["stream"] is True


@pytest.mark.parametrize("kind", ["tool_call", "tool_split", "tool_repeated"])
def test_a_tool_call_searches_and_the_wording_follows(make_advisor, llm, kind):
    llm.enqueue(kind, "plan")
    answer, deltas, _ = ask(make_advisor())
    assert answer.mode == "llm" and answer.fallback is None, answer.fallback
    assert "".join(deltas) == answer.answer
    assert len(llm.requests) == 2
    sent = llm.requests[1]["messages"]
    assert sent[-2]["tool_calls"][0]["function"]["name"] == "search_policy"  # repaired, not search_policysearch_policy
    assert sent[-1]["role"] == "tool" and "<passages>" in sent[-1]["content"]


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("length", "length"),
        ("echo", "echo"),
        ("invented_figure", "unsupported_figure"),
        ("invented_link", "invented_link"),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
def test_a_reply_that_leaves_the_plan_falls_back_and_nothing_of_it_streams(make_advisor, llm, plain, kind, reason, stream):
    llm.enqueue(kind)
    answer, deltas, _ = ask(make_advisor(llm_stream=stream))
    assert_fell_back(answer, deltas, plain, reason)
    assert all("<passages>" not in d and "example" not in d for d in deltas)
    assert llm.requests[0]["stream"] is stream


def test_a_slow_stream_is_cut_at_the_time_limit(make_advisor, llm, plain):
    llm.enqueue("slow")
    answer, deltas, took = ask(make_advisor())
    assert_fell_back(answer, deltas, plain, "timeout")
    assert took < TIMEOUT + 6  # generous: the stand-in's stream would take far longer


def test_a_server_error_falls_back_after_trying_the_plainer_shapes(make_advisor, llm, plain):
    llm.enqueue("server_error", "server_error", "server_error")
    answer, deltas, _ = ask(make_advisor())
    assert_fell_back(answer, deltas, plain, "server_error")
    shapes = [("tools" in b, b["stream"]) for b in llm.requests]
    assert shapes == [(True, True), (True, False), (False, True)]


def test_a_server_that_refuses_tools_while_streaming_is_asked_again_without_streaming(make_advisor, llm):
    llm.enqueue("server_error", "plan")
    answer, _, _ = ask(make_advisor())
    assert answer.mode == "llm" and answer.fallback is None
    assert [b["stream"] for b in llm.requests] == [True, False]


@pytest.mark.parametrize("stream", [True, False])
def test_a_stalled_connection_is_closed_at_the_time_limit_and_leaves_no_thread(make_advisor, llm, plain, stream):
    advisor = make_advisor(llm_stream=stream)
    llm.enqueue("plan")
    ask(advisor)  # warm: whatever the client starts once is started before we count
    before = set(threading.enumerate())
    llm.enqueue("stall")
    answer, deltas, took = ask(advisor)
    assert_fell_back(answer, deltas, plain, "timeout")
    assert took < TIMEOUT + 6
    time.sleep(0.2)
    assert [t.name for t in threading.enumerate() if t not in before] == []


def test_without_tools_the_server_gets_none(make_advisor, llm):
    answer, _, _ = ask(make_advisor(llm_tools=False))
    assert answer.mode == "llm"
    assert "tools" not in llm.requests[0] and "tool_choice" not in llm.requests[0]


def test_turns_at_once_each_get_their_own_plan_worded(make_advisor, llm, index_settings):
    questions = ["地震に備えて計画を作りたい", "展示会に出たい", QUESTION, "サイバー攻撃が心配"]
    extractive = Advisor(index_settings, store=ConversationStore("sqlite://"))
    expected = [extractive.ask(q).answer for q in questions]
    advisor = make_advisor()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(advisor.ask, questions))
    assert [a.mode for a in answers] == ["llm"] * 4
    assert [a.answer for a in answers] == expected


def events(client: TestClient, message: str) -> list[tuple[str, dict]]:
    out = []
    with client.stream("POST", "/api/chat/stream", json={"message": message}) as r:
        assert r.status_code == 200
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append((kind, json.loads(line[6:])))
    return out


@pytest.mark.parametrize("kind, mode, fallback", [("plan", "llm", None), ("echo", "extractive", "echo"), ("slow", "extractive", "timeout")])
def test_the_page_stream_shows_only_the_final_answer(make_advisor, llm, index_settings, kind, mode, fallback):
    advisor = make_advisor()
    llm.enqueue(kind)
    with TestClient(create_app(index_settings, advisor=advisor)) as client:
        got = events(client, QUESTION)
    deltas = [d["text"] for k, d in got if k == "delta"]
    kinds = [k for k, _ in got]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"delta"}
    done = got[-1][1]
    assert done["mode"] == mode and done["fallback"] == fallback
    assert "".join(deltas) == done["answer"]


def test_the_owners_personal_numbers_never_reach_the_model(make_advisor, llm):
    llm.enqueue("plan")
    question = "マイナンバー 1234 5678 9018 と電話 03-5555-6666 を書いておきます。BCP実践促進助成金の上限額はいくら？"
    make_advisor().ask(question)
    sent = json.dumps(llm.requests, ensure_ascii=False)
    assert llm.requests and "1234 5678 9018" not in sent and "5555" not in sent
    assert "［個人番号］" in sent
