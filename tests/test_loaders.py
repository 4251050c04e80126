from pathlib import Path

import pytest
from conftest import JAPANESE_FONT

from ingest.chunking import chunk_document
from ingest.loaders import LoadError, load


def make_japanese_pdf(path: Path) -> None:
    """A real two-page PDF with embedded Japanese glyphs, wrapped the way PDF text wraps."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("ipag", fname=str(JAPANESE_FONT))
    pdf.set_font("ipag", size=12)
    pdf.add_page()
    pdf.cell(0, 10, "■ 当面の施策展開", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 10, "④ 危機発生時の事業継続に向けた対策の推進", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 10, "（事業継続へのサポート）", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 10, "中小企業が自然災害等の発生に備えたＢＣＰ（事業継続計画）の必要性を理解", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 10, "してその導入に取り組むことができるよう、講座やセミナーを開催する。", new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.cell(0, 10, "（サイバーセキュリティ対策の推進）", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 10, "サイバーセキュリティ対策を実施するための経費の一部について助成を行う。", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


@pytest.mark.skipif(not JAPANESE_FONT.exists(), reason="needs Debian's fonts-ipafont-gothic (make test installs it)")
def test_japanese_pdf_keeps_pages_text_and_sections(tmp_path):
    path = tmp_path / "policy.pdf"
    make_japanese_pdf(path)
    doc = load(path, "corpus/policy.pdf")
    assert [p.number for p in doc.pages] == [1, 2]
    assert "ＢＣＰ（事業継続計画）" in doc.pages[0].text
    chunks = chunk_document(doc)
    bcp = next(c for c in chunks if "講座やセミナーを開催する" in c.text)
    assert bcp.page == 1
    assert "必要性を理解してその導入に" in bcp.text  # the line break inside the sentence is gone
    assert bcp.section.endswith("④ 危機発生時の事業継続に向けた対策の推進 > 当面の施策展開 > 事業継続へのサポート")
    cyber = next(c for c in chunks if "経費の一部について助成" in c.text)
    assert cyber.page == 2 and cyber.section.endswith("サイバーセキュリティ対策の推進")


def test_broken_pdf_is_reported_by_name(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n this is not really a pdf \x00\x01")
    with pytest.raises(LoadError, match="broken.pdf"):
        load(path)


def test_empty_file_is_reported(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("   \n", encoding="utf-8")
    with pytest.raises(LoadError, match="no text"):
        load(path)


def test_shift_jis_text_is_read(tmp_path):
    path = tmp_path / "sjis.txt"
    path.write_bytes("事業承継の相談窓口を設置する。".encode("cp932"))
    assert "事業承継" in load(path).pages[0].text


def test_unsupported_type_is_refused(tmp_path):
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(LoadError, match="unsupported"):
        load(path)
