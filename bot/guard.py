"""What the advisor declines before it searches: rule-breaking requests and clearly off-topic ones.

Off-topic words only count when the question carries no sign of the SME domain, so "レストランを
経営していて、ネットで売りたい" is still answered while "おすすめのレストランは?" is not.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .text import normalize

# Requests to break the rules, reveal settings or secrets, or take on another persona.
_RULES = [
    r"(指示|命令|ルール|制約|制限|設定|ガイドライン|ポリシー)(を|は)?(全部|すべて|全て)?(無視|忘れ|解除|破)",
    r"(前の|以前の|上記の|これまでの)(指示|命令|ルール)",
    r"(システム|system)\s*(プロンプト|prompt|メッセージ|message)",
    r"プロンプト(を|の内容)",
    r"(api\s*key|apiキー|アクセスキー|シークレット|secret|トークン|token|パスワード|password|認証情報|環境変数|\.env\b)"
    r".{0,20}(教え|見せ|表示|出力|開示|晒|知りたい|書いて|言って|reveal|show|tell|print|give|leak|share)",
    r"(reveal|show|print|tell|give|leak|share|what is|what are)\b.{0,30}(api\s*keys?|secret|token|password|credentials)",
    r"(設定|内部|初期)(値|情報|指示|ファイル)?を(教え|見せ|表示|出力|開示|晒)",
    r"(あなたの|君の|お前の)(設定|指示|ルール|正体|中身)",
    r"ignore\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|earlier)?\s*(instructions|rules|prompts?)",
    r"(reveal|show|print|tell|repeat|output)\b.{0,30}\b(instructions|system prompt|prompt|settings|config|configuration|api keys?|secrets?)",
    r"\bjailbreak|\bdan\b|do anything now|developer mode|開発者モード|脱獄|制限のない|制限なし|無制限モード",
    r"(なりきって|になりきり|のふりをして|ロールプレイ|として振る舞|pretend (to be|you are)|act as|roleplay|role-play)",
    # instructions smuggled into text to summarise or translate
    r"システム(通知|指示|命令)|system (notice|notification|override)|(以降|以後|今後|これから)の(回答|返答|出力|応答)",
    r"(回答|返答|出力)の(最後|最初|末尾|冒頭)に.{0,40}(書く|書け|付け|入れ|出力)",
]
_RULES_RE = re.compile("|".join(f"(?:{p})" for p in _RULES))

# Everyday topics outside SME support, word -> the topic named in the polite refusal (data: bot/data/off_topic.yaml).
_OFF_TOPIC = {
    word: topic
    for topic, words in yaml.safe_load((Path(__file__).parent / "data" / "off_topic.yaml").read_text(encoding="utf-8"))["topics"].items()
    for word in words
}
_OFF_TOPIC_RE = re.compile(
    "|".join(
        rf"(?<![a-z]){re.escape(w)}(?:s|es)?(?![a-z])" if w.isascii()
        # a katakana word is not the tail of a longer one (ランチ in フランチャイズ)
        else rf"(?<![ァ-ヴー]){re.escape(w)}" if re.match(r"[ァ-ヴー]", w) else re.escape(w)
        for w in sorted(_OFF_TOPIC, key=len, reverse=True)
    )
)


def breaks_rules(question: str) -> bool:
    return bool(_RULES_RE.search(normalize(question)))


# "レストランを経営していて…" names the owner's own business, not what they ask for.
_OWN_BUSINESS = re.compile(r"^.{0,4}(を|の)?(経営|営ん|やって|運営|開業|始め|継い|店主|オーナー|業|会社|事業者|企業)")  # 旅行会社: a trade
_RUN_A = re.compile(r"(run|own|operate|manage|have)s?\s+(a|an|my|our)?\s*([a-z]+\s+){0,2}$")
# Words that ask for support: with one of them, an off-topic word is context, not the request.
_SUPPORT = re.compile(
    r"支援|補助|助成|制度|施策|相談|窓口|東京都|都の|公社|セミナー|専門家|subsid|grant|support|program|scheme|consult"
)


def asks_for_support(question: str) -> bool:
    """Whether the question holds a word that asks for support (支援, 相談, 東京都…)."""
    return bool(_SUPPORT.search(normalize(question)))


def off_topic(question: str) -> str | None:
    """The everyday topic a question asks about, when it asks for nothing the SME domain offers."""
    q = normalize(question)
    if asks_for_support(q):
        return None
    for m in _OFF_TOPIC_RE.finditer(q):
        if _OWN_BUSINESS.match(q[m.end():]) or _RUN_A.search(q[: m.start()]):
            continue
        word = m.group(0)
        return _OFF_TOPIC.get(word) or _OFF_TOPIC.get(re.sub(r"e?s$", "", word), "このご質問")
    return None
