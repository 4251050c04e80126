"""The programs, laws, schemes and institutions owners ask about that the documents do not cover.

They are data: `corpus/directory/*.md`, whose front matter lists the entries (name, aliases and
owners' nicknames, who runs each, its desk, phone and official page) and whose body has one
`## name` section per entry, indexed like any passage so that an answer can cite it. Adding one is
adding an entry to that file; no code names a program.

`Directory.named_in` finds the entries a message names (the understanding, bot/core/intent.py, also
looks for program-like names that neither the documents nor the directory know).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..text import compact, in_order_found, normalize

log = logging.getLogger(__name__)

DIRECTORY_FOLDER = "directory"
DIRECTORY_KIND = "directory"  # the `kind:` of a directory file and of its passages, kept beside the index, never searched
MIN_ALIAS_CHARS = 2
_ASKS = Path(__file__).resolve().parents[1] / "data" / "asks.yaml"


def _same_words() -> dict[str, str]:
    """English word -> the word it stands for in a name (grant -> subsidy), from asks.yaml's same_words_en."""
    groups = yaml.safe_load(_ASKS.read_text(encoding="utf-8")).get("same_words_en") or []
    return {w: group[0] for group in groups for w in group[1:]}


def _as_one(text: str, same: dict[str, str]) -> str:
    """`text` with each English word that stands for another replaced by it (the monozukuri grant -> subsidy)."""
    if not same:
        return text
    return re.sub(r"(?<![a-z0-9])(" + "|".join(map(re.escape, same)) + r")(?![a-z0-9])", lambda m: same[m.group(1)], text)


@dataclass(frozen=True)
class OtherProgram:
    """One entry of the directory: something owners ask about that the documents do not hold."""

    id: str
    name: str
    name_en: str | None
    kind: str
    aliases: tuple[str, ...]
    runs: str
    runs_en: str | None
    desk: str
    desk_en: str | None
    phone: str | None
    url: str | None
    mentioned_in: tuple[str, ...] = ()  # ids of guides whose text mentions it (a related program)
    topics: tuple[str, ...] = ()  # owners' words for the problem it addresses (LED, 得意先が倒産), when they name no program
    source_kind: str = "secondary"  # "official" when `url` is the operator's own page (only then is it called official)


def entries_of(path: Path) -> list[dict[str, Any]]:
    """The entries a directory file's front matter lists ([] for any other file)."""
    text = path.read_text(encoding="utf-8")
    if not text.lstrip("\ufeff").startswith("---"):
        return []
    try:
        # the front matter ends at a line that is only ---, not at --- inside a value (a source's URL)
        front = yaml.safe_load(re.split(r"^---[ \t]*$", text.lstrip("\ufeff"), maxsplit=2, flags=re.M)[1])
    except (yaml.YAMLError, IndexError) as exc:
        log.warning("%s: the directory's front matter cannot be read (%s)", path, exc)
        return []
    if not isinstance(front, dict) or front.get("kind") != DIRECTORY_KIND or not isinstance(front.get("entries"), list):
        return []
    return [e for e in front["entries"] if isinstance(e, dict) and e.get("name")]


def _text(value: Any) -> str | None:
    return str(value).strip() if value not in (None, "") and str(value).strip() else None


