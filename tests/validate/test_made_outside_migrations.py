"""DBS317: what a Supabase project's migrations do not make but its `Database` types list.

NRE-Infusion-OneHub's migrations are not its whole history: `027_...sql` makes
`activity_logs` `IF NOT EXISTS` without `details`/`ip_address`, and no migration makes
`email_accounts`; the `Database` type the project commits lists all three, as production
has them. Its requests reading them were 11 DBS301/DBS302 errors, false positives that
block a merge. atrium renamed `contributions.amount` to `actual_amount`: types generated
before that rename still list `amount`, and reading it stays the error it is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import Severity

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

_MIGRATIONS = {
    "20240101000000_logs.sql":
        "CREATE TABLE IF NOT EXISTS activity_logs (id uuid PRIMARY KEY, action text);\n"
        "CREATE TABLE contributions (id uuid PRIMARY KEY, amount numeric, note text);\n"
        "CREATE TABLE old_reports (id uuid PRIMARY KEY);\n",
    "20240201000000_rename.sql":
        "ALTER TABLE contributions RENAME COLUMN amount TO actual_amount;\n"
        "ALTER TABLE contributions DROP COLUMN note;\n"
        "DROP TABLE old_reports;\n"
        "DO $$ BEGIN ALTER TABLE activity_logs DROP COLUMN IF EXISTS legacy; END $$;\n",
}
# Generated before the second migration: it still lists `amount`, `note`, `old_reports`.
_TYPES = """\
export type Database = {
  public: {
    Tables: {
      activity_logs: {
        Row: { id: string; action: string; details: Json | null; ip_address: unknown
               legacy: string }
      }
      email_accounts: { Row: { id: string; smtp_host: string } }
      contributions: { Row: { id: string; amount: number; note: string } }
      old_reports: { Row: { id: string } }
    }
    Functions: { get_dashboard_stats: { Args: never; Returns: Json } }
  }
}
"""
_APP = """\
await supabase.from('activity_logs').insert({ action: 'login', details: {}, ip_address: ip })
await supabase.from('email_accounts').select('id, smtp_host')
await supabase.rpc('get_dashboard_stats')
await supabase.from('contributions').select('id, amount')
await supabase.from('contributions').select('note')
await supabase.from('old_reports').select('id')
await supabase.from('activity_logs').select('legacy, nosuch')
await supabase.from('email_acounts').select('id')
"""
_SQL = "SELECT details FROM activity_logs WHERE id = $1;\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _findings(root: Path) -> list[tuple[str, str, int, str | None]]:
    report = commands.validate(load_settings(root, environ={}), [root / "src"])
    return sorted((f.code, f.severity.value, f.location.line, f.subject)
                  for f in report.findings if f.code.startswith("DBS3")
                  and f.location is not None)


def test_what_the_types_list_and_no_migration_makes_is_a_warning_unless_a_migration_removes_it(
        tmp_path: Path) -> None:
    for name, sql in _MIGRATIONS.items():
        _write(tmp_path / "supabase" / "migrations" / name, sql)
    _write(tmp_path / "src" / "lib" / "database.types.ts", _TYPES)
    _write(tmp_path / "src" / "api.ts", _APP)
    _write(tmp_path / "src" / "queries" / "logs.sql", _SQL)

    warning, error = Severity.WARNING.value, Severity.ERROR.value
    assert _findings(tmp_path) == [
        ("DBS301", error, 6, "public.old_reports"),  # dropped: the types are older
        ("DBS301", error, 8, "public.email_acounts"),  # misspelt: no types list it
        ("DBS302", error, 4, "public.contributions.amount"),  # renamed to actual_amount
        ("DBS302", error, 5, "public.contributions.note"),  # dropped
        ("DBS302", error, 7, "public.activity_logs.legacy"),  # dropped, in a DO block
        ("DBS302", error, 7, "public.activity_logs.nosuch"),
        ("DBS317", warning, 1, "public.activity_logs.details"),
        ("DBS317", warning, 1, "public.activity_logs.details"),  # the SQL file's
        ("DBS317", warning, 1, "public.activity_logs.ip_address"),
        ("DBS317", warning, 2, "public.email_accounts"),
        ("DBS317", warning, 3, "public.get_dashboard_stats"),
    ]
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src" / "api.ts"])
    made = next(f for f in report.findings if f.subject == "public.activity_logs.details")
    assert made.code == "DBS317"
    assert made.message == (
        "column `activity_logs.details` is made by no migration in supabase/migrations, but "
        "the `Database` type in src/lib/database.types.ts lists it: it was made outside the "
        "migrations")
    assert ("Reported without the types", "DBS302: `activity_logs` has no column `details`") \
        in made.context

    # Without the types, each is the error it was.
    (tmp_path / "src" / "lib" / "database.types.ts").unlink()
    assert [code for code, *_ in _findings(tmp_path)] == ["DBS301"] * 3 + ["DBS302"] * 7 \
        + ["DBS306"]


def test_types_written_as_utf16_with_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    # Windows PowerShell 5's `supabase gen types typescript > types.ts` writes UTF-16 with a
    # byte order mark, which TypeScript reads (blunari's two `integrations/supabase/types.ts`:
    # 113 and 14 false DBS301/DBS306 errors, the tables and functions they list unread).
    _write(tmp_path / "supabase" / "migrations" / "20240101000000_logs.sql",
           "CREATE TABLE activity_logs (id uuid PRIMARY KEY, action text);\n")
    types = ("export type Database = { public: { Tables: {\r\n"
             "  tenant_settings: { Row: { id: string; theme: string } } }\r\n"
             "  Functions: { get_stats: { Args: never; Returns: Json } } } }\r\n")
    for name, encoding in (("le.ts", "utf-16"), ("be.ts", "utf-16-be")):
        path = tmp_path / "src" / "integrations" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((b"\xfe\xff" if encoding == "utf-16-be" else b"")
                         + types.encode(encoding))
        _write(tmp_path / "src" / "api.ts",
               "await supabase.from('tenant_settings').select('id, theme')\n"
               "await supabase.rpc('get_stats')\n"
               "await supabase.from('tenant_setings').select('id')\n")
        assert _findings(tmp_path) == [
            ("DBS301", Severity.ERROR.value, 3, "public.tenant_setings"),
            ("DBS317", Severity.WARNING.value, 1, "public.tenant_settings"),
            ("DBS317", Severity.WARNING.value, 2, "public.get_stats"),
        ], name
        path.unlink()


def test_a_suppression_of_the_code_a_finding_had_before_the_types_still_holds(
        tmp_path: Path) -> None:
    # A `dbsafe: ignore[DBS302]` written when the column was a DBS302 still suppresses the
    # DBS317 it becomes (and is not reported unused, DBS002); one naming DBS317 does too.
    _write(tmp_path / "supabase" / "migrations" / "20240101000000_logs.sql",
           "CREATE TABLE IF NOT EXISTS activity_logs (id uuid PRIMARY KEY, action text);\n")
    _write(tmp_path / "src" / "lib" / "database.types.ts",
           "export type Database = { public: { Tables: { activity_logs: {\n"
           "  Row: { id: string; action: string; details: Json | null; ip: string } } } } }\n")
    _write(tmp_path / "src" / "api.ts",
           "// dbsafe: ignore[DBS302]\n"
           "await supabase.from('activity_logs').select('details')\n"
           "// dbsafe: ignore[DBS317]\n"
           "await supabase.from('activity_logs').select('ip')\n"
           "await supabase.from('activity_logs').select('details, ip')\n")
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert sorted((f.code, f.location.line) for f in report.findings
                  if f.location is not None) == [("DBS317", 5), ("DBS317", 5)]


def test_select_and_ignore_of_the_code_a_finding_had_before_the_types_reach_it(
        tmp_path: Path) -> None:
    # `ignore = ["DBS302"]` (or `--ignore DBS302`) set before the project's types were read
    # silenced this column; the DBS317 it became is that same finding: still silenced, not a
    # new warning that fails the run. `--select DBS302` keeps it; the severity stays DBS317's.
    _write(tmp_path / "supabase" / "migrations" / "20240101000000_logs.sql",
           "CREATE TABLE IF NOT EXISTS activity_logs (id uuid PRIMARY KEY, action text);\n")
    _write(tmp_path / "src" / "lib" / "database.types.ts",
           "export type Database = { public: { Tables: { activity_logs: {\n"
           "  Row: { id: string; action: string; details: Json | null } } } } }\n")
    _write(tmp_path / "src" / "api.ts",
           "await supabase.from('activity_logs').select('details')\n"
           "await supabase.from('activity_logs').select('nosuch')\n")

    def codes(**overrides: object) -> list[tuple[str, str]]:
        settings = load_settings(tmp_path, overrides, environ={})
        report = commands.validate(settings, [tmp_path / "src"])
        return sorted((f.code, f.severity.value) for f in report.findings)

    warning, error = Severity.WARNING.value, Severity.ERROR.value
    assert codes() == [("DBS302", error), ("DBS317", warning)]
    assert codes(ignore=["DBS302"]) == []
    assert codes(ignore=["DBS317"]) == [("DBS302", error)]
    assert codes(select=["DBS302"]) == [("DBS302", error), ("DBS317", warning)]
    assert codes(select=["DBS317"]) == [("DBS317", warning)]


# wl-ttrpg-club's folder (two `remote_schema` migrations of 2024) makes `games` and
# `members` with no foreign key between them; its generated types list
# `fk_games_members` (`games.gamemaster_id` -> `members`), made in the dashboard since,
# and `game_schedule` referencing `games`. Its 24 embeds through them were DBS305 errors.
_RELATED_MIGRATIONS = {
    "20240101000000_remote_schema.sql":
        "CREATE TABLE members (id uuid PRIMARY KEY, name text);\n"
        "CREATE TABLE games (id uuid PRIMARY KEY, gamemaster_id uuid, title text);\n"
        "CREATE TABLE scores (id uuid PRIMARY KEY, game_id uuid, member_id uuid,\n"
        "  CONSTRAINT scores_game_fkey FOREIGN KEY (game_id) REFERENCES games);\n",
    "20240201000000_drop.sql":
        "ALTER TABLE scores DROP CONSTRAINT scores_game_fkey;\n",
}
_RELATED_TYPES = """\
export type Database = {
  public: {
    Tables: {
      members: { Row: { id: string; name: string }; Relationships: [] }
      games: {
        Row: { id: string; gamemaster_id: string; title: string }
        Relationships: [
          {
            foreignKeyName: "fk_games_members"
            columns: ["gamemaster_id"]
            isOneToOne: false
            referencedRelation: "members"
            referencedColumns: ["id"]
          },
        ]
      }
      game_schedule: {
        Row: { id: string; game_id: string; day_of_week: number }
        Relationships: [
          {
            foreignKeyName: "fk_game_schedule_games"
            columns: ["game_id"]
            isOneToOne: false
            referencedRelation: "games"
            referencedColumns: ["id"]
          },
        ]
      }
      scores: {
        Row: { id: string; game_id: string; member_id: string }
        Relationships: [
          {
            foreignKeyName: "scores_game_fkey"
            columns: ["game_id"]
            isOneToOne: false
            referencedRelation: "games"
            referencedColumns: ["id"]
          },
        ]
      }
    }
  }
}
"""
_RELATED_APP = """\
await supabase.from('games').select('id, gm:members!fk_games_members(name)')
await supabase.from('games').select('id, members!gamemaster_id(name)')
await supabase.from('games').select('id, members(name)')
await supabase.from('games').select('id, game_schedule(day_of_week)')
await supabase.from('games').select('id, members!fk_games_owner(name)')
await supabase.from('games').select('id, game_schedules(day_of_week)')
await supabase.from('games').select('id, scores(id)')
await supabase.from('members').select('id, games(title)')
"""


def test_a_foreign_key_the_types_list_and_no_migration_makes_is_a_warning_when_embedded(
        tmp_path: Path) -> None:
    for name, sql in _RELATED_MIGRATIONS.items():
        _write(tmp_path / "supabase" / "migrations" / name, sql)
    _write(tmp_path / "src" / "lib" / "database.types.ts", _RELATED_TYPES)
    _write(tmp_path / "src" / "api.ts", _RELATED_APP)

    warning, error = Severity.WARNING.value, Severity.ERROR.value
    assert _findings(tmp_path) == [
        ("DBS305", error, 5, "public.games->members!fk_games_owner"),  # no such key
        ("DBS305", error, 6, "public.games->game_schedules"),  # no types list it
        ("DBS305", error, 7, "public.games->scores"),  # its key dropped by a migration
        ("DBS317", warning, 1, "public.games->members!fk_games_members"),
        ("DBS317", warning, 2, "public.games->members!gamemaster_id"),  # the key's column
        ("DBS317", warning, 3, "public.games->members"),
        ("DBS317", warning, 4, "public.games->game_schedule"),  # the key is the target's
        ("DBS317", warning, 8, "public.members->games"),
    ]
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    made = next(f for f in report.findings
                if f.subject == "public.games->members!fk_games_members")
    assert made.message == (
        "relationship `games` -> `members` (hint `fk_games_members`) is made by no migration "
        "in supabase/migrations, but the `Database` type in src/lib/database.types.ts lists "
        "it: it was made outside the migrations")
    assert ("Reported without the types", "DBS305: `games` has no relationship to `members` "
            "matching hint `fk_games_members`") in made.context


# Coursify's folder (one `remote_commit` of 2023-04) makes `announcements` with no `parent`;
# its types list `announcements_parent_fkey` (`announcements.parent` -> `announcements`),
# and five requests embed `parent (...)`: PostgREST takes, with no hint, the origin's
# foreign-key column (or the constraint's name) as the target. They were DBS305 errors.
_TARGETS_MIGRATIONS = {
    "20230412225629_remote_commit.sql":
        "CREATE TABLE authors (id uuid PRIMARY KEY, name text);\n"
        "CREATE TABLE announcements (id uuid PRIMARY KEY, title text);\n"
        "CREATE TABLE posts (id uuid PRIMARY KEY, author uuid, body text);\n",
}
_TARGETS_TYPES = """\
export type Database = {
  public: {
    Tables: {
      authors: { Row: { id: string; name: string }; Relationships: [] }
      announcements: {
        Row: { id: string; title: string; parent: string | null }
        Relationships: [
          {
            foreignKeyName: "announcements_parent_fkey"
            columns: ["parent"]
            isOneToOne: false
            referencedRelation: "announcements"
            referencedColumns: ["id"]
          },
        ]
      }
      posts: {
        Row: { id: string; author: string; body: string }
        Relationships: [
          {
            foreignKeyName: "posts_author_fkey"
            columns: ["author"]
            isOneToOne: false
            referencedRelation: "authors"
            referencedColumns: ["id"]
          },
        ]
      }
    }
  }
}
"""
_TARGETS_APP = """\
await supabase.from('announcements').select('id, parent (id, title)')
await supabase.from('posts').select('id, author (name)')
await supabase.from('posts').select('id, posts_author_fkey (name)')
await supabase.from('authors').select('id, posts_author_fkey (body)')
await supabase.from('announcements').select('id, origin (title)')
await supabase.from('posts').select('id, body (name)')
await supabase.from('authors').select('id, announcements_parent_fkey (title)')
await supabase.from('announcements').select('id, announcements_parent_fkey (title)')
"""


def test_an_embed_naming_a_foreign_key_column_or_constraint_the_types_list_is_a_warning(
        tmp_path: Path) -> None:
    for name, sql in _TARGETS_MIGRATIONS.items():
        _write(tmp_path / "supabase" / "migrations" / name, sql)
    _write(tmp_path / "src" / "lib" / "database.types.ts", _TARGETS_TYPES)
    _write(tmp_path / "src" / "api.ts", _TARGETS_APP)

    warning, error = Severity.WARNING.value, Severity.ERROR.value
    assert _findings(tmp_path) == [
        ("DBS305", error, 5, "public.announcements->origin"),  # no key has that column
        ("DBS305", error, 6, "public.posts->body"),  # a column no key of the types holds
        # a key the types list, but between two other relations
        ("DBS305", error, 7, "public.authors->announcements_parent_fkey"),
        # a key of the origin to itself: PostgREST takes its column, never its name
        ("DBS305", error, 8, "public.announcements->announcements_parent_fkey"),
        ("DBS317", warning, 1, "public.announcements->parent"),  # the origin's key column
        ("DBS317", warning, 2, "public.posts->author"),
        ("DBS317", warning, 3, "public.posts->posts_author_fkey"),  # the constraint
        ("DBS317", warning, 4, "public.authors->posts_author_fkey"),  # the one-to-many side
    ]


_RPC_MIGRATION = """\
CREATE FUNCTION provision_tenant(p_user_id uuid, p_restaurant_name text) RETURNS uuid
    LANGUAGE sql AS $$ SELECT p_user_id $$;
