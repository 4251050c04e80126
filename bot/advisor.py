"""The advisor core: every surface (terminal, web, Slack, evals) calls `search()` and `ask()` here.

Models and the index are loaded once, when the Advisor is built.
"""

from __future__ import annotations

import uuid
from importlib import metadata

from . import guard
from .answer import compose, refusal
from .embedding import make_embedder
from .index import LoadedIndex, load_index, read_manifest
from .models import Answer, SearchResult
from .retrieval import Query, Retriever
from .settings import Settings, get_settings
from .terms import get_term_map
from .tokenize import get_tokenizer

# Below this BM25 score (per unit of own-word weight, as the question's own words are repeated
# in the BM25 query), a question that names nothing of the SME domain has found nothing.
MIN_BM25_WITHOUT_DOMAIN = 3.0


class BadRequest(ValueError):
    """Input the advisor cannot take (empty, too long); the message says what is wrong."""


class Advisor:
    def __init__(self, settings: Settings | None = None, index: LoadedIndex | None = None) -> None:
        self.settings = settings or get_settings()
        self.tokenizer = get_tokenizer()
        self.terms = get_term_map()
        self._use(index or load_index(self.settings))

    def _use(self, index: LoadedIndex) -> None:
        self.index = index
        model = index.manifest.get("settings", {}).get("embedding_model", self.settings.embedding_model)
        self.embedder = make_embedder(model, self.settings.cache_dir) if index.collection is not None else None
        self.retriever = Retriever(index, self.tokenizer, self.embedder, self.terms, self.settings)

    def refresh(self) -> bool:
        """Switch to a newer generation if an ingest has finished since; True if it did."""
        manifest = read_manifest(self.settings.index_dir)
        if manifest is None or manifest.get("generation") == self.index.manifest.get("generation"):
            return False
        self._use(load_index(self.settings))
        return True

    # -- input -----------------------------------------------------------------------------------

    def check_message(self, text: object, what: str = "question") -> str:
        if not isinstance(text, str):
            raise BadRequest(f"the {what} must be a string")
        text = text.strip()
        if not text:
            raise BadRequest(f"the {what} is empty: ask something, e.g. 「展示会に出たいのですが、支援はありますか」")
        limit = self.settings.max_message_chars
        if len(text) > limit:
            raise BadRequest(f"the {what} has {len(text):,} characters; the limit is {limit:,}")
        return text

    # -- core ------------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        method: str = "hybrid",
        direction: str | None = None,
        kind: str | None = None,
    ) -> list[SearchResult]:
        query = self.check_message(query, "query")
        if k is not None and not 1 <= k <= 50:
            raise BadRequest("k must be between 1 and 50")
        self.refresh()
        return self.retriever.search(query, k, method=method, direction=direction, kind=kind)

    def ask(self, question: str, conversation_id: str | None = None) -> Answer:
        question = self.check_message(question)
        self.refresh()
        answer = self._answer(question)
        answer.conversation_id = conversation_id or uuid.uuid4().hex
        return answer

    def _answer(self, question: str) -> Answer:
        if guard.breaks_rules(question):
            return refusal(question, "rules")
        query = self.retriever.prepare(question)
        topic = guard.off_topic(question)
        # An everyday word does not outweigh two distinct SME measures named in the same question
        # (株価 in "事業承継の株式評価で株価の決め方を知りたい").
        if topic and len({m.entry.id for m in query.matches if m.entry.direction}) < 2:
            return refusal(question, "out_of_scope", topic=topic)
        results = self.retriever.search(question, self.settings.top_k, query=query)
        if not results or not self.in_domain(query, results):
            return refusal(question, "not_found")
        return compose(question, query, results, self.tokenizer, self.settings.answer_passages)

    def in_domain(self, query: Query, results: list[SearchResult]) -> bool:
        """Whether the passages found are evidence, not noise: a domain word or a strong BM25 match."""
        if query.matches:
            return True
        best_bm25 = max((r.raw.get("bm25", 0.0) for r in results), default=0.0)
        return best_bm25 / self.settings.own_word_weight >= MIN_BM25_WITHOUT_DOMAIN

    # -- status ----------------------------------------------------------------------------------

    def health(self) -> dict:
        versions = {}
        for name in ("smebot", "chromadb", "bm25s", "sudachipy", "langchain"):
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = None
        manifest = self.index.manifest
        return {
            "status": "ok",
            "index": {
                "chunks": self.index.size,
                "files": len(manifest.get("files", {})),
                "generation": manifest.get("generation"),
                "embedding_model": manifest.get("settings", {}).get("embedding_model"),
                "created": manifest.get("created"),
            },
            "versions": versions,
        }
