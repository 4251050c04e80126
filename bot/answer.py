"""The extractive answer: the most relevant sentences of the best passages, politely, each cited.

No language model is involved, so nothing in the answer can come from anywhere but a cited
passage: each line is one sentence of a passage (its ending turned into です・ます), with [n].
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from pathlib import Path

import yaml

from .models import Answer, Citation, SearchResult
from .retrieval import Query
from .text import split_sentences
from .tokenize import JapaneseTokenizer

WHERE_TO_ASK = (
    "中小企業の経営に関するご相談は、東京都や東京都中小企業振興公社の相談窓口、"
    "お近くの商工会・商工会議所でも受け付けています。"
)

_GODAN_I = dict(zip("うくぐすつぬぶむる", "いきぎしちにびみり"))
_SKIP_SENTENCE = re.compile(r"^(?:資料|出典|※|≪|＜|（単位)")
_CONNECTIVE = re.compile(r"^(?:また|さらに|そこで|加えて|なお)、")
_BULLET = re.compile(r"^[•・○●◆◇□\s]+")


def is_english(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum(ch.isascii() for ch in letters) / len(letters) > 0.8


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
    # The morphemes were cut from NFKC text; replace by length from the original's end.
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
            return stem + "ました" + end  # 成功した → 成功しました (not 音便 forms: 行った)
    if pos[0] == "形容詞" and pos[5].startswith("終止形"):
        return body + "です" + end
    return sentence


# What kind of figure a question asks for, and what such a figure looks like in a sentence.
_FIGURE_KINDS = [
    (re.compile(r"上限|いくら|幾ら|何円|万円|億円|最大|限度|総額|金額|奨励金|how much|maximum|\bcap\b|amount"), re.compile(r"\d[\d,.]*\s*(億|万)?円")),
    (re.compile(r"助成率|補助率|何割|rate"), re.compile(r"\d+\s*/\s*\d+|\d+\s*割|\d+\s*%")),
    (re.compile(r"電話|番号|連絡先|フリーダイヤル|phone|number|call"), re.compile(r"\d{2,4}-\d{2,4}-\d{3,4}")),
    (re.compile(r"何回|回数|how many times"), re.compile(r"\d+\s*回")),
    (re.compile(r"何人|何名|人数|何社|社数|何件|件数|how many (people|staff|experts|advisors|companies|firms)"),
     re.compile(r"\d[\d,]*\s*(人|名|社|件)")),
    (re.compile(r"いつ|何年|何月|何日|日付|締め切り|締切|期限|開始|始まっ|始まり|できた|設立|when|what year|what date|since|deadline|due"),
     _DATES := re.compile(r"\d{4}\s*年|(令和|平成)\s*\d+\s*年|\d+\s*月\s*\d+\s*日")),
    # "since when": the date that something opened or began, not any date
    (re.compile(r"いつから|いつでき|できたの|始まった|開始|設立|開設|since|when did|started|founded|launched|opened"),
     _STARTED := re.compile(r"(\d{4}\s*年|(令和|平成)\s*\d+\s*年)[^。]{0,40}(開設|設立|開始|始ま|施行|創設|スタート)")),
]
_HAS_FIGURE = re.compile(r"[0-9０-９]")


def _sentence_score(sentence: str, query_tokens: set[str], tokenizer: JapaneseTokenizer, wanted=()) -> float:
    tokens = set(tokenizer.tokens(sentence))
    score = len(tokens & query_tokens) / (1 + 0.05 * len(tokens))
    if wanted and _HAS_FIGURE.search(sentence):
        score += 0.5
        # "上限はいくら?" is answered by the sentence with the amount in it
        score += 2.0 * sum(1 for rx in wanted if rx.search(sentence))
    return score


def pick_sentences(result: SearchResult, query: Query, tokenizer: JapaneseTokenizer, limit: int) -> list[str]:
    """The sentences of a passage that best match the question, in the passage's order."""
    sentences = [
        _BULLET.sub("", s)
        for line in result.chunk.text.split("\n")
        for s in split_sentences(line)
        if not _SKIP_SENTENCE.match(s)
    ]
    if not sentences:
        return []
    wanted = set(query.all_tokens)
    figures = asked_figures(query.text)
    if result.chunk.program is None:  # 「いつから準備すれば」 asks no date of the policy
        figures = tuple(f for f in figures if f is not _DATES and f is not _STARTED)
    scored = [(_sentence_score(s, wanted, tokenizer, figures), i) for i, s in enumerate(sentences)]
    best = sorted(scored, key=lambda x: (-x[0], x[1]))[:limit]
    return [sentences[i] for _, i in sorted(best, key=lambda x: x[1])]


