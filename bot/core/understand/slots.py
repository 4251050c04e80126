"""Which detail of a program a message asks (the slot) and how surely: the words found and where
they sit (the question or the owner's situation), a cost item asked of, and the condition a yes/no
question hinges on."""

from __future__ import annotations

import re

from ...text import compact, normalize
from .vocabulary import GAP, _PROGRAM_ONLY, _all_matches, _matches, _phrase, _without_particles, vocabulary
from .question import _sentence_asks, _sentence_with, _without_quoted_speech, asks_negative, asks_something, is_yes_no, language_of, question_part, term_asked
from .names import _support_noun_after


# A program is what the question is about when it names one or asks for a program's detail.
_PROGRAM_WORDS = re.compile(r"助成|補助|奨励金|融資|制度|事業の|申請|subsid|grant|loan|program|scheme")
BARE_ASK_CHARS = 3  # 「ダメ？」「大丈夫？」「いける？」: a question this short asks about the situation before it
SLOT_SURE = 0.5  # below this, the question is answered at the level the owner asked (the program, the support)
SLOT_CONFIDENCE = {
    "situation": 0.55,  # the slot's word sits in the owner's situation (a sentence that asks nothing), not in the question
    "compound": 0.45,  # the slot's word is part of a longer noun (取引条件, 請求金額)
    "no_program": 0.3,  # a program's detail with no program named, carried or asked for
    "no_question": 0.3,  # the message tells a situation and asks nothing in so many words
    "modifier": 0.55,  # the word describes a kind of support asked for after it (申請方法を教えてくれる専門家)
}


def slot_confidence(text: str, slot: str, trigger: str, *, program_talk: bool) -> float:
    """How surely `trigger` makes the message ask `slot` (1.0 sure; below SLOT_SURE, it is the owner's situation)."""
    v = vocabulary()
    q = _without_particles(normalize(text))
    t = _without_particles(normalize(trigger).strip("?？!！。 ").split(GAP)[-1])  # a gap trigger by its last part
    t = re.sub(r"(?<=[一-龥ァ-ヴー])[がを]$", "", t)  # 「書類が」 as the message reads without particles: 書類届いた
    confidence = 1.0
    asked = _without_particles(question_part(text))
    # a condition the owner states about themselves (うちはグループ会社なんですが) is what an eligibility
    # question about a program hinges on: there the situation is the question
    condition = slot in ("eligibility", "covered_costs") and program_talk and re.fullmatch(r"[一-龥ァ-ヴー]+", t) and is_yes_no(text)
    # 「…交付決定が出る前に発注しちゃいたい。これって補助の対象から外れる？」: the question points back at the situation
    # as does a bare 「ダメ？」「大丈夫？」 after it (「交付決定の前に機械を発注しちゃったんだけどダメ？」)
    bare = normalize(question_part(text)).strip().rstrip("?？!！。 ")
    refers_back = (bare.startswith(v.points_back) and asks_negative(text)) or (0 < len(bare) <= BARE_ASK_CHARS and is_yes_no(text))
    if t and t not in asked and t in q and not condition and not refers_back and not _sentence_asks(_sentence_with(q, t), asked):
        confidence -= SLOT_CONFIDENCE["situation"]
    at = q.find(t)
    # a noun (条件, 金額) inside a longer noun; verbs (使える) and phrases are not checked
    if at > 0 and re.fullmatch(r"[一-龥ァ-ヴー]+", t) and re.match(r"[一-龥ァ-ヴー]", q[at - 1]):
        if not any(c in q and t in c for c in v.slot_compounds):
            confidence -= SLOT_CONFIDENCE["compound"]
    if slot in _PROGRAM_ONLY and not program_talk:
        confidence -= SLOT_CONFIDENCE["no_program"]
    if slot != "contact" and language_of(text) != "en" and _support_noun_after(asked, t):  # "apply for a loan": its object
        confidence -= SLOT_CONFIDENCE["modifier"]  # 「やり方を教えてくれる勉強会」 asks for the seminar
    if not asks_something(text):
        confidence -= SLOT_CONFIDENCE["no_question"]
    return max(0.0, min(1.0, confidence))


