"""Program cards in Slack: the answer's `programs` (the contract's field) become one section and one
context block per program, from a hand-written answer dict, as the pure functions of bot/slack_blocks."""

import copy

from bot.models import Answer, Chunk, Citation, SearchResult
from bot.slack_blocks import MAX_BLOCKS, MAX_PROGRAMS, SECTION_LIMIT, answer_blocks, program_blocks

FULL = {
    "name": "BCP実践促進助成金",
    "name_en": "BCP Implementation Promotion Subsidy",
    "operator": "東京都中小企業振興公社",
    "upper_limit": "1,500万円",
    "rate": "中小企業者等 1/2以内; 小規模企業者 2/3以内",
    "period": "令和7年9月10日 – 令和7年9月17日",
    "desk": "東京都中小企業振興公社 総合支援課",
    "phone": "03-3251-7881",
    "url": "https://www.tokyo-kosha.or.jp/support/josei/setsubijosei/bcp.html",
    "fiscal_year": "令和7年度",
    "source_kind": "official",
}
SPARSE = {
    "name": "下請かけこみ寺<相談>",
    "name_en": None,
    "operator": None,
    "upper_limit": None,
    "rate": None,
    "period": None,
    "desk": None,
    "phone": None,
    "url": None,
    "fiscal_year": None,
    "source_kind": "secondary",
}


def answer_dict(programs, language="ja", **extra):
    return {
        "answer": "「BCP実践促進助成金」の助成限度額は1,500万円です[1]。",
        "citations": [{"n": 1, "text": "助成限度額は1,500万円", "source": "corpus/guides/bcp-jissen.md",
                       "title": "BCP実践促進助成金", "section": "助成率・上限", "page": None, "score": 1.0,
                       "source_kind": "official", "kind": "guide", "program": "BCP実践促進助成金"}],
        "refused": False,
        "conversation_id": "c1",
        "mode": "extractive",
        "choices": [],
        "turn": 0,
        "programs": programs,
        "intent": {"language": language, "asks": "upper_limit", "programs": [p["name"] for p in programs], "yes_no": False},
        "degraded": False,
        "stated": True,
        **extra,
    }


def test_two_programs_render_after_the_answer_text_with_only_their_values():
    blocks = answer_blocks(answer_dict([FULL, SPARSE]), "c1")
    kinds = [b["type"] for b in blocks]
    # the answer's text, then a section and a context per program, then the citations and the buttons
    assert kinds == ["section", "section", "context", "section", "context", "context", "context_actions"]
    assert blocks[0]["text"]["text"] == "「BCP実践促進助成金」の助成限度額は1,500万円です*[1]*。"
    assert blocks[1] == {"type": "section", "text": {"type": "mrkdwn", "text": (
        "*BCP実践促進助成金*\n"
        "上限: 1,500万円 / 助成率: 中小企業者等 1/2以内; 小規模企業者 2/3以内 / 窓口: 東京都中小企業振興公社 総合支援課 (03-3251-7881)\n"
        "<https://www.tokyo-kosha.or.jp/support/josei/setsubijosei/bcp.html|公式ページ>"
    )}}
    assert blocks[2] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "年度: 令和7年度 ・ 公式情報"}]}
    # every value null but the name and the source kind: the name alone, escaped, and no empty labels
    assert blocks[3] == {"type": "section", "text": {"type": "mrkdwn", "text": "*下請かけこみ寺&lt;相談&gt;*"}}
    assert blocks[4] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "民間の解説を含む"}]}
    # the citation names its program and section, and links to the program's official page
    assert blocks[5]["elements"][0]["text"] == (
        "[1] <https://www.tokyo-kosha.or.jp/support/josei/setsubijosei/bcp.html|「BCP実践促進助成金」ガイド（助成率・上限）>"
    )
    assert [e["type"] for e in blocks[6]["elements"]] == ["feedback_buttons"]


