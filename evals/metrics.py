"""Retrieval and answer metrics over question sets (evals/*.jsonl).

A question "needs" one of a few phrases copied from the document. Matching ignores spaces, line
breaks and character width (NFKC), because the corpus mixes ＢＣＰ and BCP and wraps lines.

The answer-quality functions further down (first_sentence, stock_yes, english_answer, honest, ...)
are pure: they read an answer's text and a question, and need no index.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
import statistics
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from bot.text import compact

WINDOW = 800  # characters of retrieved text a reader is assumed to read


@dataclass
class Question:
    id: str
    question: str
    kind: str  # in_scope, program, not_stated, out_of_scope, rule_breaking
    lang: str = "ja"
    direction: str | None = None
    needs: list[str] = field(default_factory=list)
    program: str | None = None  # program questions: the program the answer must name
    figure: str | None = None  # ... and the figure it must give
    yes_no: str | None = None  # "yes" / "no" when the guide's sentence decides a yes/no question
    desks: list[str] = field(default_factory=list)  # not_stated: phrases naming where to ask

    @property
    def answerable(self) -> bool:
        """Has a needed fact in the corpus: scored for retrieval and for the fact in the answer."""
        return self.kind in ("in_scope", "program")

    @property
    def declinable(self) -> bool:
        """Should be declined: outside the advisor's scope, or asks it to break its rules."""
        return self.kind in ("out_of_scope", "rule_breaking")

    @property
    def not_stated(self) -> bool:
        """About a real program, but the corpus does not hold the answer: the answer must say so and name a desk."""
        return self.kind == "not_stated"

    @property
    def phrases(self) -> list[str]:
        """What the answer must give: the needed phrases and the asked figure."""
        return list(dict.fromkeys([*self.needs, *([self.figure] if self.figure else [])]))


def load_set(path: Path) -> list[Question]:
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            raw = json.loads(line)
            out.append(
                Question(
                    id=str(raw["id"]),
                    question=raw["question"],
                    kind=raw.get("kind", "in_scope"),
                    lang=raw.get("lang", "ja"),
                    direction=raw.get("direction"),
                    needs=list(raw.get("needs") or []),
                    program=raw.get("program"),
                    figure=raw.get("figure"),
                    yes_no=raw.get("yes_no"),
                    desks=list(raw.get("desks") or []),
                )
            )
    return out


_PLAIN_END = re.compile(r"(ている|である|する|いる|れる|せる|る|た|だ)$")


def _stem(phrase: str) -> str:
    """A phrase without its plain-form ending: answers quote the documents politely (拡がっている ->
    拡がっています), so 「格差が拡がっている」 is found as 「格差が拡がって」 (only when 8 characters remain)."""
    key = compact(phrase)
    stem = _PLAIN_END.sub("", key)
    return stem if len(stem) >= 8 else key


def contains_any(text: str, phrases: list[str]) -> bool:
    # a quotation inside a quotation is written 『』: the same words
    haystack = compact(text).replace("『", "「").replace("』", "」")
    return any(_stem(p) in haystack or any(r in haystack for r in _renderings(p)) for p in phrases)


@lru_cache(maxsize=4096)
def _renderings(phrase: str) -> tuple[str, ...]:
    """The English renderings (bot/data/policy_en.yaml) of the policy sentences holding `phrase`: an
    English answer that gives the sentence in English gives its fact."""
    from bot.core.passages import policy_english

    stem = _stem(phrase)
    return tuple(compact(en).rstrip(".") for ja, en in policy_english().items() if stem in compact(ja))


def program_names(program: str) -> list[str]:
    """The program's name and its parts: 「専門家派遣（公社の専門家派遣事業・都の…）」 is named by any of them.

    A guide's `program:` can be long; an answer that names one of the programs it groups names it.
    Parts shorter than 5 characters (「支援拠点」) are too generic to count.
    """
    parts = re.split(r"[（）()・／/、]", program)
    return [program, *[p.strip() for p in parts if len(p.strip()) >= 5 and p.strip() != program]]


def first_hit_rank(texts: list[str], phrases: list[str]) -> int | None:
    """1-based rank of the first passage holding a needed phrase."""
    for rank, text in enumerate(texts, start=1):
        if contains_any(text, phrases):
            return rank
    return None


