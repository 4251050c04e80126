"""Facts and the passages that state them: a program's headline figure and fiscal year, the desk to
name, the guide's asides, and the answers the common rules give (whether a company is an SME, how
subsidies are paid, how to apply); the not-stated answer every kind of answer falls back to."""

from __future__ import annotations

import re
from typing import Any

from ...models import Chunk, SearchResult
from ..fiscal import older_than_now
from ..intent import Intent
from ..passages import english_rendering, sentence_with, sentences_of
from ..programs import Amount, Fact, ProgramRecord
from .values import AnswerPlan, Bi, Library, Name, Say, Term, Year, quote_of


ASIDE_SECTIONS = ("ご注意", "関連する東京都の施策")  # a guide's sections that answer no question of the program
GENERAL_DESK_PROGRAM = "onestop-soudan"  # the desk named when no program answers the question
_HAS_YEAR = re.compile(r"年度|\d{4}年|令和|平成")


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
        first = re.split(r"[。]", phrase)[0]
        if found is None and first != phrase and len(first.strip()) >= 3:
            # the record's summary of several sentences (「後払い。交付決定の後に…」): the passage stating its first
            found = sentence_with(chunks, first)
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
COMMON_RULE_SECTIONS = {
    "payment_timing": "助成金の支払い時期", "application_period": "募集期間", "how_to_apply": "申請の流れ",
    "prerequisites": "申請の流れ",  # 「交付決定前に契約していい？」: what comes before what, in every program
}


def _size_plan(plan: AnswerPlan, lib: Library) -> AnswerPlan:
    """「従業員20人の小売業です。中小企業にあたりますか？」: the common rules decide, from the facts the
    owner gave (bot/core/rules.py): the verdict; over the employee line with the capital unknown, the
    capital that would decide; without enough facts, the thresholds by industry. Each cited to the rule."""
    from ..rules import get_table, size_class, yen_ja

    table = get_table()
    owner = plan.intent.owner or {}
    counting = _counting_plan(plan, lib, table)
    if counting is not None:  # 「パートや役員も数に入る？」: how people are counted, not a verdict on a count
        return counting
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


def _counting_plan(plan: AnswerPlan, lib: Library, table: Any) -> AnswerPlan | None:
    """「社員4人、パート3人、妻が役員。パートや役員も数に入る？」: the rule on who counts as an employee,
    its sentences quoted (the owner's count is what the question is unsure of)."""
    section = table.sections.get("counting")
    if not section or not plan.intent.counts_people:
        return None
    rule = lib.rules_passage(section)
    sentences = sentences_of(rule.chunk) if rule is not None else []
    if not sentences:
        return None
    cites = plan.cite(rule)
    plan.direct = Say("direct.counting_rule", {"quote": quote_of(sentences[0], lib.tokenizer)}, cites)
    for x in sentences[1:3]:
        plan.points.append(Say("point.size_rule", {"quote": quote_of(x, lib.tokenizer)}, cites))
    plan.next_step = _desk(plan, lib, None)
    return plan


# Slots the common rules answer for every program, when a question names none
GENERAL_SLOTS = ("payment_timing", "how_to_apply", "prerequisites")
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
    lead = _rule_sentence_asked(plan.intent, sentences, lib)
    plan.direct = Say("direct.common_rule", {"quote": quote_of(lead, lib.tokenizer)}, cites)
    if lead is not sentences[0]:  # 「交付決定前に買った機械って対象？」: that rule first, then what the section says first
        plan.points.append(Say("point.common_rule", {"quote": quote_of(sentences[0], lib.tokenizer)}, cites))
    exception = next((s for s in sentences[1:] if "一部の制度" in s and s is not lead), None)
    if exception:
        plan.points.append(Say("point.rule_exception", {"quote": quote_of(exception, lib.tokenizer)}, cites))
    plan.next_step = _desk(plan, lib, None)
    return plan


RULE_SENTENCE_MIN_WORDS = 2  # a later sentence of the rule leads when it shares this many of the question's words


