"""What fits the owner's need: the programs found, each with its headline figure, the policy
sentences that share most of the question's words (the measure behind the programs first), and
answers about the policy document itself."""

from __future__ import annotations

import re
from typing import Any, Iterable

from ...models import Chunk, FAQ_KIND, SearchResult
from ...text import compact
from ...tokenize import JapaneseTokenizer
from ..fiscal import older_than_now
from ..intent import Intent
from ..passages import best_sentences, chart_caption, english_gloss, measure_label, role_of, sentences_of
from ..programs import ProgramRecord
from .values import AnswerPlan, Bi, Library, Measure, Name, Say, Term, Year, quote_of
from .facts import _HAS_YEAR, _aside, _bi, _desk, _direction_of, _first, _fiscal_note, _headline, _not_stated, _owner_term, _passage_for, _plain_year, _verdict, _year


MAX_POINTS = 3
MAX_SUPPORT_POINTS = 2  # a broad need: the second program or the measure behind them, and the deciding requirement
MONEY_FOUND = 0.45  # of the top score: a paying program's guide found this high fits a question asking for money
MEASURE_PROGRAM_WEIGHT = 0.9  # a program found through the measure it carries out ranks a little below its measure  # beside an asked figure, the two facts an owner needs next


def _programs_found(
    lib: Library, results: list[SearchResult], limit: int = 2, exclude: Iterable[str] = (), money: bool = False, text: str = "",
    named: Iterable[str] = (),
) -> list[tuple[ProgramRecord, SearchResult | None]]:
    """The programs that fit, best first: of the guides among the passages found and the programs
    carrying out a measure found, those whose guides match the question's words best (`text`), then
    by score. When the owner asks for money, programs that pay (an upper limit or a rate) come first."""
    top = results[0].score if results else 0.0
    shown = set(exclude)
    best: dict[str, tuple[float, int, SearchResult | None]] = {}

    def add(name: str | None, score: float, order: int, result: SearchResult | None) -> None:
        record = lib.records.get(name or "")
        if record is None or record.name in shown:
            return
        if record.name not in best or score > best[record.name][0]:
            best[record.name] = (score, order, result)

    def pays(name: str) -> bool:  # a subsidy, a loan or a fund: money, not advice
        record = lib.records.get(name)
        return record is not None and (record.kind in ("subsidy", "loan", "fund") or record.subsidy_max_limit is not None or bool(record.subsidy_rate))

    for i, r in enumerate(results):
        # an operator's Q&A pair answers its own question (_faq_plan); it does not make its program fit a need
        if r.chunk.program and r.chunk.kind != FAQ_KIND and r.score >= 0.6 * top:
            add(r.chunk.program, r.score, i, r)
        elif (money and r.chunk.program and r.chunk.kind != FAQ_KIND and r.score >= MONEY_FOUND * top and pays(r.chunk.program)
              and r.chunk.direction in (None, "", results[0].chunk.direction)):  # of the need's own direction
            # 「チラシとかネット広告に使える補助金ってある？」: a subsidy's guide found a little lower still fits a money question
            add(r.chunk.program, r.score, i, r)
    for i, r in enumerate(results[:3]):
        if role_of(r.chunk) == "measure":
            for g in lib.program_guides(measure_label(r.chunk)):
                add(g.chunk.program, MEASURE_PROGRAM_WEIGHT * r.score, i, None)
    if money and text and results:
        # 「PC買うのに使える補助金ってある？」: the paying program whose guide's words fit the question best, of the
        # need's own direction, is a candidate even when the search found only the policy's passages
        fits = next(iter(lib.program_order(text, 3)), None)
        if fits is not None and pays(fits) and _direction_of(lib, fits) in (None, results[0].chunk.direction):
            add(fits, MONEY_FOUND * top, len(results), None)
    order = lib.program_order(text) if text and len(best) > 1 else {}

    # a Tokyo program found (one carrying out a measure of the policy) before a national scheme found
    # beside it: the documents' own answer leads, the scheme follows
    asked = set(named)  # a scheme the owner names is theirs to ask about, national or not
    ranked = sorted(best, key=lambda n: (money and not pays(n), not (lib.records[n].measure or n in asked) and not (money and order.get(n) == 1), order.get(n, len(order) + 1), -best[n][0], best[n][1]))
    # a second program keeps to the first one's direction (no succession desk beside a cyber measure)
    lead = _direction_of(lib, ranked[0]) if ranked else None
    ranked = ranked[:1] + [n for n in ranked[1:] if lead is None or _direction_of(lib, n) in (None, lead)]
    # one program that carries out no measure of the policy (a national scheme, 下請法 beside 取適法) at most,
    # so the Tokyo program that fits is not pushed out of a short list
    # (of two national schemes found, the one whose facts are this fiscal year's: 取適法 before 下請法 it replaced)
    outside = sorted((n for n in ranked if not lib.records[n].measure), key=lambda n: older_than_now(lib.records[n].fiscal_year))
    ranked = [n for n in ranked if lib.records[n].measure or n == (outside[0] if outside else None)]
    return [(lib.records[n], best[n][2]) for n in ranked[:limit]]


