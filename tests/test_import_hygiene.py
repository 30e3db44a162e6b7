"""Start-up stays cheap: the CLI and the code catalog import no SQL parser or database driver
(nor rich, which only a report painted for a terminal loads).

Each case runs in a fresh interpreter and walks `sys.modules`, so an import that leaks to
module level anywhere on the path fails here (not as a slow `dbsafe --help` nobody times).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sqlglot", "sqlalchemy", "alembic", "psycopg", "pglast", "rich")


def _heavy_modules_after(code: str) -> list[str]:
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.parametrize("code", [
    "import dbsafe.cli",
    "import dbsafe",
    "from dbsafe.commands import catalog; assert len(catalog()) > 50",
    "from dbsafe.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
])
def test_start_up_imports_no_parser_or_driver(code: str) -> None:
    assert _heavy_modules_after(code) == []


def test_listing_codes_imports_no_module_that_defines_them() -> None:
    # catalog() reads the generated dbsafe/_codes.py; the rule modules load when rules run.
    probe = ("import sys\nfrom dbsafe.commands import catalog\ncatalog()\n"
             "print(sorted(m for m in sys.modules if m.startswith(('dbsafe.lint', "
             "'dbsafe.guard', 'dbsafe.gates', 'dbsafe.validate', 'dbsafe.schema', "
             "'dbsafe.checks'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_probe_sees_a_heavy_import() -> None:
    # The test above can fail: the same probe after importing the resolver reports sqlglot.
    assert "sqlglot" in _heavy_modules_after("import dbsafe.validate.resolver")


def test_backup_and_restore_load_no_migration_runner() -> None:
    """Everything imported before `pg_restore` starts is time a restore spends besides it
    (issue 15): the backup and restore modules use one small module of `dbsafe.migrate`
    (its lock-wait reader), not the runner, the renderer or the migration reader."""
    probe = ("import sys\nimport dbsafe.guard.restore, dbsafe.guard.backup\n"
             "print(sorted(m for m in sys.modules if m.startswith(('dbsafe.migrate.', "
             "'dbsafe.extract.'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "['dbsafe.migrate.waits']"
