"""What owners type stays theirs: e-mail addresses and phone numbers masked before they are stored,
conversations past their retention purged, one conversation deleted by whoever holds its id. On SQLite
and on a real PostgreSQL 15."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from bot.advisor import Advisor
from bot.privacy import contacts, mask
from bot.store import SLACK, ConversationStore, conversations, feedback, migrations_table, now, turns
from bot.web import create_app

EMAIL, PHONE = "taro.yamada@example.co.jp", "03-1234-5678"
QUESTION = f"展示会に出たいのですが、補助はありますか。連絡先は{EMAIL}、電話{PHONE}、携帯は０９０（１２３４）５６７８です"


@pytest.mark.parametrize(
    "typed, masked",
    [
        (f"連絡は{EMAIL}まで", "連絡は［メール］まで"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍにください", "［メール］にください"),
        ("電話は03-1234-5678です", "電話は［電話］です"),
        ("携帯 090 1234 5678 / 0312345678", "携帯 ［電話］ / ［電話］"),
        ("０３ー１２３４ー５６７８", "［電話］"),
        ("(03)1234-5678、フリーダイヤル0120-123-456", "［電話］、フリーダイヤル［電話］"),
        ("+81 3-1234-5678", "［電話］"),
        # not contacts: years, dates, amounts, postal codes, counts
        ("令和7年度 2025-04-01 上限1,500万円 〒100-0001 従業員10人 資本金30000000円 2/3以内",
         "令和7年度 2025-04-01 上限1,500万円 〒100-0001 従業員10人 資本金30000000円 2/3以内"),
    ],
)
def test_contacts_are_masked_and_nothing_else(typed, masked):
    assert mask(typed) == masked
    assert bool(contacts(typed)) == (typed != masked)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('privacy') / 'c.db'}"
        return
    import psycopg

    server = request.getfixturevalue("postgres_url")
    name = f"smebot_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = server.rsplit("/", 1)[0] + f"/{name}"
    from bot.settings import Settings

    yield Settings(database_url=url).conversation_db
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def owner(index_settings, store_url):
    """An Advisor over the store, and a web client of it."""
    advisor = Advisor(index_settings, store=ConversationStore(store_url))
    with TestClient(create_app(index_settings, advisor=advisor)) as client:
        yield advisor, client


def stored(advisor: Advisor, conversation_id: str) -> dict:
    with advisor.store.engine.connect() as conn:
        conv = conn.execute(select(conversations).where(conversations.c.id == conversation_id)).one()
        rows = conn.execute(select(turns).where(turns.c.conversation_id == conversation_id).order_by(turns.c.n)).all()
        notes = conn.execute(select(feedback.c.comment).where(feedback.c.conversation_id == conversation_id)).scalars().all()
    return {"state": conv.state, "profile": conv.profile, "turns": rows, "feedback": notes}


def test_contacts_typed_are_answered_from_but_never_stored(owner):
    advisor, client = owner
    r = client.post("/api/chat", json={"message": QUESTION})
    answer = r.json()
    assert r.status_code == 200 and not answer["refused"] and "展示会" in answer["answer"]  # answered from the text
    client.post("/api/feedback", json={"conversation_id": answer["conversation_id"], "turn": 0, "rating": "up",
                                       "comment": f"折り返しは {PHONE} へ"})
    follow = client.post("/api/chat", json={"message": "申請の前に必要なことは？", "conversation_id": answer["conversation_id"]})
    assert follow.status_code == 200

    kept = stored(advisor, answer["conversation_id"])
    everything = json.dumps([list(map(str, t)) for t in kept["turns"]], ensure_ascii=False)
    everything += kept["state"] + kept["profile"] + "".join(kept["feedback"])
    for typed in (EMAIL, PHONE, "０９０（１２３４）５６７８", "taro.yamada"):
        assert typed not in everything
    first = kept["turns"][0]
    assert "［メール］" in first.question and first.question.count("［電話］") == 2
    assert json.loads(first.answer)["resolved_question"].count("［電話］") == 2
    assert kept["feedback"] == ["折り返しは ［電話］ へ"]
    # what the API shows of the conversation is what was kept
    shown = client.get(f"/api/conversations/{answer['conversation_id']}").json()
    assert EMAIL not in json.dumps(shown, ensure_ascii=False) and "［メール］" in shown["turns"][0]["question"]


def test_a_desks_number_in_an_answer_is_kept(owner):
    advisor, client = owner
    answer = client.post("/api/chat", json={"message": "カスハラの相談窓口の電話番号は？"}).json()
    desk = contacts(answer["answer"])
    assert desk, answer["answer"]  # the advisor gives the desk's number…
    kept = json.loads(stored(advisor, answer["conversation_id"])["turns"][0].answer)
    assert all(number in kept["answer"] for number in desk)  # …and keeps it: the owner did not type it


def test_the_holder_of_an_id_can_delete_the_conversation(owner):
    advisor, client = owner
    mine = client.post("/api/chat", json={"message": "展示会に出たい"}).json()["conversation_id"]
    other = client.post("/api/chat", json={"message": "BCPを作りたい"}).json()["conversation_id"]
    client.post("/api/feedback", json={"conversation_id": mine, "turn": 0, "rating": "down"})
    r = client.delete(f"/api/conversations/{mine}")
    assert r.status_code == 204 and r.content == b""
    assert client.get(f"/api/conversations/{mine}").status_code == 404
    assert client.delete(f"/api/conversations/{mine}").status_code == 404
    assert client.post("/api/chat", json={"message": "ほかには？", "conversation_id": mine}).status_code == 404
    assert client.get(f"/api/conversations/{other}").status_code == 200
    with advisor.store.engine.connect() as conn:
        assert conn.execute(select(turns.c.id).where(turns.c.conversation_id == mine)).first() is None
        assert conn.execute(select(feedback.c.id).where(feedback.c.conversation_id == mine)).first() is None
    # a Slack thread is not the web's to delete
    advisor.ask("展示会に出たい", "slack:C1:1700000000.000100", channel=SLACK)
    assert client.delete("/api/conversations/slack:C1:1700000000.000100").status_code == 404
    assert advisor.conversation("slack:C1:1700000000.000100", SLACK) is not None


def test_conversations_past_their_retention_are_purged(owner, index_settings, store_url, monkeypatch):
    advisor, client = owner
    old = client.post("/api/chat", json={"message": "展示会に出たい"}).json()["conversation_id"]
    client.post("/api/feedback", json={"conversation_id": old, "turn": 0, "rating": "up"})
    recent = client.post("/api/chat", json={"message": "BCPを作りたい"}).json()["conversation_id"]
    with advisor.store._writer.begin() as conn:
        conn.execute(update(conversations).where(conversations.c.id == old).values(updated_at=now() - timedelta(days=91)))
    assert advisor.store.purge(timedelta(days=90)) >= 1
    assert advisor.conversation(old) is None and advisor.conversation(recent) is not None
    with advisor.store.engine.connect() as conn:
        assert conn.execute(select(turns.c.id).where(turns.c.conversation_id == old)).first() is None
        assert conn.execute(select(feedback.c.id).where(feedback.c.conversation_id == old)).first() is None

    # `smebot purge` does the same from the command line, with the retention setting or --days
    from bot.cli import app

    with advisor.store._writer.begin() as conn:
        conn.execute(update(conversations).where(conversations.c.id == recent).values(updated_at=now() - timedelta(days=10)))
    monkeypatch.setenv("SMEBOT_DATABASE_URL", store_url)
    monkeypatch.setenv("SMEBOT_DATA_DIR", str(index_settings.data_dir))
    result = CliRunner().invoke(app, ["purge"])
    assert result.exit_code == 0 and "purged 0 conversation(s)" in result.stdout and "90 day(s)" in result.stdout
    result = CliRunner().invoke(app, ["purge", "--days", "7"])
    assert result.exit_code == 0 and "purged" in result.stdout
    assert advisor.conversation(recent) is None


def test_contacts_stored_before_are_masked_by_the_migration(store_url):
    store = ConversationStore(store_url)
    conv_id = f"old{uuid.uuid4().hex}"
    answer = {"answer": "展示会の補助があります", "resolved_question": f"メールは{EMAIL}です", "turn": 0}
    with store._writer.begin() as conn:  # as an older version wrote it: in clear
        conn.execute(conversations.insert().values(id=conv_id, created_at=now(), updated_at=now(), profile="{}",
                                                   state=json.dumps({"last": {"query": f"メールは{EMAIL}です"}}),
                                                   channel="web", next_turn=1))
        conn.execute(turns.insert().values(conversation_id=conv_id, n=0, question=f"メールは{EMAIL}です",
                                           resolved=f"メールは{EMAIL}です", answer=json.dumps(answer, ensure_ascii=False),
                                           refused=False, created_at=now()))
        conn.execute(feedback.insert().values(conversation_id=conv_id, turn=0, rating="up", comment=f"{PHONE}まで",
                                              created_at=now()))
        conn.execute(migrations_table.delete().where(migrations_table.c.name == "m004_mask_contacts"))
    assert store.migrate() == ["m004_mask_contacts"]
    conv = store.get(conv_id)
    assert conv.turns[0].question == "メールは［メール］です"
    assert conv.turns[0].answer["resolved_question"] == "メールは［メール］です"
    assert conv.turns[0].answer["answer"] == "展示会の補助があります"
    assert conv.state["last"]["query"] == "メールは［メール］です"
    assert store.feedback_for(conv_id)[0]["comment"] == "［電話］まで"
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM migrations WHERE name = 'm004_mask_contacts'")).scalar_one() == 1
