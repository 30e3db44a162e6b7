"""The check file format: headers validated at load time, errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe.checks import builtin_checks, load_checks, parse_check
from dbsafe.core import ConfigError, Severity

REPO_ROOT = Path(__file__).resolve().parents[2]

GOOD = """-- dbsafe:check DBS599 orphaned-invoices
-- severity: warning
-- since: 1.2.0
-- summary: Invoice without a customer.
-- help: Delete it.
--
-- ## Why
-- Because.
SELECT id::text AS subject, 'Invoice has no customer.' AS message FROM invoices
"""


def test_a_well_formed_check_loads() -> None:
    check = parse_check(GOOD, "orphaned_invoices.sql")
    assert (check.code, check.name, check.severity, check.since) == (
        "DBS599", "orphaned-invoices", Severity.WARNING, "1.2.0")
    assert check.description == "## Why\nBecause."
    assert check.info.summary == "Invoice without a customer."


@pytest.mark.parametrize(("text", "error"), [
    ("SELECT 1", "orphaned_invoices.sql:1: a check file must start with `-- dbsafe:check"),
    (GOOD.replace("DBS599", "DBS199"), ":1: check code 'DBS199' is not in the checks block"),
    (GOOD.replace("orphaned-invoices", "Orphaned_Invoices"), ":1: check name"),
    (GOOD.replace("orphaned-invoices", "other-name"), "must live in a file named other_name.sql"),
    (GOOD.replace("-- severity: warning", "-- severity: fatal"), ":2: unknown severity 'fatal'"),
    (GOOD.replace("-- since: 1.2.0", "-- owner: me"), ":3: unknown header key 'owner'"),
    (GOOD.replace("-- help: Delete it.\n", ""), ":5: header lacks help"),
    (GOOD.replace("-- help: Delete it.", "-- summary: again"), ":5: header key 'summary' given twice"),
    (GOOD.replace("-- help: Delete it.", "-- just words"), ":5: expected `-- key: value`"),
    (GOOD.replace("FROM invoices", "FROM invoices; DELETE FROM invoices"),
     ":9: the body must be exactly one SELECT statement"),
    (GOOD.replace("SELECT id::text AS subject, 'Invoice has no customer.' AS message FROM invoices",
                  "DELETE FROM invoices RETURNING id::text AS subject, 'x' AS message"),
     ":9: the body must be exactly one SELECT statement"),
    (GOOD.replace("FROM invoices", "FROM FROM"), ":9: the query does not parse"),
])
def test_a_malformed_check_is_an_error_naming_file_and_line(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_check(text, "orphaned_invoices.sql")
    assert error in str(excinfo.value)
    assert str(excinfo.value).startswith("orphaned_invoices.sql:")


def test_a_project_check_cannot_take_a_builtin_code(tmp_path: Path) -> None:
    (tmp_path / "orphaned_invoices.sql").write_text(GOOD.replace("DBS599", "DBS501"))
    with pytest.raises(ConfigError) as excinfo:
        load_checks([tmp_path])
    assert str(excinfo.value).endswith(
        "orphaned_invoices.sql:1: DBS501 is already used by dbsafe/checks/builtin/"
        "invalid_index.sql; project checks take codes from DBS560 upwards")


def test_a_missing_check_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_checks([tmp_path / "nope"])


def test_builtins_are_in_the_checks_block_with_docs() -> None:
    checks = builtin_checks()
    assert [c.code for c in checks] == [f"DBS5{n:02d}" for n in range(1, len(checks) + 1)]
    for check in checks:
        assert check.code < "DBS550", "DBS550 and up are not for built-in checks"
        assert "## Why" in check.description, check.path
        assert check.summary.endswith(".") and check.help.endswith(".")


def test_the_example_project_checks_load() -> None:
    checks = load_checks([REPO_ROOT / "checks"], builtins=True)
    project = [c for c in checks if not c.builtin]
    assert {c.code for c in project} == {"DBS560", "DBS561"}
    assert all(c.code >= "DBS560" for c in project)


def test_checks_import_nothing_above_them() -> None:
    # cli -> commands -> guard -> checks -> {schema, pg, config, core}: guard's postflight
    # calls checks, so checks must never import guard, commands or cli (nor lint/validate,
    # nor migrate: a check reads a database, it runs no migration).
    import ast

    forbidden = ("dbsafe.cli", "dbsafe.commands", "dbsafe.guard", "dbsafe.gates",
                 "dbsafe.lint", "dbsafe.validate", "dbsafe.migrate")
    offenders = []
    for path in sorted((REPO_ROOT / "dbsafe" / "checks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(forbidden)]
    assert not offenders, offenders
