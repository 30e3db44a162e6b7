"""The engine on PostgreSQL's own parser: DBS001, quoting, mixed ALTER actions, DO blocks,
history-aware precision."""

from __future__ import annotations

import textwrap

import pytest

from dbsafe.core import Location, Severity
from dbsafe.lint import lint_sql
from dbsafe.lint.locks import ACCESS_EXCLUSIVE, lock_for
from dbsafe.lint.statement import parse_statement


def codes(sql: str, **kwargs: object) -> list[str]:
    return [f.code for f in lint_sql(sql, **kwargs)]


@pytest.mark.parametrize(("sql", "message", "column"), [
    ("SELECT ((( broken;", "syntax error at or near \";\"", 18),
    ("CREATE TYPE garbage garbage garbage;", 'syntax error at or near "garbage"', 21),
    ("SELECT 'never closed;", "unterminated quoted string at or near \"'never closed;\"", 8),
    ("ALTER TABLE orders ADD COLUMN (((;", 'syntax error at or near "("', 31),
])
def test_a_statement_postgresql_rejects_is_dbs001_with_its_message_and_position(
        sql: str, message: str, column: int) -> None:
    findings = lint_sql(sql, path="m.sql")
    assert [f.code for f in findings] == ["DBS001"]
    (finding,) = findings
    assert finding.severity is Severity.ERROR
    assert finding.message == f"PostgreSQL's parser rejects this statement: {message}."
    assert finding.location == Location("m.sql", 1, column)


def test_dbs001_position_on_a_later_line_of_the_statement() -> None:
    sql = "SELECT 1;\nALTER TABLE orders\n    ADD COLUMN (((;\n"
    (finding,) = lint_sql(sql, path="m.sql")
    assert finding.location == Location("m.sql", 3, 16)


def test_dbs001_is_the_only_finding_for_a_rejected_statement() -> None:
    assert codes("ALTER TABLE orders ADD COLUMN (((;") == ["DBS001"]


def test_mixed_alter_actions_are_each_checked() -> None:
    sql = "ALTER TABLE orders ALTER COLUMN x TYPE bigint, VALIDATE CONSTRAINT c;"
    assert "DBS110" in codes(sql)
    sql = "ALTER TABLE orders ALTER COLUMN code TYPE char(3), VALIDATE CONSTRAINT c;"
    assert "DBS207" in codes(sql)
    sql = "ALTER TABLE orders ALTER COLUMN at TYPE timestamp, VALIDATE CONSTRAINT c;"
    assert "DBS208" in codes(sql)


def test_quoted_names_keep_their_case() -> None:
    sql = 'CREATE TABLE "ORDERS" (id int); ALTER TABLE "ORDERS" ADD COLUMN x int NOT NULL;'
    assert "DBS108" not in codes(sql)
    # ... and an unquoted ORDERS is another table, orders
    sql = 'CREATE TABLE "ORDERS" (id int); ALTER TABLE ORDERS ADD COLUMN x int NOT NULL;'
    assert "DBS108" in codes(sql)


def test_every_index_of_a_multi_object_drop_is_checked() -> None:
    findings = [f for f in lint_sql("DROP INDEX ix_a, ix_b;") if f.code == "DBS103"]
    assert [f.subject for f in findings] == ["ix_a", "ix_b"]


def test_ddl_inside_a_do_block_is_checked() -> None:
    sql = textwrap.dedent("""\
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'ix') THEN
                CREATE INDEX ix ON orders (customer_id);
            END IF;
            ALTER TABLE orders ADD COLUMN c text NOT NULL;
        END
        $$;
        """)
    findings = lint_sql(sql, path="m.sql")
    assert {"DBS101", "DBS108"} <= {f.code for f in findings}
    assert all(("In", "DO block") in f.context for f in findings
               if f.code in ("DBS101", "DBS108"))


def test_ddl_inside_a_function_body_is_checked_and_says_where() -> None:
    sql = ("CREATE FUNCTION add_ix() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
           "CREATE INDEX ix ON orders (c); END $$;")
    [finding] = [f for f in lint_sql(sql) if f.code == "DBS101"]
    assert dict(finding.context)["In"] == "body of function add_ix"


def test_a_do_block_postgresql_cannot_parse_as_plpgsql_is_said_not_an_error() -> None:
    findings = lint_sql("DO $$ BEGIN this is not plpgsql; END $$;")
    assert [(f.code, f.severity.value) for f in findings] == [("DBS120", "warning")]
    assert "PL/pgSQL parser rejects" in findings[0].message


