"""Owners' words for what a question asks, read from bot/data/asks.yaml once: the slots' triggers, the
words that point back or compare, quoted speech; matching a trigger with its parts a few words apart
and with the particles owners drop."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from ...text import normalize


ASKS_PATH = Path(__file__).resolve().parents[2] / "data" / "asks.yaml"
SLOTS = (
    "multiple_applications", "payment_timing", "fee", "rate", "lower_limit", "upper_limit", "prerequisites", "documents",
    "review_time", "disclosure", "proxy", "times", "venue", "application_period", "how_to_apply", "hours", "contact", "covered_costs",
    "eligibility", "definition", "company_size",
)


@dataclass(frozen=True)
class _Vocabulary:
    slots: dict[str, tuple[tuple[str, ...], tuple[re.Pattern, ...]]]
    slots_with_program: dict[str, tuple[tuple[str, ...], tuple[re.Pattern, ...]]]  # only about a program
    documents: dict[str, tuple[tuple[str, ...], tuple[re.Pattern, ...]]]
    yes_no_en: frozenset[str]
    wh_ja: tuple[str, ...]
    wh_en: frozenset[str]
    evidence: dict[str, tuple[str, ...]]
    evidence_alone: frozenset[str]  # slots whose evidence word answers by itself
    money: tuple[tuple[str, ...], tuple[re.Pattern, ...]]
    fields: dict[str, str | None]
    cost_items: tuple[tuple[str, ...], tuple[re.Pattern, ...]]
    cost_asks: tuple[str, ...]
    guide_words: dict[str, tuple[str, ...]]  # an owner's word for a cost or a condition -> the guides' words for it
    confirmations: tuple[str, ...]
    what_to_do: tuple[str, ...]
    asks_quantity: tuple[str, ...]  # どれくらい, 何割: the question asks how much or how many
    what_exists: tuple[str, ...]  # 「どんなものがある？」「何かある？」: the question asks what support exists
    slot_compounds: tuple[str, ...]
    program_name_generic: tuple[str, ...]
    support_nouns: tuple[str, ...]
    not_within: dict[str, tuple[str, ...]]  # per slot: longer words its triggers do not count inside (ことは)
    condition_hints: tuple[str, ...]
    elsewhere: tuple[str, ...]
    program_name_words: tuple[str, ...]
    not_program_name_ends: tuple[str, ...]
    term: re.Pattern  # 「〇〇って何？」「〇〇とは」: the word a definition asks about (term_asked)
    quoted_speech: re.Pattern  # someone else's words in quotes (_without_quoted_speech)
    not_terms: frozenset[str]  # words pointing back (これ, それ) that a 「〇〇って何？」 does not ask about
    compare_words: tuple[str, ...]  # 違い, どっちが: the question sets two things side by side
    asks_what: tuple[str, ...]  # 何, どう, どんな: a question asking what something is
    what_is_that: re.Pattern  # 「あれ何？」「何それ」: what the thing just named is
    points_back: tuple[str, ...]  # これ, それ: a question starting with one asks about the situation just told
    asks_negative: tuple[str, ...]  # 外れる, ダメ: the question asks whether something is excluded
    paid_by_program: tuple[str, ...]  # 補助金で出る: whether a program pays for the thing named before
    yes_no_endings: tuple[str, ...]  # 必要, いいよね: a ？ after one of these asks yes or no
    alternatives: tuple[str, ...]  # それとも: the other choice of the question before
    other_regions: tuple[str, ...]  # places outside Tokyo: a program named after one is another region's
    program_kind_words: frozenset[str]  # 認定, 制度: words saying what kind of thing a program is
    what_counts: tuple[str, ...]  # どういうのが…になる: what counts as something, a definition
    continues_before: tuple[str, ...]  # その, この: a short last sentence asking about what the one before named
    asks_negative_not: tuple[str, ...]  # ないとダメ: asks whether something is required, not excluded
    not_conditions: frozenset[str]  # what a 「これって違反？」 asks of the owner's facts, no condition


def _english_pattern(phrase: str) -> re.Pattern:
    return re.compile(r"(?<![a-z])" + re.escape(phrase.lower()) + r"(?![a-z])")


def _phrase(pattern: re.Pattern) -> str:
    return pattern.pattern.replace("(?<![a-z])", "").replace("(?![a-z])", "").replace("\\", "")


@lru_cache(maxsize=1)
def vocabulary(path: Path = ASKS_PATH) -> _Vocabulary:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def entries(section: dict, suffix: str = "") -> dict:
        return {
            name: (
                tuple(normalize(w) for w in spec.get("ja" + suffix) or []),
                tuple(_english_pattern(w) for w in spec.get("en" + suffix) or []),
            )
            for name, spec in section.items()
        }

    slots = entries(data["slots"])
    unknown = set(slots) - set(SLOTS)
    if unknown:
        raise ValueError(f"{path}: unknown slots {sorted(unknown)}")
    return _Vocabulary(
        slots=slots,
        slots_with_program=entries(data["slots"], "_with_program"),
        documents=entries(data["document"]),
        yes_no_en=frozenset(data["yes_no_en"]),
        wh_ja=tuple(data["wh_ja"]),
        wh_en=frozenset(data["wh_en"]),
        evidence={name: tuple(spec.get("evidence") or []) for name, spec in data["slots"].items()},
        money=entries({"money": data["money"]})["money"],
        evidence_alone=frozenset(name for name, spec in data["slots"].items() if spec.get("evidence_alone")),
        fields={name: (None if spec.get("field") in (None, "none") else spec["field"]) for name, spec in data["slots"].items()},
        cost_items=entries({"cost_items": data.get("cost_items") or {}})["cost_items"],
        cost_asks=tuple(normalize(w) for w in data.get("cost_asks") or []),
        guide_words={normalize(str(k)).lower(): tuple(str(w) for w in v) for k, v in (data.get("guide_words") or {}).items()},
        slot_compounds=tuple(normalize(w) for w in data.get("slot_compounds") or []),
        program_name_generic=tuple(str(w) for w in data.get("program_name_generic") or []),
        support_nouns=tuple(normalize(w) for w in data.get("support_nouns") or []),
        not_within={name: tuple(normalize(w) for w in spec.get("not_within") or []) for name, spec in data["slots"].items()},
        condition_hints=tuple(str(w) for w in data.get("condition_hints") or []),
        elsewhere=tuple(normalize(w) for w in data.get("elsewhere") or []),
        program_name_words=tuple(str(w) for w in data.get("program_name_words") or []),
        not_program_name_ends=tuple(str(w) for w in data.get("not_program_name_ends") or []),
        term=_term_pattern(data),
        not_terms=frozenset(data.get("not_terms") or ()),
        compare_words=tuple(normalize(w) for w in data.get("compare_words") or ()),
        asks_what=tuple(data["asks_what"]),
        what_is_that=re.compile(rf"(?:{_either(data['pointing_back'])})(?:って)?(?:{_either(data['asks_what_alone'])})|"
                                rf"(?:{_either(data['asks_what_alone'])})(?:{_either(data['pointing_back'])})"),
        not_conditions=frozenset(data.get("not_conditions") or ()),
        points_back=tuple(data.get("pointing_back") or ()),
        asks_negative=tuple(normalize(w) for w in data.get("asks_negative") or ()),
        paid_by_program=tuple(normalize(w) for w in data.get("paid_by_program") or ()),
        yes_no_endings=tuple(normalize(w) for w in data.get("yes_no_endings") or ()),
        alternatives=tuple(normalize(w) for w in data.get("alternatives") or ()),
        other_regions=tuple(normalize(w) for w in data.get("other_regions") or ()),
        program_kind_words=frozenset(normalize(w) for w in data.get("program_kind_words") or ()),
        what_counts=tuple(normalize(w) for w in data.get("what_counts") or ()),
        continues_before=tuple(normalize(w) for w in data.get("continues_before") or ()),
        asks_negative_not=tuple(normalize(w) for w in data.get("asks_negative_not") or ()),
        quoted_speech=_quoted_pattern(data),
        confirmations=tuple(normalize(w) for w in data.get("confirmations") or []),
        what_to_do=tuple(normalize(w) for w in data.get("what_to_do") or []),
        what_exists=tuple(normalize(w) for w in data.get("what_exists") or []),
        asks_quantity=tuple(normalize(w) for w in data.get("asks_quantity") or []),
    )


def _either(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _term_pattern(data: dict) -> re.Pattern:
    """「〇〇って何？」「〇〇とは」; って followed by another question word asks something else of 〇〇."""
    other = [w for w in data["wh_ja"] if w not in data["asks_what"]] + list(data["not_what_after_tte"])
    # 「…に変わるって聞いたけど」「…って言われた」: what someone said, not a word asked about
    said = r"聞い|聞き|言われ|言って|書いて|書かれ|[、,](?!\s*(?:そもそも|一体|いったい|結局)?\s*(?:何|なに|なん|どんな|どういう))"  # 「交通費って、…出る？」: a topic
    return re.compile(rf"([^\s、。,.!?！？「」『』]+?)[」』]?(?:とは|の意味|という言葉|って(?!\s*(?:{_either(other)}|{said})))")


def _quoted_pattern(data: dict) -> re.Pattern:
    """A quote followed by a verb of saying, or one long enough to be speech with the message going on after it.
    A short quote is a term (「自己宣言」とは); a message that is all quote is the question itself."""
    return re.compile(
        rf"[「『\"“]([^「」『』\"“”]{{2,}})[」』\"”](?=(?:って|と)[^。？?]{{0,8}}?(?:{_either(data['saying_verbs'])}))"
        # (a long quote asked about, 「個人版事業承継税制」とは？, is a term, not speech)
        r"|[「『\"“]([^「」『』\"“”]{8,})[」』\"”](?!\s*(?:とは|って何|ってなに|ってなん|ってどんな|ってどういう|の意味|について))(?=.*[^\s。．.!！?？])"
    )


def slot_field(slot: str) -> str | None:
    """The ProgramRecord field that holds a slot (None: no field; look in the passages)."""
    return vocabulary().fields.get(slot)


def slot_evidence(slot: str) -> tuple[str, ...]:
    return vocabulary().evidence.get(slot, ())


def evidence_answers_alone(slot: str) -> bool:
    """Whether a sentence with the slot's evidence word answers without sharing another word of the question."""
    return slot in vocabulary().evidence_alone


