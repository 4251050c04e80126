"""An operator's published answer to the owner's question (ingest/faq.py), matched question to
question, when the documents state nothing else for it."""

from __future__ import annotations

import re

from ...models import Chunk, QUESTION_MARK, SOURCE_MARK, SearchResult
from ..intent import Intent
from ..passages import sentences_of
from .values import AnswerPlan, Bi, Library, Quote, Say, quote_of
from .support import _EVERYDAY


FAQ_MATCH = 0.6  # share of a published question's words the owner's question holds, for its answer to answer
FAQ_MIN_WORDS = 2  # and at least this many of them
FAQ_COVERS = 0.4  # share of the owner's own words the published question holds
_STEM = re.compile(r"^([一-龥々]+)[ぁ-ゖ]+$")  # a kanji word with its okurigana (違う, 違い) by its kanji


def _faq_plan(intent: Intent, results: list[SearchResult], lib: Library, guides: bool) -> AnswerPlan | None:
    """「公社の助成金と融資って何が違うの？」: the operator's published answer to the same question (its Q&A
    file, ingest/faq.py), quoted with its source."""
    from ..intent import CONDITION_STOP

    tok = lib.tokenizer

    def content(text: str) -> set[str]:  # the words that make a question this one (not 申請, 具体的, できる)
        words = {t for t in tok.tokens(text) if len(t) >= 2 and t not in _EVERYDAY and t not in CONDITION_STOP and not re.fullmatch(r"[ぁ-ゖ]+", t)}
        return {_STEM.sub(r"\1", t) for t in words}  # 違う and 違い are one word here: 違

    words = content(intent.text)
    best: tuple[float, Chunk, str] | None = None
    for chunk in lib.faq_chunks:  # question to question: every published question, not only those found
        question = chunk.section.split(" > ")[-1].removeprefix(QUESTION_MARK).strip()
        asked = content(question)
        shared = words & asked
        share = len(shared) / len(asked) if asked else 0.0
        covers = len(shared) / len(words) if words else 0.0  # and the owner's question is mostly that one
        if len(shared) >= FAQ_MIN_WORDS and share >= FAQ_MATCH and covers >= FAQ_COVERS and (best is None or share > best[0]):
            best = (share, chunk, question)
    if best is None:
        return None
    _, chunk, question = best
    answer = next((s for s in sentences_of(chunk) if not s.startswith(SOURCE_MARK.strip())), "")
    if not answer:
        return None
    plan = AnswerPlan(intent, Say(""), guides=guides)
    values = {"title": Bi(chunk.title), "question": Quote(question), "quote": quote_of(answer, tok)}
    plan.direct = Say("direct.faq", values, plan.cite(SearchResult(chunk, 1.0)))
    plan.kind = "fact"
    return plan
