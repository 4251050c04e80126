"""What a Slack message asks of the advisor: an answer, a reaction, or nothing (a pure function).

In a thread the advisor answered, people also thank it, acknowledge, and talk to each other
(「田中さん、これ確認お願いします」, `<@U123> 見ておいて`). Those are not questions to the advisor:
a thanks or an acknowledgement gets a reaction, a message addressed to someone else gets nothing.
Everything else (a question, a follow-up, a fact about the company) is answered.
"""

from __future__ import annotations

import re
from enum import Enum


class Triage(Enum):
    ANSWER = "answer"
    THANKS = "thanks"  # a reaction (🙏), no answer
    ACKNOWLEDGED = "acknowledged"  # a reaction (👌), no answer
    ELSEWHERE = "elsewhere"  # addressed to someone else: nothing


REACTIONS = {Triage.THANKS: "pray", Triage.ACKNOWLEDGED: "ok_hand"}

# names the advisor answers to when addressed like a person (「smebotさん、」)
BOT_NAMES = ("smebot", "アドバイザー", "ボット", "bot")

_THANKS = re.compile(
    r"(ありがと(う|ー)?(ございます|ございました|ございます|です)?|有難う|有り難う|感謝(します|いたします|です)?|"
    r"助かり(ました|ます)|お礼申し上げます|サンキュー|thanks?( you)?( so much| very much| a lot)?|thx|ty|cheers|"
    r"appreciated?|much appreciated)",
    re.IGNORECASE,
)
_ACKNOWLEDGED = re.compile(
    r"(了解(です|しました|いたしました)?|承知(です|しました|いたしました)?|わかりました|分かりました|かしこまりました|"
    r"なるほど(です)?|確認(します|しました|いたします)|おけ|オッケー|ok(ay)?|got it|understood|noted|great|perfect|cool|nice|"
    r"sounds good|will do|(検討|相談|申請|連絡|問い合わせ|電話|応募|準備|確認)(して)?(みます|します|いたします|してみます))",
    re.IGNORECASE,
)
# what may stand around a thanks or an acknowledgement without making it a question
_FILLER = re.compile(
    r"(本当に|ほんとうに|ほんとに|どうも|とても|大変|たいへん|まことに|誠に|いつも|早速|さっそく|丁寧な?ご?回答|ご回答|ご案内|"
    r"回答|説明|教えていただき|教えてくれて|いただき|頂き|くれて|です|ます|ね|よ|な|わ|w+|草|"
    r"very|so|much|a lot|for|the|answer|help|info|[a-z]+!|:[a-z0-9_+\-]+:|"
    r"[\s、。,.!！〜~ー…・☺-➿\U0001F300-\U0001FAFF])",
    re.IGNORECASE,
)
_MENTION_AT_START = re.compile(r"^\s*<@([A-Z0-9]+)(\|[^>]*)?>")
_BROADCAST_AT_START = re.compile(r"^\s*<!(here|channel|everyone|subteam\^[A-Z0-9]+)[^>]*>")
_HONORIFIC = r"(さん|様|さま|くん|君|ちゃん|氏|殿|部長|課長|係長|主任|社長|専務|常務|先輩|先生|チーム|各位)"
_NAMED_AT_START = re.compile(rf"^\s*(?P<name>[^\s、,，。？?！!:：「」]{{1,12}}?){_HONORIFIC}\s*([、,，:：]|\s|$)")
_EVERYONE_AT_START = re.compile(r"^\s*(皆さん|皆様|みなさん|みなさま|各位)\s*([、,，:：]|\s|$)")


def triage(text: str, bot_user_id: str | None = None) -> Triage:
    """What to do with a message in a thread the advisor takes part in (or a DM to it).

    `text` is the message as Slack sends it (mentions as <@U…>).
    """
    start = _MENTION_AT_START.match(text)
    if start and start.group(1) != bot_user_id:
        return Triage.ELSEWHERE  # <@U123> …: to that person, even if it is a question
    if _BROADCAST_AT_START.match(text):
        return Triage.ELSEWHERE
    plain = re.sub(r"<@[A-Z0-9]+(\|[^>]*)?>", " ", text).strip()
    named = _NAMED_AT_START.match(plain)
    if named and named.group("name").lower() not in BOT_NAMES:
        return Triage.ELSEWHERE  # 田中さん、… : to a colleague
    if _EVERYONE_AT_START.match(plain):
        return Triage.ELSEWHERE
    if "?" in plain or "？" in plain or not plain:
        return Triage.ANSWER if plain else Triage.ELSEWHERE
    if _only_social(plain):
        return Triage.THANKS if _THANKS.search(plain) else Triage.ACKNOWLEDGED
    return Triage.ANSWER


def _only_social(text: str) -> bool:
    """True when `text` is thanks or acknowledgements and nothing but fillers and punctuation."""
    if len(text) > 60 or not (_THANKS.search(text) or _ACKNOWLEDGED.search(text)):
        return False
    rest = _ACKNOWLEDGED.sub(" ", _THANKS.sub(" ", text))
    return not _FILLER.sub("", rest).strip()
