"""A local stand-in for an OpenAI-compatible chat server (vLLM, llama.cpp's server, Ollama).

FastAPI on a free 127.0.0.1 port, in a thread of the calling process. `POST /v1/chat/completions`
answers in the real wire format: a `chat.completion` object, or (with `"stream": true`) server-sent
events `data: {chat.completion.chunk}` ending with `data: [DONE]`. Each request takes the next
scripted reply kind (`enqueue`), or the default kind once the queue is empty. Replies are made from
the request itself: the advisor's prompt holds the plan's wording between <draft> tags and the
passages between <passages> tags, so "plan" answers with the plan's own sentences and "echo"
sends the passages back.

Reply kinds (KINDS): the behaviours seen from real servers and small models.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections import deque
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

KINDS = (
    "plan",  # the plan's own sentences, with their [n]: what a faithful model says
    "good",  # a reworded, cited answer: the plan's sentences as one paragraph, with a polite closing sentence
    "tool_call",  # a search_policy call (one chunk), then the next scripted reply
    "tool_split",  # the same call with its id, name and arguments split across many chunks
    "tool_repeated",  # llama.cpp's forced-tool stream: every chunk repeats the function name
    "length",  # the plan's first half, cut off: finish_reason "length"
    "echo",  # the <passages> block sent back, with a link of its own
    "invented_figure",  # the plan with an upper limit no passage states
    "invented_link",  # the plan with a link no passage names
    "slow",  # the plan, a few characters every 0.4 s
    "server_error",  # HTTP 500 with an OpenAI-style error body
    "stall",  # the response starts (a stream's headers) and then nothing comes
)

_DRAFT = re.compile(r"<draft>\n?(.*?)\n?</draft>", re.S)
_PASSAGES = re.compile(r"<passages>.*?</passages>", re.S)


def _prompt_text(body: dict) -> str:
    """The advisor's wording request: the first user message that holds a <draft>."""
    for m in body.get("messages", []):
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if m.get("role") == "user" and isinstance(content, str) and "<draft>" in content:
            return content
    last = body.get("messages", [{}])[-1].get("content")
    return last if isinstance(last, str) else ""


def _draft(body: dict) -> str:
    m = _DRAFT.search(_prompt_text(body))
    return m.group(1).strip() if m else "資料をご確認ください[1]。"


class LLMStandIn:
    """Start with `with LLMStandIn() as llm:`; `llm.base_url` is OPENAI_BASE_URL; `llm.requests` holds
    every request body received, in order."""

    def __init__(self, default: str = "plan", chunk_delay: float = 0.0, slow_delay: float = 0.4) -> None:
        self.default = default
        self.chunk_delay = chunk_delay
        self.slow_delay = slow_delay
        self.requests: list[dict] = []
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()  # set at stop: a stalled reply gives up
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- script ------------------------------------------------------------------------------

    def enqueue(self, *kinds: str) -> "LLMStandIn":
        for kind in kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown reply kind {kind!r}: one of {', '.join(KINDS)}")
        with self._lock:
            self._queue.extend(kinds)
        return self

    def _next(self, body: dict) -> str:
        with self._lock:
            self.requests.append(body)
            return self._queue.popleft() if self._queue else self.default

    # -- the server --------------------------------------------------------------------------

    def __enter__(self) -> "LLMStandIn":
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="llm-standin")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the LLM stand-in did not start")
            time.sleep(0.02)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(self, *exc: Any) -> None:
        self._released.set()
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def _app(self):
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request):
            body = await request.json()
            kind = self._next(body)
            if kind == "server_error":
                error = {"error": {"message": "internal server error", "type": "server_error", "code": 500}}
                return JSONResponse(error, status_code=500)
            if kind == "stall" and not body.get("stream"):
                await self._stall()
            if body.get("stream"):
                return StreamingResponse(self._sse(kind, body), media_type="text/event-stream")
            if kind == "slow":
                await asyncio.sleep(self.slow_delay * 10)
            return JSONResponse(self._completion(kind, body))

        return app

    async def _stall(self) -> None:
        while not self._released.is_set():
            await asyncio.sleep(0.05)

    # -- replies -----------------------------------------------------------------------------

    def _text(self, kind: str, body: dict) -> str:
        draft = _draft(body)
        if kind == "good":
            lines = [re.sub(r"^[・•\-]\s*", "", line) for line in draft.splitlines() if line.strip()]
            if re.match(r"[A-Za-z]", draft):
                return " ".join(lines) + " Please ask the desk if anything is unclear."
            return "".join(lines) + "ご不明な点は、お気軽に窓口へご相談ください。"
        if kind == "length":
            return draft[: max(1, len(draft) // 2)]
        if kind == "echo":
            m = _PASSAGES.search(_prompt_text(body))
            passages = m.group(0) if m else "<passages></passages>"
            return f"{passages}\n詳しくは https://subsidy.example.org/apply をご覧ください[1]。"
        if kind == "invented_figure":
            return "上限は9,999万円です[1]。\n" + draft
        if kind == "invented_link":
            return draft + "\n申請は https://apply.example.com/form からできます[1]。"
        return draft  # plan, slow, stall (never sent)

    @staticmethod
    def _tool_call() -> dict:
        return {"id": "call_1", "name": "search_policy", "arguments": json.dumps({"query": "BCP 策定 支援"}, ensure_ascii=False)}

    def _completion(self, kind: str, body: dict) -> dict:
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "stop"
        if kind.startswith("tool_"):
            call = self._tool_call()
            message["tool_calls"] = [{"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}]
            finish = "tool_calls"
        else:
            message["content"] = self._text(kind, body)
            finish = "length" if kind == "length" else "stop"
        return {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "standin"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
        }

    async def _sse(self, kind: str, body: dict):
        model = body.get("model", "standin")

        def chunk(delta: dict, finish: str | None = None) -> str:
            data = {
                "id": "chatcmpl-standin",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        if kind == "stall":
            await self._stall()
            return
        if kind.startswith("tool_"):
            call = self._tool_call()
            if kind == "tool_call":
                yield chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}]})
            else:
                args = call["arguments"]
                pieces = [args[i : i + 4] for i in range(0, len(args), 4)]
                for i, piece in enumerate(pieces):
                    if kind == "tool_repeated":  # the name (and id) again in every chunk
                        delta = {"index": 0, "id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": piece}}
                    elif i == 0:
                        delta = {"index": 0, "id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": ""}}
                        yield chunk({"tool_calls": [delta]})
                        delta = {"index": 0, "function": {"arguments": piece}}
                    else:
                        delta = {"index": 0, "function": {"arguments": piece}}
                    yield chunk({"tool_calls": [delta]})
                    if self.chunk_delay:
                        await asyncio.sleep(self.chunk_delay)
            yield chunk({}, "tool_calls")
        else:
            text = self._text(kind, body)
            step = 6
            for i in range(0, len(text), step):
                yield chunk({"content": text[i : i + step]})
                if kind == "slow":
                    await asyncio.sleep(self.slow_delay)
                elif self.chunk_delay:
                    await asyncio.sleep(self.chunk_delay)
            yield chunk({}, "length" if kind == "length" else "stop")
        yield "data: [DONE]\n\n"
