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

Its parts live in bot/core/understand/ (vocabulary, question, names, slots); this module puts
them together into one frozen reading of the message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..guard import asks_for_support, off_topic
from ..text import compact, normalize
from ..tokenize import get_tokenizer
from .ask_model import reads_off_topic, second_opinion
from .aspects import read_aspects
from .directory import Directory
from .rules import get_table
from .understand.vocabulary import SLOTS, _PROGRAM_ONLY
from .understand.question import _asks_what, asks_money, asks_negative, asks_quantity, asks_what_counts, guide_words_in, term_compared, term_counted, asks_what_exists, is_yes_no, language_of, question_part, term_asked
from .understand.names import ProgramNames, _aliases_in, _asks_what_that_is, _asks_about_other, _asks_of_named, _asks_what_it_is, _compared, _compares_parts, _subject_first, _asked_first, unknown_names_in
from .understand.slots import SLOT_SURE, condition_of, detect_asks, other_conditions, slot_confidence

# what the rest of the bot reads of the understanding's parts, from here
from .understand.question import asks_what_to_do, asks_what_to_do_in_words, owners_own_terms  # noqa: E402
from .understand.slots import CONDITION_STOP  # noqa: E402
from .understand.vocabulary import evidence_answers_alone, slot_evidence, slot_field  # noqa: E402

__all__ = [
    "CIRCLED", "CONDITION_STOP", "DIRECTIONS", "SLOTS", "Intent", "ProgramNames", "asks_what_to_do", "detect_asks",
    "evidence_answers_alone", "is_broad", "is_yes_no", "language_of", "owners_own_terms", "pick_choice", "question_part",
    "slot_confidence", "slot_evidence", "slot_field", "term_asked", "understand", "unknown_names_in",
]


DIRECTIONS = {
    "①": ("IT化・設備導入で生産性を上げたい", "IT and equipment for productivity"),
    "②": ("新しいお客さま・販路を開拓したい（展示会・ネット販売など）", "new customers and sales channels"),
    "③": ("経営の安定（相談窓口・専門家・取引のトラブル・カスハラ）", "stable management, consultations, unfair trading"),
    "④": ("災害やサイバー攻撃に備えたい（BCP・セキュリティ）", "disasters and cyber attacks (BCP, security)"),
    "⑤": ("事業承継（跡継ぎ・会社の引継ぎ）", "business succession"),
}
CIRCLED = "①②③④⑤"
FOLLOW_UP_MAX_CHARS = 40
SUGGESTED_MAX = 2  # directory entries named for a problem the owner describes without naming one
PAYING_KINDS = ("subsidy", "loan", "insurance")  # directory kinds a program's detail (what it covers) is asked of
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
DOCUMENT_ASKS = ("case", "statistic", "vision", "directions")


