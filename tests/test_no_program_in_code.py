"""Adding a program is data (a guide, a jGrants record, a Q&A file), never code: no program's name is a
string in Python or JavaScript (comments and docstrings may use one as an example)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import frontmatter

ROOT = Path(__file__).resolve().parents[1]
CODE = [*sorted((ROOT / "bot").rglob("*.py")), *sorted((ROOT / "ingest").rglob("*.py"))]
SCRIPTS = sorted((ROOT / "bot" / "static").rglob("*.js"))


def program_names() -> set[str]:
    """Every guide's program name and the distinctive parts of it (6 characters or more)."""
    names: set[str] = set()
    for path in (ROOT / "corpus" / "guides").glob("*.md"):
        program = str(frontmatter.load(path).metadata["program"])
        names.add(program)
        names.update(p for p in re.split(r"[・（）()、]", program) if len(p) >= 6)
    return names


def string_literals(path: Path) -> list[str]:
    """The strings of a Python file's code: not its docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.add(id(first.value))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_no_program_name_is_a_string_in_python():
    names = program_names()
    assert len(names) >= 35
    found = {f"{path.relative_to(ROOT)}: {name}" for path in CODE for s in string_literals(path) for name in names if name in s}
    assert not found, sorted(found)


def test_no_program_name_is_a_string_in_javascript():
    names = program_names()
    found = []
    for path in SCRIPTS:
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", path.read_text(encoding="utf-8"), flags=re.S)
        found += [f"{path.name}: {name}" for name in names if name in code]
    assert not found, found
