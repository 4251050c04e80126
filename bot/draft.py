"""Reply drafts for help-desk staff: an inquiry (an e-mail, several questions) becomes a polite draft.

The draft answers each question with the same core as `ask`, numbers the citations across the whole
reply, and lists what the staff must check before sending. It is marked as a draft at the top.

A draft can also be made from an answer a conversation already gave (`from_turn`): a follow-up such
as 「上限はいくら？」 is then drafted from what was answered to it, not asked again on its own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from .core.render import citation_label, message
from .models import Chunk, Citation, SearchResult

_GREETING = re.compile(
    r"^(いつも|平素|突然|初めて|はじめて|お世話|お忙しい|よろしく|宜しく|以上|失礼|ご担当|担当者様|お疲れ)"
    r"|(お世話になっております|お世話になります|よろしくお願い|宜しくお願い)"
)
_SIGNATURE = re.compile(r"(TEL|Tel|tel|電話|FAX|Fax|E-?mail|メール|〒|@|株式会社|有限会社|合同会社|代表取締役|^-{2,}|^―+)")
_ADDRESS_LINE = re.compile(r"(様|御中|各位)$")


def _is_signature(line: str) -> bool:
    """Signature and letterhead lines are short; a sentence that mentions メール is not one."""
    return len(line) <= 40 and not _QUESTION.search(line) and bool(_SIGNATURE.search(line))
_QUESTION = re.compile(r"[？?]|(ですか|ますか|でしょうか|ませんか|教えて|知りたい|ください|たいのですが|たいです|困って)")


@dataclass
class Draft:
    draft: str
    citations: list[Citation] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "draft": self.draft,
            "citations": [c.to_dict() for c in self.citations],
            "checks": self.checks,
            "questions": self.questions,
        }


def split_questions(inquiry: str) -> list[tuple[str, str]]:
    """The questions in an inquiry as (question, question with its context), without greetings
    and signature lines."""
    lines = [unicodedata.normalize("NFKC", line).strip() for line in inquiry.splitlines()]
    body = [
        ln for ln in lines if ln and not _GREETING.search(ln) and not _is_signature(ln) and not _ADDRESS_LINE.search(ln)
    ]
    sentences: list[str] = []
    for line in body:
        sentences += [s.strip() for s in re.split(r"(?<=[。？?！!])", line) if s.strip()]
    questions = [s for s in sentences if _QUESTION.search(s)]
    if not questions:
        whole = "".join(sentences)
        return [(whole, whole)] if whole else []
    # a statement just before a question is its context ("うちは印刷業です。補助はありますか")
    out: list[tuple[str, str]] = []
    context = ""
    for s in sentences:
        if _QUESTION.search(s):
            shown = re.sub(r"^(また|あと|それから|さらに|加えて)[、,]", "", s)
            out.append((shown, f"{context}{s}" if context and len(context) < 80 else s))
            context = ""
        else:
            context += s
    return out[:6]


def addressee(inquiry: str) -> str:
    for line in reversed(inquiry.strip().splitlines()[-6:]):
        m = re.search(r"([一-龥]{1,4})\s*([一-龥]{1,4})?\s*$", line.strip())
        if m and not _GREETING.search(line) and not _SIGNATURE.search(line) and not _ADDRESS_LINE.search(line) and len(line.strip()) <= 12:
            return f"{m.group(1)}様"
    return "ご担当者様"


def renumber(answer_text: str, offset: int) -> str:
    return re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + offset}]", answer_text)


def compose(inquiry: str, parts: list[str], citations: list[Citation], checks: list[str], questions: list[str]) -> Draft:
    """The reply around its parts: the draft label, the addressee, greeting, closing and sources."""
    # a reply goes to an owner: the program's official page where one is known, never our file paths
    sources = [f"[{c.n}] {citation_label(c.result.chunk, 'ja')}" + (f" — {c.url}" if c.url else "") for c in citations]
    text = "\n\n".join(
        [
            message("draft.head", "ja"),
            f"{addressee(inquiry)}",
            message("draft.greeting", "ja"),
            *parts,
            message("draft.closing", "ja"),
            message("draft.sources", "ja") + "\n" + "\n".join(sources) if sources else "",
        ]
    ).strip()
    return Draft(text, citations, checks, questions)


def from_turn(turn: Any, inquiry: str = "") -> Draft:
    """A reply draft from one stored turn (bot.store.Turn): its answer as it was given, its citations
    as they were shown. A follow-up is named by the question it was resolved to."""
    answer = turn.answer
    follow_up = (answer.get("intent") or {}).get("act") == "follow_up"
    question = turn.question
    if follow_up:  # 「上限はいくら？」 names what it asks about: the program answered, else the question as searched
        programs = answer.get("programs") or []
        about = f"『{programs[0]['name']}』" if programs and programs[0].get("name") else None
        question = f"{turn.question}（{about}について）" if about else (turn.resolved or turn.question)
    checks = [message("draft.check.sign", "ja"), message("draft.check.yearly", "ja")]
    if answer.get("degraded"):
        checks.append(message("draft.check.degraded", "ja"))
    citations: list[Citation] = []
    if answer.get("choices"):
        body = message("draft.broad", "ja")
        checks.append(message("draft.check.broad", "ja", n=1))
    elif turn.refused or answer.get("refused"):
        body = message("draft.not_found", "ja")
        checks.append(message("draft.check.not_found", "ja", n=1, question=question[:30]))
    else:
        body = answer.get("answer", "")
        for c in answer.get("citations") or []:
            result = SearchResult(Chunk.from_dict(c), float(c.get("score") or 0.0))
            citations.append(Citation(c["n"], result, c.get("label"), c.get("url")))
        if answer.get("stated", True) is False:
            checks.append(message("draft.check.not_stated", "ja", n=1))
        elif citations:
            checks.append(message("draft.check.fit", "ja", n=1, first=1, last=len(citations)))
    part = message("draft.part", "ja", n=1, question=question, body=body)
    return compose(inquiry, [part], citations, checks, [question])
