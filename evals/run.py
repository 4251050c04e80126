"""`smebot eval`: retrieval and answer figures per method and per direction, and the quickstart recipe beside them.

Everything runs through the same core the surfaces use: Advisor.ask for answers, the Retriever's
prepare/search for retrieval. This module measures; evals/report.py writes the Markdown, the JSON and
the charts from `EvalReport.to_dict()`.

Each set also gets answer-quality figures (evals/metrics.py: AnswerQuality): the asked fact in the
first sentence and in the first 150 characters, stock 「はい」/"Yes" openers, English answers to
English questions, the median answer length, and for kind=not_stated questions whether the answer
says plainly that the documents do not state it and names where to ask.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.settings import Settings

from .metrics import AnswerQuality, Question, RetrievalScore, contains_any, load_set, program_names

# (key, method, use the term map). The keys name the figures in latest.json: keep them stable.
METHODS = [
    ("bm25", "bm25", False),
    ("dense", "dense", False),
    ("hybrid", "hybrid", False),
    ("bm25+terms", "bm25", True),
    ("dense+terms", "dense", True),
    ("hybrid+terms", "hybrid", True),
]
DEFAULT = "hybrid+terms"  # what the advisor searches with
RECIPE = "recipe"
K = 5

Progress = Callable[[str, int, int], None]  # (stage, done, total), as ingest reports it


def _composer() -> Callable | None:
    """The extractive composer behind the per-method "answer fact", or None when the answer code has none.

    It is an internal of the answer code (bot.answer.compose), which is being replaced: without it,
    or when its signature no longer fits, the per-method answer figure is — and everything else runs.
    The full-path figures only use Advisor.ask.
    """
    global _COMPOSE
    if _COMPOSE is _UNSET:
        try:
            from bot.answer import compose  # guarded: see the docstring
        except ImportError:
            compose = None
        _COMPOSE = compose
    return _COMPOSE


_UNSET = object()
_COMPOSE: object = _UNSET


def _compose_fact(advisor, q: Question, query, results) -> bool | None:
    """Whether an answer composed from `results` holds a needed fact; None when no composer can be used."""
    global _COMPOSE
    compose = _composer()
    if compose is None:
        return None
    try:
        answer = compose(q.question, query, results, advisor.tokenizer, advisor.settings.answer_passages)
        return not answer.refused and contains_any(answer.answer, q.needs)
    except (TypeError, AttributeError):  # the composer changed shape: stop using it for this run
        _COMPOSE = None
        return None


def held_out(set_name: str) -> bool:
    """Held-out sets are not tuned on: their reports name failures by id and reason only."""
    return "heldout" in set_name


class MethodScore(RetrievalScore):
    """A method's retrieval figures, and how often an answer composed from its results holds a needed fact."""

    def __init__(self, composes: bool = True) -> None:
        super().__init__()
        self.composes = composes  # the recipe has no answer step without a language model
        self.facts = 0

    def figures(self) -> dict[str, float | None]:
        return {
            **super().figures(),
            "answer_fact": self.facts / self.n if self.composes and self.n else None,
        }


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

    def add(self, q: Question, answer) -> None:
        """Judge the advisor's full answer to `q`; kind=not_stated is judged by AnswerQuality (honest) only."""
        if q.declinable:
            self.declinable += 1
            self.refused_correctly += answer.refused
            if not answer.refused:
                self._fail(q, f"answered, though it should decline ({q.kind})")
            return
        if not q.answerable:
            return
        self.answerable += 1
        if answer.refused:
            self.false_refusals += 1
            self._fail(q, f"refused ({answer.reason})")
        elif contains_any(answer.answer, q.needs):
            self.fact_in_answer += 1
        else:
            self._fail(q, "fact missing")
        if q.program:
            self.programs += 1
            named = contains_any(answer.answer, program_names(q.program))
            figure = q.figure is None or contains_any(answer.answer, [q.figure])
            self.program_named_with_figure += named and figure and not answer.refused
            if not (named and figure):  # held-out reports show this reason: it names neither program nor figure
                missing = [what for what, ok in (("program not named", named), ("asked figure not given", figure)) if not ok]
                self._fail(q, ", ".join(missing))

    def _fail(self, q: Question, why: str) -> None:
        self.failures.append({"id": q.id, "question": q.question, "why": why})

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


