"""Operators' Q&A as documents (*.faq.md, *.faq.json, *.faq.csv): each pair one passage, found by its
question as well as its answer, cited with its source; a broken export is named, the rest indexed."""

from __future__ import annotations

import json

import pytest

from bot.settings import Settings
from ingest.chunking import chunk_document
from ingest.loaders import LoadError, is_document, load

FRONT = {
    "title": "持続化補助金のよくある質問", "kind": "faq", "program": "小規模事業者持続化補助金",
    "operator": "日本商工会議所", "as_of": "2026-12-07",
    "sources": [{"url": "https://r6.jizokukahojokin.info/faq/", "kind": "official"}],
}
PAIRS = [
    {"question": "商工会議所の会員でなくても申請できますか。", "answer": "会員でなくても申請できます。事業支援計画書の交付を受けてください。",
     "source": "https://r6.jizokukahojokin.info/faq/", "date": "2025年"},
    {"question": "補助金はいつ支払われますか。", "answer": "事業が終わり、実績報告書を出して補助金額が確定した後に支払われます。",
     "source": "https://r6.jizokukahojokin.info/faq/", "date": ""},
]


def faq_md() -> str:
    import yaml

    body = "\n".join(f"## Q. {p['question']}\n{p['answer']}\n出典: {p['source']}\n" for p in PAIRS)
    return f"---\n{yaml.safe_dump(FRONT, allow_unicode=True)}---\n# {FRONT['title']}\n\n{body}"


@pytest.mark.parametrize("form", ["md", "json", "csv"])
def test_each_pair_is_one_passage_with_its_question_as_heading(tmp_path, form):
    if form == "md":
        path = tmp_path / "jizokuka.faq.md"
        path.write_text(faq_md(), encoding="utf-8")
    elif form == "json":
        path = tmp_path / "jizokuka.faq.json"
        path.write_text(json.dumps({**FRONT, "pairs": PAIRS}, ensure_ascii=False), encoding="utf-8")
    else:
        import yaml

        path = tmp_path / "jizokuka.faq.csv"
        rows = ["question,answer,source,date"] + [f"{p['question']},{p['answer']},{p['source']},{p['date']}" for p in PAIRS]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        (tmp_path / "jizokuka.faq.csv.meta.yaml").write_text(yaml.safe_dump(FRONT, allow_unicode=True), encoding="utf-8")
    assert is_document(path)
    doc = load(path, f"corpus/faq/{path.name}")
    assert doc.kind == "faq" and doc.trust == "sourced"
    chunks = chunk_document(doc)
    assert len(chunks) == 2
    first = chunks[0]
    assert "会員でなくても申請できます" in first.text and "商工会議所の会員でなくても申請できますか" in first.heading
    assert first.program == "小規模事業者持続化補助金" and first.kind == "faq" and first.source_kind == "official"


def test_a_broken_export_is_named_and_says_why(tmp_path):
    path = tmp_path / "bad.faq.json"
    path.write_text(json.dumps({"title": "x"}), encoding="utf-8")
    with pytest.raises(LoadError, match="bad.faq.json: not a Q&A export .*pairs"):
        load(path)
    csv_path = tmp_path / "bad.faq.csv"
    csv_path.write_text("q,a\n1,2\n", encoding="utf-8")
    with pytest.raises(LoadError, match="columns question and answer"):
        load(csv_path)


def test_a_qa_file_without_sources_is_refused_by_name(tmp_path):
    path = tmp_path / "nosrc.faq.md"
    path.write_text("---\ntitle: x\nkind: faq\n---\n# x\n\n## Q. 何？\nこれです。\n", encoding="utf-8")
    with pytest.raises(LoadError, match="invalid Q&A file: no `sources:`"):
        load(path)


def test_an_owners_question_meets_the_published_one(tmp_path, small_corpus):
    from bot.advisor import Advisor
    from bot.store import ConversationStore
    from ingest.pipeline import ingest

    (small_corpus / "faq").mkdir()
    (small_corpus / "faq" / "jizokuka.faq.md").write_text(faq_md(), encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=small_corpus, embedding_model="none")
    assert ingest(settings).ok
    advisor = Advisor(settings, store=ConversationStore("sqlite://"))
    results = advisor.search("持続化補助金って商工会議所の会員じゃないけど申請できる？", 3)
    assert results and results[0].chunk.kind == "faq" and "会員でなくても申請できます" in results[0].chunk.text


def test_the_operators_published_answer_answers_the_same_question(advisor):
    """The documents state nothing on it; the 公社's Q&A does: quoted, with the question it answers, cited."""
    answer = advisor.ask("公社の助成金と融資って何が違うの？")  # 違う meets 違い
    first = answer.answer.split("\n")[0]
    assert "よくある質問" in first and "返済" in first and answer.citations[0].result.chunk.kind == "faq"


def test_a_published_answer_to_another_question_is_not_taken_for_it(advisor):
    """Sharing 申し込める with 「いつでも申し込めますか？」 does not make a tax-arrears question that one."""
    answer = advisor.ask("恥ずかしい話、法人事業税を少し滞納してまして…。この状態でBCP実践促進助成金に申し込めますか？")
    assert "よくある質問" not in answer.answer
