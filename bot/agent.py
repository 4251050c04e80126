"""The optional language model, as a bounded agent over the same core.

One setting (SMEBOT_LLM=openai:gpt-4o-mini, anthropic:claude-…, ollama:qwen2.5:7b) names a chat
model that langchain's init_chat_model resolves. The model sees the passages the core found (as
untrusted data, numbered), may search again with a tool, and has a step limit and a time limit.
Its answer must cite [n]; a citation that names no passage it was shown is dropped, and an answer
left with no valid citation is an error the caller falls back from.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .models import SearchResult

PROMPT = Path(__file__).parent / "prompts" / "agent.md"
_CITE = re.compile(r"\[(\d{1,3})\]")

Search = Callable[[str, "str | None"], list[SearchResult]]
OnDelta = Callable[[str], None]


class AgentError(RuntimeError):
    """The model could not give a usable answer: timeout, provider error, or no valid citation."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class LLMUnavailable(RuntimeError):
    """The configured model cannot be built here (provider package missing, bad name)."""


def make_chat_model(spec: str):
    """A langchain chat model from 'provider:model' (resolved in this one place)."""
    from langchain.chat_models import init_chat_model

    if ":" not in spec:
        raise LLMUnavailable(f"SMEBOT_LLM must look like provider:model (e.g. openai:gpt-4o-mini), not {spec!r}")
    provider, model = spec.split(":", 1)
    try:
        return init_chat_model(model, model_provider=provider, temperature=0)
    except Exception as exc:  # ImportError for a missing provider package, ValueError for a bad name
        raise LLMUnavailable(f"cannot use {spec!r}: {exc}") from exc


def tool_specs():
    """The tools the model may call, declared for bind_tools (the agent loop runs them)."""
    from langchain_core.tools import tool

    @tool
    def search_policy(query: str, direction: str | None = None) -> str:
        """Search Tokyo's SME policy documents and program guides. direction: one of ①②③④⑤."""
        return ""

    @tool
    def lookup_program(name: str) -> str:
        """Look up a support program's guide by (part of) its name, e.g. BCP実践促進助成金."""
        return ""

    return [search_policy, lookup_program]


@dataclass
class AgentResult:
    text: str
    passages: list[SearchResult]  # in the order the model cited them, renumbered 1..n in text
    steps: int
    dropped: list[int] = field(default_factory=list)  # citations that named no shown passage


