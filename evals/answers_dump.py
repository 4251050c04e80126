"""Print questions and the advisor's full answers, for reading by hand.

    python -m evals.answers_dump --set evals/programs.jsonl [--n 20]

Only for sets the developers may read: held-out sets (a name with "heldout") are refused, since their
questions and answers must not be read while the answer code is tuned (see evals.run.held_out).
Goes through the Advisor's public API only (Advisor.ask); builds the index first if there is none.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .metrics import first_sentence, load_set
from .run import held_out


def dump(advisor, questions, out=sys.stdout) -> None:
    for i, q in enumerate(questions, start=1):
        answer = advisor.ask(q.question)
        flags = [q.kind, q.lang] + (["refused"] if answer.refused else [])
        print(f"=== {i}. {q.id} ({', '.join(flags)})", file=out)
        print(f"Q: {q.question}", file=out)
        if q.phrases:
            print(f"expected: {' / '.join(q.phrases)}" + (f" ({q.yes_no})" if q.yes_no else ""), file=out)
        print(f"first sentence: {first_sentence(answer.answer)}", file=out)
        print("A:", file=out)
        print(answer.answer, file=out)
        for c in answer.citations:
            ch = c.result.chunk
            print(f"  [{c.n}] {ch.section} — {ch.source}", file=out)
        print(file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.answers_dump", description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="set_file", type=Path, required=True, help="a question set (evals/*.jsonl)")
    parser.add_argument("--n", type=int, default=None, help="only the first N questions")
    args = parser.parse_args(argv)
    if held_out(args.set_file.stem):
        print(f"error: {args.set_file} is a held-out set: its questions and answers are not read by hand", file=sys.stderr)
        return 2
    if args.set_file.stem.startswith("followups"):
        print(f"error: {args.set_file} holds conversations, not questions", file=sys.stderr)
        return 2
    questions = load_set(args.set_file)
    if args.n is not None:
        questions = questions[: args.n]

    from bot.advisor import Advisor
    from bot.index import read_manifest
    from bot.settings import get_settings
    from bot.store import ConversationStore
    from ingest.pipeline import ingest

    settings = get_settings()
    if read_manifest(settings.index_dir) is None:
        ingest(settings)
    advisor = Advisor(settings, store=ConversationStore("sqlite://"))  # nothing is kept
    dump(advisor, questions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
