"""`dbsafe.validate` is a package: resolver, run loop and PostgreSQL confirmation."""

from __future__ import annotations

import importlib


def test_validate_is_a_package_of_resolver_scan_and_confirm() -> None:
    package = importlib.import_module("dbsafe.validate")
    assert hasattr(package, "__path__")
    for name, entry in (("resolver", "resolve"), ("scan", "scan"), ("confirm", "confirm")):
        module = importlib.import_module(f"dbsafe.validate.{name}")
        assert callable(getattr(module, entry))
    # The resolver's public names stay importable from the package (lint's DBS211 uses them).
    assert package.resolve is importlib.import_module("dbsafe.validate.resolver").resolve


def test_validate_imports_only_what_sits_below_it() -> None:
    # cli -> commands -> {guard, gates} -> {lint, validate, ...} -> {pg, config, core}:
    # validate may use extract and schema, never a command layer or a sibling domain.
    import ast
    from pathlib import Path

    package = Path(importlib.import_module("dbsafe.validate").__file__).parent
    forbidden = ("dbsafe.cli", "dbsafe.commands", "dbsafe.lint", "dbsafe.guard",
                 "dbsafe.gates", "dbsafe.checks", "dbsafe.migrate")
    offenders = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(forbidden)]
    assert not offenders, offenders
