"""DBS110-DBS129 behaviour that depends on facts a fixture cannot carry: the schema before
the migration, the target server version, managed timeouts, a migration of its own."""

from __future__ import annotations

import pytest

from dbsafe.lint import lint_sql
from dbsafe.lint.engine import History
from dbsafe.lint.rules import (
    column_type_change_rechecks_dependents,
    column_type_change_rewrites_table,
    dynamic_sql_not_linted,
    enum_value_used_in_same_transaction,
    foreign_key_without_index,
    identity_added_to_existing_column,
    missing_lock_timeout,
    statements_after_access_exclusive_lock,
)
from dbsafe.schema.model import Column, Function, Index, Relation, SchemaSnapshot

BEFORE = SchemaSnapshot(
    schemas=("public",),
    relations=(Relation("public", "orders", "table", columns=(
        Column("id", "bigint", 1), Column("ref", "character varying(20)", 2),
        Column("code", "character(5)", 3), Column("price", "numeric(10,2)", 4),
        Column("customer_id", "bigint", 5), Column("seller_id", "bigint", 6)),
        indexes=(Index("orders_pkey", "", ("id",), unique=True, primary=True),
                 Index("orders_customer", "", ("customer_id", "id")))),),
)


def codes(sql: str, rule, **context) -> list[str]:
    return [f"{f.code}:{f.severity.value}" for f in lint_sql(sql, rules=[rule.RULE], **context)]


def test_type_change_known_from_the_snapshot_to_be_binary_coercible_is_not_flagged() -> None:
    rule = column_type_change_rewrites_table
    assert codes("ALTER TABLE orders ALTER COLUMN ref TYPE varchar(50);", rule,
                 before=BEFORE) == []
    assert codes("ALTER TABLE orders ALTER COLUMN price TYPE numeric(14,2);", rule,
                 before=BEFORE) == []


def test_type_change_known_from_the_snapshot_to_rewrite_is_an_error() -> None:
    rule = column_type_change_rewrites_table
    assert codes("ALTER TABLE orders ALTER COLUMN code TYPE varchar(10);", rule,
                 before=BEFORE) == ["DBS110:error"]
    assert codes("ALTER TABLE public.orders ALTER COLUMN ref TYPE varchar(10);", rule,
                 before=BEFORE) == ["DBS110:error"]


def test_type_change_with_unknown_old_type_to_a_cheap_target_is_a_warning() -> None:
    assert codes("ALTER TABLE orders ALTER COLUMN ref TYPE varchar(50);",
                 column_type_change_rewrites_table) == ["DBS110:warning"]


def test_enum_value_added_in_a_transaction_before_postgresql_12() -> None:
    sql = "ALTER TYPE mood ADD VALUE 'x';"
    rule = enum_value_used_in_same_transaction
    assert codes(sql, rule, in_transaction=True, target_version=110000) == ["DBS113:error"]
    assert codes(sql, rule, in_transaction=True) == []
    assert codes(sql, rule, target_version=110000) == []


def test_enum_value_used_too_soon_points_to_autocommit_block_for_alembic_revisions_only(
) -> None:
    # `autocommit_block()` is alembic's; a SQL folder's file (supabase's, dbmate's, ...)
    # commits the new value in a transaction of its own (task 424).
    from dbsafe.core import Location
    from dbsafe.extract.migration import Migration, MigrationStatement
    from dbsafe.lint.engine import lint_migration

    statements = tuple(MigrationStatement(sql, Location("x", line)) for line, sql in enumerate(
        ("BEGIN", "ALTER TYPE mood ADD VALUE 'x'", "SELECT 'x'::mood", "COMMIT"), start=1))
    rule = [enum_value_used_in_same_transaction.RULE]
    revision, = lint_migration(Migration("versions/0002_mood.py", statements, kind="alembic",
                                         revision="0002"), rule)
    assert revision.help == ("Add the value in an autocommit_block() or an earlier migration, "
                             "and use it after that commits.")
    sql_file, = lint_migration(Migration("supabase/migrations/20240302004845_mood.sql",
                                         statements), rule)
    assert sql_file.help == ("Add the value in a transaction of its own or an earlier "
                             "migration, and use it after that commits.")