def detect_asks(text: str, *, has_program: bool, program_context: bool = False, yes_no: bool = True) -> tuple[str, list[str], float]:
    """What is asked, the words that said so, and how sure that is (see slot_confidence).
    `program_context`: the last turn was about a program (「それって使えるの？」 then asks about that program)."""
    v = vocabulary()
    q = normalize(text)
    said = _without_quoted_speech(q)  # 「タダにしろ」って言うお客さん: the customer's words, not the owner's question
    every = dict(_all_matches(v.slots, said, v.not_within))  # slot -> its triggers in the text, in file order
    program_talk = has_program or bool(_PROGRAM_WORDS.search(q))
    talk = program_talk or program_context
    if talk and yes_no:
        for name, hits in _all_matches(v.slots_with_program, said, v.not_within):
            every[name] = every.get(name, []) + hits
        every = {name: every[name] for name in v.slots if name in every}
    if "definition" in every and len(every) > 1:
        every = _without_modifiers(text, every)
    if "fee" in every and program_talk and any(w in q for w in v.paid_by_program):
        # 「仲介会社に払う手数料とか…事業承継のやつの補助金で出る？」: whether the subsidy pays the fee
        every = {("covered_costs" if name == "fee" else name): hits for name, hits in every.items()}
    docs = _matches(v.documents, q)
    if docs and not has_program and (not every or not program_talk):  # a named program's examples ask about it
        name, hit = docs[0]
        return f"doc:{name}", [hit], 1.0
    if not every:
        item = cost_item_asked(text) if program_talk else None
        if item:  # 「BCPの助成でノートパソコン買うのってあり？」「…ライセンス代は出る？」: what it pays for
            return "covered_costs", [item], COST_ASKED_SURE
        return "support", [], 1.0
    # each slot by its surest trigger; the first slot the question itself asks wins, a word of the
    # owner's situation gives way
    scored = []
    for name, hits in every.items():
        sure, best = max((slot_confidence(text, name, h, program_talk=talk), -i, h) for i, h in enumerate(hits))[::2]
        scored.append((name, best, sure))
    name, hit, sure = next((s for s in scored if s[2] >= SLOT_SURE), scored[0])
    hits = [hit, *(h for h in every[name] if h != hit)]  # the others may name its condition (滞納)
    if name == "eligibility" and yes_no:
        item = cost_item_in(question_part(text))
        if item:  # 「ハードウェアは助成対象になる？」 asks what the subsidy pays for
            return "covered_costs", [*hits, item], sure
    return name, hits, sure


def _without_modifiers(text: str, every: dict[str, list[str]]) -> dict[str, list[str]]:
    """「IT導入補助金に必須な『SECURITY ACTION』とは？」: a slot's word before the word a definition asks
    about only describes it (必須 is no question of prerequisites); one within it (申請方法とは) stays."""
    asked = question_part(text)
    term = term_asked(asked)
    at = asked.find(normalize(term)) if term else -1
    if at < 0 or normalize(term).startswith(vocabulary().continues_before):  # 「その違いとは?」 is about the words before it
        return every
    before, rest = asked[:at], asked[at:]

    def modifies(hit: str) -> bool:
        word = normalize(hit).strip("?？ ").split(GAP)[0]
        return bool(word) and word in before and word not in rest

    return {name: hits for name, hits in every.items() if name == "definition" or not all(modifies(h) for h in hits)}


COST_ASKED_SURE = 0.8  # read from the shape (a cost item, then a word asking whether it is paid), not a trigger


def cost_item_asked(text: str) -> str | None:
    """A cost item the question asks the money to pay for: the item, then one of `cost_asks`
    (「ノートパソコン買うのってあり？」, 「ライセンス代は出る？」, 「専門家に払うお金も対象？」)."""
    asked = question_part(text)
    item = cost_item_in(asked)
    if not item:
        return None
    after = asked[asked.find(normalize(item)) + len(normalize(item)):] if normalize(item) in asked else asked
    return item if any(w in after for w in vocabulary().cost_asks) else None


def cost_item_in(text: str) -> str | None:
    """A thing a subsidy may pay for, named in `text` (ハードウェア, a laptop)."""
    q = normalize(text)
    ja, en = vocabulary().cost_items
    for item in ja:  # the thing itself, as the subject asked about: 「パソコンも」「ハードウェアは」, not 設備投資支援事業
        if re.search(re.escape(item) + r"(は|も|でも|って|が|とか|を|代|の購入|購入|の費用|費用|の?制作|の?作成|の?開発|を?買|の?導入|なら|に(?:利用|使|充))", q):
            return item
    # 「建設費用は補助対象？」「ライセンス代は出る？」「専門家に払うお金も」: a cost of its own
    m = re.search(r"([一-龥ァ-ヴー]{2,8})(?:に|へ)(?:支)?払う(?:お金|費用|報酬|料金)", q)  # 専門家に払うお金: the payee's fee
    if m:
        return m.group(1)
    m = re.search(r"([一-龥ァ-ヴー]{1,8}(?:費用?|代|料金|代金))(は|も|って|とか|に(?:も)?(?:使|利用|充))", q)
    if m:
        return m.group(1)
    m = re.search(r"([一-龥ァ-ヴー]{1,8}(?:費用?|代|代金))に.{0,24}?(?:使え|使って|利用でき|充て)", q)  # 「構築費用にIT導入補助金は使える？」
    if m:
        return m.group(1)
    m = re.search(r"(費用|経費)(?:も|は|って)(?:補助|助成)?対象", q)  # 「改修にかかる費用も補助対象？」
    if m:
        return m.group(1)
    return next((_phrase(p) for p in en if p.search(q)), None)


