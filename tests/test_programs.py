"""Program facts as data: the guides' `facts:` records, their validation at ingest, jGrants records."""

import json
import re
import shutil
import unicodedata
from pathlib import Path

import frontmatter
import pytest

from bot.core.programs import ProgramRecord, read_programs, validate
from bot.index import generation_dir, load_index, read_manifest
from bot.settings import Settings
from bot.text import compact
from ingest.chunking import chunk_document
from ingest.jgrants import yen_en, yen_ja
from ingest.loaders import LoadError, is_document, load
from ingest.pipeline import ingest

ROOT = Path(__file__).resolve().parents[1]
GUIDES = sorted((ROOT / "corpus" / "guides").glob("*.md"))
FACTS_FILE = compact((ROOT / "evals" / "program-facts.md").read_text(encoding="utf-8"))
NATIONAL_FACTS = compact((ROOT / "evals" / "program-facts-national.md").read_text(encoding="utf-8"))
TOKYO = {p.stem for p in GUIDES if frontmatter.load(p).metadata.get("measure")}  # the rest: national schemes, laws, desks
JGRANTS = ROOT / "tests" / "fixtures" / "jgrants-sample.jgrants.json"
FIGURE = re.compile(  # as tests/test_guides.py reads figures
    r"\d[\d,.]*\s*(?:億円|万円|円|件|回|名|人|割|%|か月|年度|年|月|日)|\d+/\d+|0\d{1,4}-\d{1,4}-\d{3,4}"
)


def facts_of(record: ProgramRecord) -> list:
    singles = [record.acceptance_note, *record.ineligible]
    return [f for f in [*record.facts(), *singles] if f is not None]


# --- the guides' records ---------------------------------------------------------------------


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.stem)
def test_every_guide_carries_a_valid_record_of_its_program(path):
    meta = frontmatter.load(path).metadata
    record = validate(meta["facts"], where=str(path))
    assert record.id == path.stem and record.name == meta["program"]
    assert record.direction == meta["direction"] and record.measure == meta.get("measure")
    assert record.fiscal_year == meta.get("fiscal_year") and record.as_of == str(meta["as_of"])
    # the guide's search aliases (added to its passages' headings) are names of the program; the record
    # may know more names owners use (「展示会の助成」, "trade show subsidy") without changing the search
    assert set(meta.get("aliases") or []) <= set(record.aliases)
    # the operator is the guide's, or left out where the sources do not name it
    assert record.operator in (meta["operator"], None)
    # a law, a scheme or a certification is of kind other; a Tokyo program is one of the kinds
    assert record.name_en and (record.kind != "other" or path.stem == "shokei-fund" or path.stem not in TOKYO)


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.stem)
def test_every_fact_names_one_of_the_guides_sources_with_its_kind(path):
    meta = frontmatter.load(path).metadata
    sources = {s["url"]: s["kind"] for s in meta["sources"]}
    record = validate(meta["facts"], where=str(path))
    for fact in facts_of(record):
        assert fact.url in sources, f"{path.name}: {fact.url} is not among the guide's sources"
        assert fact.source == sources[fact.url], f"{path.name}: {fact.url} is {sources[fact.url]}"
    if record.front_subsidy_detail_page_url:
        assert sources.get(record.front_subsidy_detail_page_url) == "official"


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.stem)
def test_every_figure_in_a_record_is_in_the_facts_file(path):
    record = validate(frontmatter.load(path).metadata["facts"], where=str(path))
    texts = [getattr(f, "ja", "") for f in facts_of(record)] + [f.condition or "" for f in record.subsidy_rate]
    texts += [record.contact.phone or "", record.contact.hours or ""] if record.contact else []
    # a national guide's figures are traced through its body (checked against program-facts-national.md)
    known = FACTS_FILE if path.stem in TOKYO else NATIONAL_FACTS + compact(unicodedata.normalize("NFKC", frontmatter.load(path).content))
    missing = [f for t in texts for f in FIGURE.findall(unicodedata.normalize("NFKC", t)) if compact(f) not in known]
    assert not missing, f"{path.name}: figures not traceable to the facts files: {missing}"


