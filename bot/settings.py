"""One settings object for the whole advisor, read from SMEBOT_* environment variables once.

Code below the adapters never reads os.environ: it is handed a Settings.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMEBOT_", env_file=".env", extra="ignore", populate_by_name=True)

    corpus_dir: Path = Field(Path("corpus"), description="Documents to index.")
    data_dir: Path = Field(Path("data"), description="Index, Chroma files and caches.")
    embedding_model: str = Field(
        "chive-sif",
        description=(
            "Dense model: 'chive-sif' (offline default: ja-ginza's chiVe word vectors, SIF-weighted), "
            "'minilm' (the bundled English all-MiniLM-L6-v2), 'none' (BM25 only), or "
            "'st:NAME_OR_PATH' for any sentence-transformers model a deployment can load "
            "(e.g. st:cl-nagoya/ruri-v3-130m or st:intfloat/multilingual-e5-small)."
        ),
    )
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("SMEBOT_DATABASE_URL", "DATABASE_URL"),
        description="Conversation store (SQLAlchemy URL); default: SQLite at data_dir/smebot.db.",
    )
    chroma_url: str | None = Field(
        None, description="Use a Chroma server (http://host:port) instead of files under data_dir."
    )
    # What a dependency that is down or frozen may cost a request (see bot/vectorstore.py, bot/store.py).
    chroma_timeout: float = Field(
        2.0, gt=0, description="Seconds a Chroma server may take to answer one call; past it, search uses BM25 alone."
    )
    chroma_retry_after: float = Field(
        5.0, ge=0, description="Seconds a Chroma server that failed is left alone before it is tried again."
    )
    db_timeout: float = Field(
        3.0,
        gt=0,
        description="Seconds the conversation store may take to connect or to answer one statement "
        "(PostgreSQL connect and statement timeouts, a deadline on each wait for the server; SQLite's busy timeout).",
    )
    llm: str | None = Field(
        None,
        description="Optional chat model as provider:model (openai:gpt-4o-mini, anthropic:claude-3-5-haiku-latest, "
        "ollama:qwen2.5:7b); needs that provider's langchain package and key. Unset: no model, no network.",
    )
    llm_max_steps: int = Field(4, ge=1, le=10, description="Model calls per answer (each tool call takes one).")
    llm_timeout: float = Field(
        20.0, gt=0, description="Seconds the model may take for one answer; past them the HTTP call is closed."
    )
    llm_max_tokens: int = Field(800, ge=16, le=32_000, description="Tokens the model may write per call (sent as max_tokens).")
    llm_stream: bool = Field(
        True, description="Ask the server to stream (a runaway reply is cut early); the user sees text only once it is checked."
    )
    llm_tools: bool = Field(
        True, description="Offer the model the search tool (tool_choice=auto); off for servers without tool support."
    )
    slack_bot_token: str | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "SMEBOT_SLACK_BOT_TOKEN"))
    slack_app_token: str | None = Field(None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "SMEBOT_SLACK_APP_TOKEN"))
    slack_signing_secret: str | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "SMEBOT_SLACK_SIGNING_SECRET")
    )
    slack_api_url: str | None = Field(None, description="Slack Web API base URL (a stand-in server in tests).")
    # Reciprocal rank fusion. The weights were set by measurement on evals/dev.jsonl (see README).
    bm25_weight: float = 1.0
    dense_weight: float = 0.2
    rrf_k: int = 10
    candidates: int = 40
    own_word_weight: int = Field(3, ge=1, le=5, description="BM25 weight of the question's own words over added ones.")
    use_term_map: bool = True
    top_k: int = Field(5, ge=1, le=50)
    answer_passages: int = Field(4, ge=1, le=10)
    max_message_chars: int = Field(4000, ge=10)
    # What ingest takes from corpus/ (README: What the corpus may contain)
    max_text_mb: float = Field(5.0, gt=0, description="A text, Markdown or jGrants file larger than this is not indexed.")
    max_pdf_mb: float = Field(50.0, gt=0, description="A PDF larger than this is not indexed.")
    max_file_passages: int = Field(2000, ge=1, description="A file that gives more passages than this is not indexed.")
    max_index_passages: int = Field(50000, ge=1, description="Passages the index holds at most; new files past it are not indexed.")
    link_hosts: str = Field(
        "", description="Hosts (comma-separated) whose links passages may show besides those the guides' sources name."
    )
    # Limits (bot/throttle.py): what one client, or a burst, may take of a process.
    max_turns: int = Field(
        8, ge=1, le=256, description="Turns (chat, stream, diagnose, search, draft) computed at once in one process."
    )
    max_waiting: int = Field(
        32, ge=0, le=10_000, description="Requests that may wait for a turn slot; past them a request gets 429 at once."
    )
    turn_wait: float = Field(5.0, ge=0, description="Seconds a request may wait for a turn slot before it gets 503.")
    request_timeout: float = Field(
        30.0, gt=0, description="Seconds a turn may take; past it the request gets 503 and the turn is not stored."
    )
    rate_limit: str = Field(
        "120/minute",
        description="Requests to /api/ per client address per window, e.g. '120/minute;20/second'; 'none' for no limit.",
    )
    slack_rate_limit: str = Field("30/minute", description="Messages answered per Slack user per window; 'none' for no limit.")
    max_body_bytes: int = Field(262_144, ge=1024, description="Largest request body taken; a larger one gets 413.")
    # The connection itself (bot/http_server.py, `smebot serve`)
    max_header_bytes: int = Field(
        65_536, ge=4096, description="Largest request line and headers taken together; more (a huge header, thousands of them) gets 400."
    )
    head_timeout: float = Field(
        10.0, gt=0, description="Seconds a connection may take to send a request's line and headers; past them it is closed."
    )
    keep_alive_timeout: float = Field(5.0, gt=0, description="Seconds an idle keep-alive connection is kept open.")
    requests_per_connection: int = Field(
        100, ge=1, description="Requests served on one keep-alive connection before it is closed, so clients spread over restarted workers."
    )
    forwarded_allow_ips: str = Field(
        "",
        validation_alias=AliasChoices("SMEBOT_FORWARDED_ALLOW_IPS", "FORWARDED_ALLOW_IPS"),
        description="Proxies (comma-separated addresses, or *) whose X-Forwarded-For is believed; none by default, "
        "so no client, not even one on this host, chooses the address the rate limit counts.",
    )
    # Privacy (bot/privacy.py, bot/store.py)
    retention_days: int = Field(
        90, ge=0, description="Conversations untouched for longer are deleted (at start-up, hourly, `smebot purge`); 0 keeps them."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins another site's page may call the API from; none by default."
    )

    @field_validator("rate_limit", "slack_rate_limit")
    @classmethod
    def _readable_rate(cls, value: str) -> str:
        from .throttle import parse_rate

        try:
            parse_rate(value)
        except ValueError:
            raise ValueError(f"cannot read the rate {value!r}: use e.g. '120/minute' or '120/minute;20/second', or 'none'")
        return value

    @field_validator("embedding_model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value in {"chive-sif", "minilm", "none"} or value.startswith("st:"):
            return value
        raise ValueError(
            f"unknown embedding model {value!r}: use chive-sif, minilm, none or st:NAME_OR_PATH"
        )

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def conversation_db(self) -> str:
        if self.database_url:
            # the usual postgres:// and postgresql:// spellings, run on psycopg 3
            return (
                self.database_url.replace("postgres://", "postgresql+psycopg://", 1)
                .replace("postgresql://", "postgresql+psycopg://", 1)
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'smebot.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()


_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$")


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """Values of the environment's keys, tokens and passwords: never to appear in an answer."""
    env = os.environ if environ is None else environ
    return sorted({v for k, v in env.items() if _SECRET_NAME.search(k.upper()) and len(v) >= 8}, key=len, reverse=True)
