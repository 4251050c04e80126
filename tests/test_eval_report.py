"""The eval report (evals/report.py) on tiny question sets against the real index: tables, charts, JSON, regressions,
and the answer-quality figures (evals/metrics.py AnswerQuality) in the headline, the table and latest.json."""

import json

from typer.testing import CliRunner

from bot.cli import app
from evals.metrics import load_set
from evals.report import write_report
from evals.run import EvalReport, evaluate_followups, evaluate_set

MISSING = "この語句は資料のどこにもない"  # a needed phrase no passage holds: a sure retrieval and answer miss
QUESTIONS = [
    {"id": "q1", "question": "BCPを作りたいのですが、手伝ってもらえますか", "direction": "④", "needs": ["ＢＣＰ"]},
    {"id": "q2", "question": "跡継ぎがいなくて困っています", "direction": "⑤", "needs": [MISSING]},
    {"id": "q3", "question": "明日の天気は？", "kind": "out_of_scope"},
    {  # about a real program, but no guide says it: the answer must say so and name a desk
        "id": "q4",
        "question": "BCP実践促進助成金で中古の発電機を買っても対象になりますか",
        "kind": "not_stated",
        "program": "BCP実践促進助成金",
        "desks": ["東京都中小企業振興公社", "公社"],
    },
    {
        "id": "q5",
        "question": "Can we buy a second-hand generator with the BCP subsidy?",
        "kind": "not_stated",
        "lang": "en",
        "program": "BCP実践促進助成金",
        "desks": ["東京都中小企業振興公社", "公社", "Tokyo SME Support Center"],
    },
]
QUALITY = {"fact_first_sentence", "fact_first150", "stock_yes", "english_answer", "answer_chars_median", "honest"}
CONVERSATION = {"id": "f1", "turns": [{"message": "展示会に出たい", "expect": "answer", "needs": ["展示会"]}]}


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _report(advisor, tmp_path) -> dict:
    questions = load_set(_jsonl(tmp_path / "dev.jsonl", QUESTIONS))
    sets = [
        evaluate_set(advisor, "dev", questions),
        evaluate_set(advisor, "heldout", questions),
        evaluate_followups(advisor, "followups", [CONVERSATION]),
    ]
    return EvalReport(sets, advisor.index.size, "chive-sif").to_dict()


