"""Which tables an upgrade reads before its first revision (`guard.row_tables`), taken on
real PostgreSQL: partitions, tables referencing them, views' base tables, what triggers and
rules write, and what makes every table read."""

from __future__ import annotations

import psycopg
import pytest

from dbsafe.guard.row_tables import choose

pytestmark = pytest.mark.db

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE app.units (id int PRIMARY KEY, name text);
CREATE TABLE app.ingredients (id int PRIMARY KEY, unit_id int REFERENCES app.units);
CREATE TABLE app.notes (id int PRIMARY KEY, ingredient_id int REFERENCES app.ingredients);
CREATE TABLE app.events (at date NOT NULL, unit_id int) PARTITION BY RANGE (at);
CREATE TABLE app.events_2026 PARTITION OF app.events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE app.unrelated (id int);
CREATE VIEW app.unit_names AS SELECT id, name FROM app.units;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TABLE app.audited (id int);
CREATE TRIGGER audited_touch BEFORE UPDATE ON app.audited FOR EACH ROW
    EXECUTE FUNCTION app.touch();
"""


def _changes(*tables: str, functions: tuple[str, ...] = ()) -> dict[str, object]:
    return {"revisions": ["0005"], "tables": list(tables), "functions": list(functions)}


def test_the_tables_named_their_partitions_and_the_tables_referencing_them_are_read(
        database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)

        assert choose(conn, _changes("units"), ["0005"]).tables == (
            "app.ingredients", "app.notes", "app.units")
        assert choose(conn, _changes("app.events"), ["0005"]).tables == ("app.events_2026",)
        assert choose(conn, _changes(), ["0005"]).tables == ()
        # pg_catalog's functions change no table; the application's may change any.
        assert choose(conn, _changes("app.unrelated", functions=("lower", "pg_catalog.now")),
                      ["0005"]).tables == ("app.unrelated",)
        assert choose(conn, _changes("app.unrelated", functions=("app.lower",)),
                      ["0005"]).why == "the revisions call app.lower, which may change any table"


def test_a_view_written_through_reads_the_tables_it_reads(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)

        view = choose(conn, _changes("app.unit_names"), ["0005"])

    # Its base table, and the tables referencing that one.
    assert view.tables == ("app.ingredients", "app.notes", "app.units")


# Triggers and rules on the tables written, and what their statements write in turn.
FIRING = """
CREATE TABLE app.audit_log (id serial PRIMARY KEY, op text, row jsonb);
CREATE TABLE app.audit_notes (log_id int REFERENCES app.audit_log);
CREATE FUNCTION app.log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO app.audit_log (op, row) VALUES (TG_OP, to_jsonb(OLD));
    RETURN NULL;
END $$;
CREATE TABLE app.logged (id int);
CREATE TRIGGER logged_audit AFTER UPDATE OR DELETE ON app.logged FOR EACH ROW
    EXECUTE FUNCTION app.log_change();
CREATE TABLE app.deleted (id int);
CREATE TABLE app.soft (id int);
CREATE RULE soft_delete AS ON DELETE TO app.soft DO ALSO INSERT INTO app.deleted VALUES (OLD.id);
CREATE TABLE app.base (id int);
CREATE VIEW app.base_view AS SELECT id, 1 AS one FROM app.base;
CREATE FUNCTION app.base_view_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE app.soft SET id = NEW.id WHERE id = OLD.id;
    RETURN NEW;
END $$;
CREATE TRIGGER base_view_write INSTEAD OF UPDATE ON app.base_view FOR EACH ROW
    EXECUTE FUNCTION app.base_view_write();