def test_amounts_rates_and_contacts_are_typed():
    records = {p.stem: validate(frontmatter.load(p).metadata["facts"], where=str(p)) for p in GUIDES}
    bcp = records["bcp-jissen"]
    assert bcp.subsidy_max_limit.yen == 15_000_000 and bcp.subsidy_max_limit.ja.startswith("1,500万円")
    assert bcp.subsidy_min_limit.yen == 100_000
    assert bcp.rate_for("sme").ja == "1/2以内" and bcp.rate_for("small").ja == "2/3以内"
    assert any(r.condition and r.ja == "4/5以内" for r in bcp.subsidy_rate)  # 令和4年度, power only
    assert "事業継続力強化計画" in bcp.prerequisites[0].ja and bcp.prerequisites[0].source == "official"
    assert "DX推進支援事業" in records["dx-josei"].prerequisites[0].ja
    assert any("経営診断" in p.ja for p in records["tenjikai-josei"].prerequisites)
    assert records["customer-harassment"].contact.phone == "03-5320-4620"
    assert records["shitauke-soudan"].contact.phone == "03-3251-9390"
    assert records["onestop-soudan"].contact.phone == "03-3251-7881"
    assert records["digital-tool"].acceptance_end_datetime.date == "2025-10-27"
    # no phone number where the documents give none
    phones = {k for k, r in records.items() if r.contact and r.contact.phone and k in TOKYO}
    assert phones == {"customer-harassment", "shitauke-soudan", "onestop-soudan"}


# --- validation at ingest --------------------------------------------------------------------


@pytest.fixture
def bm25_settings(tmp_path, small_corpus):
    return Settings(data_dir=tmp_path / "data", corpus_dir=small_corpus, embedding_model="none")


def guide_with_facts(facts: dict) -> str:
    sources = [{"url": "https://www.tokyo-kosha.or.jp/support/josei/", "kind": "secondary"}]
    post = frontmatter.Post("", title="展示会の助成", kind="guide", program="展示会の助成", sources=sources, facts=facts)
    head = frontmatter.dumps(post)
    return head + "\n# 展示会の助成\n\n## 助成率・上限\n\n助成限度額は150万円です。\n"


def test_a_guide_with_invalid_facts_fails_by_name_and_field_and_the_rest_is_indexed(bm25_settings, small_corpus):
    bad = small_corpus / "guides" / "tenji.md"
    bad.write_text(
        guide_with_facts({"id": "tenji", "name": "展示会の助成", "subsidy_max_limit": {"ja": "150万円", "yen": "百五十万"}}),
        encoding="utf-8",
    )
    report = ingest(bm25_settings)
    [(src, why)] = report.failed.items()
    assert src.endswith("guides/tenji.md")
    assert "guides/tenji.md: invalid program facts: subsidy_max_limit.yen:" in why
    assert len(report.added) == 2 and report.chunks > 50  # the policy and the other guide
    index = load_index(bm25_settings)
    assert not any(c.source.endswith("tenji.md") for c in index.chunks) and index.programs == {}


def test_facts_must_name_the_guides_program(tmp_path):
    path = tmp_path / "x.md"
    path.write_text(guide_with_facts({"id": "x", "name": "別の名前"}), encoding="utf-8")
    with pytest.raises(LoadError, match=r"x.md: invalid program facts: name:"):
        load(path)


def test_an_unknown_field_is_named(tmp_path):
    path = tmp_path / "x.md"
    path.write_text(guide_with_facts({"id": "x", "name": "展示会の助成", "upper_limit": "150万円"}), encoding="utf-8")
    with pytest.raises(LoadError, match=r"x.md: invalid program facts: upper_limit: Extra inputs"):
        load(path)


def test_a_valid_record_reaches_programs_json_and_the_loaded_index(bm25_settings, small_corpus):
    good = small_corpus / "guides" / "tenji.md"
    good.write_text(
        guide_with_facts({"id": "tenji", "name": "展示会の助成", "subsidy_max_limit": {"ja": "150万円", "yen": 1_500_000}}),
        encoding="utf-8",
    )
    first = ingest(bm25_settings)
    assert first.ok
    gen = generation_dir(bm25_settings.index_dir, first.generation)
    assert read_programs(gen / "programs.json")["展示会の助成"].subsidy_max_limit.yen == 1_500_000
    assert load_index(bm25_settings).programs["展示会の助成"].id == "tenji"
    passage = next(c for c in load_index(bm25_settings).chunks if c.program == "展示会の助成")
    assert passage.source_kind == "secondary"  # a fact without `source: official`

    # another file changes: the guide is kept, and so is its record
    (small_corpus / "guides" / "bcp.md").write_text("# BCP\n\n相談は無料です。\n", encoding="utf-8")
    second = ingest(bm25_settings)
    assert any(s.endswith("tenji.md") for s in second.kept)
    assert "展示会の助成" in load_index(bm25_settings).programs

    # the guide breaks: its previous passages and record keep serving
    good.write_text(guide_with_facts({"id": "tenji", "name": "展示会の助成", "kind": "grant"}), encoding="utf-8")
    third = ingest(bm25_settings)
    assert any("kind:" in why for why in third.failed.values())
    assert "展示会の助成" in load_index(bm25_settings).programs


