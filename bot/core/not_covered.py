"""The answer to a question about something the documents do not hold.

「持続化補助金って商工会に入ってないと申請できない？」 is about a national subsidy the documents do not
cover: the first sentence names it, says the documents do not cover it, and says who runs it and where
to ask, cited to the directory (corpus/directory/). It never answers about another program instead.
A name the directory does not know either (〇〇助成金) is named back as not in the documents, with the
general SME desk to ask.
"""

from __future__ import annotations

from .directory import OtherProgram
from .intent import Intent
from ..models import SearchResult
from ..text import compact
from .passages import sentences_of
from .compose.facts import _desk, _not_stated
from .compose.values import AnswerPlan, Bi, Library, Name, Say, Term, quote_of

MAX_OTHER_POINTS = 2  # further names of the same message, each its own line


def _about(intent: Intent) -> Term | None:
    """What was asked of it, when a slot was: 「上限額を含め」."""
    if intent.slot and intent.slot not in ("definition", "contact"):
        return Term(f"slot.{intent.slot}")
    return None


def _entry_say(plan: AnswerPlan, lib: Library, entry: OtherProgram, about: Term | None, kind: str = "not_covered") -> Say:
    # who runs it, unless its name already says (日本政策金融公庫 is run by 日本政策金融公庫)
    runs = Term("other_runs", {"runs": Bi(entry.runs, entry.runs_en)}) if entry.runs and not entry.runs.startswith(entry.name) else None
    values = {
        "name": Name(entry.name, entry.name_en),
        "runs": runs,
        "desk": Bi(entry.desk, entry.desk_en),
        "phone": entry.phone or "",
        "what": about,
    }
    key = kind + (".phone" if entry.phone else "") + (".about" if about is not None else "")
    return Say(key, values, plan.cite(lib.directory_passage(entry.name)))


def _related(plan: AnswerPlan, lib: Library, entry: OtherProgram) -> Say | None:
    """Where a guide of the documents mentions it (the BCP subsidy accepts a plan certified as
    事業継続力強化計画): that sentence, quoted and cited, as a point after the answer."""
    key = compact(entry.name)
    for record in lib.records.values():
        if record.id not in entry.mentioned_in:
            continue
        for chunk in lib.program_chunks(record.name):
            for sentence in sentences_of(chunk):
                if key in compact(sentence):
                    cites = plan.cite(SearchResult(chunk, 1.0))  # cited, but no card: the answer is not about it
                    return Say("point.related_mention", {"program": Name(record.name, record.name_en), "quote": quote_of(sentence, lib.tokenizer)}, cites)
    return None


def not_covered_plan(intent: Intent, lib: Library) -> AnswerPlan:
    """Name each thing asked about that the documents do not hold, who runs it, and where to ask."""
    plan = AnswerPlan(intent, Say(""), stated=False)
    plan.kind = "not_covered"
    about = _about(intent)
    says: list[Say] = []
    first_entry: OtherProgram | None = None
    for name in intent.other_programs:
        entry = lib.directory.entries.get(name)
        if entry is not None and says and entry.kind == "institution" and not intent.compares:
            continue  # 商工会 beside 持続化: the program's desk already says where to go
        if entry is not None:
            says.append(_entry_say(plan, lib, entry, about if not says else None))
            first_entry = first_entry or entry
        else:
            key = "not_covered.unknown.about" if about is not None and not says else "not_covered.unknown"
            says.append(Say(key, {"name": Name(name), "what": about}))
    plan.direct = says[0]
    plan.points = says[1 : 1 + MAX_OTHER_POINTS]
    if first_entry is not None and first_entry.url:
        plan.next_step = _page_say(first_entry)
    if first_entry is not None:
        related = _related(plan, lib, first_entry)
        if related is not None:
            plan.points.append(related)
    if first_entry is None:  # nobody named to ask: the general SME desk
        plan.next_step = _desk(plan, lib, None)
    return plan


def _page_say(entry: OtherProgram) -> Say:
    """The entry's page: called official only when it is the operator's own (a news article is a reference)."""
    key = "next.official_page" if entry.source_kind == "official" else "next.reference_page"
    return Say(key, {"url": entry.url}, [])


def suggestion_plan(intent: Intent, lib: Library) -> AnswerPlan:
    """「工場の蛍光灯を全部LEDに替えたい。何か使える補助金ない？」: the documents hold no support for the problem
    described; say so, and name the programs the directory knows for it (their `topics`), who runs them and
    where to ask. The documents do not state it: answer_kind not_stated, not a program the owner named."""
    plan = AnswerPlan(intent, Say(""), stated=False)
    plan.kind = "not_stated"
    says = []
    for name in intent.suggested:
        entry = lib.directory.entries.get(name)
        if entry is None:
            continue
        says.append(_entry_say(plan, lib, entry, None, "not_covered.suggest_more" if says else "not_covered.suggest"))
        if not says[1:] and entry.url:
            plan.next_step = _page_say(entry)
    if not says:
        return _not_stated(plan, lib, None)
    plan.direct, plan.points = says[0], says[1:]
    return plan


def note_others(plan: AnswerPlan, lib: Library) -> AnswerPlan:
    """A question that names a program of the documents beside one they do not hold (「ものづくり補助金と
    BCPの助成金って併用できる？」) is answered about the first; the other is named as not covered, with its desk."""
    shown = {r.id for r in plan.programs}
    for name in plan.intent.other_programs[:MAX_OTHER_POINTS]:
        entry = lib.directory.entries.get(name)
        if entry is not None and (entry.kind == "institution" or shown & set(entry.mentioned_in)):
            continue  # a desk mentioned beside the program, or a scheme its own guide already explains
        if entry is not None:
            plan.points.append(_entry_say(plan, lib, entry, None))
        else:
            plan.points.append(Say("not_covered.unknown", {"name": Name(name), "what": None}))
    return plan
