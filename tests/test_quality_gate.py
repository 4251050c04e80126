"""The quality gate: a change that breaks retrieval or refusals on the dev set cannot land.

Thresholds sit just under the figures measured when they were set (see README, Evaluation).
"""

from pathlib import Path

from evals.run import evaluate_set
from evals.metrics import load_set

DEV = Path(__file__).resolve().parents[1] / "evals" / "dev.jsonl"
MIN_HIT_800 = 0.94  # measured 0.967 (hybrid, dense chive-sif, 2026-11-24)
MIN_MRR = 0.77  # measured 0.801
MIN_REFUSED = 0.95  # measured 1.000 of 18 out-of-scope and rule-breaking questions
MAX_FALSE_REFUSALS = 0.03  # measured 0.011


def test_dev_set_quality_gate(advisor):
    questions = load_set(DEV)
    assert sum(q.answerable for q in questions) >= 80
    report = evaluate_set(advisor, "dev", questions, methods=[("hybrid", "hybrid", True)])
    hybrid = report.retrieval["hybrid"].figures()
    answers = report.answers.figures()
    assert hybrid["hit@800"] >= MIN_HIT_800, report.retrieval["hybrid"].failures
    assert hybrid["mrr"] >= MIN_MRR
    assert answers["refused_correctly"] >= MIN_REFUSED, report.answers.failures
    assert answers["false_refusal"] <= MAX_FALSE_REFUSALS, report.answers.failures
