"""The optional language model: it words the answer plan the core chose, bounded and checked.

One setting (SMEBOT_LLM=openai:MODEL with OPENAI_BASE_URL for vLLM, llama.cpp's server or Ollama;
or another provider langchain's init_chat_model resolves) names a chat model. The core builds the
same plan the extractive path renders; the model is given that plan (its wording as a draft, its
programs' facts, and the numbered cited passages as untrusted data) and asked to word it in the
asker's language. It may call `search_policy` for another search where the server takes tools.

Bounded: `max_tokens` is sent, a reply that did not finish (`finish_reason` other than `stop`, or
`tool_calls` mid-loop) is refused, the time limit is the HTTP client's timeout and is checked
between streamed chunks (the call runs in the caller's thread and its connection is closed when it
is given up: no thread is left behind), and a runaway reply is cut once it is longer than any
wording of the plan could be. The text is then checked against the plan (bot/core/check.py); any
failure is an AgentError whose `reason` becomes the answer's `fallback`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .core.check import CITE, MARKUP, Evidence, check
from .models import SearchResult

PROMPT = Path(__file__).parent / "prompts" / "agent.md"
TOOLS = ("search_policy", "lookup_program")
# statuses after which the same request is tried again in another shape (without streaming, then
# without tools): servers that refuse tools, or tools while streaming, answer 400/404/422/500/501
_SHAPE_REFUSED = {400, 404, 422, 500, 501}

Search = Callable[[str, "str | None"], list[SearchResult]]
OnDelta = Callable[[str], None]


class AgentError(RuntimeError):
    """The model's reply cannot be used; `reason` is the answer's `fallback` (README lists them)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class LLMUnavailable(RuntimeError):
    """The configured model cannot be built here (provider package missing, bad name)."""


def make_chat_model(spec: str, timeout: float | None = None):
    """A langchain chat model from 'provider:model' (resolved in this one place).

    The openai provider gets no retries (a retry would spend the turn's time limit again) and the
    time limit as its client timeout; OPENAI_BASE_URL and OPENAI_API_KEY are read by its client.
    """
    from langchain.chat_models import init_chat_model

    if ":" not in spec:
        raise LLMUnavailable(f"SMEBOT_LLM must look like provider:model (e.g. openai:gpt-4o-mini), not {spec!r}")
    provider, model = spec.split(":", 1)
    extra: dict[str, Any] = {"max_retries": 0, "timeout": timeout} if provider == "openai" else {}
    try:
        return init_chat_model(model, model_provider=provider, temperature=0, **extra)
    except Exception as exc:  # ImportError for a missing provider package, ValueError for a bad name or key
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


def tool_name(name: str | None) -> str | None:
    """The tool a call names; a name that is a tool's name repeated (a streaming server that sends
    the name in every chunk, which langchain joins: search_policysearch_policy) is that tool."""
    for tool in TOOLS:
        if name and re.fullmatch(f"(?:{tool})+", name):
            return tool
    return None


@dataclass
class Brief:
    """What the model is given: the plan as a draft in the answer's language, its facts, its passages."""

    question: str
    language: str
    draft: str  # the plan rendered, with [n]
    passages: list[SearchResult]  # the plan's citations, [1]..[n]
    facts: list[str] = field(default_factory=list)  # one line per program: its figures, desk, phone, link
    evidence_text: str = ""  # more the model may state: the plan in the other language, citation labels
    named_in: Callable[[str], list[str]] | None = None  # program names a text names


@dataclass
class AgentResult:
    text: str
    passages: list[SearchResult]  # cited in the text as [1]..[n]
    steps: int
    check_ms: float = 0.0  # time the checks took


