"""The names in a message: the documents' programs (by name, part or nickname), those the directory
knows the documents do not hold, names nobody knows, which one a question is about, and whether what
is asked is about one the documents do not hold."""

from __future__ import annotations

import re
from typing import Any, Iterable

from ...text import compact, in_order_found, normalize
from ..directory import Directory
from .vocabulary import _PROGRAM_ONLY, _matches, vocabulary
from .question import _without_quoted_speech, asks_what_to_do, question_part, term_asked


_GENERIC_NAME_PARTS = {"事業", "支援", "助成", "助成金", "中小企業", "東京都", "公社", "推進", "促進", "対策", "相談", "窓口"}
_SUFFIX = re.compile(r"(支援事業|助成事業|促進事業|事業|助成金|プラス)$")


def _names_alone(part: str) -> bool:
    """Whether a part of a program's name names it on its own: a long one (展示会出展助成), one with Latin
    letters (Tcyss), or one ending in a program word (〜補助金, 〜融資); not a short topic word that the
    name begins with (事業承継 of 事業承継・M&A補助金, デジタル化 of デジタル化・AI導入補助金)."""
    return len(part) >= 6 or bool(re.search(r"[a-z]", part, re.I)) or part.endswith((*vocabulary().program_name_words, "融資"))


class ProgramNames:
    """The names owners may use for each program: full names, distinctive parts, aliases."""

    def __init__(self, programs: Iterable[tuple[str, Iterable[str]]], topics: Iterable[str] = (),
                 terms: dict[str, Iterable[str]] | None = None) -> None:
        self._topics = frozenset(topics)  # laws and schemes, which a seminar or a desk may be about (下請法の講習会)
        # program -> the words its guide explains (カスハラ, 特例承継計画), compacted
        self._terms = {name: frozenset(compact(t).lower() for t in words) for name, words in (terms or {}).items()}
        self._parts: list[tuple[str, str]] = []
        for name, aliases in programs:
            parts = [p for p in re.split(r"[・（）()、「」]", name) if p]
            # 展示会出展助成事業 -> 展示会出展助成 (not DX推進助成金 -> DX推進: too short to name the program)
            parts += [_SUFFIX.sub("", p) for p in parts if _SUFFIX.search(p) and len(compact(_SUFFIX.sub("", p))) >= 5]
            for part in [name, *parts, *aliases]:
                key = compact(part)
                if len(key) >= 4 or (part in aliases and len(key) >= 2):
                    if key not in _GENERIC_NAME_PARTS and (part == name or part in aliases or _names_alone(key)):
                        self._parts.append((key, name))
        self._parts.sort(key=lambda p: -len(p[0]))  # longest first: 展示会出展助成プラス before 展示会出展助成

    def named_in(self, text: str) -> list[str]:
        """The programs `text` names, in the order it names them (「サイバーの助成金、…SECURITY ACTIONの二つ星って
        要る？」 is about the subsidy first)."""
        return in_order_found(compact(text), self._parts)

    def naming_phrase(self, text: str, name: str) -> str | None:
        """The words by which `text` first names the program `name` (「セキュリティアクションの一つ星と二つ星」 names
        SECURITY ACTION by セキュリティアクション; 一つ星 and 二つ星 are then what is asked about it)."""
        q = compact(text)
        found = [(q.find(key), -len(key), key) for key, n in self._parts if n == name and key in q]
        return min(found)[2] if found else None

    def described_in(self, text: str) -> list[str]:
        """The programs `text` names only to say what a kind of support it asks for is about
        (「下請法とか、取引に関する法律の講習会ってやってますか」: a seminar on the law, not the law);
        only a law or a scheme (`topics`), never a program with its own desk (「カスハラの相談窓口」)."""
        q = compact(normalize(text))
        longest: dict[str, str] = {}  # each program by the longest of its names found (parts are longest first)
        for key, name in self._parts:
            if key in q:
                longest.setdefault(name, key)
        return [name for name, key in longest.items() if name in self._topics and _support_noun_after(q, key)]

    def explains(self, term: str | None, programs: Iterable[str]) -> bool:
        """Whether `term` is a word the guide of one of `programs` explains (「特例承継計画とは？」 asks what the
        word means, not what 事業承継税制 is)."""
        key = compact(term or "").lower()
        return bool(key) and any(key in self._terms.get(p, ()) for p in programs)

    def phrases_in(self, text: str) -> list[str]:
        """The words of `text` that name a program of the documents (its name, a part, an alias)."""
        q = compact(text)
        return [key for key, _ in self._parts if key in q]


