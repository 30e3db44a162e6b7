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