def test_missing_timeouts_not_flagged_when_dbsafe_upgrade_sets_them() -> None:
    sql = "ALTER TABLE orders ADD COLUMN note text;"
    assert codes(sql, missing_lock_timeout) == ["DBS115:warning"]
    assert codes(sql, missing_lock_timeout, timeouts_managed=True) == []


def test_missing_timeouts_point_to_dbsafe_upgrade_for_alembic_revisions_only() -> None:
    # chatbot-ui's supabase/migrations (task 419): 42 DBS115 said "Run the migration with
    # `dbsafe upgrade`", which is exit 2 there ("works on alembic revisions"): its files are
    # applied by supabase's CLI.
    from dbsafe.core import Location
    from dbsafe.extract.migration import Migration, MigrationStatement
    from dbsafe.lint.engine import lint_migration

    here = Location("x", 1)
    statement = (MigrationStatement("ALTER TABLE orders ADD COLUMN note text", here),)
    revision, = lint_migration(Migration("versions/0002_note.py", statement, kind="alembic",
                                         revision="0002"), [missing_lock_timeout.RULE])
    assert revision.message.endswith("(`dbsafe upgrade` sets both timeouts for you).")
    assert revision.help is not None and revision.help.startswith(
        "Run the migration with `dbsafe upgrade`")
    sql_file, = lint_migration(Migration("supabase/migrations/20240302004845_add_groq.sql",
                                         statement), [missing_lock_timeout.RULE])
    assert "dbsafe upgrade" not in sql_file.message
    assert sql_file.message.endswith("queues behind it.")
    assert sql_file.help == ("Start the migration with SET lock_timeout = '5s' and SET "
                             "statement_timeout = '15min'.")


def test_missing_timeouts_satisfied_by_set_and_set_config() -> None:
    rule = missing_lock_timeout
    assert codes("SET lock_timeout = '5s'; SET statement_timeout TO '1min';"
                 "ALTER TABLE orders ADD COLUMN note text;", rule) == []
    assert codes("SELECT set_config('lock_timeout', '5s', false);"
                 "SELECT set_config('statement_timeout', '5min', false);"
                 "ALTER TABLE orders ADD COLUMN note text;", rule) == []
    assert codes("BEGIN; SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '1min';"
                 "ALTER TABLE orders ADD COLUMN note text; COMMIT;", rule) == []


def test_statement_timeout_alone_missing_is_named_in_the_message() -> None:
    findings = lint_sql("SET lock_timeout = '5s'; ALTER TABLE orders ADD COLUMN note text;",
                        rules=[missing_lock_timeout.RULE])
    assert len(findings) == 1
    assert "`statement_timeout`" in findings[0].message
    assert "`lock_timeout`" not in findings[0].message
    # lock_timeout bounds the wait, so the harm named is the hold, not a queue while waiting.
    assert "nothing bounds how long it is held" in findings[0].message
    assert "while it waits" not in findings[0].message


def test_set_local_timeout_ends_with_its_transaction() -> None:
    sql = ("BEGIN; SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '1min'; "
           "COMMIT; ALTER TABLE orders ADD COLUMN note text;")
    assert codes(sql, missing_lock_timeout) == ["DBS115:warning"]
    # the session's timeouts are in force again after a SET LOCAL's transaction ends
    session = "SET lock_timeout = '5s'; SET statement_timeout = '1min'; "
    assert codes(session + "BEGIN; SET LOCAL lock_timeout = 0; COMMIT; "
                 "ALTER TABLE orders ADD COLUMN note text;", missing_lock_timeout) == []
    # a SET in a transaction rolled back is undone
    assert codes("BEGIN; " + session + "ROLLBACK; ALTER TABLE orders ADD COLUMN note text;",
                 missing_lock_timeout) == ["DBS115:warning"]


