"""The command line as a user runs it, through typer's CliRunner, against a real index."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app


@pytest.fixture
def cli(index_settings, monkeypatch):
    monkeypatch.setenv("SMEBOT_DATA_DIR", str(index_settings.data_dir))
    runner = CliRunner()

    def run(*args, input=None):
        from bot.settings import get_settings

        get_settings.cache_clear()
        return runner.invoke(app, list(args), input=input)

    return run


def test_search_json_has_the_contract_shape(cli):
    result = cli("search", "ネットで自社の商品を売りたいのですが、支援はありますか", "--json", "-k", "3")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"].startswith("ネットで")
    assert len(data["results"]) == 3
    assert {"text", "source", "title", "section", "page", "score"} <= set(data["results"][0])


def test_ask_json_has_the_contract_shape(cli):
    result = cli("ask", "BCPを作りたいのですが、手伝ってもらえますか", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["refused"] is False and data["mode"] == "extractive"
    assert data["citations"] and data["citations"][0]["n"] == 1
    assert data["conversation_id"]


def test_ask_prints_answer_and_sources(cli):
    result = cli("ask", "跡継ぎがいなくて困っています")
    assert result.exit_code == 0
    assert "出典:" in result.stdout and "[1]" in result.stdout


def test_search_batch_answers_each_line_in_order(cli):
    result = cli("search", "--batch", input="展示会に出たい\n\n跡継ぎがいない\n")
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [x["query"] for x in lines] == ["展示会に出たい", "跡継ぎがいない"]
    assert all(x["results"] for x in lines)


def test_ask_batch_keeps_going_past_bad_lines(cli):
    lines = [
        json.dumps({"message": "サイバー攻撃が心配", "conversation_id": None}, ensure_ascii=False),
        "this is not json",
        json.dumps({"message": ""}),
        json.dumps({"message": "明日の天気は？", "conversation_id": "c9"}, ensure_ascii=False),
        json.dumps({"message": "明日の天気は？"}, ensure_ascii=False),
    ]
    result = cli("ask", "--batch", input="\n".join(lines) + "\n")
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["refused"] is False and out[0]["citations"]
    assert "not JSON" in out[1]["error"]
    assert "empty" in out[2]["error"]
    assert "no conversation 'c9'" in out[3]["error"]  # ids are issued, never named by the caller
    assert out[4]["refused"] is True and out[4]["conversation_id"] not in (None, "c9")


def test_empty_and_huge_questions_exit_with_a_message(cli):
    empty = cli("ask", "")
    assert empty.exit_code == 2 and "empty" in empty.output
    huge = cli("ask", "助成" * 25_000)
    assert huge.exit_code == 2 and "limit" in huge.output


def test_ingest_reports_a_broken_file_and_exits_1(tmp_path, small_corpus, monkeypatch):
    (small_corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not a pdf")
    monkeypatch.setenv("SMEBOT_DATA_DIR", str(tmp_path / "data"))
    from bot.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["ingest", str(small_corpus)])
    assert result.exit_code == 1
    assert "broken.pdf" in result.output and "FAILED" in result.output
    assert "indexed:" in result.output
    get_settings.cache_clear()
    again = CliRunner().invoke(app, ["search", "専門家が個別に訪問", "--json"])
    assert json.loads(again.stdout)["results"]


def test_chat_holds_a_conversation_past_empty_lines_until_exit(cli):
    result = cli("chat", input="展示会に出たい\n\n跡継ぎがいない\nexit\nこの行は読まれません\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("出典:") == 2  # the empty line did not end it; exit did
    assert "あなた>" in result.stdout and "ご利用ありがとうございました" in result.stdout


def test_chat_in_english_has_english_labels(cli):
    result = cli("chat", input="Is there support for exhibiting at trade shows?\nexit\n")
    assert result.exit_code == 0, result.output
    answered = result.stdout.split("Sources:", 1)
    assert len(answered) == 2 and "出典:" not in result.stdout
    assert "You>" in answered[1]  # the prompt after an English answer
    assert result.stdout.rstrip().endswith("Thank you for using the advisor.")
    english = cli("chat", "--english", input="exit\n")
    assert "You>" in english.stdout and "あなた>" not in english.stdout


def test_ask_reads_standard_input_prints_the_id_and_continues_with_c(cli):
    first = cli("ask", input="BCPの助成金の上限は？\n")
    assert first.exit_code == 0, first.output
    assert "1,500万円" in first.stdout
    lines = first.stdout.strip().splitlines()
    assert lines[-2].startswith("会話ID: ")
    conversation = lines[-2].split()[-1]
    assert lines[-1].startswith('続けて質問するには: smebot ask -c "質問"') and f"--cid {conversation}" in lines[-1]
    follow = cli("ask", "-c", "申請の前に必要なことは？")  # -c: the last conversation
    assert follow.exit_code == 0, follow.output
    assert "BCP実践促進助成金" in follow.stdout.splitlines()[0]  # the follow-up kept the program in hand
    assert f"会話ID: {conversation}" in follow.stdout
    other = cli("ask", "跡継ぎがいない", "--json")
    by_id = cli("ask", "--cid", conversation, "--json", "ほかには？")
    assert json.loads(by_id.stdout)["conversation_id"] == conversation
    assert json.loads(by_id.stdout)["turn"] == 2 and json.loads(other.stdout)["conversation_id"] != conversation
    both = cli("ask", "-c", "--cid", conversation, "ほかには？")
    assert both.exit_code == 2 and "one of" in both.output


def test_c_without_an_earlier_conversation_says_so(cli, index_settings):
    (index_settings.data_dir / "last_conversation").unlink(missing_ok=True)
    result = cli("ask", "-c", "ほかには？")
    assert result.exit_code == 2 and "no earlier conversation" in result.output


def test_logs_lists_recent_conversations(cli):
    asked = json.loads(cli("ask", "サイバー攻撃が心配です", "--json").stdout)
    cli("ask", "--cid", asked["conversation_id"], "ほかには？", "--json")
    logs = cli("logs", "-n", "5")
    assert logs.exit_code == 0, logs.output
    line = next(x for x in logs.stdout.splitlines() if x.startswith(asked["conversation_id"]))
    assert "2 turn(s)" in line and "サイバー攻撃が心配です" in line
    rows = [json.loads(x) for x in cli("logs", "--json").stdout.splitlines()]
    assert {"conversation_id", "created_at", "updated_at", "turns", "first_question", "channel"} <= set(rows[0])


def test_help_shows_boolean_flags_as_flags(cli):
    text = cli("ask", "-h").stdout
    assert "--json" in text and "<bool>" not in text
    assert "--continue" in text and "--cid" in text and "--conversation" in text


def test_version_and_short_help(cli):
    from importlib import metadata

    assert cli("--version").stdout.strip() == f"smebot {metadata.version('smebot')}"
    short = cli("-h")
    assert short.exit_code == 0 and "ask" in short.stdout


def test_chat_with_a_model_that_falls_back_shows_the_answer_once(cli, monkeypatch):
    """A model reply the checks refuse: the terminal shows the plan's answer once (streamed when final),
    then its sources, never the answer twice."""
    from evals.llm_standin import LLMStandIn

    with LLMStandIn(default="invented_figure") as llm:
        monkeypatch.setenv("SMEBOT_LLM", "openai:standin")
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "dummy")
        result = cli("chat", input="BCP実践促進助成金の上限額はいくら？\nexit\n")
    assert result.exit_code == 0, result.output
    assert llm.requests  # the model was asked
    assert result.stdout.count("1,500万円") >= 1 and result.stdout.count("言語モデルを使わずに") == 1
    assert result.stdout.count("出典:") == 1


def test_purge_days_0_purges_every_conversation_and_the_setting_0_keeps_them(cli, tmp_path, monkeypatch):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from bot.store import ConversationStore, Turn, conversations

    url = f"sqlite:///{tmp_path / 'purge.db'}"
    monkeypatch.setenv("SMEBOT_DATABASE_URL", url)
    store = ConversationStore(url)

    def fill() -> list[str]:
        ids = []
        for question in ("展示会に出たい", "BCPを作りたい"):
            conv = store.create()
            store.add_turn(conv, Turn(None, question, question, {"answer": "a", "turn": None}, False))
            ids.append(conv.id)
        with store._writer.begin() as conn:  # one untouched for 10 days, one just now
            conn.execute(update(conversations).where(conversations.c.id == ids[0])
                         .values(updated_at=datetime.now(timezone.utc) - timedelta(days=10)))
        return ids

    # an explicit --days 0: every conversation, whatever the setting
    monkeypatch.setenv("SMEBOT_RETENTION_DAYS", "0")
    old, recent = fill()
    every = cli("purge", "--days", "0")
    assert every.exit_code == 0, every.output
    assert "purged 2 conversation(s)" in every.stdout and "--days 0: every conversation" in every.stdout
    assert store.get(old) is None and store.get(recent) is None
    # the retention setting 0 keeps everything, and says so
    old, recent = fill()
    kept = cli("purge")
    assert kept.exit_code == 0, kept.output
    assert "SMEBOT_RETENTION_DAYS is 0" in kept.output and "nothing purged" in kept.output
    assert store.get(old) is not None and store.get(recent) is not None
    # --days N: the conversations untouched for more than N days, whatever the setting
    some = cli("purge", "--days", "7")
    assert some.exit_code == 0 and "purged 1 conversation(s) untouched for more than 7 day(s) (--days 7)" in some.stdout
    assert store.get(old) is None and store.get(recent) is not None
    # without --days, the setting applies and the message names it
    monkeypatch.setenv("SMEBOT_RETENTION_DAYS", "7")
    old, recent = fill()
    by_setting = cli("purge")
    assert "purged 1 conversation(s) untouched for more than 7 day(s) (SMEBOT_RETENTION_DAYS)" in by_setting.stdout
    assert store.get(old) is None and store.get(recent) is not None


def test_ingest_lists_the_programs_by_fiscal_year_and_names_the_older_ones(tmp_path, monkeypatch):
    import shutil

    from bot.core.fiscal import current_fiscal_year, fiscal_year_of

    corpus = tmp_path / "corpus"
    shutil.copytree(Path(__file__).resolve().parents[1] / "corpus", corpus)
    monkeypatch.setenv("SMEBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMEBOT_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("SMEBOT_EMBEDDING_MODEL", "none")
    from bot.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["ingest"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "programs by fiscal year: " in result.output and "令和7年度 " in result.output
    if fiscal_year_of("令和7年度") < current_fiscal_year():
        older = next(line for line in result.output.splitlines() if line.startswith("older than this fiscal year"))
        assert "BCP実践促進助成金" in older
    assert "now have a guide and count as the documents' own" in result.output
