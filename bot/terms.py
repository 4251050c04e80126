"""The domain term map: owners' words (and English) to the policy document's words.

The map is data (bot/data/terms.yaml). An entry fires when one of its `owners` or `en` triggers
occurs in the normalized question; its `policy` words are then added to the search query, so
"跡継ぎがいない" also searches for 後継者 and 事業承継, and "trade show" for 見本市 and 展示会.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .text import normalize

DEFAULT_PATH = Path(__file__).parent / "data" / "terms.yaml"
_HIRAGANA_TAIL = re.compile(r"[ぁ-ゖ]+$")


@dataclass(frozen=True)
class TermEntry:
    id: str
    policy: tuple[str, ...]
    triggers: tuple[str, ...]  # normalized Japanese triggers (substring match)
    english: tuple[frozenset[str], ...]  # English triggers as stem sets (all stems present)
    direction: str | None = None
    measure: str | None = None
    # phrases that point here only when nothing points to another direction: 「何から始めれば」 is
    # about IT for an owner who finds computers hard, but about succession after 「息子に継がせたい」
    vague: tuple[str, ...] = ()
    vague_english: tuple[frozenset[str], ...] = ()
    english_order: tuple[tuple[str, ...], ...] = ()  # the same triggers' stems in the order written


@dataclass(frozen=True)
class TermMatch:
    entry: TermEntry
    trigger: str


_EN_WORD = re.compile(r"[a-z0-9][a-z0-9&+'-]*")
_EN_STOP = {
    "a", "an", "the", "of", "to", "in", "on", "for", "with", "and", "or", "my", "our", "your", "is", "are",
    "i", "we", "me", "us", "it", "its", "be", "at", "by", "from", "can", "do", "does", "there", "any",
}


def stem(word: str) -> str:
    """A light English stemmer, applied alike to triggers and questions (selling = sell, kids = kid)."""
    w = word.lower().strip("'")
    for suffix, repl, min_len in (("ies", "y", 5), ("ing", "", 6), ("ed", "", 5), ("es", "", 5), ("s", "", 4)):
        if w.endswith(suffix) and len(w) >= min_len and not (suffix == "s" and w.endswith("ss")):
            w = w[: -len(suffix)] + repl
            if suffix in ("ing", "ed") and len(w) > 3 and w[-1] == w[-2] and w[-1] not in "ls":
                w = w[:-1]  # running -> run, but selling -> sell
            break
    return w


_IT = re.compile(r"(?<![A-Za-z])IT(?![A-Za-z])")


def english_stems(text: str, trigger: bool = False) -> frozenset[str]:
    """Content stems of English text. "IT" means information technology only when written in capitals
    in a question (a trigger's "it" always does), so "is it possible" does not fire the IT entry."""
    return frozenset(english_stem_list(text, trigger))


def english_stem_list(text: str, trigger: bool = False) -> list[str]:
    """The content stems of English text in the order written (see english_stems)."""
    text = _IT.sub(" infotech ", text)
    words = _EN_WORD.findall(normalize(text))
    if trigger:
        words = ["infotech" if w == "it" else w for w in words]
    return [stem(w) for w in words if w not in _EN_STOP]


class TermMap:
    def __init__(self, entries: list[TermEntry], tokenizer=None) -> None:
        self.entries = entries
        self.tokenizer = tokenizer
        # A trigger of several words also fires when all its words occur apart:
        # "ネットで売" matches "ネットで自社の商品を売りたい".
        self._token_triggers: list[tuple[TermEntry, str, frozenset[str]]] = []
        if tokenizer is not None:
            for e in entries:
                for t in e.triggers:
                    # stems without trailing okurigana: the trigger 売 (売り) meets the verb 売る
                    words = {_HIRAGANA_TAIL.sub("", w) or w for w in tokenizer.tokens(t)}
                    words = frozenset(w for w in words if not any(w != o and w in o for o in words))
                    if len(words) >= 2:
                        self._token_triggers.append((e, t, words))
        # Look-up tables, so a question is checked against the triggers it can meet, not all of them
        # (the answers are the same as trying every trigger of every entry in order):
        # Japanese triggers by first character, English stem sets and token triggers by one word.
        self._by_first: dict[str, list[tuple[int, int, str]]] = {}
        self._by_stem: dict[str, list[tuple[int, int, frozenset[str]]]] = {}
        self._any_stems: list[tuple[int, int, frozenset[str]]] = []  # an empty stem set meets every question
        for i, e in enumerate(entries):
            for j, t in enumerate(e.triggers):
                if t:
                    self._by_first.setdefault(t[0], []).append((i, j, t))
            for j, st in enumerate(e.english):
                if st:
                    self._by_stem.setdefault(min(st), []).append((i, j, st))
                else:
                    self._any_stems.append((i, j, st))
        self._token_by_word: dict[str, list[int]] = {}
        for k, (_, _, words) in enumerate(self._token_triggers):
            self._token_by_word.setdefault(min(words), []).append(k)
        self._vague_entries = [e for e in entries if e.vague or e.vague_english]
        # two-word phrases as written ("trade fair"): the same words the other way round ("fair trade")
        # are another phrase, not this trigger
        self._pairs = {tuple(o) for e in entries for o in e.english_order if len(o) == 2}

    def _other_phrase(self, i: int, j: int, sequence: list[str]) -> bool:
        """Whether entry i's two-word trigger j occurs in the question only the other way round, as a
        phrase of its own ("fair trade" in "a trade fair in Paris")."""
        order = self.entries[i].english_order
        if j >= len(order) or len(order[j]) != 2:
            return False
        a, b = order[j]
        pairs = set(zip(sequence, sequence[1:]))
        in_order = any(w == a and b in sequence[k + 1:] for k, w in enumerate(sequence))
        return (b, a) in pairs and (b, a) in self._pairs and not in_order

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH, tokenizer=None) -> "TermMap":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = []
        for raw in data.get("entries", []):
            policy = tuple(str(w) for w in raw.get("policy") or [])
            owner_words = [normalize(str(w)) for w in raw.get("owners") or [] if str(w).strip()]
            # ASCII triggers ("IT", "PC") match whole words only, or "it" would fire inside "exhibit"
            owners = tuple(w for w in owner_words if not w.isascii())
            written = [
                order
                for w in [*(w for w in owner_words if w.isascii()), *(str(x) for x in raw.get("en") or [])]
                if (order := english_stem_list(w, trigger=True))
            ]
            english = tuple(frozenset(order) for order in written)
            vague = [normalize(str(w)) for w in raw.get("vague") or [] if str(w).strip()]
            entries.append(
                TermEntry(
                    id=str(raw.get("id")),
                    policy=policy,
                    triggers=owners,
                    english=english,
                    direction=raw.get("direction"),
                    measure=raw.get("measure"),
                    vague=tuple(w for w in vague if not w.isascii()),
                    vague_english=tuple(st for w in vague if w.isascii() and (st := english_stems(w, trigger=True))),
                    english_order=tuple(tuple(order) for order in written),
                )
            )
        return cls(entries, tokenizer)

    def matches(self, question: str, tokens: list[str] | None = None) -> list[TermMatch]:
        q = normalize(question)
        q_stems = english_stems(question)
        # per entry, its first trigger (in the map's order) that occurs in the question
        ja: dict[int, tuple[int, str]] = {}
        for ch in set(q):
            for i, j, t in self._by_first.get(ch, ()):
                if t in q and (i not in ja or j < ja[i][0]):
                    ja[i] = (j, t)
        en: dict[int, tuple[int, frozenset[str]]] = {}
        if q_stems:
            candidates = [c for w in q_stems for c in self._by_stem.get(w, ())] + self._any_stems
            sequence = english_stem_list(question)
            for i, j, st in candidates:
                if st <= q_stems and (i not in en or j < en[i][0]) and not self._other_phrase(i, j, sequence):
                    en[i] = (j, st)
        found: dict[str, TermMatch] = {}
        for i in sorted(ja.keys() | en.keys()):
            e = self.entries[i]
            if i in ja:
                found[e.id] = TermMatch(e, ja[i][1])
            else:
                found[e.id] = TermMatch(e, " ".join(sorted(en[i][1])))
        if self._token_triggers:
            have = tokens if tokens is not None else self.tokenizer.tokens(question)
            # every prefix of every token: "a token starts with w" becomes one set look-up
            prefixes = {h[:i] for h in have for i in range(1, len(h) + 1)}
            ks = sorted(k for w in prefixes for k in self._token_by_word.get(w, ()))
            for k in ks:
                e, t, words = self._token_triggers[k]
                if e.id not in found and words <= prefixes:
                    found[e.id] = TermMatch(e, t)
        directions = {m.entry.direction for m in found.values() if m.entry.direction}
        for e in self._vague_entries:
            if e.id not in found and directions <= {e.direction}:
                hit = next((t for t in e.vague if t in q), None)
                if hit is None and q_stems:
                    hit = next((" ".join(sorted(st)) for st in e.vague_english if st <= q_stems), None)
                if hit is not None:
                    found[e.id] = TermMatch(e, hit)
        return [found[e.id] for e in self.entries if e.id in found]

    def expand(self, question: str) -> list[str]:
        """The policy words to add to a search for this question, without repeats."""
        return policy_words(self.matches(question))


def policy_words(matches: list[TermMatch]) -> list[str]:
    """The policy words of the matched entries, in order, without repeats."""
    seen: dict[str, None] = {}
    for m in matches:
        for w in m.entry.policy:
            seen.setdefault(w, None)
    return list(seen)


@lru_cache(maxsize=2)
def get_term_map(path: Path = DEFAULT_PATH) -> TermMap:
    from .tokenize import get_tokenizer

    return TermMap.load(path, get_tokenizer())  # a missing map is an error, not a silent drop in quality
