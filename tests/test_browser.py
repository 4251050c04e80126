"""The chat page in a real browser: Debian's chromium driven by Playwright, against a real uvicorn
server on loopback. Screenshots are saved under test-artifacts/."""

import os
from pathlib import Path

import pytest
from conftest import ROOT

from bot.advisor import Advisor
from bot.settings import Settings
from bot.store import ConversationStore
from bot.web import create_app
from evals.servers import uvicorn_thread
from ingest.pipeline import ingest

CHROMIUM = Path(os.environ.get("SMEBOT_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it when root)"),
]


def serve(advisor: Advisor):
    """The page and API of `advisor` on real uvicorn in this process: its URL (a context manager)."""
    return uvicorn_thread(create_app(advisor.settings, advisor=advisor))


@pytest.fixture(scope="module")
def site(index_settings, tmp_path_factory):
    db = tmp_path_factory.mktemp("web") / "c.db"
    advisor = Advisor(index_settings, store=ConversationStore(f"sqlite:///{db}"))
    with serve(advisor) as url:
        yield url, advisor


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
    # the page runs under its Content-Security-Policy: anything it blocks is reported on the console
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(site[0])
    assert "default-src 'self'" in response.headers["content-security-policy"]
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
    assert "。" in answer.locator(".body").inner_text()  # an answer, worded in Japanese
    cards = answer.locator(".card")
    assert cards.count() >= 2
    first = cards.first.locator("button")
    assert first.inner_text().startswith("[1]")  # the first citation, by its section
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


def test_the_page_keeps_only_ids_the_server_issued(page):
    first = ask(page, "サイバー攻撃が心配です")
    issued = page.evaluate("localStorage.getItem('smebot.conversation')")
    assert len(issued) == 32 and first.get_attribute("data-turn") == "0"
    # an id the server does not hold (a database reset, another server's): the next question starts
    # a new conversation the server issues, and the page says so
    page.evaluate("conversationId = 'not-issued-by-the-server'")
    second = ask(page, "ほかには？", answers=2)
    assert second.get_attribute("data-turn") == "0"
    assert "新しい相談" in page.inner_text("#status")
    renewed = page.evaluate("localStorage.getItem('smebot.conversation')")
    assert renewed not in (issued, "not-issued-by-the-server") and len(renewed) == 32


def test_english_switch_and_an_english_answer(page):
    page.click("#lang")
    assert page.inner_text("#send") == "Send" and page.evaluate("document.documentElement.lang") == "en"
    answer = ask(page, "Is there a subsidy for exhibiting at trade shows?")
    assert answer.locator(".body").inner_text().startswith("The ")  # English throughout, no stock "Yes"
    shot(page, "english")
    page.click("#lang")
    assert page.inner_text("#send") == "送信"


def test_the_conversation_survives_a_reload_and_continues(page):
    ask(page, "サイバー攻撃が心配です")
    page.reload()
    page.locator(".msg.bot .card").first.wait_for()
    assert page.locator(".msg.user .text").first.inner_text() == "サイバー攻撃が心配です"
    ask(page, "ほかには？", answers=2)
    assert page.locator(".msg.bot").count() == 2
    page.click("#new-chat")
    assert page.locator(".msg").count() == 0
    page.reload()
    assert page.locator(".msg").count() == 0


def test_copy_as_reply_draft(page):
    ask(page, "展示会に出たいのですが、補助はありますか")
    page.locator(".copy-draft").first.click()
    # a function, not an expression: under the page's CSP, Playwright may not eval a string there
    page.wait_for_function("() => document.getElementById('status').textContent.includes('コピー')")
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
    with serve(advisor) as url:
        page = browser.new_page()
        page.goto(url)
        answer = ask(page, "悪意のある案内の展示会")
        assert page.evaluate("window.hacked") is None
        assert "<script>" in answer.inner_text() or "<img" in answer.inner_text()
        page.close()


# -- program cards: one per program the answer relies on (the answer's `programs`) ----------------

BCP_PROGRAM = {
    "name": "BCP実践促進助成金", "name_en": "BCP Implementation Promotion Subsidy",
    "operator": "東京都中小企業振興公社", "upper_limit": "1,500万円",
    "rate": "中小企業者等 1/2以内; 小規模企業者 2/3以内", "period": None,
    "desk": "東京都中小企業振興公社 総合支援課", "phone": "03-3251-7881",
    "url": "https://www.tokyo-kosha.or.jp/support/josei/setsubijosei/bcp.html",
    "fiscal_year": "令和7年度", "source_kind": "official",
}
SPARSE_PROGRAM = {
    "name": "相談窓口<img src=x onerror=\"window.hacked=5\">", "name_en": None, "operator": None, "upper_limit": None,
    "rate": None, "period": None, "desk": None, "phone": None, "url": "javascript:window.hacked=6",
    "fiscal_year": None, "source_kind": "secondary",
}


