"""The chat page as an owner uses it (issue 14), in Debian's chromium against a real server and the
real index: where an answer lands on the screen, how it is formatted and cited, stop, copy,
regenerate, edit, the conversation list, follow-ups, dark mode, touch targets, the font, the live
region, landmarks with axe-core, IME-safe Enter, and the reply draft that uses the conversation.

Every page here fails its test on any console error or page error."""

import time

import pytest
from conftest import ROOT
from test_browser import CHROMIUM, ask, browser, serve, site  # noqa: F401  (fixtures)

from bot.advisor import Advisor
from bot.store import ConversationStore

AXE = ROOT / "tests" / "fixtures" / "axe" / "axe.min.js"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it when root)"),
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# JavaScript the tests read the page with (functions, not expressions: the page's CSP forbids eval)
OPENING_IN_VIEW = """n => {
  const box = document.querySelectorAll('.msg.bot')[n];
  const first = box.querySelector('.body > *') || box.querySelector('.body');
  const r = first.getBoundingClientRect(), pane = document.getElementById('scroller').getBoundingClientRect();
  const v = {top: Math.max(pane.top, 0), bottom: Math.min(pane.bottom, window.innerHeight)};  // the pane's part on the screen
  return r.top >= v.top - 1 && r.top + Math.min(r.height, 24) <= v.bottom;
}"""
UNCOVERED = """box => [...box.querySelectorAll('.actions button')].every(b => {
  b.scrollIntoView({block: 'nearest'});
  const r = b.getBoundingClientRect(), form = document.getElementById('ask').getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  const overlaps = r.bottom > form.top + 1 && r.top < form.bottom - 1;  // sub-pixel edges touch
  return !overlaps && hit && (hit === b || b.contains(hit));
})"""


def open_page(browser, url, viewport=DESKTOP, **options):
    """A page in a context of its own, with every console error and page error collected."""
    mobile = viewport["width"] < 500
    context = browser.new_context(viewport=viewport, locale="ja-JP", is_mobile=mobile, has_touch=mobile, **options)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_function("() => window.smebot !== undefined")
    return page


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def any_page(request, browser, site):
    page = open_page(browser, site[0], request.param)
    yield page
    assert not page.errors, page.errors
    page.context.close()


@pytest.fixture
def desk_page(browser, site):
    page = open_page(browser, site[0])
    yield page
    assert not page.errors, page.errors
    page.context.close()


def wait_answers(page, n: int) -> None:
    page.wait_for_function(
        "n => { const m = document.querySelectorAll('.msg.bot'); return m.length >= n && m[n - 1].dataset.turn !== undefined; }",
        arg=n,
    )


def run_axe(page) -> list[dict]:
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]} for v in result["violations"]]


# -- where an answer lands ------------------------------------------------------------------------


def test_each_answer_opens_in_view_and_its_buttons_are_not_covered(any_page):
    page = any_page
    for i, question in enumerate(["展示会に出たいのですが、補助はありますか", "上限は？", "跡継ぎがいなくて困っています"]):
        ask(page, question, answers=i + 1)
        assert page.evaluate(OPENING_IN_VIEW, i), f"answer {i + 1}'s opening line is out of view"
        box = page.locator(".msg.bot").nth(i)
        assert page.evaluate(UNCOVERED, box.element_handle())
        # only the conversation pane scrolls: the page itself (header, form) stays put
        assert page.evaluate("() => [document.scrollingElement.scrollTop, document.scrollingElement.scrollHeight]") == [
            0, page.viewport_size["height"]]
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


# -- formatting and citations -------------------------------------------------------------------


