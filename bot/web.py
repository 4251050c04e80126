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

Limits (bot/throttle.py, bot/http_guards.py): at most `max_turns` turns computed at once on a pool
of their own, `max_waiting` more waiting `turn_wait` seconds, the rest 503 with Retry-After at once;
`rate_limit` per client address; a turn past `request_timeout` is 503 and, like the turn of a client
that hung up, not stored; bodies over `max_body_bytes` 413. Every response carries the security
headers (a CSP of 'self' only); conversations past `retention_days` are purged hourly.

`smebot serve --workers N` runs N processes of this app through uvicorn's factory
(`bot.web:create_app`), each with its own Advisor over the one index and the one store.
"""

import asyncio
import functools
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Callable, Literal

from fastapi import FastAPI, Header, Path as PathParam, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, BeforeValidator, Field, StringConstraints
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from .advisor import Abandoned, Advisor, BadRequest
from .http_guards import BodyLimit, RateLimit, SecurityHeaders, ShedLoad
from .settings import Settings, get_settings
from .store import AlreadyAnswered, StoreUnavailable, UnknownConversation
from .throttle import Busy, RateLimits, TurnGate, retry_after

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
TURN_PATHS = frozenset({"/api/search", "/api/chat", "/api/chat/stream", "/api/diagnose", "/api/draft"})
PURGE_EVERY = 3600.0  # seconds between purges of conversations past their retention


Direction = Literal["①", "②", "③", "④", "⑤"]
Kind = Literal["policy", "guide"]
# what the advisor strips (Python's whitespace, which holds \x1c-\x1f and \x85) or cannot read as a
# question (control characters, a byte-order mark) it does not take: the same set in pydantic's regex
# engine and in JSON Schema's, so the schema says every text the server refuses
NOT_BLANK = r"[^\s\u0000-\u001f\u007f-\u009f\ufeff]"
MAX_TURN = 1_000_000  # more turns than any conversation has; bounded so no number overflows a column
# Any string: one the server did not issue (too long, odd characters, a Slack thread's) is a 404,
# as CONTRACT.md says, decided before a stream starts; the body limit bounds its length.
ConversationId = str
# A client's key for one turn (a UUID, say): a retry with the same key gets the turn stored, not a second.
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
           description="Any 1-200 visible ASCII characters, one per turn: a retry with it returns the turn stored"),
]


def _a_number(value: object) -> object:
    """JSON's integers (5, and 5.0, which JSON Schema counts as one), never true, false or "5"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a whole number, not a string or a boolean")
    return value


WholeNumber = Annotated[int, BeforeValidator(_a_number)]
# A turn's number: its bounds before the validator, so that in an optional field too the schema says them as
# minimum and maximum (after it, pydantic writes ge/le inside anyOf, which JSON Schema does not read)
TurnNumber = Annotated[int, Field(ge=0, le=MAX_TURN), BeforeValidator(_a_number)]
# The stream, as Schemathesis and the OpenAPI 3.2 `itemSchema` read it: one object per event.
STREAM_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["delta", "done", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}


def request_models(max_chars: int) -> SimpleNamespace:
    """The request bodies, as strict as the advisor: a text that is blank or too long, an integer
    that is a boolean, a string or out of range, is a 422 here, said by the schema, not a 400 later."""
    Text = Annotated[str, StringConstraints(min_length=1, max_length=max_chars, pattern=NOT_BLANK)]

    class SearchRequest(BaseModel):
        query: Text
        k: WholeNumber = Field(5, ge=1, le=50)
        direction: Direction | None = None
        kind: Kind | None = None

    class ChatRequest(BaseModel):
        message: Text
        conversation_id: ConversationId | None = None
        direction: Direction | None = None
        kind: Kind | None = None

    class DiagnoseRequest(BaseModel):
        name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
        conversation_id: ConversationId | None = None

    class DraftRequest(BaseModel):
        inquiry: Text
        # with a conversation: the draft is made from the answer it gave (turn `turn`, else the last one)
        conversation_id: ConversationId | None = None
        turn: TurnNumber | None = None

    class FeedbackRequest(BaseModel):
        conversation_id: ConversationId
        turn: TurnNumber
        rating: Literal["up", "down"]
        comment: str = Field("", max_length=2000)

    return SimpleNamespace(
        Search=SearchRequest, Chat=ChatRequest, Diagnose=DiagnoseRequest, Draft=DraftRequest, Feedback=FeedbackRequest
    )


class ErrorBody(BaseModel):
    error: str


