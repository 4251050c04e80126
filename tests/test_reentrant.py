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
