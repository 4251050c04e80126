"""`python -m evals.web_timing`: the chat page as an owner sees it, timed in a real browser.

Indexes corpus/ into a temporary data dir, serves the app on a free 127.0.0.1 port (in process, as the
browser tests do), and drives Debian's chromium (SMEBOT_CHROMIUM, default /usr/bin/chromium) through
ten questions from evals/dev.jsonl, one conversation, at 1280 px (desktop) and 390 px (a phone).

For each answer it measures, in the page, from the Enter that sends the question:
- first visible text: the answer's pane first shows answer text (not the "looking it up" placeholder);
- full answer: the answer is rendered whole, with its cards and buttons;
and whether the answer's opening line is inside the conversation pane when it finishes (the goal: all).
It then runs axe-core (tests/fixtures/axe/axe.min.js) on each width with an answer shown, and saves
screenshots under evals/reports/screenshots/. Writes evals/reports/web_timing.{md,json}.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from .servers import ROOT, uvicorn_thread
REPORTS = ROOT / "evals" / "reports"
SHOTS = REPORTS / "screenshots"
AXE = ROOT / "tests" / "fixtures" / "axe" / "axe.min.js"
CHROMIUM = Path(os.environ.get("SMEBOT_CHROMIUM", "/usr/bin/chromium"))
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# Installed once per page: times each answer from the Enter that sent it (functions, not strings: the CSP forbids eval)
PROBE = """() => {
  window.__timing = [];
  let sent = null;
  document.getElementById('message').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) sent = performance.now();
  }, true);
  const inView = (box) => {
    const first = box.querySelector('.body > *') || box.querySelector('.body');
    const r = first.getBoundingClientRect(), pane = document.getElementById('scroller').getBoundingClientRect();
  const v = {top: Math.max(pane.top, 0), bottom: Math.min(pane.bottom, window.innerHeight)};  // the pane's part on the screen
    return r.top >= v.top - 1 && r.top + Math.min(r.height, 24) <= v.bottom;
  };
  new MutationObserver(() => {
    const boxes = document.querySelectorAll('.msg.bot');
    const box = boxes[boxes.length - 1];
    if (!box || sent === null) return;
    const n = boxes.length - 1;
    const row = window.__timing[n] || (window.__timing[n] = {});
    const state = box.querySelector('.body') && box.querySelector('.body').dataset.state;
    if (row.first === undefined && (state === 'streaming' || state === 'done')) row.first = performance.now() - sent;
    if (row.full === undefined && box.dataset.turn !== undefined) {
      row.full = performance.now() - sent;
      row.inView = inView(box);
    }
  }).observe(document.getElementById('log'), {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def questions(n: int = 10) -> list[dict]:
    """Ten dev questions: seven Japanese and two English in scope, and one out of scope (a refusal)."""
    rows = [json.loads(line) for line in (ROOT / "evals" / "dev.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    ja = [r for r in rows if r["kind"] == "in_scope" and r["lang"] == "ja"]
    en = [r for r in rows if r["kind"] == "in_scope" and r["lang"] == "en"]
    out = [r for r in rows if r["kind"] == "out_of_scope"]
    picked = ja[:: max(1, len(ja) // 7)][:7] + en[:2] + out[:1]
    return picked[:n]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def serve(data_dir: Path):
    """The bundled corpus indexed into `data_dir`, its web app on uvicorn here: a context manager of its URL."""
    from bot.advisor import Advisor
    from bot.settings import Settings
    from bot.store import ConversationStore
    from bot.web import create_app
    from ingest.pipeline import ingest

    settings = Settings(data_dir=data_dir, corpus_dir=ROOT / "corpus")
    assert ingest(settings).ok, "ingest failed"
    advisor = Advisor(settings, store=ConversationStore(f"sqlite:///{data_dir / 'web.db'}"))
    return uvicorn_thread(create_app(settings, advisor=advisor))


def new_page(browser, url: str, viewport: dict, **options):
    mobile = viewport["width"] < 500
    context = browser.new_context(viewport=viewport, locale="ja-JP", is_mobile=mobile, has_touch=mobile, **options)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_function("() => window.smebot !== undefined")
    return page


def send(page, text: str, n: int) -> None:
    page.fill("#message", text)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => { const m = document.querySelectorAll('.msg.bot'); return m.length >= n && m[n - 1].dataset.turn !== undefined; }",
        arg=n, timeout=60_000,
    )


def timed_run(browser, url: str, name: str, viewport: dict, qs: list[dict]) -> dict:
    page = new_page(browser, url, viewport)
    page.evaluate(PROBE)
    for i, q in enumerate(qs, start=1):
        send(page, q["question"], i)
        if i == 1:
            page.screenshot(path=str(SHOTS / f"{name}-first-answer.png"))
    page.wait_for_function("n => window.__timing.length >= n && window.__timing[n - 1].full !== undefined", arg=len(qs))
    rows = page.evaluate("() => window.__timing")
    page.screenshot(path=str(SHOTS / f"{name}-tenth-answer.png"))
    errors = list(page.errors)
    page.context.close()
    first = [r["first"] for r in rows]
    full = [r["full"] for r in rows]
    return {
        "width": viewport["width"],
        "answers": len(rows),
        "first_text_ms": {"p50": round(percentile(first, 50)), "p95": round(percentile(first, 95))},
        "full_answer_ms": {"p50": round(percentile(full, 50)), "p95": round(percentile(full, 95))},
        "opening_in_view": sum(1 for r in rows if r.get("inView")),
        "per_question": [{"id": q["id"], **{k: (round(v) if isinstance(v, float) else v) for k, v in r.items()}} for q, r in zip(qs, rows)],
        "console_errors": errors,
    }


def axe_run(browser, url: str, name: str, viewport: dict, dark: bool = False) -> dict:
    page = new_page(browser, url, viewport, bypass_csp=True, color_scheme="dark" if dark else "light")
    send(page, "カスハラ対策の支援はありますか", 1)
    page.locator(".msg.bot .card button").first.click()
    if dark:
        page.screenshot(path=str(SHOTS / f"{name}-dark.png"))
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("() => axe.run(document)")
    page.context.close()
    return {"violations": [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in result["violations"]],
            "passes": len(result["passes"])}


def extra_shots(browser, url: str) -> None:
    """The conversation list on a phone, and an English answer with a follow-up on the desktop."""
    page = new_page(browser, url, WIDTHS["phone"])
    send(page, "BCPの助成金について教えて", 1)
    page.click("#new-chat")
    send(page, "跡継ぎがいなくて困っています", 1)
    page.click("#history-toggle")
    page.screenshot(path=str(SHOTS / "phone-conversation-list.png"))
    page.context.close()
    page = new_page(browser, url, WIDTHS["desktop"])
    page.click("#lang")
    send(page, "Is there a subsidy for exhibiting at trade shows?", 1)
    page.locator(".msg.bot .follow-ups button").first.click()
    page.wait_for_function("() => { const m = document.querySelectorAll('.msg.bot'); return m.length >= 2 && m[1].dataset.turn !== undefined; }")
    page.screenshot(path=str(SHOTS / "desktop-english-follow-up.png"))
    page.context.close()


SHOT_NOTES = {
    "desktop-first-answer.png": "1280 px, light: the first dev answer opens at its first line under the question, with bold figures, a list, [n] links, its program cards; the input form sits below the pane.",
    "desktop-tenth-answer.png": "1280 px, light: after ten questions in one conversation, the tenth answer (an everyday weather question, politely declined with where to ask instead) opens at its first line, the ninth answer's citation cards and buttons above it; the conversation list on the left names the conversation.",
    "phone-first-answer.png": "390 px, light: the first answer's opening line at the top of the pane on a phone; the header buttons and the form are 44 px tall.",
    "phone-tenth-answer.png": "390 px, light: the tenth answer's first line at the top of the pane on a phone, bold figures and program names, [n] links; nothing is hidden behind the form.",
    "desktop-dark.png": "1280 px, dark (prefers-color-scheme): the カスハラ answer with program card (phone link, official page) and an opened citation card.",
    "phone-dark.png": "390 px, dark: the same answer on a phone.",
    "phone-conversation-list.png": "390 px: the conversation list opened over the conversation, two conversations, the current one marked, each with 削除.",
    "desktop-english-follow-up.png": "1280 px, English: an English answer and the follow-up 'What is the upper limit?' answered below it, labels in English.",
}


def main() -> int:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        print(f"no chromium at {CHROMIUM} (set SMEBOT_CHROMIUM)", file=sys.stderr)
        return 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    qs = questions()
    with tempfile.TemporaryDirectory() as tmp:
        with serve(Path(tmp)) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
            runs = {name: timed_run(browser, url, name, vp, qs) for name, vp in WIDTHS.items()}
            axe = {name: axe_run(browser, url, name, vp) for name, vp in WIDTHS.items()}
            axe.update({f"{name}-dark": axe_run(browser, url, name, vp, dark=True) for name, vp in WIDTHS.items()})
            extra_shots(browser, url)
            browser.close()
    report = {"questions": [q["id"] for q in qs], "runs": runs, "axe": axe, "screenshots": SHOT_NOTES}
    (REPORTS / "web_timing.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    lines = [
        "# The chat page in a browser (python -m evals.web_timing)",
        "",
        f"Ten dev questions in one conversation ({', '.join(report['questions'])}), chromium, loopback server, no language model.",
        "",
        "| width | first visible text p50 / p95 | full answer p50 / p95 | opening line in view when done | console errors |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, r in runs.items():
        lines.append(
            f"| {name} ({r['width']} px) | {r['first_text_ms']['p50']} / {r['first_text_ms']['p95']} ms "
            f"| {r['full_answer_ms']['p50']} / {r['full_answer_ms']['p95']} ms | {r['opening_in_view']} of {r['answers']} "
            f"| {len(r['console_errors'])} |"
        )
    lines += ["", "axe-core 4.14.1 (an answer with its program and citation cards shown, one card opened):", ""]
    for name, a in axe.items():
        lines.append(f"- {name}: {len(a['violations'])} violations ({', '.join(v['id'] for v in a['violations']) or 'none'}), {a['passes']} rules passed")
    lines += ["", "Screenshots (evals/reports/screenshots/):", ""]
    lines += [f"- `{k}`: {v}" for k, v in SHOT_NOTES.items()]
    (REPORTS / "web_timing.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
