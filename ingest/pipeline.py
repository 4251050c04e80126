"""Ingest: documents on disk become a new index generation, or nothing happens if nothing changed.

- Content hashes (file and metadata sidecar) decide what to re-read; an unchanged file keeps its
  passages and their vectors (copied from the serving collection, never re-embedded).
- A file removed from disk leaves the index.
- A file that cannot be read is reported by name; the rest is indexed, and if that file was
  indexed before, its previous passages keep serving until it can be read again.
- The new generation is written beside the serving one and switched in by one atomic rename of
  the manifest: an ingest that fails halfway leaves the previous index serving.
- The program records the documents carry (a guide's `facts:`, a jGrants file's records) are
  written beside the passages as programs.json; the manifest names each file's records, so an
  unchanged file keeps its records as it keeps its passages.
- Every document is screened before it is indexed (screening.py): who stands behind it, text that
  addresses the assistant (dropped; a document of unknown source holding any is rejected), and
  links to hosts the corpus's sources do not name (removed). A file over the size limit or giving
  more passages than a file may is rejected by name, and so are new files past the index's limit.
  The manifest keeps each file's trust, the hosts it vouches for and whether it holds links, so
  an unchanged file is screened again only when the hosts allowed have changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bot.core.programs import ProgramRecord, write_programs
from bot.index import generation_dir, read_chunks, read_manifest, write_chunks, write_manifest
from bot.core.directory import DIRECTORY_KIND, Directory, entries_of
from bot.models import Chunk
from bot.settings import Settings

from .loaders import Document, LoadError, facts_of, fingerprint, is_document, load
from .screening import PROGRAM, SOURCED, UNKNOWN, LinkPolicy, addresses_assistant, has_link, host_of

TOKENIZER_VERSION = 2
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class IngestReport:
    generation: int | None
    unchanged: bool = False
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # every indexed file's trust (program, sourced, unknown), and what screening did to files read now
    trust: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    chunks: int = 0
    directory: int = 0  # entries of what the documents do not cover, kept beside the index (not searched)
    directory_held: int = 0  # of them, those a guide now covers (read as the documents' own programs)
    embedded: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def discover(paths: list[Path]) -> dict[str, Path]:
    """Documents under the given files and folders, keyed by the source name shown in citations."""
    found: dict[str, Path] = {}
    for root in paths:
        if root.is_file():
            candidates = [root]
        elif root.is_dir():
            candidates = sorted(p for p in root.rglob("*") if p.is_file())
        else:
            raise FileNotFoundError(f"{root}: no such file or folder")
        for path in candidates:
            if is_document(path) or (root.is_file() and path == root):
                found[source_name(path)] = path
    return found


def source_name(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def settings_key(settings: Settings) -> dict:
    """What, besides the files, decides the passages and vectors: a change means re-indexing all."""
    from .chunking import CHUNKER_VERSION

    return {
        "embedding_model": settings.embedding_model,
        "chunker": CHUNKER_VERSION,
        "tokenizer": TOKENIZER_VERSION,
        "link_hosts": sorted(settings.link_hosts.replace(",", " ").split()),
    }


class IngestBusy(RuntimeError):
    """Another ingest holds the data dir's lock: two at once would write the same generation."""


LOCK_NAME = "ingest.lock"


