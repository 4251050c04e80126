"""Slack's surfaces around the answers, as pure functions: the assistant thread's greeting and
suggested prompts, a thread's title, the App Home, and the feedback comment modal.

The words are data (bot/data/slack.yaml), one entry a language.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

WORDS_PATH = Path(__file__).resolve().parent / "data" / "slack.yaml"
MAX_PROMPTS = 4  # Slack shows at most four suggested prompts
TITLE_LIMIT = 60
COMMENT_LIMIT = 2000
COMMENT_MODAL = "feedback_comment"  # the modal's callback_id
EXAMPLE_ACTION = "ask_example"  # a greeting button that asks its example question


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return yaml.safe_load(WORDS_PATH.read_text(encoding="utf-8"))


def words(language: str = "ja") -> dict[str, Any]:
    messages = _data()["messages"]
    return messages.get(language) or messages["ja"]


def directions() -> list[dict[str, Any]]:
    return list(_data()["directions"])


def suggested_prompts(language: str = "ja") -> list[dict[str, str]]:
    """The assistant thread's suggested prompts: four of the five directions, each an example question."""
    chosen = [d for d in directions() if d["marker"] in _data()["suggested"]][:MAX_PROMPTS]
    return [{"title": d["title"][language], "message": d["question"][language]} for d in chosen]


def greeting_blocks(language: str = "ja") -> list[dict[str, Any]]:
    """What a new assistant thread opens with: what the advisor does, and a button per direction."""
    buttons = [
        {"type": "button", "action_id": f"{EXAMPLE_ACTION}_{i}", "value": d["question"][language],
         "text": {"type": "plain_text", "text": d["title"][language][:75]}}
        for i, d in enumerate(directions(), start=1)
    ]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": words(language)["greeting"]}},
        {"type": "actions", "elements": buttons},
    ]


def thread_title(question: str) -> str:
    """An assistant thread's title: the question's first line, shortened."""
    line = next((x.strip() for x in question.splitlines() if x.strip()), "")
    return line if len(line) <= TITLE_LIMIT else line[: TITLE_LIMIT - 1] + "…"


def home_view() -> dict[str, Any]:
    """The App Home tab: what the advisor can do, the five directions, and how to ask."""
    ja, en = words("ja"), words("en")
    areas = "\n".join(f"{d['marker']} {d['name']['ja']}（例：{d['question']['ja']}）" for d in directions())
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": ja["home_title"]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": ja["home_intro"]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": ja["home_directions"] + "\n" + areas}},
        {"type": "section", "text": {"type": "mrkdwn", "text": ja["home_how"]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": ja["home_notes"]}]},
        {"type": "divider"},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{en['home_title']}*\n{en['home_intro']}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": en["home_how"]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": en["home_notes"]}]},
    ]
    return {"type": "home", "blocks": blocks}


def comment_modal(private_metadata: str, language: str = "ja") -> dict[str, Any]:
    """After 👎: a modal asking, optionally, what was missing. `private_metadata` says which turn."""
    w = words(language)
    return {
        "type": "modal",
        "callback_id": COMMENT_MODAL,
        "private_metadata": private_metadata,
        "notify_on_close": True,  # closed without a comment: the 👎 is still recorded
        "title": {"type": "plain_text", "text": w["modal_title"][:24]},
        "submit": {"type": "plain_text", "text": w["modal_submit"]},
        "close": {"type": "plain_text", "text": w["modal_close"]},
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": w["modal_intro"]}},
            {
                "type": "input",
                "block_id": "comment",
                "optional": True,
                "label": {"type": "plain_text", "text": w["modal_label"]},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": COMMENT_LIMIT,
                    "placeholder": {"type": "plain_text", "text": w["modal_placeholder"]},
                },
            },
        ],
    }


def modal_comment(view: dict[str, Any]) -> str:
    """The comment typed into the modal ('' when none)."""
    value = ((view.get("state") or {}).get("values") or {}).get("comment", {}).get("text", {}).get("value")
    return (value or "").strip()[:COMMENT_LIMIT]
