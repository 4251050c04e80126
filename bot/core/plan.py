"""Plan the answer as data: what to say first, what supports it, which programs, whom to ask.

`plan_answer(intent, results, library)` reads the one Intent and the passages found, and returns an
`AnswerPlan`: sentences as catalog keys with their values and citations, never words. render.py
turns the plan into Japanese or English. Rules the plan keeps:

- The first sentence answers what was asked: the figure with the program and fiscal year; yes or
  no only where a cited passage says so; for where/who, the desk and its phone number.
- When the documents do not state what was asked, the first sentence says so and names where to
  ask; nothing else is listed.
- A broad need leads with the programs that fit, each with its headline figure, then the measure.
- Every value comes from a program record whose fact is found in a cited passage, or from a
  quoted sentence of a cited passage.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from ..models import FAQ_KIND, QUESTION_MARK, SOURCE_MARK, Chunk, SearchResult
from ..privacy import has_phone
from ..text import compact, normalize
from ..tokenize import JapaneseTokenizer
from .directory import Directory
from .fiscal import older_than_now
from .intent import CIRCLED, Intent, asks_what_to_do, evidence_answers_alone, slot_evidence, slot_field
from .passages import (
    best_sentences, clean, english_gloss, english_rendering, measure_label, role_of, sentence_with, sentences_of, standalone_at,
)
from .programs import Amount, Fact, ProgramRecord, Rate

MAX_POINTS = 3
MAX_SUPPORT_POINTS = 2  # a broad need: the second program or the measure behind them, and the deciding requirement
MAX_SLOT_POINTS = 2
SLOT_ANSWER_SURE = 0.7  # below this, a slot the documents do not state is answered at the level asked, not as 'not stated'
MEASURE_PROGRAM_WEIGHT = 0.9  # a program found through the measure it carries out ranks a little below its measure  # beside an asked figure, the two facts an owner needs next
ASIDE_SECTIONS = ("ご注意", "関連する東京都の施策")  # a guide's sections that answer no question of the program
GENERAL_DESK_PROGRAM = "onestop-soudan"  # the desk named when no program answers the question
_NO = re.compile(r"対象外|向けでない|ではない|でないもの|は休み|休業|不要|対象となりません|対象になりません|対象としません|できません|不可|除く|除き|認められません|含まれません|含みません")
_YES = re.compile(r"対象(?!外|とな?りません|になりません|としません)|できます|可能です|含みます|含まれます")
_HAS_YEAR = re.compile(r"年度|\d{4}年|令和|平成")


# -- the plan's values: resolved to one language by the renderer --------------------------------


@dataclass(frozen=True)
class Bi:
    """A value with a Japanese and an English form (the English may be missing)."""

    ja: str
    en: str | None = None


@dataclass(frozen=True)
class Quote:
    """A sentence of a passage, quoted: plain in Japanese; in English its English rendering where the
    policy has one (bot/data/policy_en.yaml), else in 「」."""

    text: str
    en: str | None = None


def quote_of(sentence: str, tok: JapaneseTokenizer) -> Quote:
    """A passage's sentence as an answer quotes it: polite Japanese, and its English where there is one."""
    return Quote(clean(sentence, tok), english_rendering(sentence))


@dataclass(frozen=True)
class Name:
    """A program's name: 「名前」 in Japanese; its English name (with the Japanese once) in English."""

    ja: str
    en: str | None = None


@dataclass(frozen=True)
class Measure:
    """A policy measure's heading; English answers add a gloss of the heading."""

    label: str


@dataclass(frozen=True)
class Term:
    """A word or phrase from the catalog's `terms` (slot names, company sizes), with its values."""

    key: str
    values: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Year:
    """A fiscal year as written in the documents (令和7年度); English answers give FY2025. `older`: before
    the current fiscal year, so the first sentence says the figure may have changed."""

    text: str
    older: bool = False


