"""Larger corpora for the scaling benchmark, built from the real text.

A corpus of N times the bundled one (in bytes) holds the real documents once (under `original/`)
and as many varied copies of each as bring it to that size (under `copies/NNN/`). A copy is what a bigger deployment would add: other
documents on the same subjects, in the same language and register. Each copy of a document

- has another title (a region and an edition number) and is written as Markdown;
- keeps every section, but under the heading of another section drawn at random;
- keeps about 60% of each section's sentences, shuffled, and in about a third of the sections
  adds one sentence from elsewhere in the corpus.

So a copy shares most of its words and sentences with the real passages: the hard case for
retrieval, near duplicates in the same vocabulary and register. What a copy never holds is an
answer: sentences with a phrase the evaluation sets need are left out of the copies, so a
question must find the real passage among its look-alikes (a copy that merely repeated the
answer sentence would make "found" a coin toss between identical sentences, not a measure).
Quality counts a hit only in a real passage (copies cannot hold one anyway); copies still take up
the 800-character reading window.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.text import compact, split_sentences
from ingest.chunking import chunk_document
from ingest.loaders import is_document, load

REGIONS = [
    "大阪府", "神奈川県", "埼玉県", "千葉県", "愛知県", "福岡県", "北海道", "兵庫県", "京都府", "広島県",
    "宮城県", "静岡県", "新潟県", "長野県", "岡山県", "熊本県", "群馬県", "栃木県", "茨城県", "岐阜県",
]
COPIES_DIR = "copies"
ORIGINAL_DIR = "original"
KEEP_SHARE = 0.6
MIX_SHARE = 0.3


@dataclass
class Section:
    heading: str
    sentences: list[str]


def needed_phrases(sets: list[Path]) -> list[str]:
    """Every phrase an evaluation question needs (compacted), from the given question sets."""
    phrases: set[str] = set()
    for path in sets:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                for turn in raw.get("turns", [raw]):
                    phrases.update(compact(p) for p in turn.get("needs") or [])
    return sorted(p for p in phrases if p)


def real_sections(corpus: Path, leave_out: list[str] = ()) -> dict[Path, tuple[str, list[Section]]]:
    """Each real document's title and sections as the ingest chunker cuts them, without the
    sentences that hold a phrase in `leave_out`."""
    out: dict[Path, tuple[str, list[Section]]] = {}
    for path in sorted(p for p in corpus.rglob("*") if p.is_file() and is_document(p)):
        doc = load(path)
        if doc.kind == "directory":  # what the documents do not cover: kept beside the index, never searched
            continue
        sections = [
            Section(
                _without(c.section.split(" > ")[-1], leave_out, "参考"),
                [s for s in split_sentences(c.text) if s.strip() and not any(p in compact(s) for p in leave_out)],
            )
            for c in chunk_document(doc)
        ]
        out[path] = (doc.title, [s for s in sections if s.sentences])
    return out


def _without(text: str, leave_out: list[str], instead: str) -> str:
    return instead if any(p in compact(text) for p in leave_out) else text


def copy_text(title: str, sections: list[Section], pool: list[Section], number: int, rng: random.Random) -> str:
    """One varied copy of a document, as Markdown."""
    region = REGIONS[number % len(REGIONS)]
    lines = [
        "---",
        f'title: "{region}の中小企業支援に関する参考資料 第{number}集（{title}より再構成）"',
        "kind: policy",
        "sources:",  # a document of known source, as a deployment's would be: ingest keeps its kind
        "  - url: https://www.sangyo-rodo.metro.tokyo.lg.jp/chushou/",
        "    kind: secondary",
        "---",
        f"# {region}の中小企業支援に関する参考資料 第{number}集",
        "",
    ]
    for section in sections:
        kept = [s for s in section.sentences if rng.random() < KEEP_SHARE] or [rng.choice(section.sentences)]
        if rng.random() < MIX_SHARE:  # now and then a sentence from elsewhere, as edited documents have
            kept.append(rng.choice(rng.choice(pool).sentences))
        rng.shuffle(kept)
        heading = rng.choice(pool).heading.strip("（）()＜＞■ ")
        lines += [f"## {heading}", "", "".join(kept), ""]
    return "\n".join(lines)


def build(corpus: Path, dest: Path, factor: int, leave_out: list[str] = (), seed: int = 7) -> dict:
    """Write a corpus `factor` times the real one into dest; return what it holds."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(corpus, dest / ORIGINAL_DIR)
    documents = real_sections(corpus, leave_out)
    pool = [s for _, sections in documents.values() for s in sections]
    # the directory (what the documents do not cover) is never searched: it does not count toward the size
    real_bytes = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file() and "directory" not in p.relative_to(corpus).parts[:1])
    # copies are shorter than their originals: make as many as bring the corpus to `factor` times its size
    target, written, files, number = (factor - 1) * real_bytes, 0, 0, 0
    while written < target:
        number += 1
        rng = random.Random(seed * 100_003 + number)
        folder = dest / COPIES_DIR / f"{number:03d}"
        folder.mkdir(parents=True)
        for path, (title, sections) in documents.items():
            text = copy_text(title, sections, pool, number, rng)
            (folder / f"{path.stem}.md").write_text(text, encoding="utf-8")
            written += len(text.encode("utf-8"))
            files += 1
    chars = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    return {"factor": factor, "copies": number, "copied_files": files, "real_files": len(documents), "bytes": chars}


def is_real(source: str) -> bool:
    """Whether a passage comes from the real documents, not from a copy."""
    return f"/{COPIES_DIR}/" not in source.replace("\\", "/")
