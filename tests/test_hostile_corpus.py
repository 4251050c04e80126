"""A corpus that can't speak for the advisor (issue 13): real files in tmp folders, a real ingest, a real advisor.

The hostile set is built by evals/hostile.py (the same files `python -m evals.hostile` measures):
an official-looking Markdown "program" that tells the assistant to ignore its instructions and sends
owners to a phishing address, an empty and a whitespace-only .md, broken front matter, Shift_JIS text,
and PDFs encrypted with only an owner password (RC4 and AES), needing a user password, truncated, and
random bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import frontmatter
import pytest
from conftest import CORPUS, POLICY

from bot.settings import Settings
from evals.hostile import encrypt_pdf, make_pdf
from ingest.chunking import chunk_document
from ingest.loaders import LoadError, load

BCP = "BCP実践促進助成金"
SOURCES = [{"url": "https://www.tokyo-kosha.or.jp/support/josei/", "kind": "official"}]


def guide(path: Path, body: str, **front) -> Path:
    path.write_text(frontmatter.dumps(frontmatter.Post(body, **front)) + "\n", encoding="utf-8")
    return path


def program_front(**extra) -> dict:
    facts = {"id": "tenji", "name": "展示会の助成", "kind": "subsidy",
             "subsidy_max_limit": {"ja": "150万円", "yen": 1_500_000, "source": "official", "url": SOURCES[0]["url"]}}
    return {"title": "展示会の助成", "kind": "guide", "program": "展示会の助成", "fiscal_year": "令和7年度",
            "sources": SOURCES, "facts": facts} | extra


@pytest.fixture
def corpus(tmp_path):
    """The bundled corpus, copied: what an operator runs, before anything is dropped into it."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


def settings_for(corpus: Path, tmp_path: Path, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dir=corpus, **kw)


# --- the loaders: each hostile file gets its own clear message -----------------------------------


@pytest.mark.parametrize("content", [b"", b" \n\n\t\n", "\ufeff  \n".encode("utf-8")])
def test_an_empty_markdown_file_says_empty_not_scanned_pdf(tmp_path, content):
    path = tmp_path / "empty.md"
    path.write_bytes(content)
    with pytest.raises(LoadError, match=r"empty.md: empty file") as err:
        load(path)
    assert "PDF" not in str(err.value)


def test_front_matter_without_a_body_says_so(tmp_path):
    path = guide(tmp_path / "only.md", "", title="見出しだけ")
    with pytest.raises(LoadError, match=r"only.md: no text found \(only front matter") as err:
        load(path)
    assert "PDF" not in str(err.value)