def test_foreign_key_on_existing_table_checked_against_the_snapshot() -> None:
    rule = foreign_key_without_index
    covered = "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id);"
    uncovered = "ALTER TABLE orders ADD FOREIGN KEY (seller_id) REFERENCES sellers (id);"
    assert codes(covered, rule, before=BEFORE) == []
    assert codes(uncovered, rule, before=BEFORE) == ["DBS117:warning"]
    assert codes(uncovered, rule) == []  # indexes unknown: silent
    assert codes(uncovered + "CREATE INDEX CONCURRENTLY o_s ON orders (seller_id);", rule,
                 before=BEFORE) == []


INDEXING_HELPER = (
    "CREATE FUNCTION create_index(t text, i text, c text) RETURNS void LANGUAGE plpgsql AS "
    "$$ BEGIN EXECUTE 'create index ' || i || ' on ' || t || ' (' || c || ')'; END $$;\n")


def test_a_key_a_function_building_sql_was_handed_may_be_indexed() -> None:
    # ovh/cds indexes its keys through a function whose body builds `CREATE INDEX` (DBS120
    # at each call): the index its 014 built on `workflow_node_context (application_id)`
    # was unknown, and its 071's key on those columns was DBS117. A key on columns the call
    # was not handed is still flagged; so it is in one migration, the call after the key.
    history = History()
    lint_sql("CREATE TABLE parts (id bigint PRIMARY KEY, kind_id bigint, owner_id bigint);\n"
             + INDEXING_HELPER + "SELECT create_index('parts', 'ix_parts_kind', 'kind_id');\n",
             history=history)
    keys = ("ALTER TABLE parts ADD FOREIGN KEY (kind_id) REFERENCES kinds (id);\n"
            "ALTER TABLE parts ADD FOREIGN KEY (owner_id) REFERENCES owners (id);\n")
    rules = [foreign_key_without_index.RULE]
    assert [f.subject for f in lint_sql(keys, rules=rules, history=history)] == [
        "parts.owner_id"]
    history = History()
    lint_sql("CREATE TABLE parts (id bigint PRIMARY KEY, kind_id bigint, owner_id bigint);\n"
             + INDEXING_HELPER, history=history)
    assert [f.subject for f in lint_sql(
        keys + "SELECT create_index('parts', 'ix_parts_kind', 'kind_id');\n", rules=rules,
        history=history)] == ["parts.owner_id"]


def test_a_call_of_the_database_s_function_building_sql_is_not_checked() -> None:
    # `--database-url`: the function is the database's (pg_get_functiondef), not the
    # history's; its overload of another signature, written out, is not followed.
    built = ("CREATE OR REPLACE FUNCTION public.create_index(t text, i text, c text)\n"
             " RETURNS void LANGUAGE plpgsql\nAS $function$ BEGIN EXECUTE 'create index ' "
             "|| i || ' on ' || t || ' (' || c || ')'; END $function$\n")
    before = SchemaSnapshot(schemas=("public",), functions=(
        Function("public", "create_index", definition=built),))
    sql = "SELECT create_index('orders', 'ix_orders_ref', 'ref');"
    found = lint_sql(sql, rules=[dynamic_sql_not_linted.RULE], before=before)
    assert [f.message for f in found] == [
        "This statement calls `create_index()`, which runs SQL it builds at run time (EXECUTE "
        "of an expression); what that SQL locks or rewrites is not checked."]
    assert lint_sql(sql, rules=[dynamic_sql_not_linted.RULE]) == ()  # a function unknown


def test_identity_followed_by_a_setval_of_a_computed_sequence_is_not_flagged() -> None:
    """dbsafe cannot tell which sequence a computed setval moves: it gives the benefit of
    the doubt (the fixture cannot hold this case: it would clear every case before it)."""
    rule = identity_added_to_existing_column
    add = "ALTER TABLE orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;\n"
    assert codes(add + "DO $$ DECLARE t text := 'orders'; BEGIN PERFORM setval("
                 "pg_get_serial_sequence(t, 'id'), 10); END $$;", rule) == []
    assert codes(add + "SELECT setval('wishlists_id_seq', 10);", rule) == ["DBS129:error"]


