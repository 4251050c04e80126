"""Conversations that last: turns and what the advisor knows of the company, in SQL.

SQLite under the data dir by default; PostgreSQL when DATABASE_URL names one (SQLAlchemy Core,
so both run the same statements). The schema grows by numbered migrations, each applied once and
recorded in `migrations` (after simonw/llm's migrations.py), under a lock so that many processes
starting at once on one database apply each exactly once.

Many processes, one truth:
- a conversation's id is issued here (`secrets.token_urlsafe`), never named by a web client; a
  conversation belongs to a channel (`web`, or `slack` for Slack threads, whose ids the thread
  names) and is only found in its own channel;
- a turn takes its number in the transaction that writes it (a per-conversation counter, bumped
  under the row's write lock), so numbers are unique and gapless however many processes answer
  the same conversation; a unique (conversation, turn) index keeps it so, and a conflict or a
  busy database is retried.

Privacy: e-mail addresses and phone numbers an owner typed are masked (bot/privacy.py) in all that
a turn writes, and in feedback comments; `purge` deletes conversations untouched for longer than the
retention, and `delete` one conversation for the holder of its id. On SQLite what is deleted is gone
from the files too: every connection has `secure_delete` on (deleted content is overwritten with
zeros), and a delete or a purge ends with a TRUNCATE checkpoint (the write-ahead log, which still
held the deleted rows' pages, is copied in and emptied).

Slack event ids: `claim_event` records each event id once, by an insert the unique key lets only
one process win, so a replayed or repeated event is answered once however many processes (and hosts)
share the database; ids are forgotten after EVENT_MEMORY.

A database that is down or frozen costs a call `timeout` seconds at most (PostgreSQL: the connect
timeout, the server's statement_timeout, and a deadline on each wait for the server, which a
frozen server, still taking bytes, would otherwise never end; SQLite: its busy timeout), and is
reported as StoreUnavailable, whose message names no host, port or driver error: the web answers
503 with it. Nothing is kept from a failed call, so the store serves again once the database does.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool

from .privacy import contacts, mask, mask_known

log = logging.getLogger(__name__)

WEB = "web"  # the web API and the terminal: ids issued here
SLACK = "slack"  # Slack threads: reached only through Slack's signed requests
LEGACY = "legacy"  # ids a client once chose (before ids were issued): kept, reachable by no one
CHANNELS = (WEB, SLACK, LEGACY)
ID_CHARS = 64
WRITE_ATTEMPTS = 8
PURGE_BATCH = 500  # conversations deleted per transaction: a long purge never holds the database
EVENT_MEMORY = timedelta(days=1)  # how long a claimed Slack event id is remembered (Slack retries within minutes)
EVENT_SWEEP_EVERY = 600.0  # seconds between a process's removals of ids past EVENT_MEMORY, as it claims
EVENT_ID_CHARS = 100

metadata = MetaData()

migrations_table = Table(
    "migrations",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)
conversations = Table(
    "conversations",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("profile", Text, nullable=False, default="{}"),  # JSON: industry, size, topic
    Column("state", Text, nullable=False, default="{}"),  # JSON: what a follow-up leans on
    Column("channel", String(16), nullable=False, server_default=WEB),
    Column("next_turn", Integer, nullable=False, server_default="0"),  # the number the next turn takes
)
turns = Table(
    "turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(ID_CHARS), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("n", Integer, nullable=False),
    Column("question", Text, nullable=False),
    Column("resolved", Text, nullable=False),  # the question as searched (follow-ups resolved)
    Column("answer", Text, nullable=False),  # JSON: the contract answer
    Column("refused", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("uq_turns_conversation_n", "conversation_id", "n", unique=True),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(ID_CHARS), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("turn", Integer, nullable=False),
    Column("rating", String(8), nullable=False),  # up or down
    Column("comment", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


slack_events = Table(
    "slack_events",
    metadata,
    Column("event_id", String(EVENT_ID_CHARS), primary_key=True),  # the key that lets one claim win
    Column("claimed_at", DateTime(timezone=True), nullable=False, index=True),
)

# A client's Idempotency-Key (as a digest) and the turn it made: a retry with the same key gets that turn.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(71), primary_key=True),  # sha256:… of the client's key
    Column("conversation_id", String(100), nullable=False),
    Column("n", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)


class AlreadyAnswered(Exception):
    """A turn with this Idempotency-Key was stored meanwhile (a retry racing its original): `answer` is it."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__("a turn with this idempotency key is stored")
        self.answer = answer