@lru_cache(maxsize=1)
def _glosses() -> dict[str, str]:
    path = Path(__file__).parent / "data" / "headings_en.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def english_gloss(label: str) -> str | None:
    """What a heading means, in English (the heading itself stays in Japanese)."""
    return _glosses().get(label)


def measure_label(chunk) -> str:
    """The name of what a passage describes, from its section path (the document's own heading)."""
    if chunk.program:
        part = chunk.section.split(" > ")[-1]
        return chunk.program if part in (chunk.program, chunk.title) else f"{chunk.program}（{part}）"
    parts = chunk.section.split(" > ")
    if "当面の施策展開" in parts and parts[-1] != "当面の施策展開":
        return parts[-1]
    if "事例" in parts:
        return f"事例「{parts[-1]}」" if parts[-1] != "事例" else "事例"
    if "施策の方向性" in parts:
        return next((p for p in parts if p[:1] in "①②③④⑤"), "施策の方向性")
    return parts[-1]


def _kind_of(chunk) -> str:
    if chunk.program:
        return "guide"
    parts = chunk.section.split(" > ")
    if "当面の施策展開" in parts:
        return "measure"
    if "施策の方向性" in parts:
        return "direction"
    if "事例" in parts:
        return "case"
    if "現在の課題" in parts:
        return "issue"
    return "other"


_ORDER = {"guide": 0, "measure": 0, "direction": 1, "case": 2, "other": 3, "issue": 4}

_DIRECT = {
    "measure": ("はい。東京都の施策には「{label}」などの取組があります[{n}]。", "Yes. Tokyo's SME policy includes measures such as 「{label}」 [{n}]."),
    "direction": ("東京都は「{label}」として、この分野の支援を進めています[{n}]。", "Tokyo supports this area under the policy direction 「{label}」 [{n}]."),
    "case": ("参考になる{label}が紹介されています[{n}]。", "The policy describes a relevant case: {label} [{n}]."),
    "issue": ("東京都も、この点を中小企業の課題として挙げています[{n}]。", "The Tokyo Metropolitan Government names this as a challenge for SMEs [{n}]."),
    "other": ("「{label}」に関連する記述があります[{n}]。", "The documents cover this under 「{label}」 [{n}]."),
    "guide": ("「{program}」について、次のとおりご案内します[{n}]。", "Here is what the guide to 「{program}」 says [{n}]."),
}


def fiscal_note(citations: list[Citation], english: bool) -> str | None:
    """Figures from a program guide belong to a fiscal year: say which, and where to confirm."""
    seen: dict[str, Any] = {}
    for c in citations:
        ch = c.result.chunk
        if ch.program and ch.program not in seen:
            seen[ch.program] = ch
    if not seen:
        return None
    lines = []
    for program, ch in seen.items():
        year = ch.fiscal_year or "年度不明"
        if english:
            lines.append(f"※ The figures for 「{program}」 are from {year} (as of {ch.as_of}); they change every year — check the operator's latest guidelines before applying.")
        else:
            lines.append(f"※「{program}」の内容は{year}の情報です（{ch.as_of}時点）。金額や条件は年度ごとに変わるため、申請前に実施主体の最新の募集要項でご確認ください。")
    return "\n".join(lines)


SECOND_PROGRAM_SHARE = 0.8  # a program question also shows a second program scoring this close to the first
MIN_MEASURES = 2  # an owner asking what to do gets at least this many concrete measures when found


# Questions about the situation itself (figures, whether something is true): the policy's statement
# of the problem is the answer there, not a passage to swap for a measure.
_ASKS_FOR_FACTS = re.compile(
    r"どれくらい|どのくらい|何割|割合|本当|データ|統計|実態|現状|増えて|減って|広が|縮ま"
    r"|how many|how common|percent|share of|data|statistic|is it true",
    re.IGNORECASE,
)