def test_identity_on_a_column_the_snapshot_knows_nullable_is_refused() -> None:
    rule = identity_added_to_existing_column
    sql = "ALTER TABLE orders ALTER COLUMN customer_id ADD GENERATED ALWAYS AS IDENTITY;"
    found = lint_sql(sql, rules=[rule.RULE], before=BEFORE)
    assert [f.message.split(":")[0] for f in found] == ["`orders.customer_id` allows NULL"]


def test_a_function_body_takes_no_lock_where_the_function_is_created() -> None:
    # Found on hatchet's v1_0_0: a trigger's SHARE ROW EXCLUSIVE lock, then CREATE FUNCTION
    # whose body reads a table, was DBS125 "works on `pg_inherits`"; the body runs when the
    # function is called, not here.
    from dbsafe.lint.rules import (
        statements_after_access_exclusive_lock,
        statements_after_write_blocking_lock,
    )

    body = ("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n"
            "    UPDATE customers SET id = id;\n    ALTER TABLE customers ADD COLUMN x int;\n"
            "    RETURN 1;\nEND $$;\n")
    trigger = ("BEGIN;\nCREATE TRIGGER t AFTER INSERT ON orders FOR EACH ROW "
               "EXECUTE FUNCTION trg();\n" + body + "COMMIT;\n")
    assert codes(trigger, statements_after_write_blocking_lock) == []
    alter = "BEGIN;\nALTER TABLE orders ADD COLUMN note text;\n" + body + "COMMIT;\n"
    assert codes(alter, statements_after_access_exclusive_lock) == []
    assert codes(body, missing_lock_timeout) == []
    # The body's statements are still linted on their own.
    assert "DBS101" in {f.code for f in lint_sql(
        body.replace("UPDATE customers SET id = id", "CREATE INDEX ix ON customers (id)"))}
    assert "DBS115" in codes("ALTER TABLE orders ADD COLUMN x int;\n" + body,
                             missing_lock_timeout)[0]


def test_a_dropped_index_the_history_never_saw_is_said_to_work_on_its_table() -> None:
    """Without the history or the database, DROP INDEX's table is unknown: the finding says
    so rather than call the index the thing the statement works on."""
    sql = "BEGIN;\nCREATE INDEX ix_a ON a (x);\nDROP INDEX ix_unknown;\nCOMMIT;\n"
    [finding] = [f for f in lint_sql(sql) if f.code == "DBS125"]
    assert finding.message.startswith(
        "This statement works on the table of index `ix_unknown` while `a` is still SHARE")


def test_a_table_of_the_database_named_like_a_catalog_is_read_as_the_table() -> None:
    """A read of PostgreSQL's catalogs after a lock is no slow work (skyvern's
    information_schema.columns check), but a bare `pg_` name the database has as a table of
    its own is that table: reading it while `orders` is locked is DBS114."""
    rule = statements_after_access_exclusive_lock
    before = SchemaSnapshot(schemas=("public",), relations=(
        *BEFORE.relations, Relation("public", "pg_report", "table",
                                    columns=(Column("id", "bigint", 1),))))
    locked = "BEGIN;\nALTER TABLE orders ADD COLUMN note text;\n"
    assert codes(locked + "SELECT * FROM pg_report;\nCOMMIT;", rule,
                 before=before) == ["DBS114:warning"]
    assert codes(locked + "SELECT * FROM pg_indexes;\nCOMMIT;", rule, before=before) == []
    assert codes(locked + "SELECT * FROM information_schema.columns;\nCOMMIT;", rule,
                 before=before) == []



UPLOADS = ("CREATE TABLE uploads (id bigint PRIMARY KEY, ns varchar(64), dest text);\n"
           "CREATE INDEX ix_uploads_key ON uploads ((dest || '_' || ns));\n")


