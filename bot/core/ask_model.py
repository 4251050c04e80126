"""A second opinion on what a message asks, learned from examples (bot/data/ask_examples/*.jsonl).

The words in bot/data/asks.yaml decide what is asked when they are there; they cannot know every
way an owner puts a question. This model, a logistic regression over the message's character
n-grams, trained on examples of owners' messages labeled with what they ask, reads the rest:

- **veto**: the words found, not quite surely, a program's detail (eligibility, covered costs, a
  deadline...) that the model finds very unlikely (below VETO) while it reads no slot at all (support, overview): the slot
  is unsure, and the question is answered at the level the owner asked (the program, the support),
  not with a confident "the documents do not say" about something nobody asked;
- **reading**: the words found no slot, and the model is fairly sure of one (ADD or more; ADD_NAMED
  when a program is named): that slot is asked, with the model's probability as its confidence;
- **everyday talk**: a message that names no program and asks for no support, read as off topic
  (OFF_TOPIC or more; OFF_TOPIC_OVER_WORDS when terms of the domain are there: 「市場の帰りに寄れる
  ランチ」 and 「取引先の社長の誕生日プレゼント」 are set in the business and ask about lunch and a gift).

The examples are data: a new way of asking is a new line, never code. They were written in owners'
chat words, situation first, with hard negatives (a slot's word in the situation, another asked),
and never from the evaluation sets, so the owners' questions in evals/owners.jsonl measure it.
The model is trained once per process, on first use (about half a second with the import), and only read after that:
turns running at once share it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from ..text import normalize

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "data" / "ask_examples"
VETO = 0.1  # a slot the words found, below this probability (and the model reads no slot), is unsure
ADD = 0.45  # a slot the words did not find, at this probability or more, is read
ADD_NAMED = 0.35  # the same when a program is named: an owner naming one mostly asks one of its details
NOT_SLOTS = ("support", "overview", "off_topic")  # labels that ask no slot: the words' reading stands
OFF_TOPIC = 0.3  # a message with no word of SME support, read as everyday talk at this probability or more
OFF_TOPIC_OVER_WORDS = 0.5  # the same for one whose only words of the domain are its setting (取引先の社長の誕生日プレゼント)


@dataclass(frozen=True)
class Opinion:
    asks: str
    confidence: float
    changed: bool  # whether the model changed what the words read


class AskModel:
    """The trained model; `probabilities` maps each label to its probability for a message."""

    def __init__(self, texts: list[str], labels: list[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self._pipeline = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
            LogisticRegression(C=5.0, solver="saga", max_iter=200, tol=1e-3, random_state=0),  # ~0.3 s
        )
        self._pipeline.fit([normalize(t) for t in texts], labels)
        self.labels = tuple(self._pipeline.classes_)

    def probabilities(self, text: str) -> dict[str, float]:
        row = self._pipeline.predict_proba([normalize(text)])[0]
        return dict(zip(self.labels, (float(p) for p in row)))


def load_examples(directory: Path = EXAMPLES_DIR) -> tuple[list[str], list[str]]:
    """The examples' texts and labels; a line that is not an example is named, not skipped quietly."""
    texts: list[str] = []
    labels: list[str] = []
    for path in sorted(directory.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = str(row["text"]).strip(), str(row["slot"]).strip()
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path.name}:{n}: not an example ({exc})") from None
            if text and label:
                texts.append(text)
                labels.append(label)
    return texts, labels


_lock = threading.Lock()
_model: AskModel | None = None


def ask_model() -> AskModel:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = AskModel(*load_examples())
    return _model


def second_opinion(
    text: str, asks: str, confidence: float, *, found_words: bool, slots: tuple[str, ...],
    vetoable: frozenset[str] | set[str] = frozenset(), program_named: bool = False,
) -> Opinion:
    """What is asked, once the model has read `text` beside the words' reading (`asks`, `confidence`;
    `found_words`: whether any of the words was found; `vetoable`: the slots the model may doubt, those
    whose wrong answer is a confident "the documents do not say" about something nobody asked;
    `program_named`: a program is named or carried from the last turn)."""
    if asks not in slots and (found_words or asks != "support"):
        return Opinion(asks, confidence, False)  # a document question, or words the model has no say on
    probabilities = ask_model().probabilities(text)
    best = max(probabilities, key=probabilities.__getitem__)
    if asks in slots:
        doubted = confidence < 1.0 and asks in vetoable and asks in probabilities  # the words themselves were not sure
        if doubted and probabilities[asks] < VETO and best in NOT_SLOTS:
            return Opinion(asks, min(confidence, probabilities[asks]), True)
        return Opinion(asks, confidence, False)  # a slot the examples do not hold (lower_limit) stands
    if best in slots and best not in NOT_SLOTS and probabilities[best] >= (ADD_NAMED if program_named else ADD):
        return Opinion(str(best), probabilities[best], True)
    return Opinion(asks, confidence, False)


def reads_off_topic(text: str, *, domain_terms: bool = False) -> bool:
    """Whether the model reads `text` as everyday talk (the caller has found no program and no word asking
    for support in it; `domain_terms`: terms of the domain are there, as the message's setting or its question,
    so the model must be surer)."""
    return ask_model().probabilities(text).get("off_topic", 0.0) >= (OFF_TOPIC_OVER_WORDS if domain_terms else OFF_TOPIC)
