"""The web chat and the HTTP API (../shared/CONTRACT.md), a thin FastAPI adapter over the one Advisor.

The page (bot/static/) is plain HTML, CSS and JavaScript served by the app itself: no CDN.

The Advisor (index, models, conversation store) is built once at start-up, not per request, and
the store's migrations run then too, never on a first request. Turns run side by side on worker
threads: the core is re-entrant (a turn's filters travel with it) and the store numbers turns in
its own transactions, so nothing here serializes them. Bad input gets a 4xx with
{"error": "..."} that says what is wrong, never a 500; a conversation id the server did not issue
(or a Slack thread's) gets 404.

A dependency that is down never becomes a 500 or a hang: without the vector store, answers come
from BM25 alone and say `degraded`; without the database, what needs it answers 503 {"error": "..."}
with Retry-After (in the stream, an `error` event), never the database's own message.
`/healthz/live` says the process answers; `/healthz/ready` whether each part can serve.

`smebot serve --workers N` runs N processes of this app through uvicorn's factory
(`bot.web:create_app`), each with its own Advisor over the one index and the one store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .advisor import Advisor, BadRequest
from .settings import Settings, get_settings
from .store import StoreUnavailable, UnknownConversation

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


Direction = Literal["①", "②", "③", "④", "⑤"]
Kind = Literal["policy", "guide"]


class SearchRequest(BaseModel):
    query: str
    k: int = Field(5, ge=1, le=50)
    direction: Direction | None = None
    kind: Kind | None = None


class ChatRequest(BaseModel):
    message: str
    conversation_id: str | None = None
    direction: Direction | None = None
    kind: Kind | None = None


class DiagnoseRequest(BaseModel):
    name: str
    conversation_id: str | None = None


class DraftRequest(BaseModel):
    inquiry: str


class FeedbackRequest(BaseModel):
    conversation_id: str
    turn: int = Field(ge=0)
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=2000)


class ErrorBody(BaseModel):
    error: str


NOT_FOUND = {404: {"model": ErrorBody, "description": "no conversation with this id was issued to web clients"}}
# A database that is down is a 503 with a message that names no host, port or driver error.
STORE_DOWN = {503: {"model": ErrorBody, "description": "the conversation store is unavailable (try again after Retry-After)"}}
RETRY_AFTER = "5"


class ReadyBody(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, Literal["ok", "down", "not used"]]
    error: str | None = None


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(settings: Settings | None = None, advisor: Advisor | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.advisor = advisor or Advisor(settings)
        app.state.advisor.open_store()  # connect and migrate before the first request
        app.state.slack = None
        if settings.slack_signing_secret:
            from slack_bolt.adapter.fastapi import SlackRequestHandler

            from .slack_app import check_connection, create_slack_app

            bolt = create_slack_app(app.state.advisor, settings)
            app.state.slack = SlackRequestHandler(bolt)
            if settings.slack_bot_token:
                check_connection(bolt)
        yield

    app = FastAPI(title="smebot", description="東京都の中小企業支援策アドバイザー API", lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", []) if x != "body")
        return error(422, f"{where or 'body'}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(BadRequest)
    async def _bad(request: Request, exc: BadRequest):
        return error(400, str(exc))

    @app.exception_handler(StoreUnavailable)
    async def _store_down(request: Request, exc: StoreUnavailable):
        return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": RETRY_AFTER})

    @app.exception_handler(UnknownConversation)
    async def _unknown(request: Request, exc: UnknownConversation):
        return error(404, str(exc))

    def core(request: Request) -> Advisor:
        return request.app.state.advisor

    async def run(request: Request, fn, *args):
        return await asyncio.to_thread(fn, *args)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request):
        if request.app.state.slack is None:
            return error(404, "Slack is not configured: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN")
        return await request.app.state.slack.handle(request)

    @app.get("/healthz")
    async def healthz(request: Request):
        return core(request).health()

    @app.get("/healthz/live")
    async def live():
        """The process answers (on the event loop: busy worker threads do not make it fail)."""
        return {"status": "ok"}

    @app.get(
        "/healthz/ready",
        response_model=ReadyBody,
        responses={503: {"model": ReadyBody, "description": "a part that answers need is down; `error` names it"}},
    )
    async def ready(request: Request):
        """200 when the index, the vector store and the database can serve; else 503 naming what is down."""
        checks = await run(request, core(request).readiness)
        down = [part.replace("_", " ") for part, state in checks.items() if state == "down"]
        if not down:
            return {"status": "ready", "checks": checks, "error": None}
        body = {"status": "not ready", "checks": checks, "error": f"down: {', '.join(down)}"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER})

    @app.post("/api/search")
    async def search(body: SearchRequest, request: Request):
        advisor = core(request)
        results = await run(
            request, lambda: advisor.search(body.query, body.k, direction=body.direction, kind=body.kind)
        )
        return {"query": body.query, "results": [r.to_dict() for r in results]}

    @app.post("/api/chat", responses={**NOT_FOUND, **STORE_DOWN})
    async def chat(body: ChatRequest, request: Request):
        advisor = core(request)
        answer = await run(
            request,
            lambda: advisor.ask(body.message, body.conversation_id, direction=body.direction, kind=body.kind),
        )
        return answer.to_dict()

    @app.get("/api/checksheets")
    async def checksheets(request: Request):
        return {
            "checksheets": [
                {"name": s.id, "title": s.title, "direction": s.direction, "questions": len(s.questions)}
                for s in core(request).sheets.values()
            ]
        }

    @app.post("/api/diagnose", responses={**NOT_FOUND, **STORE_DOWN})
    async def diagnose(body: DiagnoseRequest, request: Request):
        """Start a check sheet; answer its questions through /api/chat with the conversation id."""
        answer = await run(request, core(request).start_check, body.name, body.conversation_id)
        return answer.to_dict()

    @app.post("/api/chat/stream", responses={**NOT_FOUND, **STORE_DOWN})
    async def chat_stream(body: ChatRequest, request: Request):
        advisor = core(request)
        advisor.check_message(body.message)  # bad input is a 4xx before the stream starts
        if body.conversation_id and await run(request, advisor.conversation, body.conversation_id) is None:
            raise UnknownConversation(body.conversation_id)  # and so is an id the server did not issue
        events: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def work():
            def delta(text: str) -> None:
                loop.call_soon_threadsafe(events.put_nowait, ("delta", {"text": text}))

            try:
                answer = advisor.ask(
                    body.message, body.conversation_id, on_delta=delta, direction=body.direction, kind=body.kind
                )
                loop.call_soon_threadsafe(events.put_nowait, ("done", answer.to_dict()))
            except StoreUnavailable as exc:  # the answer could not be kept: said as /api/chat says it
                loop.call_soon_threadsafe(events.put_nowait, ("error", {"error": str(exc), "status": 503}))
            except Exception:  # reported in the stream (the connection is open), its details only in the log
                log.exception("chat stream failed")
                loop.call_soon_threadsafe(
                    events.put_nowait, ("error", {"error": "the answer could not be made; try again", "status": 500})
                )

        threading.Thread(target=work, daemon=True).start()

        async def stream():
            while True:
                kind, data = await events.get()
                yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
                if kind in ("done", "error"):
                    return

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.post("/api/draft")
    async def draft(body: DraftRequest, request: Request):
        result = await run(request, core(request).draft, body.inquiry)
        return result.to_dict()

    @app.get("/api/conversations/{conversation_id}", responses={**NOT_FOUND, **STORE_DOWN})
    async def conversation(conversation_id: str, request: Request):
        conv = await run(request, core(request).conversation, conversation_id)
        if conv is None:
            raise UnknownConversation(conversation_id)
        return conv.to_dict()

    @app.post(
        "/api/feedback",
        status_code=204,
        responses={404: {"model": ErrorBody, "description": "no such conversation or turn"}, **STORE_DOWN},
    )
    async def feedback(body: FeedbackRequest, request: Request):
        try:
            await run(request, core(request).store.add_feedback, body.conversation_id, body.turn, body.rating, body.comment)
        except LookupError as exc:  # no such conversation (for this client), or no such turn in it
            return error(404, str(exc))
        return Response(status_code=204)

    return app
