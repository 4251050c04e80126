"""The conversation store on real SQLite files: issued ids, channels apart, turn numbers taken in
the writing transaction, and the migration of a database written before either."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, insert, inspect, select, text

from bot.store import (
    MIGRATIONS,
    ConversationStore,
    Turn,
    UnknownConversation,
    conversations,
    metadata,
    migrations_table,
    turns,
)


def turn(question: str = "q") -> Turn:
    return Turn(None, question, question, {"answer": "a", "turn": None}, False)


def test_ids_are_issued_and_a_web_id_cannot_be_named(tmp_path):
    store = ConversationStore(f"sqlite:///{tmp_path / 's.db'}")
    ids = {store.create().id for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 32 and ":" not in i for i in ids)
    with pytest.raises(ValueError, match="issued"):
        store.create("chosen-by-a-client")
    with pytest.raises(ValueError, match="channel"):
        store.create(channel="email")


def test_channels_are_apart(tmp_path):
    store = ConversationStore(f"sqlite:///{tmp_path / 's.db'}")
    thread = store.create("slack:C1:1.0", channel="slack")
    store.add_turn(thread, turn())
    assert store.get("slack:C1:1.0") is None and store.get("slack:C1:1.0", "slack").turns[0].n == 0
    with pytest.raises(UnknownConversation):
        store.add_feedback("slack:C1:1.0", 0, "up")  # the web's channel by default
    store.add_feedback("slack:C1:1.0", 0, "up", channel="slack")


def test_a_turn_takes_the_next_number_and_the_stored_answer_says_it(tmp_path):
    store = ConversationStore(f"sqlite:///{tmp_path / 's.db'}")
    conv = store.create()
    stale = None
    for i in range(3):
        t = turn(f"q{i}")
        store.add_turn(conv, t)
        stale = stale or store.get(conv.id)  # a copy read after the first turn
        assert t.n == i and t.answer["turn"] == i
    # a copy of the conversation read earlier (another request, another process) still takes the next number
    late = turn("late")
    store.add_turn(stale, late)
    assert late.n == 3
    assert [t.n for t in store.get(conv.id).turns] == [0, 1, 2, 3]
    assert [t.answer["turn"] for t in store.get(conv.id).turns] == [0, 1, 2, 3]


def test_threads_appending_to_one_conversation_get_unique_gapless_numbers(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = ConversationStore(url)
    conv = first.create()
    first.add_turn(conv, turn("start"))
    stores = [first, ConversationStore(url), ConversationStore(url)]  # three engines: three pools of connections

    def append(i: int) -> int:
        store = stores[i % len(stores)]
        copy = store.get(conv.id)
        t = turn(f"q{i}")
        store.add_turn(copy, t)
        return t.n

    with ThreadPoolExecutor(max_workers=12) as pool:
        taken = list(pool.map(append, range(120)))
    assert sorted(taken) == list(range(1, 121))
    stored = first.get(conv.id).turns
    assert [t.n for t in stored] == list(range(121))
    assert sorted(t.question for t in stored[1:]) == sorted(f"q{i}" for i in range(120))


def test_two_stores_opening_one_slack_thread_at_once_make_one_conversation(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    stores = [ConversationStore(url) for _ in range(4)]

    def first_message(i: int) -> int:
        conv = stores[i % 4].create("slack:C9:1.0", channel="slack")  # each thinks the thread is new
        t = turn(f"m{i}")
        stores[i % 4].add_turn(conv, t)
        return t.n

    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(first_message, range(16)))
    assert sorted(taken) == list(range(16))
    with stores[0].engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM conversations")).scalar() == 1


def test_the_unique_index_refuses_a_number_taken_twice(tmp_path):
    store = ConversationStore(f"sqlite:///{tmp_path / 's.db'}")
    conv = store.create()
    store.add_turn(conv, turn())
    row = dict(conversation_id=conv.id, n=0, question="x", resolved="x", answer="{}", refused=False,
               created_at=datetime.now(timezone.utc))
    with pytest.raises(Exception, match="UNIQUE"):
        with store.engine.begin() as conn:
            conn.execute(insert(turns).values(**row))


def test_migrations_build_the_schema_the_code_reads(tmp_path):
    store = ConversationStore(f"sqlite:///{tmp_path / 's.db'}")
    assert store.applied() == sorted(name for name, _ in MIGRATIONS)
    found = inspect(store.engine)
    for table in metadata.sorted_tables:
        assert {c["name"] for c in found.get_columns(table.name)} == {c.name for c in table.columns}, table.name
    assert any(ix["unique"] and ix["column_names"] == ["conversation_id", "n"] for ix in found.get_indexes("turns"))


def test_a_database_from_before_moves_to_channels_and_renumbers_doubled_turns(tmp_path):
    """What the old code left: client-named ids, Slack ids in the web's reach, turn numbers twice."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    old = "0123456789ab4def8123456789abcdef"  # an id the server issued before (uuid4().hex)
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        metadata.create_all(conn, tables=[migrations_table])
        for name, fn in MIGRATIONS[:2]:
            fn(conn)
            conn.execute(insert(migrations_table).values(name=name, applied_at=now))
        for cid in (old, "shop-42", "slack:C1:1.0"):
            conn.execute(text("INSERT INTO conversations (id, created_at, updated_at, profile, state) "
                              "VALUES (:id, :t, :t, '{}', '{}')"), {"id": cid, "t": now})
        for n in (0, 1, 1, 2):  # two processes once both stored turn 1
            conn.execute(text("INSERT INTO turns (conversation_id, n, question, resolved, answer, refused, created_at) "
                              "VALUES (:c, :n, 'q', 'q', :a, 0, :t)"), {"c": old, "n": n, "a": json.dumps({}), "t": now})
        conn.execute(text("INSERT INTO turns (conversation_id, n, question, resolved, answer, refused, created_at) "
                          "VALUES ('slack:C1:1.0', 0, 'q', 'q', '{}', 0, :t)"), {"t": now})
    engine.dispose()

    store = ConversationStore(url)
    assert [t.n for t in store.get(old).turns] == [0, 1, 2, 3]  # renumbered in the order written
    assert store.get("shop-42") is None  # a client named it: nobody's to read any more
    assert store.get("slack:C1:1.0") is None and store.get("slack:C1:1.0", "slack") is not None
    conv = store.get(old)
    t = turn()
    store.add_turn(conv, t)
    assert t.n == 4  # the counter starts after the turns already there
    with store.engine.connect() as conn:
        channels = dict(conn.execute(select(conversations.c.id, conversations.c.channel)).all())
    assert channels == {old: "web", "shop-42": "legacy", "slack:C1:1.0": "slack"}
    assert ConversationStore(url).migrate() == []


