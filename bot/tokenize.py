"""Japanese tokens for BM25 and word vectors, from SudachiPy.

Each content word is kept in its Sudachi normalized form (取引 = 取り引き, セキュリティ = セキュリティー)
at two granularities: the long unit (mode C: 事業継続計画) and its short parts (mode A: 事業, 継続,
計画), so an owner's short word still meets the document's compound. ASCII words keep their
lower-cased surface (Sudachi would turn "want" into ウォント).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .text import squeeze

_CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞"}
_STOP_SUBPOS = {"非自立可能", "数詞"}
_STOP_WORDS = {
    "為る", "有る", "居る", "成る", "出来る", "行う", "図る", "進める", "向ける", "当たる", "係る", "於く",
    "こと", "事", "もの", "物", "ため", "為", "よう", "様", "等", "など", "方", "上", "中", "的", "場合",
    "今", "何", "誰", "ところ", "所", "とき", "時", "感じ", "みたい", "ん", "の",
    "思う", "言う", "聞く", "知る", "教える", "困る", "欲しい", "良い", "いい", "無い", "ない", "付く", "つく",
}
_EN_STOP = {
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "is", "are", "be", "i", "we",
    "my", "our", "me", "us", "you", "it", "do", "does", "can", "could", "how", "what", "which", "there",
    "any", "some", "get", "have", "has", "want", "would", "like", "need", "about", "from", "at", "by",
    "this", "that", "your", "tokyo", "company", "small", "business", "please", "help", "so", "if",
    "as", "am", "was", "not", "no", "but", "they", "them", "their", "who", "where", "when", "will",
}
_ASCII_WORD = re.compile(r"^[0-9a-z][0-9a-z.+#&'-]*$")
# Sudachi accepts at most ~49 KB per call; cut longer text at sentence ends first.
_MAX_CHARS = 4000
# Short texts' tokens are kept: the same passage sentences are scored and quoted on many turns, and
# the term map adds the same policy words to many questions. Bounded in count and length (whole
# passages at ingest pass through uncached), so memory stays small whatever the corpus.
_CACHE_SIZE = 4096
_CACHE_CHARS = 300


@dataclass(frozen=True)
class Morpheme:
    surface: str
    norm: str
    pos: tuple[str, ...]


class JapaneseTokenizer:
    """Content-word tokens in normalized form. Thread-safe: Sudachi tokenizers are not."""

    def __init__(self) -> None:
        from sudachipy import dictionary, tokenizer

        self._dictionary = dictionary.Dictionary(dict="core")
        self._mode_a = tokenizer.Tokenizer.SplitMode.A
        self._mode_c = tokenizer.Tokenizer.SplitMode.C
        self._local = threading.local()
        # per tokenizer (lru_cache is thread-safe); the results are tuples, callers get fresh lists
        self._cached_tokens = lru_cache(maxsize=_CACHE_SIZE)(self._tokens)
        self._cached_morphemes = lru_cache(maxsize=_CACHE_SIZE)(self._morphemes)

    def _tokenizer(self):
        tok = getattr(self._local, "tok", None)
        if tok is None:
            tok = self._local.tok = self._dictionary.create()
        return tok

    def morphemes(self, text: str) -> list[Morpheme]:
        """Long-unit morphemes of NFKC-normalized text, with their part of speech."""
        return list(self._cached_morphemes(text) if len(text) <= _CACHE_CHARS else self._morphemes(text))

    def tokens(self, text: str) -> list[str]:
        """Content words at long and short granularity, in order, for indexing and querying."""
        return list(self._cached_tokens(text) if len(text) <= _CACHE_CHARS else self._tokens(text))

    def _morphemes(self, text: str) -> tuple[Morpheme, ...]:
        out: list[Morpheme] = []
        for piece in _pieces(squeeze(unicodedata.normalize("NFKC", text))):
            for m in self._tokenizer().tokenize(piece, self._mode_c):
                out.append(Morpheme(m.surface(), m.normalized_form(), tuple(m.part_of_speech())))
        return tuple(out)

    def _tokens(self, text: str) -> tuple[str, ...]:
        out: list[str] = []
        tok = self._tokenizer()
        for piece in _pieces(squeeze(unicodedata.normalize("NFKC", text))):
            for m in tok.tokenize(piece, self._mode_c):
                word = _content_form(m.surface(), m.normalized_form(), m.part_of_speech())
                if word is None:
                    continue
                out.append(word)
                parts = m.split(self._mode_a)
                if len(parts) > 1:
                    for p in parts:
                        sub = _content_form(p.surface(), p.normalized_form(), p.part_of_speech())
                        if sub is not None and sub != word:
                            out.append(sub)
        return tuple(out)


def _content_form(surface: str, norm: str, pos) -> str | None:
    low = surface.lower()
    if low.isascii():
        if " " in low:  # Sudachi joins some English phrases ("want to"); keep the content word
            words = [w for w in low.split() if _ASCII_WORD.match(w) and w not in _EN_STOP and len(w) > 1]
            return words[-1] if words else None
        if _ASCII_WORD.match(low):
            return None if low in _EN_STOP or len(low) < 2 else low
        return None
    if pos[0] not in _CONTENT_POS or pos[1] in _STOP_SUBPOS:
        return None
    if norm in _STOP_WORDS or surface in _STOP_WORDS:
        return None
    if len(norm) == 1 and pos[0] != "名詞":
        return None
    return norm.lower()


def _pieces(text: str) -> list[str]:
    if len(text) <= _MAX_CHARS:
        return [text] if text else []
    out, start = [], 0
    while start < len(text):
        end = min(start + _MAX_CHARS, len(text))
        cut = text.rfind("。", start, end)
        end = cut + 1 if cut > start and end < len(text) else end
        out.append(text[start:end])
        start = end
    return out


@lru_cache(maxsize=1)
def get_tokenizer() -> JapaneseTokenizer:
    return JapaneseTokenizer()