def test_the_answer_is_formatted_and_its_markers_link_to_named_cited_cards(desk_page):
    answer = ask(desk_page, "BCPの助成金の上限っていくら？")
    body = answer.locator(".body")
    assert body.locator("p").count() >= 2 and body.locator("ul > li").count() >= 1
    bold = body.locator("strong").all_inner_texts()
    assert "BCP実践促進助成金" in bold and any("1,500万円" in b for b in bold)
    marker = body.locator("a.cite").first
    assert marker.inner_text() == "[1]" and marker.get_attribute("aria-label") == "出典1を見る"
    marker.click()
    card = answer.locator(".card").first
    assert card.locator("button").get_attribute("aria-expanded") == "true" and card.locator(".passage").is_visible()
    assert desk_page.evaluate("() => document.activeElement.closest('.card') !== null")
    # the card names the program and its section, and links the official page; no file path anywhere
    assert card.locator(".section").inner_text().startswith("[1] 「BCP実践促進助成金」ガイド（")
    link = card.locator("a.cite-link")
    assert link.get_attribute("href") == "https://www.tokyo-kosha.or.jp/support/josei/setsubijosei/bcp.html"
    assert "corpus/" not in answer.inner_text() and ".md" not in answer.inner_text()


def test_markup_in_an_answer_payload_stays_text_when_formatted(desk_page):
    desk_page.evaluate("""() => window.smebot.showAnswer({
      answer: "「<b>X</b>助成金」は<img src=x onerror=\\"window.hacked=1\\">1,500万円です[1]。\\n・<script>window.hacked=2</script>[2]",
      citations: [{n: 1, text: "<svg onload=\\"window.hacked=3\\">", source: "corpus/x.md", title: "t", section: "s",
                   page: null, score: 1, label: "<i>ラベル</i>", url: "javascript:window.hacked=4"}],
      programs: [{name: "<b>X</b>助成金", source_kind: "official"}], refused: false, turn: 0, conversation_id: null,
      intent: {language: "ja"}}, "q")""")
    body = desk_page.locator(".msg.bot .body").last
    assert desk_page.evaluate("window.hacked") is None
    assert body.locator("b, img, script, svg").count() == 0 and "<img src=x" in body.inner_text()
    assert body.locator("strong").first.inner_text() == "<b>X</b>助成金"
    assert body.locator("a.cite").count() == 1  # [2] cites nothing the answer carries: left as text
    assert desk_page.locator(".msg.bot .card a").count() == 0  # a javascript: address is no link
    assert desk_page.locator(".msg.bot .card .section").inner_text() == "[1] <i>ラベル</i>"


# -- stop, queue, copy, regenerate, edit ----------------------------------------------------------


class SlowAdvisor(Advisor):
    """The real advisor, slowed: the stream stays open long enough to stop it or to type meanwhile."""

    delay = 1.5

    def ask(self, question, conversation_id=None, on_delta=None, **kwargs):
        time.sleep(self.delay)
        return super().ask(question, conversation_id, on_delta, **kwargs)


@pytest.fixture(scope="module")
def slow_site(index_settings, tmp_path_factory):
    db = tmp_path_factory.mktemp("slow") / "c.db"
    advisor = SlowAdvisor(index_settings, store=ConversationStore(f"sqlite:///{db}"))
    with serve(advisor) as url:
        yield url, advisor


def test_stop_while_streaming_then_ask_again(browser, slow_site):
    page = open_page(browser, slow_site[0])
    page.fill("#message", "サイバー攻撃が心配です")
    page.keyboard.press("Enter")
    page.locator("#stop").wait_for(state="visible")
    page.click("#stop")
    page.wait_for_function("() => document.querySelector('.msg.bot .body').dataset.state === 'stopped'")
    assert "止めました" in page.inner_text("#status") and page.locator("#stop").is_hidden()
    ask(page, "跡継ぎがいなくて困っています", answers=2)
    assert page.locator(".msg.bot").nth(1).get_attribute("data-turn") == "0"  # the stopped turn was not kept
    assert not page.errors, page.errors
    page.context.close()


def test_a_question_typed_while_an_answer_is_pending_is_sent_after_it(browser, slow_site):
    page = open_page(browser, slow_site[0])
    page.fill("#message", "BCPの助成金について教えて")
    page.keyboard.press("Enter")
    page.locator("#stop").wait_for(state="visible")
    page.fill("#message", "上限はいくら？")
    page.keyboard.press("Enter")
    assert page.locator(".msg.user .queued").count() == 1 and "順に" in page.inner_text("#status")
    wait_answers(page, 2)
    assert page.locator(".msg.user .queued").count() == 0
    second = page.locator(".msg.bot").nth(1)
    assert second.get_attribute("data-turn") == "1" and "1,500万円" in second.locator(".body").inner_text()
    assert not page.errors, page.errors
    page.context.close()