CREATE FUNCTION get_stats(p_from date) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION reset_all(p_id uuid) RETURNS void LANGUAGE sql AS $$ SELECT $$;
"""
# Production's overloads (`supabase gen types typescript` writes both union shapes).
_RPC_TYPES = """\
export type Database = { public: {
  Tables: { tenants: { Row: { id: string } } }
  Functions: {
  provision_tenant: {
    Args:
      | { p_owner_email: string; p_owner_user_id: string; p_tenant_data: Json }
      | { p_restaurant_name: string; p_user_id: string }
    Returns: Json
  }
  get_stats: { Args: { p_from: string }; Returns: number }
  reset_all: { Args: Record<PropertyKey, never> | { p_id: string }; Returns: undefined }
  search_leads:
    | { Args: { lim?: number; q: string }; Returns: unknown }
    | { Args: { tag: string }; Returns: unknown }
  ingest: { Args: { "": Json }; Returns: unknown }
  twice: { Args: { a: string } | { a: string; b?: number }; Returns: unknown }
} } }
"""
_RPC_APP = """\
await supabase.rpc('provision_tenant', { p_tenant_data: {}, p_owner_email: e, p_owner_user_id: u })
await supabase.rpc('provision_tenant', { p_tenant_data: {}, p_owner_email: e })
await supabase.rpc('get_stats', { p_to: day })
const args = { p_tenant_data: {}, p_owner_email: e, p_owner_user_id: u }
await supabase.rpc('provision_tenant', args)
await supabase.rpc('reset_all')
await supabase.rpc('search_leads', { q: 'x' })
await supabase.rpc('search_leads', { q: 'x', tag: 't' })
await supabase.rpc('search_leads', { q: 'x', tag: 't' }, { get: true })
await supabase.rpc('ingest', { anything: 1 })
await supabase.rpc('twice', { a: 'x' })
"""


def test_an_rpc_is_made_outside_the_migrations_only_when_an_overload_the_types_list_takes_its_arguments(
        tmp_path: Path) -> None:
    # blunari's `rpc('provision_tenant', { p_tenant_data, p_owner_email, p_owner_user_id })`:
    # its migrations make `provision_tenant(p_user_id, p_restaurant_name, ...)`, an overload
    # made by hand has the arguments the call sends, and its types' `Args` list them.
    _write(tmp_path / "supabase" / "migrations" / "20240101000000_rpc.sql", _RPC_MIGRATION)
    _write(tmp_path / "src" / "lib" / "database.types.ts", _RPC_TYPES)
    _write(tmp_path / "src" / "api.ts", _RPC_APP)

    warning, error = Severity.WARNING.value, Severity.ERROR.value
    assert _findings(tmp_path) == [
        # no listed overload takes `p_tenant_data`, `p_owner_email` without `p_owner_user_id`
        ("DBS306", error, 2, "public.provision_tenant.p_owner_email"),
        ("DBS306", error, 2, "public.provision_tenant.p_tenant_data"),
        ("DBS306", error, 3, "public.get_stats.p_to"),  # production's has `p_from` too
        # an object bound to a name (its keys, line 4): code in between may add keys to it
        ("DBS306", error, 4, "public.provision_tenant.p_owner_email"),
        ("DBS306", error, 4, "public.provision_tenant.p_owner_user_id"),
        ("DBS306", error, 4, "public.provision_tenant.p_tenant_data"),
        ("DBS306", error, 8, "public.search_leads"),  # no overload takes both
        ("DBS306", error, 11, "public.twice"),  # two take `a`: PGRST203
        ("DBS317", warning, 1, "public.provision_tenant.p_owner_email"),
        ("DBS317", warning, 1, "public.provision_tenant.p_owner_user_id"),
        ("DBS317", warning, 1, "public.provision_tenant.p_tenant_data"),
        ("DBS317", warning, 6, "public.reset_all"),  # production's takes none
        ("DBS317", warning, 7, "public.search_leads"),  # `lim` has a default
        # sent in the query string: which overload it reaches is not read, the name is listed
        ("DBS317", warning, 9, "public.search_leads"),
        ("DBS317", warning, 10, "public.ingest"),  # one unnamed json takes the whole body
    ]
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    made = next(f for f in report.findings if f.code == "DBS317" and f.location is not None
                and f.location.line == 1 and f.subject == "public.provision_tenant.p_tenant_data")
    assert made.message == (
        "an overload of function `provision_tenant` taking `p_owner_email`, `p_owner_user_id`, "
        "`p_tenant_data` is made by no migration in supabase/migrations, but the `Database` "
        "type in src/lib/database.types.ts lists it: it was made outside the migrations")
    assert ("Reported without the types",
            "DBS306: function `public.provision_tenant` has no argument `p_tenant_data`") \
        in made.context
    refused = next(f for f in report.findings if f.subject == "public.search_leads"
                   and f.code == "DBS306")
    assert ("Listed by the `Database` type",
            "src/lib/database.types.ts lists `search_leads` taking (`q`, `lim` (has a default)) "
            "| (`tag`): none takes the arguments sent") in refused.context
