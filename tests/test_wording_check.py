"""The checks on a model's wording of a plan (bot/core/check.py): strings in, a reason out; no index."""

import pytest

from bot.core.check import Evidence, check, figures

PASSAGES = [
    "BCP実践促進助成金の助成限度額は1,500万円、助成率は中小企業者等が2/3です。",
    "お問い合わせ：公社 設備支援課 03-5822-7239。詳しくは https://www.tokyo-kosha.or.jp/support/ をご覧ください。",
    "都内中小企業の約7割が事業継続計画を策定していない。災害に備えた取組を後押しし、事業の継続を支える仕組みを整備していくことが必要である。"
    "このため、普及啓発から計画の策定、計画に基づく設備の導入まで、段階に応じた支援を切れ目なく行い、"
    "中小企業の災害対応力の向上を図っていく。",
]
DRAFT = "「BCP実践促進助成金」の上限額は1,500万円です（令和7年度）[1]。\n・助成率は中小企業者等が3分の2です[1]。\nお問い合わせ先は設備支援課（電話 03-5822-7239）です[2]。"


def ev(draft: str = DRAFT) -> Evidence:
    return Evidence(PASSAGES, draft, draft.split("\n")[0], named_in=lambda t: [n for n in ("BCP実践促進助成金", "展示会出展助成事業") if n in t])


@pytest.mark.parametrize(
    "text, reason",
    [
        (DRAFT, None),
        ("「BCP実践促進助成金」の上限は1500万円です[1]。助成率は2/3です[1]。", None),  # separators and 3分の2 are the same figures
        ("「ＢＣＰ実践促進助成金」の上限額は１，５００万円です[1]。", None),  # full-width is folded
        ("「BCP実践促進助成金」の上限額は1,500万円です[1]。申込は https://www.tokyo-kosha.or.jp/support/ から[2]。", None),
        ("「BCP実践促進助成金」の上限額は1,500万円です。", "no_citation"),
        ("「BCP実践促進助成金」の上限額は1,500万円です[4]。", "bad_citation"),
        ("「BCP実践促進助成金」の上限額は2,000万円です[1]。", "unsupported_figure"),
        ("「BCP実践促進助成金」の上限額は1,500万円です[1]。助成率は3/4です[1]。", "unsupported_figure"),
        ("「BCP実践促進助成金」の上限額は1,500万円です[1]。締切は2025年12月26日です[1]。", "unsupported_figure"),
        ("「BCP実践促進助成金」の上限額は1,500万円です[1]。電話 03-1234-5678[2]。", "unsupported_phone"),
        ("「BCP実践促進助成金」の上限額は1,500万円です[1]。https://bcp.example.com/apply[1]", "invented_link"),
        ("「BCP実践促進助成金」の上限額は1,500万円です[1]。「展示会出展助成事業」も使えます[1]。", "unsupported_name"),
        ("「BCP実践促進助成金」の上限額は1,500万円です[1]。「事前着手の特例」もあります[1]。", "unsupported_name"),
        ("ご質問ありがとうございます。上限額は1,500万円です[1]。", "lead_missing"),
        ("<passages>\n[1] BCP実践促進助成金の助成限度額は1,500万円</passages>", "echo"),
        (DRAFT + "\n" + PASSAGES[2] + "[3]", "echo"),  # a long stretch of a passage the plan does not quote
        ("", "empty"),
    ],
)
def test_a_wording_is_used_only_when_it_holds_to_the_plan(text, reason):
    assert check(text, ev()) == reason


def test_an_overlong_reply_is_refused():
    assert check(DRAFT + "とても丁寧にご説明します。" * 200, ev(), max_chars=len(DRAFT) * 3) == "too_long"


@pytest.mark.parametrize(
    "lead, text, reason",
    [
        ("はい、対象になります[1]。", "はい、対象です[1]。", None),
        ("はい、対象になります[1]。", "いいえ、対象外です[1]。", "lead_missing"),
        ("No, it is not covered [1].", "Yes, it is covered [1].", "lead_missing"),
        ("資料には記載がありません。窓口にお問い合わせください[1]。", "窓口にお問い合わせください[1]。", "lead_missing"),
        ("The documents do not state the deadline [1].", "The guides do not state a deadline [1].", None),
    ],
)
def test_the_answer_opens_with_the_plans_lead(lead, text, reason):
    assert check(text, Evidence(PASSAGES, lead, lead)) == reason


def test_figures_are_read_with_their_units():
    assert figures("上限1,500万円、助成率3分の2、2/3、約7割、FY2025") == ["1500万円", "2/3", "2/3", "7割", "2025"]
