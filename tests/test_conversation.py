"""Conversations through the core, stored in a real SQLite database."""

import pytest

from bot.advisor import Advisor
from bot.core.intent import pick_choice
from bot.store import ConversationStore
from bot.terms import get_term_map


@pytest.fixture
def talk(index_settings, tmp_path):
    advisor = Advisor(index_settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))

    def say(*messages):
        answers, cid = [], None
        for m in messages:
            a = advisor.ask(m, cid)
            cid = a.conversation_id
            answers.append(a)
        return answers

    say.advisor = advisor
    return say


def cited(answer):
    return " ".join(c.result.chunk.text for c in answer.citations)


def test_a_short_follow_up_leans_on_the_previous_topic(talk):
    first, second = talk("サイバー攻撃が心配です。対策の費用に補助はありますか", "それは誰が対象ですか")
    # the follow-up asks who is eligible for the program the first answer led with
    assert second.intent["asks"] == "eligibility" and second.intent["act"] == "follow_up"
    assert second.programs and "サイバー" in second.programs[0]["name"]
    assert second.programs[0]["name"] == first.programs[0]["name"]
    assert second.resolved_question.startswith("サイバー攻撃が心配です")
    assert second.turn == 1 and first.turn == 0


@pytest.mark.parametrize("aside", ["明日の東京の天気どう？", "Is it going to rain tomorrow in Shinjuku?"])
def test_an_everyday_question_mid_conversation_is_declined_not_read_as_a_follow_up(talk, aside):
    first, second, third = talk("展示会に出たいのですが、補助はありますか", aside, "上限はいくら？")
    assert second.refused and second.reason == "out_of_scope" and not second.citations
    # the conversation's topic survives the aside
    assert not third.refused and third.programs and third.programs[0]["name"] == first.programs[0]["name"]


def test_a_follow_up_asking_what_the_passages_do_not_say_is_told_so(index_settings, tmp_path):
    advisor = Advisor(index_settings, store=ConversationStore(f"sqlite:///{tmp_path / 'k.db'}"))
    first = advisor.ask("サイバー攻撃が心配です。対策の費用に補助はありますか", kind="policy")
    second = advisor.ask("締め切りはいつまで？", first.conversation_id, kind="policy")
    # the policy does not give dates: the advisor says so instead of guessing, and names where to ask
    assert "記載がありません" in second.answer.split("。")[0] and "お問い合わせください" in second.answer
    assert second.stated is False
    assert all(c.result.chunk.kind == "policy" for c in second.citations)


def test_more_leaves_out_what_was_already_cited(talk):
    first, more = talk("展示会に出たいんだけど、補助ってある？", "ほかには？")
    assert not more.refused
    assert not {c.result.chunk.id for c in first.citations} & {c.result.chunk.id for c in more.citations}
    assert all(c.result.chunk.direction in {"②", None} for c in more.citations if not c.result.chunk.program)
    assert not {p["name"] for p in first.programs} & {p["name"] for p in more.programs}  # other programs


def test_english_restates_the_same_passages_in_english(talk):
    first, english = talk("跡継ぎがいなくて困っています", "英語で説明して")
    assert [c.result.chunk.id for c in english.citations] == [c.result.chunk.id for c in first.citations]
    assert english.answer.startswith(("Tokyo", "The"))
    assert "「" in english.answer  # programs and measures are named as written in Japanese, once


def test_a_new_topic_is_not_dragged_along(talk):
    _, switched = talk("展示会に出たいんだけど、補助ってある？", "ところで、地震に備えた計画づくりも手伝ってもらえる？")
    assert switched.resolved_question == "ところで、地震に備えた計画づくりも手伝ってもらえる？"
    from bot.text import normalize

    assert "bcp" in normalize(cited(switched))
    assert all(c.result.chunk.direction != "②" for c in switched.citations)


def test_a_broad_question_gets_choices_and_a_choice_continues(talk):
    ask, pick = talk("補助金について教えて", "５番")
    assert not ask.refused and not ask.citations and len(ask.choices) == 5
    assert "1." in ask.answer and "⑤" in ask.answer
    assert pick.citations and all(c.result.chunk.direction == "⑤" for c in pick.citations)


def test_a_choice_in_words_continues_too(talk):
    _, pick = talk("何か支援ある？", "販路のほうでお願いします")
    assert pick.citations and pick.citations[0].result.chunk.direction == "②"


def test_choices_by_number_or_words():
    terms = get_term_map()
    assert pick_choice("2", []) == "②"
    assert pick_choice("３番で", []) == "③"
    assert pick_choice("④", []) == "④"
    assert pick_choice("事業承継のことです", terms.matches("事業承継のことです")) == "⑤"


def test_turns_are_stored_and_read_back_with_the_company_profile(talk):
    cid = talk.advisor.ask("うちは従業員15人の町工場です。機械を入れ替えたい").conversation_id
    talk.advisor.ask("それは誰が対象ですか", cid)
    conv = talk.advisor.conversation(cid)
    assert [t.n for t in conv.turns] == [0, 1]
    assert conv.profile["employees"] == 15 and conv.profile["industry"] == "町工場"
    assert conv.profile["owner"]["industry"] == "manufacturing"  # the owner's facts, as the rules read them
    data = conv.to_dict()
    assert data["turns"][1]["question"] == "それは誰が対象ですか"
    assert data["turns"][0]["answer"]["citations"]


def test_a_conversation_survives_a_new_process(index_settings, tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    first = Advisor(index_settings, store=ConversationStore(url)).ask("ウイルスメールが怖い")
    again = Advisor(index_settings, store=ConversationStore(url)).ask("ほかには？", first.conversation_id)
    assert again.turn == 1 and not again.refused


def test_migrations_are_applied_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert ConversationStore(url).migrate() == []  # the constructor applied them already
    assert ConversationStore(url).migrate() == []


def test_a_chosen_direction_is_answered_with_one_passage_per_measure(talk):
    _, overview = talk("何か支援ある？", "5")
    sections = [c.result.chunk.section for c in overview.citations if c.result.chunk.kind == "policy"]
    assert len(sections) == len(set(sections)) >= 3  # distinct measures, not one measure four times
    assert all("⑤" in s and "当面の施策展開" in s for s in sections)


def test_the_owners_trade_alone_does_not_make_a_question_specific(talk):
    [answer] = talk("うちみたいな町工場が使える制度って、どんなのがあるの？")
    assert answer.choices and not answer.citations


def test_a_follow_up_on_a_program_keeps_the_policy_measure_the_thread_started_from(talk):
    first, second, third = talk("工場に新しい機械を入れたいんだけど、お金の補助ってあるのかな？", "それって誰でも使えるの？", "申し込みはどこでするの？")
    measure = "機械設備等について、その導入経費の一部を助成"
    assert measure in cited(first)
    # the follow-ups answer the program's own detail first, and still cite the measure it carries out
    assert second.intent["asks"] == "eligibility" and "都内" in second.answer.split("\n")[0]
    for later in (second, third):
        assert measure in cited(later)
        assert "東京都の施策「設備の導入による生産性の向上」として行われている事業です" in later.answer


def test_a_first_question_on_a_program_detail_does_not_add_the_measure(talk):
    (only,) = talk("設備投資支援事業は誰が対象ですか")
    assert "として行われている事業です" not in only.answer
