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

Who stands behind a document is decided here too (`Document.trust`, see screening.py):

- `program`: a guide whose front matter is complete and valid: `program:`, a `facts:` record that
  names it, and `sources:` (each a `url` and a `kind`, official or secondary) that every fact's
  address is one of; an official fact cites an official source. A file with `facts:` that falls
  short fails by name, like an unreadable one.
- `sourced`: front matter (or a sidecar) that names its `sources:`, or a sidecar that names its
  publisher; its metadata is kept, but it is never a program.
- `unknown`: anything else. It is indexed as an ordinary document (kind `document`, its title and
  nothing else of its metadata): no program, no measure or direction, no official label.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.core.programs import Contact, Fact, ProgramError, ProgramRecord, validate

from .faq import FAQ_KIND, is_faq_export, read_export
from .screening import PROGRAM, SOURCED, UNKNOWN

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
    # who stands behind it (program, sourced or unknown) and, when unknown, why
    trust: str = UNKNOWN
    trust_note: str | None = None
    # the addresses it names as its sources: their hosts are the links passages may show
    source_urls: list[str] = field(default_factory=list)

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
    if is_jgrants(path) or is_faq_export(path):
        return True
    return path.suffix.lower() in SUFFIXES and not path.name.endswith(META_SUFFIX)


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
    if is_faq_export(path):
        return _load_faq_export(path, source)
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
            _vouch_sidecar(doc, path)
    except LoadError:
        raise
    except Exception as exc:  # a broken file must not stop the others: report it by name
        raise LoadError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from exc
    if not any(p.text.strip() for p in doc.pages):
        if kind == "pdf":
            raise LoadError(f"{path}: no text found in the PDF (a scanned PDF needs OCR first)")
        raise LoadError(f"{path}: no text found (only front matter or markup)")
    return doc


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not text.strip():
            raise LoadError(f"{path}: empty file (no text in it)")
        return text
    raise LoadError(f"{path}: not UTF-8 or Shift_JIS text")


def _read_sidecar(path: Path) -> dict[str, Any]:
    meta = sidecar(path)
    if not meta.exists():
        return {}
    data = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise LoadError(f"{meta}: metadata must be a YAML mapping")
    return data


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs each oddity of a broken file ("EOF marker not found"); the LoadError says it once."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _load_pdf(path: Path, source: str) -> Document:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    try:
        with _quiet_pypdf():
            reader = PdfReader(path)
            if reader.is_encrypted:
                # Official sites often publish PDFs with only an owner password (it restricts
                # printing or copying; anyone may open them): the empty user password opens those.
                try:
                    opened = reader.decrypt("")
                except DependencyError as exc:
                    raise LoadError(f"{path}: the PDF is encrypted with AES and cannot be opened here ({exc})") from None
                if opened == PasswordType.NOT_DECRYPTED:
                    raise LoadError(
                        f"{path}: the PDF needs a password to open (a user password); "
                        "save a copy without it, or ask the publisher for one"
                    )
            pages = [Page(i, page.extract_text() or "") for i, page in enumerate(reader.pages, start=1)]
    except PdfReadError as exc:
        raise LoadError(f"{path}: not a readable PDF ({exc})") from exc
    info: dict[str, Any] = {}
    if reader.metadata and reader.metadata.title:
        info["title"] = str(reader.metadata.title)
    return Document(source, "pdf", metadata=info, pages=pages)


def _load_markdown(path: Path, source: str) -> Document:
    import frontmatter

    text = _read_text(path)
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f", line {mark.line + 2} of the file" if mark is not None else ""  # + the opening ---
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        if getattr(exc, "context", None):
            problem = f"{exc.context}: {problem}"
        raise LoadError(f"{path}: broken front matter (YAML{at}): {problem}") from None
    if not isinstance(post.metadata, dict):
        raise LoadError(f"{path}: broken front matter: it must be a YAML mapping of fields")
    doc = Document(source, "markdown", pages=[Page(None, post.content)])
    _vouch_markdown(doc, dict(post.metadata), had_front_matter=text.lstrip("\ufeff").startswith("---"))
    return doc


