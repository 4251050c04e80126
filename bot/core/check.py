"""Check a language model's wording of an answer plan against the plan and its cited passages.

The model only words what the core chose. Its text is used when every figure, date, phone number,
link, quoted name and program named in it occurs in the evidence (the cited passages and the plan's
own data and wording), every [n] names a cited passage, the plan's lead fact opens the answer, and
nothing of the prompt or long stretches of passages the plan does not quote are echoed. `check()`
returns the first reason it finds (a `fallback` value, README "Using a language model"), or None.

Pure functions over strings: no index, no model; table-driven tests in tests/test_wording_check.py.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterable

CITE = re.compile(r"\[(\d{1,3})\]")
MARKUP = re.compile(r"</?\s*(passages|draft|facts|question)\s*>", re.I)
URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]「」『』、。，,]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:jp|com|org|net|tokyo|io)(?:/[^\s<>()\[\]「」『』、。，,]*)?", re.I)
PHONE = re.compile(r"(?<!\d)0\d{1,4}-\d{1,4}-\d{3,4}(?!\d)")
_NUMBER = (
    r"(?<![\d.,])(\d+(?:,\d{3})*(?:\.\d+)?)"  # 1,500 / 2.5
    r"(?:\s*(?:/|分の)\s*(\d+))?"  # 2/3, 3分の2
    r"\s*(万円|億円|千円|円|万|億|千|%|割|倍|か月|ヶ月|カ月|箇月|年度|年|月|日|時間|時|分|秒|名|人|社|件|回|歳"
    r"|million|billion|thousand|yen|percent|months?|years?|days?|hours?|employees|people|times)?"
)
FIGURE = re.compile(_NUMBER, re.I)
QUOTED = re.compile(r"「([^「」]{2,80})」")
ECHO_WINDOW = 40  # characters: a stretch this long copied from a passage the plan does not quote is echo
ECHO_LIMIT = 3  # windows (non-overlapping) of such copying before the reply counts as an echo
YES_NO = re.compile(r"^\s*(はい|いいえ|yes\b|no\b)", re.I)
NOT_STATED = re.compile(r"記載が(?:あり|見当たり)ません|記載はありません|書かれていません|示されていません|not stated|do(?:es)? not (?:state|say|give|mention)|no mention", re.I)


def fold(text: str) -> str:
    """The form compared: NFKC (全角 → ASCII digits and brackets), dashes as '-', no spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[‐‑‒–—―ー−－](?=\d)", "-", text)
    return text


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def first_sentence(text: str) -> str:
    """Up to the first 。！？, '. ', '? ' or line break (evals/metrics.py judges the same span)."""
    text = text.lstrip()
    m = re.search(r"[。！？!]|\.(?=\s|$)|\?(?=\s|$)|\n", text)
    return text[: m.end()] if m else text


def figures(text: str) -> list[str]:
    """Each figure as 'number[/denominator][unit]' without thousands separators; 3分の2 is 2/3."""
    out = []
    for m in FIGURE.finditer(text):
        number, other, unit = m.group(1).replace(",", ""), m.group(2), (m.group(3) or "").lower()
        if other is not None:
            if "分の" in m.group(0):  # 3分の2: two thirds
                number, other = other, number
            out.append(f"{number}/{other}{unit}")
        else:
            out.append(f"{number}{unit}")
    return out


def _numbers(text: str) -> set[str]:
    return {re.split(r"[^\d./]", f)[0] for f in figures(text)} | {m.replace(",", "") for m in re.findall(r"\d[\d,]*", text)}


@dataclass
class Evidence:
    """What the model may state: the cited passages, and the plan's wording and data."""

    passages: list[str]  # the cited passages' text, numbered from 1
    plan_text: str  # the plan rendered (in the answer's language, and the other one)
    lead: str  # the plan's first sentence: the fact the answer opens with
    facts: list[str] = field(default_factory=list)  # the plan's programs' values, citation labels
    named_in: Callable[[str], list[str]] | None = None  # program names a text names (the library's)

    def __post_init__(self) -> None:
        whole = fold("\n".join([*self.passages, self.plan_text, *self.facts]))
        self.whole = whole
        self.squeezed = squeeze(whole)
        self.figures = set(figures(_strip(whole)))
        self.numbers = _numbers(_strip(whole))
        self.plan_squeezed = squeeze(fold(self.plan_text))
        self.names = set(self.named_in(whole)) if self.named_in else set()


