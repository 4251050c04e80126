"""Answer-quality metrics of evals/metrics.py: pure functions on an answer's text, no index needed."""

import json

import pytest

from evals.metrics import (
    AnswerQuality,
    Question,
    answer_chars,
    english_answer,
    fact_in_first,
    fact_in_first_sentence,
    first_sentence,
    honest,
    honest_failures,
    load_set,
    polarity,
    program_names,
    stock_yes,
    strip_sources,
    yes_no_correct,
)

DESKS = ["東京都中小企業振興公社", "公社", "Tokyo SME Support Center"]


def _q(kind="not_stated", **kw) -> Question:
    return Question(id=kw.pop("id", "x"), question=kw.pop("question", "質問"), kind=kind, **kw)


@pytest.mark.parametrize(
    "text, first",
    [
        ("上限は1,500万円です。助成率は1/2です。", "上限は1,500万円です。"),
        ("はい。東京都の施策には…があります[1]。", "はい。"),
        ("Yes. The cap is 1,500万円.", "Yes."),
        ("The cap is 1.5 million yen. Ask the Kosha.", "The cap is 1.5 million yen."),
        ("Is it covered? The guide does not say.", "Is it covered?"),
        ("関係する施策：\n・設備の導入", "関係する施策："),  # a line break ends it; the heading is not skipped
        ("【回答】記載がありません。公社へ", "【回答】記載がありません。"),  # nothing is skipped
        ("  \n電話は03-3251-9390です。", "電話は03-3251-9390です。"),  # leading white space goes
        ("句点のない一文", "句点のない一文"),
        ("", ""),
    ],
)
def test_first_sentence(text, first):
    assert first_sentence(text) == first


@pytest.mark.parametrize(
    "text, yes_no, stock",
    [
        ("はい。東京都の施策には「多様な営業手法の取り込み等」などの取組があります[1]。", None, True),
        ("「はい」、支援があります。", None, True),  # brackets stripped
        ("【はい】支援があります。", None, True),
        ("  Yes, there is support.", None, True),
        ("yes. it exists", "no", True),  # a yes opener on a question whose answer is no
        ("はい、個人事業主も対象です。", "yes", False),  # the guide says yes: not stock
        ("Yes, sole proprietors can apply.", "yes", False),
        ("上限は1,500万円です。", None, False),
        ("Yesterday's figures are not in the guide.", None, False),  # not the word yes
    ],
)
def test_stock_yes(text, yes_no, stock):
    assert stock_yes(text, yes_no) is stock


@pytest.mark.parametrize(
    "text, english",
    [
        ("The upper limit is 15 million yen (1,500万円) [1].", True),  # a few Japanese letters among many English
        ("The guide names 「東京都中小企業振興公社」 as the operator; ask them.", True),  # quotations aside
        ("Ask the Tokyo SME Support Center (『ワンストップ総合相談窓口』).", True),
        ("See https://www.tokyo-kosha.or.jp/support/josei/ for details.", True),
        ("The upper limit of the subsidy is 150万円 [1].\n\nSources:\n[1] 助成率・上限 — corpus/guides/tenjikai-josei.md", True),
        ("上限は1,500万円です[1]。", False),
        ("BCP実践促進助成金の上限は1,500万円です。", False),  # mostly Japanese though it has ASCII
        ("The BCP実践促進助成金 covers generators.", False),  # an unquoted Japanese name weighs in
        ("", False),
        ("[1] 2/3", False),  # no letters at all
    ],
)
def test_english_answer(text, english):
    assert english_answer(text) is english


def test_answer_chars_leave_out_a_trailing_sources_block():
    body = "上限は150万円です[1]。"
    assert answer_chars(body + "\n\n出典:\n[1] 助成率・上限 — corpus/guides/tenjikai-josei.md") == len(body)
    assert answer_chars(body + "\n\nSources:\n[1] x") == len(body)
    assert strip_sources("出典を確かめてください。") == "出典を確かめてください。"  # not a 出典: line
    assert answer_chars(body) == len(body)


HONEST_JA = "この資料には、中古設備が対象になるかどうかの記載がありません。東京都中小企業振興公社にお問い合わせください。"
HONEST_EN = "The documents do not say whether used machines qualify. Please ask the Tokyo SME Support Center."


