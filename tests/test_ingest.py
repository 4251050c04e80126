
import threading

import pytest

from bot.advisor import Advisor
from bot.index import read_manifest
from bot.settings import Settings
from ingest.pipeline import ingest


@pytest.fixture
def settings(tmp_path, small_corpus):
    return Settings(data_dir=tmp_path / "data", corpus_dir=small_corpus)


def sources(settings):
    return set(read_manifest(settings.index_dir)["files"])


def test_first_ingest_indexes_everything_and_second_skips(settings, small_corpus):
    first = ingest(settings)
    assert first.ok and len(first.added) == 2 and first.embedded == first.chunks
    second = ingest(settings)
    assert second.unchanged and second.generation == first.generation
    assert len(second.kept) == 2


def test_changed_file_is_reindexed_alone_and_old_vectors_are_reused(settings, small_corpus):
    first = ingest(settings)
    guide = small_corpus / "guides" / "bcp.md"
    guide.write_text(guide.read_text(encoding="utf-8") + "\n## 費用\n\n相談は無料です。\n", encoding="utf-8")
    report = ingest(settings)
    assert len(report.updated) == 1 and report.updated[0].endswith("guides/bcp.md")
    assert report.embedded < first.embedded  # only the guide's passages were embedded again
    assert report.generation == first.generation + 1
    results = Advisor(settings).search("相談は無料", k=3)
    assert any("相談は無料です" in r.chunk.text for r in results)


def test_removed_file_leaves_the_index(settings, small_corpus):
    ingest(settings)
    (small_corpus / "guides" / "bcp.md").unlink()
    report = ingest(settings)
    assert len(report.removed) == 1
    results = Advisor(settings).search("専門家が個別に訪問", k=10)
    assert not any(r.chunk.source.endswith("bcp.md") for r in results)


def test_unreadable_file_is_named_and_the_rest_is_indexed(settings, small_corpus):
    (small_corpus / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    report = ingest(settings)
    assert not report.ok
    [(src, why)] = report.failed.items()
    assert src.endswith("broken.pdf") and "broken.pdf" in why
    assert len(report.added) == 2
    assert Advisor(settings).search("事業承継", k=1)


def test_a_file_that_breaks_later_keeps_serving_its_previous_passages(settings, small_corpus):
    ingest(settings)
    guide = small_corpus / "guides" / "bcp.md"
    guide.write_bytes(b"\x81\x00\x82 broken")  # neither UTF-8 nor Shift_JIS any more
    report = ingest(settings)
    assert any(s.endswith("bcp.md") for s in report.failed)
    results = Advisor(settings).search("専門家が個別に訪問", k=5)
    assert any(r.chunk.source.endswith("bcp.md") for r in results)


def test_ingest_that_fails_halfway_leaves_the_previous_index_serving(settings, small_corpus):
    first = ingest(settings)
    (small_corpus / "guides" / "new.md").write_text("# 新しい案内\n\n展示会の出展を支援します。\n", encoding="utf-8")

    def interrupted(stage, done, total):
        if stage == "store":
            raise KeyboardInterrupt  # the user presses Ctrl-C while vectors are being stored

    with pytest.raises(KeyboardInterrupt):
        ingest(settings, progress=interrupted)
    manifest = read_manifest(settings.index_dir)
    assert manifest["generation"] == first.generation
    assert not (settings.index_dir / f"gen-{first.generation + 1}").exists()
    assert Advisor(settings).search("事業承継", k=1)  # still serving
    assert ingest(settings).ok  # and the next ingest completes
    assert read_manifest(settings.index_dir)["generation"] == first.generation + 1


def test_rebuild_embeds_everything_again(settings):
    first = ingest(settings)
    again = ingest(settings, rebuild=True)
    assert not again.unchanged and again.embedded == first.chunks


def test_explicit_paths_add_to_the_index_without_dropping_other_files(settings, small_corpus, tmp_path):
    ingest(settings)
    extra = tmp_path / "extra.md"
    extra.write_text("# 追加資料\n\n下請取引の相談窓口について。\n", encoding="utf-8")
    report = ingest(settings, [extra])
    assert len(report.added) == 1
    assert len(sources(settings)) == 3


def test_a_running_advisor_keeps_answering_through_an_ingest_and_then_sees_it(settings, small_corpus):
    ingest(settings)
    advisor = Advisor(settings)
    (small_corpus / "guides" / "fair.md").write_text(
        "# 見本市ガイド\n\n海外バイヤー向けの見本市案内を毎月配信します。\n", encoding="utf-8"
    )
    ingest(settings)
    results = advisor.search("海外バイヤー向けの見本市案内", k=3)  # refreshes first
    assert any("海外バイヤー" in r.chunk.text for r in results)
    old = advisor.index
    advisor_stale = Advisor(settings, index=old)
    ingest(settings, rebuild=True)  # two generations on: the stale one's vectors are gone from disk
    assert advisor_stale.search("見本市", k=1)  # it reloads instead of failing


def test_a_turn_ends_on_the_generation_it_began_with(settings, small_corpus):
    """An ingest that finishes mid-turn switches the advisor for the next turns, not this one: its
    search, library and programs stay one generation (another turn's refresh does the switching)."""
    ingest(settings)
    advisor = Advisor(settings)
    seen: list = []

    def gone() -> bool:  # asked at the turn's start and again before it is stored
        if not seen:
            (small_corpus / "guides" / "fair.md").write_text(
                "# 見本市ガイド\n\n海外バイヤー向けの見本市案内を毎月配信します。\n", encoding="utf-8"
            )
            ingest(settings)
            assert advisor._generation is advisor.generation  # not switched yet
            before = advisor.generation
            other = threading.Thread(target=advisor.refresh)  # as another turn's refresh would
            other.start()
            other.join()
            seen.append((before, advisor.generation, advisor._generation))
        return False

    answer = advisor.ask("海外バイヤー向けの見本市案内はありますか", gone=gone)
    before, during, serving = seen[0]
    assert during is before and serving is not before  # this turn kept its generation; the advisor switched
    assert not any("海外バイヤー" in c.result.chunk.text for c in answer.citations)
    assert advisor.generation is serving  # the next turn answers from the new one
    assert any("海外バイヤー" in r.chunk.text for r in advisor.search("海外バイヤー向けの見本市案内", k=3))