class PolicyAgent:
    def __init__(
        self,
        model: Any,
        search: Search,
        max_steps: int = 4,
        time_limit: float = 20.0,
        lookup: Callable[[str], list[SearchResult]] | None = None,
        max_tokens: int = 800,
        stream: bool = True,
        tools: bool = True,
    ) -> None:
        self.model = model
        self.search = search
        self.lookup = lookup or (lambda name: [])
        self.max_steps = max_steps
        self.time_limit = time_limit
        self.max_tokens = max_tokens
        self.stream = stream
        self.tools = tools

    def word(self, brief: Brief) -> AgentResult:
        """The plan worded by the model, checked; AgentError when it cannot be used."""
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

        deadline = time.monotonic() + self.time_limit
        shown = list(brief.passages)
        longest = max(3 * len(brief.draft), len(brief.draft) + 1200)
        messages: list[Any] = [SystemMessage(PROMPT.read_text(encoding="utf-8")), HumanMessage(wording_prompt(brief))]
        shape = (self.tools, self.stream)
        for step in range(1, self.max_steps + 1):
            reply, finish, shape = self._call(messages, deadline, shape, longest)
            if getattr(reply, "invalid_tool_calls", None):
                raise AgentError("tool_garbled", "a tool call's arguments could not be read")
            calls = getattr(reply, "tool_calls", None) or []
            if calls:
                if finish not in ("tool_calls", "stop"):
                    raise AgentError("length" if finish == "length" else "unfinished", f"finish_reason {finish!r}")
                named = [(call, tool_name(call.get("name"))) for call in calls]
                for call, name in named:
                    if name is None:
                        raise AgentError("tool_garbled", f"no tool {call.get('name')!r}")
                # the call as it should have read: the server is sent the tool's name, not its repetition
                messages.append(AIMessage(content=_content(reply), tool_calls=[{**c, "name": n} for c, n in named]))
                for call, name in named:
                    args = call.get("args") or {}
                    if name == "lookup_program":
                        results = self.lookup(str(args.get("name") or ""))
                    else:
                        results = self.search(str(args.get("query") or brief.question), args.get("direction"))
                    messages.append(ToolMessage(_register(shown, results), tool_call_id=call.get("id") or name))
                continue
            if finish != "stop":
                raise AgentError("length" if finish == "length" else "unfinished", f"finish_reason {finish!r}")
            started = time.perf_counter()
            text = _content(reply)
            evidence = Evidence(
                passages=[r.chunk.text for r in shown],
                plan_text=f"{brief.draft}\n{brief.evidence_text}",
                lead=brief.draft.split("\n", 1)[0],
                facts=brief.facts,
                named_in=brief.named_in,
            )
            reason = check(text, evidence, longest)
            elapsed = (time.perf_counter() - started) * 1000
            if reason:
                raise AgentError(reason, "the model's wording does not hold to the plan")
            text, passages = _renumber(text, shown)
            return AgentResult(text, passages, step, elapsed)
        raise AgentError("step_limit", f"no answer after {self.max_steps} steps")

    # -- one bounded call ----------------------------------------------------------------------

    def _call(self, messages: list[Any], deadline: float, shape: tuple[bool, bool], longest: int):
        """One model call within the deadline: (reply, finish reason, the shape that worked).

        A server that refuses the request's shape (tools while streaming, tools at all) is asked
        again without streaming, then without tools, within the same deadline."""
        tools, stream = shape
        shapes = [(tools, stream)] + ([(True, False)] if tools and stream else []) + ([(False, stream)] if tools else [])
        last: Exception | None = None
        for tools, stream in shapes:
            try:
                reply, finish = self._once(messages, deadline, tools, stream, longest)
                return reply, finish, (tools, stream)
            except _Refused as exc:
                last = exc
        raise AgentError("server_error", str(last))

    def _once(self, messages: list[Any], deadline: float, tools: bool, stream: bool, longest: int):
        model = self.model
        if tools:
            try:
                model = model.bind_tools(tool_specs(), tool_choice="auto")  # llama.cpp ignores tools without it
            except NotImplementedError:
                pass  # a model without tools words the plan from the passages it was given
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AgentError("timeout", "the language model did not answer in time")
        kwargs = self._limits(remaining)
        reply = None
        try:
            if not stream:
                reply = model.invoke(messages, **kwargs)
            else:
                chunks = model.stream(messages, **kwargs)
                try:
                    for chunk in chunks:
                        reply = chunk if reply is None else reply + chunk
                        if time.monotonic() > deadline:
                            raise AgentError("timeout", "the language model did not answer in time")
                        if MARKUP.search(_content(reply)[-400:]):  # the prompt coming back: stop reading it
                            raise AgentError("echo", "the reply repeats the prompt's markup")
                        if len(_content(reply)) > longest:
                            raise AgentError("too_long", "the reply ran past any wording of the plan")
                finally:
                    chunks.close()  # closes the HTTP response: a reply given up is not read on
        except AgentError:
            raise
        except Exception as exc:
            raise _classify(exc, started=reply is not None) from exc
        if time.monotonic() > deadline:
            raise AgentError("timeout", "the language model did not answer in time")
        if reply is None:
            raise AgentError("empty", "no reply")
        return reply, _finish(reply)

    def _limits(self, remaining: float) -> dict[str, Any]:
        """Per-call bounds for the openai client: max tokens (both spellings where the server is not
        OpenAI's own: llama.cpp and Ollama read max_tokens) and the time left as its timeout."""
        client = getattr(self.model, "root_client", None)
        if client is None or not hasattr(self.model, "openai_api_base"):
            return {}
        limits: dict[str, Any] = {"max_tokens": self.max_tokens, "timeout": remaining}
        if "api.openai.com" not in str(client.base_url):
            limits["extra_body"] = {"max_tokens": self.max_tokens}
        return limits


