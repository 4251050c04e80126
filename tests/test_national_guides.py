"""The national programs, rules and desks owners ask about, as guides: answered from their guide like any
program when named, behind Tokyo's own programs when not, and no longer 'not in the documents'."""

from __future__ import annotations

import pytest

from bot.core.directory import Directory, OtherProgram
from bot.models import Chunk


def first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def test_a_named_national_program_is_answered_from_its_guide(advisor):
    answer = advisor.ask("持続化のやつって上限いくらだっけ")
    first = first_line(answer.answer)
    assert answer.answer_kind == "fact" and "小規模事業者持続化補助金" in first and "50万円" in first
    assert answer.citations[0].result.chunk.source.endswith("jizokuka.md")


def test_a_national_program_asked_in_english_is_answered_in_english(advisor):
    answer = advisor.ask("How much can I get from the monozukuri subsidy?")
    assert answer.answer.startswith("The upper limit of the Monozukuri Subsidy") and "JPY 30 million" in first_line(answer.answer)


def test_a_rule_is_answered_from_the_law_s_guide(advisor):
    answer = advisor.ask("ジギョケイってどうやってとるの？")
    assert answer.answer_kind == "fact" and "電子申請" in first_line(answer.answer)


def test_a_desk_question_naming_no_program_goes_to_tokyo_s_own_desk(advisor):
    """The subcontracting consultation center in Tokyo is 下請センター東京, not the national fair-trade desk
    whose guide matches the English words better."""
    answer = advisor.ask("What is the phone number of the subcontracting consultation center in Tokyo?")
    assert "03-3251-9390" in first_line(answer.answer)


def test_more_brings_other_programs_than_those_shown(advisor):
    first = advisor.ask("資金繰りとか法律のこととか、まとめて相談できる窓口ってある？")
    shown = {p["name"] for p in first.programs}
    more = advisor.ask("ほかには？", conversation_id=first.conversation_id)
    assert not any(name in first_line(more.answer) for name in shown)


# -- the parts, without an index -----------------------------------------------------------------


def entry(name: str, kind: str, *aliases: str) -> OtherProgram:
    return OtherProgram(id=name, name=name, name_en=None, kind=kind, aliases=aliases, runs="", runs_en=None, desk="", desk_en=None, phone=None, url=None)


def test_an_entry_a_guide_covers_leaves_the_directory_and_a_desk_stays_unless_a_guide_goes_by_its_name():
    directory = Directory([
        entry("小規模事業者持続化補助金", "subsidy", "持続化のやつ"),
        entry("日本政策金融公庫", "institution", "公庫"),
        entry("警視庁のサイバー犯罪相談窓口", "institution", "サイバー警察"),
        entry("雇用調整助成金", "subsidy"),
    ])
    guides = [("小規模事業者持続化補助金", ("持続化",)), ("日本政策金融公庫の事業承継・BCP関連融資", ()),
              ("サイバー被害の届出・相談先", ("サイバー警察",))]
    left = directory.without(guides)
    assert sorted(left.entries) == ["日本政策金融公庫", "雇用調整助成金"]
    assert left.named_in("雇用調整助成金って今も使える？") == ["雇用調整助成金"]


def test_a_program_s_aliases_may_hold_spaces():
    chunk = Chunk(id="x", text="", source="", title="", section="", aliases="new subcontract act|取適法")
    assert chunk.alias_list() == ["new subcontract act", "取適法"]


# -- time ----------------------------------------------------------------------------------------


def test_fiscal_years_are_read_and_compared_with_the_current_one():
    from datetime import date

    from bot.core.fiscal import by_fiscal_year, current_fiscal_year, fiscal_year_of, label, older_than_now

    assert fiscal_year_of("令和7年度") == 2025 and fiscal_year_of("令和元年度") == 2019 and fiscal_year_of("2026年") == 2026
    assert current_fiscal_year(date(2026, 3, 31)) == 2025 and current_fiscal_year(date(2026, 4, 1)) == 2026
    assert label(2026) == "令和8年度" and label(2019) == "令和元年度"
    assert older_than_now("令和7年度", date(2026, 12, 7)) and not older_than_now("令和8年度", date(2026, 12, 7))
    assert not older_than_now(None) and not older_than_now("年度不明")

    class Record:
        def __init__(self, fiscal_year):
            self.fiscal_year = fiscal_year

    counts, older = by_fiscal_year({"A": Record("令和8年度"), "B": Record("令和7年度"), "C": Record(None)}, date(2026, 12, 7))
    assert counts == [("令和8年度", 1), ("令和7年度", 1), ("", 1)] and older == ["B"]