def payload(language="ja"):
    """A `done` event's data as the core sends it, with two programs (one full, one mostly null)."""
    return {
        "answer": "「BCP実践促進助成金」の助成限度額は1,500万円です[1]。", "refused": False, "conversation_id": None,
        "mode": "extractive", "reason": None, "choices": [], "turn": 0, "resolved_question": None, "fallback": None,
        "citations": [
            {"n": 1, "text": "助成限度額は1,500万円（クラウド化分を含む）、下限額10万円です。", "source": "corpus/guides/bcp-jissen.md",
             "title": "BCP実践促進助成金", "section": "助成率・上限", "page": None, "score": 1.0, "source_kind": "secondary"},
            {"n": 2, "text": "中小企業が策定したＢＣＰが機能するよう…", "source": "corpus/policy/x.txt", "title": "戦略Ⅰ",
             "section": "戦略Ⅰ > ④", "page": 3, "score": 0.5, "source_kind": None},
        ],
        "programs": [BCP_PROGRAM, SPARSE_PROGRAM],
        "intent": {"language": language, "asks": "upper_limit", "programs": ["BCP実践促進助成金"], "yes_no": False},
        "degraded": False, "stated": True,
    }


def show(page, data, question="BCPの助成金の上限っていくら？"):
    page.wait_for_function("() => window.smebot && typeof window.smebot.showAnswer === 'function'")
    page.evaluate("([data, q]) => { window.smebot.showAnswer(data, q); }", [data, question])
    return page.locator(".msg.bot").last


def facts(card) -> dict:
    """A program card's rows as {label: value}."""
    return card.evaluate(
        "c => Object.fromEntries([...c.querySelectorAll('dt')].map(dt => [dt.textContent, dt.nextElementSibling.textContent]))"
    )


def headings_in_order(page) -> bool:
    levels = page.evaluate("[...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => Number(h.tagName[1]))")
    return levels[0] == 1 and all(b <= a + 1 for a, b in zip(levels, levels[1:]))


@pytest.mark.parametrize("width", [1280, 390])
def test_program_cards_from_an_answer_payload(browser, site, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="ja-JP", is_mobile=width < 500,
                                  has_touch=width < 500)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site[0])
    answer = show(page, payload())
    programs = answer.locator("ul.programs")
    assert programs.get_attribute("aria-label") == "関係する制度"
    cards = programs.locator("li.program")
    assert cards.count() == 2
    full, sparse = cards.nth(0), cards.nth(1)
    assert full.locator("h2").inner_text() == "BCP実践促進助成金"  # Japanese page, Japanese answer: no English name
    assert facts(full) == {"上限": "1,500万円", "助成率": "中小企業者等 1/2以内; 小規模企業者 2/3以内",
                           "窓口": "東京都中小企業振興公社 総合支援課 03-3251-7881",
                           "実施主体": "東京都中小企業振興公社", "年度": "令和7年度"}  # no 募集期間: it is null
    assert full.locator("a.phone").get_attribute("href") == "tel:0332517881"
    link = full.locator("a.official-link")
    assert link.inner_text().startswith("公式ページ")
    assert link.get_attribute("href") == BCP_PROGRAM["url"]
    assert link.get_attribute("target") == "_blank" and link.get_attribute("rel") == "noopener noreferrer"
    assert full.locator(".badge").inner_text() == "公式情報"
    # the mostly-null program: its name as text, no rows, no link for a non-web address, its badge
    assert sparse.locator("h2").inner_text() == SPARSE_PROGRAM["name"]
    assert sparse.locator("dl").count() == 0 and sparse.locator("a").count() == 0
    assert sparse.locator(".badge").inner_text() == "民間の解説を含む"
    assert page.evaluate("window.hacked") is None
    # citation cards carry their source kind the same way (none when it is not known)
    citations = answer.locator(".card")
    assert citations.nth(0).locator(".badge").inner_text() == "民間の解説を含む"
    assert citations.nth(1).locator(".badge").count() == 0
    assert headings_in_order(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"program-card-{width}-page")
    programs.screenshot(path=str(ARTIFACTS / f"program-card-{width}.png"))
    assert not errors, errors
    context.close()


def test_program_cards_in_english(page):
    page.click("#lang")
    answer = show(page, payload("en"), "What is the upper limit of the BCP subsidy?")
    card = answer.locator("li.program").first
    assert answer.locator("ul.programs").get_attribute("aria-label") == "Programs in this answer"
    assert card.locator(".program-name-en").inner_text() == "BCP Implementation Promotion Subsidy"
    assert {"Upper limit", "Rate", "Desk", "Operator", "Fiscal year"} == set(facts(card))
    assert card.locator("a.official-link").inner_text().startswith("Official page")
    assert card.locator(".badge").inner_text() == "Official source"
    page.click("#lang")
    # an English answer on the Japanese page still names the program in English
    answer = show(page, payload("en"))
    assert answer.locator(".program-name-en").first.inner_text() == "BCP Implementation Promotion Subsidy"


def test_a_program_question_shows_its_program_card(page):
    # needs the core to fill `programs`; until then the answer carries no card and this fails
    answer = ask(page, "BCPの助成金の上限っていくら？")
    cards = answer.locator("ul.programs li.program")
    assert cards.count() >= 1, "the answer has no programs (the core does not fill `programs` yet)"
    assert "BCP実践促進助成金" in cards.first.locator("h2").inner_text()
    assert cards.first.locator(".badge").count() == 1
    assert headings_in_order(page)
    shot(page, "program-card-real-page")
    answer.locator("ul.programs").screenshot(path=str(ARTIFACTS / "program-card-real.png"))