MONEY_WORDS = frozenset({"助成", "経費", "補助", "費用"})  # the policy's words for paying part of the cost
MONEY_WEIGHT = 2.0  # a sentence of them, for an owner asking for money


def _measure_pays_itself(lib: Library, result: SearchResult) -> bool:
    """A policy measure that pays part of the cost itself (団体の取組への支援: コーディネータ派遣や経費助成) and that
    no program guide carries out."""
    return role_of(result.chunk) == "measure" and not lib.program_guides(measure_label(result.chunk)) and any(
        w in result.chunk.text for w in MONEY_WORDS)


def _words(intent: Intent, tok: JapaneseTokenizer) -> set[str]:
    """The words a quoted sentence should share with the question (term-map words included)."""
    return {t for t in (intent.words or tok.tokens(intent.query)) if len(t) >= 2}


def _program_say(
    plan: AnswerPlan, lib: Library, record: ProgramRecord, hit: SearchResult | None, size: str | None, verdict: Any, owner: dict[str, Any] | None = None
) -> Say:
    """A program with its headline figure, cited to the passage that states it (no figure without one)."""
    name = Name(record.name, record.name_en)
    head = _headline(record, size)
    where = _passage_for(lib, record, head[1].ja, None) if head is not None else None
    if head is None or where is None:
        said = _sentence_on(plan, lib, record)  # a law or a desk: what its guide says of the owner's words
        if said is not None:
            return Say("program.quote", {"program": name, "quote": quote_of(said[1], lib.tokenizer)}, plan.cite(SearchResult(said[0], 1.0)))
        cites = plan.cite(hit or _passage_for(lib, record, None, "概要") or _first(lib, record))
        return Say("program.plain", {"program": name}, cites)
    kind, fact = head
    cites = plan.cite(where)
    values = {"program": name, "value": _bi(fact), "year": Year("") if _HAS_YEAR.search(fact.ja) else _year(record)}
    rate = record.rate_for(size) if size else None
    rate_at = _passage_for(lib, record, rate.ja, None) if rate is not None else None
    if kind == "upper_limit" and rate is not None and rate.size != "any" and rate_at is not None:
        rule = plan.cite(lib.rules_passage(verdict.section))
        cites += [n for n in rule + plan.cite(rate_at) if n not in cites]
        values.update(rate=_bi(rate), size=Term(f"size.{size}"), owner=_owner_term(owner or {}, verdict.basis))
        kind = "upper_limit_rate"
    return Say(f"program.{kind}", values, cites)


QUOTE_MIN_WORDS = 2  # words of the question a program's sentence shares, to be said beside its name