def test_copy_answer_regenerate_and_edit(desk_page):
    answer = ask(desk_page, "展示会に出たいのですが、補助はありますか")
    answer.locator(".copy-answer").click()
    desk_page.wait_for_function("() => document.getElementById('status').textContent.includes('回答をコピー')")
    copied = desk_page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("「展示会出展助成事業") and "出典:" in copied and "corpus/" not in copied
    answer.locator(".regenerate").click()
    desk_page.wait_for_function("() => document.querySelector('.msg.bot').dataset.turn === '1'")
    assert desk_page.locator(".msg.bot").count() == 1  # answered again in place, as the conversation's next turn
    desk_page.locator(".msg.user .edit").first.click()
    assert desk_page.input_value("#message") == "展示会に出たいのですが、補助はありますか"
    assert desk_page.evaluate("() => document.activeElement.id") == "message"


def test_the_reply_draft_uses_the_conversation(desk_page):
    ask(desk_page, "BCPの助成金について教えて")
    second = ask(desk_page, "上限はいくら？", answers=2)
    assert "1,500万円" in second.inner_text()
    second.locator(".copy-draft").click()
    desk_page.wait_for_function("() => document.getElementById('status').textContent.includes('返信案をコピー')")
    draft = desk_page.evaluate("() => navigator.clipboard.readText()")
    assert draft.startswith("【返信案（下書き）】") and "1,500万円" in draft and "確認できませんでした" not in draft


# -- conversations kept in the browser ---------------------------------------------------------


def test_conversations_are_listed_switched_and_deleted(desk_page, site):
    page = desk_page
    ask(page, "サイバー攻撃が心配です")
    first = page.evaluate("() => localStorage.getItem('smebot.conversation')")
    page.click("#new-chat")
    ask(page, "跡継ぎがいなくて困っています")
    items = page.locator("#history-list .history-open")
    assert items.count() == 2 and items.first.inner_text().startswith("跡継ぎ")  # newest first
    assert items.first.get_attribute("aria-current") == "true"
    items.nth(1).click()
    page.locator(".msg.bot .card").first.wait_for()
    assert page.locator(".msg.user .text").all_inner_texts() == ["サイバー攻撃が心配です"]
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        page.locator("#history-list .history-delete").nth(1).click()
    assert deleted.value.status == 204 and site[1].conversation(first) is None
    assert page.locator("#history-list .history-open").count() == 1 and page.locator(".msg").count() == 0
    page.reload()
    assert page.locator("#history-list .history-open").count() == 1 and page.locator(".msg").count() == 0


def test_follow_ups_are_ones_the_programs_can_answer(desk_page):
    answer = ask(desk_page, "カスハラ対策の支援はありますか")
    offered = answer.locator(".follow-ups button").all_inner_texts()
    assert offered == ["上限は？", "申請方法は？", "窓口は？"]
    answer.locator(".follow-ups button", has_text="窓口は？").click()
    wait_answers(desk_page, 2)
    second = desk_page.locator(".msg.bot").nth(1)
    assert "03-5320-4620" in second.locator(".body").inner_text()
    assert "窓口は？" not in second.locator(".follow-ups").inner_text()  # not the one just asked
    assert desk_page.locator(".follow-ups").count() == 1  # only the newest answer suggests
    # a program whose record gives no way to apply and no desk: only its limit is offered, in English for English
    english = ask(desk_page, "Is there a subsidy for exhibiting at trade shows?", answers=3)
    assert english.locator(".follow-ups button").all_inner_texts() == ["What is the upper limit?"]


# -- look, touch, font, screen readers, landmarks --------------------------------------------------


def test_dark_mode_follows_the_system(browser, site):
    page = open_page(browser, site[0], color_scheme="dark")
    ask(page, "BCPの助成金の上限っていくら？")
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    ink = page.evaluate("() => getComputedStyle(document.querySelector('.msg.bot .body')).color")
    assert background == "rgb(18, 23, 29)" and ink == "rgb(228, 233, 239)"
    assert run_axe_with_csp_bypass(browser, site[0], color_scheme="dark") == []
    assert not page.errors, page.errors
    page.context.close()


