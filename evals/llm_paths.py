"""`python -m evals.llm_paths`: the language-model path measured against a stand-in server.

1. Each scripted reply type (evals/llm_standin.py KINDS) for one question: what the asker saw
   streamed, the final answer's mode and fallback, and the time.
2. The overhead of the checks per answer (building the evidence and checking the text), in ms.
3. The dev set (evals/dev.jsonl) with a stand-in that answers with the plan's own sentences: the
   asked fact in the first sentence (evals/metrics.py AnswerQuality) and citation validity, beside
   the extractive path's. They must be identical: the model only words what the core chose.

Runs offline through the real client (langchain-openai's ChatOpenAI, SMEBOT_LLM=openai:standin,
OPENAI_BASE_URL at the stand-in). Writes evals/reports/llm_paths.md and prints it.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from pathlib import Path

from bot.settings import Settings, get_settings

from .llm_standin import KINDS, LLMStandIn
from .metrics import AnswerQuality, load_set

QUESTION = "BCP実践促進助成金の上限額はいくら？"
DEV = Path(__file__).parent / "dev.jsonl"
REPORT = Path(__file__).parent / "reports" / "llm_paths.md"
_CITE = re.compile(r"\[(\d{1,3})\]")


def citations_valid(answer) -> bool:
    """Every [n] names a citation, every citation is cited, and an answer that is not a refusal cites."""
    used = {int(n) for n in _CITE.findall(answer.answer)}
    numbers = {c.n for c in answer.citations}
    if answer.refused or answer.choices:
        return used <= numbers
    return bool(used) and used == numbers


class Timed:
    """Wraps a function of bot.agent and adds up the time spent in it per answer."""

    def __init__(self, module, name: str) -> None:
        self.module, self.name, self.inner = module, name, getattr(module, name)
        self.ms = 0.0
        setattr(module, name, self)

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.ms += (time.perf_counter() - started) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=5.0, help="SMEBOT_LLM_TIMEOUT for the runs (s)")
    parser.add_argument("--limit", type=int, default=0, help="dev questions at most (0: all)")
    args = parser.parse_args(argv)

    import bot.agent as agent
    from bot.advisor import Advisor
    from bot.index import read_manifest
    from bot.store import ConversationStore
    from ingest.pipeline import ingest

    settings: Settings = get_settings()
    if read_manifest(settings.index_dir) is None:
        ingest(settings)
    plain = Advisor(settings, store=ConversationStore("sqlite://"))
    lines = ["# The language-model path against a stand-in server", ""]
    with LLMStandIn(slow_delay=1.0) as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url
        os.environ.setdefault("OPENAI_API_KEY", "dummy")
        s = settings.model_copy(update={"llm": "openai:standin", "llm_timeout": args.timeout})
        model = Advisor(s, store=ConversationStore("sqlite://"))
        model.ask(QUESTION)  # warm: the client's first connection

        lines += [f"## Each reply type (question: {QUESTION}; time limit {args.timeout:g} s)", ""]
        lines += ["| reply | streamed (deltas: first characters) | mode | fallback | requests | time (s) |", "|---|---|---|---|---|---|"]
        for kind in KINDS:
            script = {"server_error": [kind] * 3}.get(kind, [kind, "plan"] if kind.startswith("tool_") else [kind])
            server._queue.clear()
            server.requests.clear()
            server.enqueue(*script)
            deltas: list[str] = []
            started = time.monotonic()
            answer = model.ask(QUESTION, on_delta=deltas.append)
            took = time.monotonic() - started
            shown = "".join(deltas)
            assert shown == answer.answer, "the stream showed text the answer does not hold"
            preview = shown[:38].replace("\n", " ").replace("|", "/")
            lines.append(f"| {kind} | {len(deltas)}: {preview}… | {answer.mode} | {answer.fallback or '—'} | {len(server.requests)} | {took:.2f} |")

        server._queue.clear()
        evidence, checks, briefs = Timed(agent, "Evidence"), Timed(agent, "check"), Timed(model, "brief")
        questions = load_set(DEV)[: args.limit or None]
        quality = {"extractive": AnswerQuality(), "llm": AnswerQuality()}
        valid = {"extractive": 0, "llm": 0}
        same, modes, overhead, brief_ms = 0, {}, [], []
        for q in questions:
            a = plain.ask(q.question)
            evidence.ms = checks.ms = briefs.ms = 0.0
            b = model.ask(q.question)
            if b.mode == "llm":
                overhead.append(evidence.ms + checks.ms)
                brief_ms.append(briefs.ms)
            for name, answer in (("extractive", a), ("llm", b)):
                quality[name].add(q, answer.answer)
                valid[name] += citations_valid(answer)
            same += a.answer == b.answer
            key = f"{b.mode}/{b.fallback or '—'}"
            modes[key] = modes.get(key, 0) + 1
        setattr(agent, "Evidence", evidence.inner)
        setattr(agent, "check", checks.inner)
        del model.brief  # the instance's wrapper: the class's method again

    n = len(questions)
    fe, fl = quality["extractive"].figures(), quality["llm"].figures()
    lines += ["", "## Overhead of the checks per answer (model answers on the dev set)", ""]
    if overhead:
        lines += [
            f"- evidence + checks: median {statistics.median(overhead):.2f} ms, max {max(overhead):.2f} ms ({len(overhead)} answers)",
            f"- the brief (plan rendered in both languages, facts, labels): median {statistics.median(brief_ms):.2f} ms",
        ]
    lines += [
        "",
        f"## Dev set ({n} questions) with a stand-in that answers with the plan's own sentences",
        "",
        "| path | fact in first sentence | citation validity |",
        "|---|---|---|",
        f"| extractive | {fe['fact_first_sentence']:.3f} ({quality['extractive'].fact_first_sentence}/{quality['extractive'].with_fact}) | {valid['extractive'] / n:.3f} ({valid['extractive']}/{n}) |",
        f"| llm (stand-in) | {fl['fact_first_sentence']:.3f} ({quality['llm'].fact_first_sentence}/{quality['llm'].with_fact}) | {valid['llm'] / n:.3f} ({valid['llm']}/{n}) |",
        "",
        f"Answers identical to the extractive ones: {same}/{n}. Model-path turns by mode/fallback: "
        + ", ".join(f"{k} {v}" for k, v in sorted(modes.items())),
    ]
    text = "\n".join(lines) + "\n"
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
