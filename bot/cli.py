"""`smebot`: the command line (../shared/CONTRACT.md). It parses, calls the core, and prints.

Heavy modules (Chroma, the models) are imported inside the commands that need them, so that
`smebot ingest` on an unchanged corpus answers in well under a second.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperCommand, TyperGroup


class _FlagsShownAsFlags:
    """Help that shows a boolean flag as a flag (`--json`), not as `--json <bool>` (typer's default)."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class _Command(_FlagsShownAsFlags, TyperCommand):
    pass


class _Group(_FlagsShownAsFlags, TyperGroup):
    pass


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="東京都の中小企業支援策アドバイザー / An advisor on Tokyo's support for SMEs.",
)


def command(name: str):
    """`@app.command`, with flags shown as flags in its help."""
    return app.command(name, cls=_Command)


def _version(value: bool) -> None:
    if value:
        from importlib import metadata

        typer.echo(f"smebot {metadata.version('smebot')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """東京都の中小企業支援策アドバイザー / An advisor on Tokyo's support for SMEs."""


def _settings():
    from .settings import get_settings

    return get_settings()


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _print_json(data) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False))


def _advisor():
    """The core, with an index: ingest corpus/ first if there is none yet."""
    from .advisor import Advisor
    from .index import read_manifest

    settings = _settings()
    if read_manifest(settings.index_dir) is None and settings.corpus_dir.exists():
        _err(f"No index yet: indexing {settings.corpus_dir}/ first.")
        _run_ingest(settings, None, rebuild=False, quiet=True, wait=600.0)  # a server started beside it waits for it
    return Advisor(settings)


# --- ingest ------------------------------------------------------------------------------------


def _run_ingest(settings, paths, rebuild: bool, quiet: bool = False, wait: float = 0.0):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ingest.pipeline import ingest

    console = Console(stderr=True)
    labels = {"read": "読み込み", "embed": "ベクトル化", "store": "Chromaへ保存", "tokenize": "BM25索引"}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return ingest(settings, paths, rebuild=rebuild, progress=progress, wait=wait)


@command("ingest")
def ingest_command(
    paths: Optional[list[Path]] = typer.Argument(None, help="Files or folders (default: corpus/)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Re-read and re-embed everything."),
):
    """Index corpus/ (or the given paths); unchanged files are skipped."""
    from ingest.pipeline import IngestBusy

    settings = _settings()
    try:
        report = _run_ingest(settings, paths, rebuild)
    except FileNotFoundError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2)
    except IngestBusy as exc:
        _err(f"error: {exc}")
        raise typer.Exit(3)
    from ingest.screening import TRUST_LABELS

    if report.unchanged:
        typer.echo(f"変更なし / unchanged: {len(report.kept)} files, {report.chunks} passages ({report.seconds:.2f} s)")
    else:
        for label, items in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
            for src in items:
                how = TRUST_LABELS.get(report.trust.get(src, ""))
                typer.echo(f"{label}: {src}" + (f" ({how})" if how else ""))
        if report.chunks:
            typer.echo(
                f"indexed: {report.chunks} passages from {len(report.added) + len(report.updated) + len(report.kept)} files "
                f"(generation {report.generation}, {report.embedded} embedded, {report.seconds:.1f} s)"
            )
        else:
            typer.echo("indexed: nothing (no file gave a passage); the index in use, if any, is unchanged")
        if report.directory:
            held = f"; {report.directory_held} of them now have a guide and count as the documents' own" if report.directory_held else ""
            typer.echo(f"directory: {report.directory} programs, laws and desks the documents do not cover (cited by name, not searched){held}")
    counts = {how: sum(1 for t in report.trust.values() if t == key) for key, how in TRUST_LABELS.items()}
    typer.echo("treated as: " + ", ".join(f"{how} {n}" for how, n in counts.items() if n))
    _echo_fiscal_years(settings)
    for src, notes in report.notes.items():
        for note in notes:
            typer.echo(f"note: {src}: {note}")
    for src, why in report.failed.items():
        _err(f"FAILED: {why}")
    if report.failed:
        raise typer.Exit(1)