@pytest.mark.parametrize(("since", "change", "rebuilt"), [
    ("", "ALTER TABLE uploads ALTER COLUMN ns TYPE varchar(128);", ["ix_uploads_key"]),
    ("ALTER INDEX ix_uploads_key RENAME TO ix_key;",
     "ALTER TABLE uploads ALTER COLUMN ns TYPE varchar(128);", ["ix_key"]),
    ("ALTER TABLE uploads RENAME COLUMN ns TO namespace;",
     "ALTER TABLE uploads ALTER COLUMN namespace TYPE varchar(128);", ["ix_uploads_key"]),
    ("DROP INDEX ix_uploads_key;", "ALTER TABLE uploads ALTER COLUMN ns TYPE varchar(128);",
     []),
    ("DROP TABLE uploads;\n"
     "CREATE TABLE uploads (id bigint PRIMARY KEY, ns varchar(64), dest text);",
     "ALTER TABLE uploads ALTER COLUMN ns TYPE varchar(128);", []),
    ("", "ALTER TABLE uploads ALTER COLUMN dest TYPE varchar(10);", []),  # (a rewrite: DBS110)
], ids=["built", "index-renamed", "column-renamed", "index-dropped", "table-made-again",
        "rewrite"])
def test_a_type_change_keeping_rows_rebuilds_an_expression_index_an_earlier_migration_built(
        since: str, change: str, rebuilt: list[str]) -> None:
    # rudder-server's warehouse 036 widened `wh_uploads.namespace` (varchar(64) → (128)):
    # no rewrite, but PostgreSQL 18 built again the expression index its 014 had built on
    # it, under ACCESS EXCLUSIVE (pg_relation_filenode). Without a database, DBS127 knew
    # only the database's indexes, so it said nothing.
    history = History()
    lint_sql(UPLOADS, history=history)
    lint_sql(since, history=history)
    found = lint_sql(change, rules=[column_type_change_rechecks_dependents.RULE],
                     history=history)
    assert [f.message.split("rebuilds index `")[1].split("`")[0] for f in found] == rebuilt


def test_an_unnamed_index_dropped_by_postgresql_s_name_locks_its_table() -> None:
    """`CREATE INDEX ON uploads (dest)` is uploads_dest_idx: DROP INDEX of that name locks
    `uploads`, which the finding names (it said "the table of index ...")."""
    history = History()
    lint_sql("CREATE TABLE uploads (id bigint PRIMARY KEY, dest text);\n"
             "CREATE INDEX ON uploads (dest);\n", history=history)
    [finding] = lint_sql("DROP INDEX uploads_dest_idx;", rules=[missing_lock_timeout.RULE],
                         history=history)
    assert finding.message.startswith("ACCESS EXCLUSIVE lock on `uploads` is requested")


@pytest.mark.parametrize(("since", "rebuilt"), [
    ("", ["uploads_expr_idx"]),
    ("DROP INDEX uploads_expr_idx;", []),
    ("DROP INDEX uploads_expr_idx;\nCREATE INDEX ON uploads (id) WHERE ns <> '';",
     ["uploads_id_idx"]),
], ids=["built", "dropped-by-its-name", "partial"])
def test_an_expression_index_built_without_a_name_is_followed_by_postgresql_s_name(
        since: str, rebuilt: list[str]) -> None:
    # `CREATE INDEX ON uploads ((dest || '_' || ns))`: PostgreSQL names it uploads_expr_idx
    # (ChooseIndexName); DBS127 followed only the ones built with a name
    history = History()
    lint_sql("CREATE TABLE uploads (id bigint PRIMARY KEY, ns varchar(64), dest text);\n"
             "CREATE INDEX ON uploads ((dest || '_' || ns));\n" + since, history=history)
    found = lint_sql("ALTER TABLE uploads ALTER COLUMN ns TYPE varchar(128);",
                     rules=[column_type_change_rechecks_dependents.RULE], history=history)
    assert [f.message.split("rebuilds index `")[1].split("`")[0] for f in found] == rebuilt


