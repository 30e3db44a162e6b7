"""Planned DDL as alembic operations (`dbsafe.schema.alembic_ops`): idiomatic `op.*` calls
where alembic renders the very same statement, `op.execute` of the exact SQL otherwise.

Pure: alembic renders offline, nothing connects. tests/gates/test_alembic_fix.py pastes the
lines into real downgrades and runs them on PostgreSQL.
"""

from __future__ import annotations

import pytest

from dbsafe.schema.alembic_ops import _Checker, _map, alembic_calls, downgrade_lines
from dbsafe.schema.ddl import Statement

MAPPED = [
    ("DROP INDEX CONCURRENTLY public.ix_a", "public.appointments.ix_a",
     "op.drop_index('ix_a', table_name='appointments', postgresql_concurrently=True)"),
    ("DROP INDEX sales.ix_a", "", "op.drop_index('ix_a', schema='sales')"),
    ("DROP TABLE public.reminders", "", "op.drop_table('reminders')"),
    ("CREATE UNIQUE INDEX CONCURRENTLY ux ON public.items USING btree (code) WHERE active", "",
     "op.create_index('ux', 'items', ['code'], unique=True, postgresql_where=sa.text('active'),"
     " postgresql_concurrently=True)"),
    ("CREATE INDEX ix ON public.items USING btree (lower(note), code DESC) INCLUDE (id)", "",
     "op.create_index('ix', 'items', [sa.text('lower(note)'), sa.text('code DESC')], "
     "postgresql_include=['id'])"),
    ("CREATE INDEX ix ON public.items USING gin (payload jsonb_path_ops)", "",
     "op.create_index('ix', 'items', [sa.text('payload jsonb_path_ops')], "
     "postgresql_using='gin')"),
    ("CREATE INDEX ix ON public.items USING btree ((price * qty))", "",
     "op.create_index('ix', 'items', [sa.text('(price * qty)')])"),
    ("ALTER TABLE public.items ADD COLUMN price numeric(10,2) DEFAULT 0 NOT NULL", "",
     "op.add_column('items', sa.Column('price', sa.Numeric(10, 2), "
     "server_default=sa.text('0'), nullable=False))"),
    ("ALTER TABLE public.items ADD COLUMN at timestamp with time zone DEFAULT now()", "",
     "op.add_column('items', sa.Column('at', sa.DateTime(timezone=True), "
     "server_default=sa.text('now()')))"),
    ("ALTER TABLE public.items ADD COLUMN at timestamp(3) without time zone", "",
     "op.add_column('items', sa.Column('at', postgresql.TIMESTAMP(precision=3)))"),
    ("ALTER TABLE public.items ADD COLUMN code character varying(20)", "",
     "op.add_column('items', sa.Column('code', sa.String(20)))"),
    ("ALTER TABLE public.items ADD COLUMN n bigint", "",
     "op.add_column('items', sa.Column('n', sa.BigInteger()))"),
    ("ALTER TABLE public.items ADD COLUMN ok boolean", "",
     "op.add_column('items', sa.Column('ok', sa.Boolean()))"),
    ("ALTER TABLE public.items ADD COLUMN j jsonb", "",
     "op.add_column('items', sa.Column('j', postgresql.JSONB()))"),
    ("ALTER TABLE public.items ADD COLUMN ref uuid", "",
     "op.add_column('items', sa.Column('ref', postgresql.UUID()))"),
    ("ALTER TABLE public.items ADD COLUMN tags text[]", "",
     "op.add_column('items', sa.Column('tags', postgresql.ARRAY(sa.Text())))"),
    ("ALTER TABLE sales.items DROP COLUMN note", "",
     "op.drop_column('items', 'note', schema='sales')"),
    ("ALTER TABLE public.items ALTER COLUMN status SET DEFAULT 'booked'::text", "",
     "op.alter_column('items', 'status', server_default=sa.text(\"'booked'::text\"))"),
    ("ALTER TABLE public.items ALTER COLUMN status DROP DEFAULT", "",
     "op.alter_column('items', 'status', server_default=None)"),
    ("ALTER TABLE public.items ALTER COLUMN big DROP NOT NULL", "",
     "op.alter_column('items', 'big', nullable=True)"),
    ("ALTER TABLE public.items ALTER COLUMN big SET NOT NULL", "",
     "op.alter_column('items', 'big', nullable=False)"),
    ("ALTER TABLE public.items ALTER COLUMN qty TYPE integer USING qty::integer", "",
     "op.alter_column('items', 'qty', type_=sa.Integer(), postgresql_using='qty::integer')"),
    ("ALTER TABLE public.items ADD CONSTRAINT ck CHECK ((status = ANY "
     "(ARRAY['booked'::text, 'done'::text]))) NOT VALID", "",
     "op.create_check_constraint('ck', 'items', \"status = ANY (ARRAY['booked'::text, "
     "'done'::text])\", postgresql_not_valid=True)"),
    ("ALTER TABLE public.items ADD CONSTRAINT fk FOREIGN KEY (parent_id) REFERENCES "
     "sales.parent(id) ON UPDATE RESTRICT ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED", "",
     "op.create_foreign_key('fk', 'items', 'parent', ['parent_id'], ['id'], "
     "onupdate='RESTRICT', ondelete='SET NULL', deferrable=True, initially='DEFERRED', "
     "referent_schema='sales')"),
    ("ALTER TABLE public.items ADD CONSTRAINT uq UNIQUE (code, parent_id)", "",
     "op.create_unique_constraint('uq', 'items', ['code', 'parent_id'])"),
    ("ALTER TABLE public.items ADD CONSTRAINT items_pkey PRIMARY KEY (id)", "",
     "op.create_primary_key('items_pkey', 'items', ['id'])"),
    ("ALTER TABLE public.items DROP CONSTRAINT ck_status", "",
     "op.drop_constraint('ck_status', 'items')"),
    ("CREATE TABLE public.tags (\n    id integer NOT NULL,\n    name text DEFAULT ''::text "
     "NOT NULL,\n    CONSTRAINT tags_pkey PRIMARY KEY (id),\n    CONSTRAINT ck_name CHECK "
     "((length(name) < 50))\n)", "",
     "op.create_table(\n    'tags',\n"
     "    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),\n"
     "    sa.Column('name', sa.Text(), server_default=sa.text(\"''::text\"), nullable=False),\n"
     "    sa.PrimaryKeyConstraint('id', name='tags_pkey'),\n"
     "    sa.CheckConstraint('length(name) < 50', name='ck_name'),\n)"),
]


