"""Loaders: a file on disk becomes a Document (metadata and the text of each page).

- PDF (pypdf): one Page per PDF page, numbered from 1.
- Markdown: YAML front matter becomes metadata; the body is one page without a number.
- Plain text: one page without a number.
- jGrants records (`*.jgrants.json`, see jgrants.py): one part per record, each a guide with
  its program record.

A Markdown document whose front matter holds `facts:` carries a program record
(bot.core.programs.ProgramRecord); it is validated here, so an invalid record fails its file like
an unreadable one, with a message that names the file and the field.

Metadata for a PDF or text file sits beside it in `NAME.meta.yaml` (title, publisher, kind,
strategy, ...), so the document itself stays exactly as published.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.core.programs import ProgramError, ProgramRecord, validate

SUFFIXES = {".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}
META_SUFFIX = ".meta.yaml"
JGRANTS_SUFFIX = ".jgrants.json"


class LoadError(Exception):
    """A file that cannot be read; the message names the file and says why."""


@dataclass
class Page:
    number: int | None
    text: str


@dataclass
class Document:
    source: str  # path as shown in citations, relative to the project (corpus/...)
    format: str
    metadata: dict[str, Any] = field(default_factory=dict)
    pages: list[Page] = field(default_factory=list)
    # the program records it carries (a guide's `facts:`; a jGrants file's records)
    programs: list[ProgramRecord] = field(default_factory=list)
    # a file that holds several documents (a jGrants file: one per record) has them here
    parts: list["Document"] = field(default_factory=list)

    @property
    def title(self) -> str:
        return str(self.metadata.get("title") or Path(self.source).stem)

    @property
    def kind(self) -> str:
        return str(self.metadata.get("kind") or "document")


def is_jgrants(path: Path) -> bool:
    return path.name.lower().endswith(JGRANTS_SUFFIX)


def is_document(path: Path) -> bool:
    if path.name.startswith("."):
        return False
    return is_jgrants(path) or (path.suffix.lower() in SUFFIXES and not path.name.endswith(META_SUFFIX))


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + META_SUFFIX)


def fingerprint(path: Path) -> str:
    """Content hash of a document and its metadata sidecar: what decides whether to re-index."""
    h = hashlib.sha256(path.read_bytes())
    meta = sidecar(path)
    if meta.exists():
        h.update(b"\0meta\0" + meta.read_bytes())
    return h.hexdigest()


def load(path: Path, source: str | None = None) -> Document:
    source = source or path.as_posix()
    kind = "jgrants" if is_jgrants(path) else SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise LoadError(f"{path}: unsupported file type {path.suffix!r} (use .pdf, .md, .txt or .jgrants.json)")
    try:
        if kind == "jgrants":
            from .jgrants import load_jgrants

            return load_jgrants(path, source)  # one part a record; says itself what is wrong
        if kind == "pdf":
            doc = _load_pdf(path, source)
        elif kind == "markdown":
            doc = _load_markdown(path, source)
        else:
            doc = Document(source, "text", pages=[Page(None, _read_text(path))])
        if kind != "markdown":
            doc.metadata = {**doc.metadata, **_read_sidecar(path)}
    except LoadError:
        raise
    except Exception as exc:  # a broken file must not stop the others: report it by name
        raise LoadError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from exc
    if not any(p.text.strip() for p in doc.pages):
        raise LoadError(f"{path}: no text found (a scanned PDF needs OCR first)")
    return doc


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LoadError(f"{path}: not UTF-8 or Shift_JIS text")


def _read_sidecar(path: Path) -> dict[str, Any]:
    meta = sidecar(path)
    if not meta.exists():
        return {}
    data = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise LoadError(f"{meta}: metadata must be a YAML mapping")
    return data


def _load_pdf(path: Path, source: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise LoadError(f"{path}: the PDF is encrypted")
        pages = [Page(i, page.extract_text() or "") for i, page in enumerate(reader.pages, start=1)]
    except PdfReadError as exc:
        raise LoadError(f"{path}: not a readable PDF ({exc})") from exc
    info: dict[str, Any] = {}
    if reader.metadata and reader.metadata.title:
        info["title"] = str(reader.metadata.title)
    return Document(source, "pdf", metadata=info, pages=pages)


def _load_markdown(path: Path, source: str) -> Document:
    import frontmatter

    post = frontmatter.loads(_read_text(path))
    metadata = dict(post.metadata)
    programs = [program_facts(metadata.pop("facts"), metadata, source)] if "facts" in metadata else []
    return Document(source, "markdown", metadata=metadata, pages=[Page(None, post.content)], programs=programs)


def program_facts(data: Any, metadata: dict[str, Any], where: str) -> ProgramRecord:
    """A guide's `facts:` as a validated record, which must name the program the guide is about."""
    if not isinstance(data, dict):
        raise LoadError(f"{where}: invalid program facts: facts: must be a mapping of fields")
    try:
        record = validate(data, where=where)
    except ProgramError as exc:
        raise LoadError(str(exc)) from None
    program = metadata.get("program")
    if program is not None and record.name != str(program):
        raise LoadError(f"{where}: invalid program facts: name: {record.name!r} is not the guide's program {program!r}")
    return record