def _with_measures(question: str, chosen: list[SearchResult], spare: list[SearchResult]) -> list[SearchResult]:
    """Swap the weakest general passages (the direction's overview, the problem) for measures found just below.

    「息子に継がせたい、何から始めれば」 ranks the direction's overview and the policy's statement of
    the problem first; the owner needs what the Tokyo government actually does. Cases stay: owners
    ask for them (体験談ってある?)."""
    chosen = list(chosen)
    extra = [r for r in spare if _kind_of(r.chunk) == "measure"]
    general_kinds = ("direction", "other") if _ASKS_FOR_FACTS.search(question) else ("direction", "issue", "other")
    while extra and sum(_kind_of(r.chunk) == "measure" for r in chosen) < MIN_MEASURES:
        general = [i for i, r in enumerate(chosen) if _kind_of(r.chunk) in general_kinds]
        if not general:
            break
        chosen[general[-1]] = extra.pop(0)
    return chosen


def compose(
    question: str,
    query: Query,
    results: list[SearchResult],
    tokenizer: JapaneseTokenizer,
    passages: int = 4,
    english: bool | None = None,
) -> Answer:
    """An owner's answer: a direct line, the measures that apply (each cited), and the next step."""
    english = is_english(question) if english is None else english
    eligible = [r for r in results if r.score >= 0.5 * results[0].score]
    chosen = eligible[:passages]
    if chosen and chosen[0].chunk.program:  # a program question: that program, and the policy behind it
        programs = [chosen[0].chunk.program]
        # a second program found almost as well stays: 「都の展示会の出展料」 may mean either of two
        runner_up = next((r for r in chosen if r.chunk.program and r.chunk.program not in programs), None)
        if runner_up is not None and runner_up.score >= SECOND_PROGRAM_SHARE * chosen[0].score:
            programs.append(runner_up.chunk.program)
        chosen = [r for r in chosen if r.chunk.program is None or r.chunk.program in programs]
    else:
        chosen = _with_measures(question, chosen, eligible[passages:])
    # An owner asks what support exists: measures first, then directions and cases, and the
    # policy's statement of the problem last (dropping it lost facts owners asked about).
    chosen.sort(key=lambda r: _ORDER[_kind_of(r.chunk)])
    citations: list[Citation] = []
    points: list[str] = []
    for r in chosen:
        sentences = pick_sentences(r, query, tokenizer, limit=2 if not citations or r.chunk.program else 1)
        if not sentences:
            continue
        n = len(citations) + 1
        citations.append(Citation(n, r))
        text = _CONNECTIVE.sub("", "".join(to_polite(s, tokenizer) for s in sentences))
        label = measure_label(r.chunk)
        if english:
            gloss = english_gloss(label)
            points.append(f"・「{label}」{f' ({gloss})' if gloss else ''}: {text} [{n}]")
        else:
            points.append(f"・{label}：{text}[{n}]")
    if not points:
        return refusal(question, "not_found")
    first = citations[0].result.chunk
    template = _DIRECT[_kind_of(first)][1 if english else 0]
    label = measure_label(first)
    direct = template.format(label=label, n=1, program=first.program or label)
    if english and (gloss := english_gloss(label)):
        direct = direct.replace(f"「{label}」", f"「{label}」 ({gloss})", 1)
    heading = (
        "Measures that apply (names as written in Japanese, so you can search for them; quoted in Japanese):"
        if english
        else "関係する施策："
    )
    note = fiscal_note(citations, english)
    tail = [note, next_step(citations, english)] if note else [next_step(citations, english)]
    return Answer("\n".join([direct, "", heading, *points, "", *tail]), citations, refused=False)


def asked_figures(question: str) -> tuple[re.Pattern, ...]:
    """What a figure of the kind asked for looks like (an amount, a phone number, a date...)."""
    asked = question.lower()
    return tuple(looks for asks, looks in _FIGURE_KINDS if asks.search(asked))


