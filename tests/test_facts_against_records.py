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


def test_a_condition_is_a_word_of_its_own_not_the_tail_of_a_longer_one(advisor):
    """法人 in 特定非営利活動法人は対象外 says nothing of a company that has just become a 法人: no いいえ from it."""
    answer = advisor.ask("去年法人にしたばかりなんだけど、それでもBCPの助成って受けられるの")
    first = answer.answer.split("\n")[0]
    assert not first.startswith(("いいえ", "はい")) and "特定非営利活動法人" not in first


def test_a_condition_no_guide_speaks_of_is_said_to_be_not_in_the_documents(advisor):
    """「人件費って補助の対象？」 names no program and no guide speaks of 人件費: the documents do not say,
    and where to ask; not the policy's prose on rising labour costs."""
    for question in ("人件費って補助の対象になりますか", "税金ちょっと滞納してるんだけど補助金もらえる？"):
        answer = advisor.ask(question)
        first = answer.answer.split("\n")[0]
        assert answer.answer_kind == "not_stated" and "記載がありません" in first and "電話" in first, question
        assert "東京都の施策" not in answer.answer


def test_a_guides_caution_is_never_the_answer(advisor):
    """ご注意 (「助成額・対象・募集期間などは年度ごとに変わります」) holds 対象 but answers no question."""
    answer = advisor.ask("神奈川に本社があって都内に工場があるんだけど、対象になる？")
    assert not answer.answer.startswith("はい") and "年度ごとに変わります" not in answer.answer.split("\n")[0]


def test_beside_not_stated_the_guide_lists_what_it_does_cover(advisor):
    """「ノートパソコン買うのってあり？」: the guide does not say; what it lists as covered follows, cited, in a line."""
    answer = advisor.ask("BCPの助成でノートパソコン買うのってあり？")
    lines = answer.answer.split("\n")
    assert answer.answer_kind == "not_stated" and "ノートパソコン" in lines[0] and "記載がありません" in lines[0]
    listed = next(line for line in lines[1:] if line.startswith("・資料にある対象経費："))
    assert "BCPを実践するための基本的な物品" in listed and "[" in listed and len(listed) < 120


def test_a_kind_of_the_thing_asked_answers_it(advisor):
    """専門家 is asked, 外部専門家への委託費 is what the guide covers: quoted, not 'not stated'."""
    answer = advisor.ask("事業承継の助成金で、専門家に払うお金も対象？")
    assert answer.answer_kind == "fact" and "外部専門家" in answer.answer.split("\n")[0]


def test_an_owner_asking_what_to_do_is_not_answered_with_the_policys_worry(advisor):
    """「何から手をつければいいの」 wants help: the policy's statement of the problem (大廃業時代) never leads."""
    answer = advisor.ask("親父がやってる個人の酒屋を来年から俺が継ぐことになった。親父の廃業と俺の開業って、何から手をつければいいの")
    assert "懸念" not in answer.answer.split("\n")[0]