@dataclass
class Say:
    """One sentence as data: a catalog key, its values, and the citation numbers behind it."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)
    cites: list[int] = field(default_factory=list)


@dataclass
class AnswerPlan:
    intent: Intent
    direct: Say
    points: list[Say] = field(default_factory=list)
    next_step: Say | None = None
    notes: list[Say] = field(default_factory=list)
    citations: list[SearchResult] = field(default_factory=list)
    programs: list[ProgramRecord] = field(default_factory=list)
    refused: bool = False
    reason: str | None = None
    stated: bool = True  # False: the documents do not state what was asked
    choices: list[dict[str, Any]] = field(default_factory=list)
    guides: bool = True  # False: this turn keeps to the policy (kind=policy); no guide is cited
    lead: str | None = None  # what leads a support answer: "programs" or "measure"
    kind: str | None = None  # the contract's answer_kind, when the planner decided it (see answer_kind)

    def answer_kind(self) -> str:
        """fact, not_stated, not_covered, support or definition (the contract's `answer_kind`)."""
        if self.kind:
            return self.kind
        if not self.stated:
            return "not_stated"
        if self.intent.asks == "definition":
            return "definition"
        if self.intent.slot or self.intent.document_role or self.intent.asks in ("company_size", "overview"):
            return "fact"
        return "support"

    def cite(self, result: SearchResult | None) -> list[int]:
        """The citation number of a passage (added when new), as a list for `Say.cites`."""
        if result is None:
            return []
        for n, r in enumerate(self.citations, start=1):
            if r.chunk.id == result.chunk.id:
                return [n]
        self.citations.append(result)
        return [len(self.citations)]

    def add_program(self, record: ProgramRecord | None) -> None:
        if record is not None and all(r.name != record.name for r in self.programs):
            self.programs.append(record)


class Library(Protocol):
    """What the plan reads besides the passages found: records and passages by name."""

    tokenizer: JapaneseTokenizer
    records: dict[str, ProgramRecord]
    directory: Directory  # what the documents do not hold (bot/core/directory.py)

    chunks: list[Chunk]

    def program_chunks(self, name: str) -> list[Chunk]: ...
    def policy_passage(self, measure: str) -> SearchResult | None: ...
    def program_guides(self, measure: str) -> list[SearchResult]: ...
    def program_order(self, text: str, n: int = 40) -> dict[str, int]: ...
    def rules_passage(self, section: str) -> SearchResult | None: ...
    def role_passages(self, role: str, results: list[SearchResult], query: str = "") -> list[SearchResult]: ...
    def directions(self) -> list[tuple[str, str, SearchResult | None]]: ...
    def directory_passage(self, name: str) -> SearchResult | None: ...


# -- facts and the passages that state them ------------------------------------------------------


def _passage_for(lib: Library, record: ProgramRecord, phrase: str | None, section: str | None = None) -> SearchResult | None:
    """The program's passage stating `phrase` (or its section), to cite beside a fact from the record."""
    chunks = lib.program_chunks(record.name)
    if phrase:
        found = sentence_with(chunks, phrase)
        head = re.split(r"[（(]", phrase)[0]
        if found is None and head != phrase and re.search(r"\d", head):
            # a figure with the record's own gloss: the passage states the figure (2億円 of
            # 「2億円（令和7年度に新設された区分。その他は最大1億円）」)
            found = sentence_with(chunks, head)
        if found:
            return SearchResult(found[0], 1.0)
    if section:
        for c in chunks:
            if c.section.split(" > ")[-1] == section:
                return SearchResult(c, 1.0)
    return None


def _headline(record: ProgramRecord, owner_size: str | None) -> tuple[str, Any] | None:
    """The one figure that tells an owner what a program gives (its upper limit, rate, or fee)."""
    if record.subsidy_max_limit is not None:
        return ("upper_limit", record.subsidy_max_limit)
    rate = record.rate_for(owner_size)
    if rate is not None:
        return ("rate", rate)
    if record.fee is not None:
        return ("fee", record.fee)
    return None


def _bi(fact: Fact | None) -> Bi | None:
    """A fact in both languages; an amount in English also shows the document's own figure, quoted."""
    if fact is None:
        return None
    if isinstance(fact, Amount) and fact.en and fact.yen is not None:
        figure = re.match(r"[^（(、]*", fact.ja).group(0)
        return Bi(fact.ja, f"{fact.en} (「{figure}」)")
    return Bi(fact.ja, fact.en)


def _desk(plan: AnswerPlan, lib: Library, record: ProgramRecord | None) -> Say:
    """Whom to ask: the program's desk and phone, its operator, or the general SME desk."""
    if not plan.guides:
        return Say("next.general", {})
    if record is not None and record.contact is not None:
        c = record.contact
        where = _passage_for(lib, record, c.phone or c.desk, "問い合わせ先")
        cites = plan.cite(where)
        hours = ""
        if c.phone and c.hours:  # the hours only where a cited passage states them
            said = _passage_for(lib, record, c.hours, None)
            if said is not None:
                hours = c.hours
                cites += [n for n in plan.cite(said) if n not in cites]
        values = {"desk": Bi(c.desk, c.desk_en), "phone": c.phone or "", "hours": Bi(hours, c.hours_en or hours)}
        key = "next.desk_phone_hours" if c.phone and hours else "next.desk_phone" if c.phone else "next.desk"
        return Say(key, values, cites)
    general = next((r for r in lib.records.values() if r.id == GENERAL_DESK_PROGRAM), None)
    asked_for_a_number = plan.intent.asks == "contact"
    if record is not None and record.operator:
        # 「窓口の電話番号は？」 of a 公社 program whose guide gives no number: the 公社's own general desk,
        # whose number a guide does give, rather than "ask the 公社" with no way to reach it
        if asked_for_a_number and general is not None and general.contact is not None and general.contact.phone \
                and general.operator and general.operator in record.operator:
            c = general.contact
            cites = plan.cite(_passage_for(lib, general, c.phone, "問い合わせ先"))
            return Say("next.general_desk", {"desk": Bi(c.desk, c.desk_en), "phone": c.phone}, cites)
        cites = plan.cite(_passage_for(lib, record, None, "問い合わせ先"))
        return Say("next.operator", {"operator": Bi(record.operator, record.operator_en)}, cites)
    if general is not None and general.contact is not None:
        c = general.contact
        cites = plan.cite(_passage_for(lib, general, c.phone or c.desk, "問い合わせ先"))
        return Say("next.general_desk", {"desk": Bi(c.desk, c.desk_en), "phone": c.phone or ""}, cites)
    return Say("next.general", {})


def _what(intent: Intent) -> Term:
    """What was asked, as the not-stated sentence names it."""
    asked = intent.asks if intent.slot else "support"  # a detail no slot names: 「ご質問の点」
    if intent.condition and asked in ("eligibility", "covered_costs", "support"):  # not 「支払時期（ソフトウェアの扱い）」
        return Term("about_condition", {"what": Term(f"slot.{asked}"), "condition": intent.condition})
    return Term(f"slot.{asked}")


def _year(record: ProgramRecord) -> Year:
    """The fiscal year a record's facts belong to, marked when it is before the current one."""
    return Year(record.fiscal_year or "", older_than_now(record.fiscal_year))


def _plain_year(say: Say) -> Say:
    """A point beside the first sentence gives its year plainly: only the first sentence says a figure's
    fiscal year is older than this one (the note at the end says it for the program shown)."""
    year = say.values.get("year")
    if isinstance(year, Year) and year.older:
        return Say(say.key, {**say.values, "year": Year(year.text)}, say.cites)
    return say


def _fiscal_note(plan: AnswerPlan, record: ProgramRecord) -> None:
    if record.fiscal_year:
        key = "note.fiscal_year" if record.kind in ("subsidy", "loan") else "note.as_of"
        plan.notes.append(Say(key, {"program": Name(record.name, record.name_en), "year": Year(record.fiscal_year)}))


# -- the kinds of answer -------------------------------------------------------------------------


def _not_stated(plan: AnswerPlan, lib: Library, record: ProgramRecord | None) -> AnswerPlan:
    """The documents do not say: one sentence that says so and names where to ask."""
    desk = _desk(plan, lib, record)
    values = dict(desk.values)
    values["what"] = _what(plan.intent)
    if record is not None:
        values["program"] = Name(record.name, record.name_en)
        plan.add_program(record)
    key = "not_stated." + desk.key.split(".", 1)[1] + (".program" if record is not None else "")
    if record is not None and plan.intent.asks == "contact" and desk.key == "next.general_desk":
        key = "not_stated.own_desk.program"  # no desk of its own: its operator's general desk, with its number
    plan.direct = Say(key, values, desk.cites)
    plan.stated = False
    plan.next_step = None
    return plan


# Slots the common rules (corpus/rules/common-rules.md) state in general, by the section that does
COMMON_RULE_SECTIONS = {"payment_timing": "助成金の支払い時期", "application_period": "募集期間", "how_to_apply": "申請の流れ"}


def _size_plan(plan: AnswerPlan, lib: Library) -> AnswerPlan:
    """「従業員20人の小売業です。中小企業にあたりますか？」: the common rules decide, from the facts the
    owner gave (bot/core/rules.py): the verdict; over the employee line with the capital unknown, the
    capital that would decide; without enough facts, the thresholds by industry. Each cited to the rule."""
    from .rules import get_table, size_class, yen_ja

    table = get_table()
    owner = plan.intent.owner or {}
    verdict = size_class(owner) if owner else None
    settled = verdict is not None and verdict.size in ("sme", "small", "large") and not verdict.may_be_small
    rule = lib.rules_passage(verdict.section if settled else table.sections["sme"])
    sentences = sentences_of(rule.chunk) if rule is not None else []
    if not sentences:
        return _not_stated(plan, lib, None)
    cites = plan.cite(rule)
    plan.next_step = _desk(plan, lib, None)
    group = table.group_of(owner.get("industry"))

    def quote(sentence: str | None, where: list[int] = cites) -> None:
        if sentence:
            plan.points.append(Say("point.size_rule", {"quote": quote_of(sentence, lib.tokenizer)}, where))

    def thresholds() -> str | None:  # the rule's sentence giving the owner's industry its limits
        return next((x for x in sentences if group is not None and group.name in x and "以下" in x), None)

    if settled:
        size = "sme" if verdict.size == "large" else verdict.size
        key = "direct.size_verdict_large" if verdict.size == "large" else "direct.size_verdict"
        plan.direct = Say(key, {"owner": _owner_term(owner, verdict.basis), "size": Term(f"size.{size}")}, cites)
        quote(thresholds() if verdict.section == table.sections["sme"] else sentences[0])
        return plan
    employees = owner.get("employees")
    if group is not None and isinstance(employees, int) and employees > group.sme_employees and owner.get("capital") is None:
        # over the employee line: the capital decides (meeting either one is enough)
        capital = Bi(yen_ja(group.sme_capital), f"JPY {group.sme_capital // 1_000_000:,} million")
        plan.direct = Say("direct.size_by_capital", {"owner": _owner_term(owner, "employees"), "capital": capital}, cites)
        quote(thresholds())
        quote(next((x for x in sentences if "どちらか一方" in x), None))
        return plan
    plan.direct = Say("direct.size_rule", {"quote": quote_of(sentences[0], lib.tokenizer)}, cites)
    for x in sentences[1:]:  # the thresholds by industry, and that meeting one of the two is enough
        if "以下です" in x or "どちらか一方" in x:
            quote(x)
    small = lib.rules_passage(table.sections["small"])
    if small is not None:
        quote(next(iter(sentences_of(small.chunk)), None), plan.cite(small))
    return plan


# Slots the common rules answer for every program, when a question names none
GENERAL_SLOTS = ("payment_timing", "how_to_apply")
# asked of subsidies in general, these are never one program's: 「補助金申請したいけど何をすればいいの？」
GENERAL_ONLY = ("how_to_apply",)


def _common_rule_plan(plan: AnswerPlan, lib: Library) -> AnswerPlan | None:
    """A question about subsidies in general, answered by the common rule: its first sentence, the
    exception it names (概算払い), and the general desk."""
    rule = lib.rules_passage(COMMON_RULE_SECTIONS[plan.intent.asks])
    sentences = sentences_of(rule.chunk) if rule is not None else []
    if not sentences:
        return None
    cites = plan.cite(rule)
    plan.direct = Say("direct.common_rule", {"quote": quote_of(sentences[0], lib.tokenizer)}, cites)
    exception = next((s for s in sentences[1:] if "一部の制度" in s), None)
    if exception:
        plan.points.append(Say("point.rule_exception", {"quote": quote_of(exception, lib.tokenizer)}, cites))
    plan.next_step = _desk(plan, lib, None)
    return plan


def _with_common_rule(plan: AnswerPlan, lib: Library) -> AnswerPlan:
    """After "the documents do not state it for this program": what the common rules say in general."""
    section = COMMON_RULE_SECTIONS.get(plan.intent.asks)
    rule = lib.rules_passage(section) if section and plan.guides else None
    sentences = sentences_of(rule.chunk) if rule is not None else []
    if sentences:
        quote = quote_of(sentences[0], lib.tokenizer)
        plan.points.append(Say("point.common_rule", {"quote": quote}, plan.cite(rule)))
    return plan


def _value_say(plan: AnswerPlan, lib: Library, record: ProgramRecord, slot: str) -> Say | None:
    """The first sentence for a slot the record holds, cited to the passage that states it."""
    name = Name(record.name, record.name_en)
    year = _year(record)
    owner = plan.intent.owner
    if slot in ("upper_limit", "lower_limit"):
        amount: Amount | None = record.subsidy_max_limit if slot == "upper_limit" else record.subsidy_min_limit
        if amount is None:
            return None
        cites = plan.cite(_passage_for(lib, record, amount.ja, "助成率・上限"))
        return Say(f"direct.{slot}", {"program": name, "value": _bi(amount), "year": Year("") if _HAS_YEAR.search(amount.ja) else year}, cites)
    if slot == "rate":
        if not record.subsidy_rate:
            return None

        verdict = _verdict(owner)
        size = verdict.size if verdict is not None else None
        rate = record.rate_for(size) if size in ("sme", "small") else None
        if verdict is not None and rate is not None and rate.size != "any":
            rule = plan.cite(lib.rules_passage(verdict.section))
            cites = rule + plan.cite(_passage_for(lib, record, rate.ja, "助成率・上限"))
            values = {
                "program": name, "value": _bi(rate), "year": year, "size": Term(f"size.{size}"),
                "owner": _owner_term(owner, verdict.basis),
            }
            return Say("direct.rate_for_owner", values, cites)
        plain = [r for r in record.subsidy_rate if r.condition is None]
        if len(plain) == 1:
            cites = plan.cite(_passage_for(lib, record, plain[0].ja, "助成率・上限"))
            return Say("direct.rate", {"program": name, "value": _bi(plain[0]), "year": year}, cites)
        rates = [r for r in plain if r.size in ("sme", "small")]
        if len(rates) >= 2:
            sme = next(r for r in rates if r.size == "sme") if any(r.size == "sme" for r in rates) else rates[0]
            small = next((r for r in rates if r.size == "small"), rates[-1])
            cites = plan.cite(_passage_for(lib, record, small.ja, "助成率・上限"))
            return Say("direct.rate_by_size", {"program": name, "sme": _bi(sme), "small": _bi(small), "year": year}, cites)
        return None
    if slot == "contact":
        if record.contact is None:
            return None
        desk = _desk(plan, lib, record)
        return Say("direct.contact." + desk.key.split(".", 1)[1], {**desk.values, "program": name}, desk.cites)
    if slot == "application_period":
        end = record.acceptance_end_datetime
        start = record.acceptance_start_datetime
        fact = end or start
        if fact is None:
            if record.acceptance_note is None:
                return None
            cites = plan.cite(_passage_for(lib, record, record.acceptance_note.ja, "申請方法"))
            return Say("direct.fact", {"program": name, "value": _bi(record.acceptance_note), "what": Term("slot.application_period")}, cites)
        cites = plan.cite(_passage_for(lib, record, fact.ja, "申請方法"))
        when = end.date if end is not None and end.date else None
        if when and when < dt.date.today().isoformat():
            return Say("direct.period_past", {"program": name, "value": _bi(fact)}, cites)
        return Say("direct.period", {"program": name, "value": _bi(fact), "year": Year("") if _HAS_YEAR.search(fact.ja) else year}, cites)
    if slot == "how_to_apply":
        fact = record.application_method
        cites = plan.cite(_passage_for(lib, record, fact.ja, "申請方法")) if fact is not None else []
        if not cites:  # no record of it, or no passage states it: not said as a fact
            return None
        return Say("direct.fact", {"program": name, "value": _bi(fact), "what": Term("slot.how_to_apply")}, cites)
    if slot in ("prerequisites", "eligibility", "covered_costs"):
        facts = {"prerequisites": record.prerequisites, "eligibility": record.eligibility, "covered_costs": record.eligible_expenses}[slot]
        if not facts:
            return None
        section = {"prerequisites": "対象", "eligibility": "対象", "covered_costs": "助成率・上限"}[slot]
        cites: list[int] = []
        for f in facts[:2]:
            cites += [n for n in plan.cite(_passage_for(lib, record, f.ja, section)) if n not in cites]
        if not cites:  # no passage states it: not said as a fact
            return None
        values = {"program": name, "value": Bi("、".join(f.ja.rstrip("。") for f in facts[:2]), "; ".join((f.en or f.ja).rstrip(".") for f in facts[:2]))}
        return Say(f"direct.{slot}", values, cites)
    fld = slot_field(slot)
    fact = getattr(record, fld, None) if fld else None
    if isinstance(fact, Fact):
        cites = plan.cite(_passage_for(lib, record, fact.ja, None))
        if not cites:  # no passage states it: not said as a fact
            return None
        return Say("direct.fact", {"program": name, "value": _bi(fact), "what": Term(f"slot.{slot}")}, cites)
    return None


def _with_listed(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> AnswerPlan:
    """「ノートパソコンは対象？」 where the guide does not say: beside that, what it does list (its covered
    costs, who may apply), cited, so the owner can judge and knows what to ask the desk; not beside a
    common rule already said."""
    slot = plan.intent.asks
    if plan.points:  # the common rule already says what applies: the answer stays short
        return plan
    listed = _value_say(plan, lib, record, slot) if slot in ("covered_costs", "eligibility") else None
    if listed is not None:
        value = listed.values["value"]
        ja, en = _first_items(value.ja, "、", "など"), _first_items(value.en, "; ", "; etc.") if value.en else None
        if ja is not None and (en is not None or not value.en):
            plan.points.append(Say(f"point.listed_{slot}", {**listed.values, "value": Bi(ja, en)}, listed.cites))
    return plan


LISTED_MAX_CHARS = 80  # a list beside 'not stated' stays a line, not a dump


def _first_items(text: str, separator: str, more: str) -> str | None:
    """The first items of a list that fit in LISTED_MAX_CHARS, with `more` when cut (None: not even one fits)."""
    items = text.split(separator)
    if len(items[0]) > LISTED_MAX_CHARS * (2 if text.isascii() else 1):  # English takes about twice the characters
        return None
    kept = [items[0]]
    for item in items[1:]:
        if len(separator.join([*kept, item])) > LISTED_MAX_CHARS * (2 if text.isascii() else 1):
            return separator.join(kept) + more
        kept.append(item)
    return text


def _kind_of(chunks: list[Chunk], word: str) -> tuple[Chunk, str] | None:
    """The first sentence naming a kind of `word` (外部専門家への委託費 for 専門家) that excludes nothing."""
    for chunk in chunks:
        for s in sentences_of(chunk):
            if compact(word) in compact(s) and not _NO.search(s):
                return chunk, s
    return None


def _programs_speak_of(lib: Library, word: str) -> bool:
    """Whether any program's guide speaks of `word` (outside its asides)."""
    return any(
        sentence_with([c for c in lib.program_chunks(name) if not _aside(c)], word) is not None
        for name in lib.records
    )


def _aside(chunk: Chunk) -> bool:
    """A guide's caution or its link to the policy: true of every program, the answer to no question."""
    return chunk.section.split(" > ")[-1] in ASIDE_SECTIONS


def _evidence(lib: Library, intent: Intent, chunks: list[Chunk]) -> tuple[Chunk, str] | None:
    """A sentence of these passages that answers what the record does not hold.

    A condition (中古, 個人事業主) must occur in the sentence; otherwise the slot's evidence word and
    another word of the question must both occur (「書類提出は9月19日〜」 does not answer 「必要書類は？」)."""
    chunks = [c for c in chunks if not _aside(c)]
    if intent.condition and intent.asks in ("eligibility", "covered_costs", "hours"):
        # what the question hinges on (中古, 土日), as a word of its own, or a kind of it (外部専門家 for
        # 専門家) where the sentence excludes nothing (not 特定非営利活動法人は対象外 for 法人); a payment
        # question's ソフトウェア is not what is asked
        found = sentence_with(chunks, intent.condition, whole_word=True) or _kind_of(chunks, intent.condition)
        return found if found and found[1] else None
    evidence = slot_evidence(intent.asks)
    if not evidence:
        return None
    names = set(lib.tokenizer.tokens("".join(intent.programs)))
    words = {t for t in intent.tokens if len(t) >= 2 and t not in _EVERYDAY and t not in names}
    asked_text = normalize(intent.text)
    for chunk in chunks:
        for s in sentences_of(chunk):
            norm = normalize(s)
            if not any(normalize(e) in norm for e in evidence):
                continue
            others = {w for w in words if w in norm and not any(normalize(e) in w or w in normalize(e) for e in evidence)}
            # the evidence word the owner used (匿名 in 「匿名で相談できますか」) speaks of what was asked
            asked = intent.yes_no and any(normalize(e) in asked_text and normalize(e) in norm for e in evidence)
            if others or asked or evidence_answers_alone(intent.asks):
                return chunk, s
    return None


def _hinge(lib: Library, intent: Intent, chunks: list[Chunk]) -> tuple[Chunk, str, str] | None:
    """For a yes/no question whose condition is not one of the known ones (オンライン展示会, 匿名): the first
    word of the question, beyond the program's name and everyday words, that a guide sentence says yes
    or no of. Returns the passage, the sentence and the word."""
    from .intent import CONDITION_STOP

    names = set(lib.tokenizer.tokens("".join(intent.programs)))
    # words of the program's own requirements (都内) are what every applicant meets, not what is asked
    record = lib.records.get(intent.programs[0]) if intent.programs else None
    if record is not None:
        names |= set(lib.tokenizer.tokens("".join(f.ja for f in (*record.eligibility, *record.prerequisites))))
    seen: set[str] = set()
    # the condition understood (オンライン展示会 for "online trade shows") first, then the question's own words
    candidates = ([intent.condition] if intent.condition else []) + list(intent.tokens)
    for word in candidates:
        if len(word) < 2 or word in seen or word in names or word in _EVERYDAY or word in CONDITION_STOP or re.fullmatch(r"[ぁ-ゖ]+", word):
            continue
        seen.add(word)
        found = sentence_with(chunks, word)
        if found and found[1] and _polarity(found[1], word) is not None:
            return found[0], found[1], word
    return None


def _yes_no_plan(plan: AnswerPlan, lib: Library, record: ProgramRecord, hinge: tuple[Chunk, str, str]) -> AnswerPlan:
    """はい/いいえ with the guide's sentence that says it of the owner's word, then the desk."""
    chunk, sentence, word = hinge
    plan.add_program(record)
    quote = quote_of(sentence, lib.tokenizer)
    key = f"direct.quote_{_polarity(sentence, word)}"
    plan.direct = Say(key, {"program": Name(record.name, record.name_en), "quote": quote}, plan.cite(SearchResult(chunk, 1.0)))
    plan.next_step = _desk(plan, lib, record)
    _fiscal_note(plan, record)
    return plan


def _polarity(sentence: str, condition: str | None = None) -> str | None:
    """yes or no, as the sentence says it of the condition: the first marker after the condition
    decides (「会社・個人事業主が対象で、NPO法人は対象外です」 is yes for 個人事業主)."""
    start, head_only = 0, False
    if condition:
        at = standalone_at(compact(sentence), compact(condition))
        if at < 0:  # only as the head of a longer noun (外部専門家, 特定非営利活動法人): a kind of it
            at, head_only = compact(sentence).find(compact(condition)), True
        if at < 0:
            return None
        start = len(_prefix_of_compact(sentence, at + len(compact(condition))))
    rest = sentence[start:]
    no, yes = _NO.search(rest), _YES.search(rest)
    if no and (not yes or no.start() <= yes.start()):
        # 特定非営利活動法人は対象外 excludes a kind of 法人, not every 法人: no answer for the owner's 法人
        return None if head_only else "no"
    if yes:
        return "yes"
    return None


def _prefix_of_compact(text: str, n: int) -> str:
    """The shortest prefix of `text` whose compact() form has `n` characters."""
    for i in range(len(text) + 1):
        if len(compact(text[:i])) >= n:
            return text[:i]
    return text


SPECIFIC_CONTACT = ("フリーダイヤル",)  # a contact question about one line


def _specific_contact(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> Say | None:
    """「フリーダイヤルは？」: the guide's sentence with that line, not the record's main desk."""
    intent = plan.intent
    wanted = next((t for t in intent.triggers if t in SPECIFIC_CONTACT), None) if intent.asks == "contact" else None
    found = sentence_with(lib.program_chunks(record.name), wanted) if wanted else None
    if not found or not found[1]:
        return None
    chunk, sentence = found
    return Say("direct.quote_program", {"program": Name(record.name, record.name_en), "quote": quote_of(sentence, lib.tokenizer)}, plan.cite(SearchResult(chunk, 1.0)))


def _slot_plan(plan: AnswerPlan, lib: Library, record: ProgramRecord | None, results: list[SearchResult]) -> AnswerPlan:
    intent = plan.intent
    tok = lib.tokenizer
    if record is not None:
        plan.add_program(record)
        chunks = lib.program_chunks(record.name)
        detail = intent.condition is not None and intent.asks in ("eligibility", "covered_costs")
        by_size = _employees_verdict(plan, lib, record) if intent.asks == "eligibility" else None
        if by_size is not None and by_size.key.startswith("direct."):  # 30 people against 20名以下: no, and why
            plan.direct = by_size
            plan.next_step = _desk(plan, lib, record)
            _fiscal_note(plan, record)
            return plan
        hinge = _hinge(lib, intent, chunks) if intent.yes_no and not detail and intent.asks in ("eligibility", "covered_costs") else None
        if hinge is not None:  # 「オンライン展示会も対象？」: the guide's sentence says yes or no of it
            return _yes_no_plan(plan, lib, record, hinge)
        say = None if detail else _specific_contact(plan, lib, record) or _value_say(plan, lib, record, intent.asks)
        if say is None:
            found = _evidence(lib, intent, chunks)
            # no desk with a number in the documents (「相談窓口を開設しました」 gives none): the desks beyond
            # them its guide names (IPA, the police's cyber desk)
            if intent.asks == "contact" and (found is None or not has_phone(found[1])) and _outside_desks(lib, record):
                return _with_outside_desks(plan, lib, record, results)
            if found is None:
                return _with_listed(_with_common_rule(_not_stated(plan, lib, record), lib), lib, record)
            chunk, sentence = found
            cites = plan.cite(SearchResult(chunk, 1.0))
            polarity = _polarity(sentence, intent.condition) if intent.yes_no else None
            # a further condition the guide never speaks to (実店舗がない) leaves the yes open: no stock はい
            unspoken = [c for c in intent.other_conditions if not any(compact(c) in compact(ch.text) for ch in chunks)]
            if polarity == "yes" and unspoken:
                polarity = None
                plan.points.append(Say("point.condition_not_stated", {"condition": unspoken[0]}))
            key = f"direct.quote_{polarity}" if polarity else "direct.quote_program"
            say = Say(key, {"program": Name(record.name, record.name_en), "quote": quote_of(sentence, tok)}, cites)
        plan.direct = say
        if by_size is not None:  # within the record's employee limit: said as a point, never as a stock yes
            plan.points.append(by_size)
        _add_slot_support(plan, lib, record)
        # 「どこに相談すれば？」: with the desk, what it is there for (the policy measure behind it)
        if intent.asks == "contact" and intent.act == "ask" and len(plan.points) < MAX_SLOT_POINTS:
            _add_measure_behind(plan, lib, record, results)
        plan.next_step = _desk(plan, lib, record) if intent.asks != "contact" else None
        _fiscal_note(plan, record)
        return plan
    # no program: a sentence of the passages found, or the plain statement that they do not say
    chunks = [r.chunk for r in results[:5]]
    found = _evidence(lib, intent, chunks)
    if found is None:
        return _with_common_rule(_not_stated(plan, lib, None), lib)
    chunk, sentence = found
    polarity = _polarity(sentence, intent.condition) if intent.yes_no else None
    key = f"direct.quote_{polarity}" if polarity else "direct.quote"
    plan.direct = Say(key, {"quote": quote_of(sentence, tok), "label": Measure(measure_label(chunk))}, plan.cite(SearchResult(chunk, 1.0)))
    plan.next_step = _desk(plan, lib, None)
    return plan


_EMPLOYEE_LIMIT = re.compile(r"(\d[\d,]*)\s*(?:人|名)以下")


def _employees_verdict(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> Say | None:
    """The owner's employees (従業員30人) against the record's employee condition (300人以下), cited: over it,
    the answer's first sentence (no, and why); within it, a point (the size condition is met)."""
    employees = plan.intent.owner.get("employees")
    fact = record.target_number_of_employees
    if fact is None or not isinstance(employees, (int, float)):
        return None
    m = _EMPLOYEE_LIMIT.search(fact.ja)
    if m is None:
        return None
    limit = int(m.group(1).replace(",", ""))
    cites = plan.cite(_passage_for(lib, record, m.group(0), "対象") or _passage_for(lib, record, None, "対象"))
    values = {"program": Name(record.name, record.name_en), "condition": Bi(fact.ja, fact.en), "employees": f"{employees:g}"}
    return Say("direct.employees_over" if employees > limit else "point.employees_within", values, cites)


SPECIFIC_MENTIONS = 2  # a directory entry mentioned in more guides than this is a general desk (商工会), not this program's


def _outside_desks(lib: Library, record: ProgramRecord) -> list[Any]:
    """The desks beyond the documents that a program's guide names (specific to a few programs), those with a phone first."""
    related = [e for e in lib.desks_beyond.entries.values() if record.id in e.mentioned_in and len(e.mentioned_in) <= SPECIFIC_MENTIONS]
    return sorted(related, key=lambda e: e.phone is None)[:MAX_SLOT_POINTS]


def _with_outside_desks(plan: AnswerPlan, lib: Library, record: ProgramRecord, results: list[SearchResult] = ()) -> AnswerPlan:
    """A program whose guide gives no desk and whose operator has none with a number (Tcyss) but names desks
    the documents do not hold (IPA, the police's cyber desk): the first sentence says the documents give no
    desk and gives the first desk beyond them, with its phone; the others follow, each marked as outside
    the documents and cited to the directory; then what the documents say the program's measure does for
    the owner (「…サイバーセキュリティに関する各種の相談対応を行います」); the program's operator comes last."""
    related = _outside_desks(lib, record)
    own = _desk(AnswerPlan(plan.intent, Say(""), guides=plan.guides), lib, record)  # what the documents offer
    if not related or own.values.get("phone"):
        return _not_stated(plan, lib, record)  # its operator's own desk, with a number, comes first
    plan.add_program(record)
    plan.stated = False
    for i, entry in enumerate(related):
        key = ("not_stated" if i == 0 else "point") + ".outside_desk" + ("_only" if entry.desk.startswith(entry.name) else "")
        values = {"program": Name(record.name, record.name_en), "name": Name(entry.name, entry.name_en),
                  "desk": Bi(entry.desk, entry.desk_en), "phone": entry.phone or ""}
        say = Say(key + (".phone" if entry.phone else ""), values, plan.cite(lib.directory_passage(entry.name)))
        if i == 0:
            plan.direct = say
        else:
            plan.points.append(say)
    if plan.intent.act in ("ask", "follow_up"):
        _add_measure_behind(plan, lib, record, list(results))
    plan.next_step = _desk(plan, lib, record)
    return plan


def _add_measure_behind(plan: AnswerPlan, lib: Library, record: ProgramRecord, results: list[SearchResult]) -> None:
    """A desk found for the owner's need (「ハッキングされたかも、どこに相談？」): the policy measure it
    carries out, in the sentence of its passage closest to the question."""
    tok = lib.tokenizer
    if not record.measure or not plan.guides:
        return
    wanted = compact(record.measure).strip("()（）")
    # the measure's passage the search found (the one closest to the question), else its first
    found = [r for r in results if role_of(r.chunk) == "measure" and compact(measure_label(r.chunk)).strip("()（）") == wanted]
    where = found[0] if found else lib.policy_passage(record.measure)
    if where is None:
        return
    sentence = next(iter(best_sentences(where.chunk, _words(plan.intent, tok), tok)), None) or next(iter(sentences_of(where.chunk)), None)
    if sentence:
        values = {"label": Measure(measure_label(where.chunk)), "quote": quote_of(sentence, tok)}
        plan.points.append(Say(f"point.{role_of(where.chunk)}", values, plan.cite(where)))


def _add_slot_support(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> None:
    """Up to two points that an owner needs next to the asked figure."""
    intent = plan.intent
    if intent.asks == "rate":
        for r in record.subsidy_rate:
            if r.condition and len(plan.points) < MAX_SLOT_POINTS - 1:
                cites = plan.cite(_passage_for(lib, record, r.ja, "助成率・上限"))
                plan.points.append(Say("point.conditional_rate", {"value": _bi(r), "condition": Bi(r.condition, r.condition_en)}, cites))
    if intent.asks in ("rate", "upper_limit"):
        if intent.asks == "rate" and record.subsidy_max_limit is not None and len(plan.points) < MAX_SLOT_POINTS:
            cites = plan.cite(_passage_for(lib, record, record.subsidy_max_limit.ja, "助成率・上限"))
            plan.points.append(Say("point.upper_limit", {"value": _bi(record.subsidy_max_limit)}, cites))
        if intent.asks == "upper_limit" and record.subsidy_rate and len(plan.points) < MAX_SLOT_POINTS:
            rates = [r for r in record.subsidy_rate if r.condition is None]
            if rates:
                text = Bi("、".join(_rate_ja(r) for r in rates), "; ".join(_rate_en(r) for r in rates))
                cites = plan.cite(_passage_for(lib, record, rates[0].ja, "助成率・上限"))
                plan.points.append(Say("point.rates", {"value": text}, cites))
    if intent.asks in ("rate", "upper_limit", "eligibility", "application_period", "how_to_apply") and record.prerequisites and len(plan.points) < MAX_SLOT_POINTS:
        f = record.prerequisites[0]
        cites = plan.cite(_passage_for(lib, record, f.ja, "対象"))
        plan.points.append(Say("point.prerequisite", {"value": _bi(f)}, cites))


def _rate_ja(rate: Rate) -> str:
    prefix = {"sme": "中小企業者等", "small": "小規模企業者", "any": ""}[rate.size]
    return f"{prefix}{rate.ja}"


def _rate_en(rate: Rate) -> str:
    prefix = {"sme": "SMEs ", "small": "small businesses ", "any": ""}[rate.size]
    return f"{prefix}{rate.en or rate.ja}"


def _programs_found(
    lib: Library, results: list[SearchResult], limit: int = 2, exclude: Iterable[str] = (), money: bool = False, text: str = "",
    named: Iterable[str] = (),
) -> list[tuple[ProgramRecord, SearchResult | None]]:
    """The programs that fit, best first: of the guides among the passages found and the programs
    carrying out a measure found, those whose guides match the question's words best (`text`), then
    by score. When the owner asks for money, programs that pay (an upper limit or a rate) come first."""
    top = results[0].score if results else 0.0
    shown = set(exclude)
    best: dict[str, tuple[float, int, SearchResult | None]] = {}

    def add(name: str | None, score: float, order: int, result: SearchResult | None) -> None:
        record = lib.records.get(name or "")
        if record is None or record.name in shown:
            return
        if record.name not in best or score > best[record.name][0]:
            best[record.name] = (score, order, result)

    for i, r in enumerate(results):
        if r.chunk.program and r.score >= 0.6 * top:
            add(r.chunk.program, r.score, i, r)
    for i, r in enumerate(results[:3]):
        if role_of(r.chunk) == "measure":
            for g in lib.program_guides(measure_label(r.chunk)):
                add(g.chunk.program, MEASURE_PROGRAM_WEIGHT * r.score, i, None)
    order = lib.program_order(text) if text and len(best) > 1 else {}

    def pays(name: str) -> bool:  # a subsidy, a loan or a fund: money, not advice
        record = lib.records[name]
        return record.kind in ("subsidy", "loan", "fund") or record.subsidy_max_limit is not None or bool(record.subsidy_rate)

    # a Tokyo program found (one carrying out a measure of the policy) before a national scheme found
    # beside it: the documents' own answer leads, the scheme follows
    asked = set(named)  # a scheme the owner names is theirs to ask about, national or not
    ranked = sorted(best, key=lambda n: (money and not pays(n), not (lib.records[n].measure or n in asked), order.get(n, len(order) + 1), -best[n][0], best[n][1]))
    # a second program keeps to the first one's direction (no succession desk beside a cyber measure)
    lead = _direction_of(lib, ranked[0]) if ranked else None
    ranked = ranked[:1] + [n for n in ranked[1:] if lead is None or _direction_of(lib, n) in (None, lead)]
    # one program that carries out no measure of the policy (a national scheme, 下請法 beside 取適法) at most,
    # so the Tokyo program that fits is not pushed out of a short list
    # (of two national schemes found, the one whose facts are this fiscal year's: 取適法 before 下請法 it replaced)
    outside = sorted((n for n in ranked if not lib.records[n].measure), key=lambda n: older_than_now(lib.records[n].fiscal_year))
    ranked = [n for n in ranked if lib.records[n].measure or n == (outside[0] if outside else None)]
    return [(lib.records[n], best[n][2]) for n in ranked[:limit]]


def _direction_of(lib: Library, program: str) -> str | None:
    first = lib.program_chunks(program)[:1]
    return first[0].direction or None if first else None


def _verdict(owner: dict[str, Any]) -> Any:
    """The size rule that applies to the owner, only when the facts settle it (not when a 小規模企業者
    is still possible for want of an employee count, nor for a group company)."""
    from .rules import size_class

    verdict = size_class(owner) if owner else None
    if verdict is None or verdict.size is None or getattr(verdict, "may_be_small", False):
        return None
    return verdict


MONEY_WORDS = frozenset({"助成", "経費", "補助", "費用"})  # the policy's words for paying part of the cost
MONEY_WEIGHT = 2.0  # a sentence of them, for an owner asking for money


def _words(intent: Intent, tok: JapaneseTokenizer) -> set[str]:
    """The words a quoted sentence should share with the question (term-map words included)."""
    return {t for t in (intent.words or tok.tokens(intent.query)) if len(t) >= 2}


def _program_say(
    plan: AnswerPlan, lib: Library, record: ProgramRecord, hit: SearchResult | None, size: str | None, verdict: Any, owner: dict[str, Any] | None = None
) -> Say:
    """A program with its headline figure, cited to the passage that states it (no figure without one)."""
    name = Name(record.name, record.name_en)
    head = _headline(record, size)
    where = _passage_for(lib, record, head[1].ja, None) if head is not None else None
    if head is None or where is None:
        said = _sentence_on(plan, lib, record)  # a law or a desk: what its guide says of the owner's words
        if said is not None:
            return Say("program.quote", {"program": name, "quote": quote_of(said[1], lib.tokenizer)}, plan.cite(SearchResult(said[0], 1.0)))
        cites = plan.cite(hit or _passage_for(lib, record, None, "概要") or _first(lib, record))
        return Say("program.plain", {"program": name}, cites)
    kind, fact = head
    cites = plan.cite(where)
    values = {"program": name, "value": _bi(fact), "year": Year("") if _HAS_YEAR.search(fact.ja) else _year(record)}
    rate = record.rate_for(size) if size else None
    rate_at = _passage_for(lib, record, rate.ja, None) if rate is not None else None
    if kind == "upper_limit" and rate is not None and rate.size != "any" and rate_at is not None:
        rule = plan.cite(lib.rules_passage(verdict.section))
        cites += [n for n in rule + plan.cite(rate_at) if n not in cites]
        values.update(rate=_bi(rate), size=Term(f"size.{size}"), owner=_owner_term(owner or {}, verdict.basis))
        kind = "upper_limit_rate"
    return Say(f"program.{kind}", values, cites)


QUOTE_MIN_WORDS = 2  # words of the question a program's sentence shares, to be said beside its name


def _sentence_on(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> tuple[Chunk, str] | None:
    """The sentence of a program's guide sharing most of the question's words (「手形」: 取適法's ban on bills)."""
    # the owner's facts count here (「手形で払うって言われた」: the sentence on paying by bills)
    best = _closest_sentence(lib, record, _question_words(plan, lib, record, asked_only=False))
    return (best[1], best[2]) if best is not None and best[0] >= QUOTE_MIN_WORDS else None


def _question_words(plan: AnswerPlan, lib: Library, record: ProgramRecord, *, asked_only: bool = True) -> set[str]:
    """The question's words beyond the program's own names and everyday words (`asked_only`: those of the
    question itself, not of the owner's situation before it)."""
    # the program's name and the words that named it here; its other aliases (一つ星, 二つ星) may be what is asked
    naming = plan.intent.named_by.get(record.name)
    name_words = set(lib.tokenizer.tokens(record.name + (naming or "".join(record.aliases))))
    asked = (plan.intent.asked_tokens if asked_only else None) or plan.intent.tokens
    one_kanji = _KANJI_NOUN if asked_only else _NEVER  # a one-kanji word of the question itself (星), not of the situation (先)
    return {t for t in asked if (len(t) >= 2 or one_kanji.fullmatch(t)) and t not in name_words and t not in _EVERYDAY}


def _closest_sentence(lib: Library, record: ProgramRecord, words: set[str]) -> tuple[int, Chunk, str] | None:
    """(shared words, passage, sentence) of the program's guide sentence sharing most of `words`
    (not its asides, nor an operator's Q&A pair, which answers only its own question)."""
    best: tuple[int, Chunk, str] | None = None
    for chunk in lib.program_chunks(record.name):
        if _aside(chunk) or chunk.kind == FAQ_KIND:
            continue
        for sentence in sentences_of(chunk):
            overlap = len(set(lib.tokenizer.tokens(sentence)) & words)
            if overlap and (best is None or overlap > best[0]):
                best = (overlap, chunk, sentence)
    return best


def _owner_term(owner: dict[str, Any], basis: str) -> Term:
    """The owner as the size rule saw them (`basis`: the fact that decided): 従業員10人の製造業, 資本金3,000万円の小売業."""
    return Term(
        "owner.employees" if "employees" in str(basis) and owner.get("employees") else "owner.capital",
        {"employees": owner.get("employees", ""), "capital": f"{owner.get('capital', 0):,}",
         "industry": Term(f"industry.{owner.get('industry') or 'other'}")},
    )


def _first(lib: Library, record: ProgramRecord) -> SearchResult | None:
    chunks = lib.program_chunks(record.name)
    return SearchResult(chunks[0], 1.0) if chunks else None


_QUOTE_ROLES = {"measure": 1.0, "direction": 0.8, "case": 0.8, "problem": 0.8, "other": 0.8}
QUOTE_CANDIDATES = 5
BEHIND_WEIGHT = 1.25  # the measure the leading program carries out, quoted before others


def _best_quotes(
    results: list[SearchResult], words: set[str], tok: JapaneseTokenizer, limit: int, measures: Iterable[str] = (), *, money: bool = False
) -> list[tuple[SearchResult, str]]:
    """The sentences that answer a need best, one per passage and measure: each sentence of the first
    policy passages found, weighed by the question's words it holds, its passage's rank and role;
    the measures the programs shown carry out come first (the measure behind them)."""
    behind = {compact(m).strip("()（）") for m in measures if m}
    # (an operator's Q&A pair answers only the question it answers: _faq_plan, never a quote of a need)
    candidates = [r for r in results if role_of(r.chunk) in _QUOTE_ROLES and not _aside(r.chunk) and r.chunk.kind != FAQ_KIND][:QUOTE_CANDIDATES]
    if not candidates:
        return []
    top = max(r.score for r in candidates) or 1.0
    scored = []
    for rank, r in enumerate(candidates):
        weight = _QUOTE_ROLES[role_of(r.chunk)] * (0.5 + 0.5 * r.score / top)
        if compact(measure_label(r.chunk)).strip("()（）") in behind:
            weight *= BEHIND_WEIGHT
        for i, sentence in enumerate(sentences_of(r.chunk)):
            tokens = set(tok.tokens(sentence))
            overlap = len(tokens & words)
            if overlap:
                pays = MONEY_WEIGHT if money and tokens & MONEY_WORDS else 1.0  # asked for money: the sentence that pays
                scored.append((overlap / (1 + 0.03 * len(tokens)) * weight * pays, -rank, -i, r, sentence))
    scored.sort(key=lambda x: (-x[0], -x[1], -x[2]))
    out: list[tuple[SearchResult, str]] = []
    for _, _, _, r, sentence in scored:
        label = measure_label(r.chunk)
        if any(o.chunk.id == r.chunk.id or measure_label(o.chunk) == label for o, _ in out):
            continue
        out.append((r, sentence))
        if len(out) >= limit:
            break
    return out


def _support_plan(plan: AnswerPlan, lib: Library, results: list[SearchResult]) -> AnswerPlan:
    """What fits my problem: the programs with their headline figures, then the measure behind them."""
    intent = plan.intent
    tok = lib.tokenizer
    words = _words(intent, tok)
    verdict = _verdict(intent.owner)
    size = verdict.size if verdict is not None and verdict.size in ("sme", "small") else None
    choosing = intent.act == "choose"  # a direction picked from the choices: its measures, one program
    programs = _programs_found(lib, results, 1 if choosing else 2, intent.exclude_programs, intent.money, intent.query, intent.programs) if plan.guides else []
    # programs lead when the owner asks for money or a guide itself was found; otherwise the measure that
    # answers the need leads (「セミナーはある？」 is answered by the seminar), with the programs beside it
    # (a national scheme's guide found leads only when money is asked: the Tokyo measure answers otherwise)
    programs_lead = bool(programs) and (
        intent.money or choosing or any(hit is not None and (record.measure or record.name in intent.programs) for record, hit in programs)
    )
    if intent.lead is not None:  # 「英語で」: the same answer in the other language
        programs_lead = bool(programs) and intent.lead == "programs"
    plan.lead = "programs" if programs_lead else "measure"
    for record, _ in programs:
        plan.add_program(record)
    if programs_lead:  # cited in the order they are read
        says = [_program_say(plan, lib, record, hit, size, verdict, intent.owner) for record, hit in programs]
        plan.direct = Say("direct.support_" + says[0].key.split(".", 1)[1], says[0].values, says[0].cites)
        plan.points.extend(_plain_year(say) for say in says[1:])
    # the policy measure behind them (one beside programs, two otherwise): the sentences of the
    # passages found that share most of the question's words, measures before directions and cases
    room = 3 if choosing else 1 if programs else MAX_SUPPORT_POINTS
    behind = [programs[0][0].measure or ""] if programs else []  # the measure the leading program carries out
    quotes = _best_quotes(results, words, tok, room + (0 if programs and choosing else 1), behind, money=intent.money)
    if programs and not choosing:  # a second sentence beside programs only from the leading program's own direction
        home = _direction_of(lib, programs[0][0].name)
        quotes = quotes[:room] + [q for q in quotes[room:] if home and q[0].chunk.direction == home]
    if asks_what_to_do(intent.text):  # the policy's statement of the problem (大廃業時代が懸念) is no help: never first
        quotes = sorted(quotes, key=lambda q: role_of(q[0].chunk) == "problem")
    for r, sentence in quotes:
        values = {"label": Measure(measure_label(r.chunk)), "quote": quote_of(sentence, tok)}
        if plan.direct.key == "":
            plan.direct = Say("direct.measure" if role_of(r.chunk) == "measure" else "direct.quote", values, plan.cite(r))
        else:
            plan.points.append(Say(f"point.{role_of(r.chunk)}", values, plan.cite(r)))
    if not programs_lead:
        plan.points.extend(_plain_year(_program_say(plan, lib, record, hit, size, verdict, intent.owner)) for record, hit in programs)
    if plan.direct.key == "":
        # nothing but the policy's statement of the problem or other passages
        for r in results[:1]:
            sentence = next(iter(best_sentences(r.chunk, words, tok)), "")
            if sentence:
                plan.direct = Say("direct.quote", {"quote": quote_of(sentence, tok), "label": Measure(measure_label(r.chunk))}, plan.cite(r))
    if plan.direct.key == "":
        plan.refused, plan.reason = True, "not_found"
        return plan
    lead = programs[0][0] if programs else None
    if lead is not None and lead.prerequisites and len(plan.points) < MAX_SUPPORT_POINTS:
        f = lead.prerequisites[0]
        where = _passage_for(lib, lead, f.ja, "対象")
        if where is not None:  # the deciding requirement, where the guide states it
            plan.points.append(Say("point.prerequisite", {"value": _bi(f)}, plan.cite(where)))
    plan.next_step = _desk(plan, lib, lead)
    if programs:
        _fiscal_note(plan, programs[0][0])
    return plan


def _document_plan(plan: AnswerPlan, lib: Library, results: list[SearchResult]) -> AnswerPlan:
    """A question about the policy document itself, answered from passages of that role."""
    intent = plan.intent
    role = intent.document_role
    tok = lib.tokenizer
    if role == "directions":
        directions = lib.directions()
        if directions:
            ja, en = [], []
            for marker, name, where in directions:
                marks = "".join(f"[{n}]" for n in plan.cite(where))
                gloss = (english_gloss(f"{marker} {name}") or "").split("— ")[-1]
                ja.append(f"{marker} {name}{marks}")
                en.append(f"{marker} {gloss or '「' + name + '」'} {marks}".strip())
            plan.direct = Say("direct.directions", {"count": len(ja), "value": Bi("、".join(ja), "; ".join(en))})
            return plan
    passages = lib.role_passages(role or "", results, intent.text)
    if not passages:
        if role == "vision":  # the document heads its vision but states none of it in the text
            return _not_stated(plan, lib, None)
        return _support_plan(plan, lib, results)
    words = {t for t in intent.tokens if len(t) >= 2}
    scored = []
    for r in passages[:12]:
        best = best_sentences(r.chunk, words, tok, limit=1)
        if best:
            overlap = len(set(tok.tokens(best[0])) & words)
            scored.append((-overlap, role_of(r.chunk) != role, len(scored), r, best[0]))
    scored.sort(key=lambda x: x[:3])
    for *_, r, sentence in scored[:2]:
        values = {"label": Measure(measure_label(r.chunk)), "quote": quote_of(sentence, tok)}
        if plan.direct.key == "":
            plan.direct = Say(f"direct.doc_{role}", values, plan.cite(r))
        else:
            plan.points.append(Say(f"point.{role_of(r.chunk)}", values, plan.cite(r)))
    if plan.direct.key == "":
        return _support_plan(plan, lib, results)
    return plan


# words too common in questions and guides to show that a sentence speaks to the question
_EVERYDAY = {
    "申請", "助成", "助成金", "補助", "補助金", "事業", "支援", "東京都", "東京", "公社", "利用", "使う", "できる", "する", "ある",
    "いる", "なる", "こと", "もの", "会社", "企業", "中小企業", "うち", "今年", "去年", "場合", "必要", "対象", "受ける", "もらう",
    "貰う", "くれる", "出来る", "思う", "言う", "良い", "いい", "教える", "知る", "聞く", "年度", "奨励金", "制度",
}
# a one-kanji word can be what is asked (一つ星 and 二つ星 leave 星), unless it only counts, places or points
_KANJI_NOUN = re.compile(r"[一-龥](?<![都国区市方件時日月年円人社者等上下中前後内外他私僕俺何今本化的性用分回度点])")
_NEVER = re.compile(r"(?!)")
_COMPARE = {"違う", "違い", "変わる", "変わり", "変更", "比較"}  # 「何が違うの？」「どこが変わるの？」 ask of what the words name
_ABOUT = {"どんな", "何", "なに", "内容", "概要", "詳しい", "詳しく", "中身", "仕組み", "ついて", "全般", "説明"}
DETAIL_MIN_WORDS = 2  # a sentence quoted for a detail question shares at least this many of its words


def _overview_plan(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> AnswerPlan | None:
    """What a named program is: the first sentence of its guide's 概要, then its desk (None: no overview)."""
    overview = _passage_for(lib, record, None, "概要")
    first = next(iter(sentences_of(overview.chunk)), "") if overview is not None else ""
    if not first:
        return None
    plan.add_program(record)
    plan.direct = Say("direct.quote_program", {"program": Name(record.name, record.name_en), "quote": quote_of(first, lib.tokenizer)}, plan.cite(overview))
    plan.next_step = _desk(plan, lib, record)
    return plan


def _program_detail_plan(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> AnswerPlan | None:
    """A question about a named program that no slot covers (何回, どこで, 総額): the guide's sentence
    that shares most of the question's words, quoted first."""
    tok = lib.tokenizer
    words = _question_words(plan, lib, record)
    best = _closest_sentence(lib, record, words)
    if not words - _ABOUT:  # 「〇〇について教えて」: the program itself, with its headline figure
        return None
    if best is None and plan.intent.language == "en" and plan.intent.term:  # "What is the Yorozu center?"
        return _overview_plan(plan, lib, record)  # English words meet no sentence of a Japanese guide: what the program is
    hinge = _hinge(lib, plan.intent, lib.program_chunks(record.name)) if plan.intent.yes_no else None
    if hinge is not None:
        return _yes_no_plan(plan, lib, record, hinge)
    # 「一つ星と二つ星って何が違うの？」: one word asked beyond 違う, and the sentence holds it: that sentence
    whole = best is not None and not words - _ABOUT - _COMPARE - set(tok.tokens(best[2]))
    if best is None or (best[0] < DETAIL_MIN_WORDS and not whole) or plan.intent.yes_no:
        # a yes/no question no sentence of the guide says yes or no to: a sentence near its words is no answer
        # a detail of this program that no sentence of its guide speaks to: say so, name the desk
        return _with_common_rule(_not_stated(plan, lib, record), lib)
    plan.add_program(record)
    _, chunk, sentence = best
    cites = plan.cite(SearchResult(chunk, 1.0))
    plan.direct = Say("direct.quote_program", {"program": Name(record.name, record.name_en), "quote": quote_of(sentence, tok)}, cites)
    plan.next_step = _desk(plan, lib, record)
    plan.kind = "fact"  # a detail of the named program, quoted from its guide
    _fiscal_note(plan, record)
    return plan


def choose_program(intent: Intent, lib: Library, results: list[SearchResult]) -> ProgramRecord | None:
    """The program a slot question is about: named, carried from the last turn, or found first."""
    for name in intent.programs:
        if name in lib.records:
            return lib.records[name]
    if not results:
        return None
    top = results[0].score
    topical = intent.topic in CIRCLED

    def on_topic(record: ProgramRecord) -> bool:  # of the question's own direction (①–⑤), when it has one
        return topical and _direction_of(lib, record.name) == intent.topic

    candidates: list[ProgramRecord] = []
    for r in results[:8]:
        if r.chunk.program and r.score >= 0.4 * top and r.chunk.program in lib.records:
            record = lib.records[r.chunk.program]
            # a program of another direction than the question's own topic is not what it asks about
            # (「海外展開の補助ってその費用に使える？」 is no question about the BCP subsidy found beside it)
            other_topic = topical and _direction_of(lib, record.name) not in (None, intent.topic)
            if record not in candidates and not other_topic:
                candidates.append(record)
    # a Tokyo program found before a national scheme found beside it (the question named neither)
    candidates.sort(key=lambda c: not c.measure)
    # of the programs found, the first that holds what is asked (「割合」 asks a subsidy's rate, not a desk's)
    fld = slot_field(intent.asks) if intent.slot else None
    best = next((r.score for r in results[:8] if r.chunk.program), 0.0)
    close = [c for c in candidates if any(r.chunk.program == c.name and r.score >= 0.8 * best for r in results[:8])]
    if intent.asks == "contact" and not intent.programs:
        # 「相談できる窓口は？」 naming no program: a desk of the question's own topic (「ハッキングされた」: the
        # cyber desk, not the general one), Tokyo's own first; a national desk only when found as well as the
        # best; else the consultation service of the measure the passages describe; a subsidy's desk last
        desks = sorted((c for c in candidates if on_topic(c) and c.kind == "consultation"), key=lambda c: not c.measure)
        if desks and (desks[0].measure or desks[0] in close):
            return desks[0]  # even where its guide gives no phone (its operator's desks follow)
        by_measure = _measures_program(intent, lib, results)
        if by_measure is not None and by_measure.kind == "consultation":
            return by_measure
    else:
        by_measure = None
    # Tokyo's own programs first (candidates are in that order), then a national scheme found beside them
    home = [c for c in close if c.measure] + [c for c in candidates if c.measure and c not in close]
    for record in home:
        if fld and getattr(record, fld, None):
            return record
    if home:
        return home[0]
    # no Tokyo program found: the desk of the measure the passages describe, then a national scheme
    by_measure = by_measure or _measures_program(intent, lib, results)
    if by_measure is not None:
        return by_measure
    for record in close:
        if fld and getattr(record, fld, None):
            return record
    return candidates[0] if candidates else None


def _measures_program(intent: Intent, lib: Library, results: list[SearchResult]) -> ProgramRecord | None:
    """The one program carrying out the measure found first (「誰に相談すれば」: its consultation service)."""
    for r in results[:2]:
        if role_of(r.chunk) == "measure":
            records = [lib.records[g.chunk.program] for g in lib.program_guides(measure_label(r.chunk)) if g.chunk.program in lib.records]
            if intent.asks == "contact":  # the measure's consultation service, if it has one
                records = [c for c in records if c.kind == "consultation"] or records
            if len(records) == 1:
                return records[0]
    return None


COMPARED_MAX = 3  # things set side by side in one answer


def _compare_plan(plan: AnswerPlan, lib: Library) -> AnswerPlan | None:
    """「新事業進出の補助金ともの補助って何が違うの？」: what each is, in the first sentence of its guide's 概要
    (or of its directory entry, for one the documents do not cover), side by side, each cited."""
    tok = lib.tokenizer
    says: list[Say] = []
    for name in plan.intent.compares[:COMPARED_MAX]:
        record = lib.records.get(name)
        entry = lib.directory.entries.get(name) if record is None else None
        passage = _passage_for(lib, record, None, "概要") if record is not None else lib.directory_passage(name) if entry is not None else None
        first = next(iter(sentences_of(passage.chunk)), "") if passage is not None else ""
        if not first:
            continue
        if record is not None:
            plan.add_program(record)
        named = Name(record.name, record.name_en) if record is not None else Name(entry.name, entry.name_en)
        says.append(Say("point.compare", {"program": named, "quote": quote_of(first, tok)}, plan.cite(passage)))
    if len(says) < 2:
        return None
    cites = sorted({n for say in says for n in say.cites})
    plan.direct = Say("direct.compare", {"first": says[0].values["program"], "second": says[1].values["program"]}, cites)
    plan.points = says
    record = next((lib.records[n] for n in plan.intent.compares if n in lib.records), None)
    plan.next_step = _desk(plan, lib, record)
    plan.kind = "fact"
    return plan


def _definition_plan(plan: AnswerPlan, lib: Library, results: list[SearchResult]) -> AnswerPlan:
    """「〇〇って何？」: the sentence of the documents that says what the word means (one that explains
    it in brackets or with とは first, then the first passage found that uses it); else not stated."""
    term = plan.intent.term
    if term and "の" in term and not any(compact(term) in compact(c.text) for c in lib.chunks):
        term = term.rsplit("の", 1)[-1]  # 「セキュリティアクションの二つ星」: the word asked is 二つ星
    key = compact(term or "")
    named = next((lib.records[n] for n in plan.intent.programs if n in lib.records), None)  # its desk, when one is named
    if len(key) < 2:
        return _not_stated(plan, lib, named)
    found = [r.chunk for r in results]
    ranked = sorted(lib.chunks, key=lambda c: (c.kind == "guide", c.id not in {f.id for f in found}))
    best: tuple[int, Chunk, str] | None = None
    for chunk in ranked:
        if key not in compact(chunk.text):
            continue
        for sentence in sentences_of(chunk):
            flat = compact(sentence)
            at = flat.find(key)
            if at < 0:
                continue
            after = flat[at + len(key): at + len(key) + 3]
            score = 2 if after[:1] in "(（:：" or after.startswith(("とは", "」とは")) else 1 if after.startswith("」") else 0
            if best is None or score > best[0]:
                best = (score, chunk, sentence)
        if best is not None and best[0] == 2:
            break
    if best is None:
        # 「事業承継ファンドって何？」: a program the guides name, not a word its text explains: its overview
        record = next((lib.records[n] for n in plan.intent.programs if n in lib.records), None)
        names = [compact(n) for n in (record.name, *record.aliases) if len(compact(n)) >= 3] if record is not None else []
        if record is not None and key not in compact(record.name + "".join(record.aliases)) and not any(n in key for n in names):
            # the word asked is not the program's name, nor holds it (自己宣言ID holds 自己宣言):
            # 「指名できますか」 is no 「〇〇って何？」
            record = None
        return (_overview_plan(plan, lib, record) if record is not None else None) or _not_stated(plan, lib, named)
    _, chunk, sentence = best
    plan.direct = Say("direct.definition", {"term": term, "quote": quote_of(sentence, lib.tokenizer)}, plan.cite(SearchResult(chunk, 1.0)))
    return plan


def plan_answer(intent: Intent, results: list[SearchResult], lib: Library, *, guides: bool = True) -> AnswerPlan:
    """The answer to `intent` from `results`; `guides=False` keeps it to the policy document. Where the
    documents state nothing for it, an operator's published answer to the same question does."""
    plan = _plan(intent, results, lib, guides=guides)
    if guides and (not plan.stated or plan.refused) and intent.act in ("ask", "follow_up"):
        published = _faq_plan(intent, results, lib, guides)
        if published is not None:
            return published
    return plan


FAQ_MATCH = 0.6  # share of a published question's words the owner's question holds, for its answer to answer
FAQ_MIN_WORDS = 2  # and at least this many of them
FAQ_COVERS = 0.4  # share of the owner's own words the published question holds
_STEM = re.compile(r"^([一-龥々]+)[ぁ-ゖ]+$")  # a kanji word with its okurigana (違う, 違い) by its kanji


def _faq_plan(intent: Intent, results: list[SearchResult], lib: Library, guides: bool) -> AnswerPlan | None:
    """「公社の助成金と融資って何が違うの？」: the operator's published answer to the same question (its Q&A
    file, ingest/faq.py), quoted with its source."""
    from .intent import CONDITION_STOP

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


def _plan(intent: Intent, results: list[SearchResult], lib: Library, *, guides: bool = True) -> AnswerPlan:
    plan = AnswerPlan(intent, Say(""), guides=guides)
    if intent.compares and intent.asks == "definition" and guides:
        compared = _compare_plan(plan, lib)
        if compared is not None:
            return compared
        plan = AnswerPlan(intent, Say(""), guides=guides)
    if intent.asks == "definition" or (intent.asks == "overview" and intent.term):
        return _definition_plan(plan, lib, results)  # 「事業承継ファンドって何？」: its guide's overview
    if intent.document_role:
        return _document_plan(plan, lib, results)
    if intent.asks == "company_size":
        return _size_plan(plan, lib)
    if intent.slot and intent.act != "more":
        record = choose_program(intent, lib, results) if guides else None
        if intent.asks in GENERAL_SLOTS and not intent.programs and guides:
            # 「助成金はいつ振り込まれますか」 names no program: the rule all of them follow answers it,
            # unless the program the passages point to states its own
            if record is None or intent.asks in GENERAL_ONLY or _evidence(lib, intent, lib.program_chunks(record.name)) is None:
                general = _common_rule_plan(plan, lib)
                if general is not None:
                    return general
        # 「タブレットも対象になる？」 naming no program: who may use it or what it pays for is answered by the
        # programs that fit, at the level asked, when no program was found for the question's topic or the
        # one found does not say (not some passage's sentence holding 対象, nor a program the owner never named)
        unnamed_condition = guides and not intent.programs and intent.asks in ("covered_costs", "eligibility")
        if unnamed_condition and intent.condition and intent.slot_confidence >= SLOT_ANSWER_SURE and not _programs_speak_of(lib, intent.condition):
            # 「人件費って補助の対象？」, 「税金を滞納してても補助金もらえる？」: no program's guide speaks of it
            return _with_common_rule(_not_stated(plan, lib, None), lib)
        if unnamed_condition and record is None:
            return _support_plan(plan, lib, results)
        answered = _slot_plan(plan, lib, record, results)
        if answered.stated or not guides:
            return answered
        def fresh() -> AnswerPlan:
            return AnswerPlan(intent, Say(""), guides=guides)

        if intent.slot_confidence < SLOT_ANSWER_SURE:
            # a slot read unsurely (the learned model's reading, a word half in the situation): not a confident
            # 'the documents do not say X' about an X the owner may not have asked, but the level they asked
            named = lib.records.get(intent.programs[0]) if intent.programs else None
            detail = _program_detail_plan(fresh(), lib, named) if named is not None else None
            return detail or _support_plan(fresh(), lib, results)
        if unnamed_condition:
            return _support_plan(fresh(), lib, results)
        return answered
    if intent.programs and intent.act == "ask" and guides and intent.programs[0] in lib.records:
        detail = _program_detail_plan(plan, lib, lib.records[intent.programs[0]])
        if detail is not None:
            return detail
    return _support_plan(plan, lib, results)


def not_stated_plan(intent: Intent, lib: Library, *, guides: bool = True) -> AnswerPlan:
    """Nothing found for a question about a detail: say the documents do not state it, and where to ask."""
    return _not_stated(AnswerPlan(intent, Say(""), guides=guides), lib, None)