def test_touch_targets_are_44_px_on_a_phone(browser, site):
    page = open_page(browser, site[0], PHONE)
    answer = ask(page, "カスハラ対策の支援はありますか")
    small = page.evaluate("""() => [...document.querySelectorAll('button, .official-link, .cite-link')]
      .filter(b => b.offsetParent !== null)
      .map(b => [b.textContent.trim().slice(0, 20), b.getBoundingClientRect().height])
      .filter(([, h]) => h < 44)""")
    assert small == []
    assert answer.locator(".actions button").count() >= 4
    assert not page.errors, page.errors
    page.context.close()


def test_the_first_font_is_a_proportional_japanese_stack(desk_page):
    family = desk_page.evaluate("() => getComputedStyle(document.body).fontFamily")
    first = family.split(",")[0].strip().strip('"')
    assert first == "system-ui" and "Hiragino Sans" in family and "Noto Sans JP" in family and "Meiryo" in family
    assert "monospace" not in family and not family.startswith('"IPAGothic"')


def test_only_the_new_answer_is_announced(desk_page):
    assert desk_page.locator("[aria-live]").count() == 1  # the announcer (the status line is role=status)
    assert desk_page.locator("#log").get_attribute("aria-live") is None
    ask(desk_page, "サイバー攻撃が心配です")
    second = ask(desk_page, "跡継ぎがいなくて困っています", answers=2)
    said = desk_page.inner_text("#announce")
    first_text = desk_page.locator(".msg.bot .body").first.inner_text()
    assert said.startswith("アドバイザーの回答です。") and "[1]" not in said
    assert first_text[:20] not in said and second.locator(".body p").first.inner_text()[:20] in said
    assert len(said) < len(second.locator(".body").inner_text()) + 30


def run_axe_with_csp_bypass(browser, url, viewport=DESKTOP, **options) -> list[dict]:
    """axe-core on the page with an answer and its cards shown (axe is injected, so the CSP is bypassed here)."""
    page = open_page(browser, url, viewport, bypass_csp=True, **options)
    ask(page, "カスハラ対策の支援はありますか")
    page.locator(".msg.bot .card button").first.click()
    violations = run_axe(page)
    assert not page.errors, page.errors
    page.context.close()
    return violations


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_violations_and_the_form_is_in_a_landmark(browser, site, viewport):
    assert run_axe_with_csp_bypass(browser, site[0], viewport) == []
    page = open_page(browser, site[0], viewport)
    landmarks = page.evaluate("""() => ({
      form: !!document.querySelector('main #ask'), header: !!document.querySelector('body > header'),
      footer: !!document.querySelector('body > footer'), nav: document.querySelectorAll('nav').length})""")
    assert landmarks == {"form": True, "header": True, "footer": True, "nav": 2}
    page.context.close()


# -- IME-safe Enter ------------------------------------------------------------------------------


def test_enter_that_confirms_an_ime_conversion_does_not_send(desk_page):
    page = desk_page
    page.fill("#message", "てんじかい")
    for composing, key_code in [(True, 13), (False, 229), (True, 229)]:  # Chromium/Firefox; Safari's confirm Enter
        page.evaluate(
            """([composing, code]) => {
              const e = new KeyboardEvent('keydown', {key: 'Enter', isComposing: composing, bubbles: true, cancelable: true});
              Object.defineProperty(e, 'keyCode', {get: () => code});
              document.getElementById('message').dispatchEvent(e);
            }""",
            [composing, key_code],
        )
    assert page.locator(".msg").count() == 0 and page.input_value("#message") == "てんじかい"
    page.keyboard.press("Shift+Enter")
    assert page.locator(".msg").count() == 0
    page.fill("#message", "展示会に出たいのですが、補助はありますか")
    page.keyboard.press("Enter")
    wait_answers(page, 1)



def test_the_page_says_what_the_record_keeps_masked(desk_page):
    ask(desk_page, "マイナンバーは1234 5678 9018です。展示会の助成はありますか", answers=1)
    note = desk_page.locator(".msg.bot .masked-note")
    assert note.count() == 1
    text = note.inner_text()
    assert "［個人番号］" in text and "マイナンバーは入力しないでください" in text and "1234" not in text
