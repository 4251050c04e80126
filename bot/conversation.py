"""Turn planning without a language model: what a message means given the conversation so far.

- A short follow-up ("それは誰が対象ですか", "申し込みはどこで？") leans on the previous turn: it is
  searched together with the previous topic, within the previous direction.
- "ほかには？" searches the previous topic again, leaving out what was already cited.
- "英語で説明して" answers the previous topic again, in English.
- A question too broad to answer well ("補助金について教えて") gets a short question back with the
  five directions as choices; a reply that picks one (by number or in words) continues.
- A message that names a topic of its own starts afresh: the old topic is not dragged along.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .store import Conversation
from .terms import TermMatch
from .text import normalize

DIRECTIONS = {
    "①": ("IT化・設備導入で生産性を上げたい", "IT and equipment for productivity"),
    "②": ("新しいお客さま・販路を開拓したい（展示会・ネット販売など）", "new customers and sales channels"),
    "③": ("経営の安定（相談窓口・専門家・取引のトラブル・カスハラ）", "stable management, consultations, unfair trading"),
    "④": ("災害やサイバー攻撃に備えたい（BCP・セキュリティ）", "disasters and cyber attacks (BCP, security)"),
    "⑤": ("事業承継（跡継ぎ・会社の引継ぎ）", "business succession"),
}
CIRCLED = "①②③④⑤"

_FOLLOW_MARK = re.compile(
    r"^(それ|その|これ|この|そこ|あれ|じゃあ|では|なら|それなら|で[、,]|ちなみに|あと)"
    r"|(対象|条件|誰が|だれが|どこで|どこに|いつ|いくら|費用は|申し込み|申込|申請|窓口は|期限|締め切り|必要な書類|何を準備|準備するもの)"
    r"|(詳しく|具体的に|もう少し|例えば)"
    r"|^(what about|and |how do i apply|who is eligible|who can|where do i|how much|when )",
)
_MORE = re.compile(r"^(ほか|他)(には|に|は|にも)|^(もっと|他の|ほかの)(支援|施策|制度|もの|は|ある)|anything else|what else|any other|^others?\b")
_ENGLISH = re.compile(r"英語で|英語にして|in english|english please")
_CHOICE_NUMBER = re.compile(r"^\s*([1-5１-５①-⑤])\s*(番|つ目|番目)?\s*(で|を|が|です|でお願いします|お願いします)?\s*[。.!！]?\s*$")
_BROAD_WORDS = {
    "補助", "補助金", "助成", "助成金", "支援", "支援策", "制度", "施策", "何", "ある", "教える", "知る", "使う",
    "金", "お金", "東京", "東京都", "都", "中小", "企業", "中小企業", "会社", "うち", "相談", "向け", "ざっくり",
    "全般", "一覧", "色々", "種類", "全部", "纏める", "概要", "利用", "受ける", "貰える", "紹介", "主", "最近",
    "今", "助け", "手伝う", "知れる", "出る", "受けれる", "受けられる", "出来る", "探す", "くれる",
    "subsidy", "support", "grant", "help", "program", "programs", "tokyo", "government", "available",
}
# "話は変わるけど", "ところで": what follows is a new topic, whatever its length
_SWITCH = re.compile(r"^(話(は|が)?変わ|ところで|別件|別の話|それとは別|もう一つ別|by the way|another question|on another note)")
FOLLOW_UP_MAX_CHARS = 40


@dataclass
class Plan:
    """How to answer this message."""

    kind: str  # "answer", "clarify"
    query: str  # what to search
    direction: str | None = None
    exclude: set[str] = field(default_factory=set)
    english: bool | None = None  # None: follow the message's own language
    follow_up: bool = False
    reuse: list[str] = field(default_factory=list)  # answer from exactly these passages again
    overview: bool = False  # a broad question narrowed to a direction: one passage per measure
    aspect: str | None = None  # what a follow-up asks about: eligibility, application, cost, timing


def _specific(matches: list[TermMatch]) -> set[str]:
    """Directions of the measures a message names (generic words such as 補助金 have none)."""
    return {m.entry.direction for m in matches if m.entry.direction}


def pick_choice(message: str, matches: list[TermMatch]) -> str | None:
    """The direction a reply to a clarifying question picks, by number or in words."""
    m = _CHOICE_NUMBER.match(message)
    if m:
        digit = unicodedata.normalize("NFKC", m.group(1))
        return CIRCLED[int(digit) - 1] if digit.isdigit() else digit
    directions = _specific(matches)
    if len(directions) == 1:
        return next(iter(directions))
    q = normalize(message)
    for marker, (label, english) in DIRECTIONS.items():
        words = [w for w in re.split(r"[・（）()、/ ]", normalize(label)) if len(w) >= 2]
        if any(w in q for w in words):
            return marker
    return None


def is_broad(message: str, tokens: list[str], matches: list[TermMatch]) -> bool:
    """Too broad to answer well: no measure named and almost nothing beyond 補助金・支援."""
    if _specific(matches):
        return False
    # the owner's trade ("町工場", "飲食店") says who asks, not what about
    content = [t for t in tokens if t not in _BROAD_WORDS and len(t) > 1 and not any(t in w for w in _INDUSTRIES)]
    return len(set(content)) <= 1 and len(message) <= 40


def plan(message: str, conv: Conversation | None, tokens: list[str], matches: list[TermMatch]) -> Plan:
    state = conv.state if conv else {}
    last = state.get("last")  # {"query", "direction", "cited"} of the last answered turn
    q = normalize(message)

    pending = state.get("clarify")
    if pending:
        choice = pick_choice(message, matches)
        if choice:
            query = f"{pending['query']} {DIRECTIONS[choice][0]}"
            return Plan("answer", query, direction=choice, follow_up=True, overview=True)

    if last and len(message) <= FOLLOW_UP_MAX_CHARS and not _SWITCH.search(q):
        if _ENGLISH.search(q):
            return Plan("answer", last["query"], last.get("direction"), english=True, follow_up=True,
                        reuse=list(last.get("shown", [])))
        if _MORE.search(q):
            return Plan("answer", last["query"], last.get("direction"), exclude=set(last.get("cited", [])),
                        follow_up=True)
        new_topic = _specific(matches) - {last.get("direction")}
        if not new_topic and (_FOLLOW_MARK.search(q) or not _specific(matches)):
            industry = (conv.profile.get("industry") if conv else None) or ""
            return Plan("answer", f"{last['query']} {industry} {message}".replace("  ", " "),
                        last.get("direction"), follow_up=True, aspect=aspect_of(q))

    if is_broad(message, tokens, matches):
        return Plan("clarify", message)
    return Plan("answer", message)


def clarifying_question(message: str, english: bool) -> tuple[str, list[dict]]:
    choices = [
        {"n": i, "direction": marker, "label": label if not english else f"{marker} {en}"}
        for i, (marker, (label, en)) in enumerate(DIRECTIONS.items(), start=1)
    ]
    if english:
        lines = ["Happy to help. Which of these is closest to what you need? Reply with a number or in words."]
        lines += [f"{c['n']}. {c['label']}" for c in choices]
    else:
        lines = ["お調べします。どのようなことでお困りでしょうか。近いものを番号か言葉でお知らせください。"]
        lines += [f"{c['n']}. {c['direction']} {c['label']}" for c in choices]
    return "\n".join(lines), choices


_SIZE = re.compile(r"(従業員|社員|スタッフ)?\s*(\d{1,5})\s*(人|名)")
_INDUSTRIES = [
    "町工場", "製造業", "金属加工", "印刷", "建設", "工務店", "飲食店", "レストラン", "居酒屋", "ラーメン屋",
    "カフェ", "小売", "雑貨屋", "商店", "卸", "運送", "物流", "IT企業", "ソフトウェア", "美容室", "理容",
    "クリーニング", "旅館", "ホテル", "介護", "不動産", "設計事務所", "デザイン事務所",
]


def update_profile(profile: dict, message: str) -> None:
    """What the message says of the company (industry, size), kept for later turns."""
    text = unicodedata.normalize("NFKC", message)
    m = _SIZE.search(text)
    if m and (m.group(1) or "従業員" in text or "社員" in text):
        profile["employees"] = int(m.group(2))
    for word in _INDUSTRIES:
        if word in text:
            profile["industry"] = word
            break


# What a follow-up asks about, and the words a passage needs to answer it.
ASPECTS = {
    "eligibility": (re.compile(r"対象|誰が|だれが|条件|要件|使える|eligible|who can"), re.compile(r"対象|要件|条件|に対して")),
    "application": (re.compile(r"申し込み|申込|申請|手続|どこで|どこに|窓口|apply|application"), re.compile(r"申請|申込|申し込み|窓口|相談")),
    "cost": (re.compile(r"いくら|費用|金額|上限|助成率|何割|how much|cost"), re.compile(r"円|上限|助成率|以内|割")),
    "timing": (re.compile(r"いつ|期限|締め切り|締切|期間|when|deadline"), re.compile(r"期間|期限|締切|月|年度")),
}
ASPECT_NAMES = {
    "eligibility": ("対象となる方や条件", "who is eligible"),
    "application": ("申込みの方法や窓口", "how to apply"),
    "cost": ("金額や助成率", "amounts and rates"),
    "timing": ("時期や期限", "dates and deadlines"),
}


def aspect_of(message: str) -> str | None:
    for name, (asks, _) in ASPECTS.items():
        if asks.search(message):
            return name
    return None


def covers(aspect: str, texts: list[str]) -> bool:
    return any(ASPECTS[aspect][1].search(t) for t in texts)
