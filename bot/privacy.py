"""Personal data that owners type, masked before anything is stored.

The turn itself is answered from what the owner wrote (in memory); what the conversation store keeps
(the question, the question as searched, the answer's copy of them, what a follow-up leans on, feedback
comments) has each item the owner typed replaced by a mask that says what kind of item it was:

- ［メール］ e-mail addresses: ASCII or full-width letters and ＠; a non-ASCII local part (太郎@example.jp:
  the address starts where the script changes, so 連絡は太郎@… keeps 連絡は); an IDN domain (例え.jp);
  a domain without a dot (admin@localhost) when the local part is ASCII. Not: りんご＠100円, 会議@本社, @taro.
- ［電話］ Japanese numbers of 10 or 11 digits that start with 0 (and not 00), in ASCII, full-width or
  kanji numerals (〇/○/零 for zero: 〇三の五五五五の六六六六), one group or two or three groups with hyphens,
  spaces, brackets, ー, dots or slashes between them (03-1234-5678, ０３（１２３４）５６７８,
  03.5555.6666, 03/7777/8888, 0120-123-456; dots and slashes only in three groups, the last of 3 or 4
  digits, so that dates and decimals are not phones); +81 numbers (8 to 15 digits after the +).
- ［個人番号］ My Numbers (12 digits, plain or 4-4-4), recognised by their check digit (the official
  algorithm: weights 2..7 then 2..6 over the first 11 digits from the right, r = sum mod 11,
  check = 0 if r <= 1 else 11 - r), so that a random 12-digit number is one in 11 times at most; and any
  12 digits written right after マイナンバー or 個人番号, whatever their check digit. A My Number is 特定個人
  情報 and must never be stored.
- ［法人番号］ corporate numbers (13 digits, plain or 1-4-4-4, also as the T… invoice registration number)
  whose first digit is their check digit (9 - the sum of the other 12 with weights 1, 2 alternating
  from the right, mod 9). A corporate number is public (国税庁's 法人番号公表サイト), but it names the
  company that asked, which the store has no need to keep; it is masked like the rest. The check digit
  passes for one 13-digit number in nine or so, so a mask now and then hides a number that was not one.
- ［カード番号］ card numbers of 13 to 19 digits, plain or in groups of 3 to 6 that start with a group of
  4 (4-4-4-4, Amex's 4-6-5), that pass the Luhn check and start and are as long as a network's numbers
  (Visa, Mastercard, Amex, JCB, Diners, Discover, UnionPay: the networks that issue in Japan).

Not masked: years, dates, times, amounts (a number followed by 円, 万, 人… or after ¥ is a quantity,
whatever its check digit), postal codes (〒…), decimals, counts, numbers inside longer digit runs, and
groups of a longer grid of numbers (4111 1111 1111 of 4111 1111 1111 1112: no My Number).
Each number is one of the groups in a run of digit groups; a run is split into the longest items it
holds, left to right, so a phone next to a date is masked and the date is not.

The desks' numbers in the advisor's own answers are not the owner's and stay, unless the owner typed
that very number: `contacts()` returns what the owner typed, each item carrying its mask, and
`mask_known()` masks those items wherever they appear.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

EMAIL_MASK = "［メール］"
PHONE_MASK = "［電話］"
MY_NUMBER_MASK = "［個人番号］"
CORPORATE_MASK = "［法人番号］"
CARD_MASK = "［カード番号］"
MASKS = (EMAIL_MASK, PHONE_MASK, MY_NUMBER_MASK, CORPORATE_MASK, CARD_MASK)


class Found(str):
    """An item of personal data as written in the text, with the mask it takes (`.mask`)."""

    def __new__(cls, text: str, mask: str = PHONE_MASK) -> Found:
        found = super().__new__(cls, text)
        found.mask = mask
        return found

    def __getnewargs__(self) -> tuple[str, str]:  # copy and pickle keep the mask
        return str(self), self.mask


# --- e-mail addresses ---------------------------------------------------------------------------

_ASCII_LETTERS = "A-Za-zＡ-Ｚａ-ｚ"
_ASCII_LOCAL = re.compile(r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\-＿．－]")
_LOCAL = re.compile(r"[\w.%+\-．－]")  # \w: letters and digits of every script
_TLD = rf"(?:[{_ASCII_LETTERS}]{{2,63}}|日本|みんな|コム)"
_DOTTED = re.compile(rf"(?:[\w\-－]+[.．])+{_TLD}(?![{_ASCII_LETTERS}])")  # …jp03-1234-5678: two items
_IPV4 = re.compile(r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9.])")
_DOTLESS = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ][A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-－]*")
# an address, roughly (where it starts and which domains go with which local parts: see _emails)
EMAIL = re.compile(rf"[\w.%+\-．－]+[@＠](?:{_DOTTED.pattern}|{_IPV4.pattern}|{_DOTLESS.pattern})")


def _script(char: str) -> str:
    code = ord(char)
    if 0x3040 <= code <= 0x309F:
        return "hiragana"
    if 0x30A0 <= code <= 0x30FF or 0xFF66 <= code <= 0xFF9F:
        return "katakana"
    if 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or char in "々〆":
        return "kanji"
    return "other"


def _local_start(text: str, at: int) -> int | None:
    """Where the local part of an address whose ＠ is at `at` starts (None: there is none).

    An ASCII local part is the ASCII run before the ＠ (連絡はtaro@… is taro); any other is the run of
    the script of the character before the ＠ (連絡は太郎@… is 太郎), with an ASCII run of digits only
    counted with it (太郎2@…)."""
    i = at
    while i and _ASCII_LOCAL.match(text[i - 1]):
        i -= 1
    if re.search(f"[{_ASCII_LETTERS}]", text[i:at]):
        start = i
    elif i and _LOCAL.match(text[i - 1]):
        script = _script(text[i - 1])
        while i and _LOCAL.match(text[i - 1]) and _script(text[i - 1]) == script:
            i -= 1
        start = i
    else:
        start = i
    while start < at and text[start] in "._%+-．－＿":  # an address does not start with a dot
        start += 1
    return start if start < at else None


def _emails(text: str) -> Iterator[tuple[int, int]]:
    last = 0
    for at in re.finditer("[@＠]", text):
        start = _local_start(text, at.start())
        if start is not None:
            start = max(start, last)  # x@a.jp1y@b.jp: the second's local part is 1y
        if start is None or start >= at.start():
            continue
        domain = _DOTTED.match(text, at.end()) or _IPV4.match(text, at.end())
        local = text[start:at.start()]
        if domain is None and all(_ASCII_LOCAL.match(c) for c in local) and re.search(f"[{_ASCII_LETTERS}]", local):
            domain = _DOTLESS.match(text, at.end())  # admin@localhost, never 会議@zoom nor 15678@T
        if domain:
            yield start, domain.end()
            last = domain.end()


# --- numbers ------------------------------------------------------------------------------------

_ARABIC = "0-9０-９"
_KANJI = "〇○零一二三四五六七八九"
_SEP = r"\-‐‑‒–—―−－ー \u3000()（）.．/／・"
_RUN = re.compile(
    rf"[{_ARABIC}]+(?:[{_SEP}]{{1,3}}[{_ARABIC}]+)*"  # 03-1234-5678, ０３（１２３４）５６７８
    rf"|[{_KANJI}]+(?:(?:[{_SEP}]|の){{1,3}}[{_KANJI}]+)*"  # 〇三の五五五五の六六六六
)
_GROUP = re.compile(rf"[{_ARABIC}]+|[{_KANJI}]+")
_DIGITS = str.maketrans("０１２３４５６７８９〇○零一二三四五六七八九", "0123456789000123456789")
_MY_NUMBER_SAID = re.compile(r"(?:マイナンバー|個人番号)(?:カード)?(?:の番号)?[\s　はがを:：=＝、,()（）]{0,4}$")
_QUANTITY_AFTER = re.compile(
    r"[\s　]*(?:円|万|億|兆|千|百|十|ドル|ユーロ|元|人|名|社|件|個|株|口|枚|台|回|倍|歳|年|ヶ月|か月|カ月|日|時間|分|秒"
    r"|[%％]|yen|JPY|USD)"
)
_QUANTITY_BEFORE = re.compile(r"[¥￥$＄][\s　]*$")
_MAX_GROUPS, _MIN_DIGITS, _MAX_DIGITS = 6, 8, 19  # an item has 8 (+81…) to 19 digits
_MAX_PASSES = 8  # of masking (see _masked): one or two in practice, each masking at least one item


def _my_number_check(digits: str) -> bool:
    weights = [n + 1 if n <= 6 else n - 5 for n in range(1, 12)]
    r = sum(int(d) * q for d, q in zip(reversed(digits[:11]), weights)) % 11
    return int(digits[11]) == (0 if r <= 1 else 11 - r)


def _corporate_check(digits: str) -> bool:
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(digits[1:]), 1))
    return int(digits[0]) == 9 - total % 9


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        x = int(d) * (2 if i % 2 else 1)
        total += x - 9 if x > 9 else x
    return total % 10 == 0


Neighbour = tuple[str, int]  # the separator to a group of the same run next to an item, and its size


def _card_network(digits: str) -> bool:
    """Whether a card network issues numbers that start so and are this long (Visa, Mastercard, Amex,
    JCB, Diners, Discover, UnionPay): 20230422053404, a time stamp that passes Luhn, is no card."""
    n, head = len(digits), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 5100 <= head <= 5599 or 2221 <= head <= 2720:
        return n == 16
    if digits[:2] in ("34", "37"):
        return n == 15
    if 3528 <= head <= 3589:
        return 16 <= n <= 19
    if digits[:2] in ("36", "38", "39") or 3000 <= head <= 3059 or head == 3095:
        return 14 <= n <= 19
    if head == 6011 or digits[:2] in ("62", "64", "65"):
        return 16 <= n <= 19
    return False


def _kind(text: str, start: int, end: int, sizes: list[int], seps: list[str], digits: str,
          before_group: Neighbour | None = None, after_group: Neighbour | None = None,
          after_item: bool = False) -> str | None:
    """The mask for the digit groups text[start:end] (their sizes, the separators between them, their
    digits), or None if they are no personal data. `before_group`, `after_group`: the groups of the
    run next to them that are no part of an item; `after_item`: an item ends right before them."""
    before = text[max(0, start - 40):start]
    if before.endswith(("+", "＋")):  # an international phone, or nothing
        return PHONE_MASK if 8 <= len(digits) <= 15 and len(sizes) <= 5 else None
    if len(digits) == 12 and _MY_NUMBER_SAID.search(before):
        return MY_NUMBER_MASK
    if before.endswith("〒"):
        return None
    if re.match(rf"[.,．，][{_ARABIC}]", text[end:end + 2]) or (
        not after_item and re.search(rf"[{_ARABIC}][.,．，]$", before)
    ):
        return None  # a decimal or a thousands group
    if _QUANTITY_AFTER.match(text, end) or _QUANTITY_BEFORE.search(before):
        return None  # an amount, a count, a year
    # 4111 1111 1111 of 4111 1111 1111 1112: part of a longer number, whose groups go on as its own
    fragment = bool(before_group and before_group[0] in seps and before_group[1] == sizes[0]) or bool(
        after_group and after_group[0] in seps and after_group[1] == sizes[-1]
    )
    if len(digits) == 12 and sizes in ([12], [4, 4, 4]) and not fragment and _my_number_check(digits):
        return MY_NUMBER_MASK
    if len(digits) == 13 and sizes in ([13], [1, 4, 4, 4]) and not fragment and _corporate_check(digits):
        return CORPORATE_MASK
    card_groups = len(sizes) == 1 or (sizes[0] == 4 and all(3 <= s <= 6 for s in sizes))
    if 13 <= len(digits) <= 19 and card_groups and not fragment and _card_network(digits) and _luhn(digits):
        return CARD_MASK
    if len(digits) in (10, 11) and digits[0] == "0" and digits[1] != "0":
        dotted = any(c in sep for sep in seps for c in "./．／・")
        if len(sizes) == 1:
            return PHONE_MASK
        if len(sizes) == 2 and not dotted and 2 <= sizes[0] <= 5 and 4 <= sizes[1] <= 8:
            return PHONE_MASK
        if len(sizes) == 3 and 2 <= sizes[0] <= 5 and 1 <= sizes[1] <= 4 and 3 <= sizes[2] <= 4:
            return PHONE_MASK
    return None


def _numbers(text: str) -> Iterator[tuple[int, int, str]]:
    for run in _RUN.finditer(text):
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(text, run.start(), run.end())]
        i, taken = 0, -1  # taken: the last group of the last item
        while i < len(groups):
            j, size, sizes = i, 0, []
            while j < len(groups) and j - i < _MAX_GROUPS and size + groups[j][1] - groups[j][0] <= _MAX_DIGITS:
                sizes.append(groups[j][1] - groups[j][0])
                size += sizes[-1]
                j += 1
            for k in range(j, i, -1):  # the longest item first
                if sum(sizes[:k - i]) < _MIN_DIGITS:
                    i += 1
                    break
                part = groups[i:k]
                start, end = part[0][0], part[-1][1]
                seps = [text[a[1]:b[0]] for a, b in zip(part, part[1:])]
                digits = "".join(text[a:b] for a, b in part).translate(_DIGITS)
                before_group = after_group = None
                if i > taken + 1:
                    before_group = (text[groups[i - 1][1]:start], groups[i - 1][1] - groups[i - 1][0])
                if k < len(groups):
                    after_group = (text[end:groups[k][0]], groups[k][1] - groups[k][0])
                kind = _kind(text, start, end, sizes[:k - i], seps, digits, before_group, after_group,
                             after_item=taken >= 0 and i == taken + 1)
                if kind:
                    opened = text[start - 1:start]
                    closed = seps[0][:1] if seps else ""
                    if kind == PHONE_MASK and (opened in ("+", "＋") or opened in ("(", "（") and closed in (")", "）")):
                        start -= 1  # +81 3-1234-5678, (03)1234-5678
                    yield start, end, kind
                    i, taken = k, k - 1
                    break
            else:
                i += 1


def _spans(text: str) -> list[tuple[int, int, str]]:
    """Where the personal data in `text` is, and the mask of each, in order."""
    spans = [(start, end, EMAIL_MASK) for start, end in _emails(text)]
    blanked = list(text)
    for start, end, _ in spans:  # digits inside an address are the address's
        blanked[start:end] = "\0" * (end - start)
    spans += _numbers("".join(blanked))
    return sorted(spans)


def _masked(text: str) -> tuple[str, list[Found]]:
    """`text` masked, and the items masked in it. Masking an item can free another next to it (an
    address whose local part began with a number that was masked, a phone after one: 03….03…); those
    are masked too, until nothing is left."""
    found: list[Found] = []
    for _ in range(_MAX_PASSES):
        spans = _spans(text)
        if not spans:
            break
        found += [Found(text[start:end], kind) for start, end, kind in spans]
        out, last = [], 0
        for start, end, kind in spans:
            out += [text[last:start], kind]
            last = end
        text = "".join(out) + text[last:]
    return text, found


def contacts(text: str) -> list[str]:
    """The personal data in `text` (addresses, phones, My Numbers, corporate and card numbers), as
    written there; each item is a `Found`, a str whose `.mask` is the mask it takes."""
    return _masked(text)[1]


def has_phone(text: str) -> bool:
    """Whether `text` gives a phone number (as the masking reads one: hyphens, brackets, full-width, +81…)."""
    return any(found.mask == PHONE_MASK for found in _masked(text)[1])


def mask(text: str) -> str:
    """`text` with each item of personal data replaced by its mask (［メール］, ［電話］, ［個人番号］,
    ［法人番号］, ［カード番号］). Masking twice changes nothing."""
    return _masked(text)[0]


def _mask_of(item: str) -> str:
    kind = getattr(item, "mask", None)
    if kind in MASKS:
        return kind
    spans = _spans(item)  # a plain string: the kind it is written as
    if len(spans) == 1 and spans[0][:2] == (0, len(item)):
        return spans[0][2]
    return EMAIL_MASK if "@" in item or "＠" in item else PHONE_MASK


def mask_known(value: Any, found: list[str]) -> Any:
    """`value` (strings, lists and dicts within) with each string of `found` masked wherever it appears:
    what the owner typed, in whatever the advisor derived from it (the answer's copy, the state). Each
    item takes its own mask (`Found.mask`; for a plain string, the mask of what it is written as); a
    number is masked where it stands alone, not where it is part of a longer run of digits."""
    if not found:
        return value
    masks: dict[str, str] = {}
    for item in found:
        if item:
            masks.setdefault(str(item), _mask_of(item))
    if not masks:
        return value
    items = sorted(masks, key=len, reverse=True)
    pattern = re.compile("|".join(
        re.escape(item) if masks[item] == EMAIL_MASK
        else _bounded(item[0], "(?<!{})") + re.escape(item) + _bounded(item[-1], "(?!{})")
        for item in items
    ))
    return _replace(value, pattern, masks)


def _bounded(end: str, around: str) -> str:
    """No digit of the kind `end` is (an ASCII or full-width one, or a kanji numeral) on that side."""
    for digits in (_ARABIC, _KANJI):
        if re.fullmatch(f"[{digits}]", end):
            return around.format(f"[{digits}]")
    return ""


def _replace(value: Any, pattern: re.Pattern[str], masks: dict[str, str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(lambda m: masks[m.group(0)], value)
    if isinstance(value, list):
        return [_replace(v, pattern, masks) for v in value]
    if isinstance(value, tuple):
        return tuple(_replace(v, pattern, masks) for v in value)
    if isinstance(value, dict):
        return {k: _replace(v, pattern, masks) for k, v in value.items()}
    return value
