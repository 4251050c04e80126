"""Reading passages: their role in the document, their sentences, and polite Japanese.

A passage's role (measure, direction, case, statistic, vision, problem, program guide, rules) is
set at ingest from its section path (`role_of`); the answer picks passages by role and quotes their
sentences, each turned into です・ます. Nothing here words an answer: that is render.py's job.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from ..models import Chunk
from ..text import compact, split_sentences
from ..tokenize import JapaneseTokenizer

_GODAN_I = dict(zip("うくぐすつぬぶむる", "いきぎしちにびみり"))
_SKIP_SENTENCE = re.compile(r"^(?:資料|出典|※|≪|＜|（単位|このグラフ|この図|注[）)]|[(（]注)")
_CONNECTIVE = re.compile(r"^(?:また|さらに|そこで|加えて|なお)、")
_BULLET = re.compile(r"^[•・○●◆◇□\-\s]+")
_HAS_DIGIT = re.compile(r"[0-9０-９]")
_CHART_CAPTION = re.compile(r"^≪(.{2,60})≫$")
_VISION = re.compile(r"目指す|めざす|将来|10年後|１０年後|姿")
_CASE_TEXT = re.compile(r"\s*[^。\n]{0,40}?(?:株式会社|有限会社|協同組合)(?:[（(][^）)]{1,10}[市区町村][）)])は")
_VISION_TEXT = re.compile(r"10年後の中小企業像|目指すべき姿")


def chart_caption(chunk: Chunk) -> str | None:
    """The title of the chart a passage is (≪…≫ alone on its line), or None."""
    m = _CHART_CAPTION.match(chunk.text.strip())
    return m.group(1).strip() if m else None


def role_of(chunk: Chunk) -> str:
    """What a passage is in its document: guide, rules, measure, direction, case, statistic, vision, problem, other."""
    if chunk.program:
        return "guide"
    if chunk.kind == "rules":
        return "rules"
    parts = chunk.section.split(" > ")
    if _CASE_TEXT.match(chunk.text):  # a case column the page layout left under a measure's heading
        return "case"
    if "当面の施策展開" in parts:
        return "measure"
    if chart_caption(chunk):  # ≪後継者候補がいない企業の状況≫: a chart the text names, its figures only drawn
        return "statistic"
    if "事例" in parts or any(p.startswith("事例") for p in parts):
        return "case"
    if "施策の方向性" in parts or "方向性の体系" in " ".join(parts):
        return "direction"
    if _VISION.search(chunk.section) or _VISION_TEXT.search(compact(chunk.text)):
        return "vision"
    if "現在の課題" in parts:
        return "statistic" if _HAS_DIGIT.search(chunk.text) else "problem"
    return "other"


def to_polite(sentence: str, tokenizer: JapaneseTokenizer) -> str:
    """Turn a plain-form ending (〜する。〜である。) into です・ます; leave anything else as written."""
    body = sentence.rstrip()
    end = ""
    while body and body[-1] in "。．. 　":
        end = "。"
        body = body[:-1]
    if not body:
        return sentence
    if body.endswith("である"):
        return body[:-3] + "です" + end
    morphemes = tokenizer.morphemes(body)
    if not morphemes:
        return sentence
    last = morphemes[-1]
    pos = last.pos
    surface = last.surface
    stem = body[: len(body) - len(surface)]
    # at the end of a sentence 連体形 is 終止形 (Sudachi sometimes reads つなげる。 as 連体形)
    if pos[0] == "動詞" and pos[5].startswith(("終止形", "連体形")):
        kind = pos[4]
        if kind.startswith("サ行変格"):
            polite = surface[:-2] + "します" if surface.endswith("する") else None
        elif kind.startswith("五段") and surface[-1] in _GODAN_I:
            polite = surface[:-1] + _GODAN_I[surface[-1]] + "ます"
        elif kind.startswith(("上一段", "下一段")) and surface.endswith("る"):
            polite = surface[:-1] + "ます"
        elif kind.startswith("カ行変格") and surface.endswith("る"):
            polite = surface[:-2] + "きます"
        else:
            polite = None
        return stem + polite + end if polite else sentence
    if pos[0] == "助動詞" and surface == "だ":
        return stem + "です" + end
    if pos[0] == "助動詞" and surface == "た" and len(morphemes) > 1:
        before = morphemes[-2]
        if before.pos[0] == "動詞" and before.pos[5] == "連用形-一般":
            return stem + "ました" + end
    if pos[0] == "形容詞" and pos[5].startswith("終止形"):
        return body + "です" + end
    return sentence


def sentences_of(chunk: Chunk) -> list[str]:
    """A passage's sentences, without bullets, chart notes and source lines."""
    return list(_sentences(chunk.text))