@dataclass
class Intent:
    """What one message means, given the conversation so far."""

    text: str  # the message as the owner wrote it
    language: str  # "ja" or "en": the language the answer is written in
    asks: str  # a slot (SLOTS), "doc:<role>" (DOCUMENT_ASKS), or "support"
    programs: list[str] = field(default_factory=list)  # programs named (here, or carried from the last turn)
    yes_no: bool = False
    asks_excluded: bool = False  # 「これって対象から外れる？」: the yes/no asks whether it is excluded (a 'not covered' sentence says yes)
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
    shown_before: list[str] = field(default_factory=list)  # a follow-up: the passages the last answer cited
    lead: str | None = None  # a restatement keeps what led the answer it restates: "programs" or "measure"
    triggers: list[str] = field(default_factory=list)  # the words that decided `asks`, for the report
    words: list[str] = field(default_factory=list)  # the question's tokens and the policy words the term map adds
    tokens: list[str] = field(default_factory=list)  # the message's own Sudachi tokens (read once, here)
    asked_tokens: list[str] = field(default_factory=list)  # those of its question part (after the owner's situation)
    named_by: dict[str, str] = field(default_factory=dict)  # program -> the words that first named it in the message
    suggested: list[str] = field(default_factory=list)  # directory entries for a problem described, none named
    counts_people: bool = False  # 「パートや役員も数に入る？」: how employees are counted, not whether the company is an SME
    what_it_is: bool = False  # 「…って聞かれた。あれ何？」: asks what the program named is
    guide_words: list[str] = field(default_factory=list)  # the guides' words for the costs and conditions the owner names (HP: ウェブサイト, フリーで: 個人事業主)
    asks_quantity: bool = False  # 「どれくらい効果あるの？」: how much or how many (a sentence with a figure answers)
    what_exists: bool = False  # 「役立つ法制度にはどのようなものがあるか」: asks what support there is, a program named among them
    wants_help: bool = False  # asks what to do, or for support in any word of it (支援, 相談): the policy's account of the problem never leads
    wants_steps: bool = False  # asks what to do in so many words (「どうしたらいい？」「何しなきゃいけないの？」): a guide that fits leads
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
    def suggests(self) -> bool:
        """A problem the documents hold no support for, described without naming a program (LED, 得意先の倒産):
        say so, and name the entries that address it."""
        return bool(self.suggested) and not self.programs and not self.other_programs and self.act == "ask" and self.topic != "off_topic"

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


