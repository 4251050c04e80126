"""The plan's values: a sentence as data (a catalog key, its values, its citations) and the values
it holds (names, quotes, terms, fiscal years), resolved to one language by the renderer; the
AnswerPlan that gathers them; the Library the planner reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ...models import Chunk, SearchResult
from ...tokenize import JapaneseTokenizer
from ..directory import Directory
from ..intent import Intent
from ..passages import clean, english_rendering
from ..programs import ProgramRecord


@dataclass(frozen=True)
class Bi:
    """A value with a Japanese and an English form (the English may be missing)."""

    ja: str
    en: str | None = None


@dataclass(frozen=True)
class Quote:
    """A sentence of a passage, quoted: plain in Japanese; in English its English rendering where the
    policy has one (bot/data/policy_en.yaml), else in 「」."""

    text: str
    en: str | None = None


def quote_of(sentence: str, tok: JapaneseTokenizer) -> Quote:
    """A passage's sentence as an answer quotes it: polite Japanese, and its English where there is one."""
    return Quote(clean(sentence, tok), english_rendering(sentence))


@dataclass(frozen=True)
class Name:
    """A program's name: 「名前」 in Japanese; its English name (with the Japanese once) in English."""

    ja: str
    en: str | None = None


@dataclass(frozen=True)
class Measure:
    """A policy measure's heading; English answers add a gloss of the heading."""

    label: str


@dataclass(frozen=True)
class Term:
    """A word or phrase from the catalog's `terms` (slot names, company sizes), with its values."""

    key: str
    values: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Year:
    """A fiscal year as written in the documents (令和7年度); English answers give FY2025. `older`: before
    the current fiscal year, so the first sentence says the figure may have changed."""

    text: str
    older: bool = False


@dataclass
class Say:
    """One sentence as data: a catalog key, its values, and the citation numbers behind it."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)
    cites: list[int] = field(default_factory=list)


@dataclass
class AnswerPlan:
    intent: Intent
    direct: Say
    points: list[Say] = field(default_factory=list)
    next_step: Say | None = None
    notes: list[Say] = field(default_factory=list)
    citations: list[SearchResult] = field(default_factory=list)
    programs: list[ProgramRecord] = field(default_factory=list)
    refused: bool = False
    reason: str | None = None
    stated: bool = True  # False: the documents do not state what was asked
    choices: list[dict[str, Any]] = field(default_factory=list)
    guides: bool = True  # False: this turn keeps to the policy (kind=policy); no guide is cited
    lead: str | None = None  # what leads a support answer: "programs" or "measure"
    kind: str | None = None  # the contract's answer_kind, when the planner decided it (see answer_kind)

    def answer_kind(self) -> str:
        """fact, not_stated, not_covered, support or definition (the contract's `answer_kind`)."""
        if self.kind:
            return self.kind
        if not self.stated:
            return "not_stated"
        if self.intent.asks == "definition":
            return "definition"
        if self.intent.slot or self.intent.document_role or self.intent.asks in ("company_size", "overview"):
            return "fact"
        return "support"

    def cite(self, result: SearchResult | None) -> list[int]:
        """The citation number of a passage (added when new), as a list for `Say.cites`."""
        if result is None:
            return []
        for n, r in enumerate(self.citations, start=1):
            if r.chunk.id == result.chunk.id:
                return [n]
        self.citations.append(result)
        return [len(self.citations)]

    def add_program(self, record: ProgramRecord | None) -> None:
        if record is not None and all(r.name != record.name for r in self.programs):
            self.programs.append(record)


class Library(Protocol):
    """What the plan reads besides the passages found: records and passages by name."""

    tokenizer: JapaneseTokenizer
    records: dict[str, ProgramRecord]
    directory: Directory  # what the documents do not hold (bot/core/directory.py)

    chunks: list[Chunk]

    def program_chunks(self, name: str) -> list[Chunk]: ...
    def policy_passage(self, measure: str) -> SearchResult | None: ...
    def program_guides(self, measure: str) -> list[SearchResult]: ...
    def program_order(self, text: str, n: int = 40) -> dict[str, int]: ...
    def rules_passage(self, section: str) -> SearchResult | None: ...
    def role_passages(self, role: str, results: list[SearchResult], query: str = "") -> list[SearchResult]: ...
    def directions(self) -> list[tuple[str, str, SearchResult | None]]: ...
    def directory_passage(self, name: str) -> SearchResult | None: ...