def test_references_with_default_null_is_validated_by_a_scan() -> None:
    sql = "ALTER TABLE orders ADD COLUMN region_id int DEFAULT NULL REFERENCES regions (id);"
    assert "DBS106" in codes(sql)
    assert "DBS106" not in codes("ALTER TABLE orders ADD COLUMN region_id int "
                                 "REFERENCES regions (id);")


def test_set_not_null_on_a_column_already_not_null_is_not_flagged() -> None:
    # a primary key member
    assert "DBS107" not in codes("CREATE TABLE t (id int PRIMARY KEY);\nCOMMIT;\n"
                                 "ALTER TABLE t ALTER COLUMN id SET NOT NULL;",
                                 rules=None)
    sql = "ALTER TABLE orders ADD COLUMN c int NOT NULL DEFAULT 0;\n" \
          "ALTER TABLE orders ALTER COLUMN c SET NOT NULL;"
    assert "DBS107" not in codes(sql)
    sql = "ALTER TABLE orders ADD PRIMARY KEY (ref);\nALTER TABLE orders ALTER ref SET NOT NULL;"
    assert "DBS107" not in codes(sql)
    assert "DBS107" in codes("ALTER TABLE orders ALTER COLUMN c SET NOT NULL;")


@pytest.mark.parametrize(("history", "change", "flagged"), [
    ("ADD COLUMN c varchar(20)", "TYPE text", False),
    ("ADD COLUMN c varchar(20)", "TYPE varchar(50)", False),
    ("ADD COLUMN c varchar(50)", "TYPE varchar(20)", True),
    ("ADD COLUMN c numeric(10,2)", "TYPE numeric(12,2)", False),
    ("ADD COLUMN c bigint", "TYPE int8", False),
    ("ADD COLUMN c int", "TYPE bigint", True),
    ("ADD COLUMN c timestamp", "TYPE timestamptz", True),
])
def test_type_changes_follow_postgresql_binary_coercion(history: str, change: str,
                                                        flagged: bool) -> None:
    sql = f"ALTER TABLE orders {history};\nALTER TABLE orders ALTER COLUMN c {change};"
    assert ("DBS110" in codes(sql)) is flagged


def test_a_serial_column_is_named_by_the_type_postgresql_stores() -> None:
    # Found on documenso's Prisma migrations: "from `serial` to `text`" names no type.
    findings = [f for f in lint_sql("ALTER TABLE orders ADD COLUMN c serial;\n"
                                    "ALTER TABLE orders ALTER COLUMN c TYPE text;")
                if f.code == "DBS110"]
    assert [f.message.split(" rewrites")[0] for f in findings] == [
        "Changing `orders.c` from `integer` to `text`"]


def test_timestamp_to_timestamptz_in_a_utc_session_is_not_a_rewrite() -> None:
    sql = ("SET timezone = 'UTC';\nALTER TABLE orders ADD COLUMN at timestamp;\n"
           "ALTER TABLE orders ALTER COLUMN at TYPE timestamptz;")
    assert "DBS110" not in codes(sql, target_version=160000)


def test_renaming_a_column_the_same_migration_added_is_not_flagged() -> None:
    sql = "ALTER TABLE orders ADD COLUMN nte text;\nALTER TABLE orders RENAME COLUMN nte TO note;"
    assert "DBS203" not in codes(sql)
    assert "DBS203" in codes("ALTER TABLE orders RENAME COLUMN total TO amount;")


@pytest.mark.parametrize("sql", ["ALTER TABLE orders ALTER COLUMN c SET DEFAULT now()",
                                 "ALTER TABLE orders ALTER COLUMN c DROP DEFAULT",
                                 "ALTER TABLE orders ALTER COLUMN c SET DEFAULT 1"])
def test_set_and_drop_default_take_access_exclusive(sql: str) -> None:
    lock = lock_for(parse_statement(sql))
    assert lock is not None and lock.mode == ACCESS_EXCLUSIVE


def test_statements_of_one_transaction_get_one_dbs114_finding() -> None:
    sql = ("BEGIN;\nALTER TABLE orders ADD COLUMN a int;\nUPDATE orders SET a = 1;\n"
           "UPDATE customers SET b = 1;\nCOMMIT;")
    assert codes(sql).count("DBS114") == 1


def test_transaction_state_comes_from_the_parse_tree() -> None:
    sql = "BEGIN;\nCREATE INDEX CONCURRENTLY ix ON orders (c);\nCOMMIT;\n" \
          "CREATE INDEX CONCURRENTLY iy ON orders (c);"
    findings = [f for f in lint_sql(sql) if f.code == "DBS102"]
    assert [f.location.line for f in findings if f.location] == [2]
