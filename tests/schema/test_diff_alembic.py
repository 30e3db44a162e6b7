"""`dbsafe diff --alembic`: the DDL of `--sql` as `op.*` lines for upgrade(), between two
snapshot files (no database needed)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dbsafe.cli import main
from dbsafe.schema.model import Column, Index, Relation, SchemaSnapshot

ITEMS = Relation("public", "items", "table", columns=(Column("id", "bigint", 1, nullable=False),))
WITH_NOTE = Relation(
    "public", "items", "table",
    columns=(*ITEMS.columns, Column("note", "text", 2)),
    indexes=(Index("ix_items_note",
                   "CREATE INDEX ix_items_note ON public.items USING btree (note)", ("note",)),))
VIEW = Relation("public", "notes", "view", columns=(Column("note", "text", 1),),
                definition=" SELECT note\n   FROM items;", depends_on=("public.items",))


def _files(tmp_path: Path) -> tuple[str, str]:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(SchemaSnapshot(schemas=("public",), relations=(ITEMS,)).to_json())
    b.write_text(SchemaSnapshot(schemas=("public",), relations=(WITH_NOTE, VIEW)).to_json())
    return str(a), str(b)


def test_alembic_prints_operations_with_hazards_as_comments_and_exits_1(tmp_path: Path) -> None:
    a, b = _files(tmp_path)
    result = CliRunner().invoke(main, ["diff", a, b, "--alembic"], catch_exceptions=False)

    assert result.exit_code == 1, result.output
    assert result.output == """import sqlalchemy as sa
op.add_column('items', sa.Column('note', sa.Text()))
with op.get_context().autocommit_block():
    # hazard long-scan: Builds `ix_items_note`; writes continue.
    op.create_index('ix_items_note', 'items', ['note'], postgresql_concurrently=True)
op.execute(
    'CREATE VIEW public.notes AS\\n'
    ' SELECT note\\n'
    '   FROM items'
)
"""
    same = CliRunner().invoke(main, ["diff", a, a, "--alembic"], catch_exceptions=False)
    assert (same.exit_code, same.output) == (0, "")


def test_sql_and_alembic_together_are_a_usage_error(tmp_path: Path) -> None:
    a, b = _files(tmp_path)
    result = CliRunner().invoke(main, ["diff", a, b, "--alembic", "--sql"])

    assert result.exit_code == 2
    assert "--sql and --alembic" in result.output
    assert "Traceback" not in result.output
