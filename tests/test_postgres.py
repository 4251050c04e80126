"""The conversation store on a real PostgreSQL 15 server, started once on loopback (conftest.postgres_url)."""

from bot.settings import Settings
from bot.store import ConversationStore, Turn


def test_database_url_selects_postgresql(postgres_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    assert Settings().conversation_db.startswith("postgresql+psycopg://")


def test_turns_round_trip_on_postgresql(postgres_url):
    url = Settings(database_url=postgres_url).conversation_db
    store = ConversationStore(url)
    conv = store.create()
    conv.profile["industry"] = "印刷"
    conv.state["last"] = {"query": "展示会に出たい", "direction": "②"}
    store.add_turn(conv, Turn(0, "展示会に出たい", "展示会に出たい", {"answer": "はい。[1]", "citations": []}, False))
    again = ConversationStore(url).get(conv.id)  # a second process, migrations already applied
    assert again.profile == {"industry": "印刷"} and again.state["last"]["direction"] == "②"
    assert again.turns[0].question == "展示会に出たい" and again.turns[0].answer["answer"] == "はい。[1]"


def test_the_advisor_converses_on_postgresql(postgres_url, index_settings):
    from bot.advisor import Advisor

    advisor = Advisor(index_settings, store=ConversationStore(Settings(database_url=postgres_url).conversation_db))
    first = advisor.ask("元請けに代金を減らされた")
    second = advisor.ask("申し込みはどこで？", first.conversation_id)
    assert second.turn == 1 and "下請" in " ".join(c.result.chunk.text for c in second.citations)
