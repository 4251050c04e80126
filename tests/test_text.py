from bot.text import compact, ends_sentence, join_lines, normalize, split_sentences, squeeze


def test_full_and_half_width_forms_match():
    assert normalize("ＢＣＰの策定") == normalize("BCPの策定") == "bcpの策定"
    assert normalize("ＩＣＴ化") == "ict化"
    assert compact("ＢＣＰ （事業継続計画）") == compact("BCP(事業継続計画)")


def test_letter_spaced_headings_are_squeezed_but_english_keeps_its_spaces():
    assert squeeze("当 面 の 施 策 展 開") == "当面の施策展開"
    assert squeeze("trade  show の 支援") == "trade show の支援"


def test_broken_lines_join_without_a_space_in_japanese():
    assert join_lines("生産性が飛躍", "的に向上") == "生産性が飛躍的に向上"
    assert join_lines("business", "continuity") == "business continuity"


def test_sentences_split_at_the_japanese_full_stop_keeping_brackets():
    text = "セミナーを開催する。「支援を知ってもらうこと。」と語る。（注記。）最後"
    assert split_sentences(text) == ["セミナーを開催する。", "「支援を知ってもらうこと。」と語る。", "（注記。）", "最後"]
    assert ends_sentence("支援する。") and not ends_sentence("支援する")
