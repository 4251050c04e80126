from pathlib import Path

from conftest import POLICY

from ingest.chunking import MAX_CHARS, chunk_document
from ingest.loaders import load


def policy_chunks():
    return chunk_document(load(POLICY, "corpus/policy/" + POLICY.name))


def by_text(chunks, phrase):
    found = [c for c in chunks if phrase in c.text]
    assert found, phrase
    return found[0]


def test_section_path_of_a_measure_names_strategy_direction_part_and_subsection():
    chunk = by_text(policy_chunks(), "ポータルサイトで発信するほか")
    assert chunk.section == (
        "戦略Ⅰ 経営マネジメントの強化 > ④ 危機発生時の事業継続に向けた対策の推進 > 当面の施策展開 > "
        "サイバーセキュリティ対策の推進"
    )
    assert chunk.direction == "④"
    assert chunk.title.startswith("東京都中小企業振興ビジョン")  # from the metadata sidecar
    assert chunk.kind == "policy"
    assert chunk.page is None and chunk.line > 0  # a text file has no pages; the line locates it


def test_a_late_part_heading_names_its_whole_block():
    # In the extracted text "■ 当面の施策展開" comes after the first ① measures; they belong to it all the same.
    chunk = by_text(policy_chunks(), "普及啓発セミナーを開催する")
    assert "① ＩＣＴ化の推進や設備導入などによる生産性の向上 > 当面の施策展開 > ＩＣＴ化の推進による生産性の向上" in chunk.section
    direction_text = by_text(policy_chunks(), "労働力人口の減少に備えて")
    assert direction_text.section.endswith("施策の方向性")


def test_every_direction_has_measures():
    directions = {c.direction for c in policy_chunks() if "当面の施策展開" in c.section}
    assert directions == {"①", "②", "③", "④", "⑤"}


def test_broken_lines_are_joined_and_original_characters_kept():
    chunk = by_text(policy_chunks(), "ＢＣＰ（事業継続計画）の必要性を理解")
    assert "ＢＣＰ" in chunk.text  # shown as published, full-width
    assert "\n" not in chunk.text.split("。")[0]  # the first sentence is whole again


def test_chunks_are_small_and_start_with_their_passage():
    chunks = policy_chunks()
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert sum(len(c.text) for c in chunks) / len(chunks) < 200
    assert len({c.id for c in chunks}) == len(chunks)


def test_chunk_ids_are_stable_across_runs():
    assert [c.id for c in policy_chunks()] == [c.id for c in policy_chunks()]


def test_markdown_front_matter_becomes_metadata_and_headings_sections(small_corpus: Path):
    path = small_corpus / "guides" / "bcp.md"
    head, body = path.read_text(encoding="utf-8").split("---\n", 2)[1:]
    sourced = small_corpus / "bcp-faq.md"  # front matter that names its sources keeps its metadata
    sourced.write_text(
        "---\n" + head.replace("kind: guide", "kind: faq")
        + "sources:\n  - url: https://www.tokyo-kosha.or.jp/support/\n    kind: official\n---\n" + body,
        encoding="utf-8",
    )
    doc = load(sourced, "corpus/bcp-faq.md")
    assert doc.title == "BCP策定支援のご案内" and doc.kind == "faq" and doc.trust == "sourced"
    chunks = chunk_document(doc)
    target = by_text(chunks, "専門家が個別に訪問し")
    assert target.section == "対象"
    assert target.direction == "④" and target.kind == "faq"
    assert by_text(chunks, "窓口へお申し込みください").section == "申込方法"

    # without sources it is an ordinary document of unknown source: its title, its headings, no more
    plain = load(path, "corpus/guides/bcp.md")
    assert plain.trust == "unknown" and plain.kind == "document" and plain.title == "BCP策定支援のご案内"
    target = by_text(chunk_document(plain), "専門家が個別に訪問し")
    assert target.section == "対象" and target.direction is None and target.kind == "document"