RETRY_AFTER = "5"
# Every status a path can answer besides its success, each with the {"error"} body (the schema says so).
WHY = {
    400: "the body is not JSON, or the advisor cannot take it (the error says why)",
    404: "no conversation with this id was issued to web clients (or no such check sheet or turn)",
    413: "the request body is larger than the limit (SMEBOT_MAX_BODY_BYTES)",
    422: "a field is missing, of the wrong type, or out of range (the error names it)",
    429: "too many requests from this client: try again after Retry-After",
    503: "too many turns being computed at once, the conversation store is unavailable, or the answer took too long: try again after Retry-After",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody, "description": WHY[code]} for code in codes}


BODY_ERRORS = (400, 413, 422, 429, 503)


class ReadyBody(BaseModel):
    status: Literal["ready", "degraded", "not ready"]
    checks: dict[str, Literal["ok", "down", "not used"]]
    error: str | None = None


def sse(kind: str, data: dict) -> str:
    """One server-sent event of the stream: `delta`, `done` or `error`, its data as JSON."""
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def invalid_message(exc: RequestValidationError) -> str:
    """The first thing wrong, said as the advisor says it (`message: is empty`, `… the limit is 4,000`)."""
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(x) for x in first.get("loc", []) if x != "body") or "body"
    kind, ctx, given = first.get("type"), first.get("ctx") or {}, first.get("input")
    if kind == "string_too_short" or kind == "string_pattern_mismatch" and ctx.get("pattern") == NOT_BLANK:
        return f"{where}: is empty: ask something, e.g. 「展示会に出たいのですが、支援はありますか」"
    if kind == "string_too_long" and isinstance(given, str):
        return f"{where}: has {len(given):,} characters; the limit is {ctx.get('max_length', 0):,}"
    return f"{where}: {first.get('msg', 'invalid request')}"


