"""Yes or no from the owner's facts against a record's condition, cited; never a stock yes."""

from __future__ import annotations


def test_over_the_employee_limit_is_a_no_with_the_reason(advisor):
    answer = advisor.ask("従業員350人の会社ですが、カスハラの奨励金はもらえますか？")
    first = answer.answer.split("\n")[0]
    assert first.startswith("いいえ、") and "300人以下" in first and "350人" in first
    assert answer.answer_kind == "fact" and answer.citations
    assert "300人以下" in answer.citations[0].result.chunk.text


def test_within_the_limit_is_said_as_a_point_not_as_a_yes(advisor):
    answer = advisor.ask("うちは従業員30人だけど、カスハラ対策の奨励金って使える？")
    lines = answer.answer.split("\n")
    assert not lines[0].startswith("はい")
    assert any("満たしています" in line and "30人" in line for line in lines[1:])


def test_in_english_too(advisor):
    answer = advisor.ask("We have 400 employees. Can we get the customer harassment incentive?")
    assert answer.answer.startswith("No: ") and "400 employees" in answer.answer.split("\n")[0]


def test_a_second_condition_the_guide_never_speaks_to_leaves_the_yes_open(advisor):
    answer = advisor.ask("実店舗がなくてネットショップだけでやってる個人事業主なんですが、デジタルツール導入の助成金は使えますか？")
    lines = answer.answer.split("\n")
    assert not lines[0].startswith("はい") and "個人事業主" in lines[0]
    assert any("実店舗" in line and "記載がありません" in line for line in lines[1:])
