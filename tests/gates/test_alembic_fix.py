"""The `op.*` fix verify-reversible prints, pasted into downgrade(), makes the revision
reversible: proven by running verify-reversible again on real PostgreSQL.

`envs/leaky` has downgrades that forget an index, a column default, a check constraint, a
function, a trigger, an enum value, a materialized view's index and a grant, and one that
is `pass`; `envs/undo_by_alembic_ops` has a downgrade that undoes too much (so the fix
creates: a table, columns of many types, constraints, indexes, a type change, NOT NULL) and
one that forgets a view and a policy.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import Report

pytestmark = pytest.mark.db

ENVS = Path(__file__).parent / "envs"
FIX = "Fix (in downgrade())"


def _verify(env: Path, database_url: str) -> Report:
    settings = load_settings(env, {"alembic-config": env / "alembic.ini", "cache": False,
                                   "database-url": database_url}, environ={})
    return commands.verify_reversible(settings)


def _fixes(report: Report) -> dict[str, list[str]]:
    """revision -> the `op.*` fixes of its findings, in report order."""
    found: dict[str, list[str]] = {}
    for finding in report.findings:
        context = dict(finding.context)
        if FIX in context:
            found.setdefault(finding.subject or "", []).append(context[FIX])
    return found


def _paste(env: Path, fixes: dict[str, list[str]]) -> None:
    """Append each revision's fixes to the end of its downgrade(), as a user would."""
    for revision, blocks in fixes.items():
        path = next((env / "migrations" / "versions").glob(f"{revision}_*.py"))
        source = path.read_text(encoding="utf-8")
        function = next(node for node in ast.parse(source).body
                        if isinstance(node, ast.FunctionDef) and node.name == "downgrade")
        assert function.end_lineno is not None
        lines = source.splitlines()
        pasted = ["    " + line if line else line for block in blocks
                  for line in block.splitlines()]
        lines[function.end_lineno:function.end_lineno] = pasted
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _copy(name: str, tmp_path: Path) -> Path:
    env = tmp_path / name
    shutil.copytree(ENVS / name, env, ignore=shutil.ignore_patterns("__pycache__"))
    return env


def test_pasting_the_fixes_into_the_leaky_downgrades_leaves_no_leftover(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    env = _copy("leaky", tmp_path)
    before = _verify(env, database_url)
    fixes = _fixes(before)
    assert set(fixes) == {"0002", "0003", "0004", "0005", "0006", "0008"}
    assert "op.drop_index('ix_a', table_name='appointments', postgresql_concurrently=True)" \
        in fixes["0002"][0]
    assert fixes["0003"] == ["op.alter_column('appointments', 'status', server_default=None)",
                             "op.drop_constraint('ck_status', 'appointments')"]
    assert fixes["0008"] == ["op.drop_table('reminders')"]

    _paste(env, fixes)
    after = _verify(env, more_databases())

    # what is left: the data migration's note, the raising downgrade, the column order note
    assert [(f.code, f.subject) for f in after.findings] == \
        [("DBS416", "0007"), ("DBS412", "0009"), ("DBS414", "0010")]


def test_pasting_the_fixes_of_a_downgrade_that_undoes_too_much_restores_the_schema(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    env = _copy("undo_by_alembic_ops", tmp_path)
    before = _verify(env, database_url)
    fixes = _fixes(before)
    assert set(fixes) == {"0002", "0003"}
    pasted = "\n".join(fixes["0002"])
    for expected in (
        "import sqlalchemy as sa",
        "op.add_column('items', sa.Column('payload', postgresql.JSONB()))",
        "op.add_column('items', sa.Column('ref', postgresql.UUID()))",
        "op.add_column('items', sa.Column('born', sa.Date()))",
        "op.add_column('items', sa.Column('tags', postgresql.ARRAY(sa.Text())))",
        "op.alter_column('items', 'price', server_default=sa.text('0'))",
        "op.alter_column('items', 'qty', type_=sa.Integer(), postgresql_using='qty::integer')",
        "op.alter_column('items', 'big', nullable=False)",
        "op.create_check_constraint('ck_price', 'items', 'price >= (0)::numeric', "
        "postgresql_not_valid=True)",
        "op.create_foreign_key('fk_parent', 'items', 'parent', ['parent_id'], ['id'], "
        "ondelete='CASCADE', postgresql_not_valid=True)",
        "op.create_index('ix_items_parent', 'items', ['parent_id'], "
        "postgresql_concurrently=True)",
        "op.create_index('ux_items_active_code', 'items', ['code'], unique=True, "
        "postgresql_where=sa.text('active'), postgresql_concurrently=True)",
        "op.create_index('ix_items_lower_note', 'items', [sa.text('lower(note)')], "
        "postgresql_concurrently=True)",
        "    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),",
        "    sa.PrimaryKeyConstraint('id', name='tags_pkey'),",
    ):
        assert expected in pasted, expected
    assert "op.execute(" in "\n".join(fixes["0003"])  # the view and the policy

    _paste(env, fixes)
    after = _verify(env, more_databases())

    # only the note PostgreSQL cannot help: re-added columns come last
    assert [(f.code, f.subject) for f in after.findings] == [("DBS414", "0002")]
