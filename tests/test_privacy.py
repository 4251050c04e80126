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
from bot.privacy import contacts, mask, mask_known
from bot.store import SLACK, ConversationStore, conversations, feedback, migrations_table, now, turns
from bot.web import create_app

EMAIL, PHONE = "taro.yamada@example.co.jp", "03-1234-5678"
QUESTION = f"展示会に出たいのですが、補助はありますか。連絡先は{EMAIL}、電話{PHONE}、携帯は０９０（１２３４）５６７８です"


# Each row: what an owner types, and what the store keeps of it (a row whose two sides are equal says
# that nothing in it may be masked). Numbers with a check digit are real-form: 123456789018 and
# 291417776316 pass the My Number check, 7000012050002 is the 国税庁's own corporate number, the cards
# are the networks' published test numbers.
TABLE = [
    # e-mail addresses
    (f"連絡は{EMAIL}まで", "連絡は［メール］まで"),
    ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍにください", "［メール］にください"),
    ("hanako＠example.co.jp へ", "［メール］ へ"),  # full-width ＠
    ("admin@localhost", "［メール］"),  # no dot in the domain
    ("postgres@127.0.0.1", "［メール］"),
    ("連絡はsaburo@例え.jpまで", "連絡は［メール］まで"),  # IDN domain
    ("太郎@example.jp", "［メール］"),  # non-ASCII local part
    ("連絡は太郎@example.jpへ", "連絡は［メール］へ"),
    ("メールは山田＠例え．ｊｐです", "メールは［メール］です"),
    # phones, as before
    ("電話は03-1234-5678です", "電話は［電話］です"),
    ("携帯 090 1234 5678 / 0312345678", "携帯 ［電話］ / ［電話］"),
    ("０３ー１２３４ー５６７８", "［電話］"),
    ("(03)1234-5678、フリーダイヤル0120-123-456", "［電話］、フリーダイヤル［電話］"),
    ("+81 3-1234-5678", "［電話］"),
    ("+81 90-1234-5678（携帯）", "［電話］（携帯）"),  # 12 digits after +: a phone, never a My Number
    ("窓口(03-1234-5678)まで", "窓口(［電話］)まで"),
    # phones, new forms: dots, slashes, full-width, kanji numerals
    ("03.5555.6666にお願いします", "［電話］にお願いします"),
    ("03/7777/8888", "［電話］"),
    ("０３／７７７７／８８８８", "［電話］"),
    ("０３．５５５５．６６６６", "［電話］"),
    ("〇三の五五五五の六六六六", "［電話］"),
    ("○三－一二三四－五六七八まで", "［電話］まで"),
    ("携帯は零九〇 一二三四 五六七八", "携帯は［電話］"),
    ("〇一二〇の一二三の四五六", "［電話］"),
    ("〒100-0001 2025-04-01 03-1234-5678", "〒100-0001 2025-04-01 ［電話］"),  # a phone after a date
    # My Number (個人番号): by its check digit, or written after マイナンバー/個人番号
    ("マイナンバーは123456789018です", "マイナンバーは［個人番号］です"),
    ("番号 1234 5678 9018 を書きました", "番号 ［個人番号］ を書きました"),
    ("1234-5678-9018", "［個人番号］"),
    ("１２３４５６７８９０１８", "［個人番号］"),
    ("２９１４　１７７７　６３１６", "［個人番号］"),
    ("個人番号：1234-5678-9012", "個人番号：［個人番号］"),  # check digit fails, but it says what it is
    ("マイナンバー 123456789012 を控えて", "マイナンバー ［個人番号］ を控えて"),
    ("電話0312345678 1234 5678 9018", "電話［電話］ ［個人番号］"),  # two items in one run of numbers
    # corporate numbers (法人番号), and the invoice registration number T + 13 digits
    ("法人番号 7000012050002", "法人番号 ［法人番号］"),
    ("登録番号はT7000012050002です", "登録番号はT［法人番号］です"),
    # card numbers (Luhn)
    ("カード 4111 1111 1111 1111 で払います", "カード ［カード番号］ で払います"),
    ("4111-1111-1111-1111 12/28", "［カード番号］ 12/28"),
    ("アメックス 3782 822463 10005", "アメックス ［カード番号］"),
    ("マスター5555-5555-5555-4444、ダイナース 36000000000008", "マスター［カード番号］、ダイナース ［カード番号］"),
    ("３５３０１１１３３３３０００００", "［カード番号］"),
    # not personal data: years, dates, amounts, postal codes, counts, decimals, codes
    ("令和7年度 2025-04-01 上限1,500万円 〒100-0001 従業員10人 資本金30000000円 2/3以内",
     "令和7年度 2025-04-01 上限1,500万円 〒100-0001 従業員10人 資本金30000000円 2/3以内"),
    ("2026年4月1日 2026/04/01 2026.4.1 二〇二六年四月一日", "2026年4月1日 2026/04/01 2026.4.1 二〇二六年四月一日"),
    ("円周率3.14159、利率0.12345678901", "円周率3.14159、利率0.12345678901"),  # a decimal is no phone
    ("受注番号 123456789012", "受注番号 123456789012"),  # 12 digits, check digit fails
    ("総額100000000005円", "総額100000000005円"),  # passes the My Number check, but is an amount
    ("7000012050003", "7000012050003"),  # 13 digits, neither check passes
    ("4111 1111 1111 1112", "4111 1111 1111 1112"),  # fails Luhn
    ("1000 2000 3000 4000", "1000 2000 3000 4000"),  # passes Luhn, but no card starts with 1
    ("りんご＠100円、単価@500円、会議@本社で、@taro さん、Python 3.12",
     "りんご＠100円、単価@500円、会議@本社で、@taro さん、Python 3.12"),
    ("一二三さん 第一二三四号 〇〇株式会社", "一二三さん 第一二三四号 〇〇株式会社"),
    # in links and names: a time stamp that passes Luhn, a date-time, an id starting 00 (the old rules
    # took the last two for phones), a version
    ("https://web.archive.org/web/20230422053404/ https://megalodon.jp/ref/2025-0423-1407-17/ "
     "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000120692.html npm pack axe-core@4.14.1",
     "https://web.archive.org/web/20230422053404/ https://megalodon.jp/ref/2025-0423-1407-17/ "
     "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000120692.html npm pack axe-core@4.14.1"),
]


