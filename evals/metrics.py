"""Retrieval and answer metrics over question sets (evals/*.jsonl).

A question "needs" one of a few phrases copied from the document. Matching ignores spaces, line
breaks and character width (NFKC), because the corpus mixes ＢＣＰ and BCP and wraps lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.text import compact

WINDOW = 800  # characters of retrieved text a reader is assumed to read


@dataclass
class Question:
    id: str
    question: str
    kind: str  # in_scope, out_of_scope, rule_breaking
    lang: str = "ja"
    direction: str | None = None
    needs: list[str] = field(default_factory=list)
    program: str | None = None  # program questions: the program the answer must name
    figure: str | None = None  # ... and the figure it must give

    @property
    def answerable(self) -> bool:
        return self.kind in ("in_scope", "program")


def load_set(path: Path) -> list[Question]:
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            raw = json.loads(line)
            out.append(
                Question(
                    id=str(raw["id"]),
                    question=raw["question"],
                    kind=raw.get("kind", "in_scope"),
                    lang=raw.get("lang", "ja"),
                    direction=raw.get("direction"),
                    needs=list(raw.get("needs") or []),
                    program=raw.get("program"),
                    figure=raw.get("figure"),
                )
            )
    return out


def contains_any(text: str, phrases: list[str]) -> bool:
    haystack = compact(text)
    return any(compact(p) in haystack for p in phrases)


def first_hit_rank(texts: list[str], phrases: list[str]) -> int | None:
    """1-based rank of the first passage holding a needed phrase."""
    for rank, text in enumerate(texts, start=1):
        if contains_any(text, phrases):
            return rank
    return None


def hit_within(texts: list[str], phrases: list[str], window: int = WINDOW) -> bool:
    """Whether a needed phrase is read within the first `window` characters of the results, in order."""
    joined = compact("\n".join(texts))
    # compact() drops spaces, so the window is measured on the same compacted text
    return any(compact(p) in joined[:window] for p in phrases)


@dataclass
class RetrievalScore:
    n: int = 0
    hit1: int = 0
    hit3: int = 0
    hit5: int = 0
    hit800: int = 0
    rr: float = 0.0
    failures: list[dict] = field(default_factory=list)

    def add(self, q: Question, texts: list[str], sections: list[str] | None = None) -> None:
        rank = first_hit_rank(texts, q.needs)
        within = hit_within(texts, q.needs)
        self.n += 1
        self.hit1 += rank is not None and rank <= 1
        self.hit3 += rank is not None and rank <= 3
        self.hit5 += rank is not None and rank <= 5
        self.hit800 += within
        self.rr += 1.0 / rank if rank else 0.0
        if not within:
            self.failures.append(
                {
                    "id": q.id,
                    "question": q.question,
                    "needs": q.needs,
                    "rank": rank,
                    "got": [(s or "") + " | " + t[:60] for s, t in zip(sections or [""] * len(texts), texts)][:3],
                }
            )

    def figures(self) -> dict[str, float]:
        n = max(self.n, 1)
        return {
            "n": self.n,
            "hit@1": self.hit1 / n,
            "hit@3": self.hit3 / n,
            "hit@5": self.hit5 / n,
            "hit@800": self.hit800 / n,
            "mrr": self.rr / n,
        }
