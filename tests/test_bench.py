"""The scaling benchmark's corpus builder and report (the benchmark itself runs in `make bench`)."""

from pathlib import Path

from bot.text import compact
from evals.bench_report import exponent, to_markdown, verdict
from evals.scale import COPIES_DIR, ORIGINAL_DIR, build, is_real, needed_phrases

ROOT = Path(__file__).resolve().parents[1]


def test_a_larger_corpus_holds_the_real_documents_once_and_varied_copies_without_answers(tmp_path):
    phrases = needed_phrases([ROOT / "evals" / "dev.jsonl", ROOT / "evals" / "followups.jsonl"])
    built = build(ROOT / "corpus", tmp_path / "c", 3, leave_out=phrases)
    real = sorted(p.name for p in (tmp_path / "c" / ORIGINAL_DIR).rglob("*") if p.is_file())
    assert real == sorted(p.name for p in (ROOT / "corpus").rglob("*") if p.is_file())
    copies = sorted((tmp_path / "c" / COPIES_DIR).rglob("*.md"))
    assert len(copies) == built["copies"] * built["real_files"] and built["copies"] >= 2
    searched = [p for p in (ROOT / "corpus").rglob("*") if p.is_file() and p.relative_to(ROOT / "corpus").parts[0] != "directory"]
    assert built["bytes"] >= 2.9 * sum(p.stat().st_size for p in searched)  # the directory is never searched: not copied
    texts = [p.read_text(encoding="utf-8") for p in copies]
    assert all(t.startswith("---\ntitle:") and "参考資料" in t for t in texts)
    assert texts[0] != texts[built["real_files"]]  # copy 1 and copy 2 of the same document differ
    held = [p for p in phrases if any(p in compact(t) for t in texts)]
    assert not held, f"copies hold answers: {held[:3]}"
    assert is_real(f"{tmp_path}/c/{ORIGINAL_DIR}/policy/x.txt") and not is_real(str(copies[0]))


def _size(factor, chunks, seconds, search_ms):
    advisor = {
        "chunks": chunks, "ingest_cold_s": seconds, "ingest_chunks_per_s": chunks / seconds, "ingest_unchanged_s": 0.3,
        "ingest_peak_mb": 300, "load_s": 1.0, "search_p50_ms": search_ms, "search_p95_ms": search_ms * 2,
        "ask_p50_ms": search_ms * 2, "ask_p95_ms": search_ms * 3, "peak_mb": 350, "hit800": 0.9, "mrr": 0.8,
    }
    recipe = {"chunks": chunks // 4, "seconds": seconds * 5, "search_p50_ms": 20.0, "search_p95_ms": 30.0,
              "peak_mb": 900, "hit800": 0.1, "mrr": 0.05}
    return {"factor": factor, "corpus_bytes": chunks * 400, "advisor": advisor, "recipe": recipe, "http": None}


def test_the_report_says_how_each_cost_grows():
    small, big = _size(1, 100, 1.0, 2.0), _size(100, 10_000, 100.0, 2.0)
    assert abs(exponent(small, big, lambda s: s["advisor"]["ingest_cold_s"]) - 1.0) < 1e-9
    assert "linear or better" in verdict(1.0) and "worse than linear" in verdict(1.6)
    report = to_markdown({"machine": {"cpus": 2, "python": "3.11"}, "minutes": 1.0, "sizes": [small, big]})
    assert "| advisor ingest, cold | 1.00 (linear or better) |" in report
    assert "| advisor search p50 | 0.00 (nearly flat) |" in report
    assert "9.0x (0.900 / 0.100) | met |" in report