def test_report_has_headline_methods_directions_charts_and_json(advisor, tmp_path):
    out = tmp_path / "reports" / "latest.md"
    write_report(_report(advisor, tmp_path), out)
    md = out.read_text(encoding="utf-8")
    assert "## Headline" in md and "No previous report" in md
    assert "| dev | hit@800, hybrid + term map |" in md and "| followups | follow-ups grounded (all turns) |" in md
    for method in ("| BM25 |", "| dense |", "| hybrid |", "**hybrid + term map (default)**", "| advisor (full path) |"):
        assert method in md
    assert "## By direction" in md and "(4) BCP & cyber (n=1)" in md and "(5) succession (n=1)" in md
    for png in ("eval-methods.png", "eval-directions.png", "eval-headline.png"):
        assert f"]({png})" in md
        assert (out.parent / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert {"generated", "commit", "passages", "headline", "sets", "previous", "regressions", "charts"} <= set(data)
    dev = data["sets"]["dev"]
    assert set(dev["methods"]) == {"bm25", "dense", "hybrid", "bm25+terms", "dense+terms", "hybrid+terms"}
    assert set(dev["directions"]) == {"④", "⑤"} and dev["methods"]["hybrid+terms"]["n"] == 2
    assert dev["headline"]["refused_correctly"] == 1.0
    # answer quality: in the headline (yes/no only where a question has an expected yes/no), the table, the JSON
    assert QUALITY <= set(dev["headline"]) and "yes_no_correct" not in dev["headline"]
    quality = dev["quality"]
    assert quality["n"] == 5 and quality["with_fact"] == 2 and quality["not_stated"] == 2
    assert quality["english_questions"] == 1 and quality["answer_chars_median"] > 0
    assert 0 <= quality["stock_yes"] <= 1 and quality["stock_yes_count"] == round(quality["stock_yes"] * 5)
    assert "## Answer quality" in md and "| dev | 5 |" in md
    assert "| dev | not stated: says so and names a desk |" in md and "| dev | answer length, median (characters) |" in md


def test_failures_show_what_was_retrieved_but_held_out_ones_only_ids(advisor, tmp_path):
    out = tmp_path / "latest.md"
    data = write_report(_report(advisor, tmp_path), out, charts=False)
    md = out.read_text(encoding="utf-8")
    dev_failures, heldout_failures = md.split("### heldout (held out")[0], md.split("### heldout (held out")[1]
    assert "跡継ぎがいなくて困っています" in dev_failures and MISSING in dev_failures and "retrieved [1]" in dev_failures
    assert "- q2 retrieval:" in heldout_failures and "- q2 answer: fact missing" in heldout_failures
    held = heldout_failures.split("### followups")[0]
    assert "跡継ぎ" not in held and MISSING not in held and "中古" not in held and "second-hand" not in held
    assert [set(f) for f in data["sets"]["heldout"]["failures"]["retrieval"]] == [{"id", "why"}]
    assert all(set(f) == {"id", "why"} for f in data["sets"]["heldout"]["failures"]["quality"])
    dev_quality = data["sets"]["dev"]["failures"]["quality"]
    assert all(f["question"] for f in dev_quality) and "Answer quality misses:" in dev_failures
    # the honest check names the condition that failed, by id
    for f in data["sets"]["heldout"]["failures"]["quality"]:
        if f["id"] in ("q4", "q5") and "not honest" in f["why"]:
            assert any(c in f["why"] for c in ("does not say", "no desk", "dump", "stock yes")), f
    assert not list(tmp_path.glob("*.png"))


def test_a_worse_figure_than_the_previous_report_is_marked(advisor, tmp_path):
    out = tmp_path / "latest.md"
    data = _report(advisor, tmp_path)
    write_report(data, out, charts=False)
    previous = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    previous["headline"]["dev"]["mrr"] += 0.1  # the last run found more
    previous["headline"]["dev"]["false_refusal"] -= 0.1  # lower is better: 0 is now a regression too
    out.with_suffix(".json").write_text(json.dumps(previous), encoding="utf-8")
    again = write_report(data, out, charts=False)
    md = out.read_text(encoding="utf-8")
    mrr_row = next(line for line in md.splitlines() if line.startswith("| dev | MRR"))
    assert "▼ regression" in mrr_row and "-0.100" in mrr_row
    assert "▼ regression" not in next(line for line in md.splitlines() if line.startswith("| dev | hit@800"))
    assert {(r["set"], r["figure"]) for r in again["regressions"]} == {("dev", "mrr"), ("dev", "false_refusal")}
    kept = json.loads((tmp_path / "previous.json").read_text(encoding="utf-8"))
    assert kept["headline"]["dev"]["mrr"] == previous["headline"]["dev"]["mrr"]


def test_cli_writes_the_report_and_keeps_json_on_stdout_clean(index_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("SMEBOT_DATA_DIR", str(index_settings.data_dir))
    from bot.settings import get_settings

    get_settings.cache_clear()
    questions = _jsonl(tmp_path / "dev.jsonl", QUESTIONS)
    out = tmp_path / "reports" / "latest.md"
    result = CliRunner().invoke(
        app, ["eval", "--set", str(questions), "--no-recipe", "--no-charts", "--json", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["headline"]["dev"]["hit@800"] >= 0.5 and data["previous"] is None
    assert out.exists() and out.with_suffix(".json").exists()


def test_a_set_with_no_needed_phrases_has_no_retrieval_figures_and_does_not_crash(advisor, tmp_path):
    """A not_stated set: latency and answer quality, no hit@800 (nothing to find), no division by zero."""
    questions = load_set(_jsonl(tmp_path / "notstated_heldout.jsonl", QUESTIONS[3:]))
    report = evaluate_set(advisor, "notstated_heldout", questions)
    headline = report.headline()
    assert "hit@800" not in headline and "mrr" not in headline and "answer_fact" not in headline
    assert {"honest", "stock_yes", "english_answer", "answer_chars_median"} <= set(headline)
    assert "fact_first_sentence" not in headline  # no question has a needed phrase
    assert report.latency_ms["search p50"] > 0 and report.latency_ms["ask p50"] > 0  # answerable for latency
    data = EvalReport([report], advisor.index.size, "chive-sif").to_dict()
    out = tmp_path / "latest.md"
    write_report(data, out)  # charts too: a set with no retrieval figures draws none for it
    md = out.read_text(encoding="utf-8")
    assert "No question in this set has a needed phrase" in md and "| notstated_heldout | 2 |" in md
    assert "中古" not in md and "second-hand" not in md  # held out: no question text anywhere


def test_without_the_answer_composer_the_eval_still_runs(advisor, tmp_path, monkeypatch):
    """bot.answer is an internal being replaced: without it the per-method answer figure is —, the rest is measured."""
    import sys

    import evals.run

    monkeypatch.setitem(sys.modules, "bot.answer", None)  # import bot.answer now raises ImportError
    monkeypatch.setattr(evals.run, "_COMPOSE", evals.run._UNSET)
    report = evaluate_set(advisor, "dev", load_set(_jsonl(tmp_path / "dev.jsonl", QUESTIONS)))
    figures = report.to_dict()
    assert all(f["answer_fact"] is None for f in figures["methods"].values())
    assert figures["headline"]["hit@800"] >= 0.5 and "answer_fact" in figures["headline"]  # the full path is kept
    out = tmp_path / "latest.md"
    write_report(EvalReport([report], advisor.index.size, "chive-sif").to_dict(), out, charts=False)
    assert "| **hybrid + term map (default)** | 2 |" in out.read_text(encoding="utf-8")