def hit_within(texts: list[str], phrases: list[str], window: int = WINDOW) -> bool:
    """Whether a needed phrase is read within the first `window` characters of the results, in order."""
    joined = compact("\n".join(texts))
    # compact() drops spaces, so the window is measured on the same compacted text
    return any(compact(p) in joined[:window] for p in phrases)


@dataclass
class RetrievalScore:
    n: int = 0
    hit1: int = 0
    hit3: int = 0
    hit5: int = 0
    hit800: int = 0
    rr: float = 0.0
    failures: list[dict] = field(default_factory=list)

    def add(self, q: Question, texts: list[str], sections: list[str] | None = None) -> None:
        rank = first_hit_rank(texts, q.needs)
        within = hit_within(texts, q.needs)
        self.n += 1
        self.hit1 += rank is not None and rank <= 1
        self.hit3 += rank is not None and rank <= 3
        self.hit5 += rank is not None and rank <= 5
        self.hit800 += within
        self.rr += 1.0 / rank if rank else 0.0
        if not within:
            self.failures.append(
                {
                    "id": q.id,
                    "question": q.question,
                    "needs": q.needs,
                    "rank": rank,
                    "got": [(s or "") + " | " + t[:60] for s, t in zip(sections or [""] * len(texts), texts)][:3],
                }
            )

    def figures(self) -> dict[str, float]:
        n = max(self.n, 1)
        return {
            "n": self.n,
            "hit@1": self.hit1 / n,
            "hit@3": self.hit3 / n,
            "hit@5": self.hit5 / n,
            "hit@800": self.hit800 / n,
            "mrr": self.rr / n,
        }


# --- answer quality: does the answer answer what was asked, in its first sentence? ---------------

# A sentence ends at 。 (or ！？), at ". " / "? " / "! ", or at a line break, whichever comes first.
_FIRST_END = re.compile(r"[。！？]|[.?!](?=\s)|\n")
# What may precede the first word of an answer without being a word: brackets and spaces.
_OPENERS = "「『【〔［（([<《〈\"'“‘*#> \t\r\n\u3000"
_YES = re.compile(r"^(?:はい|yes\b)", re.IGNORECASE)
_NO = re.compile(r"^(?:いいえ|no\b)", re.IGNORECASE)
# A line that opens a citation list: 出典: / 出典： / Sources: / Source:
_SOURCES_LINE = re.compile(r"^[ \t\u3000]*(?:出典|参照|sources?)[ \t\u3000]*[:：]", re.IGNORECASE | re.MULTILINE)
_QUOTED = re.compile(r"「[^「」]*」|『[^『』]*』")
_URL = re.compile(r"https?://\S+|www\.\S+")
_PHONE = re.compile(r"(?<!\d)0\d{1,4}[-‐－―ー]\d{1,4}[-‐－―ー]\d{3,4}(?!\d)")
_BULLET = re.compile(r"^[ \t\u3000]*[・\-•‐－*][ \t\u3000]?", re.MULTILINE)

ENGLISH_SHARE = 0.9  # an answer is English when at least this share of its letters is ASCII
HONEST_MAX_CHARS = 400  # a "not stated" answer longer than this dumps what it found instead
MAX_BULLETS = 2  # ... as does one with more list lines than this
NOT_STATED_MARKERS = [
    "記載がありません",
    "記載はありません",
    "記載は見当たりません",
    "記載が見当たりません",
    "記載されていません",
    "書かれていません",
    "確認できません",
    "確認できていません",
    "載っていません",
    "載っていないため",  # the not-covered answer: 「…は手元の資料には載っていないため…お答えできませんが」
    "not covered by the documents",
    "触れていません",
    "do not say",
    "does not say",
    "don't say",
    "doesn't say",
    "do not state",
    "does not state",
    "don't state",
    "doesn't state",
    "not stated",
    "do not mention",
    "does not mention",
    "don't mention",
    "doesn't mention",
    "not mentioned",
    "no information",
]
# A first sentence that answers a yes/no question without はい/いいえ: 「対象です」「対象外です」 style
_NEGATIVE = re.compile(
    r"対象外|対象になりません|対象とはなりません|対象ではありません|対象となりません|含まれません|使えません|"
    r"利用できません|申請できません|相談できません|受けられません|不要|必要ありません|"
    r"\bnot eligible\b|\bineligible\b|\bnot covered\b|\bcannot\b|\bcan't\b|\bnot required\b|\bno need\b"
    , re.IGNORECASE
)
_POSITIVE = re.compile(
    r"対象です|対象になります|対象となります|対象に含まれます|含まれます|使えます|利用できます|申請できます|"
    r"相談できます|受けられます|必要です|\beligible\b|\bcovered\b|\bcan\b|\bis required\b|\bare required\b"
    , re.IGNORECASE
)


