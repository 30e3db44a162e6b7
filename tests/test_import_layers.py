"""Imports follow the layers of docs/development.md: cli -> commands -> {guard, gates} ->
{lint, validate, checks, schema, extract, migrate} -> {pg, config, core}."""

from __future__ import annotations

import ast
import functools

import pytest

from tests.conftest import REPO_ROOT

# one worker parses the package once for all of them (`_imports` is cached per process)
pytestmark = pytest.mark.xdist_group("import_layers")

PACKAGE = REPO_ROOT / "dbsafe"


@functools.cache  # every test reads the same files: parse them once
def _imports() -> dict[str, frozenset[str]]:
    """module name -> every dbsafe module it imports (at any depth in the file)."""
    found: dict[str, frozenset[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "dbsafe":
                    names.update(f"dbsafe.{alias.name}" for alias in node.names)
                elif node.module.startswith("dbsafe."):
                    names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names if a.name.startswith("dbsafe."))
        found[module] = frozenset(names)
    return found


def _importers_of(prefix: str) -> set[str]:
    return {module for module, names in _imports().items()
            if not module.startswith(prefix)
            and any(n == prefix or n.startswith(prefix + ".") for n in names)}


def test_nothing_imports_the_cli() -> None:
    assert _importers_of("dbsafe.cli") <= {"dbsafe.__main__"}


def test_only_the_cli_imports_commands() -> None:
    assert _importers_of("dbsafe.commands") <= {"dbsafe.cli", "dbsafe"}


def test_guard_and_gates_are_imported_only_by_commands() -> None:
    assert _importers_of("dbsafe.guard") <= {"dbsafe.commands", "dbsafe.cli"}
    assert _importers_of("dbsafe.gates") <= {"dbsafe.commands", "dbsafe.cli"}


def test_core_imports_nothing_of_dbsafe() -> None:
    assert _imports()["dbsafe.core"] == set()


def test_report_and_pg_depend_only_on_core() -> None:
    imports = _imports()
    allowed = {"dbsafe.core", "dbsafe.__version__"}
    assert imports["dbsafe.report"] <= allowed
    for module, names in imports.items():
        if module.startswith("dbsafe.pg"):
            assert {n for n in names if not n.startswith("dbsafe.pg")} <= allowed, module


def test_lint_rules_import_no_other_rule() -> None:
    for module, names in _imports().items():
        if module.startswith("dbsafe.lint.rules."):
            assert not {n for n in names if n.startswith("dbsafe.lint.rules.")}, module
