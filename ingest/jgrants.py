"""jGrants records: a `*.jgrants.json` file becomes program records and searchable guides.

jGrants (https://www.jgrants-portal.go.jp/) is Japan's national subsidy portal; its public API
answers in three shapes, all accepted here:

- the list response   `{"metadata": {...}, "result": [{record}, ...]}`
- the detail response `{"metadata": {...}, "result": [{one record}]}`
- a plain list of records `[{record}, ...]`

Each record, in jGrants' own field names (id, title, subsidy_catch_phrase, detail, use_purpose,
industry, target_area_search, target_area_detail, target_number_of_employees, subsidy_rate,
subsidy_max_limit, acceptance_start_datetime, acceptance_end_datetime, project_end_deadline,
is_enable_multiple_request, front_subsidy_detail_page_url, institution_name, ...), becomes:

- a `ProgramRecord` (id `jgrants-<id>`, name = title, every fact `source: official` with the
  record's detail page as its address), and
- a Document of kind `guide` whose Markdown body has the guides' section headings (## 概要,
  ## 対象, ## 助成率・上限, ## 申請方法, ## 問い合わせ先) where the record has data, so its passages
  are found and cited like a written guide's.

Nothing is added that the record does not say: no detail page address is made up from the id, a
0 upper limit (jGrants' "not given") is left out, and `is_enable_multiple_request` becomes a fact
only when it is a boolean.

A file that is not in one of these shapes, or a record with a field of the wrong type, is a
`LoadError` that names the file, the record (counted from 1) and the field.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bot.core.programs import ProgramError, ProgramRecord, validate

from .loaders import Document, LoadError, Page, record_urls
from .screening import PROGRAM

JST = timezone(timedelta(hours=9))
_TEXT_FIELDS = (
    "id", "name", "title", "subsidy_catch_phrase", "detail", "use_purpose", "industry", "target_area_search",
    "target_area_detail", "target_number_of_employees", "subsidy_rate", "acceptance_start_datetime",
    "acceptance_end_datetime", "project_end_deadline", "request_reception_presence",
    "front_subsidy_detail_page_url", "institution_name",
)


class _Bad(ValueError):
    """A field of one record that cannot be read: (field, why)."""

    def __init__(self, field: str, why: str):
        super().__init__(f"{field}: {why}")
        self.field = field


def load_jgrants(path: Path, source: str) -> Document:
    """The whole file: one part (a guide Document with its record) per jGrants record."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise LoadError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise LoadError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc})") from None
    raw = records_of(data)
    if raw is None:
        raise LoadError(
            f"{path}: not a jGrants file: expected {{\"result\": [records]}} (the API's list or detail "
            f"response) or a list of records, got {type(data).__name__}"
        )
    if not raw:
        raise LoadError(f"{path}: no jGrants records in the file")
    parts = []
    for n, item in enumerate(raw, start=1):
        try:
            record = to_record(item, where=f"{source}: record {n}")
            parts.append(to_document(item, record, source))
        except _Bad as exc:
            raise LoadError(f"{path}: record {n}: {exc}") from None
        except ProgramError as exc:
            raise LoadError(str(exc)) from None
    return Document(
        source,
        "jgrants",
        metadata={"title": path.name, "kind": "guide"},
        pages=[p for part in parts for p in part.pages],
        parts=parts,
        trust=PROGRAM,
        source_urls=[u for part in parts for u in part.source_urls],
    )


def records_of(data: Any) -> list[Any] | None:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("result"), list):
        return data["result"]
    if isinstance(data, dict) and isinstance(data.get("result"), dict):  # a detail answer of one record
        return [data["result"]]
    return None


# --- one record ------------------------------------------------------------------------------