def _asks_about_other(message: str, asks: str, named: list[str], others: list[str], unknown: list[str],
                      names: ProgramNames, directory: Directory | None, topical: bool = False) -> bool:
    """Whether what the question asks is about a name the documents do not hold, not only the owner's situation."""
    if not (others or unknown):
        return False
    asked = question_part(message)
    unquoted = _without_quoted_speech(normalize(message))
    if directory is not None and not unknown and not directory.named_in(unquoted, known=names.phrases_in(unquoted)):
        return False  # named only in someone else's words (元請に「インボイス出せないなら値引きして」と言われた): the situation
    if topical and asks_what_to_do(asked) and not directory_named_in(directory, asked, names) and not unknown_names_in(asked):
        return False  # 「免税事業者のままなんだけど、元請から値引きしてって言われた。どうすりゃいいの？」: the situation
    if _describes_support(asked, (others or unknown)[0], directory):
        return False  # 「下請法とか…の講習会ってやってますか」 asks about the seminar
    only_desks = bool(others) and not unknown and directory is not None and all(directory.entries[n].kind == "institution" for n in others)
    if only_desks and asks in _PROGRAM_ONLY:
        return False  # 「商工会議所で聞いたら…上限は？」: a program's figure, not the desk's
    return (
        asked == normalize(message).strip()  # one clause: it is the question
        or directory_named_in(directory, asked, names)
        or bool(unknown_names_in(asked))
        or not (named or _points_elsewhere(asked))
    )


def directory_named_in(directory: Directory | None, text: str, names: ProgramNames) -> bool:
    return bool(directory is not None and directory.named_in(text, known=names.phrases_in(text)))


def _describes_support(asked: str, name: str, directory: Any) -> bool:
    """「下請法とか、取引に関する法律の講習会ってやってますか」: the named law only says what the seminar
    asked for is about; the question is about the seminar (the documents'), not the law."""
    words = [name] + (list(directory.entries[name].aliases) if directory is not None and name in directory.entries else [])
    for w in sorted(words, key=len, reverse=True):
        if normalize(w) in asked:
            return _support_noun_after(asked, normalize(w))
    return False


def _support_noun_after(asked: str, word: str) -> bool:
    """Whether, in the question, a kind of support (講習会, 専門家, 窓口…) comes after `word`: the word
    then only describes what is asked for (「下請法とか、取引に関する法律の講習会ってやってますか」)."""
    at = asked.find(word)
    if at < 0:
        return False
    after = asked[at + len(word):]
    return any(n in after for n in vocabulary().support_nouns)


BARE_QUESTION_CHARS = 12  # 「どこが変わるの」「どんな中身なの」: a question short enough to name nothing of its own


def _asks_of_named(message: str, named: list[str]) -> bool:
    """「IT補助金が名前変わるって聞いたけど、どこが変わるの」: a bare question after a sentence naming a
    program asks about that program (not 「…他に使える補助金ある？」, which asks for support, nor
    「…どうすればいい？」, which asks what to do)."""
    asked = question_part(message).strip()
    if not named or asked == normalize(message).strip() or len(compact(asked)) > BARE_QUESTION_CHARS:
        return False
    return not asks_what_to_do(asked) and not _matches({"money": vocabulary().money}, asked)


def _asks_what_that_is(message: str, named: list[str]) -> bool:
    """「パートナーシップ構築宣言してないの？って聞かれた。あれ何？メリットある？」: a 「あれ何？」 anywhere in the
    message, after a program is named, asks what the program is."""
    return bool(named) and bool(vocabulary().what_is_that.search(normalize(message)))


def _subject_first(message: str, programs: list[str], names: ProgramNames) -> list[str]:
    """What a 「何それ？」「何が違うの？」 is about: the program its question names, else the one named last,
    nearest the question (「IT補助金出そうとしたら自己宣言IDが要るって言われた。何それ」 asks about the
    declaration); a detail (「サイバーの助成金、二つ星って要る？」) stays with the program named first."""
    in_question = [p for p in names.named_in(question_part(message)) if p in programs]
    rest = [p for p in reversed(programs) if p not in in_question]
    return in_question + rest


def _asked_first(message: str, programs: list[str], names: ProgramNames) -> list[str]:
    """A detail asked of the program the question names after the owner's situation named another
    (「これまで下請法の対象外って言われてたけど、取適法になって対象になったりする？」 asks about 取適法);
    with no such break (「…を申請するには、SECURITY ACTIONの二つ星が必要？」) the first named stays first."""
    asked = question_part(message)
    if asked.strip() == normalize(message).strip():
        return programs
    in_question = [p for p in names.named_in(asked) if p in programs]
    return in_question + [p for p in programs if p not in in_question]