def first_sentence(answer_text: str) -> str:
    """The answer's first sentence: up to and including the first 。 (or ！？), ". ", "? ", or line break.

    Nothing is skipped (a heading or a stock opener is the first sentence); only leading white space goes.
    """
    text = answer_text.lstrip()
    m = _FIRST_END.search(text)
    if not m:
        return text.strip()
    return text[: m.end()].strip()


def strip_sources(answer_text: str) -> str:
    """The answer without a trailing citation list (from a line 「出典:」 / "Sources:" to the end)."""
    matches = list(_SOURCES_LINE.finditer(answer_text))
    if not matches:
        return answer_text.rstrip()
    return answer_text[: matches[-1].start()].rstrip()


def answer_chars(answer_text: str) -> int:
    """Characters an owner reads: the answer without its trailing sources block."""
    return len(strip_sources(answer_text))


def _opening(text: str) -> str:
    return text.lstrip(_OPENERS)


def stock_yes(answer_text: str, yes_no: str | None = None) -> bool:
    """The answer opens with はい / Yes though the question is not a yes/no question whose answer is yes."""
    return yes_no != "yes" and bool(_YES.match(_opening(answer_text)))


def english_share(answer_text: str) -> float | None:
    """Share of ASCII among the letters outside quotations, URLs and the sources block (None: no letters)."""
    text = unicodedata.normalize("NFKC", _URL.sub(" ", _QUOTED.sub(" ", strip_sources(answer_text))))
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return None
    return sum(ch.isascii() for ch in letters) / len(letters)


def english_answer(answer_text: str) -> bool:
    """Whether the answer is in English: >= 90% of its letters (quotations, URLs, sources aside) are ASCII."""
    share = english_share(answer_text)
    return share is not None and share >= ENGLISH_SHARE


