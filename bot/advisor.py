"""The advisor core: every surface (terminal, web, Slack, evals) calls `search()` and `ask()` here.

Models and the index are loaded once, when the Advisor is built.
"""

from __future__ import annotations

import logging
import re
from importlib import metadata
from typing import Any

from . import guard
from .agent import AgentError, LLMUnavailable, OnDelta, PolicyAgent, condense, make_chat_model
from .answer import add_asked_figure, compose, insert_before_next_step, is_english, refusal
from .checksheet import CheckSheet, is_no, is_stop, is_yes, load_sheets, matching_sheet, question_text
from .conversation import ASPECT_NAMES, DIRECTIONS, clarifying_question, covers, plan, update_profile
from .embedding import make_embedder
from .index import LoadedIndex, load_index, manifest_stamp, read_manifest
from .draft import Draft, addressee, renumber, split_questions
from .models import Answer, Citation, SearchResult
from .retrieval import Query, Retriever, measure_key
from .settings import Settings, get_settings, secret_values
from .store import Conversation, ConversationStore, Turn
from .terms import get_term_map
from .tokenize import get_tokenizer

log = logging.getLogger(__name__)
# after a finished check: "何から始めればいい?" is about its result
_AFTER_CHECK = re.compile(r"何から|まず|どうすれば|どうしたら|次は|始め|おすすめ|優先|what should|where do i start|first")

# Below this BM25 score (per unit of own-word weight, as the question's own words are repeated
# in the BM25 query), a question that names nothing of the SME domain has found nothing.
MIN_BM25_WITHOUT_DOMAIN = 3.0
ANSWER_SPARE = 3  # passages found beyond top_k that an extractive answer may use instead of general ones


