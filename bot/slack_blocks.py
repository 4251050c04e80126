"""Block Kit for Slack, as pure functions: an answer becomes blocks within Slack's limits.

Slack limits: a section's text 3,000 characters, 50 blocks a message, 10 elements a context block
(and a context element's text 3,000 characters);
user text is escaped for mrkdwn (&, <, >) so it cannot mention, link or format anything.

An answer is an `Answer` or its contract dict (`Answer.to_dict()`); after its text come the programs it
relies on (`programs`), a section and a context block each, at most MAX_PROGRAMS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .core.render import citation_label
from .models import Answer, Chunk

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
CONTEXT_ELEMENTS = 10
FALLBACK_LIMIT = 3000
MAX_PROGRAMS = 3

# the words of a program block, by the answer's language
PROGRAM_LABELS = {
    "ja": {"upper_limit": "上限", "rate": "助成率", "desk": "窓口", "official_page": "公式ページ",
           "fiscal_year": "年度", "official": "公式情報", "secondary": "民間の解説を含む", "sep": " / "},
    "en": {"upper_limit": "Upper limit", "rate": "Rate", "desk": "Desk", "official_page": "Official page",
           "fiscal_year": "Fiscal year", "official": "Official source", "secondary": "Includes secondary sources",
           "sep": " / "},
}


def escape(text: str) -> str:
    """mrkdwn escaping: the three characters Slack asks apps to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at line ends, then at 。, then anywhere."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            cut = line.rfind("。", 0, limit) + 1 or limit
            pieces.append(line[:cut])
            line = line[cut:]
        if len(current) + len(line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return [p for p in (x.strip("\n") for x in pieces) if p.strip()]


def citation_line(citation: Mapping[str, Any], *, english: bool = False, links: Mapping[str, str] | None = None) -> str:
    """A citation as Slack shows it: its number, the program or document and section it comes from,
    and, for a program, a link to its official page: `[2] <https://…|「BCP実践促進助成金」ガイド（助成率・上限）>`."""
    # a citation stored without its kind is named by its title and section, never as the policy's
    chunk = Chunk.from_dict({"id": "", "text": "", "source": "", "title": "", "section": "", "kind": "", **citation})
    label = escape(citation_label(chunk, "en" if english else "ja") + (f" p.{chunk.page}" if chunk.page else ""))
    url = _slack_url((links or {}).get(chunk.program or ""))
    return f"[{citation.get('n')}] <{url}|{label}>" if url else f"[{citation.get('n')}] {label}"


def program_links(programs: list[Mapping[str, Any]], known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Program name → official page: the answer's own program cards first, then the index's records."""
    links = {k: v for k, v in (known or {}).items() if _present(v)}
    for p in programs:
        if isinstance(p, Mapping) and _present(p.get("name")) and _present(p.get("url")):
            links[str(p["name"])] = str(p["url"])
    return links


def feedback_block(value: str, *, english: bool = False) -> dict[str, Any]:
    """Slack's own 👍/👎 (feedback buttons in a context actions block); each value says which turn."""
    up, down = ("Helpful", "Not helpful") if english else ("役に立った", "役に立たなかった")
    return {"type": "context_actions", "elements": [{
        "type": "feedback_buttons",
        "action_id": "feedback",
        "positive_button": {"text": {"type": "plain_text", "text": "👍"}, "value": f"up|{value}", "accessibility_label": up},
        "negative_button": {"text": {"type": "plain_text", "text": "👎"}, "value": f"down|{value}", "accessibility_label": down},
    }]}


def _present(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _slack_url(url: Any) -> str | None:
    """An http(s) address fit for <url|text>: no spaces, and | < > & written so Slack reads them as data."""
    if not _present(url):
        return None
    url = str(url).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in url):
        return None
    return escape(url).replace("|", "%7C")


def program_blocks(programs: list[Mapping[str, Any]], *, english: bool = False) -> list[dict[str, Any]]:
    """A section (name, key facts, official link) and a context (fiscal year, source kind) per program.

    Only the values the documents give are shown; at most MAX_PROGRAMS programs.
    """
    words = PROGRAM_LABELS["en" if english else "ja"]
    blocks: list[dict[str, Any]] = []
    for program in [p for p in programs if isinstance(p, Mapping)][:MAX_PROGRAMS]:
        name, name_en = program.get("name"), program.get("name_en")
        if not _present(name) and not _present(name_en):
            continue
        title = f"*{escape(str(name if _present(name) else name_en).strip())}*"
        if english and _present(name) and _present(name_en) and str(name_en).strip() != str(name).strip():
            title += f" ({escape(str(name_en).strip())})"
        facts = [f"{words[key]}: {escape(str(program[key]).strip())}" for key in ("upper_limit", "rate") if _present(program.get(key))]
        desk, phone = program.get("desk"), program.get("phone")
        if _present(desk) or _present(phone):
            who = escape(str(desk).strip()) if _present(desk) else ""
            if _present(phone):
                who = f"{who} ({escape(str(phone).strip())})" if who else escape(str(phone).strip())
            facts.append(f"{words['desk']}: {who}")
        lines = [title]
        if facts:
            lines.append(words["sep"].join(facts))
        url = _slack_url(program.get("url"))
        if url:
            lines.append(f"<{url}|{words['official_page']}>")
        text = "\n".join(lines)
        if len(text) > SECTION_LIMIT:  # an overlong value: the name and the link stay
            link = f"\n<{url}|{words['official_page']}>" if url else ""
            text = text[: SECTION_LIMIT - len(link) - 1] + "…" + link
            if len(text) > SECTION_LIMIT:
                text = text[: SECTION_LIMIT - 1] + "…"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
        notes = []
        if _present(program.get("fiscal_year")):
            notes.append(f"{words['fiscal_year']}: {escape(str(program['fiscal_year']).strip())}")
        if program.get("source_kind") in ("official", "secondary"):
            notes.append(words[program["source_kind"]])
        if notes:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " ・ ".join(notes)[:SECTION_LIMIT]}]})
    return blocks


