"""The on-disk index: one manifest naming the generation that serves, and that generation's files.

    data/index/manifest.json      which generation serves, file hashes, model, chunker version
    data/index/gen-N/chunks.jsonl the passages (text and metadata), in index order
    data/index/gen-N/bm25/        the bm25s index over Sudachi tokens
    data/index/gen-N/programs.json the program records (bot.core.programs) of the generation
    data/chroma/                  Chroma's files; collection smebot-<model>-gN holds the vectors

Ingest writes a whole new generation and then replaces manifest.json in one rename, so readers
see either the old index or the new one, never half of one, and a failed ingest leaves the old
generation serving.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.programs import ProgramRecord, read_programs
from .models import Chunk
from .settings import Settings

MANIFEST = "manifest.json"


class IndexMissing(RuntimeError):
    """No usable index: run `smebot ingest` first."""


def manifest_stamp(index_dir: Path) -> tuple[int, int, int] | None:
    """What changes when an ingest replaces the manifest (by rename: a new inode), read without
    parsing it: the manifest lists every file's passages and grows with the corpus."""
    try:
        st = (index_dir / MANIFEST).stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    path = index_dir / MANIFEST
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_manifest(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Atomic replace: the moment the new generation starts serving."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=".manifest-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / MANIFEST)


def generation_dir(index_dir: Path, generation: int) -> Path:
    return index_dir / f"gen-{generation}"


def chroma_client(settings: Settings, timeout: float | None = None):
    """A Chroma client: files under the data dir, or the server `chroma_url` names.

    `timeout` bounds each call to a server (Chroma's own HTTP client waits forever). The client's
    constructor already calls the server, without it: bot.vectorstore calls this within a deadline.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        import httpx

        url = urlparse(settings.chroma_url)
        client = chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or 8000,
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
        if timeout is not None:
            # chromadb builds its httpx.Client with timeout=None and offers no setting for it
            client._server._session.timeout = httpx.Timeout(timeout)
        return client
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def write_chunks(path: Path, chunks: list[Chunk]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")


def read_chunks(path: Path) -> list[Chunk]:
    with path.open(encoding="utf-8") as f:
        return [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]


@dataclass
class LoadedIndex:
    """What a serving process holds in memory: passages, BM25, and the Chroma collection."""

    manifest: dict[str, Any]
    chunks: list[Chunk]
    bm25: Any
    collection: Any | None  # a VectorStore; None when the index was built without a dense model
    # the program records, by program name (empty for an index built before programs.json)
    programs: dict[str, ProgramRecord] = field(default_factory=dict)
    # the directory's passages (what the documents do not cover, bot/core/directory.py): cited by name,
    # outside BM25 and the vector store, so they change no search
    directory: list[Chunk] = field(default_factory=list)
    directory_entries: list[dict[str, Any]] = field(default_factory=list)  # their names, aliases and desks

    @property
    def size(self) -> int:
        return len(self.chunks)


def load_index(settings: Settings) -> LoadedIndex:
    import bm25s

    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        raise IndexMissing(
            f"no index under {settings.index_dir}: run `smebot ingest` first (it indexes {settings.corpus_dir}/)"
        )
    gen_dir = generation_dir(settings.index_dir, manifest["generation"])
    chunks = read_chunks(gen_dir / "chunks.jsonl")
    bm25 = bm25s.BM25.load(str(gen_dir / "bm25"), load_corpus=False, show_progress=False) if chunks else None
    collection = None
    if manifest.get("collection"):
        from .vectorstore import VectorStore

        # connected now if it can be; a server that is down is tried again later, and BM25 serves meanwhile
        collection = VectorStore(settings, manifest["collection"])
        collection.connect()
    programs = read_programs(gen_dir / "programs.json")
    directory = read_chunks(gen_dir / "directory.jsonl") if (gen_dir / "directory.jsonl").exists() else []
    entries = json.loads((gen_dir / "directory.json").read_text(encoding="utf-8")) if (gen_dir / "directory.json").exists() else []
    return LoadedIndex(manifest, chunks, bm25, collection, programs, directory, entries)
