"""Conversations that last: turns and what the advisor knows of the company, in SQL.

SQLite under the data dir by default; PostgreSQL when DATABASE_URL names one (SQLAlchemy Core,
so both run the same statements). The schema grows by numbered migrations, each applied once and
recorded in `migrations` (after simonw/llm's migrations.py).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

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
    Column("id", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("profile", Text, nullable=False, default="{}"),  # JSON: industry, size, topic
    Column("state", Text, nullable=False, default="{}"),  # JSON: what a follow-up leans on
)
turns = Table(
    "turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("n", Integer, nullable=False),
    Column("question", Text, nullable=False),
    Column("resolved", Text, nullable=False),  # the question as searched (follow-ups resolved)
    Column("answer", Text, nullable=False),  # JSON: the contract answer
    Column("refused", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("turn", Integer, nullable=False),
    Column("rating", String(8), nullable=False),  # up or down
    Column("comment", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = []


def migration(fn: Callable[[Connection], None]) -> Callable[[Connection], None]:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_conversations_and_turns(conn: Connection) -> None:
    metadata.create_all(conn, tables=[conversations, turns])


@migration
def m002_feedback(conn: Connection) -> None:
    metadata.create_all(conn, tables=[feedback])


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets readers go on during a write; NORMAL sync is durable across crashes of the process."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Turn:
    n: int
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

    def to_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.id, "profile": self.profile, "turns": [t.to_dict() for t in self.turns]}


class ConversationStore:
    def __init__(self, url: str) -> None:
        self.url = url
        if url in ("sqlite://", "sqlite:///:memory:"):
            # one in-memory database shared by every thread (evals, tests), not one per thread
            self.engine: Engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.migrate()

    def migrate(self) -> list[str]:
        applied: list[str] = []
        with self.engine.begin() as conn:
            metadata.create_all(conn, tables=[migrations_table])
            done = {row[0] for row in conn.execute(select(migrations_table.c.name))}
            for name, fn in MIGRATIONS:
                if name not in done:
                    fn(conn)
                    conn.execute(insert(migrations_table).values(name=name, applied_at=now()))
                    applied.append(name)
        return applied

    def get(self, conversation_id: str) -> Conversation | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(conversations).where(conversations.c.id == conversation_id)).first()
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
        )

    def create(self, conversation_id: str | None = None) -> Conversation:
        """A new conversation; it is written with its first turn, in the same transaction."""
        return Conversation(conversation_id or uuid.uuid4().hex, saved=False)

    def add_turn(self, conv: Conversation, turn: Turn) -> None:
        """Record a turn and the conversation's new profile and state, in one transaction."""
        turn.created_at = now()
        with self.engine.begin() as conn:
            if not conv.saved:
                conn.execute(
                    insert(conversations).values(
                        id=conv.id, created_at=turn.created_at, updated_at=turn.created_at, profile="{}", state="{}"
                    )
                )
                conv.saved = True
            conn.execute(
                insert(turns).values(
                    conversation_id=conv.id,
                    n=turn.n,
                    question=turn.question,
                    resolved=turn.resolved,
                    answer=json.dumps(turn.answer, ensure_ascii=False),
                    refused=turn.refused,
                    created_at=turn.created_at,
                )
            )
            conn.execute(
                update(conversations)
                .where(conversations.c.id == conv.id)
                .values(
                    updated_at=now(),
                    profile=json.dumps(conv.profile, ensure_ascii=False),
                    state=json.dumps(conv.state, ensure_ascii=False),
                )
            )
        conv.turns.append(turn)

    def add_feedback(self, conversation_id: str, turn: int, rating: str, comment: str = "") -> None:
        """Record 👍/👎 on one turn; LookupError if the conversation or the turn does not exist."""
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(turns.c.id).where(turns.c.conversation_id == conversation_id, turns.c.n == turn)
            ).first()
            if exists is None:
                raise LookupError(f"no turn {turn} in conversation {conversation_id}")
            conn.execute(
                insert(feedback).values(
                    conversation_id=conversation_id, turn=turn, rating=rating, comment=comment, created_at=now()
                )
            )

    def feedback_for(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(feedback).where(feedback.c.conversation_id == conversation_id).order_by(feedback.c.id)
            ).all()
        return [{"turn": r.turn, "rating": r.rating, "comment": r.comment} for r in rows]