@pytest.mark.parametrize(("sql", "subject", "line"), MAPPED, ids=[m[0][:50] for m in MAPPED])
def test_a_statement_alembic_renders_identically_becomes_its_op_call(
        sql: str, subject: str, line: str) -> None:
    [call] = alembic_calls([Statement(sql, subject=subject)])

    assert (call.text, call.mapped) == (line, True)


EXECUTED = [
    # a type of the application's own: no SQLAlchemy type is certain to render it
    "ALTER TABLE public.items ADD COLUMN mood public.mood",
    "ALTER TABLE public.items ALTER COLUMN c TYPE public.mood USING c::public.mood",
    # clauses alembic has no argument for
    "ALTER TABLE public.items ADD CONSTRAINT uq UNIQUE USING INDEX uq",
    "ALTER TABLE public.items ADD CONSTRAINT ck CHECK ((price > 0)) NO INHERIT",
    "ALTER TABLE public.items VALIDATE CONSTRAINT ck",
    "ALTER TABLE ONLY public.items DROP CONSTRAINT ck",
    "ALTER TABLE public.items ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY",
    "ALTER TABLE public.items ADD COLUMN name text COLLATE \"C\"",
    "ALTER TABLE public.items DROP COLUMN note CASCADE",
    "CREATE INDEX ix ON ONLY public.items USING btree (code)",
    "CREATE INDEX ix ON public.items USING btree (code) WITH (fillfactor='70')",
    "DROP TABLE public.a, public.b",
    "CREATE TABLE public.c (id integer) PARTITION BY RANGE (id)",
    "CREATE UNLOGGED TABLE public.c (id integer)",
    # what has no alembic operation at all
    "CREATE VIEW public.v AS SELECT 1 AS one",
    "DROP FUNCTION public.touch()",
    "DROP TRIGGER tr_touch ON public.appointments",
    "CREATE POLICY p ON public.items USING ((price >= (0)::numeric))",
    "GRANT SELECT ON TABLE public.items TO PUBLIC",
    "ALTER TYPE public.mood ADD VALUE 'tense'",
    "COMMENT ON TABLE public.items IS 'x'",
]