def _echo_fiscal_years(settings) -> None:
    """The programs of the index by the fiscal year of their facts, naming those older than this one."""
    from .core.fiscal import by_fiscal_year, current_fiscal_year, label
    from .core.programs import read_programs
    from .index import generation_dir, read_manifest

    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        return
    records = read_programs(generation_dir(settings.index_dir, manifest["generation"]) / "programs.json")
    if not records:
        return
    counts, older = by_fiscal_year(records)
    typer.echo("programs by fiscal year: " + ", ".join(f"{year or 'no year given'} {n}" for year, n in counts))
    if older:
        typer.echo(f"older than this fiscal year ({label(current_fiscal_year())}), check their latest round: " + "、".join(older))


# --- search and ask ------------------------------------------------------------------------------


def _render_results(query: str, results) -> None:
    typer.echo(f"「{query}」の検索結果:")
    for i, r in enumerate(results, start=1):
        page = f" p.{r.chunk.page}" if r.chunk.page else ""
        typer.echo(f"\n[{i}] {r.chunk.section}{page}  (score {r.score:.2f})")
        typer.echo(f"    {r.chunk.text[:200]}")


def _render_answer(answer) -> None:
    typer.echo(answer.answer)
    _render_sources(answer)


def _render_continue(answer) -> None:
    """How to ask the next question in the same conversation (the id an answer was given)."""
    from .core.render import message

    if answer.conversation_id:
        language = (answer.intent or {}).get("language", "ja")
        typer.echo("\n" + message("cli.conversation", language, id=answer.conversation_id))
        typer.echo(message("cli.continue", language, id=answer.conversation_id))


# The terminal's last conversation, so that `smebot ask -c` and `smebot chat -c` go on with it.
LAST_CONVERSATION = "last_conversation"


def _remember(settings, conversation_id: str | None) -> None:
    if not conversation_id:
        return
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        (settings.data_dir / LAST_CONVERSATION).write_text(conversation_id + "\n", encoding="utf-8")
    except OSError as exc:  # the answer was given; only `-c` will not find it
        _err(f"note: cannot remember the conversation ({exc})")


def _last(settings) -> str | None:
    try:
        return (settings.data_dir / LAST_CONVERSATION).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _which_conversation(settings, go_on: bool, cid: str | None, conversation: str | None) -> str | None:
    """The conversation a command continues: --cid or --conversation (an id), -c (the last one), or none."""
    given = [x for x in (cid, conversation) if x]
    if len(set(given)) > 1 or (given and go_on):
        _err("error: use one of -c/--continue, --cid ID and --conversation ID")
        raise typer.Exit(2)
    if go_on:
        last = _last(settings)
        if last is None:
            _err("error: no earlier conversation to continue: ask a question without -c first")
            raise typer.Exit(2)
        return last
    return given[0] if given else None


def _render_sources(answer) -> None:
    from .core.render import citation_label, message

    if answer.citations:
        language = (answer.intent or {}).get("language", "ja")
        typer.echo("\n" + message("sources.head", language))
        for c in answer.citations:
            ch = c.result.chunk
            page = f" p.{ch.page}" if ch.page else ""
            kind = f" ({message(f'source_kind.{ch.source_kind}', language)})" if ch.source_kind else ""
            typer.echo(f"[{c.n}] {citation_label(ch, language)}{page}{kind} — {ch.source}")


def _batch_lines():
    for line in sys.stdin:
        if line.strip():
            yield line.rstrip("\n")


