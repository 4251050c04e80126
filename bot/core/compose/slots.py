"""A program's detail asked (a slot: the limit, the deadline, who may apply, what is covered...):
the record's value cited to the passage that states it, the guide sentence that says yes or no of
the owner's condition, or "the documents do not state it" with the desk; the measure behind it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ...models import Chunk, SearchResult
from ...privacy import has_phone
from ...text import compact, normalize
from ..intent import Intent, evidence_answers_alone, slot_evidence, slot_field
from ..understand.vocabulary import vocabulary
from ..passages import best_sentences, measure_label, role_of, sentence_with, sentences_of, standalone_at
from ..programs import Amount, Fact, ProgramRecord, Rate
from .values import AnswerPlan, Bi, Library, Measure, Name, Say, Term, Year, quote_of
from .facts import _HAS_YEAR, _aside, _bi, _desk, _fiscal_note, _not_stated, _owner_term, _passage_for, _verdict, _with_common_rule, _year, rule_sentence_asked
from .support import _EVERYDAY, _closest_sentence, _question_words, _words


MAX_SLOT_POINTS = 2
SLOT_ANSWER_SURE = 0.7  # below this, a slot the documents do not state is answered at the level asked, not as 'not stated'
_NO = re.compile(r"対象外|向けでない|ではない|でないもの|は休み|休業|不要|対象となりません|対象になりません|対象としません|できません|不可|除く|除き|認められません|含まれません|含みません")
_YES = re.compile(r"対象(?!外|とな?りません|になりません|としません)|できます|可能です|含みます|含まれます")


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


def _evidence(lib: Library, intent: Intent, chunks: list[Chunk]) -> tuple[Chunk, str] | None:
    """A sentence of these passages that answers what the record does not hold.

    A condition (中古, 個人事業主) must occur in the sentence; otherwise the slot's evidence word and
    another word of the question must both occur (「書類提出は9月19日〜」 does not answer 「必要書類は？」)."""
    chunks = [c for c in chunks if not _aside(c)]
    if intent.condition and intent.asks in ("eligibility", "covered_costs", "hours"):
        # what the question hinges on (中古, 土日), as a word of its own, or a kind of it (外部専門家 for
        # 専門家) where the sentence excludes nothing (not 特定非営利活動法人は対象外 for 法人); a payment
        # question's ソフトウェア is not what is asked
        # then the guides' word for a cost the owner names in their own (HPの制作費: ウェブサイト関連費)
        for word in (intent.condition, *intent.guide_words):
            found = sentence_with(chunks, word, whole_word=word == intent.condition) or _kind_of(chunks, word)
            if found and found[1]:
                return found
        return None
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
    from ..intent import CONDITION_STOP

    names = set(lib.tokenizer.tokens("".join(intent.programs)))
    # words of the program's own requirements (都内) are what every applicant meets, not what is asked
    record = lib.records.get(intent.programs[0]) if intent.programs else None
    if record is not None:
        names |= set(lib.tokenizer.tokens("".join(f.ja for f in (*record.eligibility, *record.prerequisites))))
    seen: set[str] = set()
    # the condition understood (オンライン展示会 for "online trade shows") first, then the words of the question
    # itself: the situation's words (「業者さんいわく…」) are not what a yes or no is said of
    candidates = ([intent.condition] if intent.condition else []) + list(intent.asked_tokens or intent.tokens)
    for word in candidates:
        if len(word) < 2 or word in seen or word in names or word in _EVERYDAY or word in CONDITION_STOP or re.fullmatch(r"[ぁ-ゖ]+", word):
            continue
        seen.add(word)
        found = sentence_with(chunks, word)
        if found and found[1] and _polarity(found[1], word) is not None:
            return found[0], found[1], word
    return None


GENERAL_RULE_SLOTS = ("payment_timing", "prerequisites")  # a common rule's later sentence may be what is asked of one program
RULE_LIKE_MIN_WORDS = 3  # a guide sentence sharing this many words with the rule says it for its program


def _beyond_own_facts(lib: Library, intent: Intent, record: ProgramRecord, rule: str) -> bool:
    """Whether the question asks the common rule's sentence on something the program's own record of the
    slot does not speak to (交付決定 and 発注 for 「…交付決定の前に発注しちゃった」; not 申請 and 必要 for
    「…の申請には何が必要？」, which its prerequisites answer)."""
    value = getattr(record, slot_field(intent.asks) or "", None)
    facts = value if isinstance(value, tuple) else (value,) if value is not None else ()
    own = set(lib.tokenizer.tokens(" ".join(getattr(f, "ja", "") or "" for f in facts)))
    asked = set(intent.tokens) & set(lib.tokenizer.tokens(rule))
    return bool({w for w in asked if len(w) >= 2} - own)


def _sentence_like(lib: Library, record: ProgramRecord, rule: str) -> tuple[Chunk, str] | None:
    """The guide's sentence that says what the common rule's sentence says (交付決定の前に…発注…対象になりません)."""
    best = _closest_sentence(lib, record, {t for t in lib.tokenizer.tokens(rule) if len(t) >= 2})
    return (best[1], best[2]) if best is not None and best[0] >= RULE_LIKE_MIN_WORDS else None


def _as_asked(polarity: str | None, intent: Intent) -> str | None:
    """The sentence's yes or no, as the answer to what was asked: 「対象から外れる？」 is answered yes by
    「対象になりません」."""
    if polarity is None or not intent.asks_excluded:
        return polarity
    return "yes" if polarity == "no" else "no"


def _yes_no_plan(plan: AnswerPlan, lib: Library, record: ProgramRecord, hinge: tuple[Chunk, str, str]) -> AnswerPlan:
    """はい/いいえ with the guide's sentence that says it of the owner's word, then the desk."""
    chunk, sentence, word = hinge
    plan.add_program(record)
    quote = quote_of(sentence, lib.tokenizer)
    key = f"direct.quote_{_as_asked(_polarity(sentence, word), plan.intent)}"
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
        rule = rule_sentence_asked(intent, lib) if intent.asks in GENERAL_RULE_SLOTS else None
        if rule is not None and _beyond_own_facts(lib, intent, record, rule):
            # 「もの補助、交付決定の前に発注しちゃったんだけどダメ？」: the guide's own sentence on that rule, else
            # 'not stated for this program' and the rule as it holds in general
            said = _sentence_like(lib, record, rule)
            if said is None:
                return _with_common_rule(_not_stated(plan, lib, record), lib)
            chunk, sentence = said
            polarity = _as_asked(_polarity(sentence), intent) if intent.yes_no else None
            key = f"direct.quote_{polarity}" if polarity else "direct.quote_program"
            plan.direct = Say(key, {"program": Name(record.name, record.name_en), "quote": quote_of(sentence, tok)}, plan.cite(SearchResult(chunk, 1.0)))
            plan.next_step = _desk(plan, lib, record)
            _fiscal_note(plan, record)
            return plan
        by_size = _employees_verdict(plan, lib, record) if intent.asks == "eligibility" else None
        if by_size is not None and by_size.key.startswith("direct."):  # 30 people against 20名以下: no, and why
            plan.direct = by_size
            plan.next_step = _desk(plan, lib, record)
            _fiscal_note(plan, record)
            return plan
        hinge = _hinge(lib, intent, chunks) if intent.yes_no and not detail and intent.asks in ("eligibility", "covered_costs") else None
        if hinge is not None:  # 「オンライン展示会も対象？」: the guide's sentence says yes or no of it
            return _yes_no_plan(plan, lib, record, hinge)
        part_limit, part_aside = None, None
        found_part = None if detail else _part_limit(plan, lib, record)
        if found_part is not None:
            chunk, sentence = found_part
            values = {"program": Name(record.name, record.name_en), "quote": quote_of(sentence, tok)}
            if _AMOUNT.search(sentence):  # 「クラウド化分はいくらまで？」: the part's own limit answers first
                part_limit = Say("direct.quote_program", values, plan.cite(SearchResult(chunk, 1.0)))
            else:  # 「ウェブ関連費っていくらまで？」 and the guide only says it is capped: the program's limit, that beside it
                part_aside = (values, chunk)
        say = None if detail else _specific_contact(plan, lib, record) or part_limit or _value_say(plan, lib, record, intent.asks)
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
            polarity = _as_asked(_polarity(sentence, intent.condition), intent) if intent.yes_no else None
            # a further condition the guide never speaks to (実店舗がない) leaves the yes open: no stock はい
            unspoken = [c for c in intent.other_conditions if not any(compact(c) in compact(ch.text) for ch in chunks)]
            if polarity == "yes" and unspoken:
                polarity = None
                plan.points.append(Say("point.condition_not_stated", {"condition": unspoken[0]}))
            key = f"direct.quote_{polarity}" if polarity else "direct.quote_program"
            say = Say(key, {"program": Name(record.name, record.name_en), "quote": quote_of(sentence, tok)}, cites)
        plan.direct = say
        if part_aside is not None:
            plan.points.append(Say("point.related_mention", part_aside[0], plan.cite(SearchResult(part_aside[1], 1.0))))
        if by_size is not None:  # within the record's employee limit: said as a point, never as a stock yes
            plan.points.append(by_size)
        _add_slot_support(plan, lib, record)
        if intent.act == "follow_up":
            _keep_measure_shown(plan, lib, record)
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
    polarity = _as_asked(_polarity(sentence, intent.condition), intent) if intent.yes_no else None
    key = f"direct.quote_{polarity}" if polarity else "direct.quote"
    plan.direct = Say(key, {"quote": quote_of(sentence, tok), "label": Measure(measure_label(chunk))}, plan.cite(SearchResult(chunk, 1.0)))
    plan.next_step = _desk(plan, lib, None)
    return plan


_EMPLOYEE_LIMIT = re.compile(r"(\d[\d,]*)\s*(?:人|名)以下")


_LIMIT_WORDS = re.compile(r"上限|限度|まで")
_AMOUNT = re.compile(r"[0-9０-９][0-9０-９,，.]*\s*(?:万円|億円|円)")
PART_LIMIT_MIN_WORDS = 2  # words of the question beyond the limit asked that the guide's sentence on a part's limit shares


def _limit_words(lib: Library) -> set[str]:
    """The tokens of the words that ask a program's limit: the upper_limit slot's triggers and evidence."""
    v = vocabulary()
    return {t for w in (*v.slots["upper_limit"][0], *v.evidence["upper_limit"]) for t in lib.tokenizer.tokens(w)}


def _part_limit(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> tuple[Chunk, str] | None:
    """「持続化補助金でウェブ関連費っていくらまで使える？」: the limit of a part of the program (one cost, one
    category), not its headline limit: the guide's sentence on a limit that shares the question's words
    beyond the program's name and the words asking a limit (passage, sentence)."""
    if plan.intent.asks != "upper_limit":
        return None
    headline = record.subsidy_max_limit.ja if record.subsidy_max_limit is not None else ""
    # beyond the words asking a limit (the upper_limit slot's own, asks.yaml) and those the headline already says
    words = _question_words(plan, lib, record) - _limit_words(lib) - set(lib.tokenizer.tokens(headline))
    if not words:
        return None
    headline = compact(headline)
    best = None
    for chunk in lib.program_chunks(record.name):
        for sentence in sentences_of(chunk):
            if not _LIMIT_WORDS.search(sentence) or (headline and headline[:12] in compact(sentence)):
                continue
            overlap = len(set(lib.tokenizer.tokens(sentence)) & words)
            if overlap >= PART_LIMIT_MIN_WORDS and (best is None or overlap > best[0]):
                best = (overlap, chunk, sentence)
    return (best[1], best[2]) if best is not None else None