class PolicyAgent:
    def __init__(
        self,
        model: Any,
        search: Search,
        max_steps: int = 4,
        time_limit: float = 20.0,
        lookup: Callable[[str], list[SearchResult]] | None = None,
    ) -> None:
        self.model = model
        self.search = search
        self.lookup = lookup or (lambda name: [])
        self.max_steps = max_steps
        self.time_limit = time_limit

    def run(
        self,
        question: str,
        found: list[SearchResult],
        history: list[tuple[str, str]] | None = None,
        on_delta: OnDelta | None = None,
    ) -> AgentResult:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

        deadline = time.monotonic() + self.time_limit
        shown: list[SearchResult] = []
        number: dict[str, int] = {}

        def register(results: list[SearchResult]) -> str:
            for r in results:
                if r.chunk.id not in number:
                    shown.append(r)
                    number[r.chunk.id] = len(shown)
            return _passages_block([(number[r.chunk.id], r) for r in results])

        messages: list[Any] = [SystemMessage(PROMPT.read_text(encoding="utf-8"))]
        for asked, answered in (history or [])[-3:]:
            messages += [HumanMessage(asked), AIMessage(answered)]
        messages.append(HumanMessage(f"{question}\n\n{register(found)}"))
        try:
            model = self.model.bind_tools(tool_specs())
        except NotImplementedError:
            model = self.model  # a model without tools answers from the passages it was given

        for step in range(1, self.max_steps + 1):
            reply = self._call(model, messages, deadline, on_delta)
            messages.append(reply)
            calls = getattr(reply, "tool_calls", None) or []
            if not calls:
                return self._validate(str(reply.content), shown, step)
            for call in calls:
                args = call.get("args") or {}
                if call.get("name") == "lookup_program":
                    results = self.lookup(str(args.get("name") or ""))
                else:
                    results = self.search(str(args.get("query") or question), args.get("direction"))
                messages.append(ToolMessage(register(results), tool_call_id=call.get("id") or "search"))
        raise AgentError("step_limit", f"no answer after {self.max_steps} steps")

    def _call(self, model: Any, messages: list[Any], deadline: float, on_delta: OnDelta | None):
        """One model call, streamed, abandoned at the deadline."""
        chunks: queue.Queue = queue.Queue()

        def worker() -> None:
            try:
                for chunk in model.stream(messages):
                    chunks.put(("chunk", chunk))
                chunks.put(("end", None))
            except Exception as exc:  # provider errors surface to the caller as AgentError
                chunks.put(("error", exc))

        threading.Thread(target=worker, daemon=True).start()
        message = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AgentError("timeout", "the language model did not answer in time")
            try:
                kind, value = chunks.get(timeout=remaining)
            except queue.Empty:
                raise AgentError("timeout", "the language model did not answer in time") from None
            if kind == "end":
                break
            if kind == "error":
                raise AgentError("provider_error", f"{type(value).__name__}: {value}")
            message = value if message is None else message + value
            if on_delta and value.content and not getattr(message, "tool_call_chunks", None):
                on_delta(str(value.content))
        if message is None:
            raise AgentError("provider_error", "empty reply")
        return message

    def _validate(self, text: str, shown: list[SearchResult], steps: int) -> AgentResult:
        """Keep citations that name a shown passage, renumbered 1..n in order of first use."""
        order: list[int] = []
        dropped: list[int] = []
        for m in _CITE.finditer(text):
            n = int(m.group(1))
            if 1 <= n <= len(shown):
                if n not in order:
                    order.append(n)
            elif n not in dropped:
                dropped.append(n)
        if not order:
            raise AgentError("no_citation", "the answer cites no passage it was shown")
        renumber = {old: new for new, old in enumerate(order, start=1)}

        def fix(m: re.Match) -> str:
            n = int(m.group(1))
            return f"[{renumber[n]}]" if n in renumber else ""

        return AgentResult(_CITE.sub(fix, text).strip(), [shown[n - 1] for n in order], steps, dropped)


def _passages_block(numbered: list[tuple[int, SearchResult]]) -> str:
    """Passages as data: numbered, with their section, inside one clearly delimited block."""
    if not numbered:
        return "<passages>\n(該当する資料は見つかりませんでした)\n</passages>"
    lines = ["<passages>"]
    for n, r in numbered:
        text = r.chunk.text.replace("<", "＜").replace(">", "＞")  # no passage can close the block
        year = f"（{r.chunk.fiscal_year}）" if r.chunk.fiscal_year else ""  # an unknown year is left out, never （None）
        where = f"{r.chunk.program}{year} > {r.chunk.section}" if r.chunk.program else r.chunk.section
        lines.append(f"[{n}] {where}\n{text}")
    lines.append("</passages>")
    return "\n\n".join(lines)


CONDENSE = (
    "Rewrite the owner's last message as one standalone search question in the language of the "
    "conversation, using the earlier turns only to fill in what it refers to. Reply with the question only.\n\n"
)


def condense(model: Any, history: list[tuple[str, str]], message: str, time_limit: float) -> str | None:
    """A follow-up rewritten as a standalone question by the model; None if it cannot (the caller
    then keeps its own resolution)."""
    from langchain_core.messages import HumanMessage

    turns = "\n".join(f"Owner: {q}\nAdvisor: {a[:300]}" for q, a in history[-3:])
    agent = PolicyAgent(model, search=lambda q, d: [], max_steps=1, time_limit=time_limit)
    try:
        reply = agent._call(model, [HumanMessage(f"{CONDENSE}{turns}\nOwner: {message}")], time.monotonic() + time_limit, None)
    except AgentError:
        return None
    text = str(reply.content).strip().splitlines()[0].strip() if str(reply.content).strip() else ""
    return text[:300] or None
