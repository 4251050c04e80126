from bot.tokenize import get_tokenizer


def test_content_words_in_normalized_form_at_two_granularities():
    tokens = get_tokenizer().tokens("下請取引紛争解決センターの運営")
    assert "取り引き" in tokens  # Sudachi's normalized form: 取引 = 取り引き
    assert "紛争" in tokens and "センター" in tokens
    assert "の" not in tokens


def test_width_variants_give_the_same_tokens():
    tok = get_tokenizer()
    assert tok.tokens("ＢＣＰの策定を支援") == tok.tokens("BCPの策定を支援")


def test_compounds_also_yield_their_parts():
    tokens = get_tokenizer().tokens("事業継続計画")
    assert {"事業", "継続", "計画"} <= set(tokens)


def test_english_keeps_content_words_and_drops_stop_words():
    tokens = get_tokenizer().tokens("I want a subsidy for new machinery")
    assert "subsidy" in tokens and "machinery" in tokens
    assert "want" not in tokens and "a" not in tokens


def test_very_long_text_is_cut_before_sudachi_and_still_tokenized():
    tokens = get_tokenizer().tokens("中小企業の事業承継を支援する。" * 2000)  # 30,000 characters
    assert tokens.count("承継") == 2000


def test_repeated_text_gives_equal_tokens_in_a_list_of_its_own():
    tok = get_tokenizer()
    first = tok.tokens("展示会に出展したい")
    first.append("changed")  # a caller's list is its own: the kept tokens are not touched
    assert tok.tokens("展示会に出展したい") == first[:-1]
    assert tok.morphemes("展示会に出展したい") == tok.morphemes("展示会に出展したい")
