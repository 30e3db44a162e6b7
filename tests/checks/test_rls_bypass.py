"""DBS518 and DBS519 against what the roles that may read a relation see. Each relation below
is read by every role of the test, as that role (`SET SESSION AUTHORIZATION`); it is exposed
when it shows a role more rows of the table than the table itself shows that role or any
role it may `SET ROLE` to (with `owner = current_user`, every role but the owners of one row
each sees one row of `notes`), and exactly the exposed relations' views and materialized
views are flagged, with the same answer for a `pg_monitor` member and a role with CONNECT
only (the checks read catalogs only)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dbsafe.checks import builtin_checks, connect, run, select_checks
from dbsafe.config import load_settings

pytestmark = pytest.mark.db

ROLES = ("owner", "bypass", "held", "reader", "monitor", "connect_only", "anon", "authenticated",
         "anon_member", "authenticator", "bypass_member", "lapsed", "noset_group",
         "noset_member")

# (relation the reader reads, the table it shows, the (code, subject) that answers for it)
CASES = [
    ("by_superuser", "notes", ("DBS519", "public.by_superuser")),
    ("by_table_owner", "notes", ("DBS519", "public.by_table_owner")),
    ("forced_by_table_owner", "forced", ("DBS519", "public.forced_by_table_owner")),
    ("forced_by_bypassrls", "forced", ("DBS519", "public.forced_by_bypassrls")),
    ("by_held_back", "notes", ("DBS519", "public.by_held_back")),
    ("through_view", "notes", ("DBS519", "public.through_view")),
    ("through_invoker_view", "notes", ("DBS519", "public.through_invoker_view")),
    ("through_view_over_invoker", "notes", ("DBS519", "public.through_view_over_invoker")),
    ("view_over_hidden", "notes", ("DBS519", "public.hidden")),
    ("invoker_view_over_hidden", "notes", ("DBS519", "public.hidden_from_invoker")),
    ("copy_of_inner", "notes", ("DBS519", "public.inner_copied")),
    ("post_ids", "posts", ("DBS519", "public.post_ids")),
    ("notes_view", "notes", ("DBS518", "public.notes_view")),
    ("super_notes", "notes", ("DBS518", "public.super_notes")),
    ("posts_view", "posts", ("DBS518", "public.posts_view")),
    # granted only to roles a policy USING (true) applies to (Supabase's anon and
    # authenticated), a member inheriting one's rights, a NOINHERIT one that may SET ROLE
    ("profiles_api", "profiles", ("DBS518", "public.profiles_api")),
    ("profile_ids", "profiles", ("DBS519", "public.profile_ids")),
    ("profiles_public", "profiles", ("DBS518", "public.profiles_public")),
    ("accounts_api", "accounts", ("DBS518", "public.accounts_api")),
    ("accounts_anon", "accounts", ("DBS518", "public.accounts_anon")),
    # granted only to roles the policies do not hold back, or to one FORCE holds back
    ("bypass_notes", "notes", ("DBS518", "public.bypass_notes")),
    ("bypass_note_ids", "notes", ("DBS519", "public.bypass_note_ids")),
    ("owner_notes", "notes", ("DBS518", "public.owner_notes")),
    ("owner_forced", "forced", ("DBS518", "public.owner_forced")),
    # an owner without SELECT on (some of) what the view reads: reading it fails
    ("lapsed_ids", "secrets", ("DBS518", "public.lapsed_ids")),
    ("lapsed_owners", "secrets", ("DBS518", "public.lapsed_owners")),
    ("held_over_inner", "notes", ("DBS518", "public.inner_notes")),
    ("held_over_matview", "notes", ("DBS519", "public.inner_matview")),
    # a whole row (`SELECT s FROM secrets s`) needs SELECT on every column, a system column
    # on the table: an owner with SELECT (id) fails; with every column it reads the rows
    ("lapsed_whole", "secrets", ("DBS518", "public.lapsed_whole")),
    ("lapsed_ctid", "secrets", ("DBS518", "public.lapsed_ctid")),
    ("lapsed_all_columns", "notes", ("DBS518", "public.lapsed_all_columns")),
    ("lapsed_whole_matview", "notes", ("DBS519", "public.pair_matview")),
    # the same beside TABLESAMPLE (whose clause the stored query writes, before PostgreSQL
    # 16, between the table and its selected columns)
    ("lapsed_sampled", "secrets", ("DBS518", "public.lapsed_sampled")),
    # a reader granted SELECT on one column of a view reads its rows
    ("one_column_granted", "notes", ("DBS518", "public.one_column_granted")),
]

# A member that inherits a BYPASSRLS role's rights but may not SET ROLE to it
# (PostgreSQL 16 and later): BYPASSRLS is not inherited.
CASES_16 = [
    ("noset_notes", "notes", ("DBS518", "public.noset_notes")),
    ("noset_note_ids", "notes", ("DBS519", "public.noset_note_ids")),
    # owned by that BYPASSRLS role and granted to nobody: the member reads them with the
    # owner's rights it inherits
    ("noset_owned", "notes", ("DBS518", "public.noset_owned")),
    ("noset_owned_ids", "notes", ("DBS519", "public.noset_owned_ids")),
]

SETUP = """
CREATE TABLE notes (id int PRIMARY KEY, owner text);
CREATE TABLE forced (id int PRIMARY KEY, owner text);
CREATE TABLE posts (id int PRIMARY KEY, owner text);
INSERT INTO notes VALUES (1, '{reader}'), (2, '{held}'), (3, '{owner}'), (4, '{bypass}'), (5, '');
INSERT INTO forced SELECT * FROM notes;
INSERT INTO posts SELECT * FROM notes;
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE forced ENABLE ROW LEVEL SECURITY;
ALTER TABLE forced FORCE ROW LEVEL SECURITY;
ALTER TABLE posts ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON notes USING (owner = current_user);
CREATE POLICY own ON forced USING (owner = current_user);
CREATE POLICY everyone_reads ON posts FOR SELECT USING (true);
ALTER TABLE notes OWNER TO {owner};
ALTER TABLE forced OWNER TO {owner};
ALTER TABLE posts OWNER TO {owner};
GRANT SELECT ON notes, forced, posts TO {reader}, {held}, {bypass};
CREATE VIEW super_notes AS SELECT * FROM notes;
CREATE VIEW invoker_notes WITH (security_invoker) AS SELECT * FROM notes;
CREATE VIEW super_over_invoker AS SELECT * FROM invoker_notes;
GRANT SELECT ON super_notes, invoker_notes, super_over_invoker TO {held};
CREATE MATERIALIZED VIEW by_superuser AS SELECT id FROM notes;
CREATE MATERIALIZED VIEW by_table_owner AS SELECT id FROM notes;
CREATE MATERIALIZED VIEW forced_by_table_owner AS SELECT id FROM forced;
CREATE MATERIALIZED VIEW forced_by_bypassrls AS SELECT id FROM forced;
CREATE MATERIALIZED VIEW by_held_back AS SELECT id FROM notes;
CREATE MATERIALIZED VIEW through_view AS SELECT id FROM super_notes;
CREATE MATERIALIZED VIEW through_invoker_view AS SELECT id FROM invoker_notes;
CREATE MATERIALIZED VIEW through_view_over_invoker AS SELECT id FROM super_over_invoker;
ALTER MATERIALIZED VIEW by_table_owner OWNER TO {owner};
ALTER MATERIALIZED VIEW forced_by_table_owner OWNER TO {owner};
ALTER MATERIALIZED VIEW forced_by_bypassrls OWNER TO {bypass};
ALTER MATERIALIZED VIEW by_held_back OWNER TO {held};
ALTER MATERIALIZED VIEW through_view OWNER TO {held};
ALTER MATERIALIZED VIEW through_invoker_view OWNER TO {held};
ALTER MATERIALIZED VIEW through_view_over_invoker OWNER TO {held};
REFRESH MATERIALIZED VIEW by_table_owner;
REFRESH MATERIALIZED VIEW forced_by_table_owner;
REFRESH MATERIALIZED VIEW forced_by_bypassrls;
REFRESH MATERIALIZED VIEW by_held_back;
REFRESH MATERIALIZED VIEW through_view;
REFRESH MATERIALIZED VIEW through_invoker_view;
REFRESH MATERIALIZED VIEW through_view_over_invoker;
CREATE MATERIALIZED VIEW hidden AS SELECT id FROM notes;
CREATE VIEW view_over_hidden AS SELECT id FROM hidden;
CREATE MATERIALIZED VIEW hidden_from_invoker AS SELECT id FROM notes;
CREATE VIEW invoker_view_over_hidden WITH (security_invoker) AS SELECT id FROM hidden_from_invoker;
CREATE MATERIALIZED VIEW inner_copied AS SELECT id FROM notes;
CREATE VIEW invoker_over_inner WITH (security_invoker) AS SELECT id FROM inner_copied;
CREATE MATERIALIZED VIEW copy_of_inner AS SELECT id FROM invoker_over_inner;
CREATE MATERIALIZED VIEW post_ids AS SELECT id FROM posts;
CREATE VIEW notes_view AS SELECT id FROM notes;
CREATE VIEW posts_view AS SELECT id FROM posts;
GRANT SELECT ON notes_view, super_notes, posts_view TO {reader};
GRANT SELECT ON by_superuser, by_table_owner, forced_by_table_owner, forced_by_bypassrls TO {reader};
GRANT SELECT ON by_held_back, through_view, through_invoker_view, through_view_over_invoker TO {reader};
GRANT SELECT ON view_over_hidden, invoker_view_over_hidden, copy_of_inner, post_ids TO {reader};
GRANT {anon} TO {anon_member};
ALTER ROLE {authenticator} NOINHERIT;
GRANT {anon}, {authenticated} TO {authenticator};
GRANT {bypass} TO {bypass_member};
CREATE TABLE profiles (id int PRIMARY KEY, owner text);
CREATE TABLE accounts (id int PRIMARY KEY, owner text);
CREATE TABLE secrets (id int PRIMARY KEY, owner text);
INSERT INTO profiles SELECT * FROM notes;
INSERT INTO accounts SELECT * FROM notes;
INSERT INTO secrets SELECT * FROM notes;
ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
CREATE POLICY public_read ON profiles FOR SELECT TO {anon}, {authenticated} USING (true);
CREATE POLICY public_read ON accounts FOR SELECT TO {anon}, {authenticated} USING (true);
CREATE POLICY not_first ON accounts AS RESTRICTIVE FOR SELECT TO {authenticated} USING (id > 1);
CREATE POLICY own ON secrets USING (owner = current_user);
ALTER TABLE profiles OWNER TO {owner};
ALTER TABLE accounts OWNER TO {owner};
ALTER TABLE secrets OWNER TO {owner};
GRANT SELECT ON profiles TO PUBLIC;
GRANT SELECT ON notes, forced, accounts TO {owner}, {reader}, {held}, {bypass}, {anon}, {authenticated}, {noset_group};
GRANT SELECT ON secrets TO {owner}, {reader}, {held}, {bypass}, {anon}, {authenticated}, {noset_group};
GRANT SELECT (id) ON secrets TO {lapsed};
CREATE VIEW profiles_api AS SELECT id FROM profiles;
CREATE MATERIALIZED VIEW profile_ids AS SELECT id FROM profiles;
CREATE VIEW profiles_public AS SELECT id FROM profiles;
CREATE VIEW accounts_api AS SELECT id FROM accounts;
CREATE VIEW accounts_anon AS SELECT id FROM accounts;
GRANT SELECT ON profiles_api, profile_ids, accounts_api TO {anon}, {authenticated};
GRANT SELECT ON profiles_public TO PUBLIC;
GRANT SELECT ON accounts_anon TO {anon};
CREATE VIEW bypass_notes AS SELECT id FROM notes;
CREATE MATERIALIZED VIEW bypass_note_ids AS SELECT id FROM notes;
CREATE VIEW owner_notes AS SELECT id FROM notes;
CREATE VIEW owner_forced AS SELECT id FROM forced;
GRANT SELECT ON bypass_notes, bypass_note_ids TO {bypass};
GRANT SELECT ON owner_notes, owner_forced TO {owner};
CREATE VIEW lapsed_ids AS SELECT id FROM secrets;
CREATE VIEW lapsed_owners AS SELECT owner FROM secrets;
ALTER VIEW lapsed_ids OWNER TO {lapsed};
ALTER VIEW lapsed_owners OWNER TO {lapsed};
GRANT SELECT ON lapsed_ids, lapsed_owners TO {reader};
CREATE VIEW inner_notes AS SELECT id FROM notes;
CREATE VIEW held_over_inner AS SELECT id FROM inner_notes;
ALTER VIEW held_over_inner OWNER TO {held};
CREATE MATERIALIZED VIEW inner_matview AS SELECT id FROM notes;
CREATE VIEW held_over_matview AS SELECT id FROM inner_matview;
ALTER VIEW held_over_matview OWNER TO {held};
GRANT SELECT ON held_over_inner, held_over_matview TO {reader};
CREATE VIEW lapsed_whole AS SELECT s FROM secrets AS s;
CREATE VIEW lapsed_ctid AS SELECT ctid, id FROM secrets;
GRANT SELECT (id, owner) ON notes TO {lapsed};
CREATE VIEW lapsed_all_columns AS SELECT n FROM notes AS n;
CREATE MATERIALIZED VIEW pair_matview AS SELECT id, owner FROM notes;
GRANT SELECT (id) ON pair_matview TO {lapsed};
CREATE VIEW lapsed_whole_matview AS SELECT m FROM pair_matview AS m;
CREATE VIEW lapsed_sampled AS SELECT s FROM secrets AS s TABLESAMPLE SYSTEM (100);
ALTER VIEW lapsed_whole OWNER TO {lapsed};
ALTER VIEW lapsed_sampled OWNER TO {lapsed};
ALTER VIEW lapsed_ctid OWNER TO {lapsed};
ALTER VIEW lapsed_all_columns OWNER TO {lapsed};
ALTER VIEW lapsed_whole_matview OWNER TO {lapsed};
GRANT SELECT ON lapsed_whole, lapsed_ctid, lapsed_all_columns, lapsed_whole_matview TO {reader};
GRANT SELECT ON lapsed_sampled TO {reader};
CREATE VIEW one_column_granted AS SELECT id, owner FROM notes;
GRANT SELECT (id) ON one_column_granted TO {reader};
"""

SETUP_16 = """
GRANT {noset_group} TO {noset_member} WITH INHERIT TRUE, SET FALSE;
CREATE VIEW noset_notes AS SELECT id FROM notes;
CREATE MATERIALIZED VIEW noset_note_ids AS SELECT id FROM notes;
GRANT SELECT ON noset_notes, noset_note_ids TO {noset_group};
CREATE VIEW noset_owned AS SELECT id FROM notes;
CREATE MATERIALIZED VIEW noset_owned_ids AS SELECT id FROM notes WITH NO DATA;
ALTER VIEW noset_owned OWNER TO {noset_group};
ALTER MATERIALIZED VIEW noset_owned_ids OWNER TO {noset_group};
REFRESH MATERIALIZED VIEW noset_owned_ids;
"""


def read_as(conn: psycopg.Connection, names: dict[str, str], role: str,
            cases: list[tuple[str, str, tuple[str, str]]],
            also: tuple[str, ...] = ()) -> dict[str, tuple[int | None, int]]:
    """The most rows `role` counts in each relation (None: it may not read it) and in the
    relation's table, as itself or as a role it may SET ROLE to (the test's, or `also`)."""
    def count(relation: str) -> int | None:
        try:
            return conn.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
        except psycopg.errors.InsufficientPrivilege:
            return None

    counted: dict[str, int] = {}
    conn.execute(f"SET SESSION AUTHORIZATION {names[role]}")
    try:
        for other in (*names.values(), *also):
            try:
                conn.execute(f"SET ROLE {other}")
            except psycopg.errors.InsufficientPrivilege:
                continue
            for name in {name for case in cases for name in case[:2]}:
                rows = count(name)
                if rows is not None:
                    counted[name] = max(counted.get(name, 0), rows)
            conn.execute("RESET ROLE")
    finally:
        conn.execute("RESET SESSION AUTHORIZATION")
    # every role reading a relation may read its table: the policies decide what it counts
    assert all(table in counted for relation, table, _ in cases if relation in counted), (
        role, counted)
    return {relation: (counted.get(relation), counted.get(table, 0))
            for relation, table, _ in cases}


@contextmanager
def roles_of_the_test(conn: psycopg.Connection, names: dict[str, str],
                      bypass: tuple[str, ...]) -> Iterator[None]:
    """Create the roles `names` maps to (those in `bypass` BYPASSRLS); drop them after."""
    for role, name in names.items():
        conn.execute(f"CREATE ROLE {name}{' BYPASSRLS' if role in bypass else ''}")
    try:
        yield
    finally:
        conn.execute("RESET ROLE")
        for name in names.values():  # roles are the server's: the database's go with it
            conn.execute(f"REASSIGN OWNED BY {name} TO CURRENT_USER")
            conn.execute(f"DROP OWNED BY {name}")
            conn.execute(f"DROP ROLE {name}")


def test_exactly_what_shows_a_held_back_role_hidden_rows_is_flagged(conninfo: str,
                                                                    tmp_path: Path) -> None:
    database = conninfo_to_dict(conninfo)["dbname"]
    names = {r: f"dbs_{r}_{database}"[:63] for r in ROLES}
    seen: dict[str, dict[str, tuple[int | None, int]]] = {}
    results = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        version = conn.info.server_version
        if version < 150000:
            pytest.skip("security_invoker views came in PostgreSQL 15")
        cases = CASES + (CASES_16 if version >= 160000 else [])
        with roles_of_the_test(conn, names, bypass=("bypass", "lapsed", "noset_group")):
            conn.execute(f"GRANT pg_monitor TO {names['monitor']}")
            setup = SETUP + (SETUP_16 if version >= 160000 else "")
            for statement in setup.format(**names).strip().splitlines():
                conn.execute(statement)
            seen = {role: read_as(conn, names, role, cases) for role in ROLES}
            settings = load_settings(tmp_path, environ={})
            for role in ("postgres", "monitor", "connect_only"):
                options = "" if role == "postgres" else f"-c role={names[role]}"
                with connect(make_conninfo(conninfo, options=options)) as checking:
                    results[role] = run(checking, select_checks(builtin_checks(),
                                                                ["DBS518", "DBS519"]), settings)
    exposed = {relation for counted in seen.values()
               for relation, (through, in_table) in counted.items()
               if through is not None and through > in_table}
    # what PostgreSQL 18 shows the roles: every row where the filling role is not held back,
    # to a role the policies hold back
    assert exposed == {"by_superuser", "by_table_owner", "forced_by_bypassrls", "through_view",
                       "view_over_hidden", "copy_of_inner", "notes_view", "super_notes",
                       "profiles_public", "accounts_api", "owner_forced", "lapsed_ids",
                       "lapsed_all_columns", "one_column_granted",
                       *(relation for relation, _, _ in CASES_16 if version >= 160000)}, seen
    readers = {relation: {role for role, counted in seen.items()
                          if counted[relation][0] is not None} for relation, _, _ in cases}
    # those not exposed are read, but only by roles that see every row of the table anyway
    assert readers["profiles_api"] == readers["profile_ids"] == {"anon", "authenticated",
                                                                "anon_member", "authenticator"}
    assert readers["accounts_anon"] == {"anon", "anon_member", "authenticator"}
    assert readers["bypass_notes"] == readers["bypass_note_ids"] == {"bypass", "bypass_member"}
    assert readers["owner_notes"] == {"owner"}
    # or by nobody: their readers need a grant on what they read, or their owner does
    for relation in ("invoker_view_over_hidden", "lapsed_owners", "held_over_inner",
                     "held_over_matview", "lapsed_whole", "lapsed_ctid", "lapsed_whole_matview",
                     "lapsed_sampled"):
        assert readers[relation] == set(), relation
    for role, checked in results.items():
        assert [(r.error, r.not_checked) for r in checked] == [(None, ())] * 2, role
        flagged = {(f.code, f.subject) for r in checked for f in r.findings}
        assert flagged == {answer for relation, _, answer in cases if relation in exposed}, role
    # a finding names the roles shown rows their policies hide (every role, for PUBLIC's
    # grant), as each relation flagged itself shows them
    messages = {f.subject: f.message for r in results["postgres"] for f in r.findings}
    role_of = {name: role for role, name in names.items()}
    for relation, _, (_, subject) in cases:
        if relation not in exposed or subject != f"public.{relation}":
            continue
        shown = {role for role, counted in seen.items()
                 if counted[relation][0] is not None and counted[relation][0] > counted[relation][1]}
        lets = messages[subject].split(" lets ", 1)[1].split(" read rows of ", 1)[0]
        if relation == "profiles_public":
            assert lets == "every role (through a grant to PUBLIC)"
        else:
            assert {role_of[name] for name in re.findall("`([^`]+)`", lets)} == shown, (
                relation, messages[subject])


# pg_read_all_data (PostgreSQL 14 and later) may read every relation of every database, so
# a member makes every view readable: these relations have no grant, and a database of their
# own. Each step, then what shows a role more rows than the table does.
ALL_DATA_ROLES = ("all_data", "all_data_bypass", "all_data_setter", "plain", "setter_bypass",
                  "setter_heir")
ALL_DATA_CASES = [
    ("all_notes", "notes", ("DBS518", "public.all_notes")),
    ("all_note_ids", "notes", ("DBS519", "public.all_note_ids")),
    ("invoker_notes", "notes", ("DBS518", "public.invoker_notes")),
]
ALL_DATA_SETUP = """
CREATE TABLE notes (id int PRIMARY KEY, owner text);
INSERT INTO notes VALUES (1, '{all_data}'), (2, '{all_data_setter}'), (3, '{plain}'), (4, '');
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON notes USING (owner = current_user);
GRANT SELECT ON notes TO {plain}, {setter_bypass};
CREATE VIEW all_notes AS SELECT id FROM notes;
CREATE MATERIALIZED VIEW all_note_ids AS SELECT id FROM notes;
CREATE VIEW invoker_notes WITH (security_invoker) AS SELECT id FROM notes;
"""
ALL_DATA_STEPS = [
    # a BYPASSRLS member sees every row of the table anyway
    ("GRANT pg_read_all_data TO {all_data_bypass}", set(), 140000),
    ("GRANT pg_read_all_data TO {all_data}", {"all_notes", "all_note_ids"}, 140000),
    ("REVOKE pg_read_all_data FROM {all_data}", set(), 140000),
    # a BYPASSRLS role that may only SET ROLE to it (granted SELECT on `notes`, so it sees
    # every row as itself), then a member inheriting that role's rights but not allowed to
    # SET ROLE to it: the member has neither pg_read_all_data's rights nor a way to SET ROLE
    # to it, so it reads no view (PostgreSQL 18: permission denied)
    ("GRANT pg_read_all_data TO {setter_bypass} WITH INHERIT FALSE", set(), 160000),
    ("GRANT {setter_bypass} TO {setter_heir} WITH INHERIT TRUE, SET FALSE", set(), 160000),
    # a member that may SET ROLE to it without inheriting its rights reads as it
    ("GRANT pg_read_all_data TO {all_data_setter} WITH INHERIT FALSE",
     {"all_notes", "all_note_ids"}, 160000),
]


def test_pg_read_all_data_members_read_every_view(conninfo: str, tmp_path: Path) -> None:
    database = conninfo_to_dict(conninfo)["dbname"]
    names = {r: f"dbs_{r}_{database}"[:63] for r in ALL_DATA_ROLES}
    settings = load_settings(tmp_path, environ={})
    with psycopg.connect(conninfo, autocommit=True) as conn:
        version = conn.info.server_version
        if version < 150000:
            pytest.skip("security_invoker views came in PostgreSQL 15")
        with roles_of_the_test(conn, names, bypass=("all_data_bypass", "setter_bypass")):
            for statement in ALL_DATA_SETUP.format(**names).strip().splitlines():
                conn.execute(statement)
            for step, shown_more, since in ALL_DATA_STEPS:
                if version < since:
                    continue
                conn.execute(step.format(**names))
                seen = {role: read_as(conn, names, role, ALL_DATA_CASES,
                                      also=("pg_read_all_data",)) for role in ALL_DATA_ROLES}
                exposed = {relation for counted in seen.values()
                           for relation, (through, in_table) in counted.items()
                           if through is not None and through > in_table}
                assert exposed == shown_more, (step, seen)
                with connect(conninfo) as checking:
                    checked = run(checking, select_checks(builtin_checks(),
                                                          ["DBS518", "DBS519"]), settings)
                assert {(f.code, f.subject) for r in checked for f in r.findings} == {
                    answer for relation, _, answer in ALL_DATA_CASES if relation in exposed}, step
                # and names the roles shown more rows, no member that cannot read the view
                role_of = {name: role for role, name in names.items()}
                for f in (f for r in checked for f in r.findings):
                    relation = f.subject.removeprefix("public.")
                    lets = f.message.split(" lets ", 1)[1].split(" read rows of ", 1)[0]
                    assert {role_of[name] for name in re.findall("`([^`]+)`", lets)} == {
                        role for role, counted in seen.items()
                        if (counted[relation][0] or 0) > counted[relation][1]}, (step, f.message)


# Before PostgreSQL 16 a range table entry holds the selected columns, after a TABLESAMPLE
# clause: the suite's server is 18, so these run on a throwaway 15 too.
SAMPLED_ROLES = ("lapsed", "reader")
SAMPLED_CASES = [
    ("whole_sampled", "secrets", ("DBS518", "public.whole_sampled")),
    ("ids_sampled", "secrets", ("DBS518", "public.ids_sampled")),
    ("whole_beside_sampled", "secrets", ("DBS518", "public.whole_beside_sampled")),
]
SAMPLED_SETUP = """
CREATE TABLE secrets (id int PRIMARY KEY, owner text);
INSERT INTO secrets VALUES (1, '{reader}'), (2, ''), (3, '');
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON secrets USING (owner = current_user);
GRANT SELECT ON secrets TO {reader};
GRANT SELECT (id) ON secrets TO {lapsed};
CREATE VIEW whole_sampled AS SELECT s FROM secrets AS s TABLESAMPLE SYSTEM (100);
CREATE VIEW ids_sampled AS SELECT id FROM secrets AS s TABLESAMPLE BERNOULLI (100) REPEATABLE (1);
CREATE VIEW whole_beside_sampled AS SELECT a FROM secrets AS a, secrets AS b TABLESAMPLE SYSTEM (100);
ALTER VIEW whole_sampled OWNER TO {lapsed};
ALTER VIEW ids_sampled OWNER TO {lapsed};
ALTER VIEW whole_beside_sampled OWNER TO {lapsed};
GRANT SELECT ON whole_sampled, ids_sampled, whole_beside_sampled TO {reader};
"""


@pytest.mark.parametrize("server", ["conninfo", "new_pg15_database"])
def test_a_whole_row_read_beside_tablesample_is_seen(server: str, tmp_path: Path,
                                                     request: pytest.FixtureRequest) -> None:
    conninfo = request.getfixturevalue(server)
    if server == "new_pg15_database":
        conninfo = conninfo()
    database = conninfo_to_dict(conninfo)["dbname"]
    names = {r: f"dbs_{r}_{database}"[:63] for r in SAMPLED_ROLES}
    with (psycopg.connect(conninfo, autocommit=True) as conn,
          roles_of_the_test(conn, names, bypass=("lapsed",))):
        for statement in SAMPLED_SETUP.format(**names).strip().splitlines():
            conn.execute(statement)
        seen = {role: read_as(conn, names, role, SAMPLED_CASES) for role in SAMPLED_ROLES}
        with connect(conninfo) as checking:
            checked = run(checking, select_checks(builtin_checks(), ["DBS518"]),
                          load_settings(tmp_path, environ={}))
    exposed = {relation for counted in seen.values()
               for relation, (through, in_table) in counted.items()
               if through is not None and through > in_table}
    # a whole row needs SELECT on every column, sampled or not
    assert exposed == {"ids_sampled"}, seen
    assert {(f.code, f.subject) for r in checked for f in r.findings} == {
        answer for relation, _, answer in SAMPLED_CASES if relation in exposed}


def test_both_checks_judge_the_readers_with_the_same_sql() -> None:
    """DBS518 and DBS519 share what a view's owner may read, who reads every relation through
    pg_read_all_data, and whom the policies hold back: a check file is one self-contained
    query (it runs by hand in psql, and a read-only check may not create a function), so
    each carries a copy, held here to the same text."""
    def shared(code: str) -> tuple[str, str]:
        sql = next(c.sql for c in builtin_checks() if c.code == code)
        readers = sql.index("), readers(") if code == "DBS518" else sql.index("), readable(")
        return (sql[sql.index("), owner_may_read("):readers],
                sql[sql.index("), policy_roles("):sql.index("\nSELECT\n")])

    assert shared("DBS518") == shared("DBS519")


# Supabase's shape (task 553): auth.uid() reads the request's claims, which any role may set;
# a view its owner (a superuser) reads the table through, granted to `authenticated` (and
# `anon`), keeps each reader to its own row by its WHERE. What each role sees through each
# view, as each of two users and none, is held against what it sees in the table: the rows
# it returns, and those a cheap function in the reader's own WHERE is shown (a NOTICE); no
# SELECT on the table shows nothing.
OWN_ROW_ROLES = ("anon", "authenticated", "table_owner", "superuser", "heir")
ALICE, BOB = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
OWN_ROW_SETUP = f"""
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $$;
CREATE FUNCTION seen(uuid) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$ BEGIN RAISE NOTICE '%', $1; RETURN true; END $$;
GRANT USAGE ON SCHEMA auth TO {{anon}}, {{authenticated}};
CREATE TABLE profiles (id uuid PRIMARY KEY, name text, listed boolean);
INSERT INTO profiles VALUES ('{ALICE}', 'alice', false), ('{BOB}', 'bob', false), (gen_random_uuid(), 'carol', true);
ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON profiles FOR SELECT TO {{authenticated}} USING (auth.uid() = id);
CREATE POLICY listed ON profiles FOR SELECT TO {{authenticated}} USING (listed);
CREATE TABLE notes (id uuid PRIMARY KEY, owner uuid, archived boolean);
INSERT INTO notes SELECT gen_random_uuid(), id, a FROM profiles, (VALUES (false), (true)) AS v(a);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON notes FOR SELECT TO {{authenticated}} USING (owner = (SELECT auth.uid()));
CREATE POLICY live ON notes AS RESTRICTIVE FOR SELECT TO {{authenticated}} USING (NOT archived);
CREATE TABLE clubs (id bigint, member uuid);
INSERT INTO clubs SELECT 1, id FROM profiles;
GRANT SELECT ON profiles, notes TO {{anon}}, {{authenticated}};
CREATE VIEW profiles_self WITH (security_barrier) AS SELECT * FROM profiles WHERE id = (SELECT auth.uid());
CREATE VIEW named_self WITH (security_barrier) AS SELECT id FROM profiles WHERE name IS NOT NULL AND auth.uid() = id;
CREATE VIEW all_or_own WITH (security_barrier) AS SELECT id FROM profiles WHERE id = auth.uid() OR true;
CREATE VIEW own_beside_all WITH (security_barrier) AS SELECT other.id FROM profiles AS own, profiles AS other WHERE own.id = (SELECT auth.uid());
CREATE VIEW own_with_clubs WITH (security_barrier) AS SELECT p.id FROM profiles AS p JOIN clubs AS c ON c.member = p.id WHERE p.id = auth.uid();
CREATE VIEW own_unbarred AS SELECT id FROM profiles WHERE id = (SELECT auth.uid());
CREATE VIEW own_notes WITH (security_barrier) AS SELECT id FROM notes WHERE owner = auth.uid();
CREATE VIEW live_notes WITH (security_barrier) AS SELECT id FROM notes WHERE owner = auth.uid() AND NOT archived;
CREATE VIEW own_to_anon WITH (security_barrier) AS SELECT id FROM profiles WHERE id = auth.uid();
CREATE VIEW heirs_self WITH (security_barrier) AS SELECT id FROM profiles WHERE id = (SELECT auth.uid());
ALTER TABLE profiles OWNER TO {{table_owner}};
ALTER TABLE notes OWNER TO {{table_owner}};
ALTER ROLE {{superuser}} SUPERUSER;
ALTER VIEW heirs_self OWNER TO {{superuser}};
GRANT {{superuser}} TO {{heir}} WITH INHERIT TRUE, SET FALSE;
GRANT SELECT ON heirs_self TO {{authenticated}};
GRANT SELECT ON profiles_self, named_self, all_or_own, own_beside_all, own_with_clubs, own_unbarred, own_notes, live_notes, own_to_anon TO {{authenticated}};
GRANT SELECT ON own_to_anon TO {{anon}};
"""
OWN_ROW_VIEWS = {"profiles_self": "profiles", "named_self": "profiles",
                 "all_or_own": "profiles", "own_beside_all": "profiles",
                 "own_with_clubs": "profiles", "own_unbarred": "profiles",
                 "own_notes": "notes", "live_notes": "notes", "own_to_anon": "profiles",
                 "heirs_self": "profiles"}


def test_a_view_whose_where_keeps_each_reader_to_the_policys_rows_is_not_flagged(
        conninfo: str, tmp_path: Path) -> None:
    database = conninfo_to_dict(conninfo)["dbname"]
    names = {r: f"dbs_{r}_{database}"[:63] for r in OWN_ROW_ROLES}
    exposed: set[str] = set()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if conn.info.server_version < 160000:
            pytest.skip("a view's stored query holds OLD and NEW before PostgreSQL 16")
        noticed: list[str] = []
        conn.add_notice_handler(lambda diag: noticed.append(diag.message_primary or ""))
        with roles_of_the_test(conn, names, bypass=()):
            for statement in OWN_ROW_SETUP.format(**names).strip().splitlines():
                conn.execute(statement)
            for role, user in ((r, u) for r in OWN_ROW_ROLES for u in (ALICE, BOB, "")):
                with conn.transaction(force_rollback=True):
                    conn.execute(f"SET LOCAL ROLE {names[role]}")
                    conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                                 (f'{{"sub": "{user}"}}' if user else "",))
                    conn.execute("SET LOCAL enable_indexscan = off")  # the filter on each row
                    conn.execute("SET LOCAL enable_bitmapscan = off")
                    for view, table in OWN_ROW_VIEWS.items():
                        try:
                            with conn.transaction():
                                shown = {str(r[0])
                                         for r in conn.execute(f"SELECT id FROM {table}")}
                        except psycopg.errors.InsufficientPrivilege:
                            shown = set()
                        try:
                            with conn.transaction():
                                noticed.clear()
                                seen = {str(r[0]) for r in conn.execute(
                                    f"SELECT id FROM {view} WHERE seen(id)")}
                        except psycopg.errors.InsufficientPrivilege:
                            continue
                        if (seen | set(noticed)) - shown:
                            exposed.add(view)
            with connect(conninfo) as checking:
                checked = run(checking, select_checks(builtin_checks(), ["DBS518"]),
                              load_settings(tmp_path, environ={}))
    # not profiles_self, named_self, live_notes: a second permissive policy (`listed`) shows
    # more rows in the table, never fewer; but heirs_self, whose owner's member inherits its
    # SELECT on the view, not its superuser, nor the policy for `authenticated`
    assert exposed == {"all_or_own", "own_beside_all", "own_unbarred", "own_notes",
                       "own_to_anon", "heirs_self"}
    # a view joining another table is flagged though it shows no more: dbsafe cannot tell
    assert {f.subject for r in checked for f in r.findings} == {
        f"public.{view}" for view in (*exposed, "own_with_clubs")}
