"""diff(): what differs between two snapshots, as data, without a database."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dbsafe.schema.diff import ADD, ALTER, DROP, REORDER, Change, DiffOptions, diff
from dbsafe.schema.model import (
    Column,
    Domain,
    DomainConstraint,
    Function,
    Index,
    Relation,
    Rule,
    SchemaSnapshot,
    replace,
)

SHOP = SchemaSnapshot.load(Path(__file__).parent / "fixtures" / "shop.json")


def _replace_relation(snapshot: SchemaSnapshot, schema: str, table: str, **changes: object,
                      ) -> SchemaSnapshot:
    relations = tuple(replace(r, **changes) if (r.schema, r.name) == (schema, table)
                      else r for r in snapshot.relations)
    return replace(snapshot, relations=relations)


def _table(name: str, *columns: str, schema: str = "public") -> Relation:
    return Relation(schema, name, "table", columns=tuple(
        Column(c, "integer", i) for i, c in enumerate(columns, start=1)))


def test_a_snapshot_has_no_difference_with_itself() -> None:
    assert diff(SHOP, SHOP) == ()


def test_column_type_change_is_one_alter_with_old_and_new_value() -> None:
    customers = SHOP.relation("shop", "customers")
    columns = tuple(replace(c, type="character varying(200)") if c.name == "email"
                    else c for c in customers.columns)
    target = _replace_relation(SHOP, "shop", "customers", columns=columns)
    old_type = customers.column("email").type
    assert diff(SHOP, target) == (
        Change(ALTER, "column", ("shop", "customers", "email"), "type", old_type,
               "character varying(200)"),
    )


def test_renaming_one_table_changes_no_other_identity() -> None:
    target = _replace_relation(SHOP, "shop", "products", name="items")
    changes = diff(SHOP, target)
    assert {(c.action, c.subject) for c in changes} == {
        (DROP, "shop.products"), (ADD, "shop.items")}


def test_column_order_alone_is_a_separate_reorder_change() -> None:
    a = SchemaSnapshot(relations=(_table("t", "a", "b", "c"),))
    b = SchemaSnapshot(relations=(_table("t", "a", "c", "b"),))
    assert diff(a, b) == (
        Change(REORDER, "column", ("public", "t"), "column_order", ("a", "b", "c"),
               ("a", "c", "b")),
    )
    assert diff(a, b, DiffOptions(ignore_kinds=frozenset({"column_order"}))) == ()


def test_added_column_in_the_middle_is_an_add_and_a_reorder() -> None:
    a = SchemaSnapshot(relations=(_table("t", "a", "c"),))
    b = SchemaSnapshot(relations=(_table("t", "a", "b", "c"),))
    assert [(c.action, c.subject) for c in diff(a, b)] == [(ADD, "public.t.b")]


def test_order_does_not_depend_on_input_order() -> None:
    target = _replace_relation(SHOP, "shop", "products", name="items")
    target = _replace_relation(target, "public", "CustomerNotes", rls_enabled=True)
    shuffled = list(target.relations)
    random.Random(7).shuffle(shuffled)
    assert diff(SHOP, replace(target, relations=tuple(shuffled))) == \
        diff(SHOP, target)
    assert [c.subject for c in diff(SHOP, target)] == [
        "public.CustomerNotes", "shop.items", "shop.products"]


def test_overloads_are_told_apart_by_identity_arguments() -> None:
    one = Function("public", "f", identity_arguments="integer", definition="A")
    two = Function("public", "f", identity_arguments="text", definition="B")
    changed = replace(two, definition="C")
    changes = diff(SchemaSnapshot(functions=(one, two)), SchemaSnapshot(functions=(one, changed)))
    assert [(c.action, c.subject, c.attribute) for c in changes] == [
        (ALTER, "public.f(text)", "definition")]


def test_index_definition_change_is_reported_once() -> None:
    a = _table("t", "a", "b")
    a = replace(a, indexes=(Index("t_idx", "CREATE INDEX t_idx ON public.t USING "
                                              "btree (a)", ("a",)),))
    b = replace(a, indexes=(Index("t_idx", "CREATE INDEX t_idx ON public.t USING "
                                              "btree (b)", ("b",)),))
    changes = diff(SchemaSnapshot(relations=(a,)), SchemaSnapshot(relations=(b,)))
    assert [(c.kind, c.attribute) for c in changes] == [("index", "definition")]


@pytest.mark.parametrize(
    ("options", "left"),
    [
        pytest.param(DiffOptions(), {"shop.items", "shop.products", "public.CustomerNotes"},
                     id="nothing-ignored"),
        pytest.param(DiffOptions(ignore_kinds=frozenset({"table"})), set(), id="kind"),
        pytest.param(DiffOptions(ignore_schemas=frozenset({"shop"})),
                     {"public.CustomerNotes"}, id="schema"),
        pytest.param(DiffOptions(ignore_names=("shop.*",)), {"public.CustomerNotes"},
                     id="name-pattern"),
        pytest.param(DiffOptions(ignore_kinds=frozenset({"owner"})),
                     {"shop.items", "shop.products"}, id="owner"),
    ],
)
def test_ignores(options: DiffOptions, left: set[str]) -> None:
    target = _replace_relation(SHOP, "shop", "products", name="items")
    target = _replace_relation(target, "public", "CustomerNotes", owner="someone_else")
    assert {c.subject for c in diff(SHOP, target, options)} == left


def test_name_pattern_also_leaves_out_what_is_inside_the_object() -> None:
    a = SchemaSnapshot(relations=(_table("tmp_x", "a"), _table("t", "a")))
    b = SchemaSnapshot(relations=(_table("tmp_x", "a", "b"), _table("t", "a", "b")))
    options = DiffOptions(ignore_names=("public.tmp_*",))
    assert [c.subject for c in diff(a, b, options)] == ["public.t.b"]


def test_unknown_kind_to_ignore_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        DiffOptions(ignore_kinds=frozenset({"tables"}))


def test_format_1_snapshot_compares_by_what_it_has() -> None:
    old = SchemaSnapshot.load(Path(__file__).parent / "fixtures" / "shop_format1.json")
    kinds = {c.attribute for c in diff(old, SHOP) if c.action == ALTER}
    # Only fields format 1 did not have can differ.
    assert "type" not in kinds and "definition" in kinds


@pytest.mark.parametrize("backwards", [False, True], ids=["1-to-2", "2-to-1"])
def test_ddl_for_a_format_1_snapshot_is_planned_without_error(backwards: bool) -> None:
    from dbsafe.schema.ddl import plan, render_sql

    old = SchemaSnapshot.load(Path(__file__).parent / "fixtures" / "shop_format1.json")
    a, b = (SHOP, old) if backwards else (old, SHOP)
    script = render_sql(plan(a, b, diff(a, b))).text
    assert script.startswith("-- Generated by dbsafe")


def test_ddl_from_and_to_nothing_is_planned_without_error() -> None:
    from dbsafe.schema.ddl import plan

    empty = SchemaSnapshot(schemas=("public",))
    created = plan(empty, SHOP, diff(empty, SHOP))
    dropped = plan(SHOP, empty, diff(SHOP, empty))
    assert any(s.sql.startswith("CREATE TABLE shop.orders ") for s in created)
    assert any(s.sql == "DROP TABLE shop.orders" for s in dropped)


def test_a_materialized_view_left_unpopulated_differs_and_a_file_without_the_field_is_populated(
        ) -> None:
    view = Relation("public", "totals", "materialized_view", definition=" SELECT 1;")
    empty = SchemaSnapshot(schemas=("public",), relations=(replace(view, populated=False),))
    full = SchemaSnapshot(schemas=("public",), relations=(view,))
    assert diff(empty, full) == (Change(ALTER, "materialized_view", ("public", "totals"),
                                        "populated", False, True),)
    # Files written before diff compared it say nothing when the view was populated.
    data = full.to_dict()
    assert "populated" not in data["relations"][0]
    assert SchemaSnapshot.from_dict(data).relations[0].populated is True
    assert '"populated": false' in empty.to_json()


def test_default_privileges_are_compared_by_schema_role_and_object_type() -> None:
    from dbsafe.schema.ddl import plan
    from dbsafe.schema.model import DefaultPrivileges

    in_public = DefaultPrivileges("app", "tables", "public", ("anon=r/app",))
    a = SchemaSnapshot(schemas=("public",), default_privileges=(in_public,))
    b = SchemaSnapshot(schemas=("public",), default_privileges=(
        replace(in_public, acl=("anon=arw/app",)),
        DefaultPrivileges("app", "functions", None, ("app=X/app",)),
    ))
    changes = diff(a, b)
    assert [(c.action, c.subject) for c in changes] == [
        (ADD, "*.app.functions"), (ALTER, "public.app.tables")]
    # Every schema's entry replaces the built-in privileges (here: PUBLIC's EXECUTE); a
    # schema's adds to them. Only the privileges that differ change (task 568).
    assert [s.sql for s in plan(a, b, changes)] == [
        "ALTER DEFAULT PRIVILEGES FOR ROLE app REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC",
        "ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public GRANT UPDATE, INSERT "
        "ON TABLES TO anon",
    ]
    assert diff(a, b, DiffOptions.parse(["grant"])) == ()
    assert diff(a, b, DiffOptions.parse(["default-privileges"])) == ()


def test_a_renamed_role_is_renamed_in_default_privileges_too() -> None:
    from dbsafe.schema.diff import with_role_renamed
    from dbsafe.schema.model import DefaultPrivileges

    built = SchemaSnapshot(default_privileges=(
        DefaultPrivileges("postgres", "tables", "public", ("anon=r/postgres",)),))
    renamed = with_role_renamed(built, "postgres", "app")
    assert renamed.default_privileges == (
        DefaultPrivileges("app", "tables", "public", ("anon=r/app",)),)


def test_a_renamed_role_is_spelled_in_acls_as_postgresql_spells_it() -> None:
    """aclitem text quotes a name unless it is letters, digits and underscores (putid):
    PostgreSQL 18 prints `Deployer=r/postgres` and `"a$b"=r/postgres`."""
    from dbsafe.schema.diff import with_role_renamed

    built = SchemaSnapshot(relations=(replace(_table("t", "id"), acl=(
        "postgres=arwdDxtm/postgres", "x=r/postgres")),))
    assert with_role_renamed(built, "postgres", "Deployer").relations[0].acl == (
        "Deployer=arwdDxtm/Deployer", "x=r/Deployer")
    assert with_role_renamed(built, "postgres", "a$b").relations[0].acl == (
        '"a$b"=arwdDxtm/"a$b"', 'x=r/"a$b"')


def test_a_table_created_under_default_privileges_that_give_nothing_gets_the_targets() -> None:
    # `ALTER DEFAULT PRIVILEGES REVOKE ALL ON TABLES FROM app`: the table the script creates
    # has no privileges at all, not the built-in ones (its snapshot cannot tell `{}` from
    # NULL, so the round trip would not see it).
    from dbsafe.schema.ddl import plan
    from dbsafe.schema.model import DefaultPrivileges

    nothing = DefaultPrivileges("app", "tables", None, ())
    a = SchemaSnapshot(schemas=("public",), default_privileges=(nothing,))
    table = replace(_table("t", "id"), owner="app")
    b = SchemaSnapshot(schemas=("public",), relations=(table,), default_privileges=(nothing,))
    grants = [s.sql for s in plan(a, b, diff(a, b)) if "GRANT" in s.sql]
    assert grants == ["GRANT SELECT, UPDATE, INSERT, DELETE, TRUNCATE, REFERENCES, TRIGGER, "
                      "MAINTAIN ON TABLE public.t TO app"]


def test_event_triggers_are_compared_by_name_and_planned_around_the_rest() -> None:
    from dbsafe.schema.ddl import plan
    from dbsafe.schema.model import EventTrigger

    watch = EventTrigger("watch", "ddl_command_end", "public.log_ddl()", ("CREATE TABLE",))
    a = SchemaSnapshot(event_triggers=(
        watch, EventTrigger("gone", "sql_drop", "public.log_drop()"),
        EventTrigger("paused", "table_rewrite", "public.log_ddl()")))
    b = SchemaSnapshot(event_triggers=(
        replace(watch, tags=("ALTER TABLE", "CREATE TABLE"), function='audit."Record"()'),
        EventTrigger("paused", "table_rewrite", "public.log_ddl()", enabled="disabled"),
        EventTrigger("new", "ddl_command_start", "public.log_ddl()", enabled="always",
                     comment="it's new")))
    changes = diff(a, b)
    assert [c.describe() for c in changes] == [
        "event trigger `gone`: only in the source",
        "event trigger `new`: only in the target",
        "event trigger `paused`: enabled differs (origin -> disabled)",
        'event trigger `watch`: function differs (public.log_ddl() -> audit."Record"())',
        "event trigger `watch`: tags differs ((CREATE TABLE) -> (ALTER TABLE, CREATE TABLE))",
    ]
    statements = plan(a, b, changes)
    # Dropped and disabled before every other step, created and enabled after them: none
    # fires on the script's own DDL; a change CREATE sets is one DROP and one CREATE.
    assert [s.sql for s in statements] == [
        "DROP EVENT TRIGGER gone",
        "ALTER EVENT TRIGGER paused DISABLE",
        "DROP EVENT TRIGGER watch",
        "CREATE EVENT TRIGGER new ON ddl_command_start EXECUTE FUNCTION public.log_ddl()",
        "ALTER EVENT TRIGGER new ENABLE ALWAYS",
        "COMMENT ON EVENT TRIGGER new IS 'it''s new'",
        "CREATE EVENT TRIGGER watch ON ddl_command_end WHEN TAG IN ('ALTER TABLE', "
        "'CREATE TABLE') EXECUTE FUNCTION audit.\"Record\"()",
    ]
    created = next(s for s in statements if s.sql.startswith("CREATE EVENT TRIGGER new"))
    assert [h.kind for h in created.hazards] == ["requires-superuser"]
    assert "Only a superuser can create it" in created.hazards[0].message
    assert diff(a, b, DiffOptions.parse(["event-trigger"])) == ()


def test_an_event_trigger_running_a_function_of_a_schema_left_out_is_left_out() -> None:
    # Supabase's platform makes its own (pgrst_ddl_watch, issue_pg_graphql_access, ...),
    # each running a function in `extensions`, a schema drift leaves to the platform.
    from dbsafe.schema.diff import function_schema
    from dbsafe.schema.model import EventTrigger

    platform = EventTrigger("pgrst_ddl_watch", "ddl_command_end", "extensions.pgrst_ddl_watch()")
    own = EventTrigger("mine", "ddl_command_end", '"My.Schema".watch()')
    live = SchemaSnapshot(event_triggers=(own, platform))
    options = DiffOptions(ignore_schemas=frozenset({"extensions"}))
    assert [c.subject for c in diff(live, SchemaSnapshot(), options)] == ["mine"]
    assert [c.subject for c in diff(live, SchemaSnapshot())] == ["mine", "pgrst_ddl_watch"]
    assert function_schema(own.function) == "My.Schema"


def test_an_aggregate_read_by_an_older_dbsafe_differs_only_when_both_have_a_definition(
        ) -> None:
    # Older snapshots hold no aggregate's definition: no difference against a new read;
    # two definitions are compared as any function's.
    def aggregate(definition: str | None) -> SchemaSnapshot:
        return SchemaSnapshot(functions=(Function(
            "public", "total", kind="aggregate", identity_arguments="integer",
            definition=definition),))

    new = "CREATE OR REPLACE AGGREGATE public.total(integer) (SFUNC = add_up, STYPE = bigint)"
    assert diff(aggregate(None), aggregate(new)) == ()
    assert diff(aggregate(new), aggregate(None)) == ()
    changed = new.replace("bigint", "numeric")
    assert [(c.action, c.attribute) for c in diff(aggregate(new), aggregate(changed))] == [
        (ALTER, "definition")]


def test_a_domain_constraint_comment_alone_differs_and_is_left_out_with_the_comments() -> None:
    """The comment on a domain's constraint (`COMMENT ON CONSTRAINT ... ON DOMAIN`) is a
    difference of its own; `--ignore comment` leaves out one where nothing else differs."""
    check = DomainConstraint("d_check", "CHECK ((VALUE > 0))")
    a = SchemaSnapshot(domains=(Domain("public", "d", "integer", constraints=(check,)),))
    b = replace(a, domains=(replace(a.domains[0], constraints=(
        replace(check, comment="above zero"),)),))
    assert [(c.kind, c.attribute) for c in diff(a, b)] == [("domain", "constraints")]
    assert diff(a, b, DiffOptions.parse(["comment"])) == ()
    redefined = replace(b, domains=(replace(b.domains[0], constraints=(
        replace(check, definition="CHECK ((VALUE > 1))", comment="above zero"),)),))
    assert len(diff(a, redefined, DiffOptions.parse(["comment"]))) == 1


def test_an_index_cluster_mark_statistics_and_a_rule_alone_differ() -> None:
    index = Index("t_expr", "CREATE INDEX t_expr ON public.t USING btree ((a + 1))")
    rule = Rule("t_log", "CREATE RULE t_log AS ON INSERT TO public.t DO NOTHING;")
    a = SchemaSnapshot(relations=(replace(_table("t", "a"), indexes=(index,)),))
    b = replace(a, relations=(replace(a.relations[0], rules=(rule,), indexes=(
        replace(index, clustered=True, statistics=("1=500",)),)),))
    assert sorted((c.action, c.kind, c.attribute) for c in diff(a, b)) == [
        (ADD, "rule", None), (ALTER, "index", "clustered"), (ALTER, "index", "statistics")]


def test_range_types_and_casts_are_compared_shown_and_planned() -> None:
    from dbsafe.schema.ddl import plan
    from dbsafe.schema.diff import findings
    from dbsafe.schema.model import Cast, RangeType

    a = SchemaSnapshot(
        range_types=(RangeType("public", "floatrange", "double precision",
                               "public.floatmultirange"),),
        casts=(Cast("mood", "integer", "public.mood_rank(mood)"),))
    b = SchemaSnapshot(
        range_types=(RangeType("public", "floatrange", "numeric", "public.floatmultirange"),
                     RangeType("public", "uuidrange", "uuid", "public.uuidmultirange")),
        casts=(Cast("mood", "integer", "public.mood_rank(mood)", "assignment"),))
    changes = diff(a, b)
    assert [c.describe() for c in changes] == [
        "cast `(mood AS integer)`: context differs (explicit -> assignment)",
        "range type `public.floatrange`: subtype differs (double precision -> numeric)",
        "range type `public.uuidrange`: only in the target",
    ]
    shown = {f.subject: f.context for f in findings(changes)}
    assert shown["public.uuidrange"] == (("Target", "AS RANGE (subtype = uuid)"),)
    statements = plan(a, b, changes)
    assert [s.sql for s in statements] == [
        "-- range type public.floatrange is not generated",
        "CREATE TYPE public.uuidrange AS RANGE (subtype = uuid, "
        "multirange_type_name = public.uuidmultirange)",
        "DROP CAST (mood AS integer)",
        "CREATE CAST (mood AS integer) WITH FUNCTION public.mood_rank(mood) AS ASSIGNMENT",
    ]
    assert [h.kind for h in statements[0].hazards] == ["not-generated"]
    assert diff(a, b, DiffOptions.parse(["range_type", "cast"])) == ()


def _emitted_hazard_kinds() -> set[str]:
    """Every hazard kind the planner can emit: the literal first argument of each
    `Hazard(...)` in dbsafe/schema/ddl.py (either side of a conditional)."""
    import ast

    import dbsafe.schema.ddl as ddl

    kinds: set[str] = set()
    for node in ast.walk(ast.parse(Path(ddl.__file__).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Hazard":
            kind = node.args[0]
            options = (kind.body, kind.orelse) if isinstance(kind, ast.IfExp) else (kind,)
            kinds |= {o.value for o in options if isinstance(o, ast.Constant)}
    return kinds


def test_every_hazard_the_planner_emits_is_documented() -> None:
    import dbsafe.schema.ddl as ddl

    kinds = _emitted_hazard_kinds()
    assert {"data-loss", "policy-gap", "replica-identity-gap"} <= kinds
    docs = (Path(__file__).parents[2] / "docs" / "diff.md").read_text(encoding="utf-8")
    for where, text in (("ddl's docstring", ddl.__doc__ or ""),
                        ("Hazard's docstring", ddl.Hazard.__doc__ or ""),
                        ("docs/diff.md's table", docs)):
        flat = " ".join(text.split())
        prefix = "| `" if where.startswith("docs") else "`"
        assert [k for k in sorted(kinds) if f"{prefix}{k}`" not in flat] == [], where


def test_the_database_settings_come_last_its_own_before_each_roles() -> None:
    """`dbsafe diff` listed a role's setting in the database (`role setting app`) before the
    database's own (`database setting search_path`), and both among the schemas' objects
    (by name: `app` < `search_path` < `zz`), where snapshots keep the database's first and
    `--sql` sets them last, the database's first (task 458)."""
    from dbsafe.schema.diff import groups
    from dbsafe.schema.model import Setting

    source = SchemaSnapshot(database_settings=())
    target = SchemaSnapshot(relations=(Relation("zz", "t", "table"),), database_settings=(
        Setting("search_path", "zz, public"), Setting("work_mem", "64MB", role="app")))
    changes = diff(source, target, DiffOptions(database_settings=True))
    assert groups(changes, source, target) == [
        "table zz.t", "database setting search_path", "role setting app"]


