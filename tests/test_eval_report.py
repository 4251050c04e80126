"""The eval report (evals/report.py) on tiny question sets against the real index: tables, charts, JSON, regressions."""

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
]
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


def test_failures_show_what_was_retrieved_but_held_out_ones_only_ids(advisor, tmp_path):
    out = tmp_path / "latest.md"
    data = write_report(_report(advisor, tmp_path), out, charts=False)
    md = out.read_text(encoding="utf-8")
    dev_failures, heldout_failures = md.split("### heldout (held out")[0], md.split("### heldout (held out")[1]
    assert "跡継ぎがいなくて困っています" in dev_failures and MISSING in dev_failures and "retrieved [1]" in dev_failures
    assert "- q2 retrieval:" in heldout_failures and "- q2 answer: fact missing" in heldout_failures
    assert "跡継ぎ" not in heldout_failures.split("### followups")[0] and MISSING not in heldout_failures
    assert [set(f) for f in data["sets"]["heldout"]["failures"]["retrieval"]] == [{"id", "why"}]
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