def _matches(entries: dict, text: str) -> list[tuple[str, str]]:
    """(name, trigger) for each entry whose trigger occurs in `text` (normalized), in file order."""
    return [(name, hits[0]) for name, hits in _all_matches(entries, text)]


def _all_matches(entries: dict, text: str, not_within: dict[str, tuple[str, ...]] | None = None) -> list[tuple[str, list[str]]]:
    """(name, every trigger of it in `text`) for each entry with one, in file order; an entry's
    `not_within` words hide its triggers inside them (「交渉することは」 holds no 「とは」)."""
    found = []
    for name, (ja, en) in entries.items():
        seen = text
        for w in (not_within or {}).get(name, ()):
            seen = seen.replace(w, "\u3000" * len(w))
        loose = _without_particles(seen)
        hits = [w for w in ja if w and _holds(seen, loose, w)] + [_phrase(p) for p in en if p.search(seen)]
        if hits:
            found.append((name, hits))
    return found


GAP = "..."  # (「…」 once normalized) a trigger 「前に…もらった」: its parts in this order, a few words apart (前に公社の助成金もらった)
GAP_CHARS = 15


def _holds(text: str, loose: str, trigger: str) -> bool:
    """Whether `text` (or `loose`, the same without dropped particles) holds `trigger`."""
    if GAP in trigger:
        pattern = _gap_pattern(trigger)
        return bool(pattern.search(text) or pattern.search(loose))
    return trigger in text or _without_particles(trigger) in loose


@lru_cache(maxsize=None)
def _gap_pattern(trigger: str) -> re.Pattern:
    gap = rf"[^。！？!?\n]{{0,{GAP_CHARS}}}?"
    return re.compile(gap.join(re.escape(part) for part in trigger.split(GAP)))


# が and を after a noun, which owners drop when they type (「お金入るまで」「申請できますか」 for
# 「お金が入るまで」「申請ができますか」): a trigger matches with or without them.
_PARTICLE = re.compile(r"(?<=[一-龥ァ-ヴー])[がを](?=[一-龥ぁ-んァ-ヴー])")


def _without_particles(text: str) -> str:
    return _PARTICLE.sub("", text)


# slots that only a program has; the others (contact, hours, fee, definition) make sense of a desk or a word
_PROGRAM_ONLY = {"covered_costs", "eligibility", "upper_limit", "lower_limit", "rate", "prerequisites", "documents",
                 "review_time", "application_period", "how_to_apply", "multiple_applications", "payment_timing"}
