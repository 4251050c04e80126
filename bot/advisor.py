"""The advisor core: every surface (terminal, web, Slack, evals) calls `search()` and `ask()` here.

Models and the index are loaded once, when the Advisor is built.
"""

from __future__ import annotations

import logging
import re
import functools
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from importlib import metadata
from typing import Any, Callable

from . import guard
from .agent import AgentError, Brief, LLMUnavailable, OnDelta, PolicyAgent, condense, make_chat_model
from .checksheet import CheckSheet, is_no, is_stop, is_yes, load_sheets, matching_sheet, question_text
from .core.aspects import read_aspects
from .core.directory import DIRECTORY_KIND
from .core.intent import DIRECTIONS, Intent, language_of, owners_own_terms, understand
from .core.library import Library
from .core.not_covered import not_covered_plan, note_others, suggestion_plan
from .core.plan import AnswerPlan, not_stated_plan, plan_answer
from .core.profile import merge as merge_facts
from .core.profile import owner_facts
from .core.programs import card
from .core.render import citation_label, message, render, term
from .embedding import Embedder, make_embedder
from .index import LoadedIndex, load_index, manifest_stamp, read_manifest
from .draft import Draft, compose, from_turn, renumber, split_questions
from .models import Answer, Citation, SearchResult
from .privacy import contacts, mask
from .retrieval import Query, Retriever
from .settings import Settings, get_settings, secret_values
from .store import SLACK, WEB, Conversation, ConversationStore, StoreUnavailable, Turn, UnknownConversation
from .terms import get_term_map
from .text import sentence_pieces
from .tokenize import get_tokenizer
from .vectorstore import noting_parts_down

log = logging.getLogger(__name__)
# after a finished check: "何から始めればいい?" is about its result
_AFTER_CHECK = re.compile(r"何から|まず|どうすれば|どうしたら|次は|始め|おすすめ|優先|what should|where do i start|first")

# Below this BM25 score (per unit of own-word weight, as the question's own words are repeated
# in the BM25 query), a question that names nothing of the SME domain has found nothing.
MIN_BM25_WITHOUT_DOMAIN = 3.0
MORE_SPARE = 20  # passages searched beyond k on 「ほかには？」, for those of the programs shown
ANSWER_SPARE = 3  # passages found beyond top_k that an extractive answer may use instead of general ones


@dataclass(frozen=True)
class Filters:
    """This turn's search filters (from the web page or an eval): passed along, never stored."""

    direction: str | None = None
    kind: str | None = None


def _direction_of(answer: Answer) -> str | None:
    return answer.citations[0].result.chunk.direction if answer.citations else None


class BadRequest(ValueError):
    """Input the advisor cannot take (empty, too long); the message says what is wrong."""


class Abandoned(RuntimeError):
    """The turn was given up (its client left, or its time ran out) before it was stored: nothing was."""


Gone = Callable[[], bool]  # True once the one who asked no longer waits for the answer


def _still_wanted(gone: Gone | None) -> None:
    if gone is not None and gone():
        raise Abandoned("the turn was abandoned before it was stored")


@dataclass(frozen=True)
class Generation:
    """One index generation and everything built on it: switched whole, and read whole by a turn."""

    index: LoadedIndex
    embedder: Embedder | None
    retriever: Retriever
    library: Library


# The generation the current turn answers from (per thread and per task, never on the Advisor):
# a turn that began before an ingest finished ends on the generation it began with.
_turn_generation: ContextVar[Generation | None] = ContextVar("smebot_turn_generation", default=None)


def one_generation(method: Callable) -> Callable:
    """Refresh to the newest generation, then run the whole call on it, whatever switches meanwhile."""

    @functools.wraps(method)
    def call(self: Advisor, *args: Any, **kwargs: Any) -> Any:
        if _turn_generation.get() is not None:  # a call inside a turn: that turn's generation
            return method(self, *args, **kwargs)
        self.refresh()
        token = _turn_generation.set(self._generation)
        try:
            return method(self, *args, **kwargs)
        finally:
            _turn_generation.reset(token)

    return call


