"""The common eligibility rules as data: is an owner's company 小規模企業者, 中小企業者 or neither?

The figures are bot/data/company_size.yaml, which states what corpus/rules/common-rules.md says
(a test keeps the two equal). `size_class(facts)` takes the facts of bot/core/profile.py and returns
a `SizeVerdict`, or None when the facts do not decide. Every verdict names the heading of the
common-rules.md section that states the rule it used, so an answer can cite that passage.

What a verdict claims, and when it claims nothing:

- The basic law (中小企業基本法第2条) decides `size`: 'small' when employees <= the group's small
  limit; else 'sme' when employees <= its sme limit or capital <= its sme capital; else 'large',
  which needs both figures above their limits (one figure under its limit is enough for 'sme').
  A sole proprietor (個人事業主) is judged on employees only: capital applies to companies.
- 'sme' says "at least 中小企業者". When employees are unknown, `may_be_small` is True: small
  depends on employees alone, so the caller should ask before quoting a 小規模企業者 rate.
- No industry: a size is claimed only when every industry group gives the same one (<= 5 employees
  is small everywhere, 21 to 50 employees is sme everywhere, ...); otherwise None. A figure that
  falls between two groups' limits is never guessed.
- 政令 special rules (宿泊業 20人, 旅館業 200人, ソフトウェア業 300人, ゴム製品製造業 900人) are used by some
  laws and programs only. They never change `size`; when one would make the company smaller,
  `special` carries that size, its limit and its section, so the caller can say "制度によっては".
- `group_company` True (親会社, 大企業の子会社): 'small' or 'sme' is not claimed, since みなし大企業 may
  apply. The verdict has `size` None, `basis` 'group_company', `section` 'みなし大企業', and
  `by_figures` holds what the figures alone would say (or None). A company large by its figures is
  simply 'large'.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "company_size.yaml"

Size = Literal["small", "sme", "large"]
Basis = Literal["employees", "capital", "employees+capital", "group_company"]
_RANK = {"small": 0, "sme": 1, "large": 2}


@dataclass(frozen=True)
class Group:
    """One row of 中小企業基本法第2条 (製造業その他, 卸売業, サービス業, 小売業)."""

    key: str
    name: str
    industries: tuple[str, ...]
    sme_capital: int
    sme_employees: int
    small_employees: int


@dataclass(frozen=True)
class SpecialRule:
    """A 政令 rule some laws use for part of an industry; a missing limit is the group's."""

    name: str
    industries: tuple[str, ...]
    words: tuple[str, ...]
    section: str
    sme_capital: int | None = None
    sme_employees: int | None = None
    small_employees: int | None = None

    def applies(self, industry: str, word: str | None) -> bool:
        if industry not in self.industries:
            return False
        if not self.words:
            return True
        folded = unicodedata.normalize("NFKC", word or "").lower()
        return any(unicodedata.normalize("NFKC", w).lower() in folded for w in self.words)


@dataclass(frozen=True)
class SizeTable:
    groups: tuple[Group, ...]
    special: tuple[SpecialRule, ...]
    sections: dict[str, str] = field(hash=False, compare=False)
    counting_words: tuple[str, ...] = ()  # words asking how people are counted (数に入る？): the counting rule answers

    def group_of(self, industry: str | None) -> Group | None:
        return next((g for g in self.groups if industry in g.industries), None)


@dataclass(frozen=True)
class Special:
    """What a 政令 special rule would make the company (only ever smaller than the verdict)."""

    name: str  # 宿泊業・娯楽業
    size: Size
    basis: Basis
    limit: int
    section: str


@dataclass(frozen=True)
class SizeVerdict:
    """Which size class the facts put the company in, and which rule and passage say so.

    size     'small' | 'sme' | 'large'; None only for a group company (みなし大企業 may apply)
    industry the group key of company_size.yaml (manufacturing_etc, wholesale, service, retail),
             None when the verdict holds for every group
    basis    the fact that decided: 'employees', 'capital', 'employees+capital' (large: both over),
             'group_company'
    limit    the threshold of that fact (20 people, 50000000 yen); for 'employees+capital' the
             employees limit, with the capital one in `capital_limit`
    section  the heading of corpus/rules/common-rules.md that states the rule
    """

    size: Size | None
    industry: str | None
    basis: Basis
    limit: int | None
    section: str
    capital_limit: int | None = None
    may_be_small: bool = False  # 'sme' with employees unknown: small is not ruled out
    special: Special | None = None  # a 政令 rule some programs use would make the company smaller
    by_figures: SizeVerdict | None = None  # a group company: what the figures alone say


def _limits(data: dict[str, Any] | None) -> dict[str, int]:
    return {k: int(v) for k, v in (data or {}).items()}


def load_table(path: Path = DEFAULT_PATH) -> SizeTable:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    groups = tuple(
        Group(
            key=key,
            name=str(row["name"]),
            industries=tuple(row["industries"]),
            sme_capital=int(row["sme"]["capital"]),
            sme_employees=int(row["sme"]["employees"]),
            small_employees=int(row["small"]["employees"]),
        )
        for key, row in data["groups"].items()
    )
    special = tuple(
        SpecialRule(
            name=str(rule["name"]),
            industries=tuple(rule["industries"]),
            words=tuple(str(w) for w in rule.get("words") or ()),
            section=str(rule["section"]),
            sme_capital=_limits(rule.get("sme")).get("capital"),
            sme_employees=_limits(rule.get("sme")).get("employees"),
            small_employees=_limits(rule.get("small")).get("employees"),
        )
        for rule in data.get("special") or ()
    )
    return SizeTable(groups, special, dict(data["sections"]), tuple(str(w) for w in data.get("counting_words") or ()))


