"""Block Kit for Slack, as pure functions: an answer becomes blocks within Slack's limits.

Slack limits: a section's text 3,000 characters, 50 blocks a message, 10 elements a context block;
user text is escaped for mrkdwn (&, <, >) so it cannot mention, link or format anything.
"""

from __future__ import annotations

import re
from typing import Any

from .models import Answer

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
CONTEXT_ELEMENTS = 10
FALLBACK_LIMIT = 3000


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


def citation_line(n: int, section: str, page: int | None) -> str:
    return escape(f"[{n}] {section}" + (f" p.{page}" if page else ""))


def answer_blocks(answer: Answer, conversation_id: str, *, post_button: bool = False) -> list[dict[str, Any]]:
    """The answer's text, its citations as context (section, page), and 👍/👎 (and "post") buttons."""
    lines = [citation_line(c.n, c.result.chunk.section, c.result.chunk.page) for c in answer.citations]
    context = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": t[:SECTION_LIMIT]} for t in lines[i : i + CONTEXT_ELEMENTS]]}
        for i in range(0, len(lines), CONTEXT_ELEMENTS)
    ]
    value = f"{conversation_id}|{answer.turn if answer.turn is not None else 0}"
    buttons: list[dict[str, Any]] = []
    if not answer.refused and answer.citations:
        buttons += [
            {"type": "button", "action_id": "feedback_up", "text": {"type": "plain_text", "text": "👍"}, "value": value},
            {"type": "button", "action_id": "feedback_down", "text": {"type": "plain_text", "text": "👎"}, "value": value},
        ]
    if post_button:
        buttons.append(
            {"type": "button", "action_id": "post_to_channel", "style": "primary",
             "text": {"type": "plain_text", "text": "チャンネルに投稿"}, "value": value}
        )
    actions = [{"type": "actions", "elements": buttons}] if buttons else []
    if answer.choices:  # a clarifying or check-sheet question: one button a choice (at most 25 a block)
        actions.insert(0, {"type": "actions", "elements": [
            {"type": "button", "action_id": f"choice_{c['n']}", "value": f"{conversation_id}|{c['n']}",
             "text": {"type": "plain_text", "text": f"{c['n']}. {c['label']}"[:75]}}
            for c in answer.choices[:25]
        ]})
    room = MAX_BLOCKS - len(context) - len(actions)
    pieces = split_text(_bold_numbers(escape(answer.answer)))
    if len(pieces) > room:  # an overlong answer keeps its start, its citations and its buttons
        pieces = pieces[: room - 1] + ["…"]
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in pieces]
    return sections + context + actions


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