def test_the_web_app_migrates_at_start_up_not_on_a_first_request(index_settings, tmp_path):
    from fastapi.testclient import TestClient

    from bot.web import create_app

    fresh = tmp_path / "fresh.db"
    settings = index_settings.model_copy(update={"database_url": f"sqlite:///{fresh}"})
    with TestClient(create_app(settings)):
        # started, and no request made yet: the schema is there already
        engine = create_engine(f"sqlite:///{fresh}")
        with engine.connect() as conn:
            names = conn.execute(select(migrations_table.c.name)).scalars().all()
        engine.dispose()
    assert sorted(names) == sorted(name for name, _ in MIGRATIONS)


# -- Slack event ids claimed in the shared store: one answer however many processes or hosts -------


def test_an_event_id_is_claimed_once_across_stores_on_one_database(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    first, second = ConversationStore(url), ConversationStore(url)  # two workers
    assert first.claim_event("Ev01ABC") is True
    assert first.claim_event("Ev01ABC") is False
    assert second.claim_event("Ev01ABC") is False  # the other process sees the claim
    assert second.claim_event("Ev02ABC") is True
    # an id too long for the column, or with characters a database may refuse, is still claimed once
    for odd in ("E" * 500, "Ev\x00nul"):
        assert second.claim_event(odd) is True and first.claim_event(odd) is False


def claimed_at_once(url: str, stores: int = 4, ids: int = 40) -> list[int]:
    """Each of `ids` event ids claimed by 4 threads on each of `stores` stores at once: the winners per id."""
    many = [ConversationStore(url) for _ in range(stores)]
    wins: dict[str, int] = {}

    def claim(i: int) -> None:
        event_id = f"EvRace{i // (stores * 4)}"
        if many[i % stores].claim_event(event_id):
            wins[event_id] = wins.get(event_id, 0) + 1

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(claim, range(ids * stores * 4)))
    return [wins.get(f"EvRace{i}", 0) for i in range(ids)]


def test_many_workers_claiming_one_event_at_once_let_exactly_one_win(tmp_path):
    assert claimed_at_once(f"sqlite:///{tmp_path / 's.db'}") == [1] * 40