def add_asked_figure(answer: Answer, query: Query, tokenizer: JapaneseTokenizer, english: bool) -> None:
    """When the question asks for a figure the answer does not give but a cited program guide does,
    quote that sentence: 「ビジネスナビゲータは何人?」 is answered from the guide a measure links to."""
    figures = asked_figures(query.text)
    body = "\n".join(line for line in answer.answer.split("\n") if not line.startswith("※"))
    if not figures or any(rx.search(body) for rx in figures):
        return
    for c in answer.citations:
        if not c.result.chunk.program:
            continue
        sentence = next(iter(pick_sentences(c.result, query, tokenizer, limit=1)), "")
        if not any(rx.search(sentence) for rx in figures):
            continue
        ch = c.result.chunk
        text = to_polite(sentence, tokenizer)
        lines = [f"・「{ch.program}」: {text} [{c.n}]" if english else f"・{ch.program}：{text}[{c.n}]"]
        note = fiscal_note([c], english)
        if note and note not in answer.answer:
            lines.append(note)
        insert_before_next_step(answer, lines)
        return


def insert_before_next_step(answer: Answer, lines: list[str]) -> None:
    """Add lines to an extractive answer above its last line (the next step)."""
    head, sep, last = answer.answer.rpartition("\n")
    answer.answer = "\n".join([head, *lines, last]) if sep else "\n".join([answer.answer, *lines])


def next_step(citations: list[Citation], english: bool) -> str:
    """Whom to ask, where a cited passage says so; otherwise the implementing body's desk."""
    for c in citations:
        if re.search(r"相談(窓口|対応|に対応)|窓口での相談", c.result.chunk.text):
            label = measure_label(c.result.chunk)
            if english:
                return f"Next step: consultation is offered under 「{label}」 [{c.n}]; ask there which support fits your company."
            return f"次の一歩：「{label}」では相談の受付が示されています[{c.n}]。まずは窓口で、自社に合う支援をご確認ください。"
    if english:
        return "Next step: for eligibility, amounts and how to apply, please ask the body that runs the measure."
    return "次の一歩：対象や申込方法などの具体的な内容は、実施している機関の窓口にご確認ください。"


_REFUSALS = {
    "empty": "ご質問の内容が空のようです。お困りのことを一言でもお書きください（例：「展示会に出たいのですが、支援はありますか」）。",
    "rules": (
        "申し訳ありませんが、そのご依頼にはお応えできません。設定や内部の指示をお伝えしたり、"
        "ルールを外れたりすることはできません。東京都の中小企業支援策についてのご質問でしたら、喜んでご案内いたします。"
    ),
    "no_more": (
        "お手元の資料では、これ以上に関係する施策は見つかりませんでした。ほかにお困りのことがあれば、"
        "お気軽にお尋ねください。" + WHERE_TO_ASK
    ),
    "not_found": (
        "申し訳ありません。お手元の資料（東京都の中小企業施策）の中に、このご質問にお答えできる記述が見つかりませんでした。"
        "お困りの内容をもう少し詳しく（業種や、設備・販路・取引・災害への備え・事業承継など、どの分野のことか）お書きいただければ、"
        "改めてお探しします。" + WHERE_TO_ASK
    ),
}


def refusal(question: str, reason: str, topic: str | None = None, limit: int | None = None) -> Answer:
    if reason == "out_of_scope":
        about = f"{topic}に関するご質問" if topic else "このご質問"
        text = (
            f"申し訳ありませんが、{about}にはお答えできません。この窓口では、東京都の中小企業支援策"
            "（設備投資やIT化、販路開拓、経営の安定、災害やサイバー攻撃への備え、事業承継）についてご案内しています。"
            + WHERE_TO_ASK
        )
    elif reason == "too_long":
        text = (
            f"ご質問が長すぎるため、お受けできませんでした（上限は{limit:,}文字です）。"
            "お困りのことを短くまとめて、もう一度お送りください。"
        )
    else:
        text = _REFUSALS[reason]
    if is_english(question) and reason in {"out_of_scope", "rules", "not_found", "too_long"}:
        text = (
            "Sorry, I can only answer questions about the Tokyo Metropolitan Government's support for small "
            "and medium enterprises, from its published policy. "
            + ("I could not find anything on this in those documents. " if reason == "not_found" else "")
            + "For business consultations, Tokyo's SME support centers and local chambers of commerce can help.\n"
            + text
        )
    return Answer(text, [], refused=True, reason=reason)