@lru_cache(maxsize=4)
def get_table(path: Path = DEFAULT_PATH) -> SizeTable:
    return load_table(path)


def yen_ja(amount: int) -> str:
    """How the document writes an amount: 300000000 → 3億円, 50000000 → 5,000万円, 150000000 → 1億5,000万円."""
    oku, rest = divmod(int(amount), 100_000_000)
    man, yen = divmod(rest, 10_000)
    parts = []
    if oku:
        parts.append(f"{oku:,}億")
    if man:
        parts.append(f"{man:,}万")
    if yen or not parts:
        parts.append(f"{yen:,}")
    return "".join(parts) + "円"


# --- judging -----------------------------------------------------------------------------------


def _judge(
    key: str | None,
    sme_capital: int,
    sme_employees: int,
    small_employees: int,
    employees: float | None,
    capital: float | None,
    sole: bool,
    sections: dict[str, str],
) -> SizeVerdict | None:
    """The basic-law verdict for one set of limits, or None when the facts do not decide."""
    if employees is not None and employees <= small_employees:
        return SizeVerdict("small", key, "employees", small_employees, sections["small"])
    if employees is not None and employees <= sme_employees:
        return SizeVerdict("sme", key, "employees", sme_employees, sections["sme"])
    if capital is not None and capital <= sme_capital:
        return SizeVerdict("sme", key, "capital", sme_capital, sections["sme"], may_be_small=employees is None)
    if employees is not None and sole:  # a sole proprietor has no capital to meet
        return SizeVerdict("large", key, "employees", sme_employees, sections["sme"])
    if employees is not None and capital is not None:
        return SizeVerdict("large", key, "employees+capital", sme_employees, sections["sme"], capital_limit=sme_capital)
    return None


def _judge_any(table: SizeTable, employees, capital, sole) -> SizeVerdict | None:
    """Without an industry: a verdict only if every group gives the same size."""
    verdicts = [
        _judge(None, g.sme_capital, g.sme_employees, g.small_employees, employees, capital, sole, table.sections)
        for g in table.groups
    ]
    if any(v is None for v in verdicts) or len({v.size for v in verdicts}) != 1:
        return None
    size, s = verdicts[0].size, table.sections
    if size == "small":
        return SizeVerdict("small", None, "employees", min(g.small_employees for g in table.groups), s["small"])
    if size == "sme":
        least_employees = min(g.sme_employees for g in table.groups)
        if employees is not None and employees <= least_employees:
            return SizeVerdict("sme", None, "employees", least_employees, s["sme"])
        least_capital = min(g.sme_capital for g in table.groups)
        return SizeVerdict("sme", None, "capital", least_capital, s["sme"], may_be_small=employees is None)
    most_employees = max(g.sme_employees for g in table.groups)
    if sole or capital is None:
        return SizeVerdict("large", None, "employees", most_employees, s["sme"])
    return SizeVerdict(
        "large", None, "employees+capital", most_employees, s["sme"], capital_limit=max(g.sme_capital for g in table.groups)
    )


def _special(table: SizeTable, group: Group, verdict: SizeVerdict, facts: dict, employees, capital, sole) -> Special | None:
    """The smallest size a 政令 rule that fits the owner's industry would give, if smaller."""
    best: Special | None = None
    for rule in table.special:
        if not rule.applies(str(facts.get("industry")), facts.get("industry_word")):
            continue
        v = _judge(
            group.key,
            rule.sme_capital or group.sme_capital,
            rule.sme_employees or group.sme_employees,
            rule.small_employees or group.small_employees,
            employees,
            capital,
            sole,
            table.sections,
        )
        if v is None or v.size is None or _RANK[v.size] >= _RANK[verdict.size]:
            continue
        if best is None or _RANK[v.size] < _RANK[best.size]:
            best = Special(rule.name, v.size, v.basis, v.limit, rule.section)
    return best


def size_class(facts: dict[str, Any], table: SizeTable | None = None) -> SizeVerdict | None:
    """The size class the owner's facts decide (see the module docstring), or None."""
    table = table or get_table()
    employees = facts.get("employees")
    sole = bool(facts.get("sole_proprietor"))
    capital = None if sole else facts.get("capital")
    group = table.group_of(facts.get("industry"))
    if group is not None:
        verdict = _judge(
            group.key, group.sme_capital, group.sme_employees, group.small_employees, employees, capital, sole, table.sections
        )
        if verdict is not None:
            special = _special(table, group, verdict, facts, employees, capital, sole)
            if special is not None:
                verdict = replace(verdict, special=special)
    else:
        verdict = _judge_any(table, employees, capital, sole)

    if facts.get("group_company") is True and (verdict is None or verdict.size != "large"):
        return SizeVerdict(
            None,
            group.key if group else None,
            "group_company",
            None,
            table.sections["group_company"],
            by_figures=verdict,
        )
    return verdict