@pytest.mark.parametrize(
    "text, failed",
    [
        (HONEST_JA, []),
        (HONEST_EN, []),
        ("資料には記載は見当たりません。公社の窓口（03-3251-7881）でご確認ください。", []),
        ("手元の資料では確認できません。03-5320-4620 にお電話ください。", []),  # a phone number names a desk
        ("The guide doesn’t say. Ask the Tokyo SME Support Center.", []),  # curly apostrophe
        (
            "BCP実践促進助成金は設備の導入経費を助成します。中古品については記載がありません。公社へ。",
            ["first sentence does not say it is not stated"],
        ),
        ("この資料には記載がありません。実施機関にご確認ください。", ["no desk named"]),
        (
            "記載がありません。公社にご確認ください。\n関係する施策：\n・A\n・B\n・C",
            ["dump: 3 list lines", "dump: 関係する施策 heading"],
        ),
        ("記載がありません。公社にご確認ください。\n- A\n- B", []),  # two list lines are fine
        ("記載がありません。公社にご確認ください。" + "あ" * 400, ["dump: 420 characters"]),
        ("記載がありません。公社にご確認ください。" + "あ" * 380, []),  # 400 characters is still not a dump
        (
            "はい。記載がありません。公社にご確認ください。",
            ["first sentence does not say it is not stated", "stock yes"],
        ),
        ("Yes, the documents do not say. Ask the Tokyo SME Support Center.", ["stock yes"]),
    ],
)
def test_honest_names_each_failed_condition(text, failed):
    q = _q(desks=DESKS)
    assert honest_failures(q, text) == failed
    assert honest(q, text) is (not failed)


def test_honest_length_ignores_the_sources_block():
    sources = "\n\n出典:\n" + "\n".join(f"[{i}] 概要 — corpus/guides/bcp-jissen.md" for i in range(1, 30))
    assert honest(_q(desks=DESKS), HONEST_JA + sources)


@pytest.mark.parametrize(
    "text, expected, right",
    [
        ("はい、個人事業主も対象です。", "yes", True),
        ("Yes. Sole proprietors are eligible.", "yes", True),
        ("個人事業主も対象です。", "yes", True),  # 対象です style
        ("いいえ、医療法人は対象外です。", "no", True),
        ("医療法人は対象外です。", "no", True),
        ("No, PCs are generally not covered.", "no", True),
        ("標的型メール訓練だけなら宣言は不要です。", "no", True),
        ("はい、医療法人は対象外です。", "no", False),  # the opener decides
        ("医療法人は対象外です。", "yes", False),
        ("対象かどうかは資料では確認できません。", "no", False),  # 確認できません is not a no
        ("上限は1,500万円です。", "yes", False),  # neither
        ("Nobody knows.", "no", False),
    ],
)
def test_yes_no_correct(text, expected, right):
    assert yes_no_correct(_q("program", yes_no=expected), text) is right


def test_yes_no_needs_an_expected_answer_and_polarity_reads_the_sentence():
    assert not yes_no_correct(_q("program"), "はい。")
    assert polarity("対象になりません。") == "no" and polarity("対象になります。") == "yes" and polarity("記載がありません。") is None


def test_fact_in_the_first_sentence_and_the_first_150_characters():
    q = _q("program", needs=["1,500万円"], figure="１，５００万円")
    assert fact_in_first_sentence(q, "BCP実践促進助成金の上限は1,500万円です（令和7年度）。詳しくは…")
    late = "BCP実践促進助成金は公社の助成金です。" + "対象は…。" * 10 + "上限は1,500万円です。"
    assert not fact_in_first_sentence(q, late) and fact_in_first(q, late)
    assert not fact_in_first(q, "あ" * 150 + "1,500万円")
    assert not fact_in_first_sentence(_q("not_stated"), "1,500万円")  # no needs: never a hit


def test_program_names_accept_a_part_of_a_long_guide_name():
    names = program_names("下請取引の相談・紛争解決（下請センター東京・下請かけこみ寺）")
    assert "下請センター東京" in names and "下請かけこみ寺" in names
    assert "紛争解決" not in names  # too short to name the program
    assert program_names("BCP実践促進助成金") == ["BCP実践促進助成金"]


