"""Understand once: a message, with what the conversation holds, becomes one `Intent`.

Every later step (search, plan, render, the dialogue state) reads this object; nothing after this
module looks at the question's wording to guess what is asked. The vocabulary is data
(bot/data/asks.yaml); the programs that can be named come from the program records.

What it decides:
- language (ja or en), and whether the owner asked for English (英語で);
- the programs named (names, their distinctive parts, aliases such as カスハラ);
- what is asked: a slot of a program (upper_limit, rate, eligibility, ...), something about the
  policy document (case, statistic, vision, directions), or `support` (what fits my problem);
- whether it is a yes/no question, and the condition it hinges on (中古, 個人事業主, ...);
- the owner's facts gathered so far (employees, industry, capital, years in business);
- the dialogue act: a new question, a follow-up on the last topic, "ほかには", a restatement in
  English, a reply to a clarifying question, or a question too broad to answer well.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..guard import asks_for_support, off_topic
from ..text import compact, normalize
from ..tokenize import get_tokenizer
from .ask_model import reads_off_topic, second_opinion
from .aspects import read_aspects
from .directory import Directory

ASKS_PATH = Path(__file__).resolve().parents[1] / "data" / "asks.yaml"

DIRECTIONS = {
    "①": ("IT化・設備導入で生産性を上げたい", "IT and equipment for productivity"),
    "②": ("新しいお客さま・販路を開拓したい（展示会・ネット販売など）", "new customers and sales channels"),
    "③": ("経営の安定（相談窓口・専門家・取引のトラブル・カスハラ）", "stable management, consultations, unfair trading"),
    "④": ("災害やサイバー攻撃に備えたい（BCP・セキュリティ）", "disasters and cyber attacks (BCP, security)"),
    "⑤": ("事業承継（跡継ぎ・会社の引継ぎ）", "business succession"),
}
CIRCLED = "①②③④⑤"
FOLLOW_UP_MAX_CHARS = 40

# Dialogue markers: how a message relates to the conversation, not what it asks.
_FOLLOW_MARK = re.compile(
    r"^(それ|その|これ|この|そこ|あれ|じゃあ|では|なら|それなら|で[、,]|ちなみに|あと|じゃ)"
    r"|(詳しく|具体的に|もう少し|例えば)"
    r"|^(what about|and |how about|so )",
)
_MORE = re.compile(r"^(ほか|他)(には|に|は|にも)|^(もっと|他の|ほかの)(支援|施策|制度|もの|は|ある)|anything else|what else|any other|^others?\b")
_ENGLISH = re.compile(r"英語で|英語にして|in english|english please")
_CHOICE_NUMBER = re.compile(r"^\s*([1-5１-５①-⑤])\s*(番|つ目|番目)?\s*(で|を|が|です|でお願いします|お願いします)?\s*[。.!！]?\s*$")
_SWITCH = re.compile(r"^(話(は|が)?変わ|ところで|別件|別の話|それとは別|もう一つ別|by the way|another question|on another note)")
_BROAD_WORDS = {
    "補助", "補助金", "助成", "助成金", "支援", "支援策", "制度", "施策", "何", "ある", "教える", "知る", "使う",
    "金", "お金", "東京", "東京都", "都", "中小", "企業", "中小企業", "会社", "うち", "相談", "向け", "ざっくり",
    "全般", "一覧", "色々", "種類", "全部", "纏める", "概要", "利用", "受ける", "貰える", "紹介", "主", "最近",
    "今", "助け", "手伝う", "知れる", "出る", "受けれる", "受けられる", "出来る", "探す", "くれる",
    "subsidy", "support", "grant", "help", "program", "programs", "tokyo", "government", "available",
}
# A program is what the question is about when it names one or asks for a program's detail.
_PROGRAM_WORDS = re.compile(r"助成|補助|奨励金|融資|制度|事業の|申請|subsid|grant|loan|program|scheme")
_GENERIC_NAME_PARTS = {"事業", "支援", "助成", "助成金", "中小企業", "東京都", "公社", "推進", "促進", "対策", "相談", "窓口"}

SLOTS = (
    "multiple_applications", "payment_timing", "fee", "rate", "lower_limit", "upper_limit", "prerequisites", "documents",
    "review_time", "disclosure", "proxy", "times", "venue", "application_period", "how_to_apply", "hours", "contact", "covered_costs",
    "eligibility", "definition", "company_size",
)
DOCUMENT_ASKS = ("case", "statistic", "vision", "directions")


@dataclass
class Intent:
    """What one message means, given the conversation so far."""

    text: str  # the message as the owner wrote it
    language: str  # "ja" or "en": the language the answer is written in
    asks: str  # a slot (SLOTS), "doc:<role>" (DOCUMENT_ASKS), or "support"
    programs: list[str] = field(default_factory=list)  # programs named (here, or carried from the last turn)
    yes_no: bool = False
    money: bool = False  # asks for money (a subsidy, a grant), not advice
    condition: str | None = None  # what a yes/no or eligibility question hinges on (中古, 個人事業主)
    other_conditions: list[str] = field(default_factory=list)  # further conditions the owner states (実店舗)
    owner: dict[str, Any] = field(default_factory=dict)  # the owner's facts so far
    act: str = "ask"  # ask, follow_up, more, restate, choose, clarify
    query: str = ""  # what to search
    direction: str | None = None  # the direction the conversation is in, or a chosen one
    exclude: list[str] = field(default_factory=list)  # passages shown before ("ほかには")
    exclude_programs: list[str] = field(default_factory=list)  # programs shown before ("ほかには")
    reuse: list[str] = field(default_factory=list)  # passages to answer from again (英語で)
    lead: str | None = None  # a restatement keeps what led the answer it restates: "programs" or "measure"
    triggers: list[str] = field(default_factory=list)  # the words that decided `asks`, for the report
    words: list[str] = field(default_factory=list)  # the question's tokens and the policy words the term map adds
    tokens: list[str] = field(default_factory=list)  # the message's own Sudachi tokens (read once, here)
    asked_tokens: list[str] = field(default_factory=list)  # those of its question part (after the owner's situation)
    named_by: dict[str, str] = field(default_factory=dict)  # program -> the words that first named it in the message
    compares: list[str] = field(default_factory=list)  # 「AとBって何が違うの？」: the programs, laws or desks compared
    term: str | None = None  # the word a 「〇〇って何？」 asks about (term_asked), read once, here
    slot_confidence: float = 1.0  # how sure `asks` is: below SLOT_SURE a slot is not answered as one
    sections: tuple[str, ...] = ()  # the guide sections that say what is asked (read from `query`)
    asks_detail: bool = False  # whether `query` asks a program's detail (amounts, dates, the desk)
    other_programs: list[str] = field(default_factory=list)  # named, not in the documents (directory entries first)
    unknown_programs: list[str] = field(default_factory=list)  # of those, the ones the directory does not know either
    topic: str = "general"  # ①–⑤, "general", or "off_topic"
    off_topic: str | None = None  # the everyday topic asked about, when it is one (天気, 株式投資)

    about_other: bool = False  # what the question asks is about one of `other_programs` (not only the owner's situation)

    @property
    def not_covered(self) -> bool:
        """The question is about something the documents do not hold (and names nothing they do)."""
        return self.about_other and not self.programs and self.act in ("ask", "follow_up")

    @property
    def english(self) -> bool:
        return self.language == "en"

    @property
    def slot(self) -> str | None:
        return self.asks if self.asks in SLOTS else None

    @property
    def document_role(self) -> str | None:
        return self.asks[4:] if self.asks.startswith("doc:") else None

    def to_dict(self) -> dict[str, Any]:
        """The contract's `intent` field."""
        named = [{"name": n, "status": "in_documents"} for n in self.programs]
        named += [{"name": n, "status": "unknown" if n in self.unknown_programs else "not_in_documents"} for n in self.other_programs]
        return {
            "language": self.language,
            "asks": self.asks,
            "programs": list(self.programs),
            "yes_no": self.yes_no,
            "money": self.money,
            "condition": self.condition,
            "owner": dict(self.owner),
            "act": self.act,
            "topic": self.topic,
            "slot_confidence": round(self.slot_confidence, 2),
            "other_programs": list(self.other_programs),
            "named": named,
        }


