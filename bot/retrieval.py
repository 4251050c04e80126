"""Hybrid retrieval: BM25 on Sudachi tokens fused with dense vectors from Chroma.

A question is first widened with the term map (owners' words to the policy's words). BM25 (bm25s,
sparse matrices: a query touches only the postings of its tokens) and the dense model each rank
candidates; reciprocal rank fusion combines the two rankings with weights set by measurement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .core.aspects import read_aspects
from .embedding import Embedder
from .index import LoadedIndex
from .models import FAQ_KIND, SearchResult
from .settings import Settings
from .terms import TermMap, TermMatch, policy_words
from .text import compact
from .tokenize import JapaneseTokenizer
from .vectorstore import VectorStoreDown, note_down

METHODS = ("bm25", "dense", "hybrid")
# A guide passage's fused score is scaled by this when the question is about a measure, not a program.
GUIDE_WEIGHT_FOR_POLICY_QUESTIONS = 0.6
OUTSIDE_GUIDE_WEIGHT = 0.8  # a national scheme's guide, not named in the question, beside the Tokyo documents
ASPECT_BOOST = 1.6  # a guide section that says what is asked
_ASPECT_WORD = re.compile(
    r"^(窓口|電話|番号|連絡先|問い合わせ|上限|限度|限度額|金額|助成率|補助率|いくら|最大|申請|申し込み|締め切り|期限|対象|条件|要件|相談)$"
)
NEAR_DUPLICATE = 0.8  # share of the shorter passage's character pairs found in the other
_TWIN_PAIRS = 100_000  # pairs of passages whose near-duplicate verdict is kept (then all forgotten), ~10 MB
OVERVIEW_CANDIDATES = 60  # passages searched for a direction's overview
NAMED_PROGRAM_BOOST = 1.4  # the passages of a program the question names


@dataclass
class Query:
    """A question as the retriever sees it: its own tokens plus what the term map adds."""

    text: str
    tokens: list[str]
    expansion: list[str] = field(default_factory=list)
    expansion_tokens: list[str] = field(default_factory=list)
    matches: list[TermMatch] = field(default_factory=list)
    # what the understanding read (bot.core.aspects.read_aspects): the guide sections that say what is
    # asked, and whether it asks a program's detail; None: read from the text (a bare search)
    sections: tuple[str, ...] | None = None
    asks_detail: bool | None = None

    @property
    def all_tokens(self) -> list[str]:
        return self.tokens + [t for t in self.expansion_tokens if t not in self.tokens]

    def weighted_tokens(self, own_weight: int) -> list[str]:
        """BM25 query tokens: the owner's own words count `own_weight` times, added words once."""
        return self.tokens * own_weight + [t for t in self.expansion_tokens if t not in self.tokens]

    @property
    def dense_text(self) -> str:
        return "、".join([self.text, *self.expansion])  # 、 not a space: spaces between Japanese words are squeezed out


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
        self._directory = {c.id: c for c in index.directory}  # cited passages outside the search (英語で restates them)
        self._masks: dict[tuple[str | None, str | None], np.ndarray] = {}
        # program names and their distinctive parts (展示会出展助成事業・展示会出展助成プラス -> each)
        names = {c.program for c in index.chunks if c.program}
        self._aliases = {c.program: c.alias_list() for c in index.chunks if c.program and c.aliases}
        generic = {"事業", "支援", "助成", "助成金", "中小企業", "中小", "企業", "東京都", "東京", "都", "公社", "推進", "促進", "対策"}
        self._program_words = {n: {t for t in tokenizer.tokens(n) if t not in generic} for n in names}
        self._parts: dict[str, list[str]] = {}  # a program's name parts, compacted (see _parts_of)
        self._twins: dict[int, bool] = {}  # a pair of passages -> near duplicates? (see _twin)
        # policy measure <-> program guides, keyed by the measure's heading without its brackets
        self._policy_for: dict[str, int] = {}
        self._guides_for: dict[str, list[int]] = {}
        programs_seen: set[str] = set()
        self._tokyo_programs = {c.program for c in index.chunks if c.program and c.measure}  # carrying out a measure of the policy
        self._program_chunks: dict[str, list[int]] = {}
        for i, c in enumerate(index.chunks):
            if c.program:
                self._program_chunks.setdefault(c.program, []).append(i)
            if c.program and c.measure and c.program not in programs_seen:
                programs_seen.add(c.program)
                self._guides_for.setdefault(measure_key(c.measure), []).append(i)
            elif not c.program and "当面の施策展開" in c.section:
                self._policy_for.setdefault(measure_key(c.section.split(" > ")[-1]), i)

    # -- query ---------------------------------------------------------------------------------

    def prepare(
        self,
        text: str,
        use_term_map: bool | None = None,
        *,
        tokens: list[str] | None = None,
        matches: list[TermMatch] | None = None,
    ) -> Query:
        """The question as searched; tokens and term matches already computed for it can be passed in."""
        use = self.settings.use_term_map if use_term_map is None else use_term_map
        tokens = self.tokenizer.tokens(text) if tokens is None else tokens
        if not use:
            matches = []
        elif matches is None:
            matches = self.terms.matches(text, tokens)
        expansion = policy_words(matches)
        # joined with 、: a space would be squeezed out and glue サイバーセキュリティ to ポータルサイト
        expansion_tokens = self.tokenizer.tokens("、".join(expansion)) if expansion else []
        return Query(text, tokens, expansion, expansion_tokens, matches)

    # -- rankings ------------------------------------------------------------------------------

    def _mask(self, direction: str | None, kind: str | None) -> np.ndarray | None:
        """BM25 weights that keep to a direction or kind; built once per filter, not per query."""
        if direction is None and kind is None:
            return None
        key = (direction, kind)
        if key not in self._masks:
            self._masks[key] = np.array(
                [
                    (direction is None or c.direction == direction) and (kind is None or c.kind == kind)
                    for c in self.index.chunks
                ],
                dtype=np.float32,
            )
        return self._masks[key]

    def bm25(self, query: Query, n: int, direction: str | None = None, kind: str | None = None) -> Ranking:
        tokens = query.weighted_tokens(self.settings.own_word_weight)
        if not tokens or self.index.bm25 is None or not self.index.chunks:
            return Ranking()
        n = min(n, len(self.index.chunks))
        docs, scores = bm25_top(self.index.bm25, tokens, n, self._mask(direction, kind))
        hits = {}
        for rank, (doc, score) in enumerate(zip(docs, scores), start=1):
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
        try:
            res = self.index.collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
                n_results=min(n, len(self.index.chunks)),
                where=where or None,
                include=["distances"],
            )
        except VectorStoreDown:  # BM25 ranks alone; the turn's answer says it was made without this
            note_down("vector_store")
            return Ranking()
        hits = {}
        for rank, (cid, dist) in enumerate(zip(res["ids"][0], res["distances"][0]), start=1):
            pos = self._position.get(cid)
            if pos is not None:
                hits[pos] = (rank, 1.0 - float(dist))
        return Ranking(hits)

    def policy_passage(self, measure: str) -> SearchResult | None:
        """The first policy passage under a measure heading such as （事業継続へのサポート）."""
        i = self._policy_for.get(measure_key(measure))
        return SearchResult(self.index.chunks[i], 1.0) if i is not None else None

    def program_guides(self, measure: str) -> list[SearchResult]:
        """The first passage of each program guide that implements a measure."""
        return [SearchResult(self.index.chunks[i], 1.0) for i in self._guides_for.get(measure_key(measure), [])]

    def guide_passage(self, guide_id: str) -> SearchResult | None:
        """The first passage of the guide file corpus/guides/<guide_id>.md."""
        for first, *_ in self._program_chunks.values():
            if self.index.chunks[first].source.endswith(f"guides/{guide_id}.md"):
                return SearchResult(self.index.chunks[first], 1.0)
        return None

    def program_passages(self, name: str, k: int = 4) -> list[SearchResult]:
        """A program's guide looked up by (part of) its name: its passages in order."""
        key = compact(name)
        found = [
            self.index.chunks[i]
            for program, chunks in self._program_chunks.items()
            if key and key in compact(program)
            for i in chunks
        ]
        return [SearchResult(c, 1.0 - 0.01 * n) for n, c in enumerate(found[:k])]

    def passages(self, ids: list[str]) -> list[SearchResult]:
        """Known passages again, in the given order (to restate an answer, e.g. in English)."""
        return [
            SearchResult(self.index.chunks[self._position[i]] if i in self._position else self._directory[i], 1.0 - 0.01 * n)
            for n, i in enumerate(ids)
            if i in self._position or i in self._directory
        ]

    def overview(self, query: Query, direction: str, k: int) -> list[SearchResult]:
        """One passage for each measure of a direction, the measures the question touches first."""
        # enough candidates to meet most measures; the rest are filled in below in document order
        # (asking for every passage made each overview cost the whole index)
        ranked = self.search(query.text, OVERVIEW_CANDIDATES, direction=direction, query=query)
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
        # a question about a measure reads the policy first; a question about a program, its guide
        demote_guides = kind is None and not self.program_intent(query)
        lift = None if demote_guides else query
        rankings: dict[str, tuple[Ranking, float]] = {}
        if method in ("bm25", "hybrid"):
            rankings["bm25"] = (self.bm25(query, n, direction, kind), self.settings.bm25_weight)
        if method in ("dense", "hybrid"):
            rankings["dense"] = (self.dense(query, n, direction, kind), self.settings.dense_weight)
        return self.fuse(rankings, k, demote_guides=demote_guides, lift=lift)

    def _named_programs(self, query: Query) -> set[str]:
        """Programs the question names, wholly or by most of their distinctive words."""
        text = compact(query.text)
        have = set(query.tokens)
        named = set()
        for program, words in self._program_words.items():
            if any(len(part) >= 4 and part in text for part in self._parts_of(program)):
                named.add(program)
            elif words and len(words & have) / len(words) >= 0.5:
                named.add(program)
        return named

    def _program_boosts(self, query: Query, fused: dict[int, float]) -> dict[int, float]:
        """Lift (adding it to `fused` when missing), among the programs the question is about, the guide sections that say what it asks.

        The programs are those it names and the two best found before lifting: boilerplate such as
        「問い合わせ先の窓口・電話番号は…確認できていません」 in other guides must not win on its words."""
        sections = set(query.sections if query.sections is not None else read_aspects(query.text)[0])
        named = self._named_programs(query)
        # which program the question is about: BM25 on its topic words alone (without 窓口, 上限, …)
        topic = [t for t in query.weighted_tokens(1) if not _ASPECT_WORD.search(t)]
        found: list[str] = []
        if topic and self.index.bm25 is not None:
            docs, scores = bm25_top(self.index.bm25, topic, min(15, len(self.index.chunks)))
            for doc, score in zip(docs, scores):
                program = self.index.chunks[int(doc)].program
                if score > 0 and program and program not in found:
                    found.append(program)
        # the two best found, and the best of Tokyo's own among them when national schemes took both places
        home = [p for p in found if p in self._tokyo_programs]
        relevant = named | set(found[:2]) | set(home[:1])
        if sections:
            # the section that says what is asked starts from its program's best score, reached or not:
            # 「助成率・上限」 need not repeat the words of the question (the program's name, 見本市…)
            for program in relevant:
                chunks = self._program_chunks.get(program, [])
                best = max((fused[p] for p in chunks if p in fused), default=0.0)
                for p in chunks:
                    if best > 0 and self.index.chunks[p].section.split(" > ")[-1] in sections:
                        fused[p] = max(fused.get(p, 0.0), best)
        boosts: dict[int, float] = {}
        for p in fused:
            c = self.index.chunks[p]
            if c.program not in relevant:
                continue
            factor = NAMED_PROGRAM_BOOST if c.program in named else 1.0
            if sections and c.section.split(" > ")[-1] in sections:
                factor *= ASPECT_BOOST
            if factor != 1.0:
                boosts[p] = factor
        return boosts

    def _parts_of(self, program: str) -> list[str]:
        parts = self._parts.get(program)
        if parts is None:  # once per program and index generation, not on every question
            parts = [p for p in re.split(r"[・（）()、]", program) if p] + self._aliases.get(program, [])
            parts = self._parts[program] = [compact(p) for p in parts]
        return parts

    def program_intent(self, query: Query) -> bool:
        """Whether a question is about a concrete program (its name, amounts, dates, how to apply)."""
        detail = query.asks_detail if query.asks_detail is not None else read_aspects(query.text)[1]
        if detail:
            return True
        text = compact(query.text)
        return any(len(part) >= 4 and part in text for program in self._program_words for part in self._parts_of(program))

    def _without_near_duplicates(self, order: list[int], k: int) -> list[int]:
        """The first k passages, a near duplicate of one already taken folded into it.

        Two policy passages whose text is mostly the same (reissued or excerpted documents) would
        fill the reader's window twice; of the two, the fuller one keeps the better place."""
        kept: list[int] = []
        chunks = self.index.chunks
        for p in order:
            c = chunks[p]
            twin = None
            if not c.program:  # only policy passages are compared
                twin = next((i for i, q in enumerate(kept) if not chunks[q].program and self._twin(p, q)), None)
            if twin is None:
                kept.append(p)
            elif len(_bigrams(c.text)) > len(_bigrams(chunks[kept[twin]].text)):
                kept[twin] = p
            if len(kept) == k:
                break
        return kept

    def _twin(self, p: int, q: int) -> bool:
        """Whether two passages are near duplicates. A fixed fact of the index, so each pair is
        compared once (the same candidates meet on many questions), not on every search."""
        key = p * len(self.index.chunks) + q if p < q else q * len(self.index.chunks) + p
        verdict = self._twins.get(key)
        if verdict is None:
            g, h = _bigrams(self.index.chunks[p].text), _bigrams(self.index.chunks[q].text)
            verdict = bool(g and h and len(g & h) / min(len(g), len(h)) >= NEAR_DUPLICATE)
            if len(self._twins) >= _TWIN_PAIRS:
                self._twins.clear()
            self._twins[key] = verdict
        return verdict

    def fuse(
        self,
        rankings: dict[str, tuple[Ranking, float]],
        k: int,
        demote_guides: bool = False,
        lift: Query | None = None,
    ) -> list[SearchResult]:
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
        if demote_guides:  # a question about the policy: program guides and operators' Q&A a step behind
            for p in fused:
                if self.index.chunks[p].program or self.index.chunks[p].kind == FAQ_KIND:
                    fused[p] *= GUIDE_WEIGHT_FOR_POLICY_QUESTIONS
        # the guides of national schemes (a program carrying out no measure of the Tokyo policy) a little
        # behind the Tokyo documents, unless the question names the scheme: the help desk is Tokyo's
        named = self._named_programs(lift) if lift is not None else set()
        for p in fused:
            c = self.index.chunks[p]
            if c.program and not c.measure and c.program not in named:
                fused[p] *= OUTSIDE_GUIDE_WEIGHT
        if lift is not None:
            for p, factor in self._program_boosts(lift, fused).items():
                fused[p] *= factor
        order = self._without_near_duplicates(sorted(fused, key=lambda p: (-fused[p], p)), k)
        return [
            SearchResult(
                self.index.chunks[p],
                fused[p] / best,
                ranks={m: r.hits[p][0] for m, (r, _) in rankings.items() if p in r.hits},
                raw={m: r.hits[p][1] for m, (r, _) in rankings.items() if p in r.hits},
            )
            for p in order
        ]