@pytest.mark.parametrize("typed, masked", TABLE)
def test_contacts_are_masked_and_nothing_else(typed, masked):
    assert mask(typed) == masked
    assert bool(contacts(typed)) == (typed != masked)
    # what contacts() finds is all that mask() masks, each with the right mask
    assert mask_known(typed, contacts(typed)) == masked
    # masking twice changes nothing
    assert mask(masked) == masked and contacts(masked) == []


def test_only_what_the_owner_typed_is_masked_in_the_answer():
    typed = "マイナンバーは123456789012、カードは4111 1111 1111 1111、法人番号7000012050002、電話〇三の五五五五の六六六六"
    answer = {
        "answer": "123456789012 と 4111 1111 1111 1111 は書かないでください。法人7000012050002。"
                  "〇三の五五五五の六六六六 ではなく 0570-064-008 へ",
        "sources": [{"title": "よろず支援拠点 03-5555-0000"}],
    }
    kept = mask_known(answer, contacts(typed))
    assert kept["answer"] == ("［個人番号］ と ［カード番号］ は書かないでください。法人［法人番号］。"
                              "［電話］ ではなく 0570-064-008 へ")
    assert kept["sources"] == answer["sources"]  # the desk's number: not typed, kept
    # a typed number is masked where it stands alone, not inside a longer number
    assert mask_known("受付番号 1234567890185 / 123456789018", contacts("123456789018")) == \
        "受付番号 1234567890185 / ［個人番号］"
    # items given as plain strings (as older callers did) still get the mask of their kind
    assert mask_known("a 03-1234-5678 b 4111-1111-1111-1111 c 123456789018 d x@y.jp",
                      ["03-1234-5678", "4111-1111-1111-1111", "123456789018", "x@y.jp"]) == \
        "a ［電話］ b ［カード番号］ c ［個人番号］ d ［メール］"


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


def test_a_my_number_stored_before_it_was_masked_is_masked_by_the_next_migration(store_url):
    """A database that ran m004 when only e-mails and phones were masked kept My Numbers in clear; m006 masks them."""
    store = ConversationStore(store_url)
    conv_id = f"old{uuid.uuid4().hex}"
    said = "マイナンバーは 1234 5678 9018 です。電話は03.5555.6666"
    with store._writer.begin() as conn:
        conn.execute(conversations.insert().values(id=conv_id, created_at=now(), updated_at=now(), profile="{}",
                                                   state=json.dumps({"last": {"query": said}}, ensure_ascii=False),
                                                   channel="web", next_turn=1))
        conn.execute(turns.insert().values(conversation_id=conv_id, n=0, question=said, resolved=said,
                                           answer=json.dumps({"answer": "はい", "resolved_question": said, "turn": 0}, ensure_ascii=False),
                                           refused=False, created_at=now()))
        conn.execute(migrations_table.delete().where(migrations_table.c.name == "m006_mask_personal_numbers"))
    assert store.migrate() == ["m006_mask_personal_numbers"]
    conv = store.get(conv_id)
    for kept in (conv.turns[0].question, conv.turns[0].answer["resolved_question"], conv.state["last"]["query"]):
        assert "1234" not in kept and "5555" not in kept and "［個人番号］" in kept and "［電話］" in kept


def test_the_owner_is_told_what_was_masked_and_the_record_holds_only_masks(index_settings, tmp_path):
    from fastapi.testclient import TestClient

    from bot.advisor import Advisor
    from bot.web import create_app

    advisor = Advisor(index_settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    with TestClient(create_app(index_settings, advisor=advisor)) as client:
        said = "マイナンバーは1234 5678 9018、電話は03-5555-6666と03-7777-8888です。展示会の助成はありますか"
        got = client.post("/api/chat", json={"message": said}).json()
        assert got["masked"] == {"［個人番号］": 1, "［電話］": 2}  # kinds and counts, never the values
        kept = client.get(f"/api/conversations/{got['conversation_id']}").json()
        text_kept = json.dumps(kept, ensure_ascii=False)
        assert "1234 5678 9018" not in text_kept and "5555" not in text_kept and "［個人番号］" in text_kept
        plain = client.post("/api/chat", json={"message": "展示会の助成はありますか"}).json()
        assert plain["masked"] == {}