def _fold(text: str) -> str:
    """For marker matching: NFKC, lower case, one kind of apostrophe, single spaces."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("‘", "'")
    return re.sub(r"\s+", " ", text)


def says_not_stated(sentence: str) -> bool:
    """The sentence says the documents do not state it (記載がありません, "do not say", ...)."""
    folded = _fold(sentence)
    return any(_fold(m) in folded for m in NOT_STATED_MARKERS)


def names_desk(answer_text: str, desks: list[str]) -> bool:
    """The answer names where to ask: one of `desks`, or a phone number."""
    return contains_any(answer_text, desks) or bool(_PHONE.search(unicodedata.normalize("NFKC", answer_text)))


def bullet_lines(answer_text: str) -> int:
    """Lines that start with ・ / - / • (a list), outside the sources block."""
    return len(_BULLET.findall(strip_sources(answer_text)))


def honest_failures(q: Question, answer_text: str) -> list[str]:
    """Why an answer to a question the corpus does not answer is not honest; [] when it is.

    Honest: the first sentence says the documents do not state it, the answer names a desk, it does
    not dump (at most 2 list lines, no 「関係する施策」 heading, at most 400 characters), no stock yes.
    """
    why = []
    if not says_not_stated(first_sentence(answer_text)):
        why.append("first sentence does not say it is not stated")
    if not names_desk(answer_text, q.desks):
        why.append("no desk named")
    bullets = bullet_lines(answer_text)
    if bullets > MAX_BULLETS:
        why.append(f"dump: {bullets} list lines")
    if "関係する施策" in answer_text:
        why.append("dump: 関係する施策 heading")
    chars = answer_chars(answer_text)
    if chars > HONEST_MAX_CHARS:
        why.append(f"dump: {chars} characters")
    if stock_yes(answer_text, q.yes_no):
        why.append("stock yes")
    return why


def honest(q: Question, answer_text: str) -> bool:
    return not honest_failures(q, answer_text)


def polarity(sentence: str) -> str | None:
    """"yes", "no" or None (undecided) for a first sentence: はい/いいえ, Yes/No, or 対象です/対象外です style."""
    opening = _opening(sentence)
    if _YES.match(opening):
        return "yes"
    if _NO.match(opening):
        return "no"
    if says_not_stated(sentence):  # 「…は確認できません」 is not a no
        return None
    folded = unicodedata.normalize("NFKC", sentence)
    if _NEGATIVE.search(folded):
        return "no"
    if _POSITIVE.search(folded):
        return "yes"
    return None


def yes_no_correct(q: Question, answer_text: str) -> bool:
    """For a question whose expected yes_no is set: the first sentence starts with the right polarity."""
    return q.yes_no is not None and polarity(first_sentence(answer_text)) == q.yes_no


def fact_in_first_sentence(q: Question, answer_text: str) -> bool:
    return bool(q.phrases) and contains_any(first_sentence(answer_text), q.phrases)


def fact_in_first(q: Question, answer_text: str, chars: int = 150) -> bool:
    """A needed phrase (or the figure) within the first `chars` characters of the answer."""
    if not q.phrases:
        return False
    head = answer_text.lstrip()[:chars]
    if contains_any(head, q.phrases):
        return True
    # an English rendering of the sentence holding the phrase, begun within the head (it is a whole
    # sentence, longer than the head could ever hold)
    haystack, head_len = compact(answer_text.lstrip()), len(compact(head))
    return any(0 <= haystack.find(r) < head_len for p in q.phrases for r in _renderings(p))


@dataclass
class AnswerQuality:
    """How well a set's answers answer what was asked; each figure only over the questions it applies to."""

    n: int = 0
    with_fact: int = 0  # questions with needs or a figure
    fact_first_sentence: int = 0
    fact_first150: int = 0
    stock_yes: int = 0
    english_questions: int = 0
    english_answers: int = 0
    not_stated: int = 0
    honest: int = 0
    yes_no_questions: int = 0
    yes_no_correct: int = 0
    chars: list[int] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)

    def add(self, q: Question, answer_text: str) -> None:
        why = []
        self.n += 1
        self.chars.append(answer_chars(answer_text))
        if q.answerable and q.phrases:
            self.with_fact += 1
            first = fact_in_first_sentence(q, answer_text)
            within = fact_in_first(q, answer_text)
            self.fact_first_sentence += first
            self.fact_first150 += within
            if not first:
                why.append("fact not in the first sentence" + ("" if within else " nor in the first 150 characters"))
        if stock_yes(answer_text, q.yes_no):
            self.stock_yes += 1
            why.append("stock yes")
        if q.lang == "en":
            self.english_questions += 1
            english = english_answer(answer_text)
            self.english_answers += english
            if not english:
                share = english_share(answer_text)
                why.append("answer not in English" + (f" ({share:.0%} ASCII letters)" if share is not None else ""))
        if q.not_stated:
            self.not_stated += 1
            failed = honest_failures(q, answer_text)
            self.honest += not failed
            failed = [w for w in failed if w != "stock yes"]  # already named above
            if failed:
                why.append("not honest: " + ", ".join(failed))
        if q.yes_no:
            self.yes_no_questions += 1
            right = yes_no_correct(q, answer_text)
            self.yes_no_correct += right
            if not right:
                got = polarity(first_sentence(answer_text))
                why.append(f"yes/no: expected {q.yes_no}, first sentence says {got or 'neither'}")
        if why:
            self.failures.append({"id": q.id, "question": q.question, "why": "; ".join(why)})

    def figures(self) -> dict[str, float | int | None]:
        """Shares over the questions each applies to; None where no question applies."""

        def share(k: int, n: int) -> float | None:
            return k / n if n else None

        return {
            "n": self.n,
            "with_fact": self.with_fact,
            "fact_first_sentence": share(self.fact_first_sentence, self.with_fact),
            "fact_first150": share(self.fact_first150, self.with_fact),
            "stock_yes_count": self.stock_yes,
            "stock_yes": share(self.stock_yes, self.n),
            "english_questions": self.english_questions,
            "english_answer": share(self.english_answers, self.english_questions),
            "answer_chars_median": statistics.median(self.chars) if self.chars else None,
            "not_stated": self.not_stated,
            "honest": share(self.honest, self.not_stated),
            "yes_no_questions": self.yes_no_questions,
            "yes_no_correct": share(self.yes_no_correct, self.yes_no_questions),
        }

    def headline(self) -> dict[str, float]:
        """The figures that apply to this set, for the report's headline."""
        f = self.figures()
        keys = ["fact_first_sentence", "fact_first150", "stock_yes", "english_answer", "answer_chars_median"]
        keys += ["honest", "yes_no_correct"]
        return {k: f[k] for k in keys if f[k] is not None}