@pytest.mark.parametrize("sql", EXECUTED, ids=[s[:50] for s in EXECUTED])
def test_anything_else_is_executed_as_the_exact_sql(sql: str) -> None:
    [call] = alembic_calls([Statement(sql)])

    assert (call.text, call.mapped) == (f"op.execute({sql!r})", False)


def test_a_call_alembic_would_render_differently_is_never_kept() -> None:
    # Without autoincrement=False SQLAlchemy turns an integer primary key into SERIAL: a
    # different table. The check catches it, so such a line can never reach the user.
    sql = ("CREATE TABLE public.t (\n    id integer NOT NULL,\n"
           "    CONSTRAINT t_pkey PRIMARY KEY (id)\n)")
    checker = _Checker("public")
    call = _map(sql, "", "public")
    assert call is not None and checker.same(call, sql)
    serial = call.text.replace("autoincrement=False, ", "")
    assert not checker.same(type(call)(serial), sql)
    # a different type, default or name is not the same statement either
    for wrong in ("op.add_column('t', sa.Column('n', sa.Integer()))",
                  "op.add_column('t', sa.Column('n', sa.BigInteger(), server_default='0'))",
                  "op.add_column('u', sa.Column('n', sa.BigInteger()))"):
        assert not checker.same(type(call)(wrong), "ALTER TABLE public.t ADD COLUMN n bigint")


def test_the_schema_is_named_unless_it_is_the_first_on_the_search_path() -> None:
    statements = [Statement("ALTER TABLE app.items DROP COLUMN note"),
                  Statement("ALTER TABLE public.items DROP COLUMN note")]

    assert [c.text for c in alembic_calls(statements, search_path=("app", "public"))] == [
        "op.drop_column('items', 'note')",
        "op.drop_column('items', 'note', schema='public')",
    ]


def test_lines_bring_their_imports_and_run_concurrent_statements_outside_the_transaction(
        ) -> None:
    text = downgrade_lines([
        Statement("ALTER TABLE public.items ADD COLUMN j jsonb"),
        Statement("DROP INDEX CONCURRENTLY public.ix_a", transactional=False),
        Statement("CREATE INDEX CONCURRENTLY ix_b ON public.items USING btree (code)",
                  transactional=False),
        Statement("CREATE FUNCTION public.f() RETURNS integer\n LANGUAGE sql\nAS $$select 1$$"),
    ])

    assert text == '''import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
op.add_column('items', sa.Column('j', postgresql.JSONB()))
with op.get_context().autocommit_block():
    op.drop_index('ix_a', postgresql_concurrently=True)
    op.create_index('ix_b', 'items', ['code'], postgresql_concurrently=True)
op.execute(
    'CREATE FUNCTION public.f() RETURNS integer\\n'
    ' LANGUAGE sql\\n'
    'AS $$select 1$$'
)'''
    # pasted (indented) into downgrade(), the SQL is still exactly the planned SQL
    executed: list[str] = []
    namespace = {"op": _Recorder(executed)}
    exec(compile("def downgrade():\n" + "".join(f"    {line}\n" for line in text.splitlines()),
                 "<pasted>", "exec"), namespace)
    namespace["downgrade"]()  # type: ignore[operator]
    assert executed == ["CREATE FUNCTION public.f() RETURNS integer\n LANGUAGE sql\n"
                        "AS $$select 1$$"]


class _Recorder:
    """Just enough of alembic's `op` to run pasted lines and keep what they execute."""

    def __init__(self, executed: list[str]) -> None:
        self.executed = executed

    def execute(self, sql: str) -> None:
        self.executed.append(sql)

    def __getattr__(self, name: str) -> object:
        return lambda *args, **kwargs: self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_a_statement_pglast_cannot_read_is_executed() -> None:
    assert downgrade_lines([Statement("THIS IS NOT SQL")]) == "op.execute('THIS IS NOT SQL')"