def _load_faq_export(path: Path, source: str) -> Document:
    """An operator's Q&A export (JSON, or CSV with its front matter beside it), read as a Q&A file."""
    try:
        metadata, body = read_export(path, sidecar(path))
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: not a Q&A export ({' '.join(str(exc).split())})") from None
    doc = Document(source, "markdown", pages=[Page(None, body)])
    _vouch_markdown(doc, metadata, had_front_matter=True)
    if not any("## " in p.text for p in doc.pages):
        raise LoadError(f"{path}: no question with an answer in it")
    return doc


# --- who stands behind a document ----------------------------------------------------------------

_PROGRAM_KEYS = ("program", "aliases", "measure")  # what only a program guide's passages carry


def _vouch_markdown(doc: Document, metadata: dict[str, Any], had_front_matter: bool) -> None:
    """Sets the document's metadata, trust and program record from its front matter."""
    where = doc.source
    if "facts" in metadata:  # it means to be a program guide: all of it must hold
        program = metadata.get("program")
        if not program:
            raise LoadError(f"{where}: invalid program guide: `facts:` needs the guide's `program:` name")
        if "sources" not in metadata:
            raise LoadError(f"{where}: invalid program guide: no `sources:` (each a url and a kind, official or secondary)")
        sources = _sources(metadata["sources"], where)
        record = program_facts(metadata.pop("facts"), metadata, where)
        _facts_cite_sources(record, sources, where)
        _check_dates({**metadata, "facts.fiscal_year": record.fiscal_year, "facts.as_of": record.as_of}, where)
        doc.metadata, doc.programs, doc.trust = metadata, [record], PROGRAM
        doc.source_urls = [*sources, *record_urls(record)]
        return
    if metadata.get("kind") == FAQ_KIND:  # an operator's Q&A: its program's, and sourced page by page
        if "sources" not in metadata:
            raise LoadError(f"{where}: invalid Q&A file: no `sources:` (the pages its answers come from)")
        sources = _sources(metadata["sources"], where)
        _check_dates(metadata, where)
        doc.metadata, doc.trust, doc.source_urls = metadata, SOURCED, list(sources)
        return
    if "sources" in metadata:
        sources = _sources(metadata["sources"], where)
        if metadata.get("program"):
            _unknown(doc, metadata, f"names the program 「{metadata['program']}」 but has no `facts:` record")
            return
        kept = {k: v for k, v in metadata.items() if k not in _PROGRAM_KEYS}
        if kept.get("kind") == "guide":  # a guide is a program's: without a record it is a document
            kept["kind"] = "document"
        _check_dates(kept, where)
        doc.metadata, doc.trust, doc.source_urls = kept, SOURCED, list(sources)
        return
    if metadata.get("program"):
        why = f"names the program 「{metadata['program']}」 but has no `facts:` record and no `sources:`"
    elif had_front_matter and metadata:
        why = "its front matter names no `sources:`"
    else:
        why = "no front matter"
    _unknown(doc, metadata, why)


def _vouch_sidecar(doc: Document, path: Path) -> None:
    """A PDF's or text file's metadata from NAME.meta.yaml: sourced when it names its sources or
    its publisher; without a sidecar (or with one that names neither) the document is unknown."""
    meta = _read_sidecar(path)
    if "sources" in meta:
        doc.source_urls = list(_sources(meta["sources"], str(sidecar(path))))
    if doc.source_urls or str(meta.get("publisher") or "").strip():
        kept = {k: v for k, v in meta.items() if k not in _PROGRAM_KEYS}
        if kept.get("kind") == "guide":
            kept["kind"] = "document"
        doc.metadata, doc.trust = {**doc.metadata, **kept}, SOURCED
        return
    why = f"{sidecar(path).name} names no `sources:` nor `publisher:`" if meta else f"no {sidecar(path).name} beside it"
    _unknown(doc, {**doc.metadata, **meta}, why)


