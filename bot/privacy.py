"""E-mail addresses and phone numbers that owners type, masked before anything is stored.

The turn itself is answered from what the owner wrote (in memory); what the conversation store keeps
(the question, the question as searched, the answer's copy of them, what a follow-up leans on, feedback
comments) has each address and number the owner typed replaced by ［メール］ or ［電話］. The desks'
numbers in the advisor's own answers are not the owner's and stay, unless the owner typed that very
number.

Matched: addresses with ASCII or full-width letters and ＠; Japanese numbers of 10 or 11 digits that
start with 0 (03-1234-5678, 090 1234 5678, ０３（１２３４）５６７８, 0120-123-456) and +81 numbers, with
hyphens, spaces, brackets or ー between the digits. Not matched: years, dates, amounts, postal codes.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

EMAIL_MASK = "［メール］"
PHONE_MASK = "［電話］"

_ALNUM = "A-Za-z0-9Ａ-Ｚａ-ｚ０-９"
EMAIL = re.compile(
    rf"[{_ALNUM}._%+\-＿．－]+[@＠][{_ALNUM}\-－]+(?:[.．][{_ALNUM}\-－]+)+"
)
_DIGIT = "0-9０-９"
_SEP = r"[\-‐‑‒–—―−－ー \u3000()（）]"
PHONE = re.compile(
    rf"(?<![{_DIGIT}])(?:[(（]?[0０](?:{_SEP}{{0,2}}[{_DIGIT}]){{9,10}}"  # 0 and 9 or 10 more digits
    rf"|[+＋][{_DIGIT}]{{1,3}}{_SEP}{{0,2}}[(（]?[{_DIGIT}](?:{_SEP}{{0,2}}[{_DIGIT}]){{6,11}})(?![{_DIGIT}])"  # +81 …
)


def _is_phone(candidate: str) -> bool:
    text = unicodedata.normalize("NFKC", candidate)
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        return 8 <= len(digits) <= 15
    return digits.startswith("0") and len(digits) in (10, 11)


def contacts(text: str) -> list[str]:
    """The e-mail addresses and phone numbers in `text`, as written there."""
    found = [m.group(0) for m in EMAIL.finditer(text)]
    found += [m.group(0) for m in PHONE.finditer(text) if _is_phone(m.group(0))]
    return found


def mask(text: str) -> str:
    """`text` with each e-mail address and phone number replaced by ［メール］ or ［電話］."""
    text = EMAIL.sub(EMAIL_MASK, text)
    return PHONE.sub(lambda m: PHONE_MASK if _is_phone(m.group(0)) else m.group(0), text)


def mask_known(value: Any, found: list[str]) -> Any:
    """`value` (strings, lists and dicts within) with each string of `found` masked wherever it appears:
    what the owner typed, in whatever the advisor derived from it (the answer's copy, the state)."""
    if not found:
        return value
    if isinstance(value, str):
        for item in sorted(set(found), key=len, reverse=True):
            if item in value:
                value = value.replace(item, EMAIL_MASK if EMAIL.fullmatch(item) else PHONE_MASK)
        return value
    if isinstance(value, list):
        return [mask_known(v, found) for v in value]
    if isinstance(value, tuple):
        return tuple(mask_known(v, found) for v in value)
    if isinstance(value, dict):
        return {k: mask_known(v, found) for k, v in value.items()}
    return value