def ingest(
    settings: Settings,
    paths: list[Path] | None = None,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    wait: float = 0.0,
) -> IngestReport:
    """Index `paths` (default: the corpus) into a new generation, one ingest at a time per data dir: a
    second one waits `wait` seconds for the first to end, then raises IngestBusy naming who holds it."""
    from filelock import FileLock, Timeout

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock_path = settings.data_dir / LOCK_NAME
    owner = settings.data_dir / (LOCK_NAME + ".owner")
    lock = FileLock(str(lock_path), timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        holder = owner.read_text(encoding="utf-8").strip() if owner.exists() else "another process"
        raise IngestBusy(
            f"another ingest is running on {settings.data_dir} ({holder}); this one did nothing. "
            "Run it again once that one has finished."
        ) from None
    try:
        owner.write_text(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}", encoding="utf-8")
        return _ingest(settings, paths, rebuild=rebuild, progress=progress)
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def _ingest(
    settings: Settings,
    paths: list[Path] | None = None,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    started = time.perf_counter()
    progress = progress or (lambda stage, done, total: None)
    index_dir = settings.index_dir
    scope = [Path(p) for p in (paths or [settings.corpus_dir])]
    found = discover(scope)
    old = read_manifest(index_dir)
    key = settings_key(settings)
    same_settings = old is not None and old.get("settings") == key and not rebuild
    old_files: dict[str, dict] = old["files"] if old else {}

    # Which files the new generation holds: everything found, plus old files outside the scope
    # that still exist on disk.
    scope_roots = [p.resolve() for p in scope]
    wanted: dict[str, Path] = dict(found)
    for src in old_files:
        path = Path(src)
        if src not in wanted and path.exists() and not _under(path.resolve(), scope_roots):
            wanted[src] = path

    hashes: dict[str, str] = {}
    report = IngestReport(generation=old["generation"] if old else None)
    for src, path in wanted.items():
        try:
            too_big = _over_size(path, settings)  # before reading it: a huge file costs nothing
            if too_big:
                report.failed[src] = too_big
                continue
            hashes[src] = fingerprint(path)
        except OSError as exc:
            report.failed[src] = f"{path}: cannot be read ({exc})"
    report.removed = sorted(s for s in old_files if s not in wanted)

    unchanged = {s for s, h in hashes.items() if same_settings and old_files.get(s, {}).get("sha256") == h}
    if same_settings and not report.removed and unchanged == set(wanted) and not report.failed:
        report.unchanged = True
        report.kept = sorted(unchanged)
        report.trust = {s: old_files[s].get("trust", UNKNOWN) for s in report.kept}
        report.chunks = sum(len(f["chunks"]) for f in old_files.values())
        report.seconds = time.perf_counter() - started
        return report

    # Reuse what can be reused from the serving generation.
    old_chunks: dict[str, Chunk] = {}
    old_records: dict[str, ProgramRecord] = {}
    if old is not None and same_settings:
        old_dir = generation_dir(index_dir, old["generation"])
        if (old_dir / "chunks.jsonl").exists():
            old_chunks = {c.id: c for c in read_chunks(old_dir / "chunks.jsonl")}
            if (old_dir / "directory.jsonl").exists():
                old_chunks.update({c.id: c for c in read_chunks(old_dir / "directory.jsonl")})
        old_records = _read_records(old_dir / "programs.json")

    files_out: dict[str, dict] = {}
    chunks: list[Chunk] = []
    records: list[ProgramRecord] = []
    todo = sorted(wanted)

    # Read what changed first: the links passages may show depend on every document's sources.
    loaded: dict[str, Document] = {}
    for i, src in enumerate(todo, start=1):
        progress("read", i, len(todo))
        if src in report.failed or (src in unchanged and _reusable(old_files.get(src), old_chunks, old_records)):
            continue
        try:
            loaded[src] = load(wanted[src], src)
        except LoadError as exc:
            report.failed[src] = str(exc)
    reused = [s for s in todo if s not in loaded and s not in report.failed]
    policy = LinkPolicy.of([
        *settings.link_hosts.replace(",", " ").split(),
        *(h for s in reused for h in old_files[s].get("hosts", [])),
        *(u for doc in loaded.values() for u in _vouched_urls(doc)),
    ])
    policy_key = hashlib.sha256("\n".join(sorted(policy.hosts)).encode()).hexdigest()[:16]
    relink = old is not None and old.get("link_hosts") != policy_key

    for src in todo:
        prior = old_files.get(src)
        if src in report.failed:  # could not be hashed or read
            _keep_previous(src, prior, old_chunks, old_records, files_out, chunks, records)
            continue
        doc = loaded.get(src)
        if doc is None and relink and prior.get("links"):  # unchanged, but its links are judged anew
            try:
                doc = load(wanted[src], src)
            except LoadError as exc:
                report.failed[src] = str(exc)
                _keep_previous(src, prior, old_chunks, old_records, files_out, chunks, records)
                continue
            report.kept.append(src)
        elif doc is None:
            file_chunks = [old_chunks[cid] for cid in prior["chunks"]]
            file_records = [old_records[rid] for rid in prior.get("programs", [])]
            report.kept.append(src)
            files_out[src] = prior
            report.trust[src] = prior.get("trust", UNKNOWN)
            chunks.extend(file_chunks)
            records.extend(file_records)
            continue
        else:
            (report.updated if prior else report.added).append(src)
        links = _has_links(doc)  # before screening removes any
        try:
            file_chunks, notes = _screened_passages(doc, policy, settings)
        except LoadError as exc:
            report.failed[src] = str(exc)
            for group in (report.added, report.updated, report.kept):
                if src in group:
                    group.remove(src)
            _keep_previous(src, prior, old_chunks, old_records, files_out, chunks, records)
            continue
        file_records = [*doc.programs, *(r for part in doc.parts for r in part.programs)]
        files_out[src] = {
            "sha256": hashes[src],
            "chunks": [c.id for c in file_chunks],
            "trust": doc.trust,
            "hosts": sorted({h for h in map(host_of, _vouched_urls(doc)) if h}),
            "links": links,
        }
        if file_records:
            files_out[src]["programs"] = [r.id for r in file_records]
        report.trust[src] = doc.trust
        if notes:
            report.notes[src] = notes
        chunks.extend(file_chunks)
        records.extend(file_records)

    _cap_index(report, files_out, chunks, records, settings.max_index_passages)
    if not chunks:  # every file failed or was left out: an empty index would answer nothing
        report.seconds = time.perf_counter() - started
        return report  # the serving generation, if any, goes on serving

    # the directory of what the documents do not cover is kept beside the index: cited, never searched
    directory = [c for c in chunks if c.kind == DIRECTORY_KIND]
    chunks = [c for c in chunks if c.kind != DIRECTORY_KIND]
    generation = (old["generation"] + 1) if old else 1
    new_dir = generation_dir(index_dir, generation)
    if new_dir.exists():
        shutil.rmtree(new_dir)  # debris of an ingest that failed before its switch
    collection_name = None
    client = None
    try:
        from bot.embedding import make_embedder, slug

        embedder = make_embedder(settings.embedding_model, settings.cache_dir)
        if embedder is not None:
            from bot.index import chroma_client

            client = chroma_client(settings)
            collection_name = f"smebot-{slug(embedder.name)}-g{generation}"
            _drop_collection(client, collection_name)
            vectors = _vectors(chunks, embedder, client, old, same_settings, progress, report)
            collection = client.create_collection(
                collection_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
            for start in range(0, len(chunks), 500):
                part = chunks[start : start + 500]
                collection.add(
                    ids=[c.id for c in part],
                    embeddings=[vectors[c.id] for c in part],
                    documents=[c.text for c in part],
                    metadatas=[_chroma_metadata(c) for c in part],
                )
                progress("store", min(start + 500, len(chunks)), len(chunks))
        _write_bm25(new_dir, chunks, progress)
        write_chunks(new_dir / "chunks.jsonl", chunks)
        write_chunks(new_dir / "directory.jsonl", directory)
        # its entries (names, aliases, desks) beside its passages: a serving host needs no corpus/ to read them
        entries = [e for src in sorted({c.source for c in directory}) for e in entries_of(wanted[src])]
        (new_dir / "directory.json").write_text(json.dumps(entries, ensure_ascii=False, default=str), encoding="utf-8")
        write_programs(new_dir / "programs.json", records)
        manifest = {
            "generation": generation,
            "collection": collection_name,
            "settings": key,
            "link_hosts": policy_key,
            "files": files_out,
            "chunks": len(chunks),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        write_manifest(index_dir, manifest)  # the switch
    except BaseException:
        shutil.rmtree(new_dir, ignore_errors=True)
        if client is not None and collection_name:
            _drop_collection(client, collection_name)
        raise

    _clean_old(index_dir, generation, client, collection_name, settings)
    report.generation = generation
    report.chunks = len(chunks)
    report.directory = len(directory)
    # entries a guide now covers (持続化 once its guide is added) are read as the documents' own program
    names = [(r.name, r.aliases) for r in records]
    report.directory_held = report.directory - len(Directory.from_records(entries).without(names))
    report.seconds = time.perf_counter() - started
    return report


def _over_size(path: Path, settings: Settings) -> str | None:
    """Why a file is too big to read, or None: PDFs and text have limits of their own."""
    pdf = path.suffix.lower() == ".pdf"
    limit_mb = settings.max_pdf_mb if pdf else settings.max_text_mb
    size = path.stat().st_size
    if size <= limit_mb * 1024 * 1024:
        return None
    setting = "SMEBOT_MAX_PDF_MB" if pdf else "SMEBOT_MAX_TEXT_MB"
    return (
        f"{path}: too large to index ({size / 1024 / 1024:.1f} MB; the limit is {limit_mb:g} MB for "
        f"{'a PDF' if pdf else 'a text or Markdown file'}, {setting}); split it or leave it out of the corpus"
    )


def _vouched_urls(doc: Document) -> list[str]:
    """The addresses a document names as its sources: only a program guide's or a sourced
    document's count (a document of unknown source vouches for nothing)."""
    if doc.trust not in (PROGRAM, SOURCED):
        return []
    return [*doc.source_urls, *(u for part in doc.parts for u in part.source_urls)]


def _texts(doc: Document) -> list:
    """The pages passages are cut from (a jGrants file's: its records')."""
    return [p for part in doc.parts for p in part.pages] if doc.parts else list(doc.pages)


def _has_links(doc: Document) -> bool:
    return any(has_link(p.text) for p in _texts(doc)) or any(
        has_link(_fact_text(r)) for r in [*doc.programs, *(r for part in doc.parts for r in part.programs)]
    )


def _fact_text(record: ProgramRecord) -> str:
    out = []
    for _, fact in facts_of(record):
        for name in ("ja", "en", "desk", "desk_en", "hours", "hours_en", "condition", "condition_en"):
            value = getattr(fact, name, None)
            if isinstance(value, str):
                out.append(value)
    return "\n".join(out)


def _screened_passages(doc: Document, policy: LinkPolicy, settings: Settings) -> tuple[list[Chunk], list[str]]:
    """The passages a document may give, and notes on what screening did (for the ingest report).

    Links the policy does not allow are removed from the text before it is cut, so a passage's
    text and id agree; passages that address the assistant are dropped after, by line. A program
    record is quoted as it is, so its facts must be clean: one that is not fails the file.
    """
    from .chunking import chunk_document

    notes: list[str] = []
    if doc.trust == UNKNOWN and doc.trust_note:
        notes.append(f"document of unknown source ({doc.trust_note}): indexed as an ordinary document, "
                     "no program card, no official label")
    for record in [*doc.programs, *(r for part in doc.parts for r in part.programs)]:
        text = _fact_text(record)
        said = addresses_assistant(text)
        if said:
            raise LoadError(f"{doc.source}: rejected: the facts of 「{record.name}」 address the assistant (「{said}」)")
        _, links = policy.clean(text)
        if links:
            raise LoadError(f"{doc.source}: rejected: the facts of 「{record.name}」 link outside the corpus's sources ({links[0]})")
    removed: list[str] = []
    for page in _texts(doc):
        page.text, gone = policy.clean(page.text)
        removed.extend(gone)
    if "title" in doc.metadata:
        doc.metadata["title"], gone = policy.clean(str(doc.metadata["title"]))
        removed.extend(gone)
    passages = chunk_document(doc)
    kept, flagged = [], []
    for c in passages:
        said = addresses_assistant(f"{c.section}\n{c.text}")
        if said:
            flagged.append((c, said))
        else:
            kept.append(c)
    if flagged and doc.trust == UNKNOWN:
        c, said = flagged[0]
        raise LoadError(
            f"{doc.source}: rejected: text addressing the assistant (「{said}」 in {_where(c)}) in a document of "
            f"unknown source; {len(flagged)} such passage(s)"
        )
    limit = settings.max_file_passages
    if len(kept) > limit:
        raise LoadError(
            f"{doc.source}: too many passages ({len(kept):,}; a file may give {limit:,}, SMEBOT_MAX_FILE_PASSAGES); "
            "split it or leave it out of the corpus"
        )
    for c, said in flagged:
        notes.append(f"passage in {_where(c)} dropped: it addresses the assistant (「{said}」)")
    if removed:
        hosts = sorted({host_of(u) or u for u in removed})
        notes.append(f"{len(removed)} link(s) removed, host not among the corpus's sources: {', '.join(hosts)}")
    return kept, notes


def _where(chunk: Chunk) -> str:
    """Where a passage is, as its reader would look for it: its section, or page and line."""
    if chunk.page is not None:
        return f"page {chunk.page}, section 「{chunk.section}」"
    return f"section 「{chunk.section}」"


def _cap_index(report: IngestReport, files_out: dict, chunks: list[Chunk], records: list[ProgramRecord], cap: int) -> None:
    """Past the index's limit, the files read now are left out, largest first, until it fits."""
    if len(chunks) <= cap:
        return
    new = sorted((s for s in [*report.added, *report.updated] if s in files_out),
                 key=lambda s: len(files_out[s]["chunks"]), reverse=True)
    total = len(chunks)
    for src in new:
        if total <= cap:
            break
        entry = files_out.pop(src)
        ids, rids = set(entry["chunks"]), set(entry.get("programs", []))
        chunks[:] = [c for c in chunks if c.id not in ids]
        records[:] = [r for r in records if r.id not in rids]
        total = len(chunks)
        for group in (report.added, report.updated):
            if src in group:
                group.remove(src)
        report.trust.pop(src, None)
        report.failed[src] = (
            f"{src}: not indexed: the index would hold more than {cap:,} passages (SMEBOT_MAX_INDEX_PASSAGES); "
            f"this file gives {len(ids):,}"
        )


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def _reusable(prior: dict | None, old_chunks: dict[str, Chunk], old_records: dict[str, ProgramRecord]) -> bool:
    """The serving generation still holds every passage and record of this file."""
    return (
        prior is not None
        and all(cid in old_chunks for cid in prior["chunks"])
        and all(rid in old_records for rid in prior.get("programs", []))
    )


def _keep_previous(
    src: str,
    prior: dict | None,
    old_chunks: dict[str, Chunk],
    old_records: dict[str, ProgramRecord],
    files_out: dict,
    chunks: list[Chunk],
    records: list[ProgramRecord],
) -> None:
    """A file that fails now keeps its previous passages and records (and old hash, so it is retried)."""
    if not _reusable(prior, old_chunks, old_records):
        return
    files_out[src] = prior
    chunks.extend(old_chunks[cid] for cid in prior["chunks"])
    records.extend(old_records[rid] for rid in prior.get("programs", []))


def _read_records(path: Path) -> dict[str, ProgramRecord]:
    """The records a generation wrote, by id (programs.json; none for an older index)."""
    if not path.exists():
        return {}
    try:
        return {r["id"]: ProgramRecord.model_validate(r) for r in json.loads(path.read_text(encoding="utf-8"))}
    except Exception:
        return {}  # unreadable or from another schema: the files are read again


def _vectors(chunks, embedder, client, old, same_settings, progress, report) -> dict[str, list[float]]:
    vectors: dict[str, list[float]] = {}
    if old and same_settings and old.get("collection"):
        try:
            prev = client.get_collection(old["collection"], embedding_function=None)
            ids = [c.id for c in chunks]
            for start in range(0, len(ids), 1000):
                got = prev.get(ids=ids[start : start + 1000], include=["embeddings"])
                for cid, emb in zip(got["ids"], got["embeddings"]):
                    vectors[cid] = [float(x) for x in emb]
        except Exception:
            vectors = {}  # the old collection is gone: embed everything again
    missing = [c for c in chunks if c.id not in vectors]
    batch = 64
    for start in range(0, len(missing), batch):
        part = missing[start : start + batch]
        embedded = embedder.embed_documents([_indexed_text(c) for c in part])
        for c, v in zip(part, embedded):
            vectors[c.id] = [float(x) for x in v]
        progress("embed", min(start + batch, len(missing)), len(missing))
    report.embedded = len(missing)
    return vectors


def _indexed_text(chunk: Chunk) -> str:
    """What BM25 and the dense model read: the headings above the passage, then its text."""
    return f"{chunk.heading}。{chunk.text}" if chunk.heading else chunk.text


def _chroma_metadata(chunk: Chunk) -> dict:
    meta = {
        "source": chunk.source,
        "title": chunk.title,
        "section": chunk.section,
        "kind": chunk.kind,
        "page": chunk.page,
        "direction": chunk.direction,
    }
    return {k: v for k, v in meta.items() if v is not None}


def _write_bm25(gen_dir: Path, chunks: list[Chunk], progress: Progress) -> None:
    import bm25s

    from bot.tokenize import get_tokenizer

    tokenizer = get_tokenizer()
    corpus_tokens = []
    for i, c in enumerate(chunks, start=1):
        corpus_tokens.append(tokenizer.tokens(_indexed_text(c)) or ["<empty>"])
        if i % 200 == 0 or i == len(chunks):
            progress("tokenize", i, len(chunks))
    retriever = bm25s.BM25()
    if corpus_tokens:
        retriever.index(corpus_tokens, show_progress=False)
    (gen_dir / "bm25").mkdir(parents=True, exist_ok=True)
    retriever.save(str(gen_dir / "bm25"), show_progress=False)


def _drop_collection(client, name: str) -> None:
    try:
        client.delete_collection(name)
    except Exception:
        pass


def _clean_old(index_dir: Path, generation: int, client, keep_collection: str | None, settings: Settings) -> None:
    """Remove generations older than the previous one, and failed ones.

    The previous generation stays, so a process still serving it (a chat, a web server) keeps
    answering until it notices the new manifest and reloads.
    """
    keep = {generation, generation - 1}
    for path in index_dir.glob("gen-*"):
        if _generation_of(path.name) not in keep:
            shutil.rmtree(path, ignore_errors=True)
    if client is None:
        return
    try:
        for col in client.list_collections():
            name = getattr(col, "name", col)
            if name.startswith("smebot-") and name != keep_collection and _generation_of(name) not in keep:
                _drop_collection(client, name)
    except Exception:
        pass


def _generation_of(name: str) -> int | None:
    tail = name.rsplit("-", 1)[-1].lstrip("gen").lstrip("g")
    return int(tail) if tail.isdigit() else None
