"""Program guides (corpus/guides/*.md): traceable to the facts file, and used in answers."""

import re
import unicodedata
from pathlib import Path

import frontmatter
import pytest

from bot.text import compact

ROOT = Path(__file__).resolve().parents[1]
GUIDES = sorted((ROOT / "corpus" / "guides").glob("*.md"))
# Tokyo's programs carry out a measure of the policy; national schemes, laws and desks carry out none
TOKYO = [p for p in GUIDES if frontmatter.load(p).metadata.get("measure")]
NATIONAL = [p for p in GUIDES if p not in TOKYO]
FACTS = compact((ROOT / "evals" / "program-facts.md").read_text(encoding="utf-8"))  # a copy of shared/program-facts.md
NATIONAL_FACTS = compact((ROOT / "evals" / "program-facts-national.md").read_text(encoding="utf-8"))
POLICY = compact((ROOT / "corpus" / "policy" / "tokyo-sme-vision-strategy1.txt").read_text(encoding="utf-8"))
# amounts, rates, counts, phone numbers and dates as they are written in the guides
FIGURE = re.compile(
    r"\d[\d,.]*\s*(?:億円|万円|円|件|回|名|人|割|%|か月|年度|年|月|日)"
    r"|\d+/\d+"
    r"|0\d{1,4}-\d{1,4}-\d{3,4}"
)


def test_there_is_a_guide_for_each_of_the_19_tokyo_programs_and_15_national_ones():
    assert len(TOKYO) == 19 and len(NATIONAL) >= 15


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.stem)
def test_guide_front_matter_and_sources(path):
    post = frontmatter.load(path)
    meta = post.metadata
    # a national scheme's pages may date none of its facts: then no fiscal year is claimed, only when they were read
    needed = ("title", "kind", "program", "operator", "direction", "as_of", "sources") + (("fiscal_year",) if path in TOKYO else ())
    for key in needed:
        assert meta.get(key), f"{path.name}: {key} missing"
    assert meta["kind"] == "guide" and meta["direction"] in "①②③④⑤"
    if path in TOKYO:
        assert compact(meta["measure"]) in POLICY  # the policy measure it implements exists
    assert all(s["kind"] in ("official", "secondary") and s["url"].startswith("http") for s in meta["sources"])
    caution = post.content.split("## ご注意")[-1]
    # a program's figures change by the year; a law's or a scheme's rules change too: check the latest
    assert ("年度ごとに変わります" in caution) if path in TOKYO else ("ご確認ください" in caution)


# notes about sources are for the people who keep the guides (the record's `source` says it), never
# for the owner who reads the answer
RESEARCH_NOTES = (
    "民間の解説", "民間の記事", "民間ページ", "民間のまとめ", "民間のニュース", "まとめサイト", "個人ブログ",
    "地域紙", "参加者の報告", "公式ページ", "公式発表", "公式サイト", "によると", "転載", "と紹介されて",
    "と記して", "報じられて", "確認できて", "確認できず", "未確認", "この資料", "資料では", "想定され",
    "年度記載なし",
)
SECTIONS = {"概要", "対象", "助成率・上限", "費用・利用条件", "申請方法", "問い合わせ先", "関連する東京都の施策", "ご注意"}
# a national scheme's guide: what it pays for, what a law requires, what a certification brings, how to use it
NATIONAL_SECTIONS = SECTIONS - {"関連する東京都の施策"} | {"対象経費", "主な内容", "支援内容", "認定のメリット", "相談・申告の方法", "手続き"}


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.stem)
def test_no_guide_body_carries_research_notes(path):
    body = frontmatter.load(path).content
    found = [note for note in RESEARCH_NOTES if note in body]
    assert not found, f"{path.name}: notes about sources in the text an owner reads: {found}"


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.stem)
def test_a_guide_keeps_the_section_headings_retrieval_ranks_by(path):
    headings = re.findall(r"^## (.+)$", frontmatter.load(path).content, flags=re.M)
    assert headings[:1] == ["概要"] and "問い合わせ先" in headings
    if path in TOKYO:
        assert headings[-2:] == ["関連する東京都の施策", "ご注意"] and set(headings) <= SECTIONS
    else:
        assert headings[-1] == "ご注意" and set(headings) <= NATIONAL_SECTIONS


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.stem)
def test_every_figure_in_a_guide_is_in_the_facts_file(path):
    body = unicodedata.normalize("NFKC", frontmatter.load(path).content)
    facts, name = (FACTS, "program-facts.md") if path in TOKYO else (NATIONAL_FACTS, "program-facts-national.md")
    missing = [f for f in FIGURE.findall(body) if compact(f) not in facts]
    assert not missing, f"{path.name}: figures not traceable to {name}: {missing}"


def test_a_program_question_names_the_program_gives_the_figure_and_its_year(advisor):
    answer = advisor.ask("BCPの助成金の上限っていくら？")
    assert "BCP実践促進助成金" in answer.answer and "1,500万円" in answer.answer
    assert "令和7年度の情報です" in answer.answer and "最新の募集要項でご確認ください" in answer.answer
    first = answer.answer.split("。")[0]  # the figure, the program and its fiscal year open the answer
    assert "1,500万円" in first and "令和7年度" in first
    assert answer.citations[0].result.chunk.program == "BCP実践促進助成金"


def test_a_measure_question_answers_from_the_policy_and_names_its_programs(advisor):
    answer = advisor.ask("BCPの策定を支援してほしい")
    # the programs that fit lead, then the policy measure behind them, each cited
    assert "「BCP実践促進助成金」" in answer.answer
    assert any(c.result.chunk.kind == "policy" and "事業継続へのサポート" in c.result.chunk.section for c in answer.citations)


def test_search_and_ask_can_keep_to_a_kind_or_a_direction(advisor):
    guides = advisor.search("助成金の上限", 5, kind="guide")
    assert guides and all(r.chunk.kind == "guide" for r in guides)
    policy = advisor.ask("展示会の補助", kind="policy")
    assert all(c.result.chunk.kind == "policy" for c in policy.citations)
    fourth = advisor.ask("補助金の上限", direction="④")
    assert all(c.result.chunk.direction == "④" for c in fourth.citations[:2])


def test_the_section_that_says_what_is_asked_is_found_even_without_the_question_words(advisor):
    # the 問い合わせ先 section of the guide does not repeat 「相談窓口」; it is still the answer
    answer = advisor.ask("カスハラの相談窓口の電話番号は？")
    assert "03-5320-4620" in answer.answer and "カスタマーハラスメント防止対策" in answer.answer
    # and an English question about an amount reaches the guide's 助成率・上限 section
    answer = advisor.ask("How much is the business succession subsidy?")
    assert "事業承継支援助成金" in answer.answer and "JPY 2 million" in answer.answer.split("\n")[0]
    assert any("200万円" in c.result.chunk.text for c in answer.citations)  # the cited passage states it
