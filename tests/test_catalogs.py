"""The message catalogs: a key built at run time from another (a program line that leads a support
answer: program.X -> direct.support_X) exists in both languages."""

from __future__ import annotations

import pytest

from bot.core.render import catalog


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_program_line_can_lead_a_support_answer(language):
    messages = catalog(language)["messages"]
    program_kinds = {k.split(".", 1)[1] for k in messages if k.startswith("program.")}
    missing = sorted(f"direct.support_{kind}" for kind in program_kinds if f"direct.support_{kind}" not in messages)
    assert not missing, missing


def test_both_languages_have_the_same_keys():
    ja, en = set(catalog("ja")["messages"]), set(catalog("en")["messages"])
    assert ja == en, sorted(ja ^ en)