def test_an_english_answer_names_the_program_in_english_too():
    blocks = program_blocks([FULL, SPARSE], english=True)
    assert blocks[0]["text"]["text"] == (
        "*BCP実践促進助成金* (BCP Implementation Promotion Subsidy)\n"
        "Upper limit: 1,500万円 / Rate: 中小企業者等 1/2以内; 小規模企業者 2/3以内 / "
        "Desk: 東京都中小企業振興公社 総合支援課 (03-3251-7881)\n"
        "<https://www.tokyo-kosha.or.jp/support/josei/setsubijosei/bcp.html|Official page>"
    )
    assert blocks[1]["elements"][0]["text"] == "Fiscal year: 令和7年度 ・ Official source"
    assert blocks[2]["text"]["text"] == "*下請かけこみ寺&lt;相談&gt;*"  # no English name: none in parentheses
    # the answer's intent decides the language
    english = answer_blocks(answer_dict([FULL], language="en"), "c1")
    assert english[1]["text"]["text"].startswith("*BCP実践促進助成金* (BCP Implementation Promotion Subsidy)\nUpper limit:")


def test_a_phone_without_a_desk_and_a_desk_without_a_phone():
    only_phone = {**SPARSE, "name": "A", "phone": "03-1111-2222", "source_kind": None}
    only_desk = {**SPARSE, "name": "B", "desk": "公社", "upper_limit": "100万円"}
    blocks = program_blocks([only_phone, only_desk])
    assert blocks[0]["text"]["text"] == "*A*\n窓口: 03-1111-2222"
    assert blocks[1]["text"]["text"] == "*B*\n上限: 100万円 / 窓口: 公社"  # no context block for A: nothing to say
    assert blocks[2]["elements"][0]["text"] == "民間の解説を含む"


def test_at_most_three_programs_and_user_text_cannot_link_or_mention():
    hostile = {**FULL, "name": "<!channel> 助成金", "upper_limit": "<https://evil.example|ここ> & more",
               "url": "javascript:alert(1)", "desk": "<@U123>"}
    blocks = program_blocks([hostile, FULL, FULL, FULL, FULL])
    assert len([b for b in blocks if b["type"] == "section"]) == MAX_PROGRAMS
    text = blocks[0]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<https://evil.example" not in text and "&amp; more" in text and "<@U123>" not in text
    assert "javascript:" not in text and "公式ページ" not in text  # only web addresses become links
    odd_url = program_blocks([{**FULL, "url": "https://example.jp/a?x=1&y=a|b"}])[0]["text"]["text"]
    assert odd_url.endswith("<https://example.jp/a?x=1&amp;y=a%7Cb|公式ページ>")


def test_programs_keep_slacks_limits_with_an_overlong_answer():
    long_value = {**FULL, "rate": "とても長い助成率の説明です。" * 400}  # ~5,600 characters
    chunk = Chunk(id="c", text="t", source="s", title="t", section="戦略Ⅰ > ② 販路開拓の強化", page=None)
    citations = [Citation(n, SearchResult(chunk, 1.0)) for n in range(1, 13)]
    answer = Answer(("とても長い回答の文です。" * 400 + "\n") * 12, citations, refused=False, turn=0,
                    programs=[long_value, FULL, SPARSE], intent={"language": "ja"})
    blocks = answer_blocks(answer, "conv")  # an Answer works as well as its dict
    assert len(blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    program_sections = [b for b in blocks if b["type"] == "section" and b["text"]["text"].startswith("*")]
    assert [b["text"]["text"].split("\n")[0] for b in program_sections] == ["*BCP実践促進助成金*"] * 2 + ["*下請かけこみ寺&lt;相談&gt;*"]
    assert program_sections[0]["text"]["text"].endswith("|公式ページ>")  # cut in the middle, the link kept
    assert blocks[-1]["type"] == "context_actions"
    assert sum(len(b["elements"]) for b in blocks if b["type"] == "context" and b["elements"][0]["text"].startswith("[")) == 12


def test_no_programs_no_program_blocks_and_a_refusal_shows_none():
    plain = answer_dict([])
    assert [b["type"] for b in answer_blocks(plain, "c1")] == ["section", "context", "context_actions"]
    refused = answer_dict([FULL], refused=True, citations=[])
    assert [b["type"] for b in answer_blocks(refused, "c1")] == ["section"]
    older = copy.deepcopy(plain)
    del older["programs"], older["intent"]  # an answer stored before the field existed
    assert [b["type"] for b in answer_blocks(older, "c1")] == ["section", "context", "context_actions"]
    older["citations"][0] = {k: v for k, v in older["citations"][0].items() if k not in ("kind", "program")}
    assert answer_blocks(older, "c1")[1]["elements"][0]["text"] == "[1] BCP実践促進助成金（助成率・上限）"