class BadRequest(ValueError):
    """Input the advisor cannot take (empty, too long); the message says what is wrong."""


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
        self._filters: tuple[str | None, str | None] = (None, None)  # this turn's direction and kind
        self._secrets = secret_values()
        self.tokenizer = get_tokenizer()
        self.terms = get_term_map()
        self._manifest_stamp = manifest_stamp(self.settings.index_dir)
        self._use(index or load_index(self.settings))

    def _use(self, index: LoadedIndex) -> None:
        self.index = index
        model = index.manifest.get("settings", {}).get("embedding_model", self.settings.embedding_model)
        self.embedder = make_embedder(model, self.settings.cache_dir) if index.collection is not None else None
        self.retriever = Retriever(index, self.tokenizer, self.embedder, self.terms, self.settings)

    def refresh(self) -> bool:
        """Switch to a newer generation if an ingest has finished since; True if it did."""
        stamp = manifest_stamp(self.settings.index_dir)
        if stamp == self._manifest_stamp:  # checked on every turn: a stat, not a parse
            return False
        self._manifest_stamp = stamp
        manifest = read_manifest(self.settings.index_dir)
        if manifest is None or manifest.get("generation") == self.index.manifest.get("generation"):
            return False
        self._use(load_index(self.settings))
        return True

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
        self.refresh()
        return self.retriever.search(query, k, method=method, direction=direction, kind=kind)

    def ask(
        self,
        question: str,
        conversation_id: str | None = None,
        on_delta: OnDelta | None = None,
        *,
        direction: str | None = None,
        kind: str | None = None,
    ) -> Answer:
        """One turn: resolved against the conversation (created if new), answered, and stored.

        `on_delta` receives the answer's text as it is written (a model's tokens, or the whole
        extractive answer at once); the returned Answer is the checked, final one.
        """
        question = self.check_message(question)
        self.refresh()
        if direction is not None and direction not in DIRECTIONS:
            raise BadRequest("direction must be one of ①②③④⑤")
        if kind is not None and kind not in ("policy", "guide"):
            raise BadRequest("kind must be policy or guide")
        conv = self._conversation(conversation_id)
        self._filters = (direction, kind)
        try:
            answer, resolved = self._turn(question, conv, on_delta)
        finally:
            self._filters = (None, None)
        answer = self._record(conv, question, answer, resolved)
        if on_delta and answer.mode != "llm":
            on_delta(answer.answer)
        return answer

    def draft(self, inquiry: str) -> Draft:
        """A reply draft for help-desk staff: each question answered and cited, with checks."""
        inquiry = self.check_message(inquiry, "inquiry")
        self.refresh()
        questions = split_questions(inquiry)
        if not questions:
            raise BadRequest("no question found in the inquiry")
        parts: list[str] = []
        citations: list[Citation] = []
        checks = [
            "宛名・署名・日付を確認し、下書きの表示を消してから送信してください。",
            "助成額・対象・募集期間などは年度ごとに変わります。最新の募集要項を実施機関で確認してください。",
        ]
        for i, (q, with_context) in enumerate(questions, start=1):
            answer, _ = self._turn(with_context, Conversation(f"draft-{i}"))
            if answer.choices:
                body = (
                    "ご関心の分野（IT化・設備、販路開拓、経営の安定、災害やサイバー攻撃への備え、事業承継）を"
                    "お知らせいただければ、該当する支援を詳しくご案内いたします。"
                )
                checks.append(f"質問{i}は範囲が広いため、相談者に分野を確認してください。")
            elif answer.refused:
                body = "恐れ入りますが、この点は手元の資料では確認できませんでした。担当部署に確認のうえ、改めてご連絡いたします。"
                checks.append(f"質問{i}「{q[:30]}」は資料に該当がありません。担当部署に確認して回答を補ってください。")
            else:
                offset = len(citations)
                body = renumber(answer.answer, offset)
                for c in answer.citations:
                    citations.append(Citation(c.n + offset, c.result))
                checks.append(
                    f"質問{i}で挙げた施策（[{offset + 1}]〜[{len(citations)}]）が相談者の業種・規模に当てはまるか確認してください。"
                )
            parts.append(f"{i}. 「{q}」について\n{body}")
        sources = [f"[{c.n}] {c.result.chunk.section} — {c.result.chunk.source}" for c in citations]
        text = "\n\n".join(
            [
                "【返信案（下書き）】送信前に、末尾の確認事項をご確認ください。",
                f"{addressee(inquiry)}",
                "このたびはお問い合わせいただき、誠にありがとうございます。"
                "東京都の中小企業支援策について、ご質問の順にご案内いたします。",
                *parts,
                "ご不明な点がございましたら、お気軽にお問い合わせください。今後ともどうぞよろしくお願いいたします。",
                "出典：\n" + "\n".join(sources) if sources else "",
            ]
        ).strip()
        return Draft(text, citations, checks, [q for q, _ in questions])

    def conversation(self, conversation_id: str) -> Conversation | None:
        return self.store.get(conversation_id)

    @property
    def store(self) -> ConversationStore:
        if self._store is None:
            self._store = ConversationStore(self.settings.conversation_db)
        return self._store

    def _conversation(self, conversation_id: str | None) -> Conversation:
        if conversation_id:
            if len(conversation_id) > 64 or not conversation_id.isprintable():
                raise BadRequest("conversation_id must be at most 64 printable characters")
            found = self.store.get(conversation_id)
            if found is not None:
                return found
        return self.store.create(conversation_id)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "［非表示］")
        return text

    @property
    def llm(self) -> Any:
        """The configured chat model, built on first use; None without one (or if it cannot be built)."""
        if self._llm is None and self.settings.llm and self._llm_error is None:
            try:
                self._llm = make_chat_model(self.settings.llm)
            except LLMUnavailable as exc:
                self._llm_error = str(exc)
                log.warning("language model unavailable, answering without it: %s", exc)
        return self._llm

    def _with_model(
        self, question: str, conv: Conversation, results: list[SearchResult], english: bool, on_delta: OnDelta | None
    ) -> Answer:
        k = self.settings.top_k
        agent = PolicyAgent(
            self.llm,
            search=lambda q, d: self.retriever.search(q, k, direction=d if d in DIRECTIONS else None),
            max_steps=self.settings.llm_max_steps,
            time_limit=self.settings.llm_timeout,
            lookup=self.retriever.program_passages,
        )
        history = [(t.question, t.answer.get("answer", "")) for t in conv.turns if not t.refused]
        prompt = f"{question}\n(Answer in English.)" if english else question
        result = agent.run(prompt, results, history, on_delta)
        citations = [Citation(n, r) for n, r in enumerate(result.passages, start=1)]
        return Answer(result.text, citations, refused=False, mode="llm")

    # -- check sheets ------------------------------------------------------------------------------

    @property
    def sheets(self) -> dict[str, CheckSheet]:
        if self._sheets is None:
            self._sheets = load_sheets(self.settings.corpus_dir / "checksheets")
        return self._sheets

    def start_check(self, name: str, conversation_id: str | None = None) -> Answer:
        """Begin a check sheet in a conversation (created if new); the first question comes back."""
        sheet = self.sheets.get(name)
        if sheet is None:
            raise BadRequest(f"no check sheet {name!r}: one of {', '.join(sorted(self.sheets)) or '(none)'}")
        conv = self._conversation(conversation_id)
        answer = self._begin(conv, sheet)
        return self._record(conv, f"（{sheet.title}を開始）", answer, f"check:{sheet.id}")

    def _record(self, conv: Conversation, question: str, answer: Answer, resolved: str) -> Answer:
        answer.answer = self.redact(answer.answer)
        answer.conversation_id = conv.id
        answer.turn = len(conv.turns)
        answer.resolved_question = resolved
        self.store.add_turn(conv, Turn(answer.turn, question, resolved, answer.to_dict(), answer.refused))
        return answer

    def _begin(self, conv: Conversation, sheet: CheckSheet) -> Answer:
        conv.state.pop("check_offer", None)
        conv.state["diagnose"] = {"sheet": sheet.id, "scores": []}
        text, choices = question_text(sheet, 0)
        return Answer(f"{sheet.intro}\n\n{text}", [], refused=False, choices=choices)

    def _check_turn(self, question: str, conv: Conversation) -> Answer | None:
        """A turn that belongs to a check sheet (offer, question, result, or its follow-up); else None."""
        sheets = self.sheets
        running = conv.state.get("diagnose")
        if running and running["sheet"] in sheets:
            sheet = sheets[running["sheet"]]
            if is_stop(question):
                conv.state.pop("diagnose")
                return Answer("チェックを中止しました。ほかにお困りのことがあれば、お気軽にお尋ねください。", [], refused=False)
            index = len(running["scores"])
            score = sheet.pick(index, question)
            if score is None:
                text, choices = question_text(sheet, index)
                return Answer(f"恐れ入りますが、番号でお答えください。\n\n{text}", [], refused=False, choices=choices)
            running["scores"].append(score)
            if len(running["scores"]) < len(sheet.questions):
                text, choices = question_text(sheet, len(running["scores"]))
                return Answer(text, [], refused=False, choices=choices)
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
            choices = [{"n": 1, "label": "はい、チェックする"}, {"n": 2, "label": "いいえ、支援策を知りたい"}]
            text = (
                f"今の状態を、{sheet.title}（{len(sheet.questions)}問）で確かめてみませんか。"
                "結果に合わせて、使える支援策をご案内します。\n1. はい、チェックする\n2. いいえ、支援策を知りたい"
            )
            return Answer(text, [], refused=False, choices=choices)
        return None

    def _check_result(self, sheet: CheckSheet, total: int, head: bool) -> Answer:
        band = sheet.band_for(total)
        citations: list[Citation] = []
        support: list[str] = []
        for measure in band.measures:
            policy = self.retriever.policy_passage(measure)
            if policy is not None:
                citations.append(Citation(len(citations) + 1, policy))
                support.append(f"・{measure.strip('（）()')}：東京都の施策[{len(citations)}]")
        for guide in band.guides:
            first = self.retriever.guide_passage(guide)
            if first is not None:
                citations.append(Citation(len(citations) + 1, first))
                support.append(f"・「{first.chunk.program}」[{len(citations)}]")
        lines = []
        if head:
            lines += [f"【{sheet.title}の結果】{total}点／{sheet.max_score}点：{band.name}", band.summary, ""]
        else:
            lines += [f"先ほどのチェックの結果（{band.name}）から、次の順に進めることをおすすめします。", ""]
        lines += ["おすすめの進め方："] + [f"・{a}" for a in band.advice]
        if support:
            lines += ["", "使える支援："] + support
        lines += ["", "※ この結果は目安です。詳しくは相談窓口で専門家にご相談ください。"]
        return Answer("\n".join(lines), citations, refused=False)

    def _turn(self, question: str, conv: Conversation, on_delta: OnDelta | None = None) -> tuple[Answer, str]:
        if guard.breaks_rules(question):
            return refusal(question, "rules"), question
        offered = conv.state.get("check_offer")
        checked = self._check_turn(question, conv)
        if checked is not None:
            return checked, question
        if offered and is_no(question):
            question = offered["question"]  # "no thanks": answer what they first asked
        tokens = self.tokenizer.tokens(question)
        matches = self.terms.matches(question, tokens)
        update_profile(conv.profile, question)
        p = plan(question, conv, tokens, matches)
        english = p.english if p.english is not None else is_english(question)
        if p.kind == "clarify":
            text, choices = clarifying_question(question, english)
            conv.state["clarify"] = {"query": question}
            return Answer(text, [], refused=False, choices=choices), question
        conv.state.pop("clarify", None)
        if not p.reuse and not p.exclude:
            topic = guard.off_topic(question)
            # An everyday word does not outweigh two distinct SME measures named in the same
            # question (株価 in "事業承継の株式評価で株価の決め方を知りたい").
            if topic and len({m.entry.id for m in matches if m.entry.direction}) < 2:
                return refusal(question, "out_of_scope", topic=topic), question
        if p.follow_up and not p.reuse and conv.turns and self.llm is not None:
            history = [(t.question, t.answer.get("answer", "")) for t in conv.turns if not t.refused]
            condensed = condense(self.llm, history, question, min(5.0, self.settings.llm_timeout))
            if condensed:
                p.query = condensed
        if p.query == question:  # tokenized and matched above already
            query = self.retriever.prepare(p.query, tokens=tokens, matches=matches)
        else:
            query = self.retriever.prepare(p.query)
        if p.reuse:
            results = self.retriever.passages(p.reuse)
        elif p.overview and p.direction:
            results = self.retriever.overview(query, p.direction, self.settings.answer_passages + 1)
        else:
            results = self._find(p, query)
        if not results or not (p.reuse or self.in_domain(query, results)):
            if p.exclude:
                return refusal(question, "no_more"), p.query
            return refusal(question, "not_found"), p.query
        answer = None
        fallback = None
        if self.llm is not None:
            try:
                answer = self._with_model(question, conv, results[: self.settings.top_k], english, on_delta)
            except AgentError as exc:
                fallback = exc.reason
                log.warning("language model answer not used (%s); falling back to the extractive answer", exc)
        elif self.settings.llm:
            fallback = "unavailable"
        if answer is None:
            passages = len(results) if p.overview else self.settings.answer_passages
            answer = compose(question, query, results, self.tokenizer, passages, english=english)
            if fallback and not answer.refused:
                answer.fallback = fallback
                note = (
                    "(The language model could not answer this time, so this answer quotes the documents directly.)"
                    if english
                    else "（言語モデルで回答できなかったため、資料の該当箇所からお答えします。）"
                )
                answer.answer = f"{note}\n{answer.answer}"
        if answer.refused:
            return answer, p.query
        if answer.mode == "extractive" and p.aspect and not covers(p.aspect, [c.result.chunk.text for c in answer.citations]):
            ja, en = ASPECT_NAMES[p.aspect]
            note = (
                f"The documents I have do not state {en} for this. Here is what they do say:"
                if english
                else f"申し訳ありません。お手元の資料には、{ja}についての具体的な記載がありません。関連する内容は次のとおりです。"
            )
            body = answer.answer.split("\n\n", 1)[-1]  # the note replaces the direct "yes" line
            answer.answer = f"{note}\n\n{body}"
        if answer.mode == "extractive" and self._filters[1] != "policy":
            self._link_programs(answer, english, exclude=p.exclude)
            add_asked_figure(answer, query, self.tokenizer, english)
        shown = [c.result.chunk.id for c in answer.citations]
        previous = conv.state.get("last") or {}
        conv.state["last"] = {
            # a follow-up keeps the topic it leans on, so the next one does not drift
            "query": previous.get("query", p.query) if p.follow_up and previous else p.query,
            "direction": p.direction or answer.citations[0].result.chunk.direction,
            "shown": shown,
            "cited": shown + [i for i in p.exclude if i not in shown],
        }
        return answer, p.query

    def _link_programs(self, answer: Answer, english: bool, exclude: set[str] | None = None) -> None:
        """A policy measure names the programs that implement it; a program names its measure."""
        lines: list[str] = []
        cited = {c.result.chunk.id for c in answer.citations}
        exclude = exclude or set()

        def cite(result: SearchResult) -> int | None:
            if result.chunk.id in exclude:  # "ほかには": what was shown before is not shown again
                return None
            for c in answer.citations:
                if c.result.chunk.id == result.chunk.id:
                    return c.n
            answer.citations.append(Citation(len(answer.citations) + 1, result))
            cited.add(result.chunk.id)
            return len(answer.citations)

        done: set[str] = set()
        for c in list(answer.citations):
            ch = c.result.chunk
            if ch.program and ch.measure and measure_key(ch.measure) not in done:
                done.add(measure_key(ch.measure))
                policy = self.retriever.policy_passage(ch.measure)
                n = cite(policy) if policy is not None else None
                if n is not None:
                    lines.append(
                        f"「{ch.program}」 implements the policy measure 「{ch.measure}」 [{n}]."
                        if english
                        else f"「{ch.program}」は、東京都の施策「{ch.measure}」を具体化した事業です[{n}]。"
                    )
            elif not ch.program and "当面の施策展開" in ch.section:
                heading = ch.section.split(" > ")[-1]
                if measure_key(heading) in done:
                    continue
                done.add(measure_key(heading))
                guides = [g for g in self.retriever.program_guides(heading)[:3] if g.chunk.id not in exclude]
                if guides:
                    names = "".join(f"「{g.chunk.program}」[{cite(g)}]" for g in guides)
                    lines.append(
                        f"Programs that carry out 「{heading}」: {names}."
                        if english
                        else f"「{heading}」を具体化した事業として、{names}があります。"
                    )
        if lines:
            insert_before_next_step(answer, lines[:4])

    def _find(self, p, query: Query) -> list[SearchResult]:
        k = self.settings.top_k + ANSWER_SPARE  # a few spare passages: compose() may swap measures in
        n = k + len(p.exclude)
        chosen, kind = self._filters
        direction = chosen or p.direction
        results = self.retriever.search(p.query, n, query=query, direction=direction, kind=kind)
        if p.direction and not chosen and len([r for r in results if r.chunk.id not in p.exclude]) == 0:
            results = self.retriever.search(p.query, n, query=query, kind=kind)
        return [r for r in results if r.chunk.id not in p.exclude][:k]

    def in_domain(self, query: Query, results: list[SearchResult]) -> bool:
        """Whether the passages found are evidence, not noise: a domain word or a strong BM25 match."""
        if query.matches:
            return True
        best_bm25 = max((r.raw.get("bm25", 0.0) for r in results), default=0.0)
        return best_bm25 / self.settings.own_word_weight >= MIN_BM25_WITHOUT_DOMAIN

    # -- status ----------------------------------------------------------------------------------

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
