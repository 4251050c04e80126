"""An owner's facts (bot/core/profile.py), the size class they decide (bot/core/rules.py), and the
document that states the rules (corpus/rules/common-rules.md): data and document cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import frontmatter
import pytest

from bot.core.profile import merge, owner_facts, parse_number
from bot.core.rules import SizeVerdict, get_table, size_class, yen_ja

ROOT = Path(__file__).resolve().parents[1]
RULES_DOC = ROOT / "corpus" / "rules" / "common-rules.md"

# --- owner_facts ---------------------------------------------------------------------------------

FACTS = [
    # Japanese: employees in its usual forms
    ("従業員10人の会社です", {"employees": 10}),
    ("社員30名のIT企業です", {"employees": 30, "industry": "service", "industry_word": "IT企業"}),
    ("スタッフ5人の美容室をやっています", {"employees": 5, "industry": "service", "industry_word": "美容室"}),
    ("10人の町工場です", {"employees": 10, "industry": "manufacturing", "industry_word": "町工場"}),
    (
        "うち町工場で従業員15人くらいなんだけど、パソコンとか入れて効率化したい",
        {"employees": 15, "industry": "manufacturing", "industry_word": "町工場"},
    ),
    ("夫婦二人でやってる小さな工務店です", {"employees": 2, "industry": "construction", "industry_word": "工務店"}),
    ("商店街で夫婦二人でパン屋やってるんだけど", {"employees": 2, "industry": "retail", "industry_word": "パン屋"}),
    ("従業員数：12名の運送会社です", {"employees": 12, "industry": "transport", "industry_word": "運送会社"}),
    ("パートを3人雇っている居酒屋です", {"employees": 3, "industry": "service", "industry_word": "居酒屋"}),
    # full-width digits and letters (NFKC)
    ("従業員１０人の金属加工の会社です", {"employees": 10, "industry": "manufacturing", "industry_word": "金属加工"}),
    ("ＩＴ企業で社員は２５名、資本金は３０００万円です", {"employees": 25, "industry": "service", "industry_word": "IT企業", "capital": 30_000_000}),
    ("資本金１億円、従業員８０人の卸売業です", {"employees": 80, "industry": "wholesale", "industry_word": "卸売業", "capital": 100_000_000}),
    # capital
    ("資本金1000万円の印刷会社です", {"capital": 10_000_000, "industry": "manufacturing", "industry_word": "印刷会社"}),
    ("資本金3億円の建設会社", {"capital": 300_000_000, "industry": "construction", "industry_word": "建設会社"}),
    ("資本金は1億5千万円です", {"capital": 150_000_000}),
    ("資本金は三千万円です", {"capital": 30_000_000}),
    # years in business
    ("創業3年の雑貨屋です", {"years": 3.0, "industry": "retail", "industry_word": "雑貨屋"}),
    ("設立2年目のネットショップです", {"years": 1.0, "industry": "retail", "industry_word": "ネットショップ"}),
    ("開業して半年のカフェです", {"years": 0.5, "industry": "service", "industry_word": "カフェ"}),
    ("創業50年の旅館です", {"years": 50.0, "industry": "hospitality", "industry_word": "旅館"}),
    # legal form and group
    ("個人事業主で、クリーニング店をやっています", {"sole_proprietor": True, "industry": "service", "industry_word": "クリーニング店"}),
    ("フリーランスのデザイナーです", {"sole_proprietor": True}),
    ("個人事業主ではなく株式会社です", {"sole_proprietor": False}),
    ("大企業の子会社で、従業員20人の製造業です", {"employees": 20, "industry": "manufacturing", "industry_word": "製造業", "group_company": True}),
    ("親会社はありません。従業員21人の工場です", {"employees": 21, "industry": "manufacturing", "industry_word": "工場", "group_company": False}),
    ("グループ会社として介護事業所を運営しています", {"group_company": True, "industry": "service", "industry_word": "介護事業所"}),
    # words that name a customer or a plan, not the company
    ("ネットショップを始めたい町工場です", {"industry": "manufacturing", "industry_word": "町工場"}),
    (
        "飲食店向けのソフトウェアを作っている会社で社員１２０名、資本金２億円",
        {"employees": 120, "industry": "service", "industry_word": "ソフトウェア", "capital": 200_000_000},
    ),
    # bounds and look-alikes are not facts
    ("従業員100人以上の会社です", {}),
    ("創業5年未満でも使えますか", {}),
    ("3人の子どもがいる会社員です", {}),
    ("第2の工場を作りたい", {}),
    ("ＩＴを導入したい", {}),
    ("創業1985年の老舗です", {}),
    # English
    ("We are a manufacturer with 10 employees.", {"employees": 10, "industry": "manufacturing", "industry_word": "manufacturer"}),
    ("We have a staff of 12 and run a restaurant in Shinjuku.", {"employees": 12, "industry": "service", "industry_word": "restaurant"}),
    ("I'm a sole proprietor running an online shop.", {"sole_proprietor": True, "industry": "retail", "industry_word": "online shop"}),
    ("Our capital is 10 million yen and we have twenty-five employees.", {"capital": 10_000_000, "employees": 25}),
    ("We were founded 2 years ago as a small IT company.", {"years": 2.0, "industry": "service", "industry_word": "IT company"}),
    ("We opened six months ago; a 3-person design office.", {"years": 0.5, "employees": 3, "industry": "service", "industry_word": "design office"}),
    ("We are a subsidiary of a large trading company with 40 employees.", {"group_company": True, "employees": 40, "industry": "wholesale", "industry_word": "trading company"}),
    ("A family-run ryokan with a capital of ¥30 million, in business for 20 years.", {"industry": "hospitality", "industry_word": "ryokan", "capital": 30_000_000, "years": 20.0}),
    ("I'm a freelancer and we sell to restaurants.", {"sole_proprietor": True}),
    ("We have more than 50 employees.", {}),
]


@pytest.mark.parametrize("text,expected", FACTS, ids=[t[:24] for t, _ in FACTS])
def test_owner_facts(text, expected):
    assert owner_facts(text) == expected


def test_there_are_enough_fact_rows_in_both_languages():
    japanese = [t for t, _ in FACTS if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t)]
    assert len(FACTS) >= 25 and len(japanese) >= 15 and len(FACTS) - len(japanese) >= 8
    assert any(re.search(r"[０-９Ａ-Ｚ]", t) for t in japanese)  # full-width forms


@pytest.mark.parametrize(
    "text,value",
    [("1億5,000万", 150_000_000), ("5千万", 50_000_000), ("二十", 20), ("一千万", 10_000_000), ("3.5万", 35_000), ("百", 100)],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_merge_new_facts_win_and_industry_travels_with_its_word():
    old = owner_facts("従業員10人の町工場です")
    new = owner_facts("資本金は1000万円です")
    assert merge(old, new) == {"employees": 10, "industry": "manufacturing", "industry_word": "町工場", "capital": 10_000_000}
    assert merge(old, {"employees": 25})["employees"] == 25
    assert merge(old, {"industry": "retail"}) == {"employees": 10, "industry": "retail"}
    assert merge({}, {}) == {}


# --- size_class ----------------------------------------------------------------------------------

SME = "中小企業者の範囲（中小企業基本法第2条）"
SMALL = "小規模企業者の範囲"
SPECIAL = "中小企業者の範囲の特例（政令）"
GROUP = "みなし大企業"

# facts -> (size, group key, basis, limit, section), or None when nothing may be claimed
SIZES = [
    # borderline 20/21 in manufacturing
    ({"industry": "manufacturing", "employees": 20}, ("small", "manufacturing_etc", "employees", 20, SMALL)),
    ({"industry": "manufacturing", "employees": 21}, ("sme", "manufacturing_etc", "employees", 300, SME)),
    ({"industry": "construction", "employees": 300}, ("sme", "manufacturing_etc", "employees", 300, SME)),
    ({"industry": "transport", "employees": 301, "capital": 300_000_000}, ("sme", "manufacturing_etc", "capital", 300_000_000, SME)),
    ({"industry": "manufacturing", "employees": 301, "capital": 300_000_001}, ("large", "manufacturing_etc", "employees+capital", 300, SME)),
    # borderline 5/6 in retail, and retail's 50
    ({"industry": "retail", "employees": 5}, ("small", "retail", "employees", 5, SMALL)),
    ({"industry": "retail", "employees": 6}, ("sme", "retail", "employees", 50, SME)),
    ({"industry": "retail", "employees": 51, "capital": 50_000_001}, ("large", "retail", "employees+capital", 50, SME)),
    ({"industry": "wholesale", "employees": 101, "capital": 100_000_000}, ("sme", "wholesale", "capital", 100_000_000, SME)),
    ({"industry": "service", "employees": 100}, ("sme", "service", "employees", 100, SME)),
    # capital only: sme by capital, never small (small depends on employees only), never large
    ({"industry": "service", "capital": 50_000_000}, ("sme", "service", "capital", 50_000_000, SME)),
    ({"industry": "service", "capital": 50_000_001}, None),
    ({"industry": "manufacturing", "employees": 400}, None),  # capital might still be under 3億円
    # unknown industry: only what every industry agrees on
    ({"employees": 5}, ("small", None, "employees", 5, SMALL)),
    ({"employees": 6}, None),  # small in manufacturing, sme in retail
    ({"employees": 20}, None),
    ({"employees": 21}, ("sme", None, "employees", 50, SME)),
    ({"employees": 51}, None),  # sme in manufacturing, maybe large in retail
    ({"capital": 50_000_000}, ("sme", None, "capital", 50_000_000, SME)),
    ({"capital": 60_000_000}, None),
    ({"employees": 301, "capital": 300_000_001}, ("large", None, "employees+capital", 300, SME)),
    ({"industry": "unknown-word", "employees": 3}, ("small", None, "employees", 5, SMALL)),
    # a sole proprietor is judged on employees only
    ({"industry": "retail", "employees": 60, "capital": 1_000_000, "sole_proprietor": True}, ("large", "retail", "employees", 50, SME)),
    ({"industry": "service", "capital": 1_000_000, "sole_proprietor": True}, None),
    # hospitality is サービス業 under the basic law
    ({"industry": "hospitality", "employees": 5}, ("small", "service", "employees", 5, SMALL)),
    ({"industry": "hospitality", "employees": 15}, ("sme", "service", "employees", 100, SME)),
    # no facts
    ({}, None),
    ({"years": 3.0, "industry": "retail"}, None),
]


def _row(v: SizeVerdict | None):
    return None if v is None else (v.size, v.industry, v.basis, v.limit, v.section)


@pytest.mark.parametrize("facts,expected", SIZES, ids=[str(f) for f, _ in SIZES])
def test_size_class(facts, expected):
    assert _row(size_class(facts)) == expected


def test_size_class_has_enough_rows():
    assert len(SIZES) >= 12


def test_large_names_both_limits_and_sme_by_capital_leaves_small_open():
    large = size_class({"industry": "wholesale", "employees": 101, "capital": 100_000_001})
    assert (large.limit, large.capital_limit) == (100, 100_000_000)
    by_capital = size_class({"industry": "retail", "capital": 10_000_000})
    assert by_capital.size == "sme" and by_capital.may_be_small
    assert not size_class({"industry": "retail", "employees": 6}).may_be_small


def test_group_company_is_never_claimed_small_or_sme():
    v = size_class({"industry": "manufacturing", "employees": 20, "group_company": True})
    assert v.size is None and v.basis == "group_company" and v.section == GROUP
    assert _row(v.by_figures) == ("small", "manufacturing_etc", "employees", 20, SMALL)
    # no figures at all: still says みなし大企業 may apply
    v = size_class({"group_company": True})
    assert v.size is None and v.section == GROUP and v.by_figures is None
    # large by its figures is simply large
    v = size_class({"industry": "retail", "employees": 60, "capital": 60_000_000, "group_company": True})
    assert v.size == "large" and v.section == SME
    # an owner who said there is no parent company is judged on the figures
    assert size_class({"industry": "retail", "employees": 3, "group_company": False}).size == "small"


def test_special_rules_never_change_the_size_only_note_a_smaller_one():
    hotel = size_class(owner_facts("ホテルを経営しています。従業員は15人です"))
    assert hotel.size == "sme" and hotel.special is not None
    assert (hotel.special.size, hotel.special.limit, hotel.special.section) == ("small", 20, SMALL)
    ryokan = size_class({"industry": "hospitality", "industry_word": "旅館", "employees": 150, "capital": 60_000_000})
    assert ryokan.size == "large" and (ryokan.special.size, ryokan.special.limit, ryokan.special.section) == ("sme", 200, SPECIAL)
    software = size_class(owner_facts("ソフトウェア開発の会社で社員120名、資本金2億円です"))
    assert software.size == "large" and (software.special.size, software.special.limit) == ("sme", 300)
    # the software rule is for software only, not every service business
    salon = size_class({"industry": "service", "industry_word": "美容室", "employees": 120, "capital": 200_000_000})
    assert salon.size == "large" and salon.special is None
    rubber = size_class({"industry": "manufacturing", "industry_word": "ゴム製品製造", "employees": 500, "capital": 400_000_000})
    assert rubber.size == "large" and rubber.special.limit == 900
    # nothing smaller to note
    assert size_class({"industry": "hospitality", "industry_word": "旅館", "employees": 3}).special is None


def test_from_owner_words_to_a_verdict():
    assert _row(size_class(owner_facts("うちは従業員15人の町工場です"))) == ("small", "manufacturing_etc", "employees", 20, SMALL)
    assert _row(size_class(owner_facts("スタッフ６人の雑貨屋です"))) == ("sme", "retail", "employees", 50, SME)
    assert size_class(owner_facts("従業員10人です")) is None  # the industry decides small or sme


# --- the document and the data -------------------------------------------------------------------


def _sections() -> dict[str, str]:
    body = frontmatter.load(RULES_DOC).content
    sections, current = {}, None
    for line in body.splitlines():
        m = re.match(r"^##\s+(.+?)\s*$", line)
        if m:
            current = m.group(1)
            sections[current] = ""
        elif current:
            sections[current] += line + "\n"
    return sections


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=。)", text.replace("\n", "")) if s.strip()]


def test_every_section_size_class_names_is_a_heading_of_the_rules_document():
    headings = set(_sections())
    table = get_table()
    named = set(table.sections.values()) | {r.section for r in table.special}
    for facts, _ in SIZES:
        v = size_class(facts)
        while v is not None:
            named.add(v.section)
            if v.special:
                named.add(v.special.section)
            v = v.by_figures
    assert named <= headings, named - headings


def test_every_threshold_in_the_data_is_stated_in_the_document():
    sections, table = _sections(), get_table()
    sme_sentences = _sentences(sections[table.sections["sme"]])
    small_sentences = _sentences(sections[table.sections["small"]])
    for g in table.groups:
        # the group's own sentence names it and both its limits
        assert any(
            g.name in s and f"{yen_ja(g.sme_capital)}以下" in s and f"{g.sme_employees}人以下" in s for s in sme_sentences
        ), g
        assert any(f"{g.small_employees}人以下" in s for s in small_sentences), g
    for rule in table.special:
        sentences = _sentences(sections[rule.section])
        figures = [f"{n}人以下" for n in (rule.sme_employees, rule.small_employees) if n]
        figures += [f"{yen_ja(rule.sme_capital)}以下"] if rule.sme_capital else []
        assert any(rule.name in s and all(f in s for f in figures) for s in sentences), rule


def test_yen_ja_writes_amounts_as_the_document_does():
    assert [yen_ja(n) for n in (300_000_000, 100_000_000, 50_000_000, 150_000_000, 1_000)] == [
        "3億円", "1億円", "5,000万円", "1億5,000万円", "1,000円",
    ]


def test_rules_document_front_matter_and_style():
    post = frontmatter.load(RULES_DOC)
    meta = post.metadata
    assert meta["kind"] == "rules" and meta["title"] and "program" not in meta
    assert str(meta["as_of"]) == "2026-11-28"
    assert meta["sources"] and all(s["kind"] in ("official", "secondary") and s["url"].startswith("http") for s in meta["sources"])
    assert "https://laws.e-gov.go.jp/law/338AC0000000154" in [s["url"] for s in meta["sources"]]
    sections = _sections()
    for heading in ("中小企業者の範囲（中小企業基本法第2条）", "小規模企業者の範囲", "みなし大企業", "助成金・補助金と融資の違い", "助成金の支払い時期", "募集期間"):
        assert heading in sections
    for heading, text in sections.items():
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        assert len(paragraphs) == 1 and paragraphs[0].endswith("。"), heading  # one passage each
        assert "です" in text or "ます" in text, heading
    for heading in ("中小企業者の範囲（中小企業基本法第2条）", "小規模企業者の範囲", "みなし大企業", "助成金の支払い時期", "募集期間"):
        assert "募集要項" in sections[heading], heading


def test_ingest_reads_the_rules_document_as_kind_rules():
    from ingest.chunking import chunk_document
    from ingest.loaders import load

    doc = load(RULES_DOC, "corpus/rules/common-rules.md")
    chunks = chunk_document(doc)
    assert chunks and all(c.kind == "rules" and c.program is None for c in chunks)
    # one passage per section: the passage a verdict cites states the whole rule
    assert sorted(c.section for c in chunks) == sorted(_sections())
    rows = next(c for c in chunks if c.section == SME)
    assert all(f in rows.text for f in ("3億円", "1億円", "5,000万円", "300人", "100人", "50人", "募集要項"))
