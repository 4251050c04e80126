"""The chat page in a real browser: Debian's chromium driven by Playwright, against a real uvicorn
server on loopback. Screenshots are saved under test-artifacts/."""

import os
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, free_port

from bot.advisor import Advisor
from bot.settings import Settings
from bot.store import ConversationStore
from bot.web import create_app
from ingest.pipeline import ingest

CHROMIUM = Path(os.environ.get("SMEBOT_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it when root)"),
]


def serve(advisor: Advisor):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(advisor.settings, advisor=advisor), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("web server did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def site(index_settings, tmp_path_factory):
    db = tmp_path_factory.mktemp("web") / "c.db"
    advisor = Advisor(index_settings, store=ConversationStore(f"sqlite:///{db}"))
    server, thread, url = serve(advisor)
    yield url, advisor
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="ja-JP")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site[0])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site[0])
    yield page
    assert not errors, errors
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def ask(page, text: str, answers: int = 1):
    page.fill("#message", text)
    page.keyboard.press("Enter")
    # the streamed answer is complete once the final one has been rendered with its turn number
    page.wait_for_function(
        "n => { const m = document.querySelectorAll('.msg.bot'); return m.length >= n && m[n - 1].dataset.turn !== undefined; }",
        arg=answers,
    )
    return page.locator(".msg.bot").nth(answers - 1)


def test_ask_see_the_answer_with_citations_and_open_one(page):
    answer = ask(page, "ネットで自社の商品を売りたいのですが、支援はありますか")
    assert "関係する施策" in answer.locator(".body").inner_text()
    cards = answer.locator(".card")
    assert cards.count() >= 2
    first = cards.first.locator("button")
    assert "戦略Ⅰ" in first.inner_text()
    first.click()
    assert first.get_attribute("aria-expanded") == "true"
    assert cards.first.locator(".passage").is_visible()
    shot(page, "answer-with-citations")


def test_feedback_with_a_comment_is_stored(page, site):
    answer = ask(page, "跡継ぎがいなくて困っています")
    answer.locator("[data-rating=up]").click()
    page.locator(".comment input").fill("分かりやすかったです")
    page.locator(".comment button").click()
    # the first "thanks" came with the rating alone; the form goes once the comment is stored
    page.locator(".comment").wait_for(state="detached")
    cid = page.evaluate("localStorage.getItem('smebot.conversation')")
    ratings = site[1].store.feedback_for(cid)
    assert ratings[0]["rating"] == "up" and ratings[-1]["comment"] == "分かりやすかったです"


def test_english_switch_and_an_english_answer(page):
    page.click("#lang")
    assert page.inner_text("#send") == "Send" and page.evaluate("document.documentElement.lang") == "en"
    answer = ask(page, "Is there a subsidy for exhibiting at trade shows?")
    assert answer.locator(".body").inner_text().startswith(("Yes.", "Here is what the guide"))
    shot(page, "english")
    page.click("#lang")
    assert page.inner_text("#send") == "送信"


def test_the_conversation_survives_a_reload_and_continues(page):
    ask(page, "サイバー攻撃が心配です")
    page.reload()
    page.locator(".msg.bot .card").first.wait_for()
    assert page.locator(".msg.user").first.inner_text().endswith("サイバー攻撃が心配です")
    ask(page, "ほかには？", answers=2)
    assert page.locator(".msg.bot").count() == 2
    page.click("#new-chat")
    assert page.locator(".msg").count() == 0
    page.reload()
    assert page.locator(".msg").count() == 0


def test_copy_as_reply_draft(page):
    ask(page, "展示会に出たいのですが、補助はありますか")
    page.locator(".copy-draft").first.click()
    page.wait_for_function("document.getElementById('status').textContent.includes('コピー')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("【返信案（下書き）】") and "□" in copied


def test_keyboard_only_a_direction_chip(page):
    page.focus("#chips button:nth-child(4)")
    page.keyboard.press("Enter")
    page.wait_for_function("() => { const m = document.querySelector('.msg.bot'); return m && m.dataset.turn !== undefined; }")
    answer = page.locator(".msg.bot").first
    assert "④" in answer.locator(".card").first.inner_text() or "災害" in answer.inner_text()


def test_phone_width_is_readable(browser, site):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(site[0])
    ask(page, "BCPを作りたい")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("#send").is_visible()
    shot(page, "phone")
    context.close()


def test_user_text_is_shown_as_text_not_run(page):
    answer = ask(page, "<script>window.hacked=1</script><img src=x onerror=\"window.hacked=2\">補助金は？")
    assert page.evaluate("window.hacked") is None
    assert "<script>" in page.locator(".msg.user").first.inner_text()
    assert answer.is_visible()


def test_a_document_holding_markup_is_shown_as_text(browser, tmp_path, small_corpus):
    (small_corpus / "guides" / "evil.md").write_text(
        "# 悪意のある案内\n\n展示会の案内です<img src=x onerror=\"window.hacked=3\"><script>window.hacked=4</script>。\n",
        encoding="utf-8",
    )
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=small_corpus)
    assert ingest(settings).ok
    advisor = Advisor(settings, store=ConversationStore("sqlite://"))
    server, thread, url = serve(advisor)
    try:
        page = browser.new_page()
        page.goto(url)
        answer = ask(page, "悪意のある案内の展示会")
        assert page.evaluate("window.hacked") is None
        assert "<script>" in answer.inner_text() or "<img" in answer.inner_text()
        page.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
