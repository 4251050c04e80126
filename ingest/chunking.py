"""Japanese-aware chunking: a Document becomes small passages, each with its section path.

Text extracted from a PDF breaks lines in mid-sentence, letter-spaces headings and puts a page's
headings where the layout had them, not always before their text. The parser therefore:

- joins wrapped lines into paragraphs (a paragraph ends at 。 or at a gap wider than the
  document's usual gap between wrapped lines);
- recognises headings: ■ parts (■ 当面の施策展開), ① to ⑤ directions, whole-line （…）
  subsections, ＜…＞ figure labels, 【…】 groups, ■case-study titles and 戦略Ⅰ lines;
- treats directions that restart (① after ⑤) as a new block whose ■ part heading may come late
  in the layout: the first ■ heading met inside such a block names the whole block.

Markdown is parsed by its # headings instead. Both feed one packer that cuts paragraphs at 。
into passages of a few hundred characters, so the sentence that answers a question is read first.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from bot.models import ALIAS_SEPARATOR, Chunk
from bot.text import ends_sentence, join_lines, split_sentences, squeeze

from .loaders import Document

CHUNKER_VERSION = 12  # 12: a passage's program aliases separated by "|" (an alias may hold spaces); 11: the directory's entries in the index (directory.json); 10: the directory kept beside the index (directory.jsonl); 9: screened (trust, links, text addressing the assistant); 8: source_kind, programs.json
TARGET_CHARS = 320  # a passage grows by whole paragraphs up to about this size
MIN_CHARS = 60  # a smaller passage takes in the next paragraph of its section
MAX_CHARS = 420  # a longer paragraph is cut at 。

CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
_DIRECTION = re.compile(rf"^([{CIRCLED}])\s*([^。]{{2,40}})$")
_PART = re.compile(r"^■[\s\u3000]+(.{2,40})$")
_CASE = re.compile(r"^■([^\s\u3000].{1,60})$")
_GROUP = re.compile(r"^【(.{1,30})】$")
_SUBSECTION = re.compile(r"^（([^（）。]{2,40})）$")
_CHAPTER = re.compile(r"^(?:[0-9０-９]{1,2}[\s\u3000]+[^。]{2,30}|（[0-9０-９]{1,2}）[\s\u3000]*[^。]{2,30})$")
_STRATEGY = re.compile(r"^(戦略[ⅠⅡⅢⅣⅤⅥIV]+)[\s\u3000]*(.*)$")
_LABELS = re.compile(r"^(?:＜[^＞]{1,40}＞[\s\u3000]*)+$")
_NOTE = re.compile(r"^(?:資料|出典)[\s\u3000：:]|^（単位")
_CHART = re.compile(r"^≪.+≫$")
_ITEM = re.compile(r"^[•・○●◆◇□※]")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_MD_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@dataclass
class _Block:
    """Paragraphs between two restarts of the ① to ⑤ sequence; its part may be named late."""

    part: str | None = None
    pending: bool = True


@dataclass
class Paragraph:
    text: str
    page: int | None
    line: int
    direction: str | None = None  # "④ 危機発生時の事業継続に向けた対策の推進"
    subsection: str | None = None
    strategy: str | None = None
    block: _Block = field(default_factory=_Block)
    heading_path: tuple[str, ...] = ()  # Markdown: the # headings above
    closed: bool = False  # a label, note or chart caption: never continued by the next line

    @property
    def part(self) -> str | None:
        return self.block.part


def chunk_document(doc: Document) -> list[Chunk]:
    if doc.parts:  # a file of several documents (jGrants records): each is chunked on its own
        return [c for part in doc.parts for c in chunk_document(part)]
    paragraphs = parse_markdown(doc) if doc.format == "markdown" else parse_layout_text(doc)
    return pack(doc, paragraphs)


# publishers whose documents are the Tokyo Metropolitan Government's own (official)
TOKYO_GOVERNMENT = {"東京都", "東京都産業労働局", "Tokyo Metropolitan Government"}


def source_kind(doc: Document) -> str | None:
    """official or secondary for a document with a program record (what its facts rest on);
    official for a document the Tokyo government published; None when nothing says."""
    if doc.programs:
        return doc.programs[0].source_kind()
    if str(doc.metadata.get("publisher") or "").strip() in TOKYO_GOVERNMENT:
        return "official"
    sources = doc.metadata.get("sources") if doc.kind == "faq" else None
    if isinstance(sources, list) and sources and all(isinstance(s, dict) and s.get("kind") == "official" for s in sources):
        return "official"  # an operator's own Q&A pages
    return None


# --- plain text and PDF ---------------------------------------------------------------------


def _numbered_lines(doc: Document) -> list[tuple[int | None, int, str]]:
    """(page, line number within the file, line) for every line of every page."""
    out, lineno = [], 0
    for page in doc.pages:
        for raw in page.text.splitlines():
            lineno += 1
            out.append((page.number, lineno, raw))
    return out


def _wrap_gap(lines: list[tuple[int | None, int, str]]) -> int:
    """The usual number of blank lines between two wrapped lines of one paragraph (0 or 1)."""
    gaps, run = [], 0
    for _, _, raw in lines:
        if raw.strip():
            gaps.append(run)
            run = 0
        else:
            run += 1
    return 1 if gaps and sum(1 for g in gaps if g == 1) > len(gaps) / 3 else 0


def _kind(line: str) -> str:
    if _DIRECTION.match(line):
        return "direction"
    if _PART.match(line) or _GROUP.match(line):
        return "part"
    if _CASE.match(line):
        return "case"
    if _STRATEGY.match(line) and len(line) <= 30:
        return "strategy"
    if _NOTE.match(line) or _CHART.match(line):  # before subsections: （単位：万円） is a chart note
        return "note"
    if _SUBSECTION.match(line):
        return "subsection"
    if _CHAPTER.match(line):
        return "chapter"
    if _LABELS.match(line):
        return "labels"
    if _NOTE.match(line) or _CHART.match(line):
        return "note"
    if _ITEM.match(line):
        return "item"
    return "body"


_HEADINGS = {"direction", "part", "case", "strategy", "subsection", "chapter", "labels"}


def parse_layout_text(doc: Document) -> list[Paragraph]:
    lines = _numbered_lines(doc)
    wrap_gap = _wrap_gap(lines)
    content = [(i, pg, no, raw.strip()) for i, (pg, no, raw) in enumerate(lines) if raw.strip()]
    strategy = doc.metadata.get("strategy")
    block = _Block()
    direction: str | None = None
    last_number: int | None = None
    subsection: str | None = None
    paragraphs: list[Paragraph] = []
    current: Paragraph | None = None

    for pos, (index, page, lineno, line) in enumerate(content):
        kind = _kind(line)
        gap = index - content[pos - 1][0] - 1 if pos else 0
        nxt = content[pos + 1] if pos + 1 < len(content) else None
        followed_by_text = nxt is not None and nxt[0] - index - 1 <= wrap_gap and _kind(nxt[3]) not in _HEADINGS

        if kind in {"body", "item", "note"}:
            continues = (
                kind == "body"
                and current is not None
                and not current.closed
                and gap <= wrap_gap
                and not ends_sentence(current.text)
            )
            if continues:
                current.text = join_lines(current.text, line)
            else:
                if kind == "item" and line.startswith("○"):
                    subsection = None  # ○ items stand at section level
                current = Paragraph(
                    line, page, lineno, direction, subsection, strategy, block, closed=kind == "note"
                )
                paragraphs.append(current)
            continue

        current = None
        if kind == "direction":
            m = _DIRECTION.match(line)
            number = CIRCLED.index(m.group(1))
            if last_number is not None and number <= last_number:
                block = _Block()  # the sequence restarts: a new part of the document
            direction = f"{m.group(1)} {squeeze(m.group(2))}"
            last_number, subsection = number, None
        elif kind == "part":
            m = _PART.match(line) or _GROUP.match(line)
            title = squeeze(m.group(1))
            if block.pending:
                block.part, block.pending = title, False
            elif followed_by_text:
                block = _Block(title, pending=False)
                direction, last_number, subsection = None, None, None
            # else: a heading the layout left where its text is not; keep the current context
        elif kind == "case":
            block = _Block("事例", pending=False)
            direction, last_number = None, None
            subsection = squeeze(_CASE.match(line).group(1))
        elif kind == "strategy":
            strategy = strategy or squeeze(line)
        elif kind == "subsection":
            subsection = squeeze(_SUBSECTION.match(line).group(1))
        elif kind == "labels":
            paragraphs.append(
                Paragraph(squeeze(line), page, lineno, direction, subsection, strategy, block, closed=True)
            )
        # chapter lines ("４ 目指すべき姿に向けた施策展開") carry no passage text

    # stray layout debris ("済") is not a passage
    return [p for p in paragraphs if len(p.text) > 2 or ends_sentence(p.text)]


# --- Markdown --------------------------------------------------------------------------------


def parse_markdown(doc: Document) -> list[Paragraph]:
    strategy = doc.metadata.get("strategy")
    doc_direction = doc.metadata.get("direction")
    stack: list[tuple[int, str]] = []
    paragraphs: list[Paragraph] = []
    buffer: list[str] = []
    start = 0
    block = _Block(None, pending=False)

    def flush() -> None:
        nonlocal buffer
        if not buffer:
            return
        headings = tuple(t for _, t in stack)
        direction = next((h for h in reversed(headings) if h[:1] in CIRCLED), None)
        if direction is None and doc_direction:
            direction = str(doc_direction)
        text = ""
        for line in buffer:
            if _MD_ITEM.match(line) or not text:
                text = f"{text}\n{line.strip()}" if text else line.strip()
            else:
                text = join_lines(text, line)
        paragraphs.append(
            Paragraph(text, None, start, direction, None, strategy, block, heading_path=headings)
        )
        buffer = []

    lineno = 0
    for lineno, raw in enumerate(doc.pages[0].text.splitlines(), start=1):
        m = _MD_HEADING.match(raw)
        if m:
            flush()
            level = len(m.group(1))
            stack = [(lv, t) for lv, t in stack if lv < level] + [(level, m.group(2).strip())]
        elif not raw.strip():
            flush()
        else:
            if not buffer:
                start = lineno
            buffer.append(raw)
    flush()
    return paragraphs


# --- packing ---------------------------------------------------------------------------------


def _section(doc: Document, p: Paragraph) -> list[str]:
    if p.heading_path:
        return [h for h in p.heading_path if h != doc.title]
    parts = [p.strategy, p.direction, p.part, p.subsection]
    return [x for x in parts if x]


def _pieces(text: str) -> list[str]:
    """A paragraph longer than MAX_CHARS, cut at sentence ends into pieces of about TARGET_CHARS."""
    if len(text) <= MAX_CHARS:
        return [text]
    out: list[str] = []
    for sentence in split_sentences(text):
        if out and len(out[-1]) + len(sentence) <= TARGET_CHARS:
            out[-1] += sentence
        else:
            out.append(sentence)
    return out


def pack(doc: Document, paragraphs: list[Paragraph]) -> list[Chunk]:
    groups: list[tuple[tuple[str, ...], Paragraph, str]] = []
    for p in paragraphs:
        section = tuple(_section(doc, p))
        for piece in _pieces(p.text):
            last = groups[-1] if groups else None
            if (
                last
                and last[0] == section
                and len(last[2]) < MIN_CHARS
                and not last[1].closed
                and not p.closed
                and len(last[2]) + len(piece) <= TARGET_CHARS
            ):
                groups[-1] = (section, last[1], join_paragraphs(last[2], piece))
            else:
                groups.append((section, p, piece))

    # a part of a file (one jGrants record) is keyed by its record too, so ids stay distinct
    key = f"{doc.source}#{doc.metadata['part']}" if doc.metadata.get("part") else doc.source
    doc_key = hashlib.sha1(key.encode()).hexdigest()[:8]
    meta = doc.metadata
    program = str(meta["program"]) if meta.get("program") else None
    kind_of_source = source_kind(doc)
    chunks = []
    for i, (section, p, text) in enumerate(groups):
        digest = hashlib.sha1(text.encode()).hexdigest()[:10]
        headings = [h for h in section if h != p.strategy]
        aliases = [str(a) for a in meta.get("aliases") or []]
        if program:  # a guide's passages are found by the program's names too
            headings = [program, *aliases, *headings]
        chunks.append(
            Chunk(
                id=f"{doc_key}-{i:04d}-{digest}",
                text=text,
                source=doc.source,
                title=doc.title,
                section=" > ".join(section) or doc.title,
                page=p.page,
                direction=p.direction[:1] if p.direction and p.direction[:1] in CIRCLED else None,
                kind=doc.kind,
                line=p.line,
                heading="、".join(headings),  # 、 keeps the headings apart for the tokenizer
                program=program,
                measure=str(meta["measure"]) if meta.get("measure") else None,
                fiscal_year=str(meta["fiscal_year"]) if meta.get("fiscal_year") else None,
                as_of=str(meta["as_of"]) if meta.get("as_of") else None,
                aliases=ALIAS_SEPARATOR.join(aliases),
                source_kind=kind_of_source,
            )
        )
    return chunks


def join_paragraphs(left: str, right: str) -> str:
    return f"{left}\n{right}"