class Directory:
    """The directory's entries, and the names owners use for them (longest first)."""

    def __init__(self, entries: Iterable[OtherProgram] = ()) -> None:
        self.entries: dict[str, OtherProgram] = {}
        self._keys: list[tuple[str, str, bool]] = []  # (compacted alias, entry name, is ascii)
        self._same = _same_words()
        for entry in entries:
            self.entries.setdefault(entry.name, entry)
        for entry in self.entries.values():
            for alias in dict.fromkeys([entry.name, *entry.aliases]):
                key = compact(_as_one(str(alias).lower(), self._same) if str(alias).isascii() else alias).lower()
                if len(key) >= MIN_ALIAS_CHARS:
                    self._keys.append((key, entry.name, key.isascii()))
        self._keys.sort(key=lambda k: -len(k[0]))
        # owners' words for the problem each entry addresses, normalized once (suggested_for reads them every turn)
        self._topics = [(e.name, normalize(t).lower()) for e in self.entries.values() for t in e.topics if normalize(t).strip()]
        self._words = {
            key: re.compile(r"(?<![a-z0-9])" + r"\s*".join(re.escape(ch) for ch in key) + r"(?![a-z0-9])")
            for key, _, ascii_key in self._keys if ascii_key
        }

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> "Directory":
        """The directory from its entries as the front matter gives them (as ingest keeps them in the index)."""
        return cls(
            OtherProgram(
                id=str(e.get("id") or e["name"]), name=str(e["name"]).strip(), name_en=_text(e.get("name_en")),
                kind=str(e.get("kind") or "scheme"),
                aliases=tuple(str(a) for a in (e.get("aliases") or []) if isinstance(a, (str, int)) and str(a).strip()),
                runs=_text(e.get("runs")) or "", runs_en=_text(e.get("runs_en")), desk=_text(e.get("desk")) or "",
                desk_en=_text(e.get("desk_en")), phone=_text(e.get("phone")), url=_text(e.get("url")),
                mentioned_in=tuple(str(m) for m in e.get("mentioned_in") or []),
                topics=tuple(str(t) for t in e.get("topics") or [] if str(t).strip()),
                source_kind=str(e.get("source_kind") or "secondary"),
            )
            for e in records
            if isinstance(e, dict) and e.get("name")
        )

    @classmethod
    def load(cls, corpus_dir: Path) -> "Directory":
        """The entries of every `directory/*.md` under `corpus_dir`, read from the files."""
        return cls.from_records(e for path in sorted((Path(corpus_dir) / DIRECTORY_FOLDER).glob("*.md")) for e in entries_of(path))

    def without(self, programs: list[tuple[str, Iterable[str]]]) -> "Directory":
        """This directory less the entries the documents now hold: a program, law or scheme whose name
        or an alias is a guide's name or alias (a guide added for 持続化 makes it one of the documents'
        programs). An institution goes only when a guide goes by one of its names: a desk otherwise remains
        a desk beside a guide that mentions it (日本政策金融公庫 beside the guide to its succession loans)."""
        held = {compact(str(n)).lower() for name, aliases in programs for n in (name, *aliases) if str(n).strip()}
        held_names = [compact(name).lower() for name, _ in programs]

        def is_held(entry: OtherProgram) -> bool:
            keys = {compact(str(n)).lower() for n in (entry.name, *entry.aliases)}
            if entry.kind == "institution":  # a desk only when a guide goes by one of its names (the police's cyber desk)
                return bool(keys & held)
            return bool(keys & held) or any(compact(entry.name).lower() in n for n in held_names)

        return Directory(e for e in self.entries.values() if not is_held(e))

    def __len__(self) -> int:
        return len(self.entries)

    def suggested_for(self, text: str) -> list[str]:
        """The entries whose problem the owner describes without naming any program (「工場の蛍光灯をLEDに替えたい」:
        the energy-saving subsidy), in the order their words appear."""
        return in_order_found(normalize(text).lower(), ((topic, name) for name, topic in self._topics))

    def _holding(self, known_keys: list[str]) -> list[tuple[str, str, list[str], bool]]:
        """(key, entry, the known phrases inside it, whether the key is an English word) for each name of this
        directory that holds a phrase of the documents' own program names (個人版事業承継税制 holds 事業承継税制;
        jizokuka kyufukin holds jizokuka), longest first."""
        return [(key, name, inside, ascii_key) for key, name, ascii_key in self._keys
                if (inside := [k for k in known_keys if k in key and k != key])]

    def phrases_only_inside(self, text: str, known: Iterable[str]) -> set[str]:
        """The documents' phrases `text` holds only within longer names of this directory (「個人版事業承継税制とは？」:
        事業承継税制): they name nothing of the documents there."""
        flat = compact(text).lower()
        out: set[str] = set()
        for key, _, inside, _ in self._holding([k for k in (compact(p).lower() for p in known) if k]):
            if key in flat:
                out |= {k for k in inside if flat.count(k) == flat.count(key)}
        return out

    def named_in(self, text: str, known: Iterable[str] = ()) -> list[str]:
        """The entries `text` names, in the order they first appear; `known` are phrases already
        taken by the documents' own program names (their spans are not read again)."""
        flat = compact(text).lower()
        spaced = _as_one(normalize(text), self._same)  # English aliases are matched as words, with the spaces between them
        known_keys = [k for k in (compact(p).lower() for p in known) if k]
        found: dict[str, float] = {}
        # a longer name of this directory holding a documents' phrase is read first: 個人版事業承継税制, not the
        # 事業承継税制 inside it
        for key, name, _, ascii_key in self._holding(known_keys):
            if not ascii_key and (at := flat.find(key)) >= 0:  # (English names are read as words below)
                found.setdefault(name, at)
                flat = flat[:at] + "\0" * len(key) + flat[at + len(key):]
        for key in known_keys:
            flat = flat.replace(key, "\0" * len(key))
        for key, name, ascii_key in self._keys:
            if ascii_key:  # a word of its own (IPA, not 'ipad'; 'monozukuri subsidy' after 'the')
                m = self._words[key].search(spaced)
                if m:
                    found.setdefault(name, m.start() / max(len(spaced), 1) * len(flat))
                    spaced = spaced[: m.start()] + " " * (m.end() - m.start()) + spaced[m.end():]
                continue
            at = flat.find(key)
            if at >= 0:
                found.setdefault(name, at)
                # longest first: 下請法 is not read again inside 中小受託取引適正化法
                flat = flat[:at] + "\0" * len(key) + flat[at + len(key):]
        return sorted(found, key=found.get)