def _asks_what_it_is(message: str, programs: list[str], names: ProgramNames, directory: Any) -> bool:
    """Whether 「〇〇って何？」 asks about the program named (not 「持続化の正社員って何？」)."""
    # the word asked about, in the question itself (「…って言われた。どんなところ？」 asks about what was named)
    term = compact(term_asked(question_part(message)) or "").lower()
    if not term or term in ("it", "this", "that", "それ", "これ", "あれ", "そこ"):
        return True  # 「何それ」, "what is it?": the thing just named
    # the word just before って: 「展示会の助成金の要項に休眠期間って」 asks 休眠期間
    parts = [t for t in re.split(r"(?:という|でいう|っていう|たら|けど|の|に|は|が|を|で|も)", term) if t]
    # 「ジギョケイの認定ってそもそも何？」: a word only saying what kind of thing the program is (認定, 制度) asks about it
    kinds = vocabulary().program_kind_words
    while len(parts) > 1 and parts[-1] in kinds:
        parts.pop()
    if parts and all(p in kinds for p in parts):
        return True  # 「『事業継続力強化計画』の認定制度とは?」: the kind of thing the program named is
    term = parts[-1] if parts else term
    words = [compact(p).lower() for p in programs]
    words += [k for k in names.phrases_in(message)]
    if directory is not None:
        words += [compact(a).lower() for p in programs if p in directory.entries for a in directory.entries[p].aliases]
    return any(w and (w in term or term in w) for w in words)


def _compares_parts(message: str) -> bool:
    """Whether the question asks how things differ (「一つ星と二つ星って何が違うの？」): what each is, not one program's overview."""
    asked = normalize(question_part(message))
    return any(w in asked for w in vocabulary().compare_words)


def _compared(message: str, names_found: list[str], names: ProgramNames, directory: Directory | None) -> list[str]:
    """The things a 「AとBって何が違うの？」 sets side by side: those named in the question itself, when it
    asks how they differ (「セキュリティアクションの一つ星と二つ星って何が違うの？」 compares no two programs)."""
    asked = question_part(message)
    if not any(w in normalize(asked) for w in vocabulary().compare_words):
        return []
    in_question = set(names.named_in(asked)) | set(directory.named_in(asked) if directory is not None else [])
    return [n for n in names_found if n in in_question]


def _points_elsewhere(text: str) -> bool:
    """Whether the question turns from what the owner named to something else: 「公庫だけじゃ足りない。他にどこで借りれば？」,
    or asks about some program of its own kind (「…けど、使える補助金ある？」)."""
    v = vocabulary()
    for compound in v.slot_compounds:  # 「補助率って何割？」 asks the named program's rate, not for another subsidy
        text = text.replace(normalize(compound), "\u3000")
    return any(w in text for w in v.elsewhere)


def unknown_names_in(text: str, known: Iterable[str] = ()) -> list[str]:
    """Program-like names in `text` that neither the documents' programs nor the directory know.

    A name ends in a program word (補助金, 助成金, 法: `program_name_words`) and counts only when something
    of its own is left once the generic words (設備, 投資, IT…: `program_name_generic`) are taken out of what
    comes before it: 「雇用調整助成金」 is a name, 「設備投資補助金」 and 「申請方法」 are not."""
    v = vocabulary()
    ending = "(?:" + "|".join(map(re.escape, v.program_name_words)) + ")"
    q = normalize(text)
    taken = [compact(k).lower() for k in known if k]
    generic = sorted({normalize(w) for w in v.program_name_generic if w}, key=len, reverse=True)
    found: list[str] = []
    for m in re.finditer(r"([ァ-ヴーa-z0-9一-龥・&]{2,24}?" + ending + r")(?![ァ-ヴー一-龥])", q):
        name = m.group(1).lstrip("・")
        if name.endswith(v.not_program_name_ends):
            continue
        own = re.sub(ending + "$", "", name)
        for w in (*generic, *v.program_name_words):  # 「補助金・助成金」 is two kinds, no name
            own = own.replace(normalize(w), "")
        own = own.strip("・")
        key = compact(name).lower()
        if len(compact(own)) < 2 or re.fullmatch(r"[ぁ-ゖ・]*", own) or any(key in t or t in key for t in taken):
            continue
        if name not in found:
            found.append(name)
    # 「神奈川の生産性向上の補助金」「県の補助金」: a program of another region, written with の
    regions = "|".join(map(re.escape, sorted(v.other_regions, key=len, reverse=True)))
    if regions:
        for m in re.finditer(r"((?:" + regions + r")(?:県|府)?の?[ァ-ヴーa-z0-9一-龥・&]{0,15}?(?:の[ァ-ヴーa-z0-9一-龥・&]{0,12}?)?" + ending + r")(?![ァ-ヴー一-龥])", q):
            name = m.group(1)
            if name not in found and not any(compact(name).lower() in t or t in compact(name).lower() for t in taken):
                found.append(name)
    return found


def _aliases_in(directory: Any, names: list[str]) -> list[str]:
    if directory is None:
        return []
    return [a for n in names if n in directory.entries for a in directory.entries[n].aliases]