def _sentence_on(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> tuple[Chunk, str] | None:
    """The sentence of a program's guide sharing most of the question's words (「手形」: 取適法's ban on bills)."""
    # the owner's facts count here (「手形で払うって言われた」: the sentence on paying by bills)
    best = _closest_sentence(lib, record, _question_words(plan, lib, record, asked_only=False))
    return (best[1], best[2]) if best is not None and best[0] >= QUOTE_MIN_WORDS else None


def _question_words(plan: AnswerPlan, lib: Library, record: ProgramRecord, *, asked_only: bool = True) -> set[str]:
    """The question's words beyond the program's own names and everyday words (`asked_only`: those of the
    question itself, not of the owner's situation before it)."""
    # the program's name and the words that named it here; its other aliases (一つ星, 二つ星) may be what is asked
    naming = plan.intent.named_by.get(record.name)
    name_words = set(lib.tokenizer.tokens(record.name + (naming or "".join(record.aliases))))
    asked = (plan.intent.asked_tokens if asked_only else None) or plan.intent.tokens
    one_kanji = _KANJI_NOUN if asked_only else _NEVER  # a one-kanji word of the question itself (星), not of the situation (先)
    return {t for t in asked if (len(t) >= 2 or one_kanji.fullmatch(t)) and t not in name_words and t not in _EVERYDAY}


def _closest_sentence(lib: Library, record: ProgramRecord, words: set[str]) -> tuple[int, Chunk, str] | None:
    """(shared words, passage, sentence) of the program's guide sentence sharing most of `words`
    (not its asides, nor an operator's Q&A pair, which answers only its own question)."""
    best: tuple[int, Chunk, str] | None = None
    for chunk in lib.program_chunks(record.name):
        if _aside(chunk) or chunk.kind == FAQ_KIND:
            continue
        for sentence in sentences_of(chunk):
            overlap = len(set(lib.tokenizer.tokens(sentence)) & words)
            if overlap and (best is None or overlap > best[0]):
                best = (overlap, chunk, sentence)
    return best


_QUOTE_ROLES = {"measure": 1.0, "direction": 0.8, "case": 0.8, "problem": 0.8, "other": 0.8}
QUOTE_CANDIDATES = 5
BEHIND_WEIGHT = 1.25  # the measure the leading program carries out, quoted before others


def _best_quotes(
    results: list[SearchResult], words: set[str], tok: JapaneseTokenizer, limit: int, measures: Iterable[str] = (), *, money: bool = False
) -> list[tuple[SearchResult, str]]:
    """The sentences that answer a need best, one per passage and measure: each sentence of the first
    policy passages found, weighed by the question's words it holds, its passage's rank and role;
    the measures the programs shown carry out come first (the measure behind them)."""
    behind = {compact(m).strip("()（）") for m in measures if m}
    # (an operator's Q&A pair answers only the question it answers: _faq_plan, never a quote of a need)
    candidates = [r for r in results if role_of(r.chunk) in _QUOTE_ROLES and not _aside(r.chunk) and r.chunk.kind != FAQ_KIND][:QUOTE_CANDIDATES]
    if not candidates:
        return []
    top = max(r.score for r in candidates) or 1.0
    scored = []
    for rank, r in enumerate(candidates):
        weight = _QUOTE_ROLES[role_of(r.chunk)] * (0.5 + 0.5 * r.score / top)
        if compact(measure_label(r.chunk)).strip("()（）") in behind:
            weight *= BEHIND_WEIGHT
        for i, sentence in enumerate(sentences_of(r.chunk)):
            tokens = set(tok.tokens(sentence))
            overlap = len(tokens & words)
            if overlap:
                pays = MONEY_WEIGHT if money and tokens & MONEY_WORDS else 1.0  # asked for money: the sentence that pays
                scored.append((overlap / (1 + 0.03 * len(tokens)) * weight * pays, -rank, -i, r, sentence))
    scored.sort(key=lambda x: (-x[0], -x[1], -x[2]))
    out: list[tuple[SearchResult, str]] = []
    for _, _, _, r, sentence in scored:
        label = measure_label(r.chunk)
        if any(o.chunk.id == r.chunk.id or measure_label(o.chunk) == label for o, _ in out):
            continue
        out.append((r, sentence))
        if len(out) >= limit:
            break
    return out


def _best_guide_of_direction(lib: Library, intent: Intent, results: list[SearchResult]) -> list[tuple[ProgramRecord, SearchResult | None]]:
    """The program whose guide's words fit the question best, of the direction the passages found are in."""
    topics = [intent.topic] if intent.topic and intent.topic in "①②③④⑤" else []
    direction = next(iter(topics + [r.chunk.direction for r in results if r.chunk.direction]), None)
    if not direction:
        return []
    for name in lib.program_order(intent.query, 10):
        record = lib.records.get(name)
        if record is not None and name not in intent.exclude_programs and _direction_of(lib, name) == direction:
            return [(record, None)]
    return []


def _support_plan(plan: AnswerPlan, lib: Library, results: list[SearchResult]) -> AnswerPlan:
    """What fits my problem: the programs with their headline figures, then the measure behind them."""
    intent = plan.intent
    tok = lib.tokenizer
    words = _words(intent, tok)
    verdict = _verdict(intent.owner)
    size = verdict.size if verdict is not None and verdict.size in ("sme", "small") else None
    choosing = intent.act == "choose"  # a direction picked from the choices: its measures, one program
    programs = _programs_found(lib, results, 1 if choosing else 2, intent.exclude_programs, intent.money, intent.query, intent.programs) if plan.guides else []
    # a need (what to do, or a yes/no of the owner's case: 「息子が保証人にならずに済むってことあるの？」) a found guide may lead
    guide_may_lead = intent.wants_help or intent.yes_no
    if plan.guides and intent.wants_steps:
        # 「USBなくした…個人情報もれたかも。何しなきゃいけないの？」: the guide the owner's words named leads, found or not
        named = [lib.records[n] for n in intent.programs if n in lib.records and n not in intent.exclude_programs]
        programs = [(r, None) for r in named[:1] if all(r.name != p.name for p, _ in programs)] + programs
    if not programs and plan.guides and intent.wants_steps and results and not any(role_of(r.chunk) == "measure" for r in results[:3]):
        # 「値上げお願いしたら『据え置きじゃなきゃ切る』って言われた…どうにか交渉する方法ない？」: the search found only the
        # policy's account of the problem; the guide of the same direction whose words fit best is what to do
        programs = _best_guide_of_direction(lib, intent, results)
    # programs lead when the owner asks for money or a guide itself was found; otherwise the measure that
    # answers the need leads (「セミナーはある？」 is answered by the seminar), with the programs beside it
    # (a national scheme's guide found leads only when money is asked: the Tokyo measure answers otherwise)
    # (or when the owner asks what to do: 「協力金として差し引かれた。どのように対応すれば」 is answered by the law's guide and its desk)
    # 「組合で業界を盛り上げたい。経費も一部出してくれる支援は？」: the measure found first pays itself (経費助成)
    # and no guide carries it out; programs found through a lesser measure do not push it aside
    top_pays_itself = bool(results) and not any(hit is not None for _, hit in programs) and _measure_pays_itself(lib, results[0])
    programs_lead = bool(programs) and (
        (intent.money and not top_pays_itself) or choosing
        or any(hit is not None and (record.measure or record.name in intent.programs or guide_may_lead) for record, hit in programs)
        or (intent.wants_steps and any(record.name in intent.programs for record, _ in programs))  # named, what to do
    )
    if intent.lead is not None:  # 「英語で」: the same answer in the other language
        programs_lead = bool(programs) and intent.lead == "programs"
    plan.lead = "programs" if programs_lead else "measure"
    for record, _ in programs:
        plan.add_program(record)
    if programs_lead:  # cited in the order they are read
        says = [_program_say(plan, lib, record, hit, size, verdict, intent.owner) for record, hit in programs]
        plan.direct = Say("direct.support_" + says[0].key.split(".", 1)[1], says[0].values, says[0].cites)
        plan.points.extend(_plain_year(say) for say in says[1:])
    # the policy measure behind them (one beside programs, two otherwise): the sentences of the
    # passages found that share most of the question's words, measures before directions and cases
    room = 3 if choosing else 1 if programs else MAX_SUPPORT_POINTS
    behind = [programs[0][0].measure or ""] if programs else []  # the measure the leading program carries out
    if top_pays_itself and not programs_lead:  # the measure that pays, found first, is the one quoted
        behind = [measure_label(results[0].chunk)]
    quotes = _best_quotes(results, words, tok, room + (0 if programs and choosing else 1), behind, money=intent.money)
    if programs and not choosing:  # a second sentence beside programs only from the leading program's own direction
        home = _direction_of(lib, programs[0][0].name)
        quotes = quotes[:room] + [q for q in quotes[room:] if home and q[0].chunk.direction == home]
    if intent.wants_help:  # the policy's statement of the problem (大廃業時代が懸念) is no help: never first
        quotes = sorted(quotes, key=lambda q: role_of(q[0].chunk) == "problem")
    for r, sentence in quotes:
        values = {"label": Measure(measure_label(r.chunk)), "quote": quote_of(sentence, tok)}
        if plan.direct.key == "":
            plan.direct = Say("direct.measure" if role_of(r.chunk) == "measure" else "direct.quote", values, plan.cite(r))
        else:
            plan.points.append(Say(f"point.{role_of(r.chunk)}", values, plan.cite(r)))
    if not programs_lead:
        plan.points.extend(_plain_year(_program_say(plan, lib, record, hit, size, verdict, intent.owner)) for record, hit in programs)
    if plan.direct.key == "":
        # nothing but the policy's statement of the problem or other passages
        for r in results[:1]:
            sentence = next(iter(best_sentences(r.chunk, words, tok)), "")
            if sentence:
                plan.direct = Say("direct.quote", {"quote": quote_of(sentence, tok), "label": Measure(measure_label(r.chunk))}, plan.cite(r))
    if plan.direct.key == "":
        plan.refused, plan.reason = True, "not_found"
        return plan
    lead = programs[0][0] if programs else None
    if lead is not None and lead.prerequisites and len(plan.points) < MAX_SUPPORT_POINTS:
        f = lead.prerequisites[0]
        where = _passage_for(lib, lead, f.ja, "対象")
        if where is not None:  # the deciding requirement, where the guide states it
            plan.points.append(Say("point.prerequisite", {"value": _bi(f)}, plan.cite(where)))
    plan.next_step = _desk(plan, lib, lead)
    if programs:
        _fiscal_note(plan, programs[0][0])
    return plan


def _document_plan(plan: AnswerPlan, lib: Library, results: list[SearchResult]) -> AnswerPlan:
    """A question about the policy document itself, answered from passages of that role."""
    intent = plan.intent
    role = intent.document_role
    tok = lib.tokenizer
    if role == "directions":
        directions = lib.directions()
        if directions:
            ja, en = [], []
            for marker, name, where in directions:
                marks = "".join(f"[{n}]" for n in plan.cite(where))
                gloss = (english_gloss(f"{marker} {name}") or "").split("— ")[-1]
                ja.append(f"{marker} {name}{marks}")
                en.append(f"{marker} {gloss or '「' + name + '」'} {marks}".strip())
            plan.direct = Say("direct.directions", {"count": len(ja), "value": Bi("、".join(ja), "; ".join(en))})
            return plan
    passages = lib.role_passages(role or "", results, intent.text)
    if not passages:
        if role == "vision":  # the document heads its vision but states none of it in the text
            return _not_stated(plan, lib, None)
        return _support_plan(plan, lib, results)
    words = {t for t in intent.tokens if len(t) >= 2}
    scored = []
    for r in passages[:12]:
        found = _weighed_sentence(r.chunk, words, tok, intent.asks_quantity)
        if found:
            weight, sentence = found
            scored.append((-weight, role_of(r.chunk) != role, len(scored), r, sentence))
    scored.sort(key=lambda x: x[:3])
    for *_, r, sentence in scored[:2]:
        values = {"label": Measure(measure_label(r.chunk)), "quote": quote_of(sentence, tok)}
        chart = chart_caption(r.chunk)
        if chart:  # the chart is named, and that its figures are not in the text
            values["quote"] = chart
        if plan.direct.key == "":
            plan.direct = Say("direct.doc_chart" if chart else f"direct.doc_{role}", values, plan.cite(r))
        elif chart:
            plan.points.append(Say("point.chart", values, plan.cite(r)))
        else:
            plan.points.append(Say(f"point.{role_of(r.chunk)}", values, plan.cite(r)))
    if plan.direct.key == "":
        return _support_plan(plan, lib, results)
    return plan


def _weighed_sentence(chunk: Chunk, words: set[str], tok: JapaneseTokenizer, quantity: bool) -> tuple[int, str] | None:
    """The sentence of a policy passage that answers the question, and how many of its words it shares.
    A chart's title is all the text holds of the chart, and the chart is the figures asked for (one more);
    「どれくらい効果ある？」 is answered by a sentence with a figure (FIGURE_WEIGHT more)."""
    chart = chart_caption(chunk)
    if chart:
        overlap = len(set(tok.tokens(chart)) & words)
        return (overlap + 1 if overlap else 0), chart
    best = best_sentences(chunk, words, tok, limit=1)
    if not best:
        return None
    found = [(len(set(tok.tokens(best[0])) & words), best[0])]
    if quantity:
        found += [(len(set(tok.tokens(s)) & words) + FIGURE_WEIGHT, s) for s in sentences_of(chunk) if _HAS_FIGURE.search(s)]
    return max(found, key=lambda x: x[0])


FIGURE_WEIGHT = 2  # a figure, when the question asks how much, counts as much as two words of the question
_HAS_FIGURE = re.compile(r"[0-9０-９]+\s*(?:[%％割倍]|時間|社|人|件|万|億|円)")

# words too common in questions and guides to show that a sentence speaks to the question
_EVERYDAY = {
    "申請", "助成", "助成金", "補助", "補助金", "事業", "支援", "東京都", "東京", "公社", "利用", "使う", "できる", "する", "ある",
    "いる", "なる", "こと", "もの", "会社", "企業", "中小企業", "うち", "今年", "去年", "場合", "必要", "対象", "受ける", "もらう",
    "貰う", "くれる", "出来る", "思う", "言う", "良い", "いい", "教える", "知る", "聞く", "年度", "奨励金", "制度",
}
# a one-kanji word can be what is asked (一つ星 and 二つ星 leave 星), unless it only counts, places or points
_KANJI_NOUN = re.compile(r"[一-龥](?<![都国区市方件時日月年円人社者等上下中前後内外他私僕俺何今本化的性用分回度点])")
_NEVER = re.compile(r"(?!)")
