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

from ..text import compact, normalize

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
        return {
            "language": self.language,
            "asks": self.asks,
            "programs": list(self.programs),
            "yes_no": self.yes_no,
            "money": self.money,
            "condition": self.condition,
            "owner": dict(self.owner),
            "act": self.act,
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
    found = []
    for name, (ja, en) in entries.items():
        hit = next((w for w in ja if w and w in text), None)
        if hit is None:
            hit = next((_phrase(p) for p in en if p.search(text)), None)
        if hit is not None:
            found.append((name, hit))
    return found


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
    last = re.split(r"[。！!]", q.rstrip("?？ 　"))[-1] or q
    if any(w in last for w in v.wh_ja):
        return False
    asked = q.rstrip(" 　").endswith(("?", "？"))
    last = last.rstrip("?？ 　")
    if last.endswith(("は", "って", "とは")):  # 「上限は？」 asks for a value
        return False
    if asked and last.endswith("ます"):  # 「申請できます？」
        return True
    return bool(re.search(r"(ますか|ですか|でしょうか|ませんか|できる|使える|もらえる|受けられる|ある|いい|なる|対象|ok|大丈夫|か|の)$", last))


_SUFFIX = re.compile(r"(支援事業|助成事業|促進事業|事業|助成金|プラス)$")


class ProgramNames:
    """The names owners may use for each program: full names, distinctive parts, aliases."""

    def __init__(self, programs: Iterable[tuple[str, Iterable[str]]]) -> None:
        self._parts: list[tuple[str, str]] = []
        for name, aliases in programs:
            parts = [p for p in re.split(r"[・（）()、「」]", name) if p]
            # 展示会出展助成事業 -> 展示会出展助成 (not DX推進助成金 -> DX推進: too short to name the program)
            parts += [_SUFFIX.sub("", p) for p in parts if _SUFFIX.search(p) and len(compact(_SUFFIX.sub("", p))) >= 5]
            for part in [name, *parts, *aliases]:
                key = compact(part)
                if len(key) >= 4 or (part in aliases and len(key) >= 2):
                    if key not in _GENERIC_NAME_PARTS:
                        self._parts.append((key, name))
        self._parts.sort(key=lambda p: -len(p[0]))  # longest first: 展示会出展助成プラス before 展示会出展助成

    def named_in(self, text: str) -> list[str]:
        q = compact(text)
        found: list[str] = []
        for key, name in self._parts:
            if key in q and name not in found:
                found.append(name)
        return found


def asks_money(text: str) -> bool:
    """Whether the owner asks for money (費用の補助, help pay) rather than advice."""
    return bool(_matches({"money": vocabulary().money}, normalize(text)))


def detect_asks(text: str, *, has_program: bool, program_context: bool = False, yes_no: bool = True) -> tuple[str, list[str]]:
    """What is asked, and the words that said so. `program_context`: the last turn was about a program
    (「それって使えるの？」 then asks about that program)."""
    v = vocabulary()
    q = normalize(text)
    slots = _matches(v.slots, q)
    program_talk = has_program or bool(_PROGRAM_WORDS.search(q))
    if (program_talk or program_context) and yes_no:
        order = list(v.slots)
        slots = sorted({**dict(_matches(v.slots_with_program, q)), **dict(slots)}.items(), key=lambda x: order.index(x[0]))
    docs = _matches(v.documents, q)
    if docs and (not slots or not program_talk):
        name, hit = docs[0]
        return f"doc:{name}", [hit]
    if slots:
        name, hit = slots[0]
        # 「相談窓口はありますか」 in a question about what support exists still wants the desk
        return name, [hit]
    return "support", []


CONDITION_STOP = {
    "対象", "申請", "利用", "使う", "使える", "助成", "補助", "助成金", "補助金", "制度", "事業", "支援", "会社", "企業",
    "うち", "弊社", "当社", "場合", "こと", "もの", "ため", "よう", "する", "できる", "なる", "ある", "いる", "もらえる",
    "受ける", "受けられる", "中小企業", "東京都", "東京", "都", "公社", "応募", "申し込む", "可能", "大丈夫", "含む", "経費",
    "費用", "購入", "導入", "入れる", "買う", "機械", "設備", "でも", "も", "今回", "今年", "今年度",
}


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
            if any(tok in normalize(w) for w in _CONDITION_HINTS):
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

# words that name a condition worth checking in the passages, when the question hinges on them
_CONDITION_HINTS = (
    "中古", "リース", "レンタル", "個人事業主", "フリーランス", "子会社", "親会社", "グループ会社", "滞納", "創業", "開業",
    "都外", "他県", "npo", "医療法人", "社会福祉法人", "学校法人", "一般社団法人", "みなし大企業", "大企業", "人件費",
    "ソフトウェア", "パソコン", "タブレット", "スマートフォン", "中古品", "工事費", "設置費", "代理", "代行",
)


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


def understand(
    message: str,
    state: dict[str, Any] | None,
    *,
    names: ProgramNames,
    tokens: list[str],
    matches: list,
    owner: dict[str, Any] | None = None,
) -> Intent:
    """The intent of one message. `state` is the conversation's state (its last answered turn,
    a pending clarifying question); `tokens` and `matches` are the message's Sudachi tokens and
    term-map matches; `owner` the owner's facts gathered so far, this message's included."""
    state = state or {}
    last = state.get("last")  # {"query", "direction", "programs", "shown", "cited", "language"}
    q = normalize(message)
    language = language_of(message)
    named = names.named_in(message)
    carried = bool(last and last.get("programs") and len(message) <= FOLLOW_UP_MAX_CHARS)
    yes_no = is_yes_no(message)
    asks, triggers = detect_asks(message, has_program=bool(named), program_context=carried, yes_no=yes_no)
    # the words that decided eligibility (個人事業主) are its condition; those of other kinds (料金) are not
    conditional = asks in ("eligibility", "covered_costs")
    condition = condition_of(message, tokens, named, triggers if conditional else []) if (yes_no or conditional) else None
    intent = Intent(
        text=message, language=language, asks=asks, programs=named, yes_no=yes_no, money=asks_money(message), condition=condition,
        owner=dict(owner or {}), query=message, triggers=triggers,
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
        if not new_topic and not named and leans:
            intent.act = "follow_up"
            intent.direction = last.get("direction")
            intent.programs = list(last.get("programs", []))[:1]
            if asks == "support" and last.get("asks") in SLOTS and intent.programs:
                intent.asks = "support"
            industry = intent.owner.get("industry_word") or ""
            intent.query = " ".join(p for p in (last["query"], industry, message) if p)
            if last.get("language") == "en" and language == "ja" and not re.search(r"[ぁ-んァ-ン一-龥]", message):
                intent.language = "en"
            return intent

    trade = [intent.owner["industry_word"]] if intent.owner.get("industry_word") else []
    if asks == "support" and not named and is_broad(message, tokens, matches, trade):
        intent.act = "clarify"
    return intent
