"""Program facts as data: one typed record per support program.

Field names follow the public subsidy records of Japan's national subsidy portal jGrants
(`subsidy_max_limit`, `subsidy_rate`, `target_number_of_employees`, `acceptance_start_datetime`,
`acceptance_end_datetime`, `use_purpose`, `front_subsidy_detail_page_url`, ...), so a help desk can
bring in records in that shape beside the written guides (ingest/jgrants.py).

Every fact carries where it comes from (`source`: official or secondary). The answer shows the
source kind beside the citation; notes about sources never reach the prose an owner reads.

A guide in corpus/guides/ carries its record in the front matter under `facts:`; ingest validates
it (a `ProgramError` names the file and the field) and writes the records of a generation to
`programs.json` beside its passages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SourceKind = Literal["official", "secondary"]
# A rate applies to all applicants, to 中小企業者 in general, or to 小規模企業者 (rules.py decides which one an owner is)
SizeClass = Literal["any", "sme", "small"]


class ProgramError(ValueError):
    """A program record that is not valid; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(_Strict):
    """One fact as a reader sees it, in Japanese and English, and where it comes from."""

    ja: str = Field(min_length=1)
    en: str | None = None
    source: SourceKind = "secondary"
    url: str | None = None


class Amount(Fact):
    """An amount of money: `yen` for comparing and sorting, `ja`/`en` for reading (1,500万円)."""

    yen: int | None = Field(default=None, ge=0)


class Rate(Fact):
    """A subsidy rate for a company size (any, 中小企業者 = sme, 小規模企業者 = small)."""

    size: SizeClass = "any"
    condition: str | None = None  # e.g. 賃金引上げを計画どおり実施した場合 (Japanese)
    condition_en: str | None = None


class When(Fact):
    """A date or period; `date` (ISO 8601) when it is a single day."""

    date: str | None = None


class Contact(_Strict):
    desk: str = Field(min_length=1)  # who answers (窓口の名前)
    desk_en: str | None = None
    phone: str | None = None
    hours: str | None = None
    hours_en: str | None = None
    form: str | None = None  # a web form's address
    source: SourceKind = "secondary"
    url: str | None = None


class ProgramRecord(_Strict):
    """One program. Every fact is optional: what the documents do not give is None."""

    id: str = Field(min_length=1)  # a slug: the guide's file name, or jgrants-<id>
    name: str = Field(min_length=1)
    name_en: str | None = None
    aliases: tuple[str, ...] = ()
    # words the guide explains (カスハラ, 特例承継計画, 二つ星): 「〇〇って何？」 of one asks its meaning, not the program's overview
    terms: tuple[str, ...] = ()
    operator: str | None = None  # 実施主体
    operator_en: str | None = None
    direction: str | None = None  # ① to ⑤
    measure: str | None = None  # the policy measure it carries out, as headed in the policy
    kind: Literal["subsidy", "loan", "fund", "consultation", "expert", "event", "other"] = "other"
    use_purpose: Fact | None = None  # what it is for (目的・概要)
    subsidy_max_limit: Amount | None = None  # 上限
    subsidy_min_limit: Amount | None = None  # 下限
    subsidy_rate: tuple[Rate, ...] = ()  # by company size
    target_number_of_employees: Fact | None = None
    eligibility: tuple[Fact, ...] = ()  # who may apply
    prerequisites: tuple[Fact, ...] = ()  # what must be done before applying
    eligible_expenses: tuple[Fact, ...] = ()  # covered costs
    ineligible: tuple[Fact, ...] = ()  # who or what is excluded
    acceptance_start_datetime: When | None = None
    acceptance_end_datetime: When | None = None
    acceptance_note: Fact | None = None  # how calls run (every month, twice a year, ...)
    application_method: Fact | None = None
    payment_timing: Fact | None = None
    is_enable_multiple_request: Fact | None = None  # applying twice
    fee: Fact | None = None  # what it costs the owner (無料, 1小間5万円)
    contact: Contact | None = None
    front_subsidy_detail_page_url: str | None = None  # the official page
    fiscal_year: str | None = None  # 令和7年度
    as_of: str | None = None  # when the facts were checked (ISO date)

    @field_validator("direction")
    @classmethod
    def _direction(cls, value: str | None) -> str | None:
        if value is not None and value not in "①②③④⑤":
            raise ValueError("must be one of ①②③④⑤")
        return value

    # -- what the answer reads ------------------------------------------------------------------

    def rate_for(self, size: str | None) -> Rate | None:
        """The rate that applies to a company of this size class (None: not known or not given)."""
        plain = [r for r in self.subsidy_rate if r.condition is None]
        if size is not None:
            for rate in plain:
                if rate.size == size:
                    return rate
        any_size = [r for r in plain if r.size == "any"]
        return any_size[0] if len(any_size) == 1 else None

    def source_kind(self) -> SourceKind:
        """official when the facts an answer shows come from official pages only."""
        facts = [f for f in self.facts() if f is not None]
        return "official" if facts and all(f.source == "official" for f in facts) else "secondary"

    def facts(self) -> list[Any]:
        singles = [
            self.use_purpose, self.subsidy_max_limit, self.subsidy_min_limit, self.target_number_of_employees,
            self.acceptance_start_datetime, self.acceptance_end_datetime, self.application_method,
            self.payment_timing, self.is_enable_multiple_request, self.fee, self.contact,
        ]
        return [*singles, *self.subsidy_rate, *self.eligibility, *self.prerequisites, *self.eligible_expenses]