@pytest.mark.parametrize("rename", [
    "ALTER TABLE machine RENAME CONSTRAINT machine_pkey TO hardware_pkey",
    "ALTER TRIGGER machine_touched ON machine RENAME TO hardware_touched",
    "ALTER POLICY machine_mine ON machine RENAME TO hardware_mine",
    "ALTER RULE machine_kept ON machine RENAME TO hardware_kept",
], ids=["constraint", "trigger", "policy", "rule"])
def test_a_rename_of_a_tables_constraint_trigger_policy_or_rule_locks_the_table(
        rename: str) -> None:
    """conbench's 5d516a1f293d renames `machine`'s primary key, then drops an index on
    `distribution` in the same transaction: PostgreSQL 18 holds ACCESS EXCLUSIVE on
    `machine` from the rename (pg_locks), so the migration's timeouts are needed there and
    the drop waits for `distribution` while `machine` stays locked. Lint knew no lock of a
    RENAME CONSTRAINT (nor of a trigger's, policy's or rule's rename): DBS115 went to the
    DROP INDEX and named `distribution` only, and there was no DBS114."""
    sql = f"BEGIN;\n{rename};\nDROP INDEX distribution_machine_index;\nCOMMIT;\n"
    found = {(f.code, f.location.line if f.location else 0, f.subject)
             for f in lint_sql(sql, rules=[missing_lock_timeout.RULE,
                                           statements_after_access_exclusive_lock.RULE])}
    assert ("DBS115", 2, "machine") in found
    assert [code for code, line, _ in found if code == "DBS114"] == ["DBS114"]
    assert ("DBS114", 3) in {(code, line) for code, line, _ in found}


def test_a_new_table_referencing_an_existing_one_waits_for_it_while_another_stays_locked() -> None:
    """`CREATE TABLE ... REFERENCES existing` takes SHARE ROW EXCLUSIVE on `existing`, so it
    waits for every open write there while the tables locked before it stay locked (on
    PostgreSQL 18: 5 s behind an `INSERT INTO b`, a reader of the ACCESS EXCLUSIVE `a`
    timed out meanwhile). Quay's 9093adccc784 creates `manifestblob` (referencing
    `imagestorage`) after a table referencing `mediatype` and `repository`: no DBS125, where
    the same key written `ALTER TABLE ... ADD FOREIGN KEY` was flagged."""
    from dbsafe.lint.rules import statements_after_write_blocking_lock

    after_add_column = ("BEGIN;\nALTER TABLE a ADD COLUMN x int;\n"
                        "CREATE TABLE n (id int PRIMARY KEY, b_id int REFERENCES b (id));\n"
                        "COMMIT;\n")
    [found] = lint_sql(after_add_column, rules=[statements_after_access_exclusive_lock.RULE])
    assert (found.code, found.location.line, found.subject) == ("DBS114", 3, "b")
    after_new_key = ("BEGIN;\nCREATE TABLE k (id int PRIMARY KEY, a_id int REFERENCES a (id));\n"
                     "CREATE TABLE k2 (id int PRIMARY KEY, b_id int REFERENCES b (id));\n"
                     "COMMIT;\n")
    [found] = lint_sql(after_new_key, rules=[statements_after_write_blocking_lock.RULE])
    assert (found.code, found.location.line, found.subject) == ("DBS125", 3, "b")
    # A new table referencing no table, itself, one made here or the one already locked
    # waits for nobody else.
    quiet = ("BEGIN;\nALTER TABLE a ADD COLUMN x int;\nCREATE TABLE k (id int PRIMARY KEY);\n"
             "CREATE TABLE k2 (id int PRIMARY KEY, up int REFERENCES k2 (id), "
             "k_id int REFERENCES k (id), a_id int REFERENCES a (id));\nCOMMIT;\n")
    assert codes(quiet, statements_after_access_exclusive_lock) == []
    assert codes(quiet.replace("ALTER TABLE a ADD COLUMN x int",
                               "ALTER TABLE a ADD CONSTRAINT a_c FOREIGN KEY (id) "
                               "REFERENCES c (id) NOT VALID"),
                 statements_after_write_blocking_lock) == []
