"""The records the advisor passes around: indexed chunks, search results and answers.

`to_dict()` on a result or an answer is the contract shape (../shared/CONTRACT.md) that the
command line, the HTTP API, Slack and the evals all print.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


ALIAS_SEPARATOR = "|"  # a program's names may hold spaces (new subcontract act)
FAQ_KIND = "faq"  # the kind of an operator's Q&A and of its passages (ingest/faq.py)
SOURCE_MARK = "出典: "  # the line under a published answer that names its page
QUESTION_MARK = "Q. "  # how a Q&A pair's section is headed: ## Q. 商工会の会員でなくても申請できますか


@dataclass
class Chunk:
    """One indexed passage: what a reader sees, where it comes from, and what it is about."""

    id: str
    text: str
    source: str
    title: str
    section: str
    page: int | None = None
    direction: str | None = None
    kind: str = "policy"
    line: int | None = None
    heading: str = ""  # the headings above the passage, indexed with it (not shown as text)
    # program guides: the program, the policy measure it implements, and when its facts hold
    program: str | None = None
    measure: str | None = None
    fiscal_year: str | None = None
    as_of: str | None = None
    aliases: str = ""  # other names owners use for the program (カスハラ), separated by ALIAS_SEPARATOR

    def alias_list(self) -> list[str]:
        """The aliases one by one ("BCP subsidy" stays one name, not 'BCP' and 'subsidy')."""
        return [a for a in self.aliases.split(ALIAS_SEPARATOR) if a.strip()]
    # what the passage's facts rest on: official (the government's or operator's own pages) or
    # secondary (a guide whose facts come partly from other pages); None when nothing says
    source_kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Chunk":
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


@dataclass
class SearchResult:
    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # per method, 1-based
    raw: dict[str, float] = field(default_factory=dict)  # per method: BM25 score, cosine

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "text": c.text,
            "source": c.source,
            "title": c.title,
            "section": c.section,
            "page": c.page,
            "score": round(self.score, 4),
            "direction": c.direction,
            "kind": c.kind,
            "id": c.id,
            "program": c.program,
            "fiscal_year": c.fiscal_year,
            "as_of": c.as_of,
            "source_kind": c.source_kind,
        }


@dataclass
class Citation:
    n: int
    result: SearchResult
    # how a reader sees it (the advisor fills both when the turn is recorded): the program's or the
    # document's name with its section, and the program's official page (None when none is known)
    label: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, **self.result.to_dict(), "label": self.label, "url": self.url}


@dataclass
class Answer:
    answer: str
    citations: list[Citation]
    refused: bool
    conversation_id: str | None = None
    mode: str = "extractive"
    reason: str | None = None  # why it refused: out_of_scope, rules, not_found, empty, too_long
    choices: list[dict[str, Any]] = field(default_factory=list)  # a clarifying question's options
    turn: int | None = None  # this turn's number in the conversation, from 0
    resolved_question: str | None = None  # what was searched, once a follow-up is resolved
    fallback: str | None = None  # why a configured language model was not used for this answer
    programs: list[dict[str, Any]] = field(default_factory=list)  # a card per program the answer relies on
    intent: dict[str, Any] = field(default_factory=dict)  # what was understood (bot.core.intent.Intent)
    degraded: bool = False  # made without a part that is down (BM25 only while the vector store is unreachable)
    stated: bool = True  # False when the documents do not state what was asked
    # fact, not_stated, not_covered, support, definition, clarify, refused, check (../shared/CONTRACT.md)
    answer_kind: str = "fact"
    # what the owner typed that the store keeps masked: each mask with how many (［個人番号］: 1), never the values
    masked: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "refused": self.refused,
            "conversation_id": self.conversation_id,
            "mode": self.mode,
            "reason": self.reason,
            "choices": self.choices,
            "turn": self.turn,
            "resolved_question": self.resolved_question,
            "fallback": self.fallback,
            "programs": self.programs,
            "intent": self.intent,
            "degraded": self.degraded,
            "stated": self.stated,
            "answer_kind": self.answer_kind,
            "masked": dict(self.masked),
        }