# -- vocabulary ---------------------------------------------------------------------------------


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
    confirmations: tuple[str, ...]
    what_to_do: tuple[str, ...]
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
        quoted_speech=_quoted_pattern(data),
        confirmations=tuple(normalize(w) for w in data.get("confirmations") or []),
        what_to_do=tuple(normalize(w) for w in data.get("what_to_do") or []),
    )


def _either(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _term_pattern(data: dict) -> re.Pattern:
    """「〇〇って何？」「〇〇とは」; って followed by another question word asks something else of 〇〇."""
    other = [w for w in data["wh_ja"] if w not in data["asks_what"]] + list(data["not_what_after_tte"])
    # 「…に変わるって聞いたけど」「…って言われた」: what someone said, not a word asked about
    said = r"聞い|聞き|言われ|言って|書いて|書かれ|[、,](?!\s*(?:何|なに|なん|どんな|どういう))"  # 「交通費って、…出る？」: a topic
    return re.compile(rf"([^\s、。,.!?！？「」『』]+?)」?(?:とは|の意味|という言葉|って(?!\s*(?:{_either(other)}|{said})))")


def _quoted_pattern(data: dict) -> re.Pattern:
    """A quote followed by a verb of saying, or one long enough to be speech with the message going on after it.
    A short quote is a term (「自己宣言」とは); a message that is all quote is the question itself."""
    return re.compile(
        rf"[「『\"“]([^「」『』\"“”]{{2,}})[」』\"”](?=(?:って|と)[^。？?]{{0,8}}?(?:{_either(data['saying_verbs'])}))"
        r"|[「『\"“]([^「」『』\"“”]{8,})[」』\"”](?=.*[^\s。．.!！?？])"
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


# -- the parts of understanding -----------------------------------------------------------------


def language_of(text: str) -> str:
    letters = [ch for ch in text if ch.isalpha()]
    english = bool(letters) and sum(ch.isascii() for ch in letters) / len(letters) > 0.8
    return "en" if english else "ja"


def is_yes_no(text: str) -> bool:
    """A question answered by yes or no: no question word, and a yes/no form."""
    v = vocabulary()
    q = normalize(text)
    if language_of(text) == "en":
        words = re.findall(r"[a-z']+", q)
        if not words:
            return False
        # the question decides: "We sell online. Can we apply?"; "Can I call on Saturday? Weekdays are hard."
        asked = [c for c in re.findall(r"[^.?!;]*\?", q) if c.strip()]
        clauses = asked or [c for c in re.split(r"[.?!;]\s*", q) if c.strip()][-1:] or [q]
        for clause in clauses:
            first = re.findall(r"[a-z']+", clause)
            if first and first[0] in v.yes_no_en and not any(w in v.wh_en for w in first[:3]):
                return True
        return False
    last = question_part(q.rstrip("?？ 　")) or q  # the question, not the situation before it (〜なんだけど)
    if any(w in last for w in v.wh_ja):
        return False
    if _only_confirms(_last_clause(q)):
        return True  # 「…って聞いたけど本当？」
    asked = q.rstrip(" 　").endswith(("?", "？"))
    last = last.rstrip("?？ 　")
    if last.endswith(("は", "って", "とは")):  # 「上限は？」 asks for a value
        return False
    if asked and (last.endswith("ます") or re.search(r"[るたいうくすつむぶぐ]$", last)):  # 「申請できます？」「補助金で出る？」
        return True
    return bool(re.search(r"(ますか|ですか|でしょうか|ませんか|できる|使える|もらえる|受けられる|ある|いい|なる|対象|ok|大丈夫|ダメ|だめ|駄目|か|の)$", last))


_SUFFIX = re.compile(r"(支援事業|助成事業|促進事業|事業|助成金|プラス)$")


def _names_alone(part: str) -> bool:
    """Whether a part of a program's name names it on its own: a long one (展示会出展助成), one with Latin
    letters (Tcyss), or one ending in a program word (〜補助金, 〜融資); not a short topic word that the
    name begins with (事業承継 of 事業承継・M&A補助金, デジタル化 of デジタル化・AI導入補助金)."""
    return len(part) >= 6 or bool(re.search(r"[a-z]", part, re.I)) or part.endswith((*vocabulary().program_name_words, "融資"))


class ProgramNames:
    """The names owners may use for each program: full names, distinctive parts, aliases."""

    def __init__(self, programs: Iterable[tuple[str, Iterable[str]]], topics: Iterable[str] = ()) -> None:
        self._topics = frozenset(topics)  # laws and schemes, which a seminar or a desk may be about (下請法の講習会)
        self._parts: list[tuple[str, str]] = []
        for name, aliases in programs:
            parts = [p for p in re.split(r"[・（）()、「」]", name) if p]
            # 展示会出展助成事業 -> 展示会出展助成 (not DX推進助成金 -> DX推進: too short to name the program)
            parts += [_SUFFIX.sub("", p) for p in parts if _SUFFIX.search(p) and len(compact(_SUFFIX.sub("", p))) >= 5]
            for part in [name, *parts, *aliases]:
                key = compact(part)
                if len(key) >= 4 or (part in aliases and len(key) >= 2):
                    if key not in _GENERIC_NAME_PARTS and (part == name or part in aliases or _names_alone(key)):
                        self._parts.append((key, name))
        self._parts.sort(key=lambda p: -len(p[0]))  # longest first: 展示会出展助成プラス before 展示会出展助成

    def named_in(self, text: str) -> list[str]:
        """The programs `text` names, in the order it names them (「サイバーの助成金、…SECURITY ACTIONの二つ星って
        要る？」 is about the subsidy first)."""
        q = compact(text)
        first: dict[str, int] = {}
        for key, name in self._parts:
            at = q.find(key)
            if at >= 0 and (name not in first or at < first[name]):
                first[name] = at
        return sorted(first, key=first.get)

    def naming_phrase(self, text: str, name: str) -> str | None:
        """The words by which `text` first names the program `name` (「セキュリティアクションの一つ星と二つ星」 names
        SECURITY ACTION by セキュリティアクション; 一つ星 and 二つ星 are then what is asked about it)."""
        q = compact(text)
        found = [(q.find(key), -len(key), key) for key, n in self._parts if n == name and key in q]
        return min(found)[2] if found else None

    def described_in(self, text: str) -> list[str]:
        """The programs `text` names only to say what a kind of support it asks for is about
        (「下請法とか、取引に関する法律の講習会ってやってますか」: a seminar on the law, not the law);
        only a law or a scheme (`topics`), never a program with its own desk (「カスハラの相談窓口」)."""
        q = compact(normalize(text))
        longest: dict[str, str] = {}  # each program by the longest of its names found (parts are longest first)
        for key, name in self._parts:
            if key in q:
                longest.setdefault(name, key)
        return [name for name, key in longest.items() if name in self._topics and _support_noun_after(q, key)]

    def phrases_in(self, text: str) -> list[str]:
        """The words of `text` that name a program of the documents (its name, a part, an alias)."""
        q = compact(text)
        return [key for key, _ in self._parts if key in q]


def asks_money(text: str) -> bool:
    """Whether the owner asks for money (費用の補助, help pay) rather than advice."""
    return bool(_matches({"money": vocabulary().money}, normalize(text)))


# Where the owner's situation ends and the question begins: the last sentence, and in it what follows
# 「〜けど」「〜ので」「〜が、」 (「人件費が上がってるんだけど、設備の補助金ってある？」 asks for support).
_SENTENCE_END = re.compile(r"[。！!？?\n]+")
_CLAUSE_BREAK = re.compile(r"(?:けど|けれど|けれども|ので(?!しょう|す|は)|のに(?!は)|んだが|んですが|ですが|ますが|たが|だが|が、|が,|(?<!っ)て、|で、|し、|から、)")
# A message that asks: a question form or a request; 「…困っています」 alone tells a situation.
_ASKS_FORM = re.compile(
    r"(\?|？|か$|か[。.!！]|ますか|ですか|でしょうか|ませんか|かな|かね|の$|のか|教えて|知りたい|ください|下さい|お願い|"
    r"ほしい|欲しい|たい$|たいです|たいんです|ある$|あります$|いる$|いますか|できる$|できます$|使える$|もらえる$|いい$|だっけ|って$|は$|とは$)"
)
_ASKS_EXPLICIT = re.compile(r"(\?|？|か$|か[。.!！]|ますか|ですか|でしょうか|ませんか|かな|教えて|知りたい|ください|下さい|お願い)")
SLOT_SURE = 0.5  # below this, the question is answered at the level the owner asked (the program, the support)
SLOT_CONFIDENCE = {
    "situation": 0.55,  # the slot's word sits in the owner's situation (a sentence that asks nothing), not in the question
    "compound": 0.45,  # the slot's word is part of a longer noun (取引条件, 請求金額)
    "no_program": 0.3,  # a program's detail with no program named, carried or asked for
    "no_question": 0.3,  # the message tells a situation and asks nothing in so many words
    "modifier": 0.55,  # the word describes a kind of support asked for after it (申請方法を教えてくれる専門家)
}
# slots that only a program has; the others (contact, hours, fee, definition) make sense of a desk or a word
_PROGRAM_ONLY = {"covered_costs", "eligibility", "upper_limit", "lower_limit", "rate", "prerequisites", "documents",
                 "review_time", "application_period", "how_to_apply", "multiple_applications", "payment_timing"}


def question_part(text: str) -> str:
    """The part of a message that asks: its last sentence, after the last 〜けど・〜ので (before a last
    「本当？」 that only asks whether it is so)."""
    clauses = _last_clauses(text)
    if len(clauses) > 1 and _only_confirms(clauses[-1]):
        return clauses[-2]  # 「期限が延びたって聞いたけど本当？」 asks about the deadline
    return clauses[-1]


def _last_clause(text: str) -> str:
    return _last_clauses(text)[-1]


def _last_clauses(text: str) -> list[str]:
    """The clauses of the message's last sentence (the sentence itself when it has no break)."""
    q = normalize(text).strip()
    sentences = [s for s in _SENTENCE_END.split(q) if s.strip()]
    last = sentences[-1] if sentences else q
    return [c.strip("、,， 　") for c in _CLAUSE_BREAK.split(last) if c.strip("、,， 　")] or [last]


def asks_what_to_do(text: str) -> bool:
    """「何から手をつければいい？」「どうしたらいい」, or a word asking for support: the owner wants help, not
    the policy's account of the problem."""
    q = normalize(text)
    return asks_for_support(q) or any(w in q for w in vocabulary().what_to_do)


def _only_confirms(clause: str) -> bool:
    """「本当？」「マジ？」: a clause that only asks whether what came before is so."""
    bare = re.sub(r"[?？!！。、なのかねでしょうすよ]", "", clause)
    return bool(bare) and bare in vocabulary().confirmations


def _asks_about_other(message: str, asks: str, named: list[str], others: list[str], unknown: list[str],
                      names: ProgramNames, directory: Directory | None, topical: bool = False) -> bool:
    """Whether what the question asks is about a name the documents do not hold, not only the owner's situation."""
    if not (others or unknown):
        return False
    asked = question_part(message)
    unquoted = _without_quoted_speech(normalize(message))
    if directory is not None and not unknown and not directory.named_in(unquoted, known=names.phrases_in(unquoted)):
        return False  # named only in someone else's words (元請に「インボイス出せないなら値引きして」と言われた): the situation
    if topical and asks_what_to_do(asked) and not directory_named_in(directory, asked, names):
        return False  # 「免税事業者のままなんだけど、元請から値引きしてって言われた。どうすりゃいいの？」: the situation
    if _describes_support(asked, (others or unknown)[0], directory):
        return False  # 「下請法とか…の講習会ってやってますか」 asks about the seminar
    only_desks = bool(others) and not unknown and directory is not None and all(directory.entries[n].kind == "institution" for n in others)
    if only_desks and asks in _PROGRAM_ONLY:
        return False  # 「商工会議所で聞いたら…上限は？」: a program's figure, not the desk's
    return (
        asked == normalize(message).strip()  # one clause: it is the question
        or bool(directory is not None and directory.named_in(asked, known=names.phrases_in(asked)))
        or bool(unknown_names_in(asked))
        or not (named or _points_elsewhere(asked))
    )


def directory_named_in(directory: Directory | None, text: str, names: ProgramNames) -> bool:
    return bool(directory is not None and directory.named_in(text, known=names.phrases_in(text)))


def _describes_support(asked: str, name: str, directory: Any) -> bool:
    """「下請法とか、取引に関する法律の講習会ってやってますか」: the named law only says what the seminar
    asked for is about; the question is about the seminar (the documents'), not the law."""
    words = [name] + (list(directory.entries[name].aliases) if directory is not None and name in directory.entries else [])
    for w in sorted(words, key=len, reverse=True):
        if normalize(w) in asked:
            return _support_noun_after(asked, normalize(w))
    return False


def _support_noun_after(asked: str, word: str) -> bool:
    """Whether, in the question, a kind of support (講習会, 専門家, 窓口…) comes after `word`: the word
    then only describes what is asked for (「下請法とか、取引に関する法律の講習会ってやってますか」)."""
    at = asked.find(word)
    if at < 0:
        return False
    after = asked[at + len(word):]
    return any(n in after for n in vocabulary().support_nouns)


def _sentence_with(q: str, word: str) -> str:
    """The clause of `q` (normalized) holding `word`: the part between the breaks around it."""
    at = q.find(word)
    if at < 0:
        return q
    pieces = [m.end() for m in _SENTENCE_END.finditer(q[:at])] + [m.end() for m in _CLAUSE_BREAK.finditer(q[:at])]
    start = max(pieces, default=0)
    ends = [m.start() for m in _SENTENCE_END.finditer(q, at)] + [m.end() for m in _CLAUSE_BREAK.finditer(q, at)]
    end = min(ends, default=len(q))
    tail = _SENTENCE_END.match(q, end)
    return q[start:tail.end() if tail else end]


def asks_something(text: str) -> bool:
    """Whether the message asks (a question form or a request) rather than only telling a situation."""
    q = normalize(text).strip().rstrip("。.!！ 　")
    return bool(_ASKS_FORM.search(q)) or language_of(text) == "en" and bool(re.search(r"\?|^(what|how|who|where|when|which|can|could|is|are|do|does|will|please)\b", q))


def _sentence_asks(sentence: str, asked: str) -> bool:
    """Whether a sentence asks: the question's own sentence by any question form; one before it only by
    an explicit one (「半年待たされることもある。どう動けばいい？」: the first sentence tells, the second asks)."""
    if asked and asked in sentence:
        return asks_something(sentence)
    return bool(_ASKS_EXPLICIT.search(sentence))


def slot_confidence(text: str, slot: str, trigger: str, *, program_talk: bool) -> float:
    """How surely `trigger` makes the message ask `slot` (1.0 sure; below SLOT_SURE, it is the owner's situation)."""
    v = vocabulary()
    q = _without_particles(normalize(text))
    t = _without_particles(normalize(trigger).strip("?？!！。 ").split(GAP)[-1])  # a gap trigger by its last part
    t = re.sub(r"(?<=[一-龥ァ-ヴー])[がを]$", "", t)  # 「書類が」 as the message reads without particles: 書類届いた
    confidence = 1.0
    asked = _without_particles(question_part(text))
    # a condition the owner states about themselves (うちはグループ会社なんですが) is what an eligibility
    # question about a program hinges on: there the situation is the question
    condition = slot in ("eligibility", "covered_costs") and program_talk and re.fullmatch(r"[一-龥ァ-ヴー]+", t)
    if t and t not in asked and t in q and not condition and not _sentence_asks(_sentence_with(q, t), asked):
        confidence -= SLOT_CONFIDENCE["situation"]
    at = q.find(t)
    # a noun (条件, 金額) inside a longer noun; verbs (使える) and phrases are not checked
    if at > 0 and re.fullmatch(r"[一-龥ァ-ヴー]+", t) and re.match(r"[一-龥ァ-ヴー]", q[at - 1]):
        if not any(c in q and t in c for c in v.slot_compounds):
            confidence -= SLOT_CONFIDENCE["compound"]
    if slot in _PROGRAM_ONLY and not program_talk:
        confidence -= SLOT_CONFIDENCE["no_program"]
    if slot != "contact" and _support_noun_after(asked, t):
        confidence -= SLOT_CONFIDENCE["modifier"]  # 「やり方を教えてくれる勉強会」 asks for the seminar
    if not asks_something(text):
        confidence -= SLOT_CONFIDENCE["no_question"]
    return max(0.0, min(1.0, confidence))


# Someone else's words quoted in the message (「タダにしろ」って言う客, 『対象です』って言われた): see _quoted_pattern.
def _without_quoted_speech(text: str) -> str:
    return vocabulary().quoted_speech.sub(lambda m: "「" + "\u3000" * len(m.group(1) or m.group(2)) + "」", text)


def owners_own_terms(message: str, matches: list) -> list:
    """The term-map matches of the owner's own words: a term only in someone else's quoted words
    (元請に「インボイス出せないなら値引きして」と言われた) is their setting, not the topic, while the
    owner's words hold another term; with none of their own, the quoted ones stand."""
    q = normalize(message)
    said = _without_quoted_speech(q)
    if said == q:
        return matches
    own = [m for m in matches if m.trigger not in q or m.trigger in said]
    return own or matches


def detect_asks(text: str, *, has_program: bool, program_context: bool = False, yes_no: bool = True) -> tuple[str, list[str], float]:
    """What is asked, the words that said so, and how sure that is (see slot_confidence).
    `program_context`: the last turn was about a program (「それって使えるの？」 then asks about that program)."""
    v = vocabulary()
    q = normalize(text)
    said = _without_quoted_speech(q)  # 「タダにしろ」って言うお客さん: the customer's words, not the owner's question
    every = dict(_all_matches(v.slots, said, v.not_within))  # slot -> its triggers in the text, in file order
    program_talk = has_program or bool(_PROGRAM_WORDS.search(q))
    talk = program_talk or program_context
    if talk and yes_no:
        for name, hits in _all_matches(v.slots_with_program, said):
            every[name] = every.get(name, []) + hits
        every = {name: every[name] for name in v.slots if name in every}
    docs = _matches(v.documents, q)
    if docs and not has_program and (not every or not program_talk):  # a named program's examples ask about it
        name, hit = docs[0]
        return f"doc:{name}", [hit], 1.0
    if not every:
        item = cost_item_asked(text) if program_talk else None
        if item:  # 「BCPの助成でノートパソコン買うのってあり？」「…ライセンス代は出る？」: what it pays for
            return "covered_costs", [item], COST_ASKED_SURE
        return "support", [], 1.0
    # each slot by its surest trigger; the first slot the question itself asks wins, a word of the
    # owner's situation gives way
    scored = []
    for name, hits in every.items():
        sure, best = max((slot_confidence(text, name, h, program_talk=talk), -i, h) for i, h in enumerate(hits))[::2]
        scored.append((name, best, sure))
    name, hit, sure = next((s for s in scored if s[2] >= SLOT_SURE), scored[0])
    hits = [hit, *(h for h in every[name] if h != hit)]  # the others may name its condition (滞納)
    if name == "eligibility" and yes_no:
        item = cost_item_in(question_part(text))
        if item:  # 「ハードウェアは助成対象になる？」 asks what the subsidy pays for
            return "covered_costs", [*hits, item], sure
    return name, hits, sure


COST_ASKED_SURE = 0.8  # read from the shape (a cost item, then a word asking whether it is paid), not a trigger


def cost_item_asked(text: str) -> str | None:
    """A cost item the question asks the money to pay for: the item, then one of `cost_asks`
    (「ノートパソコン買うのってあり？」, 「ライセンス代は出る？」, 「専門家に払うお金も対象？」)."""
    asked = question_part(text)
    item = cost_item_in(asked)
    if not item:
        return None
    after = asked[asked.find(normalize(item)) + len(normalize(item)):] if normalize(item) in asked else asked
    return item if any(w in after for w in vocabulary().cost_asks) else None


def cost_item_in(text: str) -> str | None:
    """A thing a subsidy may pay for, named in `text` (ハードウェア, a laptop)."""
    q = normalize(text)
    ja, en = vocabulary().cost_items
    for item in ja:  # the thing itself, as the subject asked about: 「パソコンも」「ハードウェアは」, not 設備投資支援事業
        if re.search(re.escape(item) + r"(は|も|でも|って|が|とか|を|代|の購入|購入|の費用|費用|の?制作|の?作成|の?開発|を?買|の?導入|なら|に(?:利用|使|充))", q):
            return item
    # 「建設費用は補助対象？」「ライセンス代は出る？」「専門家に払うお金も」: a cost of its own
    m = re.search(r"([一-龥ァ-ヴー]{2,8})(?:に|へ)(?:支)?払う(?:お金|費用|報酬|料金)", q)  # 専門家に払うお金: the payee's fee
    if m:
        return m.group(1)
    m = re.search(r"([一-龥ァ-ヴー]{1,8}(?:費用?|代|料金|代金))(は|も|って|とか)", q)
    if m:
        return m.group(1)
    return next((_phrase(p) for p in en if p.search(q)), None)


CONDITION_STOP = {
    "対象", "申請", "利用", "使う", "使える", "助成", "補助", "助成金", "補助金", "制度", "事業", "支援", "会社", "企業",
    "うち", "弊社", "当社", "場合", "こと", "もの", "ため", "よう", "する", "できる", "なる", "ある", "いる", "もらえる",
    "受ける", "受けられる", "中小企業", "東京都", "東京", "都", "公社", "応募", "申し込む", "可能", "大丈夫", "含む", "経費",
    "費用", "購入", "導入", "入れる", "買う", "機械", "設備", "でも", "も", "今回", "今年", "今年度",
    # what a 「これって違反？」 asks of the owner's facts, not a condition a sentence says yes or no of
    "違反", "違法", "問題", "ダメ", "アウト", "セーフ", "該当",
}


def other_conditions(text: str, tokens: list[str], programs: list[str], first: str | None) -> list[str]:
    """Conditions the owner states besides the first (「実店舗がなくてネットショップだけの個人事業主」: 個人事業主
    first, then 実店舗), each a word the guide may or may not speak to."""
    if first is None or language_of(text) == "en":
        return []
    named = compact("".join(programs))
    out: list[str] = []
    for tok in tokens:
        if len(tok) >= 2 and tok != first and tok not in CONDITION_STOP and compact(tok) not in named and not re.fullmatch(r"[ぁ-ゖ]+", tok):
            if any(tok in normalize(w) for w in vocabulary().condition_hints) and tok not in out:
                out.append(tok)
    return out


def condition_of(text: str, tokens: list[str], programs: list[str], trigger_words: list[str]) -> str | None:
    """The thing a yes/no question hinges on: 「中古の機械も対象ですか」 -> 中古; "sole proprietor" -> 個人事業主
    (the passages are Japanese, so an English condition is looked up by its Japanese word)."""
    q = normalize(text)
    for english, japanese in _CONDITION_EN.items():
        if re.search(r"(?<![a-z])" + re.escape(english) + r"s?(?![a-z])", q):
            return japanese
    if language_of(text) == "en":  # English words are not looked for in Japanese passages
        return None
    named = compact("".join(programs))
    triggers = {normalize(t) for t in trigger_words}
    for tok in tokens:
        if len(tok) < 2 or tok in CONDITION_STOP or tok in named or tok.isascii() and len(tok) < 3:
            continue
        if any(tok in t or t in tok for t in triggers if t):
            return tok
    for tok in tokens:
        if len(tok) >= 2 and tok not in CONDITION_STOP and compact(tok) not in named and not re.fullmatch(r"[ぁ-ゖ]+", tok):
            if any(tok in normalize(w) for w in vocabulary().condition_hints):
                return tok
    return None


_CONDITION_EN = {
    "sole proprietor": "個人事業主", "sole trader": "個人事業主", "self-employed": "個人事業主", "freelancer": "フリーランス",
    "subsidiary": "子会社", "parent company": "親会社", "group company": "グループ会社", "used equipment": "中古",
    "second-hand": "中古", "secondhand": "中古", "used machine": "中古", "lease": "リース", "leasing": "リース",
    "rental": "レンタル", "startup": "創業", "start-up": "創業", "tax arrears": "滞納", "unpaid tax": "滞納",
    "outside tokyo": "都外", "npo": "NPO", "nonprofit": "NPO", "non-profit": "NPO", "software": "ソフトウェア",
    "personal computer": "パソコン", "laptop": "パソコン", "pc": "パソコン", "tablet": "タブレット", "labor cost": "人件費",
    "labour cost": "人件費", "salaries": "人件費", "phishing email drill": "標的型メール訓練",
    "phishing drill": "標的型メール訓練", "targeted email": "標的型メール訓練", "saturday": "土日", "sunday": "土日",
    "weekend": "土日", "anonymous": "匿名", "anonymously": "匿名", "online trade show": "オンライン展示会",
}



def _specific_directions(matches: list) -> set[str]:
    return {m.entry.direction for m in matches if m.entry.direction}


def pick_choice(message: str, matches: list) -> str | None:
    """The direction a reply to a clarifying question picks, by number or in words."""
    m = _CHOICE_NUMBER.match(message)
    if m:
        digit = unicodedata.normalize("NFKC", m.group(1))
        return CIRCLED[int(digit) - 1] if digit.isdigit() else digit
    directions = _specific_directions(matches)
    if len(directions) == 1:
        return next(iter(directions))
    q = normalize(message)
    for marker, (label, _) in DIRECTIONS.items():
        words = [w for w in re.split(r"[・（）()、/ ]", normalize(label)) if len(w) >= 2]
        if any(w in q for w in words):
            return marker
    return None


def is_broad(message: str, tokens: list[str], matches: list, industry_words: Iterable[str] = ()) -> bool:
    """Too broad to answer well: no measure named and almost nothing beyond 補助金・支援."""
    if _specific_directions(matches):
        return False
    industry = list(industry_words)
    content = [t for t in tokens if t not in _BROAD_WORDS and len(t) > 1 and not any(t in w for w in industry)]
    return len(set(content)) <= 1 and len(message) <= 40


# -- the whole step ------------------------------------------------------------------------------


def understand(message: str, state: dict[str, Any] | None, **parts: Any) -> Intent:
    """The intent of one message (see `_understand`), with what the search reads of the question it resolves to."""
    intent = _understand(message, state, **parts)
    intent.named_by = {p: w for p in intent.programs if (w := parts["names"].naming_phrase(message, p))}
    if intent.act == "ask" and intent.asks in ("definition", "overview") and len(intent.programs) > 1:
        intent.programs = _subject_first(message, intent.programs, parts["names"])
    intent.sections, intent.asks_detail = read_aspects(intent.query)
    intent.tokens = list(parts.get("tokens") or [])
    asked = question_part(message)
    intent.asked_tokens = get_tokenizer().tokens(asked) if asked.strip() != normalize(message).strip() else list(intent.tokens)
    intent.term = term_asked(message) if _asks_what(message) else None
    return intent


BARE_QUESTION_CHARS = 12  # 「どこが変わるの」「どんな中身なの」: a question short enough to name nothing of its own


def _asks_of_named(message: str, named: list[str]) -> bool:
    """「IT補助金が名前変わるって聞いたけど、どこが変わるの」: a bare question after a sentence naming a
    program asks about that program (not 「…他に使える補助金ある？」, which asks for support, nor
    「…どうすればいい？」, which asks what to do)."""
    asked = question_part(message).strip()
    if not named or asked == normalize(message).strip() or len(compact(asked)) > BARE_QUESTION_CHARS:
        return False
    return not asks_what_to_do(asked) and not _matches({"money": vocabulary().money}, asked)


def _subject_first(message: str, programs: list[str], names: ProgramNames) -> list[str]:
    """What a 「何それ？」「何が違うの？」 is about: the program its question names, else the one named last,
    nearest the question (「IT補助金出そうとしたら自己宣言IDが要るって言われた。何それ」 asks about the
    declaration); a detail (「サイバーの助成金、二つ星って要る？」) stays with the program named first."""
    in_question = [p for p in names.named_in(question_part(message)) if p in programs]
    rest = [p for p in reversed(programs) if p not in in_question]
    return in_question + rest


def _understand(
    message: str,
    state: dict[str, Any] | None,
    *,
    names: ProgramNames,
    tokens: list[str],
    matches: list,
    owner: dict[str, Any] | None = None,
    directory: Directory | None = None,
) -> Intent:
    """The intent of one message. `state` is the conversation's state (its last answered turn,
    a pending clarifying question); `tokens` and `matches` are the message's Sudachi tokens and
    term-map matches; `owner` the owner's facts gathered so far, this message's included."""
    state = state or {}
    last = state.get("last")  # {"query", "direction", "programs", "shown", "cited", "language"}
    q = normalize(message)
    language = language_of(message)
    named = names.named_in(message)
    described = names.described_in(question_part(message))
    named = [n for n in named if n not in described]  # the law a seminar asked for is about is not the subject
    taken = names.phrases_in(message)  # the words that name a program of the documents
    others = directory.named_in(message, known=taken) if directory is not None else []
    unknown = unknown_names_in(message, known=[*taken, *others, *_aliases_in(directory, others)])
    if directory is not None:  # a program, law or scheme before an institution merely mentioned (商工会 in 持続化の質問)
        others.sort(key=lambda n: directory.entries[n].kind == "institution")
    carried = bool(last and last.get("programs") and len(message) <= FOLLOW_UP_MAX_CHARS)
    yes_no = is_yes_no(message)
    asks, triggers, sure = detect_asks(message, has_program=bool(named or others or unknown), program_context=carried, yes_no=yes_no)
    opinion = second_opinion(  # what the words cannot know
        message, asks, sure, found_words=bool(triggers), slots=SLOTS, vetoable=_PROGRAM_ONLY, program_named=bool(named or others or carried)
    )
    asks, sure = opinion.asks, opinion.confidence
    if asks in SLOTS and sure < SLOT_SURE:
        asks = "support"  # the owner's situation, not the question: answer at the level they asked
    about_other = _asks_about_other(message, asks, named, others, unknown, names, directory, topical=bool(_specific_directions(matches)))
    # the words that decided eligibility (個人事業主) are its condition; those of other kinds (料金) are not
    conditional = asks in ("eligibility", "covered_costs")
    condition = condition_of(message, tokens, named, triggers if conditional else []) if (yes_no or conditional) else None
    also = other_conditions(message, tokens, named, condition) if conditional else []
    intent = Intent(
        text=message, language=language, asks=asks, programs=named, yes_no=yes_no, money=asks_money(message), condition=condition,
        owner=dict(owner or {}), query=message, triggers=triggers, slot_confidence=sure, other_conditions=also,
        other_programs=[*others, *unknown], unknown_programs=unknown, topic=_topic_of(matches), about_other=about_other,
    )

    pending = state.get("clarify")
    if pending:
        choice = pick_choice(message, matches)
        if choice:
            intent.act = "choose"
            intent.direction = choice
            intent.query = f"{pending['query']} {DIRECTIONS[choice][0]}"
            intent.language = pending.get("language", language)
            intent.asks = "support"
            return intent

    if last and len(message) <= FOLLOW_UP_MAX_CHARS and not _SWITCH.search(q):
        if _ENGLISH.search(q):
            intent.act = "restate"
            intent.language = "en"
            intent.asks = last.get("asks", "support")
            intent.programs = list(last.get("programs", []))
            intent.query = last["query"]
            intent.direction = last.get("direction")
            intent.reuse = list(last.get("shown", []))
            intent.lead = last.get("lead")
            return intent
        if _MORE.search(q):
            intent.act = "more"
            intent.asks = "support"
            intent.query = last["query"]
            intent.direction = last.get("direction")
            intent.exclude = list(last.get("cited", []))
            intent.exclude_programs = list(last.get("shown_programs", last.get("programs", [])))
            intent.programs = []
            return intent
        new_topic = _specific_directions(matches) - {last.get("direction")}
        leans = bool(_FOLLOW_MARK.search(q)) or not _specific_directions(matches) or (asks in SLOTS and not named)
        if not new_topic and not named and not intent.other_programs and leans:
            intent.act = "follow_up"
            intent.direction = last.get("direction")
            intent.programs = list(last.get("programs", []))[:1]
            if asks == "support" and last.get("asks") in SLOTS and intent.programs:
                intent.asks = "support"
            industry = intent.owner.get("industry_word") or ""
            intent.query = " ".join(p for p in (last["query"], industry, message) if p)
            if last.get("language") == "en" and language == "ja" and not re.search(r"[ぁ-んァ-ン一-龥]", message):
                intent.language = "en"
            intent.topic = last.get("direction") or intent.topic
            # 「明日の天気どう？」 after a subsidy answer is no follow-up; a short 「それっていくら？」 is, whatever the model reads
            _mark_off_topic(intent, message, matches, named=[], read_by_model=False)
            return intent

    _mark_off_topic(intent, message, matches, named=named)
    if intent.topic == "off_topic":
        return intent
    trade = [intent.owner["industry_word"]] if intent.owner.get("industry_word") else []
    if asks == "support" and not named and not intent.other_programs and is_broad(message, tokens, matches, trade):
        intent.act = "clarify"
    elif asks in ("support", "overview", "definition") and len(compared := _compared(message, [*named, *intent.other_programs], names, directory)) >= 2:
        intent.asks = "definition"  # 「新事業進出の補助金ともの補助って何が違うの？」: what each is, side by side
        intent.compares = compared
    elif asks == "definition" and (named or intent.other_programs) and _asks_what_it_is(message, [*named, *intent.other_programs], names, directory):
        intent.asks = "overview"  # 「ジギョケイって何？」: what the program is, not a word's meaning
    elif asks == "support" and intent.act == "ask" and (
        intent.about_other or set(names.named_in(question_part(message))) - set(described) or _asks_of_named(message, named)
    ):
        intent.asks = "overview"  # 「事業承継税制について教えて」: the program itself
    return intent


def _asks_what_it_is(message: str, programs: list[str], names: ProgramNames, directory: Any) -> bool:
    """Whether 「〇〇って何？」 asks about the program named (not 「持続化の正社員って何？」)."""
    # the word asked about, in the question itself (「…って言われた。どんなところ？」 asks about what was named)
    term = compact(term_asked(question_part(message)) or "").lower()
    if not term or term in ("it", "this", "that", "それ", "これ", "あれ", "そこ"):
        return True  # 「何それ」, "what is it?": the thing just named
    # the word just before って: 「展示会の助成金の要項に休眠期間って」 asks 休眠期間
    term = re.split(r"(?:という|でいう|っていう|たら|けど|の|に|は|が|を|で|も)", term)[-1] or term
    words = [compact(p).lower() for p in programs]
    words += [k for k in names.phrases_in(message)]
    if directory is not None:
        words += [compact(a).lower() for p in programs if p in directory.entries for a in directory.entries[p].aliases]
    return any(w and (w in term or term in w) for w in words)


def _compared(message: str, names_found: list[str], names: ProgramNames, directory: Directory | None) -> list[str]:
    """The things a 「AとBって何が違うの？」 sets side by side: those named in the question itself, when it
    asks how they differ (「セキュリティアクションの一つ星と二つ星って何が違うの？」 compares no two programs)."""
    asked = question_part(message)
    if not any(w in normalize(asked) for w in vocabulary().compare_words):
        return []
    in_question = set(names.named_in(asked)) | set(directory.named_in(asked) if directory is not None else [])
    return [n for n in names_found if n in in_question]


def _asks_what(message: str) -> bool:
    """Whether the question asks what something is (「…って何？」「どういう仕組み？」「〇〇とは」), not
    something of it (「その客って罰せられるの？」)."""
    if language_of(message) == "en":
        return True
    q = normalize(message)
    asked = normalize(question_part(message)).rstrip("?？!！。 　")
    return any(w in q for w in ("何", "なに", "なん", "どう", "どんな")) or asked.endswith(("って", "とは", "の意味"))


def term_asked(text: str) -> str | None:
    """The word a definition question asks about: 「ＢＣＰって何？」 -> ＢＣＰ; "What is BCP?" -> BCP."""
    v = vocabulary()
    m = v.term.search(text)
    if m:
        term = m.group(1).lstrip("「『")
        return None if term in v.not_terms else term
    m = re.search(r"(?i)\bwhat (?:is|are|does) (?:an? |the )?[\"'“]?([A-Za-z][\w&\- ]{0,30}?)[\"'”]?(?: mean| stand for)?\s*\??$", text.strip())
    return m.group(1) if m else None




def _points_elsewhere(text: str) -> bool:
    """Whether the question turns from what the owner named to something else: 「公庫だけじゃ足りない。他にどこで借りれば？」,
    or asks about some program of its own kind (「…けど、使える補助金ある？」)."""
    v = vocabulary()
    for compound in v.slot_compounds:  # 「補助率って何割？」 asks the named program's rate, not for another subsidy
        text = text.replace(normalize(compound), "\u3000")
    return any(w in text for w in v.elsewhere)


def unknown_names_in(text: str, known: Iterable[str] = ()) -> list[str]:
    """Program-like names in `text` that neither the documents' programs nor the directory know.

    A name ends in a program word (補助金, 助成金, 法: `program_name_words`) and counts only when something
    of its own is left once the generic words (設備, 投資, IT…: `program_name_generic`) are taken out of what
    comes before it: 「雇用調整助成金」 is a name, 「設備投資補助金」 and 「申請方法」 are not."""
    v = vocabulary()
    ending = "(?:" + "|".join(map(re.escape, v.program_name_words)) + ")"
    q = normalize(text)
    taken = [compact(k).lower() for k in known if k]
    generic = sorted({normalize(w) for w in v.program_name_generic if w}, key=len, reverse=True)
    found: list[str] = []
    for m in re.finditer(r"([ァ-ヴーa-z0-9一-龥・&]{2,24}?" + ending + r")(?![ァ-ヴー一-龥])", q):
        name = m.group(1).lstrip("・")
        if name.endswith(v.not_program_name_ends):
            continue
        own = re.sub(ending + "$", "", name)
        for w in (*generic, *v.program_name_words):  # 「補助金・助成金」 is two kinds, no name
            own = own.replace(normalize(w), "")
        own = own.strip("・")
        key = compact(name).lower()
        if len(compact(own)) < 2 or re.fullmatch(r"[ぁ-ゖ・]*", own) or any(key in t or t in key for t in taken):
            continue
        if name not in found:
            found.append(name)
    return found


def _topic_of(matches: list) -> str:
    """The direction the message's own words point to (the one most of its terms belong to), or general."""
    counts: dict[str, int] = {}
    for m in matches:
        if m.entry.direction:
            counts[m.entry.direction] = counts.get(m.entry.direction, 0) + 1
    return max(counts, key=lambda d: (counts[d], -CIRCLED.find(d))) if counts else "general"


def _mark_off_topic(intent: Intent, message: str, matches: list, named: list[str], *, read_by_model: bool = True) -> None:
    """An everyday question (天気, 株価) outside SME support: off topic, unless it names a program, or
    two distinct SME measures outweigh the everyday word (株価 in 事業承継の株式評価で株価の決め方). A message
    with no everyday word listed is off topic when it asks for no support and the learned model reads it
    as everyday talk, surer when terms of the domain are its setting (a new question only: a short
    follow-up is the last topic's)."""
    if named or intent.other_programs:
        return
    everyday = off_topic(message)
    measures = {m.entry.id for m in matches if m.entry.direction}
    if everyday and len(measures) < 2:
        intent.off_topic = everyday
        intent.topic = "off_topic"
    elif read_by_model and not everyday and not asks_for_support(message) and reads_off_topic(message, domain_terms=bool(matches)):
        intent.topic = "off_topic"  # 「寝る前にできるストレッチ教えて」, 「取引先の社長の誕生日プレゼント何がいい」: everyday talk


def _aliases_in(directory: Any, names: list[str]) -> list[str]:
    if directory is None:
        return []
    return [a for n in names if n in directory.entries for a in directory.entries[n].aliases]