def _miss_reason(fail: dict) -> str:
    where = f"first at rank {fail['rank']}" if fail["rank"] else f"not in the top {K}"
    return f"no needed phrase within 800 characters ({where})"


@dataclass
class SetReport:
    name: str
    retrieval: dict[str, MethodScore]
    answers: AnswerScore
    latency_ms: dict[str, float]
    directions: dict[str, dict[str, MethodScore]] = field(default_factory=dict)
    direction_answers: dict[str, AnswerScore] = field(default_factory=dict)
    quality: AnswerQuality = field(default_factory=AnswerQuality)

    def headline(self) -> dict[str, float]:
        """The few figures the report compares run to run (retrieval only where a question has needs)."""
        out: dict[str, float] = {}
        if DEFAULT in self.retrieval and self.retrieval[DEFAULT].n:
            f = self.retrieval[DEFAULT].figures()
            out.update({"hit@800": f["hit@800"], "mrr": f["mrr"]})
        a = self.answers.figures()
        if a["answerable"]:
            out.update({"answer_fact": a["fact_in_answer"], "false_refusal": a["false_refusal"]})
        if a["declinable"]:
            out["refused_correctly"] = a["refused_correctly"]
        if "programs" in a:
            out["program_named_with_figure"] = a["program_named_with_figure"]
        out.update(self.quality.headline())
        out["ask_p50_ms"] = self.latency_ms["ask p50"]
        return out

    def failures(self) -> dict[str, list[dict]]:
        """Retrieval misses of the default method, wrong answers and answer-quality misses.

        Held-out sets: by id and reason only (no question, no answer text).
        """
        misses = self.retrieval[DEFAULT].failures if DEFAULT in self.retrieval else []
        misses = [{**f, "why": _miss_reason(f)} for f in misses]
        answers = self.answers.failures
        quality = self.quality.failures
        if held_out(self.name):
            misses, answers, quality = ([{"id": f["id"], "why": f["why"]} for f in fs] for fs in (misses, answers, quality))
        return {"retrieval": misses, "answers": answers, "quality": quality}

    def to_dict(self) -> dict:
        return {
            "kind": "questions",
            "held_out": held_out(self.name),
            "headline": self.headline(),
            "methods": {key: s.figures() for key, s in self.retrieval.items()},
            "advisor": self.answers.figures(),
            "quality": self.quality.figures(),
            "directions": {
                d: {
                    "methods": {key: s.figures() for key, s in scores.items()},
                    "advisor": self.direction_answers[d].figures(),
                }
                for d, scores in sorted(self.directions.items())
            },
            "latency_ms": self.latency_ms,
            "failures": self.failures(),
        }


