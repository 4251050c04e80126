"""Retrieval on the real bundled corpus, with the real models: what an owner's words find."""


def top_texts(advisor, query, k=3, **kw):
    return [r.chunk.text for r in advisor.search(query, k, **kw)]


def found(advisor, query, phrase, k=3, **kw):
    return any(phrase in t for t in top_texts(advisor, query, k, **kw))


def test_selling_online_finds_the_ec_and_mail_order_passages(advisor):
    assert found(advisor, "ネットで自社の商品を売りたいのですが、支援はありますか", "ＥＣ（電子商取引）", k=5) or found(
        advisor, "ネットで自社の商品を売りたいのですが、支援はありますか", "通信販売業者", k=5
    )


def test_owners_words_meet_the_policy_words(advisor):
    assert found(advisor, "跡継ぎがいなくて困っています", "承継")
    assert found(advisor, "元請けに値段を叩かれて困っている", "下請")
    assert found(advisor, "ウイルス対策にお金がかかる、補助はある？", "サイバーセキュリティ対策を実施するための経費")
    assert found(advisor, "地震に備えて計画を作りたい", "ＢＣＰ")
    assert found(advisor, "客の理不尽なクレームがひどい", "著しい迷惑行為")


def test_full_and_half_width_questions_find_the_same(advisor):
    a = [r.chunk.id for r in advisor.search("ＢＣＰの策定を手伝ってほしい", 5)]
    b = [r.chunk.id for r in advisor.search("BCPの策定を手伝ってほしい", 5)]
    assert a == b


def test_english_questions_reach_japanese_passages(advisor):
    assert found(advisor, "Is there a subsidy for exhibiting at trade shows?", "展示会等への出展に係る助成")
    assert found(advisor, "I have no successor. Can someone outside my family take over my company?", "親族以外への承継")


def test_direction_filter_keeps_to_one_direction(advisor):
    results = advisor.search("支援", 10, direction="④")
    assert results and all(r.chunk.direction == "④" for r in results)


def test_each_method_returns_ranked_results_with_scores(advisor):
    for method in ("bm25", "dense", "hybrid"):
        results = advisor.search("事業承継のセミナー", 5, method=method)
        assert len(results) == 5
        assert results[0].score >= results[-1].score
        assert method in results[0].ranks or method == "hybrid"


def test_search_result_has_the_contract_fields(advisor):
    data = advisor.search("展示会", 1)[0].to_dict()
    assert {"text", "source", "title", "section", "page", "score"} <= set(data)
    assert data["source"] == "corpus/policy/tokyo-sme-vision-strategy1.txt"


def test_added_policy_words_stay_separate_tokens(advisor):
    # joined with a space, サイバーセキュリティ and ポータルサイト were squeezed into one unknown word
    query = advisor.retriever.prepare("Is there a subsidy for cybersecurity measures?")
    assert {"サイバー", "ポータルサイト"} <= set(query.expansion_tokens)
    assert not any("ポータル" in t and "セキュリティ" in t for t in query.expansion_tokens)


def test_a_near_duplicate_passage_is_folded_into_the_fuller_one(advisor):
    from bot.index import LoadedIndex
    from bot.models import Chunk
    from bot.retrieval import Retriever

    full = "中小企業が策定したＢＣＰが機能するよう、事前準備や施設・機器の整備などの経費の一部について助成を行う。講座も開く。"
    chunks = [
        Chunk("a", full[:40], "copy.md", "copy", "参考"),  # an excerpt, ranked first
        Chunk("b", "展示会への出展に係る助成を行う。", "p.txt", "p", "② 見本市への出展支援"),
        Chunk("c", full, "p.txt", "p", "④ 事業継続へのサポート"),  # the whole passage
    ]
    r = Retriever(LoadedIndex({}, chunks, None, None), advisor.tokenizer, None, advisor.terms, advisor.settings)
    assert r._without_near_duplicates([0, 1, 2], 3) == [2, 1]  # the fuller passage takes the excerpt's place


def test_bm25_queries_give_what_bm25s_retrieve_gives_to_the_bit(advisor):
    """bot.retrieval.bm25_top adds a query's postings in one go: the same documents and float32
    scores as bm25s' retrieve(), for every question of the dev set, with and without a filter."""
    import json

    import numpy as np
    from conftest import ROOT

    from bot.retrieval import bm25_top

    retriever = advisor.retriever
    bm25 = retriever.index.bm25
    questions = [json.loads(line)["question"] for line in (ROOT / "evals" / "dev.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    masks = [None, retriever._mask("④", None), retriever._mask(None, "guide"), retriever._mask(None, "policy")]
    k = min(40, len(retriever.index.chunks))
    for q in questions + ["zzzz qqqq"]:  # the last has no token the index knows
        tokens = retriever.prepare(q).weighted_tokens(3) or ["zzzz"]
        for mask in masks:
            docs, scores = bm25.retrieve([tokens], k=k, show_progress=False, weight_mask=mask, n_threads=0)
            top_docs, top_scores = bm25_top(bm25, tokens, k, mask)
            assert np.array_equal(top_docs, docs[0]) and np.array_equal(top_scores, scores[0]), q
            assert top_scores.dtype == scores.dtype
