from conftest import POLICY

from bot.terms import get_term_map
from bot.text import compact


def test_term_map_ships_with_the_package_and_covers_every_direction():
    terms = get_term_map()
    assert len(terms.entries) >= 60
    assert {e.direction for e in terms.entries} >= {"①", "②", "③", "④", "⑤"}
    assert all(e.policy and (e.triggers or e.english) for e in terms.entries)


def test_every_policy_word_occurs_in_the_policy_document():
    document = compact(POLICY.read_text(encoding="utf-8"))
    missing = [(e.id, w) for e in get_term_map().entries for w in e.policy if compact(w) not in document]
    assert not missing


def test_owners_words_and_english_map_to_policy_words():
    terms = get_term_map()
    assert "後継者" in terms.expand("跡継ぎがいない")
    assert "見本市" in terms.expand("trade shows in Tokyo")
    assert any("電子商取引" in w for w in terms.expand("ネットで自社の商品を売りたい"))  # words apart still match


def test_ascii_triggers_match_whole_words_only():
    terms = get_term_map()
    assert not any(m.entry.id == "ict-digitalization" for m in terms.matches("I want to exhibit at a fair"))
    assert any(m.entry.id == "ict-digitalization" for m in terms.matches("Is there IT support?"))
    assert not any(m.entry.id == "ict-digitalization" for m in terms.matches("is it possible?"))


def test_vague_phrases_count_only_when_nothing_points_elsewhere():
    terms = get_term_map()
    ids = lambda q: {m.entry.id for m in terms.matches(q)}  # noqa: E731
    assert "ict-awareness-seminar" in ids("パソコンは何から始めればいいのかわからない")
    assert "ict-awareness-seminar" in ids("How to start? We are complete beginners")
    # 「何から始めれば」 after 「息子に継がせたい」 is about succession, not IT
    assert "ict-awareness-seminar" not in ids("息子に会社を継がせたいんだけど、何から始めればいいの？")
