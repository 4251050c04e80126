"""Hybrid retrieval: BM25 on Sudachi tokens fused with dense vectors from Chroma.

A question is first widened with the term map (owners' words to the policy's words). BM25 (bm25s,
sparse matrices: a query touches only the postings of its tokens) and the dense model each rank
candidates; reciprocal rank fusion combines the two rankings with weights set by measurement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .embedding import Embedder
from .index import LoadedIndex
from .models import SearchResult
from .settings import Settings
from .terms import TermMap, TermMatch
from .tokenize import JapaneseTokenizer

METHODS = ("bm25", "dense", "hybrid")


@dataclass
class Query:
    """A question as the retriever sees it: its own tokens plus what the term map adds."""

    text: str
    tokens: list[str]
    expansion: list[str] = field(default_factory=list)
    expansion_tokens: list[str] = field(default_factory=list)
    matches: list[TermMatch] = field(default_factory=list)

    @property
    def all_tokens(self) -> list[str]:
        return self.tokens + [t for t in self.expansion_tokens if t not in self.tokens]

    def weighted_tokens(self, own_weight: int) -> list[str]:
        """BM25 query tokens: the owner's own words count `own_weight` times, added words once."""
        return self.tokens * own_weight + [t for t in self.expansion_tokens if t not in self.tokens]

    @property
    def dense_text(self) -> str:
        return " ".join([self.text, *self.expansion])


@dataclass
class Ranking:
    """One method's candidates: chunk index to (1-based rank, raw score)."""

    hits: dict[int, tuple[int, float]] = field(default_factory=dict)


class Retriever:
    def __init__(
        self,
        index: LoadedIndex,
        tokenizer: JapaneseTokenizer,
        embedder: Embedder | None,
        terms: TermMap,
        settings: Settings,
    ) -> None:
        self.index = index
        self.tokenizer = tokenizer
        self.embedder = embedder if index.collection is not None else None
        self.terms = terms
        self.settings = settings
        self._position = {c.id: i for i, c in enumerate(index.chunks)}

    # -- query ---------------------------------------------------------------------------------

    def prepare(self, text: str, use_term_map: bool | None = None) -> Query:
        use = self.settings.use_term_map if use_term_map is None else use_term_map
        tokens = self.tokenizer.tokens(text)
        matches = self.terms.matches(text, tokens) if use else []
        expansion: list[str] = []
        for m in matches:
            expansion += [w for w in m.entry.policy if w not in expansion]
        expansion_tokens = self.tokenizer.tokens(" ".join(expansion)) if expansion else []
        return Query(text, tokens, expansion, expansion_tokens, matches)

    # -- rankings ------------------------------------------------------------------------------

    def _mask(self, direction: str | None, kind: str | None) -> np.ndarray | None:
        if direction is None and kind is None:
            return None
        return np.array(
            [
                (direction is None or c.direction == direction) and (kind is None or c.kind == kind)
                for c in self.index.chunks
            ],
            dtype=np.float32,
        )

    def bm25(self, query: Query, n: int, direction: str | None = None, kind: str | None = None) -> Ranking:
        tokens = query.weighted_tokens(self.settings.own_word_weight)
        if not tokens or self.index.bm25 is None or not self.index.chunks:
            return Ranking()
        n = min(n, len(self.index.chunks))
        docs, scores = self.index.bm25.retrieve(
            [tokens], k=n, show_progress=False, weight_mask=self._mask(direction, kind), n_threads=1
        )
        hits = {}
        for rank, (doc, score) in enumerate(zip(docs[0], scores[0]), start=1):
            if score > 0:
                hits[int(doc)] = (len(hits) + 1, float(score))
        return Ranking(hits)

    def dense(self, query: Query, n: int, direction: str | None = None, kind: str | None = None) -> Ranking:
        if self.embedder is None or not self.index.chunks:
            return Ranking()
        vector = self.embedder.embed_query(query.dense_text)
        if not np.any(vector):
            return Ranking()
        where = {k: v for k, v in (("direction", direction), ("kind", kind)) if v is not None}
        if len(where) > 1:
            where = {"$and": [{k: v} for k, v in where.items()]}
        res = self.index.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
            n_results=min(n, len(self.index.chunks)),
            where=where or None,
            include=["distances"],
        )
        hits = {}
        for rank, (cid, dist) in enumerate(zip(res["ids"][0], res["distances"][0]), start=1):
            pos = self._position.get(cid)
            if pos is not None:
                hits[pos] = (rank, 1.0 - float(dist))
        return Ranking(hits)

    def passages(self, ids: list[str]) -> list[SearchResult]:
        """Known passages again, in the given order (to restate an answer, e.g. in English)."""
        return [
            SearchResult(self.index.chunks[self._position[i]], 1.0 - 0.01 * n)
            for n, i in enumerate(ids)
            if i in self._position
        ]

    def overview(self, query: Query, direction: str, k: int) -> list[SearchResult]:
        """One passage for each measure of a direction, the measures the question touches first."""
        ranked = self.search(query.text, len(self.index.chunks), direction=direction, query=query)
        order = {r.chunk.id: i for i, r in enumerate(ranked)}
        best: dict[str, SearchResult] = {}
        for r in ranked:
            if "当面の施策展開" in r.chunk.section:
                best.setdefault(r.chunk.section, r)
        for i, c in enumerate(self.index.chunks):  # measures the search did not reach, in document order
            if c.direction == direction and "当面の施策展開" in c.section and c.section not in best:
                best[c.section] = SearchResult(c, 0.0)
        picked = sorted(best.values(), key=lambda r: order.get(r.chunk.id, len(order)))[:k]
        top = max((r.score for r in picked), default=1.0) or 1.0
        for r in picked:  # every measure listed, whatever its score
            r.score = max(r.score, 0.5 * top)
        return picked

    # -- search --------------------------------------------------------------------------------

    def search(
        self,
        text: str,
        k: int | None = None,
        *,
        method: str = "hybrid",
        direction: str | None = None,
        kind: str | None = None,
        query: Query | None = None,
    ) -> list[SearchResult]:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}: one of {', '.join(METHODS)}")
        k = k or self.settings.top_k
        query = query or self.prepare(text)
        n = max(self.settings.candidates, k)
        rankings: dict[str, tuple[Ranking, float]] = {}
        if method in ("bm25", "hybrid"):
            rankings["bm25"] = (self.bm25(query, n, direction, kind), self.settings.bm25_weight)
        if method in ("dense", "hybrid"):
            rankings["dense"] = (self.dense(query, n, direction, kind), self.settings.dense_weight)
        return self.fuse(rankings, k)

    def fuse(self, rankings: dict[str, tuple[Ranking, float]], k: int) -> list[SearchResult]:
        """Weighted reciprocal rank fusion; the score is scaled so 1.0 means first everywhere."""
        rrf_k = self.settings.rrf_k
        active = {m: (r, w) for m, (r, w) in rankings.items() if r.hits and w > 0}
        if not active:
            return []
        best = sum(w / (rrf_k + 1) for _, w in active.values())
        fused: dict[int, float] = {}
        for ranking, weight in active.values():
            for pos, (rank, _) in ranking.hits.items():
                fused[pos] = fused.get(pos, 0.0) + weight / (rrf_k + rank)
        order = sorted(fused, key=lambda p: (-fused[p], p))[:k]
        return [
            SearchResult(
                self.index.chunks[p],
                fused[p] / best,
                ranks={m: r.hits[p][0] for m, (r, _) in rankings.items() if p in r.hits},
                raw={m: r.hits[p][1] for m, (r, _) in rankings.items() if p in r.hits},
            )
            for p in order
        ]
