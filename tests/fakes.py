"""Stand-ins for a chat model provider, at the edge: langchain's own fake chat model, taught to
bind tools and to stream tool calls the way real providers do."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk


class ToolCallingFakeModel(GenericFakeChatModel):
    """Replies with the given messages in turn; records what it was sent."""

    delay: float = 0.0
    fail: str | None = None
    seen: list = []

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ToolCallingFakeModel":
        return self

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        self.seen.append(list(messages))
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise RuntimeError(self.fail)
        message = next(self.messages)
        if callable(message):  # a reply made from what the model was sent (e.g. the plan's draft)
            message = message(messages)
        if isinstance(message, str):
            message = AIMessage(content=message)
        if message.tool_calls:
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        {"name": c["name"], "args": json.dumps(c["args"], ensure_ascii=False), "id": c["id"], "index": i}
                        for i, c in enumerate(message.tool_calls)
                    ],
                )
            )
            yield ChatGenerationChunk(message=AIMessageChunk(content=""), generation_info={"finish_reason": "tool_calls"})
            return
        yield from self._words(message.content)
        yield ChatGenerationChunk(message=AIMessageChunk(content=""), generation_info={"finish_reason": "stop"})

    @staticmethod
    def _words(text: str) -> Iterator[ChatGenerationChunk]:
        for word in text.split(" "):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word + " "))


def draft_of(messages) -> str:
    """The plan's wording the advisor sent the model (between <draft> tags)."""
    import re

    for m in messages:
        found = re.search(r"<draft>\n(.*?)\n</draft>", str(m.content), re.S)
        if found:
            return found.group(1)
    raise AssertionError("no <draft> in what the model was sent")


def fake_model(*replies: Any, **kw: Any) -> ToolCallingFakeModel:
    return ToolCallingFakeModel(messages=iter(list(replies)), seen=[], **kw)


from evals.slack_standin import SlackStandIn  # noqa: E402,F401  (shared with the Slack bench)
