"""What the advisor declines before it searches: rule-breaking requests and clearly off-topic ones.

Off-topic words only count when the question carries no sign of the SME domain, so "レストランを
経営していて、ネットで売りたい" is still answered while "おすすめのレストランは?" is not.
"""

from __future__ import annotations

import re

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

# Everyday topics outside SME support. Word -> the topic named in the polite refusal.
_OFF_TOPIC = {
    "天気": "天気", "天候": "天気", "気温": "天気", "降水": "天気", "雨が降": "天気", "weather": "天気",
    "forecast": "天気", "レストラン": "飲食店探し", "ランチ": "飲食店探し", "ディナー": "飲食店探し",
    "美味しい店": "飲食店探し", "おいしい店": "飲食店探し", "おすすめの店": "飲食店探し", "居酒屋": "飲食店探し",
    "restaurant": "飲食店探し", "ラーメン": "飲食店探し", "寿司屋": "飲食店探し", "グルメ": "飲食店探し",
    "晩ごはん": "料理", "晩御飯": "料理", "夕飯": "料理", "晩飯": "料理", "おかず": "料理", "傘": "天気", "雨降": "天気", "雨どれ": "天気", "降ってる": "天気", "降水確率": "天気", "株買": "株式投資", "どんな株": "株式投資",
    "株価": "株式投資", "銘柄": "株式投資", "株で": "株式投資", "株を買": "株式投資", "値上がり": "株式投資",
    "ビットコイン": "暗号資産", "仮想通貨": "暗号資産", "暗号資産": "暗号資産", "bitcoin": "暗号資産",
    "crypto": "暗号資産", "stock tip": "株式投資", "stocks": "株式投資", "fx": "投資",
    "詩を": "創作", "詩で": "創作", "ポエム": "創作", "俳句": "創作", "短歌": "創作", "川柳": "創作",
    "小説": "創作", "歌詞": "創作", "poem": "創作", "haiku": "創作", "joke": "創作", "ジョーク": "創作",
    "野球": "スポーツ", "サッカー": "スポーツ", "試合結果": "スポーツ", "優勝": "スポーツ", "baseball": "スポーツ",
    "頭痛": "健康・医療", "風邪": "健康・医療", "病院": "健康・医療", "薬": "健康・医療", "ダイエット": "健康・医療",
    "旅行": "旅行", "観光": "旅行", "温泉": "旅行", "ホテル": "旅行", "行き方": "道案内", "乗り換え": "道案内",
    "恋愛": "恋愛相談", "彼女": "恋愛相談", "彼氏": "恋愛相談", "占い": "占い", "星座": "占い",
    "宿題": "宿題", "芸能": "芸能", "アイドル": "芸能", "俳優": "芸能", "映画": "娯楽", "ゲーム攻略": "娯楽",
    "レシピ": "料理", "献立": "料理", "競馬": "ギャンブル", "宝くじ": "ギャンブル", "パチンコ": "ギャンブル",
    "好きな人": "恋愛相談", "告白": "恋愛相談", "デート": "恋愛相談", "片思い": "恋愛相談", "婚活": "恋愛相談",
    "芸能人": "芸能", "スキャンダル": "芸能", "熱愛": "芸能", "ジャニーズ": "芸能", "ゴシップ": "芸能",
    "数学": "宿題", "算数": "宿題", "読書感想文": "宿題", "作文": "宿題", "夏休みの": "宿題",
    "歌って": "創作", "物語を": "創作", "なぞなぞ": "創作", "ダジャレ": "創作",
    "筋トレ": "健康・医療", "睡眠": "健康・医療", "症状": "健康・医療",
    "rain": "天気", "recipe": "料理", "cook": "料理", "movie": "娯楽", "song": "創作",
    "story": "創作", "girlfriend": "恋愛相談", "boyfriend": "恋愛相談", "dating": "恋愛相談",
    "homework": "宿題", "celebrity": "芸能", "gossip": "芸能", "football": "スポーツ", "soccer": "スポーツ",
    "sushi": "飲食店探し", "ramen": "飲食店探し", "sightseeing": "旅行", "hotel": "旅行", "medicine": "健康・医療",
    "headache": "健康・医療", "stock": "株式投資", "invest in": "投資", "lottery": "ギャンブル",
}
_OFF_TOPIC_RE = re.compile(
    "|".join(
        rf"(?<![a-z]){re.escape(w)}(?:s|es)?(?![a-z])" if w.isascii() else re.escape(w)
        for w in sorted(_OFF_TOPIC, key=len, reverse=True)
    )
)


def breaks_rules(question: str) -> bool:
    return bool(_RULES_RE.search(normalize(question)))


# "レストランを経営していて…" names the owner's own business, not what they ask for.
_OWN_BUSINESS = re.compile(r"^.{0,4}(を|の)?(経営|営ん|やって|運営|開業|始め|継い|店主|オーナー|業)")
_RUN_A = re.compile(r"(run|own|operate|manage|have)s?\s+(a|an|my|our)?\s*([a-z]+\s+){0,2}$")
# Words that ask for support: with one of them, an off-topic word is context, not the request.
_SUPPORT = re.compile(
    r"支援|補助|助成|制度|施策|相談|窓口|東京都|都の|公社|セミナー|専門家|subsid|grant|support|program|scheme|consult"
)


def off_topic(question: str) -> str | None:
    """The everyday topic a question asks about, when it asks for nothing the SME domain offers."""
    q = normalize(question)
    if _SUPPORT.search(q):
        return None
    for m in _OFF_TOPIC_RE.finditer(q):
        if _OWN_BUSINESS.match(q[m.end():]) or _RUN_A.search(q[: m.start()]):
            continue
        word = m.group(0)
        return _OFF_TOPIC.get(word) or _OFF_TOPIC.get(re.sub(r"e?s$", "", word), "このご質問")
    return None
