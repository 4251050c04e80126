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

The kinds of answer live in bot/core/compose/ (values, facts, support, slots, named, faq);
this module decides which one answers.
"""

from __future__ import annotations

from ..models import SearchResult
from .intent import Intent
from .compose.values import AnswerPlan, Library, Say
from .compose.facts import GENERAL_ONLY, GENERAL_SLOTS, _common_rule_plan, asks_a_rule_sentence, _not_stated, _size_plan, _with_common_rule
from .compose.support import _document_plan, _support_plan
from .compose.slots import SLOT_ANSWER_SURE, _evidence, _programs_speak_of, _slot_plan
from .compose.named import _compare_plan, _definition_plan, _overview_plan, _program_detail_plan, choose_program
from .compose.faq import _faq_plan


def plan_answer(intent: Intent, results: list[SearchResult], lib: Library, *, guides: bool = True) -> AnswerPlan:
    """The answer to `intent` from `results`; `guides=False` keeps it to the policy document. Where the
    documents state nothing for it, an operator's published answer to the same question does."""
    plan = _plan(intent, results, lib, guides=guides)
    if guides and (not plan.stated or plan.refused) and intent.act in ("ask", "follow_up"):
        published = _faq_plan(intent, results, lib, guides)
        if published is not None:
            return published
    return plan


def _plan(intent: Intent, results: list[SearchResult], lib: Library, *, guides: bool = True) -> AnswerPlan:
    plan = AnswerPlan(intent, Say(""), guides=guides)
    if intent.compares and intent.asks == "definition" and guides:
        compared = _compare_plan(plan, lib)
        if compared is not None:
            return compared
        plan = AnswerPlan(intent, Say(""), guides=guides)
    named = bool(intent.programs) and intent.programs[0] in lib.records
    if (intent.asks == "definition" and (intent.term or not named)) or (intent.asks == "overview" and intent.term):
        return _definition_plan(plan, lib, results)  # 「事業承継ファンドって何？」: its guide's overview
    # 「セキュリティアクションの一つ星と二つ星って何が違うの？」 (no one word asked): the named program's guide on it
    if intent.document_role:
        return _document_plan(plan, lib, results)
    if intent.asks == "company_size":
        return _size_plan(plan, lib)
    if intent.slot and intent.act != "more" and intent.asks != "definition":
        record = choose_program(intent, lib, results) if guides else None
        if intent.asks in GENERAL_SLOTS and not intent.programs and guides:
            # 「助成金はいつ振り込まれますか」 names no program: the rule all of them follow answers it,
            # unless the program the passages point to states its own
            if (record is None or intent.asks in GENERAL_ONLY or asks_a_rule_sentence(intent, lib)
                    or _evidence(lib, intent, lib.program_chunks(record.name)) is None):
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
    if intent.what_it_is and guides and intent.programs and intent.programs[0] in lib.records:
        overview = _overview_plan(plan, lib, lib.records[intent.programs[0]])  # 「…あれ何？」: what the program is
        if overview is not None:
            return overview
    if intent.programs and intent.act == "ask" and guides and intent.programs[0] in lib.records and not intent.what_exists:
        detail = _program_detail_plan(plan, lib, lib.records[intent.programs[0]])
        if detail is not None:
            return detail
    return _support_plan(plan, lib, results)


def not_stated_plan(intent: Intent, lib: Library, *, guides: bool = True) -> AnswerPlan:
    """Nothing found for a question about a detail: say the documents do not state it, and where to ask."""
    return _not_stated(AnswerPlan(intent, Say(""), guides=guides), lib, None)