def understand(message: str, state: dict[str, Any] | None, **parts: Any) -> Intent:
    """The intent of one message (see `_understand`), with what the search reads of the question it resolves to."""
    intent = _understand(message, state, **parts)
    if intent.asks == "company_size":
        asked = normalize(question_part(message))
        intent.counts_people = any(normalize(w) in asked for w in get_table().counting_words)  # company_size.yaml
    intent.named_by = {p: w for p in intent.programs if (w := parts["names"].naming_phrase(message, p))}
    if intent.act == "ask" and intent.asks in ("definition", "overview") and len(intent.programs) > 1:
        intent.programs = _subject_first(message, intent.programs, parts["names"])
    elif intent.act == "ask" and len(intent.programs) > 1 and intent.asks != "prerequisites":
        # (what a program requires is asked of it, not of the requirement the question names: 「サイバーの助成金、
        # …けど、SECURITY ACTIONの二つ星って宣言しとかないとダメ？」 asks the subsidy's prerequisite)
        intent.programs = _asked_first(message, intent.programs, parts["names"])
    intent.sections, intent.asks_detail = read_aspects(intent.query)
    intent.tokens = list(parts.get("tokens") or [])
    asked = question_part(message)
    intent.asked_tokens = get_tokenizer().tokens(asked) if asked.strip() != normalize(message).strip() else list(intent.tokens)
    intent.term = term_asked(message) if _asks_what(message) else term_counted(message)
    if intent.term is None and intent.asks == "definition" and not intent.programs and not intent.compares:
        intent.term = term_compared(message)  # 「補助金と助成金って何が違うの？」: two words, no program
    intent.wants_help, intent.wants_steps = asks_what_to_do(message), asks_what_to_do_in_words(message)
    intent.asks_quantity, intent.guide_words = asks_quantity(message), guide_words_in(message)
    return intent


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
    if directory is not None:  # 「個人版事業承継税制とは？」 names the directory's longer name, not the documents' one inside it
        inside = directory.phrases_only_inside(message, taken)
        named = [p for p in named if compact(names.naming_phrase(message, p) or "").lower() not in inside]
    others = directory.named_in(message, known=taken) if directory is not None else []
    unknown = unknown_names_in(message, known=[*taken, *others, *_aliases_in(directory, others)])
    if directory is not None:  # a program, law or scheme before an institution merely mentioned (商工会 in 持続化の質問)
        others.sort(key=lambda n: directory.entries[n].kind == "institution")
        # what the question itself names before what the owner's situation does (「労働保険の手続きをしてなかった。
        # 業務改善助成金って未加入だと使えない？」 asks about the grant)
        in_question = set(directory.named_in(question_part(message), known=names.phrases_in(question_part(message))))
        others.sort(key=lambda n: n not in in_question)
    carried = bool(last and last.get("programs") and len(message) <= FOLLOW_UP_MAX_CHARS)
    yes_no = is_yes_no(message)
    asks, triggers, sure = detect_asks(message, has_program=bool(named or others or unknown), program_context=carried, yes_no=yes_no)
    opinion = second_opinion(  # what the words cannot know
        message, asks, sure, found_words=bool(triggers), slots=SLOTS, vetoable=_PROGRAM_ONLY, program_named=bool(named or others or carried)
    )
    asks, sure = opinion.asks, opinion.confidence
    if asks in SLOTS and sure < SLOT_SURE:
        asks = "support"  # the owner's situation, not the question: answer at the level they asked
    if asks in _PROGRAM_ONLY and directory is not None and len(others) > 1:
        # 「最低賃金上げるついでに業務改善助成金使おうと思ってる。…パソコン買うのにも使えるの？」: the one that pays
        others.sort(key=lambda n: directory.entries[n].kind not in PAYING_KINDS)
    about_other = _asks_about_other(message, asks, named, others, unknown, names, directory, topical=bool(_specific_directions(matches)))
    # the words that decided eligibility (個人事業主) are its condition; those of other kinds (料金) are not
    conditional = asks in ("eligibility", "covered_costs")
    condition = condition_of(message, tokens, named, triggers if conditional else []) if (yes_no or conditional) else None
    also = other_conditions(message, tokens, named, condition) if conditional else []
    suggested = directory.suggested_for(message)[:SUGGESTED_MAX] if directory is not None and not (named or others or unknown) else []
    intent = Intent(
        text=message, language=language, asks=asks, suggested=suggested, programs=named, yes_no=yes_no, money=asks_money(message), condition=condition,
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
            intent.shown_before = list(last.get("shown", []))
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
    intent.what_exists = asks_what_exists(message)
    intent.asks_excluded = yes_no and asks_negative(message)
    if intent.topic == "off_topic":
        return intent
    trade = [intent.owner["industry_word"]] if intent.owner.get("industry_word") else []
    if asks == "support" and not named and not intent.other_programs and is_broad(message, tokens, matches, trade):
        intent.act = "clarify"
    elif asks in ("support", "overview", "definition") and len(compared := _compared(message, [*named, *intent.other_programs], names, directory)) >= 2:
        intent.asks = "definition"  # 「新事業進出の補助金ともの補助って何が違うの？」: what each is, side by side
        intent.compares = compared
    elif (
        asks == "definition" and (named or intent.other_programs) and not _compares_parts(message) and not asks_what_counts(message)
        and not names.explains(term_asked(question_part(message)), named)
        and _asks_what_it_is(message, [*named, *intent.other_programs], names, directory)
    ):
        intent.asks = "overview"  # 「ジギョケイって何？」: what the program is, not a word's meaning
        # 「…『パートナーシップ構築宣言してます』って言ってたけど、それって何なの？」: no word of its own is asked
        intent.what_it_is = term_asked(question_part(message)) is None
    elif asks == "support" and intent.act == "ask" and not intent.what_exists and not asks_what_to_do_in_words(message) and (
        intent.about_other or set(names.named_in(question_part(message))) - set(described) or _asks_of_named(message, named)
        or _asks_what_that_is(message, named)
    ):
        intent.what_it_is = _asks_what_that_is(message, named)
        intent.asks = "overview"  # 「事業承継税制について教えて」: the program itself
    return intent


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
    elif (
        read_by_model and not everyday and not asks_for_support(message)
        and not (matches and asks_what_to_do(question_part(message)))  # 「報酬から協力金を差し引かれた。どのように対応すれば」
        and reads_off_topic(message, domain_terms=bool(matches))
    ):
        intent.topic = "off_topic"  # 「寝る前にできるストレッチ教えて」, 「取引先の社長の誕生日プレゼント何がいい」: everyday talk
