"""DBS518 and DBS519 against what the roles that may read a relation see. Each relation below
is read by every role of the test, as that role (`SET SESSION AUTHORIZATION`); it is exposed
when it shows a role more rows of the table than the table itself shows that role or any
role it may `SET ROLE` to (with `owner = current_user`, every role but the owners of one row
each sees one row of `notes`), and exactly the exposed relations' views and materialized
views are flagged, with the same answer for a `pg_monitor` member and a role with CONNECT
only (the checks read catalogs only)."""

from __future__ import annotations

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
]

# A member that inherits a BYPASSRLS role's rights but may not SET ROLE to it
# (PostgreSQL 16 and later): BYPASSRLS is not inherited.
CASES_16 = [
    ("noset_notes", "notes", ("DBS518", "public.noset_notes")),
    ("noset_note_ids", "notes", ("DBS519", "public.noset_note_ids")),
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
"""

SETUP_16 = """
GRANT {noset_group} TO {noset_member} WITH INHERIT TRUE, SET FALSE;
CREATE VIEW noset_notes AS SELECT id FROM notes;
CREATE MATERIALIZED VIEW noset_note_ids AS SELECT id FROM notes;
GRANT SELECT ON noset_notes, noset_note_ids TO {noset_group};
"""


def read_as(conn: psycopg.Connection, names: dict[str, str], role: str,
            cases: list[tuple[str, str, tuple[str, str]]]) -> dict[str, tuple[int | None, int]]:
    """What `role` counts in each relation (None: it may not read it), and the most rows it
    counts of the relation's table as itself or as a role it may SET ROLE to."""
    def count(relation: str) -> int | None:
        try:
            return conn.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
        except psycopg.errors.InsufficientPrivilege:
            return None

    conn.execute(f"SET SESSION AUTHORIZATION {names[role]}")
    try:
        through = {relation: count(relation) for relation, _, _ in cases}
        in_table: dict[str, int] = {}
        for other in ROLES:
            try:
                conn.execute(f"SET ROLE {names[other]}")
            except psycopg.errors.InsufficientPrivilege:
                continue
            for table in {table for _, table, _ in cases}:
                rows = count(table)
                if rows is not None:
                    in_table[table] = max(in_table.get(table, 0), rows)
            conn.execute("RESET ROLE")
    finally:
        conn.execute("RESET SESSION AUTHORIZATION")
    # every role reading a relation may read its table: the policies decide what it counts
    assert all(table in in_table for relation, table, _ in cases
               if through[relation] is not None), (role, through, in_table)
    return {relation: (through[relation], in_table.get(table, 0))
            for relation, table, _ in cases}


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
        for role in ROLES:
            bypass = " BYPASSRLS" if role in ("bypass", "lapsed", "noset_group") else ""
            conn.execute(f"CREATE ROLE {names[role]}{bypass}")
        conn.execute(f"GRANT pg_monitor TO {names['monitor']}")
        try:
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
        finally:
            conn.execute("RESET ROLE")
            for name in names.values():  # roles are the server's: the database's go with it
                conn.execute(f"REASSIGN OWNED BY {name} TO CURRENT_USER")
                conn.execute(f"DROP OWNED BY {name}")
                conn.execute(f"DROP ROLE {name}")
    exposed = {relation for counted in seen.values()
               for relation, (through, in_table) in counted.items()
               if through is not None and through > in_table}
    # what PostgreSQL 18 shows the roles: every row where the filling role is not held back,
    # to a role the policies hold back
    assert exposed == {"by_superuser", "by_table_owner", "forced_by_bypassrls", "through_view",
                       "view_over_hidden", "copy_of_inner", "notes_view", "super_notes",
                       "profiles_public", "accounts_api", "owner_forced", "lapsed_ids",
                       *(relation for relation, _, _ in CASES_16 if version >= 160000)}, seen
    readers = {relation: {role for role, counted in seen.items()
                          if counted[relation][0] is not None} for relation, _, _ in cases}
    # those not exposed are read, but only by roles that see every row of the table anyway
    assert readers["profiles_api"] == readers["profile_ids"] == {"anon", "authenticated",
                                                                "anon_member"}
    assert readers["accounts_anon"] == {"anon", "anon_member"}
    assert readers["bypass_notes"] == readers["bypass_note_ids"] == {"bypass", "bypass_member"}
    assert readers["owner_notes"] == {"owner"}
    # or by nobody: their readers need a grant on what they read, or their owner does
    for relation in ("invoker_view_over_hidden", "lapsed_owners", "held_over_inner",
                     "held_over_matview"):
        assert readers[relation] == set(), relation
    for role, checked in results.items():
        assert [(r.error, r.not_checked) for r in checked] == [(None, ())] * 2, role
        flagged = {(f.code, f.subject) for r in checked for f in r.findings}
        assert flagged == {answer for relation, _, answer in cases if relation in exposed}, role
