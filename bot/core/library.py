"""What the answer plan reads besides the passages found: program records and passages by name.

Built once per index generation from the retriever; it holds nothing about a request.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..models import FAQ_KIND, Chunk, SearchResult
from ..retrieval import Retriever
from ..tokenize import JapaneseTokenizer
from .directory import Directory
from .intent import ProgramNames
from .passages import role_of
from .programs import ProgramRecord

ROLE_CANDIDATES = 40  # passages searched for a question about the document itself


class Library:
    def __init__(self, retriever: Retriever, records: dict[str, ProgramRecord], corpus_dir: Path) -> None:
        self.retriever = retriever
        self.tokenizer: JapaneseTokenizer = retriever.tokenizer
        self.records = records
        # the directory's passages are cited by name only (bot/core/directory.py), never read as the documents' text
        self._directory_chunks = {c.section.split(" > ")[-1]: c for c in retriever.index.directory}
        chunks = retriever.index.chunks
        self.chunks: list[Chunk] = list(chunks)
        self._by_program: dict[str, list[Chunk]] = {}
        for c in chunks:
            if c.program:
                self._by_program.setdefault(c.program, []).append(c)
        self._rules = {c.section.split(" > ")[-1]: c for c in chunks if c.kind == "rules"}
        self.faq_chunks = [c for c in chunks if c.kind == FAQ_KIND]  # operators' Q&A pairs, one a passage
        self._roles: dict[str, list[Chunk]] = {}
        for c in chunks:
            self._roles.setdefault(role_of(c), []).append(c)
        self._directions = _directions(corpus_dir)
        # each direction's heading is cited by the first passage under it
        self._direction_chunks: dict[str, Chunk] = {}
        for c in chunks:
            if not c.program and c.direction and c.direction not in self._direction_chunks and "施策の方向性" in c.section:
                self._direction_chunks[c.direction] = c
        # names owners may use: records, and guides indexed without a record
        names = {name: r.aliases for name, r in records.items()}
        for c in chunks:
            if c.program and c.program not in names:
                names[c.program] = tuple(c.alias_list())
        # a law or scheme (kind other, carrying out no measure) may be only what a seminar or desk asked for is about
        self.names = ProgramNames(
            names.items(), topics=[n for n, r in records.items() if r.kind == "other" and not r.measure],
            terms={name: r.terms for name, r in records.items() if r.terms},
        )
        # what a guide now covers is the documents' own program, no longer 'not in the documents'
        # (desks a guide names beyond itself, 「Tcyssの電話番号は？」 -> the police's cyber desk, are read from the whole directory)
        self.desks_beyond = Directory.from_records(retriever.index.directory_entries)
        self.directory = self.desks_beyond.without(list(names.items()))

    def directory_passage(self, name: str) -> SearchResult | None:
        """The directory's passage on an entry, to cite when an answer names it."""
        chunk = self._directory_chunks.get(name)
        return SearchResult(chunk, 1.0) if chunk is not None else None

    def program_chunks(self, name: str) -> list[Chunk]:
        return self._by_program.get(name, [])

    def program_order(self, text: str, n: int = 40) -> dict[str, int]:
        """Programs by how well their guides' words match `text` (BM25 over guides only, where the
        general search demotes guides): program name -> rank, best 1."""
        ranking = self.retriever.bm25(self.retriever.prepare(text), n, kind="guide")
        order: dict[str, int] = {}
        for i, _ in sorted(ranking.hits.items(), key=lambda x: x[1][0]):
            name = self.chunks[i].program
            if name and name not in order:
                order[name] = len(order) + 1
        return order

    def policy_passage(self, measure: str) -> SearchResult | None:
        return self.retriever.policy_passage(measure)

    def program_guides(self, measure: str) -> list[SearchResult]:
        return self.retriever.program_guides(measure)

    def rules_passages(self) -> list[Chunk]:
        """Every section of the common rules (corpus/rules/common-rules.md)."""
        return list(self._rules.values())

    def rules_passage(self, section: str) -> SearchResult | None:
        chunk = self._rules.get(section)
        return SearchResult(chunk, 1.0) if chunk is not None else None

    def role_passages(self, role: str, results: list[SearchResult], query: str = "") -> list[SearchResult]:
        """Passages of a role (a statistic is read with the problems it measures), best first."""
        roles = {"statistic": ("statistic", "problem")}.get(role, (role,))
        found = [r for r in results if role_of(r.chunk) in roles]
        if not query:
            return found
        wanted = {c.id for r in roles for c in self._roles.get(r, [])}
        if not wanted:
            return found
        # the passages of that role the whole document holds for the question, beside those found
        seen = {r.chunk.id for r in found}
        ranked = self.retriever.search(query, ROLE_CANDIDATES, kind="policy")
        return found + [r for r in ranked if r.chunk.id in wanted and r.chunk.id not in seen]

    def directions(self) -> list[tuple[str, str, SearchResult | None]]:
        """The directions ①–⑤: marker, name, and the passage that heads it."""
        out = []
        for marker, name in self._directions.items():
            chunk = self._direction_chunks.get(marker)
            out.append((marker, name, SearchResult(chunk, 1.0) if chunk else None))
        return out


def _directions(corpus_dir: Path) -> dict[str, str]:
    """The policy's directions ①–⑤ as its metadata names them."""
    for meta in sorted(corpus_dir.glob("**/*.meta.yaml")):
        data = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
        if isinstance(data, dict) and isinstance(data.get("directions"), dict):
            return {str(k): str(v) for k, v in data["directions"].items()}
    return {}