def test_an_index_from_before_programs_json_loads_with_no_records(bm25_settings):
    report = ingest(bm25_settings)
    (generation_dir(bm25_settings.index_dir, report.generation) / "programs.json").unlink()
    assert load_index(bm25_settings).programs == {}


def test_passages_say_what_their_facts_rest_on(tmp_path):
    policy = ROOT / "corpus" / "policy" / "tokyo-sme-vision-strategy1.txt"
    chunks = chunk_document(load(policy, "corpus/policy/" + policy.name))
    assert {c.source_kind for c in chunks} == {"official"}  # the sidecar: publisher 東京都
    guide = chunk_document(load(ROOT / "corpus" / "guides" / "bcp-jissen.md", "corpus/guides/bcp-jissen.md"))
    assert {c.source_kind for c in guide} == {"secondary"}
    from bot.models import SearchResult

    assert SearchResult(guide[0], 1.0).to_dict()["source_kind"] == "secondary"
    plain = tmp_path / "note.md"
    plain.write_text("# メモ\n\n本文です。\n", encoding="utf-8")
    assert {c.source_kind for c in chunk_document(load(plain))} == {None}


# --- jGrants records -------------------------------------------------------------------------


def test_jgrants_records_become_program_records():
    doc = load(JGRANTS, "tests/fixtures/jgrants-sample.jgrants.json")
    assert len(doc.parts) == 3
    records = [p.programs[0] for p in doc.parts]
    first = records[0]
    assert first.id == "jgrants-a0W5h00000TESTAAA1" and first.name.endswith("省エネ設備導入支援補助金")
    assert first.kind == "subsidy" and first.source_kind() == "official"
    assert first.subsidy_max_limit.yen == 15_000_000 and first.subsidy_max_limit.ja == "1,500万円"
    assert first.subsidy_max_limit.en == "JPY 15 million"
    assert [(r.ja, r.size) for r in first.subsidy_rate] == [("2/3以内", "any")]
    assert first.rate_for("small").ja == "2/3以内"
    assert first.target_number_of_employees.ja == "300名以下"
    assert first.use_purpose.ja.startswith("設備整備・IT導入をしたい")
    assert first.is_enable_multiple_request.ja == "複数回の申請はできません"
    assert records[1].is_enable_multiple_request.ja == "複数回の申請ができます"
    # jGrants times are UTC: 2025-10-01T00:00Z is 9:00 in Tokyo, 2025-10-31T08:00Z is 17:00
    assert first.acceptance_start_datetime.date == "2025-10-01"
    assert first.acceptance_end_datetime.ja == "2025年10月31日 17時" and first.fiscal_year == "令和7年度"
    assert first.front_subsidy_detail_page_url == first.subsidy_max_limit.url
    assert records[2].fiscal_year == "令和6年度"


def test_jgrants_passages_have_the_guides_headings_and_are_cited_by_record():
    doc = load(JGRANTS, "tests/fixtures/jgrants-sample.jgrants.json")
    chunks = chunk_document(doc)
    assert len({c.id for c in chunks}) == len(chunks)
    assert all(c.kind == "guide" and c.source == "tests/fixtures/jgrants-sample.jgrants.json" for c in chunks)
    assert all(c.source_kind == "official" for c in chunks)
    first = [c for c in chunks if c.program == doc.parts[0].programs[0].name]
    sections = [c.section for c in first]
    assert sections[0] == "概要" and {"対象", "助成率・上限", "申請方法", "問い合わせ先"} <= set(sections)
    limit = next(c for c in first if c.section == "助成率・上限")
    assert limit.text == "補助率は2/3以内、補助上限額は1,500万円です。"
    assert not any("<" in c.text for c in chunks)  # the HTML of `detail` is text


