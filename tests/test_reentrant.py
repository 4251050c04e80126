"""The core is re-entrant: one Advisor serves turns on several threads, each with its own filters.

The web and Slack adapters share one Advisor in HTTP mode; a filter (kind=policy, a direction)
set for one request must never reach another one running at the same time.
"""

from concurrent.futures import ThreadPoolExecutor


def test_turns_with_and_without_filters_at_once_keep_their_own(advisor):
    questions = ["BCPの助成金の上限っていくら？", "展示会に出たいのですが、支援はありますか", "サイバー攻撃に備えたい"]

    def turn(i: int):
        question = questions[i % len(questions)]
        kind = "policy" if i % 2 == 0 else None
        direction = "②" if i % 4 == 1 else None
        answer = advisor.ask(question, kind=kind, direction=direction)
        return kind, direction, answer

    with ThreadPoolExecutor(max_workers=6) as pool:
        done = list(pool.map(turn, range(36)))
    for kind, direction, answer in done:
        if kind == "policy":
            assert all(not c.result.chunk.program for c in answer.citations), "a policy-only turn cited a guide"
            assert answer.programs == [] or all(p["name"] for p in answer.programs)
        if direction:
            assert all(c.result.chunk.direction in (direction, None) for c in answer.citations if not c.result.chunk.program)


def test_the_advisor_keeps_nothing_about_a_turn(advisor):
    before = {k: v for k, v in vars(advisor).items() if not k.startswith("_") or k in ("_llm",)}
    advisor.ask("BCPの助成金の上限っていくら？", kind="policy", direction="④")
    after = {k: v for k, v in vars(advisor).items() if not k.startswith("_") or k in ("_llm",)}
    assert before.keys() == after.keys()
    assert all(before[k] is after[k] for k in before)


def test_the_web_app_runs_turns_side_by_side(index_settings, tmp_path, monkeypatch):
    """No lock serializes requests: four slow searches at once take the time of about one."""
    import time

    from fastapi.testclient import TestClient

    from bot.advisor import Advisor
    from bot.store import ConversationStore
    from bot.web import create_app

    advisor = Advisor(index_settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    search = advisor.search

    def slow_search(*args, **kwargs):
        time.sleep(0.5)  # a part that waits (a Chroma server, a language model)
        return search(*args, **kwargs)

    monkeypatch.setattr(advisor, "search", slow_search)
    with TestClient(create_app(index_settings, advisor=advisor)) as client:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            codes = list(pool.map(lambda q: client.post("/api/search", json={"query": q}).status_code,
                                  ["展示会", "BCP", "事業承継", "サイバー"]))
        elapsed = time.monotonic() - started
    assert codes == [200] * 4
    assert elapsed < 1.5, f"4 searches of 0.5 s took {elapsed:.2f} s: serialized"
