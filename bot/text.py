"""Japanese text helpers: width-folding normalization, line joining and sentence splitting.

Matching always runs on `normalize()`d text (NFKC, so ＢＣＰ = BCP and ＩＣＴ = ICT), while what a
reader sees keeps the document's own characters.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterable

_SPACE = re.compile(r"[\s\u3000]+")
# Whitespace between two non-ASCII characters carries no meaning in Japanese text
# (PDF extraction letter-spaces headings: "当 面 の 施 策 展 開").
_CJK_GAP = re.compile(r"(?<=[^\x00-\x7f])[\s\u3000]+(?=[^\x00-\x7f])")
# A sentence ends after 。！？, or after a closing bracket that follows one, unless a particle
# goes on with the sentence (「…。」と語る).
_SENTENCE_END = re.compile(r"(?<=[。！？!?])(?![」』）)\]])|(?<=[。！？][」』）)])(?![とのがをにでもはや])")


def in_order_found(text: str, keyed: Iterable[tuple[str, str]]) -> list[str]:
    """The names whose key occurs in `text` (already normalized as the keys are), in the order each first appears."""
    first: dict[str, int] = {}
    for key, name in keyed:
        at = text.find(key)
        if at >= 0 and (name not in first or at < first[name]):
            first[name] = at
    return sorted(first, key=first.get)


def is_wide(ch: str) -> bool:
    """True for characters outside ASCII (kana, kanji, full-width forms)."""
    return ord(ch) > 0x7F


def squeeze(text: str) -> str:
    """Drop whitespace between Japanese characters and collapse the rest to one space."""
    return _SPACE.sub(" ", _CJK_GAP.sub("", text)).strip()


def normalize(text: str) -> str:
    """Fold widths and case for matching: NFKC, lower case, no spaces inside Japanese."""
    return _normalize_kept(text) if len(text) <= _KEPT_CHARS else _normalize(text)


def compact(text: str) -> str:
    """NFKC with every space removed: for checking whether a phrase occurs in a passage."""
    return _compact_kept(text) if len(text) <= _KEPT_CHARS else _compact(text)


def _normalize(text: str) -> str:
    return squeeze(unicodedata.normalize("NFKC", text)).lower()


def _compact(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).lower()


# Matching normalizes the same short strings on every turn (trigger lists, hint words, passages and
# their sentences): both functions are pure, so a bounded number of their results is kept.
_KEPT_CHARS = 1000
_normalize_kept = lru_cache(maxsize=8192)(_normalize)
_compact_kept = lru_cache(maxsize=8192)(_compact)


def join_lines(left: str, right: str) -> str:
    """Join two pieces of one sentence that a line break cut apart."""
    left, right = left.rstrip(), right.lstrip()
    if not left:
        return right
    if not right:
        return left
    if is_wide(left[-1]) or is_wide(right[0]):
        return left + right
    return f"{left} {right}"


def split_sentences(text: str) -> list[str]:
    """Split at 。！？ (keeping a closing bracket with its sentence)."""
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p]


def sentence_pieces(text: str) -> list[str]:
    """The text in pieces that join back to it exactly (for streaming): each sentence with what follows it."""
    return [p for p in re.split(r"(?<=[。！？!?\n])|(?<=\. )", text) if p]


def ends_sentence(text: str) -> bool:
    text = text.rstrip()
    return bool(text) and (text[-1] in "。！？!?" or (len(text) > 1 and text[-1] in "」』）)" and text[-2] in "。！？"))