def bm25_top(bm25, tokens: list[str], k: int, weight_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The documents and scores of bm25s' `retrieve([tokens], k=k, weight_mask=...)` for one query.

    Computed as bm25s does, to the bit: each posting of each query token (a token repeated, as the
    owner's own words are, counts again) is added into float32 scores in the same order, then the
    same top-k. But in one np.add.at over all the query's postings instead of one per token, and
    without retrieve()'s progress bar and pool (together about half the time of a BM25 query).
    Anything else than an eager numpy index without a stored corpus goes through retrieve() itself.
    """
    index = getattr(bm25, "scores", None)
    if (
        not tokens
        or getattr(bm25, "backend", None) != "numpy"
        or getattr(bm25, "corpus", None) is not None
        or not isinstance(index, dict)
        or not {"data", "indices", "indptr", "num_docs"} <= index.keys()
        or k > index["num_docs"]
    ):
        docs, scores = bm25.retrieve([tokens], k=k, show_progress=False, weight_mask=weight_mask, n_threads=0)
        return docs[0], scores[0]
    ids = np.asarray(bm25.get_tokens_ids(tokens), dtype=np.dtype(bm25.int_dtype))
    starts = index["indptr"][ids]
    lengths = index["indptr"][ids + 1] - starts
    # where each posting sits, token after token, as a loop over the tokens would read them
    at = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    scores = np.zeros(index["num_docs"], dtype=np.dtype(bm25.dtype))
    np.add.at(scores, index["indices"][at], index["data"][at])
    nonoccurrence = getattr(bm25, "nonoccurrence_array", None)
    if nonoccurrence is not None:
        scores += nonoccurrence[ids].sum()
    if weight_mask is not None:
        scores *= weight_mask
    from bm25s import selection

    top_scores, top_docs = selection.topk(scores, k=k, backend="auto", sorted=True)
    return top_docs, top_scores


@lru_cache(maxsize=1024)
def _bigrams(text: str) -> frozenset[str]:
    # a passage meets the fold on many questions: its character pairs are counted once (bounded:
    # about 10 KB a passage)
    t = compact(text)
    return frozenset(t[i : i + 2] for i in range(len(t) - 1))


def measure_key(heading: str) -> str:
    """（事業継続へのサポート）, 事業継続へのサポート and (事業継続へのサポート) are one measure."""
    return compact(heading).strip("()（）")
