"""What a question asks of a program, as the search reads it: the guide sections that say it.

Part of understanding the message: `understand()` reads these once per turn (`Intent.sections`,
`Intent.asks_detail`) and the search takes them from there; a bare `smebot search` has no understanding
step, so the retriever reads them from its query text with the same function.
"""

from __future__ import annotations

import re

# What a program question asks about, and the guide sections that say it.
ASPECT_SECTIONS = [
    (re.compile(r"上限|いくら|幾ら|何円|万円|億円|助成率|補助率|何割|金額|最大|限度|奨励金|how much|maximum|\bcap\b|limit|rate|amount|cover"),
     ("助成率・上限", "費用・利用条件")),
    (re.compile(r"電話|連絡先|問い合わせ|問合せ|フリーダイヤル|phone|contact|number|call"), ("問い合わせ先",)),
    (re.compile(r"申請|申し込|申込|締切|締め切り|期限|募集|いつまで|apply|application|deadline|submit|due|cut-?off|by when|until when"), ("申請方法",)),
    (re.compile(r"いつ|何年から|何月|何日|開始|設立|できたの|始まったの|\bwhen\b|since|what year|what date|started|founded|launched"), ("申請方法", "概要")),
    (re.compile(r"何人|何名|人数|何社|社数|何件|件数|how many"), ("概要", "費用・利用条件")),
    (re.compile(r"対象|条件|要件|誰が|だれが|eligib|who can"), ("対象",)),
    (re.compile(r"どこで|場所|会場|総額|where|venue"), ("概要",)),
]

# Words that make a question one about a concrete program (its amounts, dates, how to apply, desk).
_PROGRAM_DETAIL = re.compile(
    r"上限|いくら|幾ら|何円|万円|億円|助成率|補助率|何割|金額|申請|申し込|申込|締切|締め切り|期限|募集|要件|条件|対象者"
    r"|問い合わせ|問合せ|電話|窓口はどこ|フリーダイヤル|奨励金|総額|助成金|補助金の名前|制度の名前"
    r"|how much|maximum|\bcap\b|deadline|apply|application|eligib|phone|contact|subsid|grant"
)


def read_aspects(text: str) -> tuple[tuple[str, ...], bool]:
    """The guide sections that say what `text` asks (助成率・上限, 問い合わせ先…), and whether it asks
    a program's detail (amounts, dates, how to apply, the desk)."""
    q = text.lower()
    sections = tuple(dict.fromkeys(sec for rx, secs in ASPECT_SECTIONS if rx.search(q) for sec in secs))
    detail = bool(_PROGRAM_DETAIL.search(q)) or any(rx.search(q) for rx, _ in ASPECT_SECTIONS[:2])
    return sections, detail
