"""Imports run one way: web -> bpm_livechat -> script_runtime (DESIGN.md, 'Layout')."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("script_runtime", "bpm_livechat", "web")
STDLIB = frozenset(sys.stdlib_module_names)


def imported_modules(
    source: str, module: str, is_package: bool = False
) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of every import in `source`, relative ones resolved.

    Imports inside functions count, and so do `importlib.import_module("x")` and
    `__import__("x")` with a literal name.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: max(len(package) - node.level + 1, 0)] if node.level else []
            for alias in node.names:  # the imported name may itself be a module
                parts = [*base, *([node.module] if node.module else []), alias.name]
                yield node.lineno, ".".join(parts)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            yield node.lineno, node.args[0].value


def wrong_arrow(importer: str, imported: str) -> str | None:
    """Why `importer` (a module of one of PACKAGES) may not import `imported`, or None."""
    own = importer.split(".")[0]
    top = imported.split(".")[0]
    if own == "script_runtime":
        if top in STDLIB or top in {"script_runtime", "RestrictedPython"}:
            return None
        return "script_runtime imports only the standard library and RestrictedPython"
    if own == "bpm_livechat" and top in {"flask", "werkzeug", "web"}:
        return "bpm_livechat never imports Flask, Werkzeug or web"
    return None


def _modules() -> Iterator[tuple[str, Path, bool]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            yield ".".join(parts[:-1] if is_package else parts), path, is_package


def test_every_package_exists() -> None:
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").is_file(), package


def test_imports_point_one_way() -> None:
    problems = []
    checked = 0
    for module, path, is_package in _modules():
        checked += 1
        source = path.read_text(encoding="utf-8")
        for line, imported in imported_modules(source, module, is_package):
            reason = wrong_arrow(module, imported)
            if reason:
                problems.append(f"{path.relative_to(ROOT)}:{line}: imports {imported}: {reason}")
    assert checked > 20
    assert problems == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "script_runtime.worker",
            "import json, resource\nfrom RestrictedPython import compile_restricted",
            [],
        ),
        ("script_runtime.worker", "from . import policy\nfrom .guards import x", []),
        ("script_runtime.worker", "import sqlalchemy", ["sqlalchemy"]),
        (
            "script_runtime.worker",
            "from bpm_livechat.models import User",
            ["bpm_livechat.models.User"],
        ),
        ("script_runtime.worker", "def f():\n    import requests", ["requests"]),
        ("script_runtime.worker", "import importlib\nimportlib.import_module('os.path')", []),
        ("script_runtime.worker", "__import__('numpy')", ["numpy"]),
        ("script_runtime.worker", "from .. import web", ["web"]),
        ("bpm_livechat.sessions", "from flask import g", ["flask.g"]),
        ("bpm_livechat.sessions", "import werkzeug.exceptions", ["werkzeug.exceptions"]),
        ("bpm_livechat.cli.common", "from ...web import app", ["web.app"]),
        ("bpm_livechat.sessions", "from web.views import x", ["web.views.x"]),
        ("bpm_livechat.sessions", "import sqlalchemy\nfrom script_runtime import run", []),
        (
            "web.app",
            "from flask import Flask\nfrom bpm_livechat import db\nimport script_runtime",
            [],
        ),
    ],
)
def test_the_checker_catches_wrong_arrows(module: str, source: str, expected: list[str]) -> None:
    flagged = [
        name for _line, name in imported_modules(source, module) if wrong_arrow(module, name)
    ]
    assert flagged == expected


def test_relative_imports_in_a_package_init_resolve_to_the_package() -> None:
    found = [
        name for _line, name in imported_modules("from . import policy", "script_runtime", True)
    ]
    assert found == ["script_runtime.policy"]
    assert wrong_arrow("script_runtime", "script_runtime.policy") is None