def test_answer_quality_figures_apply_only_where_they_can():
    quality = AnswerQuality()
    quality.add(_q("program", id="p1", needs=["150万円"], lang="en"), "The upper limit of the subsidy is 150万円 [1].")
    quality.add(_q("program", id="p2", needs=["2/3"], yes_no="no"), "はい。助成率は2/3です。")
    quality.add(_q(id="n1", desks=DESKS), HONEST_JA)
    quality.add(_q(id="n2", desks=DESKS, lang="en"), "はい。関係する施策：\n・A\n・B\n・C")
    quality.add(_q("out_of_scope", id="o1"), "申し訳ありませんが、お答えできません。")
    f = quality.figures()
    assert f["n"] == 5 and f["with_fact"] == 2
    assert f["fact_first_sentence"] == 0.5 and f["fact_first150"] == 1.0
    assert f["stock_yes_count"] == 2 and f["stock_yes"] == 0.4
    assert f["english_questions"] == 2 and f["english_answer"] == 0.5
    assert f["not_stated"] == 2 and f["honest"] == 0.5
    assert f["yes_no_questions"] == 1 and f["yes_no_correct"] == 0.0
    assert f["answer_chars_median"] == len("申し訳ありませんが、お答えできません。")
    why = {x["id"]: x["why"] for x in quality.failures}
    assert set(why) == {"p2", "n2"}
    assert "stock yes" in why["p2"] and "yes/no: expected no, first sentence says yes" in why["p2"]
    assert "answer not in English" in why["n2"]
    assert "not honest: first sentence does not say it is not stated, no desk named, dump: 3 list lines" in why["n2"]
    assert set(quality.headline()) == {
        "fact_first_sentence", "fact_first150", "stock_yes", "english_answer", "answer_chars_median", "honest",
        "yes_no_correct",
    }


def test_a_set_without_needs_english_or_not_stated_questions_has_only_the_figures_that_apply():
    quality = AnswerQuality()
    quality.add(_q("out_of_scope"), "お答えできません。")
    assert set(quality.headline()) == {"stock_yes", "answer_chars_median"}
    assert AnswerQuality().headline() == {}  # an empty set divides by nothing


def test_the_held_out_sets_are_well_formed():
    """notstated_heldout and faq_heldout: the fields the metrics read, in the shape the brief asks for."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    guides = {}
    for path in (root / "corpus" / "guides").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        name = next(line[len("program: ") :] for line in text.splitlines() if line.startswith("program: "))
        guides[name] = text
    not_stated = load_set(root / "evals" / "notstated_heldout.jsonl")
    assert len(not_stated) >= 34 and sum(q.lang == "en" for q in not_stated) >= 5
    for q in not_stated:
        assert q.kind == "not_stated" and q.desks and not q.needs, q.id
        assert q.program is None or q.program in guides, q.id
    faq = load_set(root / "evals" / "faq_heldout.jsonl")
    assert len(faq) >= 20 and sum(q.lang == "en" for q in faq) >= 4
    for q in faq:
        assert q.kind == "program" and q.program in guides and q.figure in q.needs, q.id
        assert q.figure in guides[q.program], f"{q.id}: the figure is copied from the guide"
        assert q.yes_no in (None, "yes", "no"), q.id
    ids = [q.id for q in not_stated + faq]
    assert len(ids) == len(set(ids))
    raw = [json.loads(line) for line in (root / "evals" / "faq_heldout.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all("yes_no" in r for r in raw)


def test_an_english_rendering_of_the_sentence_counts_as_its_fact():
    q = Question(id="x", question="Does Tokyo help with trade show costs?", kind="in_scope", needs=["展示会等への出展に係る助成"])
    english = ("Tokyo's policy measure “support for exhibiting at trade fairs” (「見本市への出展支援」) says: To strengthen "
               "SMEs by opening new sales channels, Tokyo subsidizes exhibiting at trade shows and backs efforts to keep "
               "promoting products after the show [1].")
    assert fact_in_first_sentence(q, english) and fact_in_first(q, english)
    assert not fact_in_first_sentence(q, "Tokyo's policy measure “support for exhibiting at trade fairs” helps [1].")


def test_every_english_rendering_is_of_a_sentence_the_policy_holds():
    from pathlib import Path

    from bot.core.passages import policy_english
    from bot.text import compact

    corpus = Path(__file__).resolve().parents[1] / "corpus"
    texts = compact((corpus / "policy" / "tokyo-sme-vision-strategy1.txt").read_text() + (corpus / "rules" / "common-rules.md").read_text())
    stale = [ja for ja in policy_english() if compact(ja) not in texts]
    assert not stale, f"renderings of sentences the documents no longer hold: {stale[:3]}"
