"""A program named: which one a question is about, what it is (its overview, or the guide's
sentence closest to the question), two compared side by side, and what a word means."""

from __future__ import annotations

import re

from ...models import Chunk, SearchResult
from ...text import compact
from ..intent import CIRCLED, Intent, slot_field
from ..passages import measure_label, role_of, sentence_with, sentences_of
from ..programs import ProgramRecord
from ..understand.vocabulary import vocabulary
from .values import AnswerPlan, Library, Name, Say, quote_of
from .facts import _aside, _desk, _direction_of, _fiscal_note, _not_stated, _passage_for, _with_common_rule
from .support import _closest_sentence, _question_words
from .slots import _hinge, _yes_no_plan


_COMPARE = {"違う", "違い", "変わる", "変わり", "変更", "比較"}  # 「何が違うの？」「どこが変わるの？」 ask of what the words name
_ABOUT = {"どんな", "何", "なに", "内容", "概要", "詳しい", "詳しく", "中身", "仕組み", "ついて", "全般", "説明"}
DETAIL_MIN_WORDS = 2  # a sentence quoted for a detail question shares at least this many of its words


def _overview_plan(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> AnswerPlan | None:
    """What a named program is: the first sentence of its guide's 概要, then its desk (None: no overview)."""
    overview = _passage_for(lib, record, None, "概要")
    first = next(iter(sentences_of(overview.chunk)), "") if overview is not None else ""
    if not first:
        return None
    naming = plan.intent.named_by.get(record.name)
    # (a nickname of the whole program, ジギョケイ, is no part of it: the overview stands)
    if naming and compact(naming) not in compact(first) and compact(naming) in compact(record.name):
        # a guide of two things (価格交渉促進月間・パートナーシップ構築宣言) named by one: its first sentence on that one
        chunks = [c for c in lib.program_chunks(record.name) if not _aside(c)]
        found = sentence_with(sorted(chunks, key=lambda c: c.id != overview.chunk.id), naming)
        if found is not None:
            overview, first = SearchResult(found[0], 1.0), found[1]
    plan.add_program(record)
    plan.direct = Say("direct.quote_program", {"program": Name(record.name, record.name_en), "quote": quote_of(first, lib.tokenizer)}, plan.cite(overview))
    plan.next_step = _desk(plan, lib, record)
    return plan


def _program_detail_plan(plan: AnswerPlan, lib: Library, record: ProgramRecord) -> AnswerPlan | None:
    """A question about a named program that no slot covers (何回, どこで, 総額): the guide's sentence
    that shares most of the question's words, quoted first."""
    tok = lib.tokenizer
    words = _question_words(plan, lib, record)
    best = _closest_sentence(lib, record, words)
    if not words - _ABOUT:  # 「〇〇について教えて」: the program itself, with its headline figure
        return None
    if best is None and plan.intent.language == "en" and (plan.intent.term or plan.intent.asks == "overview" and not plan.intent.yes_no):  # "What is the Yorozu center?"
        return _overview_plan(plan, lib, record)  # English words meet no sentence of a Japanese guide: what the program is
    hinge = _hinge(lib, plan.intent, lib.program_chunks(record.name)) if plan.intent.yes_no else None
    if hinge is not None:
        return _yes_no_plan(plan, lib, record, hinge)
    # 「一つ星と二つ星って何が違うの？」: one word asked beyond 違う, and the sentence holds it: that sentence
    whole = best is not None and not words - _ABOUT - _COMPARE - set(tok.tokens(best[2]))
    if (best is None or best[0] < DETAIL_MIN_WORDS and not whole) and not plan.intent.yes_no and plan.intent.wants_steps:
        # 「添付ファイルを開いちゃった。エモテットかも…どうしたらいい？」: no sentence speaks to the words; what the guide is for
        overview = _overview_plan(plan, lib, record)
        if overview is not None:
            return overview
    if best is None or (best[0] < DETAIL_MIN_WORDS and not whole) or plan.intent.yes_no:
        # a yes/no question no sentence of the guide says yes or no to: a sentence near its words is no answer
        # a detail of this program that no sentence of its guide speaks to: say so, name the desk, and what the
        # common rules say of the owner's words (「もの補助って結局あとで返さないといけないお金なんでしょ？」)
        every_word = _question_words(plan, lib, record, asked_only=False)
        return _with_rule_on_words(_with_common_rule(_not_stated(plan, lib, record), lib), lib, every_word)
    plan.add_program(record)
    _, chunk, sentence = best
    cites = plan.cite(SearchResult(chunk, 1.0))
    plan.direct = Say("direct.quote_program", {"program": Name(record.name, record.name_en), "quote": quote_of(sentence, tok)}, cites)
    plan.next_step = _desk(plan, lib, record)
    plan.kind = "fact"  # a detail of the named program, quoted from its guide
    _fiscal_note(plan, record)
    return plan


RULE_WORDS_MIN = 2  # words of the question a common rule's sentence shares, one of them not a word every rule uses
_RULE_EVERYDAY = {"補助", "助成", "補助金", "助成金", "事業", "制度", "支援", "申請", "中小", "企業", "中小企業", "必要", "対象", "経費", "場合", "確認", "募集"}


def _with_rule_on_words(plan: AnswerPlan, lib: Library, words: set[str]) -> AnswerPlan:
    """Beside 'not stated for this program': the common rules' sentence on the question's own words (返す: 助成金・
    補助金は…原則として返す必要はありません), when no common rule was added already."""
    if plan.points or not words:
        return plan
    best: tuple[int, Chunk, str] | None = None
    for chunk in lib.rules_passages():
        for sentence in sentences_of(chunk):
            shared = words & set(lib.tokenizer.tokens(sentence))
            if len(shared) >= RULE_WORDS_MIN and shared - _RULE_EVERYDAY and (best is None or len(shared) > best[0]):
                best = (len(shared), chunk, sentence)
    if best is not None:
        _, chunk, sentence = best
        # the section's first sentence says what the rule is, when it too speaks to the owner's words
        # (「助成金・補助金は…原則として返す必要はありません」 before 「融資は…利息を付けて返します」)
        first = next(iter(sentences_of(chunk)), sentence)
        if (words & set(lib.tokenizer.tokens(first))) - _RULE_EVERYDAY:
            sentence = first
        plan.points.append(Say("point.common_rule", {"quote": quote_of(sentence, lib.tokenizer)}, plan.cite(SearchResult(chunk, 1.0))))
    return plan


def choose_program(intent: Intent, lib: Library, results: list[SearchResult]) -> ProgramRecord | None:
    """The program a slot question is about: named, carried from the last turn, or found first."""
    for name in intent.programs:
        if name in lib.records:
            return lib.records[name]
    if not results:
        return None
    top = results[0].score
    topical = intent.topic in CIRCLED

    def on_topic(record: ProgramRecord) -> bool:  # of the question's own direction (①–⑤), when it has one
        return topical and _direction_of(lib, record.name) == intent.topic

    candidates: list[ProgramRecord] = []
    for r in results[:8]:
        if r.chunk.program and r.score >= 0.4 * top and r.chunk.program in lib.records:
            record = lib.records[r.chunk.program]
            # a program of another direction than the question's own topic is not what it asks about
            # (「海外展開の補助ってその費用に使える？」 is no question about the BCP subsidy found beside it)
            other_topic = topical and _direction_of(lib, record.name) not in (None, intent.topic)
            if record not in candidates and not other_topic:
                candidates.append(record)
    # a Tokyo program found before a national scheme found beside it (the question named neither)
    candidates.sort(key=lambda c: not c.measure)
    # of the programs found, the first that holds what is asked (「割合」 asks a subsidy's rate, not a desk's)
    fld = slot_field(intent.asks) if intent.slot else None
    best = next((r.score for r in results[:8] if r.chunk.program), 0.0)
    close = [c for c in candidates if any(r.chunk.program == c.name and r.score >= 0.8 * best for r in results[:8])]
    if intent.asks == "contact" and not intent.programs:
        # 「相談できる窓口は？」 naming no program: a desk of the question's own topic (「ハッキングされた」: the
        # cyber desk, not the general one), Tokyo's own first; a national desk only when found as well as the
        # best; else the consultation service of the measure the passages describe; a subsidy's desk last
        desks = sorted((c for c in candidates if on_topic(c) and c.kind == "consultation"), key=lambda c: not c.measure)
        if desks and (desks[0].measure or desks[0] in close):
            return desks[0]  # even where its guide gives no phone (its operator's desks follow)
        by_measure = _measures_program(intent, lib, results)
        if by_measure is not None and by_measure.kind == "consultation":
            return by_measure
        if topical:  # 「会社を売ることを考え始めた。最初って誰に相談すればいい？」: the topic's desk whose guide fits the words
            for name in lib.program_order(intent.query, 10):
                record = lib.records.get(name)
                if record is not None and record.kind == "consultation" and on_topic(record):
                    return record
    else:
        by_measure = None
    # Tokyo's own programs first (candidates are in that order), then a national scheme found beside them
    home = [c for c in close if c.measure] + [c for c in candidates if c.measure and c not in close]
    for record in home:
        if fld and getattr(record, fld, None):
            return record
    if home:
        return home[0]
    # no Tokyo program found: the desk of the measure the passages describe, then a national scheme
    by_measure = by_measure or _measures_program(intent, lib, results)
    if by_measure is not None:
        return by_measure
    for record in close:
        if fld and getattr(record, fld, None):
            return record
    return candidates[0] if candidates else None


def _measures_program(intent: Intent, lib: Library, results: list[SearchResult]) -> ProgramRecord | None:
    """The one program carrying out the measure found first (「誰に相談すれば」: its consultation service)."""
    for r in results[:2]:
        if role_of(r.chunk) == "measure":
            records = [lib.records[g.chunk.program] for g in lib.program_guides(measure_label(r.chunk)) if g.chunk.program in lib.records]
            if intent.asks == "contact":  # the measure's consultation service, if it has one
                records = [c for c in records if c.kind == "consultation"] or records
            if len(records) == 1:
                return records[0]
    return None


COMPARED_MAX = 3  # things set side by side in one answer


def _compare_plan(plan: AnswerPlan, lib: Library) -> AnswerPlan | None:
    """「新事業進出の補助金ともの補助って何が違うの？」: what each is, in the first sentence of its guide's 概要
    (or of its directory entry, for one the documents do not cover), side by side, each cited."""
    tok = lib.tokenizer
    says: list[Say] = []
    for name in plan.intent.compares[:COMPARED_MAX]:
        record = lib.records.get(name)
        entry = lib.directory.entries.get(name) if record is None else None
        passage = _passage_for(lib, record, None, "概要") if record is not None else lib.directory_passage(name) if entry is not None else None
        first = next(iter(sentences_of(passage.chunk)), "") if passage is not None else ""
        if not first:
            continue
        if record is not None:
            plan.add_program(record)
        named = Name(record.name, record.name_en) if record is not None else Name(entry.name, entry.name_en)
        says.append(Say("point.compare", {"program": named, "quote": quote_of(first, tok)}, plan.cite(passage)))
    if len(says) < 2:
        return None
    cites = sorted({n for say in says for n in say.cites})
    plan.direct = Say("direct.compare", {"first": says[0].values["program"], "second": says[1].values["program"]}, cites)
    plan.points = says
    record = next((lib.records[n] for n in plan.intent.compares if n in lib.records), None)
    plan.next_step = _desk(plan, lib, record)
    plan.kind = "fact"
    return plan


_PHONE_AFTER = re.compile(r"\d{2,4}-\d{2,4}-\d{3,4}|フリーダイヤル|電話")


def _names_it(record: ProgramRecord, key: str) -> bool:
    """Whether the word asked is the program itself: its name or a nickname, with nothing left beside it but
    words saying what kind of thing it is (ジギョケイの認定, 「…」の認定制度); 省力化補助金のカタログ型 asks a part."""
    if not key:
        return False
    # a word the guide explains (カタログ型, also a nickname of the program) asks about itself
    explained = {compact(t) for t in record.terms}
    names = sorted({compact(n) for n in (record.name, *record.aliases) if len(compact(n)) >= 2} - explained, key=len, reverse=True)
    if any(t in key for t in explained):
        return False
    if any(key in n for n in names):  # 持続化 of 持続化補助金
        return True
    rest = key
    for n in names:
        rest = rest.replace(n, "")
    kinds = vocabulary().program_kind_words
    parts = [p for p in re.split(r"の|「|」|『|』", rest) if p]
    return all(p in kinds for p in parts)  # (「…」の認定制度: only a kind word, about the program named)


_DEFINES = re.compile(r"と定義|定義して|定義され|をいいます|をいう。|のことをいい")


def _definition_plan(plan: AnswerPlan, lib: Library, results: list[SearchResult]) -> AnswerPlan:
    """「〇〇って何？」: the sentence of the documents that says what the word means (one that explains
    it in brackets or with とは first, then the first passage found that uses it); else not stated."""
    term = plan.intent.term
    if term and "の" in term and not any(compact(term) in compact(c.text) for c in lib.chunks):
        term = term.rsplit("の", 1)[-1]  # 「セキュリティアクションの二つ星」: the word asked is 二つ星
    key = compact(term or "")
    named = next((lib.records[n] for n in plan.intent.programs if n in lib.records), None)  # its desk, when one is named
    if plan.intent.asks == "overview" and named is not None and _names_it(named, compact(plan.intent.term or "")):
        # 「ジギョケイってそもそも何？」 asks what the program is: its guide's overview, not a sentence that
        # merely holds its nickname (「略して『ジギョケイ』とも呼ばれます」)
        overview = _overview_plan(plan, lib, named)
        if overview is not None:
            return overview
    if len(key) < 2:
        return _not_stated(plan, lib, named)
    found = [r.chunk for r in results]
    ranked = sorted(lib.chunks, key=lambda c: (c.kind == "guide", c.id not in {f.id for f in found}))
    best: tuple[int, Chunk, str] | None = None
    for chunk in ranked:
        if key not in compact(chunk.text):
            continue
        for sentence in sentences_of(chunk):
            flat = compact(sentence)
            at = flat.find(key)
            if at < 0:
                continue
            after = flat[at + len(key): at + len(key) + 3]
            score = 2 if after[:1] in "(（:：" or after.startswith(("とは", "」とは")) else 1 if after.startswith("」") else 0
            if score < 2 and _DEFINES.search(flat):  # 「…カスハラを、…迷惑行為で…と定義しています」
                score = 1.5
            if score == 2 and _PHONE_AFTER.search(flat[at + len(key): at + len(key) + 30]):
                score = 0  # 「下請かけこみ寺: フリーダイヤル 0120-…」 is a desk's line, not what the word means
            if best is None or score > best[0]:
                best = (score, chunk, sentence)
        if best is not None and best[0] == 2:
            break
    if best is None:
        # 「事業承継ファンドって何？」: a program the guides name, not a word its text explains: its overview
        record = next((lib.records[n] for n in plan.intent.programs if n in lib.records), None)
        names = [compact(n) for n in (record.name, *record.aliases) if len(compact(n)) >= 3] if record is not None else []
        if record is not None and key not in compact(record.name + "".join(record.aliases)) and not any(n in key for n in names):
            # the word asked is not the program's name, nor holds it (自己宣言ID holds 自己宣言):
            # 「指名できますか」 is no 「〇〇って何？」
            record = None
        return (_overview_plan(plan, lib, record) if record is not None else None) or _not_stated(plan, lib, named)
    _, chunk, sentence = best
    plan.direct = Say("direct.definition", {"term": term, "quote": quote_of(sentence, lib.tokenizer)}, plan.cite(SearchResult(chunk, 1.0)))
    return plan