class StoreUnavailable(RuntimeError):
    """The database cannot be reached, or did not answer in time. The message is for clients."""

    def __init__(self) -> None:
        super().__init__("the conversation store is unavailable; try again shortly")


def _guarded(fn: Callable) -> Callable:
    """A call to the database that fails for want of the database raises StoreUnavailable; the
    driver's message (host, port, what the server said) goes to the log only."""

    def unavailable(exc: Exception) -> StoreUnavailable:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__]
        log.warning("conversation store unavailable (%s): %s", fn.__name__, lines[0])
        return StoreUnavailable()

    @functools.wraps(fn)
    def call(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            raise unavailable(exc) from exc
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise  # a statement the database refused: a bug, not an outage
            raise unavailable(exc) from exc

    return call


class UnknownConversation(LookupError):
    """A conversation id this store did not issue (or one of another channel): the web answers 404."""

    def __init__(self, conversation_id: str) -> None:
        shown = conversation_id if len(conversation_id) <= ID_CHARS else conversation_id[:ID_CHARS] + "…"
        super().__init__(f"no conversation {shown!r}")
        self.conversation_id = conversation_id


def well_formed(conversation_id: object) -> bool:
    """Could this be an id of the store? (Anything else is not looked up: a NUL, say, is an error on PostgreSQL.)"""
    return isinstance(conversation_id, str) and 0 < len(conversation_id) <= ID_CHARS and conversation_id.isprintable()


def new_id() -> str:
    """An id no one can guess: 192 random bits, URL-safe (never a ':', so never a Slack id)."""
    return secrets.token_urlsafe(24)


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = []


def migration(fn: Callable[[Connection], None]) -> Callable[[Connection], None]:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


# Each migration writes the schema as it was when it was added (not today's `metadata`), so a fresh
# database and an old one reach the same schema by the same steps.


@migration
def m001_conversations_and_turns(conn: Connection) -> None:
    then = MetaData()
    Table(
        "conversations",
        then,
        Column("id", String(64), primary_key=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Column("profile", Text, nullable=False),
        Column("state", Text, nullable=False),
    )
    Table(
        "turns",
        then,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False, index=True),
        Column("n", Integer, nullable=False),
        Column("question", Text, nullable=False),
        Column("resolved", Text, nullable=False),
        Column("answer", Text, nullable=False),
        Column("refused", Boolean, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    then.create_all(conn)


@migration
def m002_feedback(conn: Connection) -> None:
    then = MetaData()
    Table("conversations", then, Column("id", String(64), primary_key=True))
    Table(
        "feedback",
        then,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False, index=True),
        Column("turn", Integer, nullable=False),
        Column("rating", String(8), nullable=False),
        Column("comment", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    then.tables["feedback"].create(conn)


_OLD_ISSUED_ID = re.compile(r"^[0-9a-f]{12}4[0-9a-f]{19}$")  # uuid4().hex: what the server issued before


@migration
def m003_channels_and_turn_numbers(conn: Connection) -> None:
    """Channels apart, and turn numbers unique per conversation.

    Slack threads move to their own channel; an id a web client once named (anything but the
    uuid4 hex the server issued) moves to `legacy`, out of everyone's reach. Turn numbers that two
    processes stored twice are renumbered in the order they were written, before the unique index.
    """
    conn.execute(text(f"ALTER TABLE conversations ADD COLUMN channel VARCHAR(16) NOT NULL DEFAULT '{WEB}'"))
    conn.execute(text("ALTER TABLE conversations ADD COLUMN next_turn INTEGER NOT NULL DEFAULT 0"))
    c = conversations.c
    ids = [row[0] for row in conn.execute(select(c.id))]
    slack = [i for i in ids if i.startswith("slack:")]
    legacy = [i for i in ids if not i.startswith("slack:") and not _OLD_ISSUED_ID.match(i)]
    for channel, chosen in ((SLACK, slack), (LEGACY, legacy)):
        if chosen:
            conn.execute(update(conversations).where(c.id.in_(chosen)).values(channel=channel))
    t = turns.c
    doubled = conn.execute(
        select(t.conversation_id).group_by(t.conversation_id, t.n).having(func.count() > 1).distinct()
    ).scalars().all()
    for conversation_id in doubled:
        rows = conn.execute(select(t.id).where(t.conversation_id == conversation_id).order_by(t.n, t.id)).scalars()
        for n, turn_id in enumerate(rows.all()):
            conn.execute(update(turns).where(t.id == turn_id).values(n=n))
    if doubled:
        log.warning("renumbered the turns of %d conversations that had a turn number twice", len(doubled))
    taken = select(func.coalesce(func.max(t.n) + 1, 0)).where(t.conversation_id == c.id).scalar_subquery()
    conn.execute(update(conversations).values(next_turn=taken))
    conn.execute(text("CREATE UNIQUE INDEX uq_turns_conversation_n ON turns (conversation_id, n)"))


@migration
def m004_mask_contacts(conn: Connection) -> None:
    """E-mail addresses and phone numbers kept before they were masked are masked now: in questions,
    in the answers' copies of them and in what follow-ups lean on (one batch of turns at a time)."""
    t, c, f = turns.c, conversations.c, feedback.c
    last = 0
    while True:
        rows = conn.execute(
            select(t.id, t.question, t.resolved, t.answer, t.conversation_id).where(t.id > last).order_by(t.id).limit(500)
        ).all()
        if not rows:
            break
        for row in rows:
            found = contacts(row.question) + contacts(row.resolved)
            if found:
                answer = json.dumps(mask_known(json.loads(row.answer), found), ensure_ascii=False)
                conn.execute(
                    update(turns)
                    .where(t.id == row.id)
                    .values(question=mask(row.question), resolved=mask(row.resolved), answer=answer)
                )
                state = conn.execute(select(c.state).where(c.id == row.conversation_id)).scalar_one_or_none()
                if state:
                    masked = json.dumps(mask_known(json.loads(state), found), ensure_ascii=False)
                    conn.execute(update(conversations).where(c.id == row.conversation_id).values(state=masked))
        last = rows[-1].id
    for row in conn.execute(select(f.id, f.comment)).all():
        if row.comment and contacts(row.comment):
            conn.execute(update(feedback).where(f.id == row.id).values(comment=mask(row.comment)))


@migration
def m005_slack_events(conn: Connection) -> None:
    """Slack event ids claimed, one row each: shared by every process, so a repeat is answered once."""
    then = MetaData()
    Table(
        "slack_events",
        then,
        Column("event_id", String(100), primary_key=True),
        Column("claimed_at", DateTime(timezone=True), nullable=False, index=True),
    )
    then.create_all(conn)


@migration
def m006_mask_personal_numbers(conn: Connection) -> None:
    """My Numbers, corporate and card numbers, and phones and addresses in the forms masked since (dots,
    slashes, kanji digits, addresses at localhost), kept by a database that ran m004 before they were
    masked, are masked now: m004's pass again, with today's rules."""
    m004_mask_contacts(conn)


@migration
def m007_idempotency_keys(conn: Connection) -> None:
    """Idempotency keys and the turns they made: a client that retries a request whose reply it lost
    gets the stored turn, not a second one."""
    then = MetaData()
    Table(
        "idempotency_keys",
        then,
        Column("key", String(71), primary_key=True),
        Column("conversation_id", String(100), nullable=False),
        Column("n", Integer, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    )
    then.create_all(conn)


def _sqlite_connect(dbapi_connection, _record) -> None:
    """WAL lets readers go on during a write; NORMAL sync is durable across crashes of the process;
    secure_delete overwrites deleted content with zeros (a deleted conversation leaves no text in
    the file's free space).

    pysqlite's own transaction handling is switched off: SQLAlchemy's `begin` event below says
    BEGIN itself, IMMEDIATE for writes, so a write takes the database's write lock before it reads
    what it will change (a deferred BEGIN would fail with "database is locked" on the upgrade).
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    _into_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


WAL_TRIES = 40  # switching a new file to WAL while other processes open it at once: tries, 25–250 ms apart


def _into_wal(cursor: Any) -> None:
    """Put the database in WAL mode. The mode lives in the file, so only its first opening switches it; that
    switch may answer "database is locked" at once, without SQLite's busy wait, when several processes open a
    new file together (servers starting side by side): it is tried again, the others then find WAL already."""
    import sqlite3

    for attempt in range(WAL_TRIES):
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_TRIES - 1:
                raise
            time.sleep(min(0.25, 0.025 * (attempt + 1)))


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("smebot_write") else "BEGIN")


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Turn:
    n: int | None  # taken by the store when the turn is written
    question: str
    resolved: str
    answer: dict[str, Any]
    refused: bool
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "turn": self.n,
            "question": self.question,
            "resolved_question": self.resolved,
            "answer": self.answer,
            "refused": self.refused,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


@dataclass
class Conversation:
    id: str
    profile: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    turns: list[Turn] = field(default_factory=list)
    saved: bool = True  # False until its first turn is written
    channel: str = WEB

    def to_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.id, "profile": self.profile, "turns": [t.to_dict() for t in self.turns]}


# Any number on the same key: every smebot process migrating one PostgreSQL database waits here.
_PG_MIGRATION_LOCK = 0x736D65626F74  # "smebot"
# The client's deadline outlasts the server's statement_timeout by this much: a live server cancels
# a slow statement itself (the connection stays usable); only a frozen one meets the deadline.
DEADLINE_GRACE = 1.0


def _pg_connector(timeout: float) -> Callable:
    """SQLAlchemy's do_connect for PostgreSQL: a connection whose waits on the server have a deadline,
    and whose statements have the server's statement_timeout (added to any options the URL gives)."""
    import psycopg

    class DeadlineConnection(psycopg.Connection):
        deadline: float | None = None

        def wait(self, gen, *args, **kwargs):
            if self.deadline is None or args or kwargs.get("timeout") is not None:
                return super().wait(gen, *args, **kwargs)
            started = time.monotonic()
            try:
                return super().wait(gen, timeout=self.deadline, **kwargs)
            except psycopg.OperationalError:
                if time.monotonic() - started < self.deadline:
                    raise  # the server answered: an error of its own
                self.close()  # left mid-exchange: the connection cannot be used again
                raise psycopg.OperationalError(f"no answer from the database within {self.deadline:g} s") from None

    def connect(dialect, record, cargs, cparams):
        options = f"-c statement_timeout={int(timeout * 1000)}"
        cparams["options"] = f"{cparams['options']} {options}" if cparams.get("options") else options
        cparams.setdefault("connect_timeout", max(2, math.ceil(timeout)))  # libpq counts whole seconds, 2 at least
        conn = DeadlineConnection.connect(*cargs, **cparams)
        conn.deadline = timeout + DEADLINE_GRACE
        return conn

    return connect


class ConversationStore:
    def __init__(self, url: str, *, timeout: float = 3.0) -> None:
        self.url = url
        self.timeout = timeout
        if url in ("sqlite://", "sqlite:///:memory:"):
            # one in-memory database shared by every thread (evals, tests), not one per thread
            self.engine: Engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        elif url.startswith("sqlite"):
            # a writer waits this long for another process's write, then the write is retried
            self.engine = create_engine(url, connect_args={"timeout": timeout})
        else:
            # a stale pooled connection is replaced before use (a database that restarted); a request
            # waits `timeout` at most for a connection from the pool
            self.engine = create_engine(url, pool_pre_ping=True, pool_timeout=timeout)
            if self.engine.dialect.name == "postgresql" and self.engine.dialect.driver == "psycopg":
                event.listen(self.engine, "do_connect", _pg_connector(timeout))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._writer = self.engine.execution_options(smebot_write=True)
        # SQLite lets one writer in at a time and makes the others poll with sleeps that grow to
        # 100 ms; this process's writers queue on a lock instead, so only one of them polls (and a
        # write that finishes hands over at once). PostgreSQL locks rows: nothing to queue for.
        self._sqlite_writers = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        self.timeout = timeout
        self._events_swept = -math.inf  # the first claim removes the ids past EVENT_MEMORY
        self.migrate()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite), after this process's other writers."""
        queue = self._sqlite_writers
        if queue is not None and not queue.acquire(timeout=self.timeout):
            raise OperationalError("waiting for this process's other writers", None, TimeoutError("lock wait"))
        try:
            with self._writer.begin() as conn:
                yield conn
        finally:
            if queue is not None:
                queue.release()

    # -- schema ----------------------------------------------------------------------------------

    @_guarded
    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded, once, under a database-wide lock.

        PostgreSQL: a transaction-scoped advisory lock; SQLite: BEGIN IMMEDIATE (the write lock).
        Both run DDL inside the transaction, so a migration that fails leaves nothing half done,
        and a process that waited finds the work recorded and does nothing.
        """
        applied: list[str] = []
        with self._writer.connect() as conn:
            # no time limit here: a process waits for another's migration, and a migration may
            # rewrite a large table (start-up, not a request)
            raw = conn.connection.dbapi_connection
            deadline = getattr(raw, "deadline", None)
            if deadline is not None:
                raw.deadline = None
            try:
                with conn.begin():
                    if conn.dialect.name == "postgresql":
                        conn.execute(text("SET LOCAL statement_timeout = 0"))
                        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
                    metadata.create_all(conn, tables=[migrations_table])
                    done = {row[0] for row in conn.execute(select(migrations_table.c.name))}
                    for name, fn in MIGRATIONS:
                        if name not in done:
                            fn(conn)
                            conn.execute(insert(migrations_table).values(name=name, applied_at=now()))
                            applied.append(name)
            finally:
                if deadline is not None:
                    raw.deadline = deadline
        if applied:
            log.info("conversation store: applied %s", ", ".join(applied))
        return applied

    @_guarded
    def applied(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(migrations_table.c.name).order_by(migrations_table.c.name)).scalars())

    @_guarded
    def ping(self) -> None:
        """One round trip to the database (readiness); StoreUnavailable if it cannot make it."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # -- conversations ---------------------------------------------------------------------------

    @_guarded
    def get(self, conversation_id: str, channel: str = WEB) -> Conversation | None:
        """The conversation with this id in this channel; None for any other (or a malformed id)."""
        if not well_formed(conversation_id):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversations).where(conversations.c.id == conversation_id, conversations.c.channel == channel)
            ).first()
            if row is None:
                return None
            rows = conn.execute(
                select(turns).where(turns.c.conversation_id == conversation_id).order_by(turns.c.n)
            ).all()
        return Conversation(
            row.id,
            json.loads(row.profile or "{}"),
            json.loads(row.state or "{}"),
            [Turn(r.n, r.question, r.resolved, json.loads(r.answer), bool(r.refused), r.created_at) for r in rows],
            channel=row.channel,
        )

    def create(self, conversation_id: str | None = None, channel: str = WEB) -> Conversation:
        """A new conversation, written with its first turn (in the same transaction).

        Its id is issued here; only a channel whose ids name something outside (a Slack thread)
        passes one, and writing it twice (two processes answering one new thread) is harmless.
        """
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        if conversation_id is not None and channel == WEB:
            raise ValueError("web conversation ids are issued by the store, never named")
        return Conversation(conversation_id or new_id(), saved=False, channel=channel)

    @_guarded
    def add_turn(self, conv: Conversation, turn: Turn, idempotency_key: str | None = None) -> None:
        """Record a turn with the next number of its conversation, and the conversation's new
        profile and state, in one transaction; `turn.n` (and the stored answer's `turn`) is the
        number taken. UnknownConversation if the conversation is gone. With `idempotency_key`, the key
        is recorded in the same transaction; if a turn with it was stored meanwhile, nothing is written
        and AlreadyAnswered carries that turn's answer."""
        created = now()
        # what the owner typed, masked wherever the turn repeats it (the answer's copy, the state)
        found = contacts(turn.question) + contacts(turn.resolved)
        question, resolved = mask(turn.question), mask(turn.resolved)
        conv.profile, conv.state = mask_known(conv.profile, found), mask_known(conv.state, found)
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self._write() as conn:
                    n = self._take_turn(conn, conv, created)
                    answer = mask_known({**turn.answer, "turn": n} if "turn" in turn.answer else turn.answer, found)
                    conn.execute(
                        _INSERT_TURN,
                        {
                            "conversation_id": conv.id,
                            "n": n,
                            "question": question,
                            "resolved": resolved,
                            "answer": json.dumps(answer, ensure_ascii=False),
                            "refused": turn.refused,
                            "created_at": created,
                        },
                    )
                    if idempotency_key is not None:
                        key = _idempotency_digest(idempotency_key)
                        taken = conn.execute(_insert_ignoring(idempotency_keys, "key", conn.dialect.name),
                                             {"key": key, "conversation_id": conv.id, "n": n, "created_at": created})
                        if not _inserted(taken):
                            raise _KeyTaken()  # rolls this transaction back: the turn is not written
                break
            except _KeyTaken:
                raise AlreadyAnswered(self.answered_for_key(idempotency_key) or {}) from None
            except (IntegrityError, OperationalError) as exc:
                # a number taken twice (the unique index said no), or SQLite still busy after its
                # timeout, or a PostgreSQL serialization failure: nothing was written; again
                if attempt == WRITE_ATTEMPTS - 1 or not _retryable(exc):
                    raise
                log.warning("turn write conflicted (%s); retrying", type(exc.orig).__name__)
                time.sleep(0.01 * 2**attempt)
        conv.saved = True
        turn.n, turn.answer, turn.created_at = n, answer, created
        turn.question, turn.resolved = question, resolved
        conv.turns.append(turn)

    def _take_turn(self, conn: Connection, conv: Conversation, when: datetime) -> int:
        if not conv.saved:
            conn.execute(
                _insert_ignoring(conversations, "id", conn.dialect.name),
                {"id": conv.id, "channel": conv.channel, "created_at": when, "updated_at": when, "profile": "{}", "state": "{}"},
            )
        # the UPDATE takes the row's write lock: a second process bumping the same counter waits
        # for this transaction, and then reads the number after this one
        bumped = conn.execute(
            _BUMP_TURN,
            {
                "key_id": conv.id,
                "key_channel": conv.channel,
                "new_updated_at": when,
                "new_profile": json.dumps(conv.profile, ensure_ascii=False),
                "new_state": json.dumps(conv.state, ensure_ascii=False),
            },
        )
        if bumped.rowcount != 1:
            raise UnknownConversation(conv.id)
        return conn.execute(_TAKEN_TURN, {"key_id": conv.id}).scalar_one()

    @_guarded
    def add_feedback(self, conversation_id: str, turn: int, rating: str, comment: str = "", channel: str = WEB) -> None:
        """Record 👍/👎 on one turn; UnknownConversation or LookupError if it does not exist."""
        if not well_formed(conversation_id):
            raise UnknownConversation(str(conversation_id))
        with self._write() as conn:
            known = conn.execute(
                select(conversations.c.id).where(
                    conversations.c.id == conversation_id, conversations.c.channel == channel
                )
            ).first()
            if known is None:
                raise UnknownConversation(conversation_id)
            exists = conn.execute(
                select(turns.c.id).where(turns.c.conversation_id == conversation_id, turns.c.n == turn)
            ).first()
            if exists is None:
                raise LookupError(f"no turn {turn} in conversation {conversation_id!r}")
            conn.execute(
                insert(feedback).values(
                    conversation_id=conversation_id, turn=turn, rating=rating, comment=mask(comment), created_at=now()
                )
            )

    @_guarded
    def delete(self, conversation_id: str, channel: str = WEB) -> None:
        """Delete a conversation with its turns and feedback; UnknownConversation if this channel has none such."""
        if not well_formed(conversation_id):
            raise UnknownConversation(str(conversation_id))
        c = conversations.c
        with self._write() as conn:
            # the row's lock first: a turn being written to it waits, then finds it gone (404)
            found = conn.execute(
                select(c.id).where(c.id == conversation_id, c.channel == channel).with_for_update()
            ).first()
            if found is None:
                raise UnknownConversation(conversation_id)
            self._delete(conn, [conversation_id])
        self._checkpoint()

    @_guarded
    def purge(self, older_than: timedelta) -> int:
        """Delete the conversations (any channel) untouched for longer than `older_than`, with their
        turns and feedback, a batch per transaction; how many were deleted. (Slack event ids claimed
        longer than EVENT_MEMORY ago are forgotten too; on SQLite the log is checkpointed after.)"""
        cutoff = now() - older_than
        c = conversations.c
        deleted = 0
        while True:
            with self._write() as conn:
                # locked as they are chosen: a turn written to one meanwhile waits, then finds it gone
                ids = conn.execute(
                    select(c.id).where(c.updated_at < cutoff).limit(PURGE_BATCH).with_for_update(skip_locked=True)
                ).scalars().all()
                if ids:
                    self._delete(conn, ids)
            deleted += len(ids)
            if len(ids) < PURGE_BATCH:
                break
        with self._write() as conn:
            self._forget_events(conn)
        if deleted:
            log.info("conversation store: purged %d conversations untouched for %s", deleted, older_than)
            self._checkpoint()
        return deleted

    @staticmethod
    def _delete(conn: Connection, ids: list[str]) -> None:
        conn.execute(delete(feedback).where(feedback.c.conversation_id.in_(ids)))
        conn.execute(delete(idempotency_keys).where(idempotency_keys.c.conversation_id.in_(ids)))
        conn.execute(delete(turns).where(turns.c.conversation_id.in_(ids)))
        conn.execute(delete(conversations).where(conversations.c.id.in_(ids)))

    def _checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database and empty it (TRUNCATE), so the pages it
        held with deleted rows are gone from disk too (secure_delete zeroed them in the database).

        Waits, up to the busy timeout, for readers and writers of other connections to finish; one
        that is still at it leaves the log as it is (said in the log, not an error: the delete is
        done, and SQLite's next checkpoint overwrites those pages)."""
        if self.engine.dialect.name != "sqlite" or self.url in ("sqlite://", "sqlite:///:memory:"):
            return  # PostgreSQL, or a database in memory (no log on disk)
        queue = self._sqlite_writers
        if queue is not None and not queue.acquire(timeout=self.timeout):
            log.warning("conversation store: no checkpoint after the delete (this process's writers kept on)")
            return
        try:
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                row = cursor.fetchone()
                cursor.close()
            finally:
                raw.close()
        except Exception as exc:  # sqlite3's own errors (a raw cursor), or no connection to be had
            log.warning("conversation store: checkpoint after the delete failed (%s)", exc)
            return
        finally:
            if queue is not None:
                queue.release()
        if row and row[0]:
            log.warning("conversation store: checkpoint after the delete could not finish (database busy);"
                        " the write-ahead log keeps old pages until the next checkpoint")

    # -- Slack events ----------------------------------------------------------------------------

    @_guarded
    def answered_for_key(self, idempotency_key: str) -> dict[str, Any] | None:
        """The stored answer of the turn made with this Idempotency-Key, or None."""
        k, t = idempotency_keys.c, turns.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.answer).join(idempotency_keys, (k.conversation_id == t.conversation_id) & (k.n == t.n))
                .where(k.key == _idempotency_digest(idempotency_key))
            ).first()
        return json.loads(row.answer) if row else None

    @_guarded
    def claim_event(self, event_id: str) -> bool:
        """True for the first claim of this Slack event id on this database, False for any later one,
        from this process or any other: an insert that the primary key lets only one claim make (on
        SQLite under the database's write lock, on PostgreSQL ON CONFLICT DO NOTHING, which waits for
        a concurrent insert of the same key and then does nothing). Ids past EVENT_MEMORY are removed
        now and then as claims are made (and by `purge`)."""
        key = _event_key(event_id)
        with self._write() as conn:
            claimed = conn.execute(_insert_ignoring(slack_events, "event_id", conn.dialect.name), {"event_id": key, "claimed_at": now()})
            taken = _inserted(claimed)
            if time.monotonic() - self._events_swept >= EVENT_SWEEP_EVERY:
                self._forget_events(conn)
        return taken

    def _forget_events(self, conn: Connection) -> None:
        conn.execute(delete(slack_events).where(slack_events.c.claimed_at < now() - EVENT_MEMORY))
        self._events_swept = time.monotonic()

    @_guarded
    def recent(self, limit: int = 20, channel: str | None = WEB) -> list[dict[str, Any]]:
        """The conversations touched last (of `channel`, or every channel for None), newest first:
        id, channel, times, turns, and the first question (`smebot logs`)."""
        c = conversations.c
        query = select(c.id, c.channel, c.created_at, c.updated_at, c.next_turn).order_by(c.updated_at.desc()).limit(limit)
        if channel is not None:
            query = query.where(c.channel == channel)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            first = dict(conn.execute(
                select(turns.c.conversation_id, turns.c.question).where(turns.c.conversation_id.in_(ids), turns.c.n == 0)
            ).all()) if ids else {}
        return [
            {"conversation_id": r.id, "channel": r.channel, "created_at": r.created_at, "updated_at": r.updated_at,
             "turns": r.next_turn, "first_question": first.get(r.id, "")}
            for r in rows
        ]

    @_guarded
    def feedback_for(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(feedback).where(feedback.c.conversation_id == conversation_id).order_by(feedback.c.id)
            ).all()
        return [{"turn": r.turn, "rating": r.rating, "comment": r.comment} for r in rows]


# A turn's statements, built once with their values as parameters: building them with .values(...)
# on every turn cost more than running them (SQLAlchemy then reuses one compiled form of each).
_INSERT_TURN = insert(turns)
_BUMP_TURN = (
    update(conversations)
    .where(conversations.c.id == bindparam("key_id"), conversations.c.channel == bindparam("key_channel"))
    .values(
        next_turn=conversations.c.next_turn + 1,
        updated_at=bindparam("new_updated_at"),
        profile=bindparam("new_profile"),
        state=bindparam("new_state"),
    )
)
_TAKEN_TURN = select(conversations.c.next_turn - 1).where(conversations.c.id == bindparam("key_id"))
_IGNORING: dict[tuple[str, str], Any] = {}


def _insert_ignoring(table: Table, key: str, dialect: str):
    """INSERT … ON CONFLICT (key) DO NOTHING into `table`: one row per key, whoever inserts it first; on
    PostgreSQL it returns the key of a row it inserted (none when the key was there), SQLite counts it."""
    stmt = _IGNORING.get((table.name, dialect))
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        stmt = dialect_insert(table).on_conflict_do_nothing(index_elements=[key])
        if dialect == "postgresql":
            stmt = stmt.returning(table.c[key])
        _IGNORING[(table.name, dialect)] = stmt
    return stmt


def _inserted(result) -> bool:
    """Whether an _insert_ignoring statement inserted its row."""
    return result.first() is not None if result.returns_rows else result.rowcount == 1


class _KeyTaken(Exception):
    pass


def _idempotency_digest(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _event_key(event_id: str) -> str:
    """The event id as stored: itself (Slack's are short, like Ev08MFMKH6J), or, for one too long for
    the column or with characters a database may refuse (a NUL), a digest of it."""
    if not isinstance(event_id, str) or not event_id:
        raise ValueError("an event id is a non-empty string")
    if len(event_id) <= EVENT_ID_CHARS and event_id.isascii() and event_id.isprintable():
        return event_id
    return "sha256:" + hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()


def _retryable(exc: IntegrityError | OperationalError) -> bool:
    if isinstance(exc, IntegrityError):
        return "uq_turns_conversation_n" in str(exc.orig) or "turns.conversation_id, turns.n" in str(exc.orig)
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message or "serializ" in message or "deadlock" in message