def test_a_figure_from_an_older_fiscal_year_says_so_in_the_first_sentence(advisor):
    from bot.core.fiscal import older_than_now

    answer = advisor.ask("BCPの助成金の上限っていくら？")
    first = first_line(answer.answer)
    assert "1,500万円" in first and "令和7年度" in first
    if older_than_now("令和7年度"):  # from April 2026 on
        assert "今年度分は未確認" in first
    english = advisor.ask("How much is the BCP subsidy?")
    if older_than_now("令和7年度"):
        assert "this year's are not yet confirmed" in first_line(english.answer)


def test_a_law_beside_the_desk_says_what_its_guide_says_of_the_owners_words(advisor):
    """「手形で払うって言われた…ダメになったんじゃ？」: the current law (取適法, not 下請法 it replaced) with its
    sentence on bills, beside Tokyo's subcontracting desk."""
    answer = advisor.ask("取引先から手形で払うって言われた。今って手形ダメになったんじゃなかった？")
    line = next(x for x in answer.answer.split("\n") if "取適法" in x)
    assert "手形" in line and "禁止" in line and "下請法（" not in answer.answer


def test_what_is_that_asks_about_the_program_named_nearest_the_question(advisor):
    """「IT補助金出そうとしたら自己宣言IDが要るって言われた。何それ」: the declaration, not the subsidy named first."""
    answer = advisor.ask("IT導入補助金出そうとしたら自己宣言IDってのが要るって言われた。何それ")
    assert answer.intent["programs"][0].startswith("SECURITY ACTION")
    assert "IPA" in answer.answer


def test_a_bare_question_after_naming_a_program_asks_about_it(advisor):
    """「…に変わるって聞いたけど、どこが変わるの」: the program's guide on the change, not 'the documents do not say'."""
    answer = advisor.ask("IT補助金がデジタル化・AI導入補助金に変わるって聞いたけど、どこが変わるの")
    assert answer.intent["asks"] == "overview" and answer.answer_kind == "fact"
    assert "名称" in answer.answer.split("。")[0] and "記載がありません" not in answer.answer


def test_what_differs_between_two_words_of_a_guide_quotes_the_guide_on_them(advisor):
    answer = advisor.ask("都のサイバー助成金を考えてて、セキュリティアクションの一つ星と二つ星って何が違うの？")
    assert answer.answer_kind == "fact"
    assert "一つ星" in answer.answer.split("。")[0] and "記載がありません" not in answer.answer


def test_two_programs_compared_are_each_said_side_by_side(advisor):
    """「新事業進出の補助金ともの補助って何が違うの？」: what each is, from its own guide, both cited; not one
    program's overview, nor 'the documents do not say'."""
    answer = advisor.ask("うちは町の工務店で、リフォーム以外に新しい事業も始めたい。新事業進出の補助金ともの補助って何が違うの？")
    assert answer.intent["asks"] == "definition" and answer.answer_kind == "fact"
    lines = answer.answer.split("\n")
    assert "違い" in lines[0] and "新事業進出補助金" in lines[0] and "ものづくり補助金" in lines[0]
    assert any("既存事業と異なる" in x for x in lines[1:]) and any("設備投資" in x for x in lines[1:])
    assert {c.result.chunk.program for c in answer.citations} >= {
        "中小企業新事業進出補助金", "ものづくり補助金（ものづくり・商業・サービス生産性向上促進補助金）"}


def test_two_desks_the_documents_do_not_hold_are_both_named(advisor):
    answer = advisor.ask("設備資金を借りたい。公庫と商工中金って、審査の厳しさとか何が違うの？")
    assert answer.answer_kind == "not_covered"
    assert "日本政策金融公庫" in answer.answer and "商工中金" in answer.answer


def test_a_source_url_holding_three_dashes_does_not_end_the_front_matter(tmp_path):
    from bot.core.directory import entries_of

    path = tmp_path / "other.md"
    path.write_text(
        '---\ntitle: x\nkind: directory\nentries:\n  - id: "a"\n    name: "災害関係保証"\n'
        '    sources: ["https://example.com/doc/%E7%81%BD---%E6%9D%B1"]\n---\n## 災害関係保証\n本文です。\n',
        encoding="utf-8",
    )
    assert [e["name"] for e in entries_of(path)] == ["災害関係保証"]


