"""The advisor's core, one module per step of a turn.

understand (intent.py) -> retrieve (bot.retrieval) -> plan (plan.py) -> render (render.py, catalogs/)

Program facts are data (programs.py), the common eligibility rules are data (rules.py), and
every sentence a user reads is in a catalog (bot/catalogs/ja.yaml, en.yaml), none in code.
"""