def test_a_pdf_without_text_is_the_one_that_needs_ocr(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()  # a page with nothing on it: what a scan without OCR looks like to a reader
    pdf.output(str(tmp_path / "scan.pdf"))
    with pytest.raises(LoadError, match=r"scan.pdf: no text found in the PDF \(a scanned PDF needs OCR"):
        load(tmp_path / "scan.pdf")


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_a_pdf_with_only_an_owner_password_is_opened_and_read(tmp_path, algorithm):
    plain, locked = tmp_path / "plain.pdf", tmp_path / "locked.pdf"
    make_pdf(plain, ["（事業継続へのサポート）", "防災備蓄の手引きでは、非常用電源を三日分備えることを勧めている。"])
    encrypt_pdf(plain, locked, owner_password="owner-secret", algorithm=algorithm)
    from pypdf import PdfReader

    assert PdfReader(locked).is_encrypted  # a real encrypted file, as official sites publish them
    doc = load(locked, "corpus/locked.pdf")
    assert [p.number for p in doc.pages] == [1]
    text = doc.pages[0].text
    assert "三日分" in text or "3" in text  # Japanese with the IPA font; the ASCII fallback otherwise
    assert chunk_document(doc)


def test_a_pdf_that_needs_a_user_password_is_named_with_why(tmp_path):
    plain, locked = tmp_path / "plain.pdf", tmp_path / "secret.pdf"
    make_pdf(plain, ["社外秘の資料です。"])
    encrypt_pdf(plain, locked, user_password="user-secret")
    with pytest.raises(LoadError, match=r"secret.pdf: the PDF needs a password to open \(a user password\)"):
        load(locked)


def test_truncated_and_random_pdfs_are_named(tmp_path):
    plain = tmp_path / "plain.pdf"
    make_pdf(plain, ["本文です。"])
    (tmp_path / "cut.pdf").write_bytes(plain.read_bytes()[:200])
    (tmp_path / "noise.pdf").write_bytes(bytes(range(256)) * 16)
    for name in ("cut.pdf", "noise.pdf"):
        with pytest.raises(LoadError, match=rf"{name}: not a readable PDF"):
            load(tmp_path / name)


def test_broken_front_matter_names_the_line(tmp_path):
    path = tmp_path / "broken.md"
    path.write_text("---\ntitle: [壊れた前書き\nkind: guide\n---\n# 案内\n\n本文。\n", encoding="utf-8")
    with pytest.raises(LoadError, match=r"broken.md: broken front matter \(YAML, line \d+ of the file\)"):
        load(path)


# --- who stands behind a document ---------------------------------------------------------------


def test_a_complete_guide_is_a_program(tmp_path):
    doc = load(guide(tmp_path / "tenji.md", "# 展示会の助成\n\n助成限度額は150万円です。\n", **program_front()), "corpus/tenji.md")
    assert doc.trust == "program" and doc.programs[0].name == "展示会の助成"
    chunk = chunk_document(doc)[0]
    assert chunk.program == "展示会の助成" and chunk.kind == "guide" and chunk.source_kind == "official"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sources": None}, "no `sources:`"),
        ({"program": None}, "`facts:` needs the guide's `program:`"),
        ({"sources": [{"url": "https://www.tokyo-kosha.or.jp/x"}]}, r"sources\[0\].kind: None must be official or secondary"),
        ({"sources": [{"url": "javascript:alert(1)", "kind": "official"}]}, r"sources\[0\].url: .* is not an http\(s\) address"),
        ({"sources": [{"url": "https://elsewhere.example.org/", "kind": "official"}]}, r"subsidy_max_limit.url: .* is not one of the guide's sources"),
        ({"sources": [{"url": SOURCES[0]["url"], "kind": "secondary"}]}, r"subsidy_max_limit: source official needs the url of an official source"),
        ({"fiscal_year": "None"}, r"fiscal_year: 'None' is not a year"),
        ({"fiscal_year": "年度不明"}, r"fiscal_year: '年度不明' is not a year"),
    ],
)
def test_a_guide_with_facts_that_falls_short_fails_by_name(tmp_path, change, message):
    front = {k: v for k, v in (program_front() | change).items() if v is not None}
    path = guide(tmp_path / "tenji.md", "# 展示会の助成\n\n助成限度額は150万円です。\n", **front)
    with pytest.raises(LoadError, match=rf"tenji.md: invalid .*{message}"):
        load(path)


@pytest.mark.parametrize(
    "front, why",
    [
        ({}, "no front matter"),
        ({"title": "【東京都公式】BCP助成", "kind": "guide", "program": BCP, "operator": "東京都", "direction": "④",
          "fiscal_year": "令和7年度"}, f"names the program 「{BCP}」 but has no `facts:` record and no `sources:`"),
        ({"title": "BCP助成", "kind": "guide", "program": BCP, "sources": SOURCES}, "has no `facts:` record"),
        ({"title": "メモ", "kind": "policy", "publisher": "東京都", "direction": "④"}, "names no `sources:`"),
    ],
)
def test_markdown_without_a_complete_record_is_an_ordinary_document_of_unknown_source(tmp_path, front, why):
    path = tmp_path / "drop.md"
    body = "# BCP助成\n\n## 概要\n\n非常用発電機の購入費用を助成します。\n"
    path.write_text(frontmatter.dumps(frontmatter.Post(body, **front)) if front else body, encoding="utf-8")
    doc = load(path, "corpus/drop.md")
    assert doc.trust == "unknown" and why in doc.trust_note and doc.programs == []
    for c in chunk_document(doc):
        assert c.kind == "document" and c.program is None and c.source_kind is None
        assert c.direction is None and c.measure is None and c.fiscal_year is None and c.aliases == ""


def test_a_policy_text_with_its_sidecar_is_of_known_source_and_without_is_not(tmp_path):
    assert load(POLICY, "corpus/policy/x.txt").trust == "sourced"
    bare = tmp_path / POLICY.name
    shutil.copy(POLICY, bare)
    doc = load(bare, "corpus/x.txt")
    assert doc.trust == "unknown" and {c.source_kind for c in chunk_document(doc)} == {None}
