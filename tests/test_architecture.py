"""The map in the README, checked on every run: which stage may import which, and where SQL lives.

An AST walk over the source tree, so a newcomer who breaks the map learns it from a failing test
with the file and line, not from a review.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNER = REPO / "scanner"
FACES = (SCANNER / "cli.py", SCANNER / "hook" / "service.py")
# scanner.cli_progress: the CLI's own display helper (Rich bars over the ingest tracker), no logic
FACE_IMPORTS = {"scanner.api", "scanner.errors", "scanner.version", "scanner.cli_progress"}
SQL = re.compile(
    r"\b(select\b[\s\S]*\bfrom|insert\s+(or\s+\w+\s+)?into|create\s+(or\s+replace\s+)?(temp\s+)?(table|view|index)"
    r"|delete\s+from|update\s+\w+\s+set|drop\s+(table|view))\b",
    re.IGNORECASE,
)


def _py(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (absolute names), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.append((node.lineno, base))
    return found


def _project(name: str) -> bool:
    return name.split(".")[0] in {"scanner", "crawlers"}


def test_signals_import_only_their_own_types():
    """Parsers are pure: bytes in, Signal records out; they may not reach the store, the API or
    the network, only each other and the URL helpers."""
    bad = [
        f"{p.relative_to(REPO)}:{line} imports {name}"
        for p in _py(SCANNER / "signals")
        for line, name in _imports(p)
        if _project(name) and not name.startswith(("scanner.signals", "scanner.urls", "scanner.version"))
    ]
    assert not bad, "\n".join(bad)


def test_crawlers_never_import_the_store():
    bad = [
        f"{p.relative_to(REPO)}:{line} imports {name}"
        for p in _py(REPO / "crawlers")
        for line, name in _imports(p)
        if name.startswith(("scanner.store", "scanner.api", "duckdb"))
    ]
    assert not bad, "\n".join(bad)


def test_faces_import_only_the_api():
    """The CLI and the HTTP service are faces over scanner.api: audit, query and hook cannot
    disagree when only one library answers them."""
    bad = [
        f"{p.relative_to(REPO)}:{line} imports {name}"
        for p in FACES
        for line, name in _imports(p)
        if _project(name) and name not in FACE_IMPORTS
    ]
    assert not bad, "\n".join(bad)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the constants that are docstrings: prose may mention SQL words."""
    kinds = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds) and node.body and isinstance(node.body[0], ast.Expr)
    }


def test_only_the_store_speaks_sql():
    bad = []
    for p in [*_py(SCANNER), *_py(REPO / "crawlers")]:
        if (SCANNER / "store") in p.parents:
            continue
        tree = ast.parse(p.read_text(encoding="utf-8"))
        prose = _docstrings(tree)
        bad += [
            f"{p.relative_to(REPO)}:{node.lineno}: {node.value.strip()[:60]!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in prose and SQL.search(node.value)
        ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module", ["scanner.signals.robots", "scanner.signals", "crawlers.http"])
def test_importing_a_parser_imports_a_parser(module):
    """A fresh interpreter: the module must load neither DuckDB nor Arrow nor NumPy."""
    code = f"import sys, {module}; print(sorted(m for m in ('duckdb', 'pyarrow', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]", f"{module} loads {out.stdout.strip()}"