CONDITION_STOP = {
    "対象", "対象外", "申請", "利用", "使う", "使える", "助成", "補助", "助成金", "補助金", "制度", "事業", "支援", "会社", "企業",
    "うち", "弊社", "当社", "場合", "こと", "もの", "ため", "よう", "する", "できる", "なる", "ある", "いる", "もらえる",
    "受ける", "受けられる", "中小企業", "東京都", "東京", "都", "公社", "応募", "申し込む", "可能", "大丈夫", "含む", "経費",
    "費用", "購入", "導入", "入れる", "買う", "機械", "設備", "でも", "も", "今回", "今年", "今年度",
} | vocabulary().not_conditions  # and what a 「これって違反？」 asks of the owner's facts (asks.yaml)


def other_conditions(text: str, tokens: list[str], programs: list[str], first: str | None) -> list[str]:
    """Conditions the owner states besides the first (「実店舗がなくてネットショップだけの個人事業主」: 個人事業主
    first, then 実店舗), each a word the guide may or may not speak to."""
    if first is None or language_of(text) == "en":
        return []
    named = compact("".join(programs))
    out: list[str] = []
    for tok in tokens:
        if len(tok) >= 2 and tok != first and tok not in CONDITION_STOP and compact(tok) not in named and not re.fullmatch(r"[ぁ-ゖ]+", tok):
            if any(tok in normalize(w) for w in vocabulary().condition_hints) and tok not in out:
                out.append(tok)
    return out


def condition_of(text: str, tokens: list[str], programs: list[str], trigger_words: list[str]) -> str | None:
    """The thing a yes/no question hinges on: 「中古の機械も対象ですか」 -> 中古; "sole proprietor" -> 個人事業主
    (the passages are Japanese, so an English condition is looked up by its Japanese word)."""
    q = normalize(text)
    for english, japanese in _CONDITION_EN.items():
        if re.search(r"(?<![a-z])" + re.escape(english) + r"s?(?![a-z])", q):
            return japanese
    if language_of(text) == "en":  # English words are not looked for in Japanese passages
        return None
    named = compact("".join(programs))
    triggers = {normalize(t) for t in trigger_words}
    for tok in tokens:
        if len(tok) < 2 or tok in CONDITION_STOP or tok in named or tok.isascii() and len(tok) < 3:
            continue
        if any(tok in t or t in tok for t in triggers if t):
            return tok
    for tok in tokens:
        if len(tok) >= 2 and tok not in CONDITION_STOP and compact(tok) not in named and not re.fullmatch(r"[ぁ-ゖ]+", tok):
            if any(tok in normalize(w) for w in vocabulary().condition_hints):
                return tok
    return None


_CONDITION_EN = {
    "sole proprietor": "個人事業主", "sole trader": "個人事業主", "self-employed": "個人事業主", "freelancer": "フリーランス",
    "subsidiary": "子会社", "parent company": "親会社", "group company": "グループ会社", "used equipment": "中古",
    "second-hand": "中古", "secondhand": "中古", "used machine": "中古", "lease": "リース", "leasing": "リース",
    "rental": "レンタル", "startup": "創業", "start-up": "創業", "tax arrears": "滞納", "unpaid tax": "滞納",
    "outside tokyo": "都外", "npo": "NPO", "nonprofit": "NPO", "non-profit": "NPO", "software": "ソフトウェア",
    "personal computer": "パソコン", "laptop": "パソコン", "pc": "パソコン", "tablet": "タブレット", "labor cost": "人件費",
    "labour cost": "人件費", "salaries": "人件費", "phishing email drill": "標的型メール訓練",
    "phishing drill": "標的型メール訓練", "targeted email": "標的型メール訓練", "saturday": "土日", "sunday": "土日",
    "weekend": "土日", "anonymous": "匿名", "anonymously": "匿名", "online trade show": "オンライン展示会",
}