def _limit_for(condition: str, industry: str | None, employees: float) -> re.Match | None:
    """The employee limit of a condition that applies to the owner. A condition with one limit per kind of
    business (「商業・サービス業は5人以下、…製造業その他は20人以下」) gives the owner's by the words of its
    group (company_size.yaml: 製造業 for a 町工場); with the kind unknown, a verdict only where every limit agrees."""
    limits = list(_EMPLOYEE_LIMIT.finditer(condition))
    if len(limits) <= 1:
        return limits[0] if limits else None
    from ..rules import get_table

    group = get_table().group_of(industry)
    words = [w for w in re.split(r"[・、]", group.name) if w] if group is not None else []
    start = 0
    for m in limits:  # the clause before each limit names the businesses it is for
        if any(w in condition[start:m.start()] for w in words):
            return m
        start = m.end()
    values = sorted(limits, key=lambda m: int(m.group(1).replace(",", "")))
    if employees > int(values[-1].group(1).replace(",", "")):
        return values[-1]  # over every limit
    if employees <= int(values[0].group(1).replace(",", "")):
        return values[0]  # within every limit
    return None


def _employees_verdict(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> Say | None:
    """The owner's employees (従業員30人) against the record's employee condition (300人以下), cited: over it,
    the answer's first sentence (no, and why); within it, a point (the size condition is met)."""
    employees = plan.intent.owner.get("employees")
    fact = record.target_number_of_employees
    if fact is None or not isinstance(employees, (int, float)):
        return None
    m = _limit_for(fact.ja, plan.intent.owner.get("industry"), employees)
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


def _keep_measure_shown(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> None:
    """A follow-up on a program (「それって誰でも使えるの？」) after an answer that showed the policy measure it
    carries out: the measure stays named, cited, so the thread keeps its place in the policy document."""
    if not record.measure:
        return
    where = lib.policy_passage(record.measure)
    if where is None or where.chunk.id not in plan.intent.shown_before:
        return
    plan.points.append(Say("point.carried_out", {"label": Measure(measure_label(where.chunk))}, plan.cite(where)))


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