def _rule_sentence_asked(intent: Any, sentences: list[str], lib: Library) -> str:
    """The rule's sentence the question points to: its first, unless a later one shares more of the words
    of the question itself (交付決定, 前, 発注 in 「交付決定前に発注しちゃった。対象になる？」)."""
    english = intent.language == "en"

    def words_of(text: str) -> set[str]:
        # an English question is read against the rule's English (bot/data/policy_en.yaml)
        if english:
            return {w for w in re.findall(r"[a-z]{3,}", (english_rendering(text) or text).lower()) if w not in _EN_STOP}
        return {t for t in lib.tokenizer.tokens(text) if len(t) >= 2 or re.fullmatch(r"[一-龥]", t)}

    # the whole message's words: 「…交付決定が出る前に発注しちゃいたい。これって対象から外れる？」 asks of its situation
    asked = words_of(intent.text) if english else {
        t for t in (intent.tokens or intent.asked_tokens) if len(t) >= 2 or re.fullmatch(r"[一-龥]", t)
    }
    if not asked:
        return sentences[0]
    first = words_of(sentences[0])

    def shared(sentence: str) -> tuple[int, int]:  # words of the question only this sentence holds, then all it holds
        words = asked & words_of(sentence)
        return len(words - first), len(words)

    best = max(sentences[1:], key=shared, default=sentences[0])
    distinct, total = shared(best)
    if english:
        return best if distinct >= 1 and total >= RULE_SENTENCE_MIN_WORDS else sentences[0]
    # the words that made the question this slot's (前に…発注, 先に契約) must be among those only it holds
    said = {t for trigger in intent.triggers for t in lib.tokenizer.tokens(trigger.replace("…", " ")) if len(t) >= 2}
    words = (asked & words_of(best)) - first
    return best if distinct >= 1 and total >= RULE_SENTENCE_MIN_WORDS and words & said else sentences[0]


_EN_STOP = {"the", "and", "for", "are", "can", "was", "with", "our", "you", "most", "this", "that", "have", "has", "will", "from", "some", "any", "now"}


def rule_sentence_asked(intent: Any, lib: Library) -> str | None:
    """The common rule's sentence the question points to, when it is not the rule's first (else None)."""
    section = COMMON_RULE_SECTIONS.get(intent.asks)
    rule = lib.rules_passage(section) if section else None
    sentences = sentences_of(rule.chunk) if rule is not None else []
    if not sentences:
        return None
    lead = _rule_sentence_asked(intent, sentences, lib)
    return None if lead is sentences[0] else lead


def asks_a_rule_sentence(intent: Any, lib: Library) -> bool:
    """Whether the question points to one sentence of its common rule past the first (交付決定より前の発注):
    asked of subsidies in general, that rule answers it rather than one program found."""
    return rule_sentence_asked(intent, lib) is not None


def _with_common_rule(plan: AnswerPlan, lib: Library) -> AnswerPlan:
    """After "the documents do not state it for this program": what the common rules say in general."""
    section = COMMON_RULE_SECTIONS.get(plan.intent.asks)
    rule = lib.rules_passage(section) if section and plan.guides else None
    sentences = sentences_of(rule.chunk) if rule is not None else []
    if sentences:
        quote = quote_of(_rule_sentence_asked(plan.intent, sentences, lib), lib.tokenizer)
        plan.points.append(Say("point.common_rule", {"quote": quote}, plan.cite(rule)))
    return plan


def _aside(chunk: Chunk) -> bool:
    """A guide's caution or its link to the policy: true of every program, the answer to no question."""
    return chunk.section.split(" > ")[-1] in ASIDE_SECTIONS


def _direction_of(lib: Library, program: str) -> str | None:
    first = lib.program_chunks(program)[:1]
    return first[0].direction or None if first else None


def _verdict(owner: dict[str, Any]) -> Any:
    """The size rule that applies to the owner, only when the facts settle it (not when a 小規模企業者
    is still possible for want of an employee count, nor for a group company)."""
    from ..rules import size_class

    verdict = size_class(owner) if owner else None
    if verdict is None or verdict.size is None or getattr(verdict, "may_be_small", False):
        return None
    return verdict


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