class _Refused(RuntimeError):
    """The server refused the request's shape before any of the reply came."""


def _classify(exc: Exception, started: bool) -> Exception:
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if "Timeout" in name or "timed out" in str(exc).lower():
        return AgentError("timeout", "the language model did not answer in time")
    if status in _SHAPE_REFUSED and not started:
        return _Refused(f"HTTP {status}")
    if status is not None or "Connection" in name or "APIError" in name:
        return AgentError("server_error", f"{name}" + (f" (HTTP {status})" if status else ""))
    return AgentError("provider_error", f"{name}: {exc}")


def _content(message: Any) -> str:
    content = getattr(message, "content", "")
    if isinstance(content, list):  # content blocks
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")


def _finish(message: Any) -> str:
    """The reply's finish reason as OpenAI names it: stop, tool_calls, length, or what the server said."""
    meta = getattr(message, "response_metadata", None) or {}
    raw = meta.get("finish_reason") or meta.get("stop_reason") or meta.get("done_reason")
    if raw is None:
        return "missing"
    raw = str(raw).lower()
    if raw in ("stop", "end_turn", "stop_sequence", "eos"):
        return "stop"
    if raw in ("tool_calls", "tool_use", "function_call"):
        return "tool_calls"
    if raw in ("length", "max_tokens"):
        return "length"
    return raw


def _register(shown: list[SearchResult], results: list[SearchResult]) -> str:
    """Passages a tool found, numbered after those already shown, as a <passages> block."""
    numbered = []
    for r in results:
        n = next((i for i, s in enumerate(shown, start=1) if s.chunk.id == r.chunk.id), None)
        if n is None:
            shown.append(r)
            n = len(shown)
        numbered.append((n, r))
    return _passages_block(numbered)


def _renumber(text: str, shown: list[SearchResult]) -> tuple[str, list[SearchResult]]:
    """The passages the text cites, in their own order, numbered 1..n (unchanged when it cites them all)."""
    text = re.sub(r"［(\d{1,3})］", r"[\1]", text)
    used = sorted({int(n) for n in CITE.findall(text)})
    renumber = {old: new for new, old in enumerate(used, start=1)}
    text = CITE.sub(lambda m: f"[{renumber[int(m.group(1))]}]", text)
    return text.strip(), [shown[n - 1] for n in used]


def wording_prompt(brief: Brief) -> str:
    """The request: the question, the plan's draft, its facts and its passages, each in its own tags."""
    language = "English" if brief.language == "en" else "日本語（です・ます）"
    facts = "\n".join(f"- {line}" for line in brief.facts) or "-"
    return (
        f"<question>\n{brief.question}\n</question>\n\n"
        f"<draft>\n{brief.draft}\n</draft>\n\n"
        f"<facts>\n{facts}\n</facts>\n\n"
        f"{_passages_block(list(enumerate(brief.passages, start=1)))}\n\n"
        f"Answer language: {language}. Word the draft as the answer; keep its first sentence's fact first, "
        f"and every [n]. Reply with the answer only."
    )


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


def condense(
    model: Any, history: list[tuple[str, str]], message: str, time_limit: float, max_tokens: int = 100, stream: bool = True
) -> str | None:
    """A follow-up rewritten as a standalone question by the model; None if it cannot (the caller
    then keeps its own resolution). Only a search query: what the answer says is still the plan's."""
    from langchain_core.messages import HumanMessage

    turns = "\n".join(f"Owner: {q}\nAdvisor: {a[:300]}" for q, a in history[-3:])
    agent = PolicyAgent(model, search=lambda q, d: [], max_steps=1, time_limit=time_limit, max_tokens=max_tokens, stream=stream, tools=False)
    try:
        reply, finish, _ = agent._call(
            [HumanMessage(f"{CONDENSE}{turns}\nOwner: {message}")], time.monotonic() + time_limit, (False, agent.stream), 600
        )
    except AgentError:
        return None
    text = _content(reply).strip()
    if finish != "stop" or not text:
        return None
    return text.splitlines()[0].strip()[:300] or None
