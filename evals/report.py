"""evals/reports/: the Markdown report, its JSON twin, PNG charts, and the comparison with the previous run.

Everything here reads the dict of `EvalReport.to_dict()` (and the previous latest.json), so the
report of an older run can be compared without re-running it. Charts use ASCII labels only: a fresh
machine may have no Japanese font, and matplotlib would draw empty boxes.
"""

from __future__ import annotations

import json
import shutil
from .understanding import render_understanding
from pathlib import Path

# Method keys of evals.run.METHODS, in the order the report shows them
LABELS = {
    "bm25": "BM25",
    "dense": "dense",
    "hybrid": "hybrid",
    "bm25+terms": "BM25 + term map",
    "dense+terms": "dense + term map",
    "hybrid+terms": "hybrid + term map (default)",
    "recipe": "LangChain quickstart recipe",
}
COLORS = {  # a method and its term-map variant share a hue, lighter without the term map
    "bm25": "#aec7e8",
    "dense": "#ffbb78",
    "hybrid": "#98df8a",
    "bm25+terms": "#1f77b4",
    "dense+terms": "#ff7f0e",
    "hybrid+terms": "#2ca02c",
    "recipe": "#7f7f7f",
}
DIRECTIONS = {
    "①": "(1) ICT & equipment",
    "②": "(2) sales channels",
    "③": "(3) management base",
    "④": "(4) BCP & cyber",
    "⑤": "(5) succession",
}
HEADLINE = {
    "hit@800": "hit@800, hybrid + term map",
    "mrr": "MRR, hybrid + term map",
    "answer_fact": "answer fact rate, full path",
    "false_refusal": "false refusals",
    "refused_correctly": "out-of-scope & rule-breaking refused",
    "program_named_with_figure": "program named with the asked figure",
    "fact_first_sentence": "asked fact in the first sentence",
    "fact_first150": "asked fact in the first 150 characters",
    "stock_yes": "stock yes openers (share, goal 0)",
    "english_answer": "English questions answered in English",
    "answer_chars_median": "answer length, median (characters)",
    "honest": "not stated: says so and names a desk",
    "yes_no_correct": "yes/no questions: right polarity first",
    "ask_p50_ms": "ask latency p50 (ms)",
    "grounded": "follow-ups grounded (all turns)",
    "follow_up_grounded": "follow-up turns grounded (cited, or a program carrying out the measure)",
    "follow_up_cited": "follow-up turns citing the needed passage (strict)",
    "topic_switches_clean": "topic switches clean",
    "turn_p50_ms": "turn latency p50 (ms)",
}
MARKERS = {"regression": "▼ regression", "better": "▲ better", "new": "new", "": ""}
LOWER_IS_BETTER = {"false_refusal", "stock_yes", "answer_chars_median"}
TOLERANCE = 0.005  # a rate that moved less than this is noise, not a regression
LATENCY_TOLERANCE = 0.20  # latency: worse means more than 20% slower
CHARS_TOLERANCE = 0.10  # answer length: worse means more than 10% longer
NO_ANSWER_STEP = (
    "The recipe's answer fact rate is —: the quickstart hands its passages to a language model, "
    "and this offline run has none, so it has no answer to check."
)


# --- comparison ----------------------------------------------------------------------------------


def change(figure: str, now: float, before: float | None) -> str:
    """'regression', 'better', '' (within tolerance) or 'new' (no previous figure)."""
    if before is None:
        return "new"
    if figure.endswith("_ms"):
        worse, better = now > before * (1 + LATENCY_TOLERANCE), now < before * (1 - LATENCY_TOLERANCE)
    elif _is_count(figure):
        worse, better = now > before * (1 + CHARS_TOLERANCE), now < before * (1 - CHARS_TOLERANCE)
    else:
        gain = before - now if figure in LOWER_IS_BETTER else now - before
        worse, better = gain < -TOLERANCE, gain > TOLERANCE
    return "regression" if worse else "better" if better else ""


