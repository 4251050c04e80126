"""What an owner says about the company: employees, industry, capital, years, legal form, group.

`owner_facts(text)` reads one message (Japanese or English; NFKC first, so ３０人 and ＩＴ are read
as 30人 and IT) and returns only the facts it found:

    employees        int    従業員10人, 社員30名, スタッフ5人, 10人の町工場, 5人でやっている, 10 employees
    industry         str    manufacturing | construction | transport | wholesale | retail | service |
                            hospitality | other (the rows of bot/data/company_size.yaml map them)
    industry_word    str    the owner's own word for it (町工場, IT企業, restaurant), for the answer
    capital          int    yen: 資本金1000万円, 資本金1億5千万円, capital of 10 million yen
    years            float  years in business: 創業3年 → 3, 開業して半年 → 0.5, founded 2 years ago → 2;
                            N年目 counts the years completed (設立2年目 → 1), so 「2年以上」 is not
                            claimed for a company in its second year
    sole_proprietor  bool   個人事業主, フリーランス, sole proprietor (False for 株式会社, 法人化した, ...)
    group_company    bool   親会社がある, 大企業の子会社, グループ会社, subsidiary of (False when denied)

A figure the owner only bounds (100人以上, more than 50 employees) is not taken: an exact-looking
number that is really a bound would let rules.py claim a size it cannot know. Industry words that
name customers or plans rather than the company (飲食店向け, ネットショップを始めたい) are skipped.

`merge(old, new)` keeps what a conversation has learnt: facts from the newer message win.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# --- numbers -----------------------------------------------------------------------------------

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = (("億", 100_000_000), ("万", 10_000))
_KANA_COUNTS = {"ひとり": 1, "ふたり": 2}
_EN_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}
_EN_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_EN_NUMBERS = {"a": 1, "an": 1, **_EN_UNITS, **_EN_TEENS, **_EN_TENS}

NUM = r"[0-9][0-9,]*(?:\.[0-9]+)?[千百十]?|[〇零一二三四五六七八九十百千]+"  # one number, Arabic or kanji
_AMOUNT = rf"(?:(?:{NUM})\s*[億万]\s*)*(?:{NUM})?"  # 1億5,000万, 5千万, 3000万, 一千万
_EN_WORD = (
    "(?:" + "|".join(_EN_TENS) + ")(?:[- ](?:" + "|".join(_EN_UNITS) + "))?"
    "|" + "|".join(sorted([*_EN_TEENS, *_EN_UNITS], key=len, reverse=True))
)
_EN_NUM = rf"[0-9][0-9,]*(?:\.[0-9]+)?|{_EN_WORD}"  # 12, 1,200, five, twenty-five


def _small_number(text: str) -> float | None:
    """1,500 / 1.5 / 十五 / 三千 / 5千 (a number below 万)."""
    text = text.replace(",", "").strip()
    if not text:
        return None
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):
        return float(text)
    total, current = 0.0, None
    for ch in text:
        if ch.isdigit() and ch.isascii():
            current = (current or 0) * 10 + int(ch)
        elif ch in _KANJI_DIGITS:
            current = (current or 0) * 10 + _KANJI_DIGITS[ch]
        elif ch in _KANJI_UNITS:
            total += (current if current is not None else 1) * _KANJI_UNITS[ch]
            current = None
        else:
            return None
    return total + (current or 0)


def parse_number(text: str) -> float | None:
    """A Japanese or Arabic number with 億 and 万: 1億5,000万 → 150000000, 二十 → 20, 3.5万 → 35000."""
    text = unicodedata.normalize("NFKC", text).replace(" ", "")
    if not text:
        return None
    total, rest = 0.0, text
    for unit, value in _BIG_UNITS:
        if unit in rest:
            head, rest = rest.split(unit, 1)
            n = _small_number(head) if head else 1.0
            if n is None:
                return None
            total += n * value
    if rest:
        n = _small_number(rest)
        if n is None:
            return None
        total += n
    return total


def _en_number(text: str) -> float | None:
    """12 / 1,200 / five / twenty-five / a (one)."""
    text = text.lower().replace(",", "").strip()
    words = re.split(r"[- ]+", text)
    if all(w in _EN_NUMBERS for w in words):
        return float(sum(_EN_NUMBERS[w] for w in words))
    try:
        return float(text)
    except ValueError:
        return None


# --- employees ---------------------------------------------------------------------------------

_STAFF = r"(?:従業員|社員|正社員|スタッフ|従業者|職員|働き手|雇用者)"
_ABOUT = r"(?:約|およそ|ざっと|ほぼ|大体|だいたい)?"
_COMPANY_NOUN = (
    r"(?:会社|企業|町工場|工場|工務店|事務所|お店|店|商店|事業所|事業者|法人|メーカー|製作所|"
    r"飲食店|レストラン|居酒屋|カフェ|美容室|美容院|旅館|ホテル|運送会社|製造業|小売店|卸)"
)
# 100人以上 is a bound, 1人あたり a rate: neither is a count of employees
_BOUND_AFTER = r"\s*(?:以上|超|を超|余り|あまり|強|以下|未満|足らず|弱|以内|まで|あたり|当たり|につき|ずつ)"
_GAP = r"[^。、！？\n0-9がをはにでも]{0,8}?"  # 小さな, 金属加工の: words between a count and the company
_EMPLOYEES_JA = [
    # 従業員10人 / 社員は30名 / スタッフが5人ほど / 従業員数：12名
    re.compile(rf"{_STAFF}(?:数)?\s*(?:は|が|も|:)?\s*{_ABOUT}\s*({NUM})\s*(?:人|名)"),
    # 従業員を10人雇って
    re.compile(rf"{_STAFF}を\s*{_ABOUT}\s*({NUM})\s*(?:人|名)"),
    # 10人の町工場 / 15人くらいの小さな会社 / 30名規模の企業
    re.compile(
        rf"(?<![0-9〇一二三四五六七八九十百千]){_ABOUT}((?:{NUM})(?=\s*(?:人|名))|ひとり|ふたり)\s*(?:人|名)?\s*"
        rf"(?:ほど|くらい|ぐらい|程度|前後)?\s*(?:規模)?\s*の{_GAP}{_COMPANY_NOUN}(?!員)"
    ),
    # 5人でやっている / 夫婦二人で営んで / 一人で切り盛り
    re.compile(
        rf"(?<![0-9〇一二三四五六七八九十百千]){_ABOUT}((?:{NUM})(?=\s*(?:人|名))|ひとり|ふたり)\s*(?:人|名)?\s*"
        r"(?:ほど|くらい|ぐらい|程度)?\s*で[^。、！？\nがをは]{0,6}?(?:やって|やっ|営ん|営業|経営|切り盛り|回して|運営|店を|会社を)"
    ),
    # 10人雇っている
    re.compile(rf"(?<![0-9〇一二三四五六七八九十百千]){_ABOUT}({NUM})\s*(?:人|名)\s*(?:を)?\s*雇"),
]
_NO_STAFF_JA = re.compile(rf"{_STAFF}\s*(?:は|が)?\s*(?:い(?:ない|ません)|おりません|なし|ゼロ|0\s*(?:人|名))")
_EN_ABOUT = r"(?:about |around |approximately |roughly |some |nearly |just )?"
_EMPLOYEES_EN = [
    # 10 employees / 12 full-time staff / five workers
    re.compile(
        rf"\b(?<!more than )(?<!over )(?<!at least )(?<!under )(?<!fewer than )(?<!less than )"
        rf"({_EN_NUM})[- ](?:full[- ]time |part[- ]time |regular |permanent )?"
        r"(?:employees?|staff(?: members)?|workers|people on (?:the |our )?(?:payroll|staff))\b",
        re.I,
    ),
    # a staff of 12 / a team of 8 / headcount of 30 / workforce of 40
    re.compile(rf"\b(?:staff|team|workforce|headcount) (?:of|is) {_EN_ABOUT}({_EN_NUM})\b", re.I),
    # we employ 15 people
    re.compile(rf"\bemploy(?:s|ing)? {_EN_ABOUT}({_EN_NUM}) (?:people|persons|staff)\b", re.I),
    # a 10-person company
    re.compile(rf"\b({_EN_NUM})[- ](?:person|people|man|member) (?:[a-z]+ )?(?:company|business|firm|shop|team|factory|office|workshop)\b", re.I),
]
_NO_STAFF_EN = re.compile(r"\b(?:no employees|no staff|not have any employees|don't have any employees)\b", re.I)


def _employees(text: str) -> int | None:
    for pattern in _EMPLOYEES_JA:
        for m in pattern.finditer(text):
            if re.match(_BOUND_AFTER, text[m.end(1) :].lstrip("人名 ")) or re.match(_BOUND_AFTER, text[m.end() :]):
                continue  # 100人以上: a bound, not a count
            raw = m.group(1)
            n = _KANA_COUNTS.get(raw) or parse_number(raw)
            if n is not None and n == int(n) and 0 < n < 1_000_000:
                return int(n)
    if _NO_STAFF_JA.search(text):
        return 0
    for pattern in _EMPLOYEES_EN:
        for m in pattern.finditer(text):
            n = _en_number(m.group(1))
            if n is not None and n == int(n) and 0 < n < 1_000_000:
                return int(n)
    if _NO_STAFF_EN.search(text):
        return 0
    return None


# --- industry ----------------------------------------------------------------------------------

# (pattern, industry). Where two words overlap the longer one counts (建築設計事務所 is service, not
# construction; 居酒屋 is not 酒屋). Of the words left, the first in the text that names the company
# itself, not a customer or a plan, decides. Japanese patterns run on NFKC text
# (ＩＴ企業 → IT企業); English ones ignore case, except IT.
_INDUSTRY_JA: list[tuple[str, str]] = [
    (r"建築設計事務所|設計事務所|デザイン事務所", "service"),
    (r"ネットショップ|ネット通販|通販サイト|ECサイト|オンラインショップ", "retail"),
    (
        r"IT企業|IT会社|ITの会社|IT系(?:の)?(?:会社|企業)?|ITベンチャー|ソフトウェア(?:会社|開発|業)?|ソフト開発|"
        r"システム開発|アプリ開発|Web制作|ウェブ制作|情報処理",
        "service",
    ),
    (
        r"ゴム製品(?:製造)?|町工場|金属加工|板金|プレス加工|切削加工|鋳造|メッキ|めっき|印刷(?:会社|業|所)?|製作所|"
        r"製造業|製造|メーカー|工場",
        "manufacturing",
    ),
    (r"工務店|建設(?:会社|業)?|建築(?:会社|業)|リフォーム(?:会社|業)|土木|内装(?:業|工事業)|電気工事(?:業)?|塗装業|一人親方", "construction"),
    (r"運送(?:会社|業)?|物流|配送業|トラック(?:運送)?|倉庫業|タクシー(?:会社)?|運輸(?:業)?", "transport"),
    (r"卸売(?:業)?|卸業|卸問屋|問屋|商社", "wholesale"),
    (r"小売(?:業|店)?|商店(?!街)|雑貨屋|雑貨店|八百屋|酒屋|花屋|本屋|書店|パン屋|洋品店|専門店", "retail"),
    (r"旅館|ホテル|民宿|ゲストハウス|宿泊業", "hospitality"),
    (
        r"飲食店|飲食業|レストラン|居酒屋|カフェ|喫茶店|ラーメン屋|食堂|美容室|美容院|理容室|理髪店|床屋|ネイルサロン|"
        r"エステサロン|介護(?:事業所|施設|サービス|事業)?|デイサービス|クリーニング(?:店|業)?|学習塾|整骨院|接骨院|"
        r"税理士事務所|会計事務所|社労士事務所|コンサル(?:ティング)?(?:会社)?|広告代理店|サービス業",
        "service",
    ),
    (r"農業|農家|林業|漁業", "other"),
]
_INDUSTRY_EN: list[tuple[str, str]] = [
    (r"architect(?:ure|ural)? (?:firm|office|practice)|design (?:firm|office|studio)", "service"),
    (r"online (?:shop|store)|e-?commerce (?:shop|store|business|site)|web ?shop", "retail"),
    (r"coffee shop|barber ?shop|hair salon|beauty salon|nail salon|repair shop", "service"),
    (r"print(?:ing)? (?:shop|company|business|firm|works)", "manufacturing"),
    (
        r"(?-i:IT) (?:company|firm|business|startup)|software(?: company| firm| house| development| business)?|"
        r"information processing|system development|app development|web development",
        "service",
    ),
    (
        r"rubber products?(?: manufacturer| maker)?|small factory|factory|manufactur(?:er|ing)(?: company| business| firm)?|"
        r"machine shop|metal ?work(?:ing|s)?|metal processing|machining|sheet metal|plating|foundry",
        "manufacturing",
    ),
    (
        r"construction(?: company| firm| business)?|builder|building contractor|general contractor|contractor|carpenter|"
        r"remodel(?:l)?ing(?: company)?|renovation company",
        "construction",
    ),
    (
        r"trucking(?: company)?|logistics(?: company| firm)?|haulage|freight|delivery company|transport(?:ation)? company|"
        r"taxi company|warehous(?:e|ing) company",
        "transport",
    ),
    (r"wholesal(?:e|er)(?: business| company)?|trading company|distributor", "wholesale"),
    (r"retail(?:er| shop| store| business)?|grocery|greengrocer|bookstore|bakery|general store|convenience store", "retail"),
    (r"ryokan|hotel|inn|guest ?house|bed and breakfast|hospitality", "hospitality"),
    (
        r"restaurant|izakaya|cafe|café|diner|salon|nursing care|elderly care|care home|dry cleaning|laundry|"
        r"cleaning company|consult(?:ing|ancy)(?: firm| company)?|cram school|service business",
        "service",
    ),
    (r"farm(?:ing|er)?|forestry|fishery|fishing business", "other"),
    (r"shop|store", "retail"),
]
# the word names someone else (a customer, a supplier) or something planned, not the company
_NOT_SELF_JA = re.compile(
    r"^(?:向け|相手|との|と(?:の)?取引|さん(?:向け|から|に|と)|に(?:納品|納め|卸|販売|売|泊|宿泊|出店|進出|参入|転換|挑戦|頼|依頼|委託|外注|発注)|"
    r"から(?:仕入|受注|注文|依頼)|の(?:お)?客|を(?:検討|考え|利用|使|頼|依頼|委託|外注|発注|探|紹介)|"
    r"を[^。、！？]{0,6}?(?:たい|予定|ようと|つもり|検討|考え)|(?:を|に)?(?:したい|やりたい|なりたい))"
)
_NOT_SELF_EN = re.compile(r"^s?\s*(?:customers?|clients?|suppliers?|owners?)\b", re.I)
_PLAN_BEFORE_EN = re.compile(
    r"\b(?:start(?:ing)?|open(?:ing)?|launch(?:ing)?|set(?:ting)? up|build(?:ing)?|use|using|sell(?:ing)? to|"
    r"supply(?:ing)?(?: to)?|deliver(?:ing)? to|for|hire|hiring|find(?:ing)?) (?:an? |our |my |the |some )?(?:own |new |small |local )?$",
    re.I,
)
_INDUSTRY_PATTERNS = [(re.compile(p), i, True) for p, i in _INDUSTRY_JA] + [
    (re.compile(rf"\b(?:{p})\b", re.I), i, False) for p, i in _INDUSTRY_EN
]


def _industry(text: str) -> tuple[str, str] | None:
    candidates = [
        (m.start(), m.end(), order, industry, japanese)
        for order, (pattern, industry, japanese) in enumerate(_INDUSTRY_PATTERNS)
        for m in pattern.finditer(text)
    ]
    # where words overlap, the longest names the business (居酒屋, not 酒屋; online shop, not shop)
    candidates.sort(key=lambda c: (c[0] - c[1], c[2]))
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, str, str]] = []
    for start, end, _order, industry, japanese in candidates:
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        after, before = text[end:], text[:start]
        if japanese and _NOT_SELF_JA.match(after):
            continue
        if not japanese and (_NOT_SELF_EN.match(after) or _PLAN_BEFORE_EN.search(before)):
            continue
        found.append((start, industry, text[start:end]))
    if not found:
        return None
    _, industry, word = min(found)
    return industry, word


# --- capital -----------------------------------------------------------------------------------

_CAPITAL_JA = re.compile(
    rf"(?:資本金|出資金|出資の総額|資本)\s*(?:は|が|:|を)?\s*{_ABOUT}\s*({_AMOUNT})\s*(円|万|億)?"
)
_EN_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9, "man": 1e4, "oku": 1e8}
_YEN = r"(?:yen|jpy|¥)"
_CAPITAL_EN = [
    # capital of 10 million yen / paid-in capital: ¥30,000,000 / capitalized at 50 million yen
    re.compile(
        rf"(?<!working )(?<!venture )\b(?:capital(?:ization|ized at)?|stated capital|share capital)\s*(?:of|is|was|:|at|stands at)?\s*{_EN_ABOUT}"
        rf"({_YEN})?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(thousand|million|billion|mn|bn|man|oku|k|m|b)?\b\s*({_YEN})?",
        re.I,
    ),
    # 10 million yen in capital / ¥10m of capital
    re.compile(
        rf"({_YEN})?\s*\b([0-9][0-9,]*(?:\.[0-9]+)?)\s*(thousand|million|billion|mn|bn|man|oku|k|m|b)?\b\s*({_YEN})?\s*"
        r"(?:in|of)? (?:paid-in |share |stated )?capital\b(?! gains)",
        re.I,
    ),
]


def _capital(text: str) -> int | None:
    for m in _CAPITAL_JA.finditer(text):
        amount, unit = m.group(1).strip(), m.group(2)
        if not amount or (unit is None and not re.search(r"[億万]", amount)):
            continue  # 資本金1000 with no unit: 円 or 万円? not taken
        if unit in ("万", "億"):
            amount += unit
        n = parse_number(amount)
        if n:
            return int(round(n))
    for pattern in _CAPITAL_EN:
        for m in pattern.finditer(text):
            pre_yen, number, scale, post_yen = m.groups()
            if not (pre_yen or post_yen or (scale and scale.lower() in ("man", "oku"))):
                continue  # a capital with no currency: dollars? not taken
            n = _en_number(number)
            if n is None:
                continue
            n *= _EN_SCALE.get((scale or "").lower(), 1)
            if n >= 1000:
                return int(round(n))
    return None


# --- years in business -------------------------------------------------------------------------

_START_JA = r"(?:創業|設立|開業|起業|独立|旗揚げ|オープン|開店)"
_YEARS_JA = [
    # 創業3年 / 設立して10年 / 開業してから2年半 / 創業2年目 / 創業半年 / 開業して3か月
    re.compile(
        rf"{_START_JA}(?:して|してから|から|以来)?\s*(?:まだ|もう|約|およそ|ちょうど)?\s*"
        rf"(?:({NUM})\s*(年目|年半|年|か月|ヶ月|カ月|ヵ月|箇月|ケ月)|(半年))"
    ),
    # 3年前に創業 / 半年前に開業
    re.compile(rf"(?:({NUM})\s*(年|か月|ヶ月|カ月|ヵ月|箇月|ケ月)|(半年))\s*前に\s*{_START_JA}"),
    # 事業を始めて5年 / 商売をはじめて10年
    re.compile(
        rf"(?:事業|商売|仕事|会社|店)を?\s*(?:始めて|はじめて|立ち上げて|作って)(?:から)?\s*(?:まだ|もう|約)?\s*"
        rf"(?:({NUM})\s*(年目|年半|年|か月|ヶ月|カ月|ヵ月|箇月|ケ月)|(半年))"
    ),
]
_YEARS_EN = [
    # founded 2 years ago / started the business six months ago / opened a year ago
    re.compile(
        rf"\b(?:founded|established|started|opened|set up|launched|incorporated|began)\b[^.?!]{{0,40}}?"
        rf"\b({_EN_NUM}|half a|an?)\s*(years?|months?)\s+ago\b",
        re.I,
    ),
    # in business for 10 years / been running for 3 years / operating for 18 months
    re.compile(
        rf"\b(?:in business|running|operating|trading|open|around|in operation)\s+for\s+{_EN_ABOUT}({_EN_NUM}|half a|an?)\s*(years?|months?)\b",
        re.I,
    ),
    # 10 years in business / a 5-year-old company
    re.compile(rf"\b({_EN_NUM})[- ](years?|months?)[- ](?:in business|old (?:company|business|firm|shop))\b", re.I),
]


_EN_BOUND_BEFORE = re.compile(r"\b(?:less than|under|over|more than|at least|almost|nearly)\s+$", re.I)
_YEARS_BOUND = re.compile(r"^\s*(?:以上|以内|未満|以下|超|まで|経って?いない|たって?いない|に満たない)")


def _years(text: str) -> float | None:
    for pattern in _YEARS_JA:
        for m in pattern.finditer(text):
            if _YEARS_BOUND.match(text[m.end() :]):
                continue  # 創業5年未満: a program's condition, not the company's age
            years = _ja_years(*m.groups())
            if years is not None:
                return years
    for pattern in _YEARS_EN:
        m = pattern.search(text)
        if not m or _EN_BOUND_BEFORE.search(text[: m.start(1)]):
            continue
        number, unit = m.group(1).lower(), m.group(2).lower()
        n = 0.5 if number == "half a" else _en_number(number)
        if n is None:
            continue
        return float(n) if unit.startswith("year") else round(n / 12, 2)
    return None


def _ja_years(number: str | None, unit: str | None, half: str | None) -> float | None:
    if half:
        return 0.5
    n = parse_number(number or "")
    if n is None or n > 300:
        return None  # 創業1985年 is a calendar year
    if unit == "年目":
        return float(max(n - 1, 0))  # in the Nth year: N-1 years completed
    if unit == "年半":
        return n + 0.5
    if unit == "年":
        return float(n)
    return round(n / 12, 2)


# --- legal form and group ----------------------------------------------------------------------

_SOLE_JA = re.compile(r"個人事業主|個人事業|フリーランス|自営業|個人経営|個人で(?:やって|営ん|経営|商売)|一人親方")
_SOLE_EN = re.compile(r"\bsole (?:proprietor(?:ship)?|trader)\b|\bfreelanc(?:e|er|ing)\b|\bself-employed\b", re.I)
_CORP_JA = re.compile(r"株式会社|合同会社|有限会社|合資会社|合名会社|法人化(?:した|しました|済)|法人です|法人の")
_CORP_EN = re.compile(r"\b(?:incorporated|a corporation|kabushiki kaisha|K\.K\.|an LLC|a limited company|godo kaisha)\b", re.I)
_DENIED_JA = re.compile(r"^\s*(?:で|じゃ|では)(?:は)?(?:な|ありません)|^\s*(?:は|が)?\s*(?:あり|い)?ません|^\s*(?:は|が)?\s*(?:な[いく]|無[いく])|^\s*ではなく")
_NEGATED_EN = re.compile(r"\b(?:not|no|never|isn't|aren't|nor)\s+(?:an?\s+|part of\s+)?(?:\w+\s+){0,2}$", re.I)

_GROUP_JA = re.compile(
    r"親会社|大企業の(?:子会社|傘下|グループ)|大手(?:企業)?の(?:子会社|傘下|グループ)|グループ会社|グループ企業|関連会社|"
    r"(?:の|は)子会社(?:です|で|だ|として)|子会社です|傘下|資本(?:が|を)?(?:大手|大企業)|大手(?:企業)?(?:の|から)(?:出資|資本)"
)
_GROUP_EN = re.compile(
    r"\bsubsidiary of\b|\b(?:we are|we're|i am|i'm|are|is) (?:a |an )?(?:wholly[- ]owned )?subsidiary\b|\bparent company\b|"
    r"\bpart of (?:a |an |the )?(?:large |big |major )?(?:\w+ )?group\b|\bowned by (?:a |an )?(?:large|big|major)\b|\bgroup company\b",
    re.I,
)
_INDEPENDENT_JA = re.compile(r"独立系|資本関係はな|親会社は(?:ない|なく|ありません|いません)|親会社がな|どこの(?:グループ|傘下)にも属")
_INDEPENDENT_EN = re.compile(r"\bno parent company\b|\bindependent(?:ly owned)? (?:company|business|firm)\b|\bnot (?:a |part of )(?:any )?(?:subsidiary|group)\b", re.I)


def _affirmed(pattern: re.Pattern, text: str, *, japanese: bool) -> bool | None:
    """True if the pattern occurs not denied, False if it occurs only denied, None if absent."""
    seen = None
    for m in pattern.finditer(text):
        denied = _DENIED_JA.match(text[m.end() :]) if japanese else _NEGATED_EN.search(text[: m.start()])
        if not denied:
            return True
        seen = False
    return seen


def _sole_proprietor(text: str) -> bool | None:
    for pattern, ja in ((_SOLE_JA, True), (_SOLE_EN, False)):
        said = _affirmed(pattern, text, japanese=ja)
        if said is not None:
            return said
    if _CORP_JA.search(text) or _CORP_EN.search(text):
        return False
    return None


def _group_company(text: str) -> bool | None:
    if _INDEPENDENT_JA.search(text) or _INDEPENDENT_EN.search(text):
        return False
    for pattern, ja in ((_GROUP_JA, True), (_GROUP_EN, False)):
        said = _affirmed(pattern, text, japanese=ja)
        if said is not None:
            return said
    return None


# --- the two entry points ----------------------------------------------------------------------


def owner_facts(text: str) -> dict[str, Any]:
    """The facts about the owner's company that one message states; only the keys found."""
    text = unicodedata.normalize("NFKC", text or "")
    facts: dict[str, Any] = {}
    industry = _industry(text)
    if industry is not None:
        facts["industry"], facts["industry_word"] = industry
    for key, read in (
        ("employees", _employees), ("capital", _capital), ("years", _years),
        ("sole_proprietor", _sole_proprietor), ("group_company", _group_company),
    ):
        value = read(text)
        if value is not None:
            facts[key] = value
    return facts


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The facts of a conversation so far: `new` (the later message) wins on every key it has.

    `industry` and `industry_word` travel together, so a new industry never keeps the old word.
    """
    merged = {**(old or {}), **{k: v for k, v in (new or {}).items() if v is not None}}
    if new and "industry" in new and "industry_word" not in new:
        merged.pop("industry_word", None)
    return merged
