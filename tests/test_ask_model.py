"""The learned second opinion on what a message asks: its examples are data, and it reads what the
words in asks.yaml cannot, without overruling them where they are sure."""

import json

import pytest

from bot.core.ask_model import NOT_SLOTS, AskModel, load_examples, second_opinion
from bot.core.intent import SLOTS, ProgramNames, detect_asks, understand
from bot.terms import get_term_map
from bot.tokenize import get_tokenizer

NAMES = ProgramNames([("BCP実践促進助成金", ()), ("展示会出展助成事業・展示会出展助成プラス", ())])


@pytest.fixture(scope="module")
def parts():
    return get_tokenizer(), get_term_map()


def read(parts, question):
    tokenizer, terms = parts
    tokens = tokenizer.tokens(question)
    return understand(question, None, names=NAMES, tokens=tokens, matches=terms.matches(question, tokens))


def test_every_example_is_labeled_with_something_the_understanding_knows():
    texts, labels = load_examples()
    assert len(texts) >= 1000
    assert set(labels) <= set(SLOTS) | set(NOT_SLOTS)
    assert len(set(texts)) == len(texts)  # no example twice


def test_a_broken_example_is_named_by_file_and_line(tmp_path):
    (tmp_path / "mine.jsonl").write_text('{"text": "上限は？", "slot": "upper_limit"}\n{"text": "締切は"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"mine\.jsonl:2"):
        load_examples(tmp_path)


def test_a_question_the_words_do_not_know_is_read_by_the_model(parts):
    question = "結果発表っていつ頃？"
    assert detect_asks(question, has_program=False)[0] == "support"  # no word of asks.yaml says it
    intent = read(parts, question)
    assert intent.asks == "review_time"
    assert 0.45 <= intent.slot_confidence < 1.0


@pytest.mark.parametrize(
    "question",
    ["取引条件がきつくて困ってる。誰か間に入ってくれない？", "うちは従業員の条件もクリアしてるし、とにかく相談に乗ってくれる人がほしい"],
)
def test_a_slot_word_in_the_owners_situation_does_not_become_the_question(parts, question):
    assert detect_asks(question, has_program=False)[0] == "eligibility"  # 条件 is an eligibility word
    assert read(parts, question).asks == "support"


def test_sure_words_stand_where_the_model_doubts_them():
    model_free = second_opinion("BCP実践促進助成金の下限額は", "lower_limit", 1.0, found_words=True, slots=SLOTS)
    assert (model_free.asks, model_free.confidence, model_free.changed) == ("lower_limit", 1.0, False)  # no example of it
    document = second_opinion("事例を教えて", "doc:case", 1.0, found_words=True, slots=SLOTS)
    assert document.asks == "doc:case" and not document.changed


def test_a_new_way_of_asking_is_a_line_of_data(tmp_path):
    rows = [{"text": t, "slot": s} for t, s in [("上限いくら", "upper_limit"), ("最大いくら出る", "upper_limit"), ("いつ締切", "application_period"),
                                                 ("締め切りいつ", "application_period"), ("支援ある？", "support"), ("何か支援ない？", "support")]]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    model = AskModel(*load_examples(tmp_path))
    probabilities = model.probabilities("上限って最大いくら")
    assert max(probabilities, key=probabilities.get) == "upper_limit"


@pytest.mark.parametrize(
    "question,off_topic",
    [("肩こりがひどいんだけど、いい整体知らない？", True), ("上限は？", False), ("はじめまして", False),
     ("どうすればいい？", False), ("展示会に出たいんだけど、何かある？", False)],
)
def test_everyday_talk_with_no_word_of_sme_support_is_off_topic(parts, question, off_topic):
    assert (read(parts, question).topic == "off_topic") is off_topic


@pytest.mark.parametrize(
    "question,off_topic",
    [("取引先の娘さんが受験。合格祈願のお守りはどこがいい", True), ("新年会の出し物、社員が盛り上がる余興のアイデア", True),
     ("取引先から急に値下げしろって言われた。どうしたらいい", False), ("雪で店が開けられない日が続いて売上が落ちた", False),
     ("展示会の帰りに打ち合わせしたいけど、資料ってどう作ればいい", False)],
)
def test_everyday_talk_set_in_the_business_is_off_topic_and_a_business_problem_is_not(parts, question, off_topic):
    """Terms of the domain as the setting (取引先, 社員) do not make a gift or a party a question of SME support;
    the model must be surer then, and a problem of the business itself stays in the domain."""
    assert (read(parts, question).topic == "off_topic") is off_topic


def test_a_short_follow_up_is_never_taken_for_everyday_talk(parts):
    tokenizer, terms = parts
    state = {"last": {"query": "BCPの助成金", "programs": ["BCP実践促進助成金"], "direction": "④", "asks": "support"}}
    question = "肩こりがひどいんだけど、いい整体知らない？"
    tokens = tokenizer.tokens(question)
    intent = understand(question, state, names=NAMES, tokens=tokens, matches=terms.matches(question, tokens))
    assert intent.topic != "off_topic" or intent.off_topic  # only the listed everyday words, never the model, after a turn
