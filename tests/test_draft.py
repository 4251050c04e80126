import json

import pytest
from typer.testing import CliRunner

from bot.advisor import BadRequest
from bot.cli import app
from bot.draft import split_questions

INQUIRY = """東京都中小企業支援ご担当者様

いつもお世話になっております。
板橋区で従業員12名の金属加工業を営んでおります。

来年の展示会に出展したいのですが、出展費用の補助はありますか？
また、最近取引先を装った怪しいメールが届くようになり、セキュリティ対策について相談できる窓口があれば教えてください。

よろしくお願いいたします。

株式会社山田精工
山田 太郎
TEL 03-0000-0000
"""


def test_questions_are_found_without_greetings_or_signature():
    questions = split_questions(INQUIRY)
    assert [q for q, _ in questions] == [
        "来年の展示会に出展したいのですが、出展費用の補助はありますか?",
        "最近取引先を装った怪しいメールが届くようになり、セキュリティ対策について相談できる窓口があれば教えてください。",
    ]
    assert questions[0][1].startswith("板橋区で従業員12名の金属加工業")  # its context goes into the search


def test_draft_answers_each_question_with_citations_and_checks(advisor):
    draft = advisor.draft(INQUIRY)
    assert draft.draft.startswith("【返信案（下書き）】")
    assert "山田様" in draft.draft
    assert "1. 「来年の展示会" in draft.draft and "2. 「最近取引先を装った" in draft.draft
    assert "展示会等への出展に係る助成" in draft.draft
    assert "サイバーセキュリティ" in draft.draft
    numbers = [c.n for c in draft.citations]
    assert numbers == list(range(1, len(numbers) + 1))  # numbered across the whole reply
    assert all(f"[{n}]" in draft.draft for n in numbers)
    assert any("募集要項" in c for c in draft.checks) and len(draft.checks) >= 4
    # a program's passage is sourced to its official page, which the owner can open; never a file path of ours
    sources = draft.draft.split("出典：", 1)[1]
    linked = [c for c in draft.citations if c.url]
    assert linked and all(c.url.startswith(("https://", "http://")) and c.url in sources for c in linked)
    assert "corpus/" not in draft.draft


def test_a_question_the_corpus_cannot_answer_is_flagged_for_staff(advisor):
    draft = advisor.draft("来月の新宿の天気を教えてください。")
    assert "資料では確認できませんでした" in draft.draft
    assert any("資料に該当がありません" in c for c in draft.checks)


def test_empty_inquiry_is_refused(advisor):
    with pytest.raises(BadRequest):
        advisor.draft("  \n ")


def test_draft_command_reads_a_file_and_prints_checks(index_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("SMEBOT_DATA_DIR", str(index_settings.data_dir))
    from bot.settings import get_settings

    get_settings.cache_clear()
    mail = tmp_path / "mail.txt"
    mail.write_text(INQUIRY, encoding="utf-8")
    result = CliRunner().invoke(app, ["draft", str(mail)])
    assert result.exit_code == 0 and "送信前の確認事項" in result.stdout
    as_json = CliRunner().invoke(app, ["draft", "--json"], input=INQUIRY)
    data = json.loads(as_json.stdout)
    assert {"draft", "citations", "checks"} <= set(data)