@pytest.mark.parametrize("shape", ["list", "detail", "plain"])
def test_the_three_shapes_of_a_jgrants_file_are_read(tmp_path, shape):
    data = json.loads(JGRANTS.read_text(encoding="utf-8"))
    one = data["result"][1]
    body = {"list": data, "detail": {"metadata": {"type": "subsidies.id"}, "result": [one]}, "plain": [one]}[shape]
    path = tmp_path / f"{shape}.jgrants.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    assert is_document(path)
    doc = load(path)
    assert one["title"] in [p.programs[0].name for p in doc.parts]


def test_a_jgrants_file_is_indexed_and_searchable(bm25_settings, small_corpus):
    from bot.advisor import Advisor

    shutil.copy(JGRANTS, small_corpus / JGRANTS.name)
    report = ingest(bm25_settings)
    assert report.ok and any(s.endswith(JGRANTS.name) for s in report.added)
    programs = load_index(bm25_settings).programs
    assert {r.id for r in programs.values()} == {
        "jgrants-a0W5h00000TESTAAA1", "jgrants-a0W5h00000TESTAAA2", "jgrants-a0W5h00000TESTAAA3"
    }
    results = Advisor(bm25_settings).search("空き店舗を活用した創業の助成金", k=3)
    top = results[0].chunk
    assert top.source.endswith(JGRANTS.name) and "空き店舗" in top.program and top.source_kind == "official"
    assert results[0].to_dict()["source_kind"] == "official"


@pytest.mark.parametrize(
    "body, says",
    [
        ("{not json", r"not valid JSON \(line 1"),
        ('{"metadata": {}, "results": []}', r"not a jGrants file"),
        ('{"result": []}', r"no jGrants records"),
        ('[{"id": "a1", "title": "補助金", "subsidy_max_limit": "1500万円"}]', r"record 1: subsidy_max_limit: must be a whole number of yen"),
        ('[{"id": "a1", "title": "A"}, {"id": "a2"}]', r"record 2: title: missing"),
        ('[{"id": "a1", "title": "A", "acceptance_end_datetime": "来年の春"}]', r"record 1: acceptance_end_datetime: must be a date"),
        ('[{"id": "a1", "title": "A", "is_enable_multiple_request": "はい"}]', r"record 1: is_enable_multiple_request: must be true or false"),
        ('[{"id": "a1", "title": "A", "subsidy_rate": 0.5}]', r"record 1: subsidy_rate: must be text"),
    ],
)
def test_a_malformed_jgrants_file_is_reported_by_name_record_and_field(tmp_path, body, says):
    path = tmp_path / "broken.jgrants.json"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(LoadError, match=r"broken\.jgrants\.json: " + says):
        load(path)


def test_a_malformed_jgrants_file_fails_ingest_alone(bm25_settings, small_corpus):
    (small_corpus / "bad.jgrants.json").write_text('[{"id": "a1", "title": "A", "subsidy_max_limit": -5}]', encoding="utf-8")
    (small_corpus / "notes.json").write_text("{}", encoding="utf-8")  # not a jGrants file: not a document
    report = ingest(bm25_settings)
    [(src, why)] = report.failed.items()
    assert src.endswith("bad.jgrants.json") and "record 1: subsidy_max_limit" in why
    assert len(report.added) == 2
    assert not any(s.endswith("notes.json") for s in read_manifest(bm25_settings.index_dir)["files"])


def test_a_zero_upper_limit_is_left_out_and_multiple_requests_only_when_a_boolean(tmp_path):
    path = tmp_path / "x.jgrants.json"
    path.write_text(json.dumps([{"id": "a1", "title": "A", "subsidy_max_limit": 0}]), encoding="utf-8")
    record = load(path).parts[0].programs[0]
    assert record.subsidy_max_limit is None and record.is_enable_multiple_request is None


@pytest.mark.parametrize(
    "yen, ja, en",
    [
        (15_000_000, "1,500万円", "JPY 15 million"),
        (1_500_000, "150万円", "JPY 1.5 million"),
        (200_000_000, "2億円", "JPY 200 million"),
        (280_000_000, "2億8,000万円", "JPY 280 million"),
        (400_000, "40万円", "JPY 400,000"),
        (11_550, "11,550円", "JPY 11,550"),
    ],
)
def test_amounts_read_as_the_guides_write_them(yen, ja, en):
    assert yen_ja(yen) == ja and yen_en(yen) == en