def git_commit() -> str | None:
    """The short commit measured, marked when the work tree had uncommitted changes to tracked files."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=False
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit.stdout.strip() + (" + local changes" if dirty.stdout.strip() else "")


@dataclass
class EvalReport:
    sets: list[Any]  # SetReport, FollowupReport or UnderstandingReport
    index_chunks: int
    embedding_model: str
    recipe_chunks: int | None = None
    generated: str = field(default_factory=lambda: datetime.now().astimezone().isoformat(timespec="seconds"))
    commit: str | None = field(default_factory=git_commit)

    def to_dict(self) -> dict:
        return {
            "generated": self.generated,
            "commit": self.commit,
            "passages": self.index_chunks,
            "embedding_model": self.embedding_model,
            "recipe_passages": self.recipe_chunks,
            "headline": {s.name: s.headline() for s in self.sets},
            "sets": {s.name: s.to_dict() for s in self.sets},
        }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _score_methods(advisor, q: Question, methods, recipe, timings: list[float]) -> dict[str, tuple]:
    """Per method: (texts, sections) retrieved for `q`, and whether an answer composed from them holds a needed fact."""
    retriever = advisor.retriever
    out = {}
    for key, method, use_terms in methods:
        query = retriever.prepare(q.question, use_term_map=use_terms)
        started = time.perf_counter()
        results = retriever.search(q.question, K, method=method, query=query)
        if (method, use_terms) == ("hybrid", True):
            timings.append((time.perf_counter() - started) * 1000)
        fact = _compose_fact(advisor, q, query, results) if results else False
        out[key] = ([r.chunk.text for r in results], [r.chunk.section for r in results], fact)
    if recipe is not None:
        out[RECIPE] = (recipe.search(q.question), None, False)  # no answer step: see MethodScore.composes
    return out


def _time_search(advisor, q: Question, timings: list[float]) -> None:
    """Search latency of the default method for a question with no needed phrase (nothing is scored)."""
    retriever = advisor.retriever
    query = retriever.prepare(q.question, use_term_map=True)
    started = time.perf_counter()
    retriever.search(q.question, K, method="hybrid", query=query)
    timings.append((time.perf_counter() - started) * 1000)


def evaluate_set(
    advisor, name: str, questions: list[Question], recipe=None, methods=METHODS, progress: Progress | None = None
) -> SetReport:
    keys = [key for key, _, _ in methods] + ([RECIPE] if recipe is not None else [])

    def new_scores() -> dict[str, MethodScore]:
        return {key: MethodScore(composes=key != RECIPE) for key in keys}

    report = SetReport(name, new_scores(), AnswerScore(), {})
    search_ms: list[float] = []
    ask_ms: list[float] = []
    for i, q in enumerate(questions, start=1):
        if q.answerable:
            tables = [report.retrieval]
            if q.direction:
                tables.append(report.directions.setdefault(q.direction, new_scores()))
            for key, (texts, sections, fact) in _score_methods(advisor, q, methods, recipe, search_ms).items():
                for scores in tables:
                    scores[key].add(q, texts, sections)
                    if fact is None:  # no composer: this method has no answer figure in this run
                        scores[key].composes = False
                    else:
                        scores[key].facts += fact
        elif q.not_stated:  # answerable for latency, not for hit@800: it has no needed phrase
            _time_search(advisor, q, search_ms)
        started = time.perf_counter()
        answer = advisor.ask(q.question)
        ask_ms.append((time.perf_counter() - started) * 1000)
        report.answers.add(q, answer)
        report.quality.add(q, answer.answer)
        if q.answerable and q.direction:
            report.direction_answers.setdefault(q.direction, AnswerScore()).add(q, answer)
        if progress:
            progress(name, i, len(questions))
    report.latency_ms = {
        "search p50": statistics.median(search_ms) if search_ms else 0.0,
        "search p95": _pct(search_ms, 0.95),
        "ask p50": statistics.median(ask_ms) if ask_ms else 0.0,
        "ask p95": _pct(ask_ms, 0.95),
    }
    return report


def run_eval(
    settings: Settings, sets: list[Path], with_recipe: bool = True, progress: Progress | None = None
) -> EvalReport:
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

        if progress:
            progress("quickstart recipe (indexing)", 0, 1)
        recipe = QuickstartRecipe(settings.corpus_dir)
        if progress:
            progress("quickstart recipe (indexing)", 1, 1)
    from .understanding import evaluate_understanding, load_owners

    reports = [
        evaluate_followups(advisor, path.stem, load_conversations(path), progress)
        if path.stem.startswith("followups")
        else evaluate_understanding(advisor, path.stem, load_owners(path), progress)
        if path.stem.startswith("owners")
        else evaluate_set(advisor, path.stem, load_set(path), recipe, progress=progress)
        for path in sets
    ]
    model = advisor.index.manifest.get("settings", {}).get("embedding_model", "none")
    return EvalReport(reports, advisor.index.size, model, recipe.size if recipe else None)


@dataclass
class FollowupReport:
    name: str
    conversations: int = 0
    turns: int = 0
    grounded: int = 0  # turns that did what they should: cited a needed passage, asked back, or declined
    follow_turns: int = 0
    follow_grounded: int = 0
    follow_cited: int = 0  # follow-up turns whose own citations hold a needed phrase (the strict figure)
    switches: int = 0
    switches_clean: int = 0  # topic switches answered on the new topic, with nothing of the old dragged in
    failures: list[dict] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)

    def figures(self) -> dict[str, float]:
        return {
            "conversations": self.conversations,
            "turns": self.turns,
            "switches": self.switches,
            "grounded": self.grounded / max(self.turns, 1),
            "follow_up_grounded": self.follow_grounded / max(self.follow_turns, 1),
            "follow_up_cited": self.follow_cited / max(self.follow_turns, 1),
            "topic_switches_clean": self.switches_clean / max(self.switches, 1),
        }

    def headline(self) -> dict[str, float]:
        f = self.figures()
        keys = ("grounded", "follow_up_grounded", "follow_up_cited") + (("topic_switches_clean",) if self.switches else ())
        return {**{k: f[k] for k in keys}, "turn_p50_ms": self.latency_ms["turn p50"]}

    def to_dict(self) -> dict:
        return {
            "kind": "conversations",
            "held_out": False,
            "headline": self.headline(),
            "conversations": self.figures(),
            "latency_ms": self.latency_ms,
            "failures": self.failures,
        }


def load_conversations(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _through_programs(advisor, answer, needs: list[str]) -> bool:
    """Whether a program the answer relies on carries out a policy measure whose passage holds `needs`."""
    from bot.core.passages import measure_label
    from bot.text import compact

    library = advisor.library
    for card in answer.programs or []:
        record = library.records.get(card.get("name") or "")
        measure = compact(record.measure or "").strip("()（）") if record is not None else ""
        passages = [c.text for c in library.chunks if not c.program and compact(measure_label(c)).strip("()（）") == measure]
        if measure and contains_any(" ".join(passages), needs):
            return True
    return False


def evaluate_followups(advisor, name: str, conversations: list[dict], progress: Progress | None = None) -> FollowupReport:
    report = FollowupReport(name)
    ms: list[float] = []
    for n, conv in enumerate(conversations, start=1):
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
                strict = ok
            elif expect == "refused":
                ok, why = answer.refused, "expected a refusal"
                strict = ok
            else:
                strict = not answer.refused and contains_any(" ".join(cited), turn.get("needs", []))
                # a program's answer (its rate, who may apply) stays on the topic when the program carries
                # out the measure that holds the needed phrase: the guide's `measure` link, not the answer text
                ok = strict or (not answer.refused and _through_programs(advisor, answer, turn.get("needs", [])))
                why = f"refused ({answer.reason})" if answer.refused else f"needed {turn.get('needs')} not cited"
            report.turns += 1
            report.grounded += ok
            if i > 0:
                report.follow_turns += 1
                report.follow_grounded += ok
                report.follow_cited += strict
            if turn.get("new_topic"):
                report.switches += 1
                clean = ok and answer.resolved_question == turn["message"].strip()
                report.switches_clean += clean
                if ok and not clean:
                    why, ok = "answered, but the old topic was dragged into the search", False
            if not ok:
                report.failures.append({"id": conv["id"], "turn": i, "message": turn["message"], "why": why})
        if progress:
            progress(name, n, len(conversations))
    report.latency_ms = {"turn p50": statistics.median(ms) if ms else 0.0, "turn p95": _pct(ms, 0.95)}
    return report
