"""Where the owner's question is: its language, whether it asks yes or no, the part after the
owner's situation (〜けど), someone else's quoted words, and the word a 「〇〇って何？」 asks about."""

from __future__ import annotations

import re

from ...guard import asks_for_support
from ...text import normalize
from .vocabulary import _matches, vocabulary


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
    if asked and (last.endswith(v.yes_no_endings) or re.search(r"[るたいうくすつむぶぐ]$", last)):  # 「申請できます？」「補助金で出る？」
        return True
    return bool(re.search(r"(ますか|ですか|でしょうか|ませんか|できる|使える|もらえる|受けられる|ある|いい|なる|対象|ok|大丈夫|ダメ|だめ|駄目|か|の)$", last))


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


CONTINUES_MAX = 10  # characters of a last sentence that may only point back (「その違いとは?」)


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
    # 「ハードウェアは助成対象になる?(中小企業デジタルツール導入促進支援事業)」: a closing bracket only says what it is about
    while len(sentences) > 1 and re.fullmatch(r"\s*[(（][^)）]*[)）]\s*", sentences[-1]):
        sentences.pop()
    # 「すぐもらえるの?それとも後から?」: the alternative belongs to the question before it
    if len(sentences) > 1 and sentences[-1].strip().startswith(vocabulary().alternatives):
        sentences[-2:] = [sentences[-2] + "?" + sentences[-1]]
    # 「…の定義を解説。その違いとは?」: a short sentence about what the one before named asks with it
    elif len(sentences) > 1 and len(sentences[-1].strip()) <= CONTINUES_MAX and sentences[-1].strip().startswith(vocabulary().continues_before):
        sentences[-2:] = [sentences[-2] + "。" + sentences[-1]]
    last = sentences[-1] if sentences else q
    return [c.strip("、,， 　") for c in _CLAUSE_BREAK.split(last) if c.strip("、,， 　")] or [last]


def asks_what_to_do(text: str) -> bool:
    """「何から手をつければいい？」「どうしたらいい」, or a word asking for support: the owner wants help, not
    the policy's account of the problem."""
    q = normalize(text)
    return asks_for_support(q) or any(w in q for w in vocabulary().what_to_do)


def asks_negative(text: str) -> bool:
    """「これって補助の対象から外れる？」「中古はダメ？」: the question asks whether something is excluded, so a
    sentence saying it is not covered answers it yes."""
    if language_of(text) == "en":  # the words are Japanese
        return False
    q = normalize(question_part(text))
    for w in vocabulary().asks_negative_not:
        q = q.replace(w, "")
    return any(w in q for w in vocabulary().asks_negative)


def asks_what_exists(text: str) -> bool:
    """「どのようなものがあるか」「法律とか制度って何かある？」: the question asks what support there is."""
    q = normalize(question_part(text))
    return any(w in q for w in vocabulary().what_exists)


def asks_what_counts(text: str) -> bool:
    """「どういうのが下請法違反になるの？」: the question asks what counts as something (a definition)."""
    q = normalize(question_part(text))
    return any(w in q for w in vocabulary().what_counts)


def guide_words_in(text: str) -> list[str]:
    """The guides' words for the costs and conditions an owner names (「HPの制作費」: ウェブサイト; フリーで: 個人事業主)."""
    q = normalize(text).lower()
    return [w for key, words in vocabulary().guide_words.items() if key in q for w in words]


def term_counted(text: str) -> str | None:
    """The word a 「どういうのが〇〇になるの？」 asks what counts as (下請法違反, カスハラ), or None."""
    q = normalize(question_part(text))
    for w in vocabulary().what_counts:
        at = q.find(w)
        if at >= 0:
            m = re.match(r"\s*(.+?)(?:になる|に当たる|にあたる|に該当|に入る|なの|なん|です|でしょう|[?？]|$)", q[at + len(w):])
            if m and len(m.group(1).strip()) >= 2:
                return m.group(1).strip()
    return None


def asks_quantity(text: str) -> bool:
    """「どれくらい効果あるの？」「何割の会社が…」: the question asks how much or how many (in any of its
    sentences: 「RPAってどれくらい効果あるの？実例があれば知りたい」)."""
    q = normalize(text)
    return any(w in q for w in vocabulary().asks_quantity)


def asks_what_to_do_in_words(text: str) -> bool:
    """「どうしたらいい？」「何しなきゃいけないの？」 in so many words (not any word of support: 助成, 制度)."""
    q = normalize(text)
    return any(w in q for w in vocabulary().what_to_do)


def _only_confirms(clause: str) -> bool:
    """「本当？」「マジ？」: a clause that only asks whether what came before is so."""
    bare = re.sub(r"[?？!！。、なのかねでしょうすよ]", "", clause)
    return bool(bare) and bare in vocabulary().confirmations


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


def _asks_what(message: str) -> bool:
    """Whether the question asks what something is (「…って何？」「どういう仕組み？」「〇〇とは」), not
    something of it (「その客って罰せられるの？」)."""
    if language_of(message) == "en":
        return True
    q = normalize(message)
    asked = normalize(question_part(message)).rstrip("?？!！。 　")
    return any(w in q for w in vocabulary().asks_what) or asked.endswith(("って", "とは", "の意味"))


_COMPARED_WORDS = re.compile(r"([^\s、。,.!?！？「」『』]{1,15}?と[^\s、。,.!?！？「」『』]{1,15}?)(?:って|は|の)(?:何が|なにが|どこが|どう)?(?:違|ちが)")


def term_compared(text: str) -> str | None:
    """「補助金と助成金って何が違うの？」: the two words set side by side ('補助金と助成金'), or None."""
    m = _COMPARED_WORDS.search(question_part(text))
    return m.group(1) if m and m.group(1) not in vocabulary().not_terms else None


def term_asked(text: str) -> str | None:
    """The word a definition question asks about: 「ＢＣＰって何？」 -> ＢＣＰ; "What is BCP?" -> BCP."""
    v = vocabulary()
    # (「『…してます』って言ってたけど」: a quote's って言 is no word asked)
    m = next((m for m in v.term.finditer(text) if not m.group(1).startswith("って")), None)
    if m:
        term = m.group(1).lstrip("「『")
        return None if term in v.not_terms else term
    m = re.search(r"(?i)\bwhat (?:exactly |really )?(?:is|are|does) (?:an? |the )?[\"'“]?([A-Za-z][\w&\- ]{0,30}?)[\"'”]?(?: mean| stand for)?(?: exactly| really)?\s*\??$", text.strip())
    return m.group(1) if m and m.group(1).strip().lower() not in v.not_terms else None  # "what is it?" names no word
