"""Fiscal years: which one a guide's facts belong to, which one it is now, and whether facts are older.

Japan's fiscal year runs from April to March: 令和8年度 is April 2026 to March 2027. A program's facts
from an earlier fiscal year than the current one may have changed (a new call, new limits): an answer
says so in its first sentence, and `smebot ingest` names such programs.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

_REIWA = re.compile(r"令和\s*(\d+|元)\s*年度?")
_HEISEI = re.compile(r"平成\s*(\d+|元)\s*年度?")
_WESTERN = re.compile(r"((?:19|20)\d\d)\s*年(度)?")
REIWA_START = 2018  # 令和N = 2018 + N
HEISEI_START = 1988


def fiscal_year_of(text: str | None) -> int | None:
    """The Western year a fiscal year starts in, as a guide writes it (令和7年度 -> 2025, 2026年 -> 2026)."""
    if not text:
        return None
    for pattern, start in ((_REIWA, REIWA_START), (_HEISEI, HEISEI_START)):
        m = pattern.search(text)
        if m:
            return start + (1 if m.group(1) == "元" else int(m.group(1)))
    m = _WESTERN.search(text)
    return int(m.group(1)) if m else None


def is_calendar_year(text: str) -> bool:
    """Whether a year is written as a calendar year (2018年), not a fiscal one (2024年度, 令和7年度)."""
    m = _WESTERN.search(text)
    return m is not None and not m.group(2) and not _REIWA.search(text) and not _HEISEI.search(text)


def current_fiscal_year(today: date | None = None) -> int:
    today = today or date.today()
    return today.year if today.month >= 4 else today.year - 1


def label(year: int) -> str:
    """2026 -> 令和8年度."""
    era, n = ("令和", year - REIWA_START) if year > REIWA_START else ("平成", year - HEISEI_START)
    return f"{era}{'元' if n == 1 else n}年度"


def older_than_now(text: str | None, today: date | None = None) -> bool:
    """Whether facts of this fiscal year are from before the current one (unknown years are not)."""
    year = fiscal_year_of(text)
    return year is not None and year < current_fiscal_year(today)


def by_fiscal_year(records: dict[str, Any], today: date | None = None) -> tuple[list[tuple[str, int]], list[str]]:
    """The programs counted by the fiscal year their facts belong to (newest first; 年度不明 last), and the
    names of those whose facts are older than the current fiscal year."""
    counts: dict[str, int] = {}
    older: list[str] = []
    for name, record in sorted(records.items()):
        year = fiscal_year_of(record.fiscal_year)
        key = label(year) if year is not None else ""
        counts[key] = counts.get(key, 0) + 1
        if year is not None and year < current_fiscal_year(today):
            older.append(name)
    ordered = sorted(counts.items(), key=lambda kv: (kv[0] == "", -(fiscal_year_of(kv[0]) or 0)))
    return ordered, older