def test_event_ids_older_than_a_day_are_forgotten(tmp_path):
    from datetime import timedelta

    from bot.store import EVENT_MEMORY, slack_events

    store = ConversationStore(f"sqlite:///{tmp_path / 's.db'}")
    assert store.claim_event("EvOld") and store.claim_event("EvNew")
    with store._writer.begin() as conn:
        conn.execute(slack_events.update().where(slack_events.c.event_id == "EvOld")
                     .values(claimed_at=datetime.now(timezone.utc) - EVENT_MEMORY - timedelta(minutes=1)))
    assert ConversationStore(store.url).purge(timedelta(days=90)) == 0  # purge forgets them too
    with store.engine.connect() as conn:
        assert conn.execute(select(slack_events.c.event_id)).scalars().all() == ["EvNew"]
    # and a claim does (a process that claims forgets the old ones now and then)
    with store._writer.begin() as conn:
        conn.execute(slack_events.update().values(claimed_at=datetime.now(timezone.utc) - EVENT_MEMORY * 2))
    fresh = ConversationStore(store.url)
    assert fresh.claim_event("EvLater") is True
    with store.engine.connect() as conn:
        assert conn.execute(select(slack_events.c.event_id)).scalars().all() == ["EvLater"]


def test_event_claims_on_postgresql(pg_database):
    from bot.settings import Settings

    url = Settings(database_url=pg_database).conversation_db
    first, second = ConversationStore(url), ConversationStore(url)
    assert first.claim_event("EvPg1") is True and second.claim_event("EvPg1") is False
    assert second.claim_event("Ev\x00nul") is True and first.claim_event("Ev\x00nul") is False
    assert claimed_at_once(url, stores=3, ids=20) == [1] * 20


# -- what is deleted is gone from the files: secure_delete, and the write-ahead log checkpointed --


SECRET_TEXT = "zebra-quokka-plinth-secret"


def file_bytes(db) -> tuple[bytes, bytes]:
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes(), wal.read_bytes() if wal.exists() else b""


def stored_with_secret(store: ConversationStore, channel: str = "web"):
    conv = store.create("slack:C1:9.0" if channel == "slack" else None, channel=channel)
    conv.state["last"] = {"query": f"{SECRET_TEXT} 展示会"}  # what a follow-up leans on
    for i in range(3):
        store.add_turn(conv, Turn(None, f"{SECRET_TEXT} {i} 展示会に出たい", f"{SECRET_TEXT} {i}",
                                  {"answer": f"{SECRET_TEXT} はい", "turn": None}, False))
    store.add_feedback(conv.id, 0, "down", f"{SECRET_TEXT} comment", channel=channel)
    return conv


def test_a_deleted_conversation_is_gone_from_the_database_file_and_its_log(tmp_path):
    db = tmp_path / "s.db"
    store = ConversationStore(f"sqlite:///{db}")
    other = ConversationStore(f"sqlite:///{db}")  # another worker with its connections open
    other.get("nothing")
    keep = store.create()
    store.add_turn(keep, turn("kept question"))
    conv = stored_with_secret(store)
    assert SECRET_TEXT.encode() in b"".join(file_bytes(db))  # it was written (to the log at least)
    store.delete(conv.id)
    data, wal = file_bytes(db)
    assert SECRET_TEXT.encode() not in data and SECRET_TEXT.encode() not in wal
    assert b"kept question" in data and store.get(keep.id).turns[0].question == "kept question"
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def test_purged_conversations_are_gone_from_the_database_file_and_its_log(tmp_path):
    from datetime import timedelta

    db = tmp_path / "s.db"
    store = ConversationStore(f"sqlite:///{db}")
    stored_with_secret(store, channel="slack")
    assert SECRET_TEXT.encode() in b"".join(file_bytes(db))
    assert store.purge(timedelta(0)) == 1
    data, wal = file_bytes(db)
    assert SECRET_TEXT.encode() not in data and SECRET_TEXT.encode() not in wal


def test_a_new_file_held_by_another_process_is_switched_to_wal_once_it_is_free(tmp_path):
    # several servers opening a new SQLite file at once: the switch to WAL answers "database is locked" at
    # once (no busy wait) while another connection holds the file; it is tried again, not a failed start
    import sqlite3
    import threading

    from bot.store import _into_wal

    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, check_same_thread=False)
    holder.isolation_level = None
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE t (x)")
    opener = sqlite3.connect(path, timeout=0)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        opener.execute("PRAGMA journal_mode=WAL")  # what a single try met
    released = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    released.start()
    _into_wal(opener.cursor())
    released.join()
    assert opener.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