async def client_left(request: Request) -> None:
    """Returns once the client has gone away (its body is read: what comes next is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def create_app(settings: Settings | None = None, advisor: Advisor | None = None) -> FastAPI:
    settings = settings or get_settings()
    M = request_models(settings.max_message_chars)

    async def purge(app: FastAPI) -> None:
        """Conversations past their retention are deleted at start-up and then every hour (each
        process does it: the deletes are the same, and a database that is down is tried again later)."""
        while settings.retention_days:
            try:
                await asyncio.to_thread(app.state.advisor.purge)
            except StoreUnavailable:
                pass  # said in the log by the store
            except Exception:
                log.exception("purging old conversations failed")
            await asyncio.sleep(PURGE_EVERY)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.advisor = advisor or Advisor(settings)
        app.state.advisor.open_store()  # connect and migrate before the first request
        # turns run on a pool of their own, as many threads as turns may run at once
        app.state.pool = ThreadPoolExecutor(max_workers=settings.max_turns, thread_name_prefix="turn")
        app.state.gate = TurnGate(settings.max_turns, settings.max_waiting, settings.turn_wait)
        app.state.slack = None
        if settings.slack_signing_secret:
            from slack_bolt.adapter.fastapi import SlackRequestHandler

            from .slack_app import check_connection, create_slack_app

            bolt = create_slack_app(app.state.advisor, settings)
            app.state.slack = SlackRequestHandler(bolt)
            if settings.slack_bot_token:
                check_connection(bolt)
        purging = asyncio.create_task(purge(app))
        yield
        purging.cancel()
        with suppress(asyncio.CancelledError):
            await purging
        app.state.pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="smebot", description="東京都の中小企業支援策アドバイザー API", lifespan=lifespan)
    # outermost last: every response (a 413 or 429 too) carries the security headers
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["content-type"], max_age=600,
        )
    app.add_middleware(ShedLoad, paths=TURN_PATHS)
    app.add_middleware(RateLimit, limits=RateLimits(settings.rate_limit))
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return error(422, invalid_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Allow names every method of the path, not only its first route's
            methods = set()
            for route in request.app.router.routes:
                if route.matches(request.scope)[0] != Match.NONE:
                    methods |= getattr(route, "methods", None) or set()
            headers["Allow"] = ", ".join(sorted(methods)) or headers.get("Allow", "")
        return error(exc.status_code, str(exc.detail), headers)

    @app.exception_handler(BadRequest)
    async def _bad(request: Request, exc: BadRequest):
        return error(400, str(exc))

    @app.exception_handler(StoreUnavailable)
    async def _store_down(request: Request, exc: StoreUnavailable):
        return error(503, str(exc), {"Retry-After": RETRY_AFTER})

    @app.exception_handler(UnknownConversation)
    async def _unknown(request: Request, exc: UnknownConversation):
        return error(404, str(exc))

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy):
        return error(503, str(exc), {"Retry-After": retry_after(exc.retry_after)})  # busy, not this client's fault

    too_long = f"the answer took longer than {settings.request_timeout:g} s; try again"

    @app.exception_handler(Abandoned)
    async def _abandoned(request: Request, exc: Abandoned):
        return error(503, too_long, {"Retry-After": RETRY_AFTER})

    def core(request: Request) -> Advisor:
        return request.app.state.advisor

    async def run(request: Request, fn, *args):
        return await asyncio.to_thread(fn, *args)

    async def start_turn(request: Request, work: Callable[[Callable[[], bool]], Any]) -> tuple[asyncio.Future, threading.Event]:
        """Run `work(gone)` on the turn pool once the gate lets it in (else Busy: a 503 at once). The
        slot is held until the work ends, even when its client has left, so the gate counts what runs."""
        gate: TurnGate = request.app.state.gate
        await gate.__aenter__()
        left = threading.Event()
        try:
            future = asyncio.get_running_loop().run_in_executor(request.app.state.pool, functools.partial(work, left.is_set))
        except BaseException:
            await gate.__aexit__(None, None, None)
            raise
        future.add_done_callback(lambda _: asyncio.ensure_future(gate.__aexit__(None, None, None)))
        return future, left

    async def turn(request: Request, work: Callable[[Callable[[], bool]], Any]) -> Any:
        """A turn within the limits: at most `request_timeout` seconds (then 503), and given up,
        not stored, when its client goes away."""
        future, left = await start_turn(request, work)
        watcher = asyncio.ensure_future(client_left(request))
        try:
            done, _ = await asyncio.wait(
                {future, watcher}, timeout=settings.request_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            watcher.cancel()
        if future in done:
            return future.result()
        left.set()  # the work ends at its next check and stores nothing
        future.add_done_callback(lambda f: f.exception())  # its Abandoned is expected, not "never retrieved"
        if watcher in done:
            return Response(status_code=499)  # no one is there to read it; the log says the client left
        raise Abandoned("the answer took too long")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request):
        if request.app.state.slack is None:
            return error(404, "Slack is not configured: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN")
        from .slack_app import malformed_signature_headers

        # what bolt would choke on (a 500) is a 400 here: duplicate or malformed signature headers, a body
        # that is not UTF-8; a well-formed but wrong signature stays bolt's 401
        wrong = malformed_signature_headers({k: request.headers.getlist(k) for k in request.headers.keys()})
        if wrong is None:
            try:
                (await request.body()).decode("utf-8")
            except UnicodeDecodeError:
                wrong = "the body is not UTF-8"
        if wrong is not None:
            log.info("Slack request refused (400): %s", wrong)
            return error(400, wrong)
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
    async def ready(
        request: Request,
        degraded: Annotated[
            Literal["ok", "not ok"],
            Query(description="`ok`: also 200 (status `degraded`) while only the vector store is down, as answers "
                  "then come from BM25 alone, marked `degraded`; for a load balancer that should keep such a process"),
        ] = "not ok",
    ):
        """200 when the index, the vector store and the database can serve; else 503 naming what is down."""
        checks = await run(request, core(request).readiness)
        down = [part.replace("_", " ") for part, state in checks.items() if state == "down"]
        if not down:
            return {"status": "ready", "checks": checks, "error": None}
        if degraded == "ok" and down == ["vector store"]:
            return {"status": "degraded", "checks": checks, "error": "down: vector store"}
        body = {"status": "not ready", "checks": checks, "error": f"down: {', '.join(down)}"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER})

    @app.post("/api/search", responses=errors(*BODY_ERRORS))
    async def search(body: M.Search, request: Request):
        advisor = core(request)
        results = await turn(
            request, lambda gone: advisor.search(body.query, body.k, direction=body.direction, kind=body.kind)
        )
        if isinstance(results, Response):
            return results
        return {"query": body.query, "results": [r.to_dict() for r in results]}

    @app.post("/api/chat", responses=errors(*BODY_ERRORS, 404))
    async def chat(body: M.Chat, request: Request, idempotency_key: IdempotencyKey = None):
        advisor = core(request)
        if idempotency_key:  # a retry of a request whose reply was lost: the turn it stored
            stored = await run(request, advisor.store.answered_for_key, idempotency_key)
            if stored is not None:
                return stored

        def ask(gone):
            try:
                return advisor.ask(
                    body.message, body.conversation_id, direction=body.direction, kind=body.kind, gone=gone,
                    idempotency_key=idempotency_key,
                ).to_dict()
            except AlreadyAnswered as twin:  # the same key, sent twice at once: the one stored
                return twin.answer

        return await turn(request, ask)

    @app.get("/api/checksheets", responses=errors(429))
    async def checksheets(request: Request):
        return {
            "checksheets": [
                {"name": s.id, "title": s.title, "direction": s.direction, "questions": len(s.questions)}
                for s in core(request).sheets.values()
            ]
        }

    @app.post("/api/diagnose", responses=errors(*BODY_ERRORS, 404))
    async def diagnose(body: M.Diagnose, request: Request):
        """Start a check sheet; answer its questions through /api/chat with the conversation id."""
        advisor = core(request)
        if body.name not in advisor.sheets:
            return error(404, f"no check sheet {body.name!r}: one of {', '.join(sorted(advisor.sheets)) or '(none)'}")
        answer = await turn(request, lambda gone: advisor.start_check(body.name, body.conversation_id, gone=gone))
        return answer if isinstance(answer, Response) else answer.to_dict()

    @app.post(
        "/api/chat/stream",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {"schema": STREAM_EVENT}},
                  "description": "`delta` events, then one `done` event with the whole answer (or an `error` event)"},
            **errors(*BODY_ERRORS, 404),
        },
    )
    async def chat_stream(body: M.Chat, request: Request, idempotency_key: IdempotencyKey = None):
        advisor = core(request)
        advisor.check_message(body.message)  # bad input is a 4xx before the stream starts
        if body.conversation_id and await run(request, advisor.conversation, body.conversation_id) is None:
            raise UnknownConversation(body.conversation_id)  # and so is an id the server did not issue
        events: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        stored = await run(request, advisor.store.answered_for_key, idempotency_key) if idempotency_key else None
        if stored is not None:  # a retry: the stored turn, as the stream's one event
            return StreamingResponse(iter([sse("done", stored)]), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

        def work(gone: Callable[[], bool]) -> None:
            def put(kind: str, data: dict) -> None:
                loop.call_soon_threadsafe(events.put_nowait, (kind, data))

            try:
                answer = advisor.ask(
                    body.message,
                    body.conversation_id,
                    on_delta=lambda text: put("delta", {"text": text}),
                    direction=body.direction,
                    kind=body.kind,
                    gone=gone,
                    idempotency_key=idempotency_key,
                )
                put("done", answer.to_dict())
            except AlreadyAnswered as twin:  # the same key, sent twice at once: the one stored
                put("done", twin.answer)
            except Abandoned:
                pass  # its client left, or was told it took too long
            except StoreUnavailable as exc:  # the answer could not be kept: said as /api/chat says it
                put("error", {"error": str(exc), "status": 503})
            except UnknownConversation as exc:  # deleted while its answer was made: /api/chat's 404, in the stream
                put("error", {"error": str(exc), "status": 404})
            except Exception:  # reported in the stream (the connection is open), its details only in the log
                log.exception("chat stream failed")
                put("error", {"error": "the answer could not be made; try again", "status": 500})

        _, left = await start_turn(request, work)  # Busy (503) before the stream starts

        async def stream():
            deadline = loop.time() + settings.request_timeout
            try:
                while True:
                    try:
                        kind, data = await asyncio.wait_for(events.get(), max(0.0, deadline - loop.time()))
                    except asyncio.TimeoutError:
                        kind, data = "error", {"error": too_long, "status": 503}
                    yield sse(kind, data)
                    if kind in ("done", "error"):
                        return
            finally:
                left.set()  # done, timed out, or the client went away: a turn still running stores nothing

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.post("/api/draft", responses=errors(*BODY_ERRORS, 404))
    async def draft(body: M.Draft, request: Request):
        """A reply draft from an inquiry; with `conversation_id`, from the answer that conversation gave
        (a follow-up such as 「上限はいくら？」 is drafted from its answer, not asked again alone)."""
        advisor = core(request)
        if body.conversation_id:
            try:
                result = await turn(
                    request, lambda gone: advisor.draft_turn(body.conversation_id, body.turn, body.inquiry)
                )
            except LookupError as exc:  # no such turn in the conversation
                return error(404, str(exc))
        else:
            result = await turn(request, lambda gone: advisor.draft(body.inquiry))
        return result if isinstance(result, Response) else result.to_dict()

    ConversationPath = Annotated[str, PathParam(description="the id an answer gave as `conversation_id`")]

    @app.get("/api/conversations/{conversation_id}", responses=errors(404, 422, 429, 503))
    async def conversation(conversation_id: ConversationPath, request: Request):
        conv = await run(request, core(request).conversation, conversation_id)
        if conv is None:
            raise UnknownConversation(conversation_id)
        return conv.to_dict()

    @app.delete(
        "/api/conversations/{conversation_id}", status_code=204, response_class=Response,
        responses=errors(404, 422, 429, 503),
    )
    async def forget(conversation_id: ConversationPath, request: Request):
        """Delete the conversation, its turns and its feedback: whoever holds the id may."""
        await run(request, core(request).store.delete, conversation_id)
        return Response(status_code=204)

    @app.post("/api/feedback", status_code=204, response_class=Response, responses=errors(*BODY_ERRORS, 404))
    async def feedback(body: M.Feedback, request: Request):
        try:
            await run(request, core(request).store.add_feedback, body.conversation_id, body.turn, body.rating, body.comment)
        except LookupError as exc:  # no such conversation (for this client), or no such turn in it
            return error(404, str(exc))
        return Response(status_code=204)

    return app