_YEAR = re.compile(r"^(?:(?:令和|平成|昭和)\s*(?:\d{1,2}|元)\s*年度?|(?:19|20)\d\d\s*年度?)(?:ごろ|頃)?$")
_DATE = re.compile(r"^(?:19|20)\d\d-\d\d(?:-\d\d)?$")


def _check_dates(fields: dict[str, Any], where: str) -> None:
    """A fiscal year reads 令和7年度, 2024年度 or 2018年 (ごろ when approximate), and as_of is an ISO
    date: a year that is not known is left out, never written as None or 不明 (an answer would
    show it as the year its facts hold for)."""
    for name, value in fields.items():
        if value is None or not name.endswith(("fiscal_year", "as_of")):
            continue
        text = str(value).strip()
        pattern = _DATE if name.endswith("as_of") else _YEAR
        if not pattern.match(text):
            shape = "an ISO date (2026-11-24)" if name.endswith("as_of") else "a year (令和7年度, 2024年度, 2018年ごろ)"
            raise LoadError(f"{where}: invalid front matter: {name}: {text!r} is not {shape}; leave it out when it is not known")


def _unknown(doc: Document, metadata: dict[str, Any], why: str) -> None:
    """An ordinary document of unknown source: its title, and nothing that would make it look official."""
    title = metadata.get("title")
    doc.metadata = {"kind": "document", **({"title": str(title)} if isinstance(title, (str, int, float)) and str(title).strip() else {})}
    doc.trust, doc.trust_note, doc.programs = UNKNOWN, why, []


def _sources(data: Any, where: str) -> dict[str, str]:
    """A front matter's `sources:` as url -> kind; a LoadError naming the entry when one is wrong."""
    if not isinstance(data, list) or not data:
        raise LoadError(f"{where}: invalid sources: `sources:` must be a list of {{url, kind}} entries")
    out: dict[str, str] = {}
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise LoadError(f"{where}: invalid sources: sources[{i}]: must be a mapping with url and kind")
        url, kind = entry.get("url"), entry.get("kind")
        parts = urlsplit(str(url)) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise LoadError(f"{where}: invalid sources: sources[{i}].url: {url!r} is not an http(s) address")
        if kind not in ("official", "secondary"):
            raise LoadError(f"{where}: invalid sources: sources[{i}].kind: {kind!r} must be official or secondary")
        out[url] = kind
    return out


def facts_of(record: ProgramRecord) -> Iterator[tuple[str, Fact | Contact]]:
    """(field name, fact) for every fact and the contact of a record."""
    for name in type(record).model_fields:
        value = getattr(record, name)
        if isinstance(value, (Fact, Contact)):
            yield name, value
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, (Fact, Contact)):
                    yield f"{name}[{i}]", item


def _facts_cite_sources(record: ProgramRecord, sources: dict[str, str], where: str) -> None:
    """Every fact's address is one of the guide's sources, and an official fact's is an official one."""
    for name, fact in facts_of(record):
        if fact.url is not None and fact.url not in sources:
            raise LoadError(f"{where}: invalid program facts: {name}.url: {fact.url} is not one of the guide's sources")
        if fact.source == "official" and (fact.url is None or sources.get(fact.url) != "official"):
            raise LoadError(
                f"{where}: invalid program facts: {name}: source official needs the url of an official source"
            )
    page = record.front_subsidy_detail_page_url
    if page is not None and page not in sources:
        raise LoadError(f"{where}: invalid program facts: front_subsidy_detail_page_url: {page} is not one of the guide's sources")


def record_urls(record: ProgramRecord) -> list[str]:
    """The addresses a program record gives (its facts', its page, its contact form)."""
    urls = [fact.url for _, fact in facts_of(record) if fact.url]
    if record.front_subsidy_detail_page_url:
        urls.append(record.front_subsidy_detail_page_url)
    if record.contact is not None and record.contact.form:
        urls.append(record.contact.form)
    return urls


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
