"""Word an answer plan in the asker's language, from the message catalogs.

Every sentence a user reads is in bot/catalogs/<language>.yaml; this module only fills templates.
Values resolve by language: a program is 「名前」 in Japanese and its English name (with the
Japanese once) in English; a quoted Japanese sentence stays inside 「」 in an English answer; a
fiscal year 令和7年度 becomes FY2025.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .fiscal import fiscal_year_of, is_calendar_year
from .passages import english_gloss
from .compose.values import AnswerPlan, Bi, Measure, Name, Quote, Say, Term, Year

CATALOGS = Path(__file__).resolve().parents[1] / "catalogs"
LANGUAGES = ("ja", "en")


@lru_cache(maxsize=None)
def catalog(language: str) -> dict[str, Any]:
    path = CATALOGS / f"{language}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "messages" not in data or "terms" not in data:
        raise ValueError(f"{path}: a catalog needs `messages` and `terms`")
    return data


def message(key: str, language: str, **values: Any) -> str:
    """One catalog message, filled (for the sentences outside answers: refusals, check sheets, drafts)."""
    return _Writer(language).fill(key, values)


def term(key: str, language: str) -> str | None:
    """A catalog term (a topic's name, a slot's name), or None when the catalog has none."""
    return catalog(language)["terms"].get(key)


def fiscal_year_en(text: str) -> str:
    """令和7年度 -> FY2025, 平成29年度ごろ -> around FY2017, 2024年度 -> FY2024, 2018年 -> 2018."""
    about = "around " if "ごろ" in text or "頃" in text else ""
    year = fiscal_year_of(text)
    if year is None:
        return text
    return f"{about}{year}" if is_calendar_year(text) else f"{about}FY{year}"


class _Writer:
    """Fills templates for one answer; remembers which program names it has written in full."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.cat = catalog(language)
        self.named: set[str] = set()

    def term(self, t: Term) -> str:
        text = self.cat["terms"].get(t.key)
        if text is None:
            raise KeyError(f"catalog {self.language}: no term {t.key!r}")
        return self._format(text, t.values)

    def value(self, v: Any, style: str = "") -> str:
        en = self.language == "en"
        if isinstance(v, Name):
            if not en:
                return f"「{v.ja}」"
            if not v.en:
                return f"「{v.ja}」"
            if v.ja in self.named:
                return f"the {v.en}" if not v.en.lower().startswith("the ") else v.en
            self.named.add(v.ja)
            return f"the {v.en} (「{v.ja}」)" if not v.en.lower().startswith("the ") else f"{v.en} (「{v.ja}」)"
        if isinstance(v, Quote):
            text = v.text.strip()
            if en and v.en:  # the policy's sentence in English: the [n] beside it cites the Japanese
                return v.en.strip().rstrip(".")
            if en:
                return f"「{_inner(text)}」"
            return (_inner(text) if style == "in_quotes" else text).rstrip("。．.")
        if isinstance(v, Measure):
            if not en:
                return f"「{v.label}」"
            gloss = english_gloss(v.label)
            return f"“{gloss}” (「{v.label}」)" if gloss else f"「{v.label}」"
        if isinstance(v, Bi):
            if not en:
                return v.ja.rstrip("。")
            if v.en:
                return v.en.rstrip(".")
            return f"「{v.ja}」" if v.ja else ""
        if isinstance(v, Term):
            return self.term(v)
        if isinstance(v, Year):
            if not v.text:
                return ""
            shown = fiscal_year_en(v.text) if en else v.text
            terms = self.cat["terms"]
            key = f"year.{style or 'paren'}"
            return terms.get(key + "_older" if v.older else key, terms[key]).format(year=shown)
        if v is None:
            return ""
        return str(v)

    def _format(self, template: str, values: dict[str, Any], cites: str = "") -> str:
        out = []
        for literal, field_name, spec, _ in string.Formatter().parse(template):
            out.append(literal)
            if field_name is None:
                continue
            if field_name == "cite":
                out.append(cites)
                continue
            name, _, style = field_name.partition("_as_")
            if not style and literal.endswith("「"):
                style = "in_quotes"  # 「{quote}」: brackets inside the quotation become 『』
            out.append(self.value(values.get(name), style))
        # a value the documents leave empty must not leave a double space ("a  business")
        return re.sub(r"(?<=\S) {2,}(?=\S)", " ", "".join(out))

    def fill(self, key: str, values: dict[str, Any], cites: list[int] | None = None) -> str:
        template = self.cat["messages"].get(key)
        if template is None:
            raise KeyError(f"catalog {self.language}: no message {key!r}")
        marks = "".join(f"[{n}]" for n in cites or [])
        if marks and self.language == "en":
            marks = " " + marks
        return self._format(template, values, marks)

    def say(self, s: Say) -> str:
        return self.fill(s.key, s.values, s.cites)


def _inner(text: str) -> str:
    """A quotation's own 「」 as 『』, the way Japanese nests quotations."""
    return text.replace("「", "『").replace("」", "』")


def render(plan: AnswerPlan, language: str | None = None) -> str:
    """The answer's text: the direct line, the supporting points, the next step, the notes."""
    language = language or plan.intent.language
    w = _Writer(language)
    lines = [w.say(plan.direct)]
    if plan.points:
        bullet = w.cat["terms"]["bullet"]
        lines += [f"{bullet}{_capitalise(w.say(p)) if language == 'en' else w.say(p)}" for p in plan.points]
    if plan.next_step is not None:
        lines.append(w.say(plan.next_step))
    lines += [w.say(n) for n in plan.notes]
    if language == "en":
        lines = [_capitalise(line) for line in lines]
    return "\n".join(line for line in lines if line)


def _capitalise(line: str) -> str:
    for i, ch in enumerate(line):
        if ch.isalpha():
            return line[:i] + ch.upper() + line[i + 1 :] if ch.isascii() else line
    return line


def citation_label(chunk: Any, language: str) -> str:
    """How a citation is named: the program and section, or the policy's heading path."""
    if chunk.program:
        section = chunk.section.split(" > ")[-1]
        name = chunk.program
        if language == "en":
            return f"「{name}」 guide, section 「{section}」" if section != name else f"「{name}」 guide"
        return f"「{name}」ガイド（{section}）" if section != name else f"「{name}」ガイド"
    if chunk.kind == "rules":
        return f"Common eligibility rules, 「{chunk.section}」" if language == "en" else f"支援制度の共通ルール（{chunk.section}）"
    if chunk.kind != "policy":
        return f"「{chunk.title}」, 「{chunk.section}」" if language == "en" else f"{chunk.title}（{chunk.section}）"
    if language == "en":
        return f"Tokyo SME policy, 「{chunk.section}」"
    return f"東京都中小企業振興ビジョン　{chunk.section}"