class Advisor:
    def __init__(
        self,
        settings: Settings | None = None,
        index: LoadedIndex | None = None,
        store: ConversationStore | None = None,
        llm: Any = None,
    ) -> None:
        self.settings = settings or get_settings()
        self._store = store
        self._llm = llm
        self._llm_error: str | None = None
        self._sheets: dict[str, CheckSheet] | None = None
        self._secrets = secret_values()
        self.tokenizer = get_tokenizer()
        self.terms = get_term_map()
        self._manifest_stamp = manifest_stamp(self.settings.index_dir)
        self._switching = threading.Lock()  # one thread loads a new generation; turns never wait for it
        self._use(index or load_index(self.settings))

    def _use(self, index: LoadedIndex) -> None:
        model = index.manifest.get("settings", {}).get("embedding_model", self.settings.embedding_model)
        embedder = make_embedder(model, self.settings.cache_dir) if index.collection is not None else None
        retriever = Retriever(index, self.tokenizer, embedder, self.terms, self.settings)
        library = Library(retriever, index.programs, self.settings.corpus_dir)
        # built first, switched in one assignment: a turn never meets a half-loaded generation
        self._generation = Generation(index, embedder, retriever, library)

    @property
    def generation(self) -> Generation:
        """The current turn's generation; outside a turn, the one serving now."""
        return _turn_generation.get() or self._generation

    @property
    def index(self) -> LoadedIndex:
        return self.generation.index

    @property
    def embedder(self) -> Embedder | None:
        return self.generation.embedder

    @property
    def retriever(self) -> Retriever:
        return self.generation.retriever

    @property
    def library(self) -> Library:
        return self.generation.library

    def refresh(self) -> bool:
        """Switch to a newer generation if an ingest has finished since; True if it did.

        Called by every turn on many threads: the first to see the new manifest loads it, and the
        others answer from the serving generation meanwhile instead of waiting or loading it twice.
        """
        stamp = manifest_stamp(self.settings.index_dir)
        if stamp == self._manifest_stamp:  # checked on every turn: a stat, not a parse
            return False
        if not self._switching.acquire(blocking=False):
            return False
        try:
            if stamp == self._manifest_stamp:
                return False
            self._manifest_stamp = stamp  # taken first: a generation that fails to load is tried once
            manifest = read_manifest(self.settings.index_dir)
            if manifest is None or manifest.get("generation") == self.index.manifest.get("generation"):
                return False
            self._use(load_index(self.settings))
            return True
        finally:
            self._switching.release()

    # -- input -----------------------------------------------------------------------------------

    def check_message(self, text: object, what: str = "question") -> str:
        if not isinstance(text, str):
            raise BadRequest(f"the {what} must be a string")
        text = text.strip()
        if not text:
            raise BadRequest(f"the {what} is empty: ask something, e.g. 「展示会に出たいのですが、支援はありますか」")
        limit = self.settings.max_message_chars
        if len(text) > limit:
            raise BadRequest(f"the {what} has {len(text):,} characters; the limit is {limit:,}")
        return text

    # -- core ------------------------------------------------------------------------------------

    @one_generation
    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        method: str = "hybrid",
        direction: str | None = None,
        kind: str | None = None,
    ) -> list[SearchResult]:
        query = self.check_message(query, "query")
        if k is not None and not 1 <= k <= 50:
            raise BadRequest("k must be between 1 and 50")
        return self.retriever.search(query, k, method=method, direction=direction, kind=kind)

    @one_generation
    def ask(
        self,
        question: str,
        conversation_id: str | None = None,
        on_delta: OnDelta | None = None,
        *,
        direction: str | None = None,
        kind: str | None = None,
        channel: str = WEB,
        gone: Gone | None = None,
        idempotency_key: str | None = None,
    ) -> Answer:
        """One turn: understood against the conversation, answered, and stored.

        No `conversation_id` starts a conversation whose id the store issues; an id continues that
        conversation of `channel`, and one it never issued raises UnknownConversation (a Slack
        thread's id, in the `slack` channel, is opened on its first message). `direction` and
        `kind` filter this turn's search; they travel as arguments, never on the Advisor, which
        serves concurrent turns. `on_delta` receives the answer's text once it is final: a
        model's wording sentence by sentence after its checks, or the extractive answer at once.
        `gone` is asked before the work starts and before the turn is stored: once it says the
        asker has left, the turn is Abandoned and nothing is stored.
        `idempotency_key`: recorded with the turn; if a turn with it was stored meanwhile, nothing
        is stored and AlreadyAnswered carries that turn's answer.
        """
        question = self.check_message(question)
        _still_wanted(gone)
        if direction is not None and direction not in DIRECTIONS:
            raise BadRequest("direction must be one of ①②③④⑤")
        if kind is not None and kind not in ("policy", "guide"):
            raise BadRequest("kind must be policy or guide")
        conv = self._conversation(conversation_id, channel)
        with noting_parts_down() as down:
            answer, resolved = self._turn(question, conv, on_delta, Filters(direction, kind))
        if down:
            self._degrade(answer, question)
        _still_wanted(gone)
        answer.masked = dict(Counter(found.mask for found in contacts(question)))  # said back to the owner, kept with the turn
        answer = self._record(conv, question, answer, resolved, idempotency_key)  # AlreadyAnswered: a retry's twin won
        if on_delta:  # only now, checked and redacted: nothing streams that the answer then drops
            for piece in sentence_pieces(answer.answer) if answer.mode == "llm" else [answer.answer]:
                on_delta(piece)
        return answer

    @one_generation
    def draft(self, inquiry: str) -> Draft:
        """A reply draft for help-desk staff: each question answered and cited, with checks."""
        inquiry = self.check_message(inquiry, "inquiry")
        questions = split_questions(inquiry)
        if not questions:
            raise BadRequest("no question found in the inquiry")
        parts: list[str] = []
        citations: list[Citation] = []
        checks = [message("draft.check.sign", "ja"), message("draft.check.yearly", "ja")]
        for i, (q, with_context) in enumerate(questions, start=1):
            with noting_parts_down() as down:
                answer, _ = self._turn(with_context, Conversation(f"draft-{i}"))
            if down and message("draft.check.degraded", "ja") not in checks:
                checks.append(message("draft.check.degraded", "ja"))
            if answer.choices:
                body = message("draft.broad", "ja")
                checks.append(message("draft.check.broad", "ja", n=i))
            elif answer.refused:
                body = message("draft.not_found", "ja")
                checks.append(message("draft.check.not_found", "ja", n=i, question=q[:30]))
            else:
                offset = len(citations)
                body = renumber(answer.answer, offset)
                for c in answer.citations:
                    citations.append(Citation(c.n + offset, c.result, url=self._official_page(c.result.chunk)))
                if not answer.stated:
                    checks.append(message("draft.check.not_stated", "ja", n=i))
                else:
                    checks.append(message("draft.check.fit", "ja", n=i, first=offset + 1, last=len(citations)))
            parts.append(message("draft.part", "ja", n=i, question=q, body=body))
        return compose(inquiry, parts, citations, checks, [q for q, _ in questions])

    def draft_turn(self, conversation_id: str, turn: int | None = None, inquiry: str = "", channel: str = WEB) -> Draft:
        """A reply draft from an answer the conversation already gave (turn `turn`, or the last one),
        not asked again: after 「上限はいくら？」 the draft holds the limit that was answered."""
        conv = self.conversation(conversation_id, channel)
        if conv is None:
            raise UnknownConversation(conversation_id)
        turns = [t for t in conv.turns if turn is None or t.n == turn]
        if not turns:
            raise LookupError(f"no turn {turn} in this conversation" if turn is not None else "the conversation has no turns yet")
        return from_turn(turns[-1], inquiry)

    def conversation(self, conversation_id: str, channel: str = WEB) -> Conversation | None:
        return self.store.get(conversation_id, channel)

    @property
    def store(self) -> ConversationStore:
        """The conversation store; adapters build it at start-up (`open_store`), not on a first request."""
        if self._store is None:
            self._store = ConversationStore(self.settings.conversation_db, timeout=self.settings.db_timeout)
        return self._store

    def purge(self) -> int:
        """Delete the conversations untouched for longer than the retention (`retention_days`; 0 keeps all)."""
        if not self.settings.retention_days:
            return 0
        return self.store.purge(timedelta(days=self.settings.retention_days))

    def open_store(self) -> ConversationStore:
        """Connect and migrate now: a server does this before it takes its first request."""
        return self.store

    def _conversation(self, conversation_id: str | None, channel: str = WEB) -> Conversation:
        if not conversation_id:
            return self.store.create(channel=channel)
        found = self.store.get(conversation_id, channel)
        if found is not None:
            return found
        if channel == SLACK:  # a Slack thread names its conversation; Slack's signature vouches for it
            return self.store.create(conversation_id, channel=SLACK)
        raise UnknownConversation(conversation_id)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "［非表示］")
        return text

    @property
    def llm(self) -> Any:
        """The configured chat model, built on first use; None without one (or if it cannot be built)."""
        if self._llm is None and self.settings.llm and self._llm_error is None:
            try:
                self._llm = make_chat_model(self.settings.llm, self.settings.llm_timeout)
            except LLMUnavailable as exc:
                self._llm_error = str(exc)
                log.warning("language model unavailable, answering without it: %s", exc)
        return self._llm

    def brief(self, question: str, plan: AnswerPlan) -> Brief:
        """What the model is given for a plan: its wording as a draft, its programs' facts, its passages."""
        language = plan.intent.language
        other = "en" if language == "ja" else "ja"
        facts = [
            ", ".join(f"{k}: {v}" for k, v in card(r, language).items() if v and k != "source_kind") for r in plan.programs
        ]
        more = [render(plan, other)]
        more += [", ".join(str(v) for v in card(r, other).values() if v) for r in plan.programs]
        more += [citation_label(r.chunk, lang) for r in plan.citations for lang in (language, other)]
        return Brief(
            question, language, render(plan), list(plan.citations), facts, "\n".join(more), self.library.names.named_in
        )

    def _with_model(self, question: str, plan: AnswerPlan) -> Answer:
        s = self.settings
        agent = PolicyAgent(
            self.llm,
            search=lambda q, d: self.retriever.search(q, s.top_k, direction=d if d in DIRECTIONS else None),
            max_steps=s.llm_max_steps,
            time_limit=s.llm_timeout,
            lookup=self.retriever.program_passages,
            max_tokens=s.llm_max_tokens,
            stream=s.llm_stream,
            tools=s.llm_tools,
        )
        result = agent.word(self.brief(mask(question), plan))  # the owner's My Number, card or phone never leaves for a model
        answer = Answer(
            result.text,
            [Citation(n, r) for n, r in enumerate(result.passages, start=1)],
            refused=False,
            mode="llm",
            programs=[card(r, plan.intent.language) for r in plan.programs],
            stated=plan.stated,
            answer_kind=plan.answer_kind(),
        )
        answer.intent = plan.intent.to_dict()
        return answer

    # -- check sheets ------------------------------------------------------------------------------

    @property
    def sheets(self) -> dict[str, CheckSheet]:
        if self._sheets is None:
            self._sheets = load_sheets(self.settings.corpus_dir / "checksheets")
        return self._sheets

    @one_generation
    def start_check(
        self, name: str, conversation_id: str | None = None, channel: str = WEB, gone: Gone | None = None
    ) -> Answer:
        """Begin a check sheet in a conversation (a new one without an id); the first question comes back."""
        sheet = self.sheets.get(name)
        if sheet is None:
            raise BadRequest(f"no check sheet {name!r}: one of {', '.join(sorted(self.sheets)) or '(none)'}")
        conv = self._conversation(conversation_id, channel)
        answer = self._begin(conv, sheet)
        _still_wanted(gone)
        return self._record(conv, message("check.started", "ja", title=sheet.title), answer, f"check:{sheet.id}")

    def _record(self, conv: Conversation, question: str, answer: Answer, resolved: str, idempotency_key: str | None = None) -> Answer:
        answer.answer = self.redact(answer.answer)
        answer.conversation_id = conv.id
        answer.resolved_question = resolved
        self._name_citations(answer)
        turn = Turn(None, question, resolved, answer.to_dict(), answer.refused)
        self.store.add_turn(conv, turn, idempotency_key)  # takes the conversation's next number, whoever else is writing
        answer.turn = turn.n
        return answer

    def _name_citations(self, answer: Answer) -> None:
        """Each citation's label (program or document, and section) and its program's official page,
        so a reader sees a name and a link rather than a file path."""
        language = answer.intent.get("language") or "ja"
        for c in answer.citations:
            c.label = citation_label(c.result.chunk, language)
            c.url = self._official_page(c.result.chunk)

    def _official_page(self, chunk) -> str | None:
        """The official page of the program a passage belongs to, when its record gives one (or, for the
        directory's passage on something the documents do not cover, the page its entry names)."""
        record = self.library.records.get(chunk.program) if chunk.program else None
        if record is None and chunk.kind == DIRECTORY_KIND:
            entry = self.library.directory.entries.get(chunk.section.split(" > ")[-1])
            return entry.url if entry else None
        return record.front_subsidy_detail_page_url if record else None

    def _begin(self, conv: Conversation, sheet: CheckSheet) -> Answer:
        conv.state.pop("check_offer", None)
        conv.state["diagnose"] = {"sheet": sheet.id, "scores": []}
        text, choices = question_text(sheet, 0)
        return Answer(f"{sheet.intro}\n\n{text}", [], refused=False, choices=choices, answer_kind="check")

    def _check_turn(self, question: str, conv: Conversation) -> Answer | None:
        """A turn that belongs to a check sheet (offer, question, result, or its follow-up); else None."""
        sheets = self.sheets
        running = conv.state.get("diagnose")
        if running and running["sheet"] in sheets:
            sheet = sheets[running["sheet"]]
            if is_stop(question):
                conv.state.pop("diagnose")
                return Answer(message("check.stopped", "ja"), [], refused=False, answer_kind="check")
            index = len(running["scores"])
            score = sheet.pick(index, question)
            if score is None:
                text, choices = question_text(sheet, index)
                return Answer(f"{message('check.number_please', 'ja')}\n\n{text}", [], refused=False, choices=choices, answer_kind="check")
            running["scores"].append(score)
            if len(running["scores"]) < len(sheet.questions):
                text, choices = question_text(sheet, len(running["scores"]))
                return Answer(text, [], refused=False, choices=choices, answer_kind="check")
            conv.state.pop("diagnose")
            total = sum(running["scores"])
            band = sheet.band_for(total)
            conv.state["diagnosis"] = {"sheet": sheet.id, "total": total, "max": sheet.max_score, "band": band.name}
            return self._check_result(sheet, total, head=True)
        offer = conv.state.pop("check_offer", None)
        if offer and offer["sheet"] in sheets:
            if is_yes(question):
                return self._begin(conv, sheets[offer["sheet"]])
            if is_no(question):
                return None  # answered below, as an ordinary question (the offer's question)
        done = conv.state.get("diagnosis")
        if done and done["sheet"] in sheets and len(question) <= 40 and _AFTER_CHECK.search(question):
            return self._check_result(sheets[done["sheet"]], done["total"], head=False)
        sheet = matching_sheet(question, sheets)
        if sheet and not (done and done["sheet"] == sheet.id):
            conv.state["check_offer"] = {"sheet": sheet.id, "question": question}
            choices = [{"n": 1, "label": message("check.offer.yes", "ja")}, {"n": 2, "label": message("check.offer.no", "ja")}]
            text = message("check.offer", "ja", title=sheet.title, count=len(sheet.questions))
            return Answer(text, [], refused=False, choices=choices, answer_kind="check")
        return None

    def _check_result(self, sheet: CheckSheet, total: int, head: bool) -> Answer:
        band = sheet.band_for(total)
        citations: list[Citation] = []
        support: list[str] = []
        for measure in band.measures:
            policy = self.retriever.policy_passage(measure)
            if policy is not None:
                citations.append(Citation(len(citations) + 1, policy))
                support.append("・" + message("check.support_measure", "ja", measure=measure.strip("（）()"), cite=f"[{len(citations)}]"))
        for guide in band.guides:
            first = self.retriever.guide_passage(guide)
            if first is not None:
                citations.append(Citation(len(citations) + 1, first))
                support.append("・" + message("check.support_program", "ja", program=first.chunk.program, cite=f"[{len(citations)}]"))
        lines = []
        if head:
            lines += [message("check.result_head", "ja", title=sheet.title, total=total, max=sheet.max_score, band=band.name), band.summary, ""]
        else:
            lines += [message("check.result_again", "ja", band=band.name), ""]
        lines += [message("check.advice_head", "ja")] + [f"・{a}" for a in band.advice]
        if support:
            lines += ["", message("check.support_head", "ja")] + support
        lines += ["", message("check.disclaimer", "ja")]
        return Answer("\n".join(lines), citations, refused=False, answer_kind="check")

    def _turn(
        self, question: str, conv: Conversation, on_delta: OnDelta | None = None, filters: Filters | None = None
    ) -> tuple[Answer, str]:
        """Understand, search, plan and render one message. Everything about the turn is local."""
        filters = filters or Filters()
        if guard.breaks_rules(question):
            return self._refuse(question, "rules"), question
        offered = conv.state.get("check_offer")
        checked = self._check_turn(question, conv)
        if checked is not None:
            return checked, question
        if offered and is_no(question):
            question = offered["question"]  # "no thanks": answer what they first asked
        tokens = self.tokenizer.tokens(question)
        matches = owners_own_terms(question, self.terms.matches(question, tokens))
        owner = merge_facts(conv.profile.get("owner", {}), owner_facts(question))
        if owner:
            conv.profile["owner"] = owner
            for key in ("employees",):  # kept where earlier turns stored it
                if key in owner:
                    conv.profile[key] = owner[key]
            if owner.get("industry_word"):
                conv.profile["industry"] = owner["industry_word"]
        library = self.library
        intent = understand(
            question, conv.state, names=library.names, tokens=tokens, matches=matches, owner=owner, directory=library.directory
        )
        if intent.act == "clarify":
            conv.state["clarify"] = {"query": question, "language": intent.language}
            return self._clarify(intent), question
        conv.state.pop("clarify", None)
        if intent.topic == "off_topic":
            return self._refuse(question, "out_of_scope", intent=intent, topic=intent.off_topic), question
        if intent.suggests:  # a problem the documents hold no support for, no program named: the directory's
            plan = suggestion_plan(intent, library)
            answer = self._answer(plan)
            self._remember(conv, intent, plan, answer, filters)
            return answer, intent.query
        if intent.not_covered:  # a program, law or desk the documents do not hold: name it, who runs it, where to ask
            plan = not_covered_plan(intent, library)
            answer = self._answer(plan)
            self._remember(conv, intent, plan, answer, filters)
            return answer, intent.query
        if intent.act == "follow_up" and conv.turns and self.llm is not None:
            history = [(t.question, t.answer.get("answer", "")) for t in conv.turns if not t.refused]
            condensed = condense(self.llm, history, mask(question), min(5.0, self.settings.llm_timeout), stream=self.settings.llm_stream)
            if condensed:
                intent.query = condensed
                intent.sections, intent.asks_detail = read_aspects(condensed)
        if intent.query == question:  # tokenized and matched above already
            query = self.retriever.prepare(intent.query, tokens=tokens, matches=matches)
        else:
            query = self.retriever.prepare(intent.query)
        query.sections, query.asks_detail = intent.sections, intent.asks_detail  # read once, by the understanding
        intent.words = query.all_tokens
        if intent.reuse:
            results = self.retriever.passages(intent.reuse)
        elif intent.act == "choose" and intent.direction:
            results = self.retriever.overview(query, intent.direction, self.settings.answer_passages + 1)
        else:
            results = self._find(intent, query, filters)
        # whether a company counts as an SME is the common rules' to say, whatever the search found
        decided_by_rules = intent.asks == "company_size"
        if not decided_by_rules and (not results or not (intent.reuse or intent.programs or self.in_domain(query, results))):
            if intent.slot and not intent.exclude:  # a detail the documents do not hold: say so, name the desk
                return self._answer(not_stated_plan(intent, library, guides=filters.kind != "policy")), intent.query
            return self._refuse(question, "no_more" if intent.exclude else "not_found", intent=intent), intent.query
        plan = plan_answer(intent, results, library, guides=filters.kind != "policy")
        if plan.refused:
            return self._refuse(question, plan.reason or "not_found", intent=intent), intent.query
        if intent.other_programs:
            note_others(plan, library)
        answer = None
        fallback = None
        if self.llm is not None:  # the model words the plan the core chose; checked, or not used
            try:
                answer = self._with_model(question, plan)
            except AgentError as exc:
                fallback = exc.reason
                log.warning("language model answer not used (%s); falling back to the extractive answer", exc)
        elif self.settings.llm:
            fallback = "unavailable"
        if answer is None:
            answer = self._answer(plan, fallback)
        answer.intent = intent.to_dict()
        self._remember(conv, intent, plan, answer, filters)
        return answer, intent.query

    @staticmethod
    def _remember(conv: Conversation, intent: Intent, plan: AnswerPlan, answer: Answer, filters: Filters) -> None:
        """What the next turn of this conversation leans on: the topic, the programs, the passages shown."""
        programs = [r.name for r in plan.programs]
        shown = [c.result.chunk.id for c in answer.citations]
        previous = conv.state.get("last") or {}
        conv.state["last"] = {
            # a follow-up keeps the topic it leans on, so the next one does not drift
            "query": previous.get("query", intent.query) if intent.act == "follow_up" and previous else intent.query,
            "direction": intent.direction or filters.direction or _direction_of(answer),
            "programs": programs or previous.get("programs", []) if intent.act == "follow_up" else programs,
            "shown_programs": programs + (previous.get("shown_programs", []) if intent.act == "more" else []),
            "asks": intent.asks,
            "lead": plan.lead,
            "language": intent.language,
            "shown": shown,
            "cited": shown + [i for i in intent.exclude if i not in shown],
        }

    def _answer(self, plan: AnswerPlan, fallback: str | None = None) -> Answer:
        """The plan, worded in its language; the contract's programs and intent beside the text."""
        text = render(plan)
        if fallback:
            # after the answer, as the degraded note: the first sentence stays the one that answers
            text = f"{text}\n{message('fallback.note', plan.intent.language)}"
        answer = Answer(
            text,
            [Citation(n, r) for n, r in enumerate(plan.citations, start=1)],
            refused=False,
            fallback=fallback,
            programs=[card(r, plan.intent.language) for r in plan.programs],
            stated=plan.stated,
            answer_kind=plan.answer_kind(),
        )
        answer.intent = plan.intent.to_dict()
        return answer

    def _degrade(self, answer: Answer, question: str) -> None:
        """An answer made without a part that is down says so, and claims nothing that part might have changed:
        'nothing in the documents answers this' becomes 'nothing found while part of the search is down'."""
        answer.degraded = True
        language = answer.intent.get("language") or language_of(question)
        if answer.refused and answer.reason in ("not_found", "no_more"):
            answer.answer = message("refusal.not_found.degraded", language)
        elif not answer.refused:  # after the answer: its first sentence stays the one that answers
            answer.answer = f"{answer.answer}\n{message('degraded.note', language)}"

    def _refuse(self, question: str, reason: str, intent: Intent | None = None, **values) -> Answer:
        language = intent.language if intent is not None else language_of(question)
        if reason == "out_of_scope":
            topic = values.get("topic")
            named = term(f"topic.{topic}", language) if topic else None
            about = message("refusal.out_of_scope.topic", language, topic=named) if named else message("refusal.out_of_scope.none", language)
            text = message("refusal.out_of_scope", language, topic=about)
        elif reason == "too_long":
            text = message("refusal.too_long", language, limit=f"{values.get('limit', 0):,}")
        else:
            text = message(f"refusal.{reason}", language)
        answer = Answer(text, [], refused=True, reason=reason, stated=reason not in ("not_found", "no_more"), answer_kind="refused")
        if intent is not None:
            answer.intent = intent.to_dict()
        return answer

    def _clarify(self, intent: Intent) -> Answer:
        english = intent.english
        choices = [
            {"n": i, "direction": marker, "label": label if not english else f"{marker} {en}"}
            for i, (marker, (label, en)) in enumerate(DIRECTIONS.items(), start=1)
        ]
        lines = [message("clarify.question", intent.language)]
        lines += [message("clarify.choice", intent.language, n=c["n"], marker="" if english else c["direction"], label=c["label"]).replace("  ", " ") for c in choices]
        answer = Answer("\n".join(lines), [], refused=False, choices=choices, answer_kind="clarify")
        answer.intent = intent.to_dict()
        return answer

    def _find(self, intent: Intent, query: Query, filters: Filters) -> list[SearchResult]:
        k = self.settings.top_k + ANSWER_SPARE
        shown = set(intent.exclude_programs) if intent.act == "more" else set()  # 「ほかには？」: not the programs shown again
        n = k + len(intent.exclude) + (MORE_SPARE if shown else 0)
        direction = filters.direction or intent.direction

        def fresh(found: list[SearchResult]) -> list[SearchResult]:
            return [r for r in found if r.chunk.id not in intent.exclude and r.chunk.program not in shown]

        results = self.retriever.search(intent.query, n, query=query, direction=direction, kind=filters.kind)
        if intent.direction and not filters.direction and not fresh(results):
            results = self.retriever.search(intent.query, n, query=query, kind=filters.kind)
        return fresh(results)[:k]

    def in_domain(self, query: Query, results: list[SearchResult]) -> bool:
        """Whether the passages found are evidence, not noise: a domain word or a strong BM25 match."""
        if query.matches:
            return True
        best_bm25 = max((r.raw.get("bm25", 0.0) for r in results), default=0.0)
        return best_bm25 / self.settings.own_word_weight >= MIN_BM25_WITHOUT_DOMAIN

    # -- status ----------------------------------------------------------------------------------

    def readiness(self) -> dict[str, str]:
        """Whether each part can serve now: `ok`, `down`, or `not used` (an index without vectors).

        The vector store and the database are asked side by side, each within its own timeout; a
        vector store in its back-off is reported down without a call."""
        index = self.index
        vectors = index.collection

        def database() -> str:
            try:
                self.store.ping()
                return "ok"
            except StoreUnavailable:
                return "down"

        with ThreadPoolExecutor(max_workers=1) as pool:
            db = pool.submit(database)
            vector_store = "not used" if vectors is None else ("ok" if vectors.check() else "down")
            return {
                "index": "ok" if index.size and index.bm25 is not None else "down",
                "vector_store": vector_store,
                "database": db.result(),
            }

    def health(self) -> dict:
        versions = {}
        for name in ("smebot", "chromadb", "bm25s", "sudachipy", "langchain"):
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = None
        manifest = self.index.manifest
        return {
            "status": "ok",
            "index": {
                "chunks": self.index.size,
                "files": len(manifest.get("files", {})),
                "generation": manifest.get("generation"),
                "embedding_model": manifest.get("settings", {}).get("embedding_model"),
                "created": manifest.get("created"),
            },
            "versions": versions,
        }