def test_maintain_is_no_difference_between_a_server_before_17_and_a_later_one() -> None:
    # An owner holds MAINTAIN from PostgreSQL 17 on: a table granted to PUBLIC on 15 reads
    # `postgres=arwdDxt/postgres`, on 18 `arwdDxtm` (drift of a 15 database against the
    # migrations built on the embedded 18 said the table differs in acl, DBS403).
    on_15 = SchemaSnapshot(server_version=150018, relations=(Relation(
        "public", "t", "table", acl=("=r/postgres", "postgres=arwdDxt/postgres")),))
    on_18 = SchemaSnapshot(server_version=180001, relations=(Relation(
        "public", "t", "table", acl=("=r/postgres", "ops=m/postgres",
                                     "postgres=arwdDxtm/postgres")),))
    assert diff(on_15, on_18) == () and diff(on_18, on_15) == ()
    # Between two servers that know MAINTAIN it is a privilege like any other.
    assert [(c.subject, c.attribute) for c in diff(
        replace(on_15, server_version=170000), on_18)] == [("public.t", "acl")]
    # ... and a difference in another privilege is still one.
    assert [(c.subject, c.attribute) for c in diff(on_15, replace(on_18, relations=(
        Relation("public", "t", "table", acl=("postgres=arwdDxtm/postgres",)),)))] == [
        ("public.t", "acl")]
