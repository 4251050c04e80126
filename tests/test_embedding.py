import numpy as np
import pytest

from bot.embedding import ChiveSifEmbedder, EmbedderUnavailable, make_embedder, minilm_path, murmurhash64a


def test_murmurhash_matches_spacys_vocabulary_keys():
    spacy_strings = pytest.importorskip("spacy.strings")
    for word in ["助成", "の", "サイバーセキュリティー", "bcp", "事業承継計画書", "a" * 17]:
        assert murmurhash64a(word.encode()) == spacy_strings.hash_string(word)


@pytest.fixture(scope="module")
def chive(tmp_path_factory):
    return ChiveSifEmbedder(cache_dir=tmp_path_factory.mktemp("cache"))


def test_chive_sif_tells_topics_apart(chive):
    fair, expo, successor = chive.embed_documents(["展示会に出展したい", "見本市への出展支援", "事業承継の後継者育成"])
    assert fair @ expo > 0.6
    assert fair @ expo > fair @ successor + 0.3
    assert abs(np.linalg.norm(fair) - 1.0) < 1e-5


def test_owner_words_sit_near_policy_words(chive):
    vectors = chive.embed_documents(["跡継ぎがいない", "後継者の不足", "展示会の出展"])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_key_table_is_cached_and_reloads_identically(tmp_path):
    first = ChiveSifEmbedder(cache_dir=tmp_path)
    assert (tmp_path / "chive-key2row.npz").exists()
    second = ChiveSifEmbedder(cache_dir=tmp_path)
    assert first.row("見本市") == second.row("見本市") is not None
    assert second.row("ｘｙｚｚｙ存在しない語") is None


def test_text_without_known_words_embeds_to_zero(chive):
    assert not np.any(chive.embed_query("。。。"))


def test_a_sentence_transformers_model_from_disk_is_a_setting(tmp_path):
    embedder = make_embedder(f"st:{minilm_path()}")
    vectors = embedder.embed_documents(["trade show subsidy", "exhibition support"])
    assert vectors.shape == (2, embedder.dim) and vectors[0] @ vectors[1] > 0.3


def test_a_model_that_is_not_on_disk_fails_fast_with_its_name():
    with pytest.raises(EmbedderUnavailable, match="no-such/model"):
        make_embedder("st:no-such/model")
