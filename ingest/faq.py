"""Operators' published Q&A as documents: each question and its answer one passage.

Three forms, one result:

- `NAME.faq.md`: Markdown with front matter (`kind: faq`, `title`, `sources`, and `program:` when the
  Q&A is a program's) and one `## Q. question` section per pair, the official answer under it with
  its `出典:` line;
- `NAME.faq.json`: an operator's export, `{"title", "program", "operator", "as_of", "sources",
  "pairs": [{"question", "answer", "source", "date"}]}`;
- `NAME.faq.csv`: columns `question,answer,source,date`, its front matter in `NAME.faq.csv.meta.yaml`.

The question is the passage's heading, which the search reads with its text, so an owner's question
meets the published one as well as the answer. An answer quotes the official answer and its source.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml

from bot.models import FAQ_KIND, QUESTION_MARK, SOURCE_MARK

FAQ_EXPORTS = (".faq.json", ".faq.csv")


def is_faq_export(path: Path) -> bool:
    return path.name.lower().endswith(FAQ_EXPORTS)


def faq_markdown(title: str, pairs: list[dict[str, Any]]) -> str:
    """The Markdown body of a Q&A file: one `## Q.` section a pair, the answer and its source under it."""
    lines = [f"# {title}", ""]
    for pair in pairs:
        question, answer = str(pair.get("question") or "").strip(), str(pair.get("answer") or "").strip()
        if not question or not answer:
            continue
        lines += [f"## {QUESTION_MARK}{question}", answer]
        source, date = str(pair.get("source") or "").strip(), str(pair.get("date") or "").strip()
        if source:
            lines.append(f"{SOURCE_MARK}{source}" + (f"（{date}）" if date else ""))
        lines.append("")
    return "\n".join(lines)


def read_export(path: Path, meta_path: Path) -> tuple[dict[str, Any], str]:
    """(front matter, Markdown body) of a JSON or CSV export; a bad file raises ValueError naming what is wrong."""
    raw = path.read_text(encoding="utf-8-sig")
    if path.name.lower().endswith(".faq.json"):
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("pairs"), list):
            raise ValueError("a Q&A export must be a JSON object with a `pairs` list")
        metadata = {k: v for k, v in data.items() if k != "pairs"}
        pairs = [p for p in data["pairs"] if isinstance(p, dict)]
    else:
        reader = csv.DictReader(io.StringIO(raw))
        if not reader.fieldnames or not {"question", "answer"} <= set(reader.fieldnames):
            raise ValueError("a Q&A CSV needs the columns question and answer (and source, date)")
        pairs = list(reader)
        metadata = yaml.safe_load(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        if not isinstance(metadata, dict):
            raise ValueError(f"{meta_path.name}: its front matter must be a YAML mapping")
    metadata = {**metadata, "kind": FAQ_KIND}
    title = str(metadata.get("title") or path.name.split(".")[0])
    return metadata, faq_markdown(title, pairs)