def _contract(answer: Answer | Mapping[str, Any]) -> Mapping[str, Any]:
    """The answer as its contract dict (an `Answer` or the dict itself)."""
    return answer if isinstance(answer, Mapping) else answer.to_dict()


def answer_blocks(
    answer: Answer | Mapping[str, Any],
    conversation_id: str,
    *,
    post_button: bool = False,
    links: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The answer's text, a block per program it relies on, its citations as context (program or
    document and section, linked to the program's official page), the choices and "post" buttons,
    and Slack's feedback buttons. `answer` is an `Answer` or its contract dict; `links` maps program
    names to their official pages (besides those of the answer's own program cards)."""
    data = _contract(answer)
    citations = data.get("citations") or []
    refused = bool(data.get("refused"))
    turn = data.get("turn")
    choices = data.get("choices") or []
    intent = data.get("intent") or {}
    english = isinstance(intent, Mapping) and intent.get("language") == "en"
    programs = program_blocks(data.get("programs") or [], english=english) if not refused else []
    links = program_links(data.get("programs") or [], links)
    lines = [citation_line(c, english=english, links=links) for c in citations]
    context = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": t[:SECTION_LIMIT]} for t in lines[i : i + CONTEXT_ELEMENTS]]}
        for i in range(0, len(lines), CONTEXT_ELEMENTS)
    ]
    value = f"{conversation_id}|{turn if turn is not None else 0}"
    buttons: list[dict[str, Any]] = []
    if post_button:
        buttons.append(
            {"type": "button", "action_id": "post_to_channel", "style": "primary",
             "text": {"type": "plain_text", "text": "Post to channel" if english else "チャンネルに投稿"}, "value": value}
        )
    actions = [{"type": "actions", "elements": buttons}] if buttons else []
    feedback = [feedback_block(value, english=english)] if not refused and citations else []
    if choices:  # a clarifying or check-sheet question: one button a choice (at most 25 a block)
        actions.insert(0, {"type": "actions", "elements": [
            {"type": "button", "action_id": f"choice_{c['n']}", "value": f"{conversation_id}|{c['n']}",
             "text": {"type": "plain_text", "text": f"{c['n']}. {c['label']}"[:75]}}
            for c in choices[:25]
        ]})
    actions += feedback
    while programs and MAX_BLOCKS - len(programs) - len(context) - len(actions) < 2:
        programs = programs[: -1 if programs[-1]["type"] == "section" else -2]  # the last program goes
    room = MAX_BLOCKS - len(programs) - len(context) - len(actions)
    pieces = split_text(_bold_numbers(escape(data.get("answer") or "")))
    if len(pieces) > room:  # an overlong answer keeps its start, its programs, its citations and its buttons
        pieces = pieces[: room - 1] + ["…"]
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in pieces]
    return sections + programs + context + actions


def fallback_text(answer_text: str) -> str:
    """The notification text (plain): the answer's start."""
    text = escape(answer_text)
    return text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"


def strip_mentions(text: str) -> str:
    """A message without its <@U…> mentions and Slack's link markup."""
    text = re.sub(r"<@[A-Z0-9]+>", "", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.strip()


def _bold_numbers(text: str) -> str:
    return re.sub(r"\[(\d+)\]", r"*[\1]*", text)