CREATE FUNCTION app.log_to(name text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO app.audit_log (op) VALUES (name) $$;
CREATE FUNCTION app.dynamic() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %I VALUES ($1)', TG_ARGV[0]) USING NEW.id;
    RETURN NEW;
END $$;
CREATE FUNCTION app.through_a_function() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM app.log_to(TG_OP);
    RETURN NEW;
END $$;
CREATE TABLE app.dynamic_target (id int);
CREATE TRIGGER dynamic_copy AFTER INSERT ON app.dynamic_target FOR EACH ROW
    EXECUTE FUNCTION app.dynamic('app.deleted');
CREATE TABLE app.called_target (id int);
CREATE TRIGGER called AFTER INSERT ON app.called_target FOR EACH ROW
    EXECUTE FUNCTION app.through_a_function();
"""


def test_a_trigger_changing_only_its_row_reads_only_the_table_written(database_url: str
                                                                      ) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)

        choice = choose(conn, _changes("app.audited"), ["0005"])

    assert (choice.tables, choice.why) == (
        ("app.audited",), "the tables the pending revisions may change (app.audited)")


def test_the_tables_a_trigger_or_rule_writes_are_read_with_theirs(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + FIRING)

        # The audit trigger's table, and the table referencing that one.
        assert choose(conn, _changes("logged"), ["0005"]).tables == (
            "app.audit_log", "app.audit_notes", "app.logged")
        # The rule's action's table.
        assert choose(conn, _changes("app.soft"), ["0005"]).tables == (
            "app.deleted", "app.soft")
        # Through a view: its base table, and what its INSTEAD OF trigger writes (app.soft),
        # whose rule writes app.deleted.
        assert choose(conn, _changes("app.base_view"), ["0005"]).tables == (
            "app.base", "app.deleted", "app.soft")


def test_a_trigger_whose_writes_cannot_be_told_reads_every_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + FIRING)

        dynamic = choose(conn, _changes("app.dynamic_target"), ["0005"])

    assert (dynamic.tables, dynamic.why) == (
        None, "trigger dynamic_copy on app.dynamic_target runs app.dynamic(), which builds SQL "
        "at run time (EXECUTE)")


# Trigger functions calling the application's functions, which call others in turn.
CALLING = """
CREATE SCHEMA audit;
CREATE TABLE audit.changes (id serial PRIMARY KEY, op text);
CREATE TABLE app.parents (id int PRIMARY KEY, touched timestamptz);
CREATE TABLE app.children (id int, parent_id int);
CREATE TABLE app.parent_names (name text);
CREATE FUNCTION audit.log_change(op text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit.changes (op) VALUES (op); END $$;
-- Two overloads: a call's argument types are not told, so both count.
CREATE FUNCTION app.touch_parent(id int) RETURNS void LANGUAGE sql
    AS $$ UPDATE app.parents SET touched = now() WHERE parents.id = touch_parent.id $$;
CREATE FUNCTION app.touch_parent(name text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO app.parent_names VALUES (name) $$;
CREATE FUNCTION app.child_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit.log_change(TG_OP);
    PERFORM app.touch_parent(NEW.parent_id);
    RETURN NEW;
END $$;
CREATE TRIGGER child_changed AFTER INSERT OR UPDATE ON app.children FOR EACH ROW
    EXECUTE FUNCTION app.child_changed();

-- A cycle: each of two functions may call the other.
CREATE TABLE app.nodes (id int, up int);
CREATE TABLE app.walked (id int);
CREATE FUNCTION app.walk_up(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN INSERT INTO app.walked VALUES (n); PERFORM app.walk_down(n); END $$;
CREATE FUNCTION app.walk_down(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN IF n > 0 THEN PERFORM app.walk_up(n - 1); END IF; END $$;
CREATE FUNCTION app.node_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM app.walk_up(NEW.id); RETURN NEW; END $$;
CREATE TRIGGER node_changed AFTER UPDATE ON app.nodes FOR EACH ROW
    EXECUTE FUNCTION app.node_changed();

-- SQL built at run time three calls down.
CREATE TABLE app.deep (id int);
CREATE FUNCTION app.deepest(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN EXECUTE format('DELETE FROM %I', t); END $$;
CREATE FUNCTION app.deeper(t text) RETURNS void LANGUAGE sql AS $$ SELECT app.deepest(t) $$;
CREATE FUNCTION app.deep_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM app.deeper(TG_TABLE_NAME); RETURN NEW; END $$;
CREATE TRIGGER deep_changed AFTER DELETE ON app.deep FOR EACH ROW
    EXECUTE FUNCTION app.deep_changed();
"""


def test_the_functions_a_trigger_calls_are_followed_into_what_they_write(
        database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + CALLING)

        chain = choose(conn, _changes("app.children"), ["0005"])

    # The audit table, and both overloads' tables (app.parents, whose key app.children does
    # not reference, app.parent_names), not app.unrelated nor any other.
    assert (chain.tables, chain.why) == (
        ("app.children", "app.parent_names", "app.parents", "audit.changes"),
        "the tables the pending revisions may change (app.children, app.parent_names, "
        "app.parents, audit.changes)")


def test_functions_calling_each_other_are_followed_once(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + CALLING)

        cycle = choose(conn, _changes("app.nodes"), ["0005"])

    assert cycle.tables == ("app.nodes", "app.walked")


def test_sql_built_at_run_time_down_a_chain_reads_every_table_naming_the_chain(
        database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + CALLING)

        deep = choose(conn, _changes("app.deep"), ["0005"])

    assert (deep.tables, deep.why) == (
        None, "trigger deep_changed on app.deep runs app.deep_changed(), which calls "
        "app.deeper(text), which calls app.deepest(text), which builds SQL at run time "
        "(EXECUTE)")


def test_the_functions_the_revisions_call_are_followed_on_the_database(database_url: str
                                                                       ) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + FIRING + CALLING)

        # A function already on the database: what it writes, and what references that.
        logged = choose(conn, _changes("app.unrelated", functions=("app.log_to", "lower")),
                        ["0005"])
        # Through a chain: a bare name is looked for in every schema.
        bare = choose(conn, _changes(functions=("child_changed",)), ["0005"])
        dynamic = choose(conn, _changes(functions=("app.deeper",)), ["0005"])
        conn.execute("CREATE AGGREGATE app.total(int) (SFUNC = int4pl, STYPE = int)")
        aggregate = choose(conn, _changes(functions=("app.total",)), ["0005"])

    assert logged.tables == ("app.audit_log", "app.audit_notes", "app.unrelated")
    # (a trigger function called as a function writes what its body writes)
    assert bare.tables == ("app.parent_names", "app.parents", "audit.changes")
    assert (dynamic.tables, dynamic.why) == (
        None, "the revisions call app.deeper(text), which calls app.deepest(text), which "
        "builds SQL at run time (EXECUTE)")
    assert (aggregate.tables, aggregate.why) == (
        None, "the revisions call app.total(integer), which is an aggregate or window "
        "function, which dbsafe does not read")


def _created(name: str, sql: str) -> dict[str, object]:
    from dbsafe.lint.row_changes import RowChanges
    from dbsafe.lint.statement import parse_statement

    changes = RowChanges()
    changes.add("0005", [parse_statement(sql), parse_statement(f"SELECT {name}(1)")])
    return changes.summary()


def test_a_function_the_revisions_create_is_read_as_they_create_it(database_url: str
                                                                   ) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + FIRING + CALLING)

        # Not on the database yet.
        new = choose(conn, _created("app.fresh", "CREATE FUNCTION app.fresh(n int) RETURNS "
                                    "void LANGUAGE sql AS $$ DELETE FROM app.units $$"),
                     ["0005"])
        # Replaced: the revision's body, and the database's (an overload the call may
        # reach; here the one replaced).
        replaced = choose(conn, _created("app.log_to", "CREATE OR REPLACE FUNCTION "
                                         "app.log_to(name text) RETURNS void LANGUAGE sql "
                                         "AS $$ DELETE FROM app.soft $$"), ["0005"])
        dynamic = choose(conn, _created("fresh", "CREATE FUNCTION fresh(n int) RETURNS void "
                                        "LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'TRUNCATE ' "
                                        "|| n; END $$"), ["0005"])

    assert new.tables == ("app.ingredients", "app.notes", "app.units")
    assert replaced.tables == ("app.audit_log", "app.audit_notes", "app.deleted", "app.soft")
    assert (dynamic.tables, dynamic.why) == (
        None, "the revisions call fresh() as 0005 creates it, which builds SQL at run time "
        "(EXECUTE)")


def test_a_trigger_function_an_extension_ships_in_c_is_read_only_when_known_row_only(
        database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION moddatetime; CREATE EXTENSION refint;")
        conn.execute("""
            CREATE TABLE stamped (id int, updated_at timestamp);
            CREATE TRIGGER stamped_at BEFORE UPDATE ON stamped FOR EACH ROW
                EXECUTE FUNCTION moddatetime(updated_at);
            CREATE TABLE parent (id int);
            CREATE TABLE child (parent_id int);
            CREATE TRIGGER parent_cascade BEFORE DELETE ON parent FOR EACH ROW
                EXECUTE FUNCTION check_foreign_key(1, 'cascade', 'id', 'child', 'parent_id');
        """)

        stamped = choose(conn, _changes("stamped"), ["0005"])
        # refint's cascade deletes the rows of child.
        cascading = choose(conn, _changes("parent"), ["0005"])

    assert stamped.tables == ("public.stamped",)
    assert (cascading.tables, cascading.why) == (
        None, "trigger parent_cascade on parent runs check_foreign_key(), which is written "
        "in c, which dbsafe does not read")


def _extensions(conn: psycopg.Connection, *names: str) -> None:
    available = {r[0] for r in conn.execute(
        "SELECT name FROM pg_catalog.pg_available_extensions WHERE name = ANY(%s)",
        (list(names),))}
    if missing := sorted(set(names) - available):
        pytest.skip(f"the server has no {', '.join(missing)}")
    for name in names:
        conn.execute(f'CREATE EXTENSION "{name}"')


def test_the_functions_in_c_of_extensions_running_no_sql_write_nothing(database_url: str
                                                                      ) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        # (uuid-ossp and pgcrypto are in C on a production server, in SQL on the embedded
        # one's stand-ins: either way, nothing written)
        _extensions(conn, "uuid-ossp", "pgcrypto", "pg_trgm", "unaccent", "fuzzystrmatch",
                    "hstore", "citext", "isn")

        # pg_trgm, unaccent, fuzzystrmatch and hstore in C, citext's and isn's casts in
        # internal (PostgreSQL's own functions), citext's aggregate max(citext) next to
        # pg_catalog's.
        choice = choose(conn, _changes("app.unrelated", functions=(
            "uuid_generate_v4", "crypt", "gen_salt", "digest", "similarity", "unaccent",
            "public.levenshtein", "hstore", "citext", "isn_weak", "max")), ["0005"])

    assert (choice.tables, choice.why) == (
        ("app.unrelated",), "the tables the pending revisions may change (app.unrelated)")


def test_the_functions_in_c_of_other_extensions_are_not_read(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _extensions(conn, "tablefunc")

        # crosstab() runs the query it is given, which may write.
        crosstab = choose(conn, _changes(functions=("crosstab",)), ["0005"])

    assert (crosstab.tables, crosstab.why) == (
        None, "the revisions call crosstab(text), which is written in c, which dbsafe does "
        "not read")


def test_a_bare_name_postgresql_has_counts_the_applications_overloads_too(
        database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + """
            CREATE FUNCTION app.lower(n int) RETURNS int LANGUAGE sql
                AS $$ INSERT INTO app.unrelated VALUES (n) RETURNING id $$;
        """)

        # lower(text) is pg_catalog's, lower(int) the application's: either may be called.
        lowered = choose(conn, _changes("app.audited", functions=("lower", "upper")),
                         ["0005"])

    assert lowered.tables == ("app.audited", "app.unrelated")


def test_a_function_added_to_pg_catalog_or_one_running_a_query_is_no_built_ins(
        database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        # A superuser's function in pg_catalog (an oid past initdb's), and a trigger's.
        conn.execute(SCHEMA + """
            CREATE FUNCTION pg_catalog.sum(t text) RETURNS int LANGUAGE sql
                AS $$ INSERT INTO app.unrelated VALUES (1) RETURNING id $$;
            CREATE FUNCTION pg_catalog.units_changed() RETURNS trigger LANGUAGE plpgsql
                AS $$ BEGIN INSERT INTO app.unrelated VALUES (2); RETURN NULL; END $$;
            CREATE TRIGGER units_changed AFTER UPDATE ON app.units
                FOR EACH ROW EXECUTE FUNCTION pg_catalog.units_changed();
        """)

        summed = [choose(conn, _changes("app.audited", functions=(name,)), ["0005"]).tables
                  for name in ("sum", "pg_catalog.sum")]
        triggered = choose(conn, _changes("app.units"), ["0005"]).tables
        # PostgreSQL's own ts_stat() runs the query it is given: `SELECT f()` writes what f
        # writes (as PostgreSQL 18 does).
        stat = choose(conn, _changes("app.audited", functions=("ts_stat",)), ["0005"])

    assert summed == [("app.audited", "app.unrelated")] * 2
    assert triggered == ("app.ingredients", "app.notes", "app.units", "app.unrelated")
    assert (stat.tables, stat.why) == (
        None, "the revisions call ts_stat, which runs the query it is given, which dbsafe "
        "does not read")


def test_an_extension_created_in_pg_catalog_is_read_as_an_extensions(database_url: str
                                                                     ) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        # (an extension creating no type: pg_catalog takes no type)
        conn.execute("CREATE EXTENSION refint SCHEMA pg_catalog")
        conn.execute("""
            CREATE TABLE parent (id int);
            CREATE TABLE child (parent_id int);
            CREATE TRIGGER parent_cascade BEFORE DELETE ON parent FOR EACH ROW
                EXECUTE FUNCTION check_foreign_key(1, 'cascade', 'id', 'child', 'parent_id');
        """)

        called = choose(conn, _changes(functions=("check_foreign_key",)), ["0005"])
        cascading = choose(conn, _changes("parent"), ["0005"])

    assert (called.tables, called.why) == (
        None, "the revisions call check_foreign_key(), which is written in c, which dbsafe "
        "does not read")
    assert (cascading.tables, cascading.why) == (
        None, "trigger parent_cascade on parent runs check_foreign_key(), which is written "
        "in c, which dbsafe does not read")


# Column defaults and event triggers running the application's functions (an invoice number
# taken from a counter table, an audit of DDL).
EVALUATED = """
CREATE TABLE app.counters (name text PRIMARY KEY, n int);
CREATE FUNCTION app.next_invoice_number() RETURNS int LANGUAGE sql AS $$
    UPDATE app.counters SET n = n + 1 WHERE name = 'invoice' RETURNING n $$;
CREATE TABLE app.invoices (id int, number int DEFAULT app.next_invoice_number());
CREATE TABLE app.stamps (n int);
CREATE DOMAIN app.stamp AS int DEFAULT app.next_invoice_number();
CREATE TABLE app.stamped (id int, n app.stamp);
CREATE FUNCTION app.built() RETURNS int LANGUAGE plpgsql AS $$
BEGIN EXECUTE format('TRUNCATE %I', 'stamps'); RETURN 1; END $$;
CREATE TABLE app.built_default (id int, n int DEFAULT app.built());
CREATE TABLE app.ddl_log (tag text);
CREATE FUNCTION app.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO app.ddl_log VALUES (TG_TAG); END $$;
CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION app.log_ddl();
"""


def test_a_column_default_calling_a_function_reads_what_it_writes(database_url: str
                                                                  ) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + EVALUATED)
        no_ddl = {"ddl": False}

        invoices = choose(conn, _changes("app.invoices") | no_ddl, ["0005"])
        domain = choose(conn, _changes("app.stamped") | no_ddl, ["0005"])
        built = choose(conn, _changes("app.built_default") | no_ddl, ["0005"])
        # A default the revisions give (ADD COLUMN fills it into every row).
        added = choose(conn, _created_default(
            "ALTER TABLE app.unrelated ADD COLUMN number int "
            "DEFAULT app.next_invoice_number()"), ["0005"])
        # A table whose defaults call no application function, and no DDL: only it.
        units = choose(conn, _changes("app.units") | no_ddl, ["0005"])

    assert invoices.tables == ("app.counters", "app.invoices")
    assert domain.tables == ("app.counters", "app.stamped")
    assert (built.tables, built.why) == (
        None, "the default of app.built_default.n calls app.built(), which builds SQL at run "
        "time (EXECUTE)")
    assert added.tables == ("app.counters",)
    assert units.tables == ("app.ingredients", "app.notes", "app.units")


def _created_default(*sql: str) -> dict[str, object]:
    from dbsafe.lint.row_changes import RowChanges
    from dbsafe.lint.statement import parse_statement

    changes = RowChanges()
    changes.add("0005", [parse_statement(each) for each in sql])
    return changes.summary() | {"ddl": False}


def test_a_domain_default_the_revisions_columns_get_reads_what_it_writes(database_url: str
                                                                         ) -> None:
    # (task 412) app.stamp's default writes app.counters: a column the revisions add of it
    # (each row filled), one of a table they create and insert into, one of the database's
    # whose own DEFAULT they drop, then insert into; a domain of theirs made over it
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + EVALUATED + "CREATE TABLE app.hampers (id int, n app.stamp "
                                          "DEFAULT 0); CREATE DOMAIN app.plain AS int;")

        added = choose(conn, _created_default(
            "ALTER TABLE app.unrelated ADD COLUMN n app.stamp"), ["0005"])
        created = choose(conn, _created_default(
            "CREATE TABLE app.baskets (id int, n app.stamp)",
            "INSERT INTO app.baskets (id) VALUES (1)"), ["0005"])
        dropped = choose(conn, _created_default(
            "ALTER TABLE app.hampers ALTER COLUMN n DROP DEFAULT",
            "INSERT INTO app.hampers (id) VALUES (1)"), ["0005"])
        over = choose(conn, _created_default(
            "CREATE DOMAIN app.metered AS app.stamp",
            "ALTER TABLE app.unrelated ADD COLUMN n app.metered"), ["0005"])
        # a domain without a default, and a built-in type: nothing more
        plain = choose(conn, _created_default(
            "ALTER TABLE app.unrelated ADD COLUMN n app.plain, ADD COLUMN m int"), ["0005"])

    assert (added.tables, created.tables, dropped.tables, over.tables) == (
        ("app.counters",), ("app.counters",), ("app.counters", "app.hampers"),
        ("app.counters",))
    assert (plain.tables, plain.why) == ((), "no revision changes rows")


def test_an_event_trigger_the_revisions_ddl_fires_reads_what_it_writes(database_url: str
                                                                       ) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + EVALUATED)

        ddl = choose(conn, _changes("app.units") | {"ddl": True}, ["0005"])
        schema_only = choose(conn, {"revisions": ["0005"], "tables": [], "functions": [],
                                    "ddl": True}, ["0005"])
        rows_only = choose(conn, _changes("app.units") | {"ddl": False}, ["0005"])
        conn.execute("ALTER EVENT TRIGGER log_ddl DISABLE")
        disabled = choose(conn, _changes("app.units") | {"ddl": True}, ["0005"])
        conn.execute("ALTER EVENT TRIGGER log_ddl ENABLE")
        conn.execute("CREATE OR REPLACE FUNCTION app.log_ddl() RETURNS event_trigger "
                     "LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('TRUNCATE %I.%I', 'app', 'ddl_log'); END $$")
        dynamic = choose(conn, _changes("app.units") | {"ddl": True}, ["0005"])

    assert ddl.tables == ("app.ddl_log", "app.ingredients", "app.notes", "app.units")
    assert schema_only.tables == ("app.ddl_log",)
    assert rows_only.tables == disabled.tables == (
        "app.ingredients", "app.notes", "app.units")
    assert (dynamic.tables, dynamic.why) == (
        None, "event trigger log_ddl runs app.log_ddl(), which builds SQL at run time "
        "(EXECUTE)")


# Statements running a query that are no INSERT, UPDATE or DELETE (task 382): the tables they
# write, and what the functions their query (or DDL, over each row) calls write, are read.
RUNNING = """
CREATE FUNCTION app.next_immutably(n int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN PERFORM app.next_invoice_number(); RETURN n; END $$;
CREATE MATERIALIZED VIEW app.numbered AS SELECT app.next_invoice_number() AS n WITH NO DATA;
CREATE MATERIALIZED VIEW app.built_view AS SELECT app.built() AS n WITH NO DATA;
CREATE MATERIALIZED VIEW app.unit_count AS SELECT count(*) FROM app.units;
"""


# (statements, the tables read, or why every table is)
RUNNING_CASES = [
    (["EXPLAIN ANALYZE UPDATE app.units SET name = lower(name)"],
     ("app.ingredients", "app.notes", "app.units")),
    (["PREPARE unset AS DELETE FROM app.units", "EXECUTE unset"],
     ("app.ingredients", "app.notes", "app.units")),
    (["CREATE TABLE app.made AS SELECT app.next_invoice_number()"], ("app.counters",)),
    (["CREATE MATERIALIZED VIEW app.made AS SELECT app.next_invoice_number()"],
     ("app.counters",)),
    (["REFRESH MATERIALIZED VIEW app.numbered"], ("app.counters",)),
    (["REFRESH MATERIALIZED VIEW app.built_view"],
     "the revisions refresh app.built_view, whose query calls app.built(), which builds SQL "
     "at run time (EXECUTE)"),
    (["CREATE INDEX ON app.unrelated ((app.next_immutably(id)))"], ("app.counters",)),
    (["ALTER TABLE app.unrelated ADD CHECK (app.next_invoice_number() > 0)"],
     ("app.counters",)),
    # plain EXPLAIN and PREPARE run nothing; a view over built-ins writes nothing
    (["EXPLAIN UPDATE app.units SET name = 'x'", "PREPARE unset AS DELETE FROM app.units"], ()),
    (["REFRESH MATERIALIZED VIEW app.unit_count"], ()),
]


def test_a_statement_running_a_query_reads_what_it_writes(database_url: str) -> None:
    from dbsafe.lint.row_changes import RowChanges
    from dbsafe.lint.statement import parse_statement

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + EVALUATED + RUNNING + "DROP EVENT TRIGGER log_ddl")
        for statements, read in RUNNING_CASES:
            changes = RowChanges()
            changes.add("0005", [parse_statement(s) for s in statements])
            choice = choose(conn, changes.summary(), ["0005"])
            assert (choice.tables if isinstance(read, tuple) else choice.why) == read, \
                (statements, choice)