@lru_cache(maxsize=8192)
def _sentences(text: str) -> tuple[str, ...]:
    # passages are read again on every turn that cites their program: split once
    return tuple(
        _BULLET.sub("", s)
        for line in text.split("\n")
        for s in _within_quotes(split_sentences(line))
        if s.strip() and not _SKIP_SENTENCE.match(s.strip()) and not line.startswith("#")
    )


_BRACKETS = (("「", "」"), ("『", "』"), ("（", "）"), ("(", ")"))


def _within_quotes(parts: list[str]) -> list[str]:
    """Sentences, with a 。 inside 「」 or （） kept in its sentence (a quoted remark or a note in brackets
    is not cut in two)."""
    out: list[str] = []
    depth = 0
    for part in parts:
        if depth > 0 and out:
            out[-1] += part
        else:
            out.append(part)
        depth = max(0, depth + sum(part.count(o) - part.count(c) for o, c in _BRACKETS))
    return out


def clean(sentence: str, tokenizer: JapaneseTokenizer) -> str:
    """A quoted sentence as an owner reads it: polite, without a leading connective."""
    return _CONNECTIVE.sub("", to_polite(sentence.strip(), tokenizer))


def best_sentences(
    chunk: Chunk,
    words: set[str],
    tokenizer: JapaneseTokenizer,
    limit: int = 1,
) -> list[str]:
    """The sentences of a passage that share most of `words`, in passage order."""
    scored = []
    for i, s in enumerate(sentences_of(chunk)):
        tokens = set(tokenizer.tokens(s))
        score = len(tokens & words) / (1 + 0.05 * len(tokens))
        scored.append((score, i, s))
    best = sorted(scored, key=lambda x: (-x[0], x[1]))[:limit]
    return [s for _, _, s in sorted(best, key=lambda x: x[1])]


def sentence_with(chunks: list[Chunk], phrase: str, *, whole_word: bool = False) -> tuple[Chunk, str] | None:
    """The first sentence among the passages that holds `phrase` (compared width- and space-blind;
    `whole_word`: as a word of its own, see `standalone_at`)."""
    key = compact(phrase)
    if not key:
        return None

    def holds(text: str) -> bool:
        return standalone_at(compact(text), key) >= 0 if whole_word else key in compact(text)

    for chunk in chunks:
        if not holds(chunk.text):
            continue
        for s in sentences_of(chunk):
            if holds(s):
                return chunk, s
        return chunk, ""
    return None


def standalone_at(text: str, word: str) -> int:
    """Where `word` stands as a word of its own in `text` (-1: nowhere): not the tail of a longer compound
    of the same script (法人 in 特定非営利活動法人 says nothing of a company that just became a 法人)."""
    at = text.find(word)
    while at > 0 and _same_script(text[at - 1], word[0]):
        at = text.find(word, at + 1)
    return at


_KANJI, _KATAKANA = re.compile(r"[一-龥々]"), re.compile(r"[ァ-ヴー]")


def _same_script(before: str, first: str) -> bool:
    return any(p.fullmatch(before) and p.fullmatch(first) for p in (_KANJI, _KATAKANA))


def measure_label(chunk: Chunk) -> str:
    """The name of what a passage describes, from its section path (the document's own heading)."""
    parts = chunk.section.split(" > ")
    if chunk.program:
        return chunk.program
    if "当面の施策展開" in parts and parts[-1] != "当面の施策展開":
        return parts[-1].strip("（）()")
    if "事例" in parts:
        return parts[-1] if parts[-1] != "事例" else "事例"
    if _CASE_TEXT.match(chunk.text):
        return "事例"
    if "施策の方向性" in parts:
        return next((p for p in parts if p[:1] in "①②③④⑤"), "施策の方向性")
    return parts[-1]


@lru_cache(maxsize=1)
def _glosses() -> dict[str, str]:
    path = Path(__file__).resolve().parents[1] / "data" / "headings_en.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def english_gloss(label: str) -> str | None:
    """What a heading means, in English (the heading itself stays in Japanese)."""
    glosses = _glosses()
    return glosses.get(label) or glosses.get(f"（{label}）") or glosses.get(label.strip("（）()"))


@lru_cache(maxsize=1)
def policy_english() -> dict[str, str]:
    """The policy's direction and measure sentences in English (bot/data/policy_en.yaml), by sentence."""
    path = Path(__file__).resolve().parents[1] / "data" / "policy_en.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def english_rendering(sentence: str) -> str | None:
    """The English of a policy sentence as the policy writes it; None where there is none."""
    return policy_english().get(sentence.strip())