def test_whether_part_timers_and_officers_count_is_answered_by_the_counting_rule(advisor):
    """「社員4人、パート3人、妻が役員。…パートや役員も数に入る？」 asks how people are counted: the rule on who
    counts, not a verdict on the 4 employees the message happens to state."""
    answer = advisor.ask("飲食店で社員4人、パートさん3人、あと妻が役員。持続化のやつの「従業員5人以下」ってパートや役員も数に入る？")
    first = answer.answer.split("。")[0]
    assert "役員" in first and "含まない" in first and "小規模企業者にあたります" not in answer.answer
    assert any("解雇の予告" in line for line in answer.answer.split("\n")[1:])


def test_what_is_that_after_naming_one_part_of_a_guide_quotes_that_part(advisor):
    """「パートナーシップ構築宣言してないの？って聞かれた。あれ何？」: what the declaration is (the guide also holds
    the price-negotiation month, which is not what was named)."""
    answer = advisor.ask("取引先に「パートナーシップ構築宣言してないの？」って聞かれた。あれ何？10人の会社がやるメリットある？")
    first = answer.answer.split("。")[0]
    assert answer.answer_kind == "fact" and "パートナーシップ構築宣言』は" in first


def test_a_detail_asked_of_two_outside_names_is_asked_of_the_one_that_pays(advisor):
    answer = advisor.ask("最低賃金上げるついでに業務改善助成金使おうと思ってる。配達用の軽バンとか事務のパソコン買うのにも使えるの？")
    assert answer.answer_kind == "not_covered"
    assert answer.answer.startswith("「業務改善助成金」")


def test_the_program_the_question_names_after_the_situation_is_the_one_asked_about(advisor):
    """「これまで下請法の対象外って言われてたけど、取適法になって対象になったりする？」: 取適法's new employee test,
    not 下請法's construction exclusion (the word 対象外 of the situation is no condition)."""
    answer = advisor.ask("うちの発注元、資本金は小さいけど従業員は500人くらいいる大きい会社。これまで下請法の対象外って言われてたけど、取適法になって対象になったりする？")
    first = answer.answer.split("。")[0]
    assert answer.intent["programs"][0].startswith("中小受託取引適正化法") and "従業員" in first


def test_what_a_desk_is_is_not_its_phone_line(advisor):
    """「下請かけこみ寺ってとこがあるって聞いた。どういうところ？」: the guide's sentence on what it is, not the list
    line 「下請かけこみ寺: フリーダイヤル…」."""
    answer = advisor.ask("元請けとの支払いトラブルで悩んでて、下請かけこみ寺ってとこがあるって聞いた。どういうところ？")
    first = answer.answer.split("。")[0]
    assert "フリーダイヤル" not in first and ("窓口" in first or "相談" in first)


def test_a_record_fact_summarizing_its_guide_is_cited_to_the_passage_that_states_its_first_part(advisor):
    """持続化's payment timing (「後払い。交付決定の後に…」) is the record's summary of the guide's sentences: cited
    to the passage saying 後払い, not 'the documents do not say'."""
    answer = advisor.ask("持続化補助金でチラシと看板を作る予定。お金って採択されたらすぐもらえるの?それとも後から?")
    assert answer.answer_kind == "fact" and "後払い" in answer.answer.split("。")[0]


@pytest.mark.parametrize("question", [
    "社員が取引先っぽいメールの添付ファイルを開いちゃったらしい。エモテットかも…どうしたらいい？",
    "スタッフが顧客名簿入りのUSBなくした…個人情報もれたかも。会社として何しなきゃいけないの？",
])
def test_an_incident_described_is_sent_to_where_incidents_are_reported(advisor, question):
    """An owner telling an incident (an opened attachment, a lost USB stick) and asking what to do: the guide to
    where cyber incidents and leaks are reported leads, not the cyber subsidy's prose."""
    answer = advisor.ask(question)
    first = answer.answer.split("。")[0]
    assert "サイバー被害の届出・相談先" in first and "助成" not in first


def test_beside_not_stated_the_common_rule_on_the_owners_words_follows(advisor):
    """「もの補助って結局あとで返さないといけないお金なんでしょ？」: its guide does not say; the common rule on
    subsidies and loans does (原則として返す必要はありません), cited as the general rule."""
    answer = advisor.ask("もの補助って結局あとで返さないといけないお金なんでしょ？融資みたいなもんだと思ってたけど")
    assert "原則として返す必要はありません" in answer.answer
