"""Self-diagnosis check sheets, each run end to end through the core, the command line and the API."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bot.advisor import Advisor
from bot.checksheet import load_sheets
from bot.cli import app
from bot.store import ConversationStore
from bot.web import create_app

SHEETS = load_sheets(Path(__file__).resolve().parents[1] / "corpus" / "checksheets")


@pytest.fixture
def advisor(index_settings, tmp_path):
    return Advisor(index_settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))


def test_the_four_sheets_are_well_formed():
    assert set(SHEETS) == {"bcp", "cyber", "succession", "ict"}
    for sheet in SHEETS.values():
        assert 8 <= len(sheet.questions) <= 15
        covered = sorted(t for b in sheet.bands for t in range(b.min, b.max + 1))
        assert covered == list(range(0, sheet.max_score + 1))  # every total falls in exactly one band


@pytest.mark.parametrize("name", sorted(SHEETS))
@pytest.mark.parametrize("pick", ["first", "last"])
def test_each_sheet_runs_end_to_end(advisor, name, pick):
    sheet = SHEETS[name]
    answer = advisor.start_check(name)
    assert answer.choices and sheet.questions[0].text in answer.answer
    for q in sheet.questions:
        n = 1 if pick == "first" else len(q.choices)
        answer = advisor.ask(str(n), answer.conversation_id)
    total = sum((q.choices[0] if pick == "first" else q.choices[-1]).score for q in sheet.questions)
    band = sheet.band_for(total)
    assert f"{total}点／{sheet.max_score}点：{band.name}" in answer.answer
    assert band.advice[0] in answer.answer and answer.citations  # advice cites measures and guides
    conv = advisor.conversation(answer.conversation_id)
    assert conv.state["diagnosis"]["band"] == band.name  # saved with the conversation
    after = advisor.ask("何から始めればいい？", answer.conversation_id)
    assert band.advice[0] in after.answer


def test_an_unsure_owner_is_offered_the_sheet(advisor):
    offer = advisor.ask("うちのBCPって大丈夫かな？")
    assert "BCP" in offer.answer and [c["n"] for c in offer.choices] == [1, 2]
    first = advisor.ask("はい", offer.conversation_id)
    assert SHEETS["bcp"].questions[0].text in first.answer
    stop = advisor.ask("やめる", offer.conversation_id)
    assert "中止" in stop.answer


def test_declining_the_offer_answers_the_question(advisor):
    offer = advisor.ask("うちのセキュリティ対策って十分？")
    answer = advisor.ask("いいえ", offer.conversation_id)
    assert answer.citations and "サイバー" in answer.answer


def test_an_answer_that_is_not_a_choice_repeats_the_question(advisor):
    start = advisor.start_check("ict")
    again = advisor.ask("よくわからない", start.conversation_id)
    assert "番号でお答えください" in again.answer and again.choices


def test_diagnose_command(index_settings, monkeypatch):
    from bot.settings import get_settings

    monkeypatch.setenv("SMEBOT_DATA_DIR", str(index_settings.data_dir))
    get_settings.cache_clear()
    sheet = SHEETS["succession"]
    replies = "\n".join(["1"] * len(sheet.questions)) + "\n"
    result = CliRunner().invoke(app, ["diagnose", "succession"], input=replies)
    assert result.exit_code == 0 and "の結果】" in result.stdout
    listing = CliRunner().invoke(app, ["diagnose"])
    assert "bcp" in listing.stdout and "succession" in listing.stdout


def test_diagnose_through_the_api(advisor, index_settings):
    with TestClient(create_app(index_settings, advisor=advisor)) as client:
        names = [s["name"] for s in client.get("/api/checksheets").json()["checksheets"]]
        assert "cyber" in names
        answer = client.post("/api/diagnose", json={"name": "cyber"}).json()
        for _ in SHEETS["cyber"].questions:
            answer = client.post("/api/chat", json={"message": "2", "conversation_id": answer["conversation_id"]}).json()
        assert "の結果】" in answer["answer"]
        assert client.post("/api/diagnose", json={"name": "nope"}).status_code == 404