def _strip(text: str) -> str:
    """Without citation marks, links and phone numbers (checked on their own, not as figures)."""
    return PHONE.sub(" ", URL.sub(" ", CITE.sub(" ", text)))


def check(text: str, ev: Evidence, max_chars: int | None = None) -> str | None:
    """The first reason the model's text cannot be shown (a `fallback` value), or None if it can."""
    folded = fold(text)
    if not folded.strip():
        return "empty"
    if MARKUP.search(folded) or _echoes(folded, ev):
        return "echo"
    if max_chars is not None and len(folded) > max_chars:
        return "too_long"
    cited = [int(n) for n in CITE.findall(folded)]
    if not cited:
        return "no_citation"
    if any(not 1 <= n <= len(ev.passages) for n in cited):
        return "bad_citation"
    for url in URL.findall(folded):
        if url.rstrip(".:;!?").lower() not in ev.whole.lower():
            return "invented_link"
    for phone in PHONE.findall(folded):
        if phone not in ev.whole:
            return "unsupported_phone"
    plain = _strip(folded)
    for figure in figures(plain):
        number = re.split(r"[^\d./]", figure)[0]
        unit = figure[len(number):]
        if (figure not in ev.figures) if unit else (number not in ev.numbers):
            return "unsupported_figure"
    for quoted in QUOTED.findall(folded):
        if squeeze(quoted) not in ev.squeezed:
            return "unsupported_name"
    if ev.named_in is not None and set(ev.named_in(folded)) - ev.names:
        return "unsupported_name"
    return _lead_missing(folded, ev)


def _lead_missing(folded: str, ev: Evidence) -> str | None:
    """The plan's lead fact (its figures, phone, link and names; yes or no; 'not stated') in the first sentence."""
    lead = fold(first_sentence(ev.lead))
    first = first_sentence(folded)
    # a figure in brackets qualifies the fact (（令和7年度）), it is not the fact; a phone number is one wherever it is
    unbracketed = re.sub(r"（[^（）]*）|\([^()]*\)", "", _strip(lead))
    wanted: Iterable[str] = [*figures(unbracketed), *PHONE.findall(lead), *(u.rstrip(".") for u in URL.findall(lead))]
    got = set(figures(_strip(first))) | set(PHONE.findall(first)) | {u.rstrip(".") for u in URL.findall(first)}
    if any(w not in got for w in wanted):
        return "lead_missing"
    for quoted in QUOTED.findall(lead):
        if len(quoted) <= 40 and squeeze(quoted) not in squeeze(first):  # a name, not a long quotation
            return "lead_missing"
    said = YES_NO.match(lead)
    if said:
        got = YES_NO.match(first)
        if got is None or _yes(got.group(1)) != _yes(said.group(1)):
            return "lead_missing"
    if NOT_STATED.search(lead) and not NOT_STATED.search(first):
        return "lead_missing"
    return None


def _yes(word: str) -> bool:
    return word.lower() in ("はい", "yes")


def _echoes(folded: str, ev: Evidence) -> bool:
    """Long stretches copied from the passages that the plan's own wording does not hold."""
    body = squeeze(CITE.sub("", folded))
    passages = [squeeze(fold(p)) for p in ev.passages]
    copied = 0
    i = 0
    while i + ECHO_WINDOW <= len(body):
        window = body[i : i + ECHO_WINDOW]
        if window not in ev.plan_squeezed and any(window in p for p in passages):
            copied += 1
            if copied >= ECHO_LIMIT:
                return True
            i += ECHO_WINDOW
        else:
            i += 8
    return False