def _fields(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _Bad("(record)", f"must be an object of jGrants fields, got {type(item).__name__}")
    out = dict(item)
    for name in _TEXT_FIELDS:
        value = out.get(name)
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name in ("id", "name"):
            out[name] = str(value)
        elif isinstance(value, list) and name in ("use_purpose", "industry") and all(isinstance(v, str) for v in value):
            out[name] = " / ".join(value)  # some copies keep these as lists
        elif not isinstance(value, str):
            raise _Bad(name, f"must be text, got {type(value).__name__}")
        out[name] = _clean(out[name])
    for name in ("id", "title"):
        if not out.get(name):
            raise _Bad(name, "missing (every jGrants record has an id and a title)")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", out["id"]):
        raise _Bad("id", f"{out['id']!r} is not a jGrants id (letters, digits, - _ .)")
    return out


def to_record(item: Any, where: str) -> ProgramRecord:
    f = _fields(item)
    url = f.get("front_subsidy_detail_page_url")  # None when the record gives none (list answers)

    def fact(ja: str | None, en: str | None = None) -> dict | None:
        return {"ja": ja, "en": en, "source": "official", "url": url} if ja else None

    data: dict[str, Any] = {
        "id": f"jgrants-{f['id']}",
        "name": f["title"],
        "kind": "subsidy",
        "operator": f.get("institution_name"),
        "use_purpose": fact(f.get("use_purpose")),
        "target_number_of_employees": fact(
            f.get("target_number_of_employees"), _employees_en(f.get("target_number_of_employees"))
        ),
        "front_subsidy_detail_page_url": url,
    }
    limit = _yen(f.get("subsidy_max_limit"), "subsidy_max_limit")
    if limit:  # jGrants writes 0 when a record gives no upper limit
        data["subsidy_max_limit"] = {**fact(yen_ja(limit), yen_en(limit)), "yen": limit}
    if f.get("subsidy_rate"):
        data["subsidy_rate"] = [{**fact(f["subsidy_rate"], _rate_en(f["subsidy_rate"])), "size": "any"}]
    for name in ("acceptance_start_datetime", "acceptance_end_datetime"):
        when = _datetime(f.get(name), name)
        if when is not None:
            data[name] = {**fact(date_ja(when), date_en(when)), "date": when.date().isoformat()}
    if "acceptance_start_datetime" in data:  # the fiscal year of the call (April to March)
        data["fiscal_year"] = _fiscal_year(data["acceptance_start_datetime"]["date"])
    area = f.get("target_area_detail") or f.get("target_area_search")
    eligibility = [fact(f"対象地域: {area}")] if area else []
    if f.get("industry"):
        eligibility.append(fact(f"対象業種: {f['industry']}"))
    data["eligibility"] = eligibility
    multiple = item.get("is_enable_multiple_request")
    if isinstance(multiple, bool):
        data["is_enable_multiple_request"] = (
            fact("複数回の申請ができます", "More than one application is allowed")
            if multiple
            else fact("複数回の申請はできません", "Only one application is allowed")
        )
    elif multiple is not None:
        raise _Bad("is_enable_multiple_request", f"must be true or false, got {multiple!r}")
    data = {k: v for k, v in data.items() if v not in (None, [], "")}
    return validate(data, where=where)


def to_document(item: dict, record: ProgramRecord, source: str) -> Document:
    """The record as a guide: Markdown under the guides' headings, for search and citation."""
    f = _fields(item)
    lines = [f"# {record.name}", ""]

    def section(heading: str, body: list[str | None]) -> None:
        """A heading and its paragraphs (a list's items stay together)."""
        paragraphs: list[str] = []
        for b in body:
            if not b:
                continue
            if b.startswith("- ") and paragraphs and paragraphs[-1].startswith("- "):
                paragraphs[-1] += "\n" + b
            else:
                paragraphs.append(b if b.startswith("- ") or "\n" in b else _sentence(b))
        if paragraphs:
            lines.extend([f"## {heading}", "", *(x for p in paragraphs for x in (p, ""))])

    section("概要", [
        f.get("subsidy_catch_phrase"),
        f"{record.operator}の補助金です。" if record.operator else None,
        f"利用目的: {record.use_purpose.ja}。" if record.use_purpose else None,
        _paragraphs(f.get("detail")),
    ])
    section("対象", [
        *(f"- {e.ja}" for e in record.eligibility),
        f"- 従業員数: {record.target_number_of_employees.ja}" if record.target_number_of_employees else None,
    ])
    rate = record.subsidy_rate[0].ja if record.subsidy_rate else None
    limit = record.subsidy_max_limit.ja if record.subsidy_max_limit else None
    section("助成率・上限", [
        "".join([
            f"補助率は{rate}" if rate else "",
            "、" if rate and limit else "",
            f"補助上限額は{limit}" if limit else "",
            "です。" if rate or limit else "",
        ]),
    ])
    start, end = record.acceptance_start_datetime, record.acceptance_end_datetime
    period = None
    if start and end:
        period = f"受付期間は{start.ja}から{end.ja}までです。"
    elif start or end:
        period = f"受付開始は{start.ja}です。" if start else f"受付締切は{end.ja}です。"
    deadline = _datetime(f.get("project_end_deadline"), "project_end_deadline")
    section("申請方法", [
        period,
        f"事業の完了期限は{date_ja(deadline)}です。" if deadline else None,
        record.is_enable_multiple_request.ja + "。" if record.is_enable_multiple_request else None,
    ])
    page = record.front_subsidy_detail_page_url
    section("問い合わせ先", [
        f"実施機関は{record.operator}です。" if record.operator else None,
        f"詳しい内容と問い合わせ先は、jGrantsの詳細ページ {page} の公募要領でご確認ください。" if page else None,
    ])
    section("ご注意", ["受付期間・補助額などは公募回ごとに変わります。申請前に必ず最新の公募要領でご確認ください。"])
    metadata = {
        "title": record.name,
        "kind": "guide",
        "program": record.name,
        "part": record.id,
        "publisher": "jGrants",
    }
    if record.fiscal_year:
        metadata["fiscal_year"] = record.fiscal_year
    return Document(
        source, "markdown", metadata=metadata, pages=[Page(None, "\n".join(lines))], programs=[record],
        trust=PROGRAM, source_urls=record_urls(record),
    )


# --- values ----------------------------------------------------------------------------------


def _sentence(text: str) -> str:
    return text if text.endswith(("。", "！", "？", ".", "!", "?")) else text + "。"


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _paragraphs(detail: str | None) -> str | None:
    """jGrants' `detail` is HTML: its text, one paragraph a block."""
    if not detail:
        return None
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", detail)
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|li|h\d)>", "\n", text)
    text = re.sub(r"(?i)<li\b[^>]*>", "- ", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    blocks: list[str] = []
    for line in (ln.strip() for ln in text.splitlines()):
        if not line:
            continue
        if line.startswith("- ") and blocks and blocks[-1].startswith("- "):
            blocks[-1] += "\n" + line  # a list stays one paragraph
        else:
            blocks.append(line if line.startswith("- ") else _sentence(line))
    return "\n\n".join(blocks) or None


def _yen(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        raise _Bad(name, f"must be a whole number of yen, got {value!r}")
    return int(value)


def yen_ja(yen: int) -> str:
    """15000000 -> 1,500万円; 200000000 -> 2億円; 280000000 -> 2億8,000万円; 11550 -> 11,550円."""
    if yen % 10_000:
        return f"{yen:,}円"
    oku, man = divmod(yen // 10_000, 10_000)
    return (f"{oku:,}億" if oku else "") + (f"{man:,}万" if man else "") + "円"


def yen_en(yen: int) -> str:
    """15000000 -> JPY 15 million; 1500000 -> JPY 1.5 million; 11550 -> JPY 11,550."""
    for size, word in ((1_000_000_000, "billion"), (1_000_000, "million")):
        if yen >= size and (yen * 100) % size == 0:
            return f"JPY {yen / size:,.2f}".rstrip("0").rstrip(".") + f" {word}"
    return f"JPY {yen:,}"


def _rate_en(text: str) -> str | None:
    m = re.fullmatch(r"(\d+)\s*/\s*(\d+)\s*(以内)?", text)
    if m:
        return f"up to {m.group(1)}/{m.group(2)}" if m.group(3) else f"{m.group(1)}/{m.group(2)}"
    return None


def _employees_en(text: str | None) -> str | None:
    if not text:
        return None
    if text in ("従業員数の制約なし", "従業員の制約なし"):
        return "No limit on the number of employees"
    m = re.fullmatch(r"(\d[\d,]*)\s*(?:名|人)以下", text)
    return f"{m.group(1)} employees or fewer" if m else None


def _datetime(value: Any, name: str) -> datetime | None:
    """A jGrants time ("2025-10-01T00:00:00.000Z", UTC) in Japan time."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Bad(name, f"must be a date and time like 2025-10-01T00:00:00.000Z, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(name, f"must be a date and time like 2025-10-01T00:00:00.000Z, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=JST)  # jGrants gives UTC with Z; a bare time is taken as Japan's
    return moment.astimezone(JST)


def date_ja(moment: datetime) -> str:
    day = f"{moment.year}年{moment.month}月{moment.day}日"
    if (moment.hour, moment.minute) == (0, 0):
        return day
    return f"{day} {moment.hour}時" + (f"{moment.minute:02d}分" if moment.minute else "")


def date_en(moment: datetime) -> str:
    day = f"{moment.strftime('%B')} {moment.day}, {moment.year}"
    return day if (moment.hour, moment.minute) == (0, 0) else f"{day}, {moment.strftime('%H:%M')} JST"


def _fiscal_year(iso: str | None) -> str | None:
    """The Japanese fiscal year (April to March) a date falls in, as 令和N年度."""
    if not iso:
        return None
    day = datetime.fromisoformat(iso)
    year = day.year if day.month >= 4 else day.year - 1
    return f"令和{year - 2018}年度" if year >= 2019 else f"{year}年度"
