"""Self-diagnosis check sheets (corpus/checksheets/*.yaml), run as a conversation.

A sheet asks its questions one by one with numbered choices; the total score falls in a band whose
advice cites the policy measures and program guides that fit. The state lives in the conversation,
so the check survives a reload and its result can be asked about afterwards.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .text import normalize


@dataclass
class Choice:
    label: str
    score: int


@dataclass
class SheetQuestion:
    id: str
    text: str
    choices: list[Choice]


@dataclass
class Band:
    min: int
    max: int
    name: str
    summary: str
    advice: list[str]
    measures: list[str] = field(default_factory=list)
    guides: list[str] = field(default_factory=list)


@dataclass
class CheckSheet:
    id: str
    title: str
    direction: str | None
    intro: str
    triggers: list[str]
    questions: list[SheetQuestion]
    bands: list[Band]

    @property
    def max_score(self) -> int:
        return sum(max(c.score for c in q.choices) for q in self.questions)

    def band_for(self, total: int) -> Band:
        for band in self.bands:
            if band.min <= total <= band.max:
                return band
        return self.bands[-1]

    def pick(self, index: int, reply: str) -> int | None:
        """The score of the choice a reply picks (by number or by its words), or None."""
        choices = self.questions[index].choices
        text = unicodedata.normalize("NFKC", reply).strip()
        m = re.match(r"^\s*(\d+)\s*(番|つ目)?\s*[。.]?\s*$", text)
        if m and 1 <= int(m.group(1)) <= len(choices):
            return choices[int(m.group(1)) - 1].score
        q = normalize(reply)
        for c in choices:
            if q and (q == normalize(c.label) or (len(q) >= 3 and q in normalize(c.label))):
                return c.score
        return None


def load_sheet(path: Path) -> CheckSheet:
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return CheckSheet(
        id=str(raw.get("id") or path.stem),
        title=raw["title"],
        direction=raw.get("direction"),
        intro=raw.get("intro", ""),
        triggers=[str(t) for t in raw.get("triggers", [])],
        questions=[
            SheetQuestion(str(q["id"]), q["text"], [Choice(str(c["label"]), int(c["score"])) for c in q["choices"]])
            for q in raw["questions"]
        ],
        bands=[
            Band(int(b["min"]), int(b["max"]), b["name"], b.get("summary", ""), list(b.get("advice", [])),
                 list(b.get("measures", [])), list(b.get("guides", [])))
            for b in raw["bands"]
        ],
    )


def load_sheets(folder: Path) -> dict[str, CheckSheet]:
    if not folder.is_dir():
        return {}
    return {s.id: s for s in (load_sheet(p) for p in sorted(folder.glob("*.yaml")))}


# "うちのBCPって大丈夫?": the owner does not know where they stand (about their own company)
_UNSURE = re.compile(
    r"診断|チェックシート|自己評価|点検したい|準備度|弱点|何が足りない"
    r"|(うち|自社|当社|弊社|わが社|我が社|うちの会社).{0,30}(大丈夫|できてる|できている|足りてる|足りている|十分|どのくらい|どの程度)"
    r"|are we ready|how ready|self[- ]check|assessment|checklist"
)
_YES = re.compile(r"^(はい|お願い|おねがい|やる|やります|する|します|始め|ok|yes|1|１)")
_NO = re.compile(r"^(いいえ|いや|結構|けっこう|やめ|しない|no|2|２)")
_STOP = re.compile(r"^(やめる|やめます|中止|終了|キャンセル|stop|quit)")


def matching_sheet(message: str, sheets: dict[str, CheckSheet]) -> CheckSheet | None:
    """The sheet to offer when an owner asks where they stand on one of the sheets' topics."""
    q = normalize(message)
    if not _UNSURE.search(q):
        return None
    for sheet in sheets.values():
        if any(normalize(t) in q for t in sheet.triggers):
            return sheet
    return None


def is_yes(reply: str) -> bool:
    return bool(_YES.match(normalize(reply)))


def is_no(reply: str) -> bool:
    return bool(_NO.match(normalize(reply)))


def is_stop(reply: str) -> bool:
    return bool(_STOP.match(normalize(reply)))


def question_text(sheet: CheckSheet, index: int) -> tuple[str, list[dict[str, Any]]]:
    q = sheet.questions[index]
    lines = [f"【{sheet.title}】 {index + 1}/{len(sheet.questions)}", q.text]
    lines += [f"{n}. {c.label}" for n, c in enumerate(q.choices, start=1)]
    lines.append("番号でお答えください（「やめる」で中止できます）。")
    choices = [{"n": n, "label": c.label} for n, c in enumerate(q.choices, start=1)]
    return "\n".join(lines), choices