def validate(data: dict[str, Any], where: str) -> ProgramRecord:
    """A record from a mapping; a `ProgramError` naming `where` and the field when it is not valid."""
    try:
        return ProgramRecord.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(record)'}: {err['msg']}" for err in exc.errors()
        )
        raise ProgramError(f"{where}: invalid program facts: {problems}") from None


def read_programs(path: Path) -> dict[str, ProgramRecord]:
    """The records an ingest wrote (programs.json), by program name; empty when there is none."""
    if not path.exists():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    records = [ProgramRecord.model_validate(r) for r in raw]
    return {r.name: r for r in records}


def write_programs(path: Path, records: list[ProgramRecord]) -> None:
    data = [r.model_dump(mode="json", exclude_none=True, exclude_defaults=True) | {"id": r.id, "name": r.name} for r in records]
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def card(record: ProgramRecord, language: str = "ja") -> dict[str, Any]:
    """The contract's `programs` entry: the key facts of one program, in the answer's language."""
    en = language == "en"

    def text(fact: Any) -> str | None:
        if fact is None:
            return None
        return (fact.en or fact.ja) if en else fact.ja

    rates = [r for r in record.subsidy_rate if r.condition is None]
    size_names = {"sme": ("中小企業者等", "SMEs"), "small": ("小規模企業者", "small businesses"), "any": ("", "")}
    rate = "; ".join(
        " ".join(p for p in (size_names[r.size][1 if en else 0], text(r) or "") if p) for r in rates
    ) if rates else None
    start, end = record.acceptance_start_datetime, record.acceptance_end_datetime
    period = " – ".join(t for t in (text(start), text(end)) if t) if (start or end) and not (start and end and start.ja == end.ja) else text(end or start)
    contact = record.contact
    return {
        "name": record.name,
        "name_en": record.name_en,
        "operator": (record.operator_en or record.operator) if en else record.operator,
        "upper_limit": text(record.subsidy_max_limit),
        "rate": rate,
        "period": period,
        "desk": ((contact.desk_en or contact.desk) if en else contact.desk) if contact else None,
        "phone": contact.phone if contact else None,
        "url": record.front_subsidy_detail_page_url,
        "how_to_apply": text(record.application_method),
        "fiscal_year": record.fiscal_year,
        "source_kind": record.source_kind(),
    }
