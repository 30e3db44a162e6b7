"""The atlas.hcl reader: blocks, labels, string and list attributes, what it leaves as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe.extract.atlas import (
    AtlasEnv,
    HclError,
    chosen_env,
    is_hcl_schema,
    parse_hcl,
    read_atlas_hcl,
    schema_files,
)

# Atlas's own examples, with what a project file holds around them: variables, functions,
# heredocs, comments of each kind, templates, nested blocks.
PROJECT = r'''
variable "url" {
  type        = string
  description = "The URL used for the database" // a comment
}
/* a block
   comment { } */
data "external_schema" "drizzle" {
  program = [
    "npx",
    "drizzle-kit",
    "export",
  ]
}
locals {
  banner = <<-EOT
    env "not_an_env" { src = "file://no.sql" }
  EOT
}
env "local" {
  # the desired schema
  src = ["file://schema/types.sql", "file://schema/tables.sql"]
  url = var.url
  dev = "docker://postgres/18/dev?search_path=public"
  migration {
    dir = "file://migrations"
  }
  format {
    migrate { diff = "{{ sql . \"  \" }}" }
  }
}
env "prod" {
  src = "file://${local.dir}/schema.sql"
  url = getenv("DATABASE_URL")
}
env "mysql" {
  src = "file://schema.my.hcl"
  dev = "docker://mysql/8/dev"
}
env "newer" {
  schema {
    src = data.external_schema.drizzle.url
  }
}
lint {
  naming {
    match = "^[a-z_]+$"
  }
}
'''


def test_the_envs_of_a_project_file_are_read(tmp_path: Path) -> None:
    hcl = tmp_path / "atlas.hcl"
    hcl.write_text(PROJECT)
    assert read_atlas_hcl(hcl) == [
        AtlasEnv("local", ("file://schema/types.sql", "file://schema/tables.sql"),
                 '["file://schema/types.sql", "file://schema/tables.sql"]',
                 "file://migrations", True),
        # a template, a function call, a data source: written, not evaluated
        AtlasEnv("prod", None, '"file://${local.dir}/schema.sql"', None, True),
        AtlasEnv("mysql", ("file://schema.my.hcl",), '"file://schema.my.hcl"', None, False),
        AtlasEnv("newer", None, "data.external_schema.drizzle.url", None, True),
    ]


def test_escapes_and_a_literal_dollar_brace_are_a_strings_value() -> None:
    body = parse_hcl('a = "x\\"y\\\\z $${v}"\nb = [\n  "p",\n  "q"\n]\nc = ["p", var.q]\n')
    assert body.attributes["a"].strings == ('x"y\\z ${v}',)
    assert body.attributes["b"].strings == ("p", "q")  # a list across lines
    assert body.attributes["c"].strings is None


@pytest.mark.parametrize(("text", "line"), [
    ('env "local" {\n  src = "file://a.sql"\n', 1),  # a block not closed
    ('env "local" {\n  src = "file://a.sql\n}\n', 2),  # a string not closed
    ("env {\n  = 1\n}\n", 2),
    ("a = <<EOT\nno end\n", 1),
])
def test_what_is_not_hcl_is_an_error_with_its_line(text: str, line: int) -> None:
    with pytest.raises(HclError) as raised:
        parse_hcl(text)
    assert raised.value.line == line


def test_the_env_read_is_the_named_one_else_the_only_else_local_or_dev() -> None:
    def env(name: str, postgresql: bool = True) -> AtlasEnv:
        return AtlasEnv(name, ("file://s.sql",), '"file://s.sql"', None, postgresql)

    assert chosen_env([env("prod")], None).name == "prod"
    assert chosen_env([env("prod"), env("dev")], None).name == "dev"
    assert chosen_env([env("dev"), env("local")], None).name == "local"
    assert chosen_env([env("prod"), env("ci")], None) is None
    assert chosen_env([env("prod"), env("ci")], "ci").name == "ci"
    assert chosen_env([env("mysql", False), env("prod")], None).name == "prod"


def test_a_schema_folders_sql_files_by_name_and_hcl_schemas(tmp_path: Path) -> None:
    for name in ("b.sql", "a.sql", "10.sql", "sub/c.sql", "x.pg.hcl"):
        (tmp_path / "schema" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "schema" / name).write_text("")
    assert [p.name for p in schema_files(tmp_path / "schema")] == ["10.sql", "a.sql", "b.sql"]
    assert not is_hcl_schema(tmp_path / "schema")
    assert is_hcl_schema(tmp_path / "schema" / "x.pg.hcl")
    (tmp_path / "hcl").mkdir()
    (tmp_path / "hcl" / "tables.hcl").write_text("")
    assert is_hcl_schema(tmp_path / "hcl")
