"""DBS518 and DBS519 against what a role the policies hold back reads. Each relation below is
read by that role; it is exposed when it shows the role more rows of the table than the
table itself does (every role but the owners of one row each sees one row), and exactly the
exposed relations' views and materialized views are flagged, with the same answer for a
`pg_monitor` member and a role with CONNECT only (the checks read catalogs only)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dbsafe.checks import builtin_checks, connect, run, select_checks
from dbsafe.config import load_settings

pytestmark = pytest.mark.db

ROLES = ("owner", "bypass", "held", "reader", "monitor", "connect_only")

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
"""


def test_exactly_what_shows_a_held_back_role_hidden_rows_is_flagged(conninfo: str,
                                                                    tmp_path: Path) -> None:
    database = conninfo_to_dict(conninfo)["dbname"]
    names = {r: f"dbs_{r}_{database}"[:63] for r in ROLES}
    seen: dict[str, tuple[int | None, int]] = {}
    results = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if conn.info.server_version < 150000:
            pytest.skip("security_invoker views came in PostgreSQL 15")
        conn.execute(f"CREATE ROLE {names['owner']}")
        conn.execute(f"CREATE ROLE {names['bypass']} BYPASSRLS")
        conn.execute(f"CREATE ROLE {names['held']}")
        conn.execute(f"CREATE ROLE {names['reader']}")
        conn.execute(f"CREATE ROLE {names['monitor']} IN ROLE pg_monitor")
        conn.execute(f"CREATE ROLE {names['connect_only']}")
        try:
            for statement in SETUP.format(**names).strip().splitlines():
                conn.execute(statement)
            for relation, _, _ in CASES:
                conn.execute(f"GRANT SELECT ON {relation} TO {names['reader']}")
            conn.execute(f"SET ROLE {names['reader']}")
            for relation, table, _ in CASES:
                in_table = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                try:
                    through = conn.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
                except psycopg.errors.InsufficientPrivilege:
                    through = None
                seen[relation] = (through, in_table)
            conn.execute("RESET ROLE")
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
    exposed = {relation for relation, (through, in_table) in seen.items()
               if through is not None and through > in_table}
    # what PostgreSQL 18 shows the reader: every row where the filling role is not held back
    assert exposed == {"by_superuser", "by_table_owner", "forced_by_bypassrls", "through_view",
                       "view_over_hidden", "copy_of_inner", "notes_view",
                       "super_notes"}, seen
    assert seen["invoker_view_over_hidden"][0] is None  # its readers need a grant on it
    for role, checked in results.items():
        assert [(r.error, r.not_checked) for r in checked] == [(None, ())] * 2, role
        flagged = {(f.code, f.subject) for r in checked for f in r.findings}
        assert flagged == {answer for relation, _, answer in CASES if relation in exposed}, role
