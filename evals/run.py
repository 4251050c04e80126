"""`smebot eval`: retrieval figures per method, answer figures, and the quickstart recipe beside them.

Everything runs through the same core the surfaces use (Advisor, Retriever).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import Settings

from .metrics import Question, RetrievalScore, contains_any, load_set

# (label, method, use the term map)
METHODS = [
    ("bm25", "bm25", True),
    ("dense", "dense", True),
    ("hybrid", "hybrid", True),
    ("bm25 (no term map)", "bm25", False),
    ("dense (no term map)", "dense", False),
    ("hybrid (no term map)", "hybrid", False),
]


@dataclass
class AnswerScore:
    answerable: int = 0
    fact_in_answer: int = 0
    programs: int = 0
    program_named_with_figure: int = 0
    false_refusals: int = 0
    declinable: int = 0
    refused_correctly: int = 0
    failures: list[dict] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        return {
            "answerable": self.answerable,
            "fact_in_answer": self.fact_in_answer / max(self.answerable, 1),
            "false_refusal": self.false_refusals / max(self.answerable, 1),
            "declinable": self.declinable,
            "refused_correctly": self.refused_correctly / max(self.declinable, 1),
            **(
                {"program_named_with_figure": self.program_named_with_figure / self.programs, "programs": self.programs}
                if self.programs
                else {}
            ),
        }


@dataclass
class SetReport:
    name: str
    retrieval: dict[str, RetrievalScore]
    answers: AnswerScore
    latency_ms: dict[str, float]

    def to_dict(self) -> dict:
        return {
            "set": self.name,
            "retrieval": {m: s.figures() for m, s in self.retrieval.items()},
            "answers": self.answers.figures(),
            "latency_ms": self.latency_ms,
            "failures": {
                "hybrid": self.retrieval["hybrid"].failures if "hybrid" in self.retrieval else [],
                "answers": self.answers.failures,
            },
        }


@dataclass
class EvalReport:
    sets: list["SetReport | FollowupReport"]
    index_chunks: int
    embedding_model: str

    def to_dict(self) -> dict:
        return {
            "index_chunks": self.index_chunks,
            "embedding_model": self.embedding_model,
            "sets": [s.to_dict() for s in self.sets],
        }

    def to_markdown(self, failures: int = 15) -> str:
        out = [f"# Evaluation ({self.index_chunks} passages, dense model {self.embedding_model})", ""]
        for s in self.sets:
            if isinstance(s, FollowupReport):
                out.append(s.to_markdown())
                continue
            out += [f"## {s.name}", "", "| method | n | hit@1 | hit@3 | hit@5 | hit@800 | MRR |", "|---|---|---|---|---|---|---|"]
            for method, score in s.retrieval.items():
                f = score.figures()
                out.append(
                    f"| {method} | {f['n']} | {f['hit@1']:.3f} | {f['hit@3']:.3f} | {f['hit@5']:.3f} "
                    f"| **{f['hit@800']:.3f}** | {f['mrr']:.3f} |"
                )
            a = s.answers.figures()
            out += [
                "",
                f"Answers: expected fact in the answer {a['fact_in_answer']:.3f} of {a['answerable']}; "
                f"false refusals {a['false_refusal']:.3f}; out-of-scope and rule-breaking refused "
                f"{a['refused_correctly']:.3f} of {a['declinable']}."
                + (f" Program named with the asked figure: {a['program_named_with_figure']:.3f} of {a['programs']}." if a.get("programs") else ""),
                "Latency in process (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in s.latency_ms.items()),
                "",
            ]
            hybrid = s.retrieval.get("hybrid")
            if hybrid and hybrid.failures:
                out += ["Hybrid misses (needed phrase not within 800 characters):", ""]
                for fail in hybrid.failures[:failures]:
                    out.append(f"- {fail['id']} 「{fail['question']}」 needs {fail['needs']} (rank {fail['rank']}); got: {fail['got'][:2]}")
                out.append("")
            if s.answers.failures:
                out += ["Answer failures:", ""]
                for fail in s.answers.failures[:failures]:
                    out.append(f"- {fail['id']} [{fail['why']}] 「{fail['question']}」")
                out.append("")
        return "\n".join(out)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def evaluate_set(advisor, name: str, questions: list[Question], recipe=None, methods=METHODS) -> SetReport:
    retriever = advisor.retriever
    k = 5
    scores: dict[str, RetrievalScore] = {label: RetrievalScore() for label, _, _ in methods}
    search_ms: list[float] = []
    answerable = [q for q in questions if q.answerable]
    for q in answerable:
        for label, method, use_terms in methods:
            query = retriever.prepare(q.question, use_term_map=use_terms)
            started = time.perf_counter()
            results = retriever.search(q.question, k, method=method, query=query)
            if label == "hybrid":
                search_ms.append((time.perf_counter() - started) * 1000)
            scores[label].add(q, [r.chunk.text for r in results], [r.chunk.section for r in results])
    if recipe is not None:
        scores["langchain quickstart recipe"] = RetrievalScore()
        for q in answerable:
            scores["langchain quickstart recipe"].add(q, recipe.search(q.question))

    answers = AnswerScore()
    ask_ms: list[float] = []
    for q in questions:
        started = time.perf_counter()
        answer = advisor.ask(q.question)
        ask_ms.append((time.perf_counter() - started) * 1000)
        if q.answerable:
            answers.answerable += 1
            if answer.refused:
                answers.false_refusals += 1
                answers.failures.append({"id": q.id, "question": q.question, "why": f"refused ({answer.reason})"})
            elif contains_any(answer.answer, q.needs):
                answers.fact_in_answer += 1
            else:
                answers.failures.append({"id": q.id, "question": q.question, "why": "fact missing"})
            if q.program:
                answers.programs += 1
                named = contains_any(answer.answer, [q.program])
                figure = q.figure is None or contains_any(answer.answer, [q.figure])
                answers.program_named_with_figure += named and figure and not answer.refused
                if not (named and figure):
                    answers.failures.append({"id": q.id, "question": q.question,
                                             "why": f"program named {named}, figure {q.figure} given {figure}"})
        else:
            answers.declinable += 1
            if answer.refused:
                answers.refused_correctly += 1
            else:
                answers.failures.append({"id": q.id, "question": q.question, "why": f"answered a {q.kind} question"})
    latency = {
        "search p50": statistics.median(search_ms) if search_ms else 0.0,
        "search p95": _pct(search_ms, 0.95),
        "ask p50": statistics.median(ask_ms) if ask_ms else 0.0,
        "ask p95": _pct(ask_ms, 0.95),
    }
    return SetReport(name, scores, answers, latency)


def run_eval(settings: Settings, sets: list[Path], with_recipe: bool = True) -> EvalReport:
    from bot.advisor import Advisor
    from bot.index import read_manifest
    from bot.store import ConversationStore
    from ingest.pipeline import ingest

    if read_manifest(settings.index_dir) is None:
        ingest(settings)
    advisor = Advisor(settings, store=ConversationStore("sqlite://"))  # eval turns are not kept
    recipe = None
    if with_recipe:
        from .recipe import QuickstartRecipe

        recipe = QuickstartRecipe(settings.corpus_dir)
    reports = [
        evaluate_followups(advisor, path.stem, load_conversations(path))
        if path.stem.startswith("followups")
        else evaluate_set(advisor, path.stem, load_set(path), recipe)
        for path in sets
    ]
    model = advisor.index.manifest.get("settings", {}).get("embedding_model", "none")
    return EvalReport(reports, advisor.index.size, model)


@dataclass
class FollowupReport:
    name: str
    conversations: int = 0
    turns: int = 0
    grounded: int = 0  # turns that did what they should: cited a needed passage, asked back, or declined
    follow_turns: int = 0
    follow_grounded: int = 0
    switches: int = 0
    switches_clean: int = 0  # topic switches answered on the new topic, with nothing of the old dragged in
    failures: list[dict] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)

    def figures(self) -> dict[str, float]:
        return {
            "conversations": self.conversations,
            "turns": self.turns,
            "grounded": self.grounded / max(self.turns, 1),
            "follow_up_grounded": self.follow_grounded / max(self.follow_turns, 1),
            "topic_switches_clean": self.switches_clean / max(self.switches, 1),
        }

    def to_dict(self) -> dict:
        return {"set": self.name, "conversations": self.figures(), "latency_ms": self.latency_ms, "failures": self.failures}

    def to_markdown(self) -> str:
        f = self.figures()
        out = [
            f"## {self.name}",
            "",
            f"{f['conversations']} conversations, {f['turns']} turns: grounded {f['grounded']:.3f}; "
            f"follow-up turns grounded {f['follow_up_grounded']:.3f}; topic switches clean "
            f"{f['topic_switches_clean']:.3f} of {self.switches}.",
            "Turn latency (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in self.latency_ms.items()),
            "",
        ]
        out += [f"- {x['id']} turn {x['turn']} 「{x['message']}」: {x['why']}" for x in self.failures[:20]]
        return "\n".join(out + [""])


def load_conversations(path: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate_followups(advisor, name: str, conversations: list[dict]) -> FollowupReport:
    report = FollowupReport(name)
    ms: list[float] = []
    for conv in conversations:
        report.conversations += 1
        cid = None
        for i, turn in enumerate(conv["turns"]):
            started = time.perf_counter()
            answer = advisor.ask(turn["message"], cid)
            ms.append((time.perf_counter() - started) * 1000)
            cid = answer.conversation_id
            expect = turn.get("expect", "answer")
            cited = [c.result.chunk.text for c in answer.citations]
            if expect == "clarify":
                ok, why = bool(answer.choices), "expected a clarifying question"
            elif expect == "refused":
                ok, why = answer.refused, "expected a refusal"
            else:
                ok = not answer.refused and contains_any(" ".join(cited), turn.get("needs", []))
                why = f"refused ({answer.reason})" if answer.refused else f"needed {turn.get('needs')} not cited"
            report.turns += 1
            report.grounded += ok
            if i > 0:
                report.follow_turns += 1
                report.follow_grounded += ok
            if turn.get("new_topic"):
                report.switches += 1
                clean = ok and answer.resolved_question == turn["message"].strip()
                report.switches_clean += clean
                if ok and not clean:
                    why, ok = "answered, but the old topic was dragged into the search", False
            if not ok:
                report.failures.append({"id": conv["id"], "turn": i, "message": turn["message"], "why": why})
    report.latency_ms = {"turn p50": statistics.median(ms) if ms else 0.0, "turn p95": _pct(ms, 0.95)}
    return report