@command("search")
def search_command(
    query: Optional[str] = typer.Argument(None, help="What to look for."),
    k: int = typer.Option(5, "-k", help="How many passages."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    batch: bool = typer.Option(False, "--batch", help="One query a line on standard input; JSON lines out."),
    method: str = typer.Option("hybrid", "--method", help="hybrid, bm25 or dense."),
    direction: Optional[str] = typer.Option(None, "--direction", help="Only direction ① to ⑤."),
    kind: Optional[str] = typer.Option(None, "--kind", help="Only documents of a kind: policy or guide."),
):
    """The passages that best match QUERY, best first."""
    from .advisor import BadRequest

    advisor = _advisor()
    queries = _batch_lines() if batch else [query or ""]
    failed = False
    for q in queries:
        try:
            results = advisor.search(q, k, method=method, direction=direction, kind=kind)
        except (BadRequest, ValueError) as exc:
            failed = True
            if batch or as_json:
                _print_json({"query": q, "error": str(exc)})
            else:
                _err(f"error: {exc}")
            continue
        if batch or as_json:
            _print_json({"query": q, "results": [r.to_dict() for r in results]})
        else:
            _render_results(q, results)
    if failed and not batch:
        raise typer.Exit(2)


@command("ask")
def ask_command(
    question: Optional[str] = typer.Argument(None, help="Your question, in Japanese or English."),
    go_on: bool = typer.Option(False, "--continue", "-c", help="Continue the last conversation."),
    cid: Optional[str] = typer.Option(None, "--cid", metavar="ID", help="Continue this conversation (the id an answer gave)."),
    conversation: Optional[str] = typer.Option(None, "--conversation", metavar="ID", help="The same as --cid."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    batch: bool = typer.Option(False, "--batch", help='JSON lines in ({"message": ..., "conversation_id": ...}) and out.'),
    direction: Optional[str] = typer.Option(None, "--direction", help="Only direction ① to ⑤."),
    kind: Optional[str] = typer.Option(None, "--kind", help="Only documents of a kind: policy or guide."),
):
    """One turn of advice, each fact cited."""
    from .advisor import BadRequest
    from .store import UnknownConversation

    conversation = _which_conversation(_settings(), go_on, cid, conversation)
    if question is None and not batch and not sys.stdin.isatty():
        question = sys.stdin.read().strip()  # echo 質問 | smebot ask
    advisor = _advisor()
    if not batch:
        try:
            answer = advisor.ask(question or "", conversation, direction=direction, kind=kind)
        except UnknownConversation as exc:
            message = f"{exc}: --cid continues a conversation an earlier answer started (its conversation_id)"
            _print_json({"error": message}) if as_json else _err(f"error: {message}")
            raise typer.Exit(2)
        except BadRequest as exc:
            if as_json:
                _print_json({"error": str(exc)})
            else:
                _err(f"error: {exc}")
            raise typer.Exit(2)
        _remember(advisor.settings, answer.conversation_id)
        if as_json:
            _print_json(answer.to_dict())
        else:
            _render_answer(answer)
            _render_continue(answer)
        return
    for line in _batch_lines():
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise BadRequest('each line must be a JSON object: {"message": "...", "conversation_id": null}')
            _print_json(advisor.ask(request.get("message", ""), request.get("conversation_id")).to_dict())
        except json.JSONDecodeError as exc:
            _print_json({"error": f"not JSON: {exc}"})
        except (BadRequest, UnknownConversation) as exc:
            _print_json({"error": str(exc)})


@command("draft")
def draft_command(
    file: Optional[Path] = typer.Argument(None, help="The inquiry (an e-mail); standard input if absent."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """A reply draft for help-desk staff from an inquiry, with what to check before sending."""
    from .advisor import BadRequest

    try:
        inquiry = file.read_text(encoding="utf-8") if file else sys.stdin.read()
    except (OSError, UnicodeDecodeError) as exc:
        _err(f"error: cannot read the inquiry: {exc}")
        raise typer.Exit(2)
    try:
        draft = _advisor().draft(inquiry)
    except BadRequest as exc:
        _print_json({"error": str(exc)}) if as_json else _err(f"error: {exc}")
        raise typer.Exit(2)
    if as_json:
        _print_json(draft.to_dict())
        return
    typer.echo(draft.draft)
    typer.echo("\n--- 送信前の確認事項 ---")
    for check in draft.checks:
        typer.echo(f"□ {check}")


@command("diagnose")
def diagnose_command(
    name: Optional[str] = typer.Argument(None, help="bcp, cyber, succession or ict (none: list them)."),
):
    """A self-diagnosis check sheet, question by question, then the result with advice."""
    from .advisor import BadRequest

    advisor = _advisor()
    if not name or name not in advisor.sheets:
        for sheet in advisor.sheets.values():
            typer.echo(f"{sheet.id:12} {sheet.title}（{len(sheet.questions)}問）")
        if name:
            _err(f"error: no check sheet {name!r}")
            raise typer.Exit(2)
        return
    answer = advisor.start_check(name)
    typer.echo(answer.answer)
    while answer.choices:
        try:
            reply = input("\n番号> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        try:
            answer = advisor.ask(reply or " ", answer.conversation_id)
        except BadRequest as exc:
            _err(f"error: {exc}")
            continue
        typer.echo("")
        _render_answer(answer)


@command("chat")
def chat_command(
    go_on: bool = typer.Option(False, "--continue", "-c", help="Continue the last conversation."),
    cid: Optional[str] = typer.Option(None, "--cid", metavar="ID", help="Continue this conversation."),
    english: bool = typer.Option(False, "--english", "-e", help="English labels from the start (they follow your questions' language anyway)."),
):
    """An interactive conversation in the terminal, with line editing and history (`exit` or Ctrl-D to leave)."""
    from .advisor import BadRequest
    from .core.render import message
    from .store import UnknownConversation

    settings = _settings()
    conversation = _which_conversation(settings, go_on, cid, None)
    advisor = _advisor()
    language = "en" if english else "ja"
    read = _line_reader(settings)
    typer.echo(message("chat.welcome", language))
    while True:
        try:
            question = read("\n" + message("chat.prompt", language) + " ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            break
        if question.strip().lower() in {"exit", "quit", "/exit", "/quit", "終了"}:
            break
        if not question.strip():
            continue  # an empty line is a slip of the Enter key, not a goodbye
        typer.echo("")
        streamed: list[str] = []

        def show(delta: str) -> None:  # a model's answer appears as it is written
            streamed.append(delta)
            typer.echo(delta, nl=False)

        try:
            answer = advisor.ask(question, conversation, on_delta=show if advisor.llm is not None else None)
        except UnknownConversation as exc:
            _err(f"error: {exc}")
            raise typer.Exit(2)
        except BadRequest as exc:
            _err(f"error: {exc}")
            continue
        conversation = answer.conversation_id
        _remember(settings, conversation)
        language = (answer.intent or {}).get("language", language)
        if streamed:  # the final answer (the model's, or the plan's when it fell back) is on screen already
            typer.echo("")
            _render_sources(answer)
        else:
            _render_answer(answer)
    typer.echo(message("chat.bye", language))


def _line_reader(settings):
    """input() with line editing and a history file (prompt_toolkit) at a terminal; plain input()
    when standard input is a pipe or a file (scripts and tests)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return input
    try:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory
    except ImportError:
        return input
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(settings.data_dir / "chat_history"))
    except OSError:
        history = None
    return PromptSession(history=history).prompt


@command("logs")
def logs_command(
    limit: int = typer.Option(20, "-n", "--limit", min=1, max=1000, help="How many conversations."),
    every_channel: bool = typer.Option(False, "--all", help="Slack threads too, not only the terminal's and the web's."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
):
    """The conversations of the store touched last: id, time, turns and first question."""
    from datetime import timezone

    from .store import ConversationStore, StoreUnavailable

    settings = _settings()
    try:
        rows = ConversationStore(settings.conversation_db, timeout=settings.db_timeout).recent(limit, None if every_channel else "web")
    except StoreUnavailable as exc:
        _err(f"error: {exc}")
        raise typer.Exit(1)
    for row in rows:
        updated = row["updated_at"] if row["updated_at"].tzinfo else row["updated_at"].replace(tzinfo=timezone.utc)
        when = updated.astimezone().strftime("%Y-%m-%d %H:%M")  # stored in UTC, shown in local time
        if as_json:
            _print_json({**row, "created_at": row["created_at"].isoformat(), "updated_at": row["updated_at"].isoformat()})
            continue
        first = " ".join(row["first_question"].split())
        first = first if len(first) <= 40 else first[:39] + "…"
        channel = f" [{row['channel']}]" if every_channel else ""
        typer.echo(f"{row['conversation_id']}  {when}  {row['turns']:>3} turn(s){channel}  {first}")
    if not rows and not as_json:
        typer.echo("no conversations yet")


@command("serve")
def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port."),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="Processes serving the one index and the one conversation store."
    ),
):
    """The web chat and the HTTP API, in one process or N."""
    import uvicorn

    from sqlalchemy.exc import SQLAlchemyError

    from .index import IndexMissing, read_manifest
    from .store import ConversationStore

    settings = _settings()
    if read_manifest(settings.index_dir) is None and settings.corpus_dir.exists():
        _err(f"No index yet: indexing {settings.corpus_dir}/ first.")
        _run_ingest(settings, None, rebuild=False, quiet=True, wait=600.0)  # a server started beside it waits for it
    if read_manifest(settings.index_dir) is None:
        raise IndexMissing(f"no index under {settings.index_dir}: run `smebot ingest` first")
    # Migrate here, before any worker starts: each worker checks again under the lock and finds it done.
    try:
        ConversationStore(settings.conversation_db).engine.dispose()
    except SQLAlchemyError as exc:
        _err(f"error: the conversation store cannot be opened ({type(exc).__name__}); check DATABASE_URL")
        raise typer.Exit(1)
    typer.echo(f"smebot: http://{host}:{port}/  (API docs: http://{host}:{port}/docs; {workers} worker(s))")
    # an import string and a factory: each worker process builds its own app and Advisor (its
    # models and the index loaded once per process), reading the same settings from the environment
    from .http_server import uvicorn_options

    uvicorn.run("bot.web:create_app", factory=True, host=host, port=port, workers=workers, log_level="info", **uvicorn_options(settings))


@command("purge")
def purge_command(
    days: Optional[int] = typer.Option(
        None,
        "--days",
        min=0,
        help="Delete conversations untouched for more days than this; 0 deletes every conversation "
        "(default: SMEBOT_RETENTION_DAYS, where 0 keeps them all).",
    ),
):
    """Delete the conversations past their retention, with their turns and feedback."""
    from datetime import timedelta

    from .store import ConversationStore, StoreUnavailable

    settings = _settings()
    if days is None:
        days = settings.retention_days
        if not days:  # the setting's 0 means keep; an explicit --days 0 means all
            _err("SMEBOT_RETENTION_DAYS is 0 (conversations are kept): nothing purged; "
                 "pass --days N to purge those untouched for more than N days (--days 0: every conversation)")
            return
        source = "SMEBOT_RETENTION_DAYS"
    else:
        source = "--days 0: every conversation" if days == 0 else f"--days {days}"
    try:
        deleted = ConversationStore(settings.conversation_db, timeout=settings.db_timeout).purge(timedelta(days=days))
    except StoreUnavailable as exc:
        _err(f"error: {exc}")
        raise typer.Exit(1)
    typer.echo(f"purged {deleted} conversation(s) untouched for more than {days} day(s) ({source})")


@command("slack")
def slack_command():
    """The Slack app over Socket Mode (SLACK_BOT_TOKEN and SLACK_APP_TOKEN)."""
    from .slack_app import run_socket_mode

    settings = _settings()
    if not settings.slack_bot_token or not settings.slack_app_token:
        _err("error: smebot slack needs SLACK_BOT_TOKEN (xoxb-…) and SLACK_APP_TOKEN (xapp-…); see README, Slack")
        raise typer.Exit(2)
    run_socket_mode(_advisor(), settings)


@command("eval")
def eval_command(
    set_file: Optional[list[Path]] = typer.Option(None, "--set", help="Question set(s) (default: every evals/*.jsonl)."),
    recipe: bool = typer.Option(True, "--recipe/--no-recipe", help="Also measure the LangChain quickstart recipe."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    output: Optional[Path] = typer.Option(
        None, "--output", help="Write the report (Markdown) here, its .json and charts beside it, compared with the last one."
    ),
    charts: bool = typer.Option(True, "--charts/--no-charts", help="Draw PNG charts beside --output."),
):
    """Retrieval and answer figures per method and direction on the evaluation sets."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from evals.report import render, summary, write_report
    from evals.run import run_eval

    sets = set_file or sorted(Path("evals").glob("*.jsonl"))
    if not sets:
        _err("error: no question sets: pass --set FILE or run from the repository (evals/*.jsonl)")
        raise typer.Exit(2)
    # progress on stderr, so that --json keeps stdout clean
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        data = run_eval(_settings(), sets, with_recipe=recipe, progress=progress).to_dict()
    if output:
        data = write_report(data, output, charts=charts)
    if as_json:
        _print_json(data)
    elif output:
        typer.echo(summary(data))
        written = [output, output.with_suffix(".json"), *(output.parent / name for name in data["charts"])]
        typer.echo("written: " + ", ".join(map(str, written)))
    else:
        typer.echo(render(data))


def main() -> None:
    from .index import IndexMissing

    try:
        app()
    except IndexMissing as exc:
        _err(f"error: {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