def compare(data: dict, previous: dict | None) -> dict:
    """The report with the previous run's headline beside it and the regressions listed."""
    before = (previous or {}).get("headline", {})
    regressions = [
        {"set": name, "figure": figure, "now": now, "previous": before[name][figure]}
        for name, figures in data["headline"].items()
        for figure, now in figures.items()
        if change(figure, now, before.get(name, {}).get(figure)) == "regression"
    ]
    kept = {k: previous.get(k) for k in ("generated", "commit", "headline")} if previous else None
    return {**data, "previous": kept, "regressions": regressions}


def write_report(data: dict, output: Path, charts: bool = True) -> dict:
    """Write OUTPUT (Markdown), its .json and the charts beside it; the .json found there is the previous run."""
    output.parent.mkdir(parents=True, exist_ok=True)
    json_path = output.with_suffix(".json")
    previous = None
    if json_path.exists():
        try:
            previous = json.loads(json_path.read_text(encoding="utf-8"))
        except ValueError:
            pass  # an unreadable report compares as none
        else:
            shutil.copyfile(json_path, output.parent / "previous.json")
    data = compare(data, previous)
    images = draw_charts(data, output.parent) if charts else []
    data["charts"] = [name for name, _ in images]
    output.write_text(render(data, images), encoding="utf-8")
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return data


# --- Markdown ------------------------------------------------------------------------------------


def _is_count(figure: str) -> bool:
    """A figure in characters, not a 0-1 rate (it has no place on a rate chart)."""
    return figure.endswith("_chars_median")


def _label(figure: str) -> str:
    return HEADLINE.get(figure, figure)


