"""The relations, columns and functions a project's supabase `Database` types list
(`extract.supabase_types`), read with tree-sitter from the shapes projects commit."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dbsafe.extract.supabase_types import database_types, read_types

FIXTURES = Path(__file__).parent / "fixtures" / "supabase_types"


def test_generated_types_list_tables_views_columns_and_functions_of_each_schema() -> None:
    facts = read_types((FIXTURES / "generated.ts").read_bytes())

    assert facts is not None
    assert set(facts) == {"graphql_public", "public"}  # not the generator's options
    public = facts["public"]
    assert public["relations"] == {
        "activity_logs": ["action", "details", "id", "ip_address"],
        # listed, its members not read (tree-sitter-typescript cannot parse `in_scope` there)
        "blocks": None,
        "email accounts": ["display name", "id"],
        "active_users": ["id", "last_seen"],
    }
    assert public["functions"] == ["search_leads"]
    # its overloads, `[[required], [with a default], one unnamed json]` each
    assert public["arguments"] == {"search_leads": [[[], [], False], [["q"], [], False]]}
    # each relation's `Relationships`; `blocks`' not read, as its columns are not
    assert public["foreign_keys"] == {"activity_logs": [], "email accounts": [],
                                      "active_users": []}
    assert facts["graphql_public"] == {
        "relations": {}, "functions": ["graphql"], "foreign_keys": {},
        "arguments": {"graphql": [[[], ["extensions", "operationName"], False]]}}


def test_a_handwritten_interface_is_read_too() -> None:
    facts = read_types((FIXTURES / "handwritten.ts").read_bytes())

    assert facts == {"public": {"relations": {
        "email_accounts": ["id", "in_use", "role", "smtp_host"]},
        "functions": ["get_dashboard_stats"], "foreign_keys": {},
        "arguments": {"get_dashboard_stats": [[[], [], False]]}}}


def test_a_file_the_parser_could_not_read_around_its_relations_lists_nothing() -> None:
    """justicehub-platform's 55,000 lines: past a column named `in_scope`, tree-sitter read
    `Relationships` as a schema; nothing such a file lists is certain."""
    text = (FIXTURES / "generated.ts").read_bytes().replace(
        b"    Views: {", b"    in_views: string[]\n    in_x: {\n    Views: {", 1)

    assert read_types(text) == {}


def test_the_project_files_merge_and_a_file_changed_is_read_again(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "handwritten.ts", tmp_path / "a.ts")
    shutil.copy(FIXTURES / "generated.ts", tmp_path / "b.ts")
    (tmp_path / "c.ts").write_text("export const Database = 'Tables Row'\n", encoding="utf-8")
    files = [(str(tmp_path / n), f"src/{n}") for n in ("a.ts", "b.ts", "c.ts")]
    memo: dict = {}

    types = database_types(files, memo)

    assert types.columns("public", "email_accounts") == (
        frozenset({"id", "in_use", "role", "smtp_host"}), "src/a.ts")
    assert types.columns("public", "blocks") == (None, "src/b.ts")
    assert types.functions[("public", "search_leads")] == "src/b.ts"
    assert memo["src/c.ts"][2] is None

    (tmp_path / "a.ts").write_text("export type Database = { public: { Tables: { "
                                   "email_accounts: { Row: { id: string } } } } }\n",
                                   encoding="utf-8")
    os.utime(tmp_path / "a.ts", ns=(1, 1))  # another stamp, whatever the clock's resolution
    assert database_types(files, memo).columns("public", "email_accounts") == (
        frozenset({"id"}), "src/a.ts")