def _num(figure: str, value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if _is_count(figure):
        return f"{value:.0f}"
    return f"{value:.1f}" if figure.endswith("_ms") else f"{value:.{digits}f}"


def _delta(figure: str, now: float, before: float | None) -> str:
    if before is None:
        return "—"
    if figure.endswith("_ms"):
        return f"{(now - before) / before:+.0%}" if before else "—"
    if _is_count(figure):
        return f"{now - before:+.0f}"
    return f"{now - before:+.3f}"


def summary(data: dict) -> str:
    """The header and the headline table: what `make eval` prints."""
    previous = data.get("previous")
    before = (previous or {}).get("headline", {})
    commit = f"commit {data['commit']}" if data.get("commit") else "no git commit"
    recipe = f", quickstart recipe {data['recipe_passages']} passages" if data.get("recipe_passages") else ""
    out = [
        "# Evaluation",
        "",
        f"{data['generated']}, {commit}; {data['passages']} passages, dense model {data['embedding_model']}{recipe}.",
        "",
        "## Headline",
        "",
    ]
    if previous:
        out.append(
            f"Compared with the previous report ({previous.get('generated')}, commit {previous.get('commit')}): "
            f"▼ marks a figure worse by more than {TOLERANCE} (latency: more than {LATENCY_TOLERANCE:.0%} slower)."
        )
    else:
        out.append("No previous report to compare with.")
    out += ["", "| set | figure | now | previous | Δ | |", "|---|---|---|---|---|---|"]
    for name, figures in data["headline"].items():
        for figure, now in figures.items():
            was = before.get(name, {}).get(figure)
            mark = MARKERS[change(figure, now, was)] if previous else ""
            out.append(
                f"| {name} | {_label(figure)} | {_num(figure, now)} | {_num(figure, was)} "
                f"| {_delta(figure, now, was)} | {mark} |"
            )
    regressions = data.get("regressions") or []
    if regressions:
        listed = "; ".join(f"{r['set']} {_label(r['figure'])}" for r in regressions)
        out += ["", f"**{len(regressions)} regression(s):** {listed}."]
    return "\n".join(out + [""])


def _method_table(name: str, s: dict) -> list[str]:
    latency = "Latency in process (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in s["latency_ms"].items())
    if not any(f["n"] for f in s["methods"].values()):  # e.g. a not_stated set: nothing to retrieve
        return [f"### {name}", "", "No question in this set has a needed phrase: no retrieval figures.", latency, ""]
    out = [f"### {name}", "", "| method | n | hit@1 | hit@3 | hit@5 | hit@800 | MRR | answer fact |", "|---" * 8 + "|"]
    for key, f in s["methods"].items():
        label = f"**{LABELS[key]}**" if key == "hybrid+terms" else LABELS[key]
        out.append(
            f"| {label} | {f['n']} | {f['hit@1']:.3f} | {f['hit@3']:.3f} | {f['hit@5']:.3f} "
            f"| {f['hit@800']:.3f} | {f['mrr']:.3f} | {_num('', f['answer_fact'])} |"
        )
    a = s["advisor"]
    out.append(f"| advisor (full path) | {a['answerable']} | — | — | — | — | — | {a['fact_in_answer']:.3f} |")
    full = [f"false refusals {a['false_refusal']:.3f}"]
    if a["declinable"]:
        full.append(f"out-of-scope and rule-breaking refused {a['refused_correctly']:.3f} of {a['declinable']}")
    if "programs" in a:
        full.append(f"program named with the asked figure {a['program_named_with_figure']:.3f} of {a['programs']}")
    out += [
        "",
        "Full path: " + "; ".join(full) + ".",
        latency,
        "",
    ]
    return out


def _of(share: float | None, n: int) -> str:
    return "—" if share is None else f"{share:.3f} of {n}"


def _quality_table(questions: dict[str, dict]) -> list[str]:
    """Answer quality per question set: does the first sentence answer what was asked?"""
    out = [
        "## Answer quality",
        "",
        "Advisor.ask's answers. fact: a needed phrase or the asked figure, in the first sentence (up to the first 。, "
        '". ", "? " or line break) and in the first 150 characters; stock はい/Yes: answers opening so though the '
        "question is not a yes/no question whose answer is yes; English: letters outside 「」, URLs and the sources "
        "block >= 90% ASCII; honest (kind not_stated): the first sentence says the documents do not state it, the "
        "answer names a desk, no dump (<= 2 list lines, no 関係する施策, <= 400 characters), no stock yes.",
        "",
        "| set | n | fact in 1st sentence | fact in first 150 | stock はい/Yes | English answers | median chars "
        "| honest (not stated) | yes/no right |",
        "|---" * 9 + "|",
    ]
    for name, s in questions.items():
        q = s.get("quality")
        if not q:
            continue
        stock = "—" if q["stock_yes"] is None else f"{q['stock_yes_count']} ({q['stock_yes']:.3f})"
        out.append(
            f"| {name} | {q['n']} | {_of(q['fact_first_sentence'], q['with_fact'])} "
            f"| {_of(q['fact_first150'], q['with_fact'])} | {stock} "
            f"| {_of(q['english_answer'], q['english_questions'])} | {_num('answer_chars_median', q['answer_chars_median'])} "
            f"| {_of(q['honest'], q['not_stated'])} | {_of(q['yes_no_correct'], q['yes_no_questions'])} |"
        )
    return out + [""]


def _direction_table(name: str, s: dict) -> list[str]:
    directions = s["directions"]
    keys = list(next(iter(directions.values()))["methods"])
    head = [f"{DIRECTIONS.get(d, d)} (n={v['advisor']['answerable']})" for d, v in directions.items()]
    out = [f"### {name}", "", "| method | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for key in keys:
        cells = []
        for v in directions.values():
            f = v["methods"][key]
            cells.append(f"{f['hit@800']:.2f} / {f['mrr']:.2f} / {_num('', f['answer_fact'], 2)}")
        out.append(f"| {LABELS[key]} | " + " | ".join(cells) + " |")
    full = [f"— / — / {v['advisor']['fact_in_answer']:.2f}" for v in directions.values()]
    return out + ["| advisor (full path) | " + " | ".join(full) + " |", ""]


def _conversations(name: str, s: dict) -> list[str]:
    f = s["conversations"]
    figures = [f"grounded {f['grounded']:.3f}", f"follow-up turns grounded {f['follow_up_grounded']:.3f}"]
    if f["switches"]:
        figures.append(f"topic switches clean {f['topic_switches_clean']:.3f} of {f['switches']}")
    return [
        f"## {name}",
        "",
        f"{f['conversations']} conversations, {f['turns']} turns: " + "; ".join(figures) + ".",
        "Turn latency (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in s["latency_ms"].items()),
        "",
    ]


def _failures(name: str, s: dict) -> list[str]:
    f = s["failures"]
    if s["kind"] == "understanding":  # the dev split's questions shown; the test split's ids and reasons only
        rows = [f"- {x['id']} ({x['split']})" + (f" 「{x['question']}」" if "question" in x else "") + f": {x['why']}" for x in f]
        return [f"### {name}", "", *(rows or ["None."]), ""]
    if s["kind"] == "conversations":
        rows = [f"- {x['id']} turn {x['turn']} 「{x['message']}」: {x['why']}" for x in f]
        return [f"### {name}", "", *(rows or ["None."]), ""]
    quality = f.get("quality", [])
    if s["held_out"]:
        rows = [f"- {x['id']} retrieval: {x['why']}" for x in f["retrieval"]]
        rows += [f"- {x['id']} answer: {x['why']}" for x in f["answers"]]
        rows += [f"- {x['id']} quality: {x['why']}" for x in quality]
        return [f"### {name} (held out: ids and reasons only)", "", *(rows or ["None."]), ""]
    misses = [_miss(x) for x in f["retrieval"]] or ["None."]
    answers = [f"- {x['id']} 「{x['question']}」: {x['why']}" for x in f["answers"]] or ["None."]
    quality = [f"- {x['id']} 「{x['question']}」: {x['why']}" for x in quality] or ["None."]
    return [f"### {name}", "", "Retrieval misses of hybrid + term map:", "", *misses, ""] + [
        "Answer misses (full path):",
        "",
        *answers,
        "",
        "Answer quality misses:",
        "",
        *quality,
        "",
    ]


def _miss(x: dict) -> str:
    """A retrieval miss: the question, what was expected, and the last heading and opening of the top two passages."""
    got = []
    for i, passage in enumerate(x["got"][:2], start=1):
        section, _, excerpt = passage.partition(" | ")
        got.append(f"[{i}] {section.split(' > ')[-1]} 「{' '.join(excerpt.split())}…」")
    needs = " or ".join(f"「{n}」" for n in x["needs"])
    return f"- {x['id']} 「{x['question']}」 expected {needs}; {x['why']}; retrieved {'; '.join(got)}"


def render(data: dict, images: list[tuple[str, str]] = ()) -> str:
    """The whole report in Markdown; `images` are (file name, caption) pairs beside it."""
    sets = data["sets"]
    questions = {n: s for n, s in sets.items() if s["kind"] == "questions"}
    out = [summary(data)]
    out += [f"![{caption}]({name})\n" for name, caption in images]
    out += ["## By method", ""]
    for name, s in questions.items():
        out += _method_table(name, s)
    out += [
        "answer fact: an extractive answer composed (bot.answer.compose) from the method's top 5 passages "
        "holds a needed phrase (— when the answer code offers no such composer); advisor (full path) is what "
        "Advisor.ask answers."
        + (f" {NO_ANSWER_STEP}" if data.get("recipe_passages") else ""),
        "",
    ]
    out += _quality_table(questions)
    by_direction = {n: s for n, s in questions.items() if s["directions"]}
    if by_direction:
        out += ["## By direction", "", "Each cell: hit@800 / MRR / answer fact.", ""]
        for name, s in by_direction.items():
            out += _direction_table(name, s)
    for name, s in sets.items():
        if s["kind"] == "conversations":
            out += _conversations(name, s)
        if s["kind"] == "understanding":
            out += render_understanding(name, s)
    out += ["## Failures", ""]
    for name, s in sets.items():
        out += _failures(name, s)
    return "\n".join(out)


# --- charts --------------------------------------------------------------------------------------


def draw_charts(data: dict, folder: Path) -> list[tuple[str, str]]:
    """The PNGs written into `folder`, as (file name, caption); none when matplotlib is missing."""
    try:
        from matplotlib.figure import Figure  # a bare Figure renders with Agg: no display, no pyplot state
    except ImportError:
        return []
    drawn = []
    for name, caption, draw in (
        ("eval-methods.png", "hit@800 and MRR by method", _methods_chart),
        ("eval-directions.png", "hit@800 by direction", _directions_chart),
        ("eval-headline.png", "headline figures, now and previous", _headline_chart),
    ):
        fig = Figure(layout="constrained")
        if draw(fig, data):
            fig.savefig(folder / name, dpi=110)
            drawn.append((name, caption))
    return drawn


def _grouped_bars(ax, groups: list[str], series: dict[str, list[float]], ylabel: str) -> None:
    """One bar per method in each group, on a 0-1 axis."""
    width = 0.8 / max(len(series), 1)
    for j, (key, values) in enumerate(series.items()):
        offset = (j - (len(series) - 1) / 2) * width
        ax.bar([i + offset for i in range(len(groups))], values, width, label=LABELS[key], color=COLORS[key])
    ax.set_xticks(range(len(groups)), groups, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def _methods_chart(fig, data: dict) -> bool:
    sets = [
        n for n, s in data["sets"].items() if s["kind"] == "questions" and any(f["n"] for f in s["methods"].values())
    ]
    if not sets:
        return False
    keys = [k for k in LABELS if any(k in data["sets"][n]["methods"] for n in sets)]
    fig.set_size_inches(max(7, 2.2 * len(sets)), 7)
    axes = fig.subplots(2, 1, sharex=True)
    for ax, (figure, ylabel) in zip(axes, (("hit@800", "hit within 800 characters"), ("mrr", "MRR"))):
        series = {k: [data["sets"][n]["methods"].get(k, {}).get(figure, float("nan")) for n in sets] for k in keys}
        _grouped_bars(ax, sets, series, ylabel)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=4, fontsize=8)
    return True


def _directions_chart(fig, data: dict) -> bool:
    with_directions = [n for n, s in data["sets"].items() if s["kind"] == "questions" and s["directions"]]
    if not with_directions:
        return False
    name = "dev" if "dev" in with_directions else with_directions[0]
    directions = data["sets"][name]["directions"]
    measured = next(iter(directions.values()))["methods"]
    keys = [k for k in ("bm25", "dense", "hybrid", "hybrid+terms") if k in measured]
    fig.set_size_inches(9, 4.5)
    ax = fig.subplots()
    groups = [f"{DIRECTIONS.get(d, '?')}\nn={v['advisor']['answerable']}" for d, v in directions.items()]
    series = {k: [v["methods"][k]["hit@800"] for v in directions.values()] for k in keys}
    _grouped_bars(ax, groups, series, "hit within 800 characters")
    ax.set_title(f"{name}: hit@800 by direction")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize=8)
    return True


def _headline_chart(fig, data: dict) -> bool:
    before = (data.get("previous") or {}).get("headline", {})
    rows = []  # (label, now, previous, change), rates only: they share one 0-1 axis; latency is in the table
    for name, figures in data["headline"].items():
        for figure, now in figures.items():
            was = before.get(name, {}).get(figure)
            if not figure.endswith("_ms") and not _is_count(figure):
                rows.append((f"{name}: {_label(figure)}", now, was, change(figure, now, was)))
    if not rows:
        return False
    fig.set_size_inches(8, 1.2 + 0.32 * len(rows))
    ax = fig.subplots()
    y = list(range(len(rows)))[::-1]
    shift = 0.2 if before else 0.0
    now = ax.barh([v + shift for v in y], [r[1] for r in rows], 0.4, label="now", color="#2ca02c")
    ax.bar_label(now, fmt="%.3f", fontsize=7, padding=2)
    if before:
        previous = [r[2] if r[2] is not None else 0 for r in rows]
        ax.barh([v - shift for v in y], previous, 0.4, label="previous", color="#bbbbbb")
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    for tick, row in zip(ax.get_yticklabels(), rows):
        if row[3] == "regression":
            tick.set_color("#d62728")
    ax.set_xlim(0, 1.1)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("headline figures, now vs previous (red: regression)" if before else "headline figures (no previous run)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8)
    return True
