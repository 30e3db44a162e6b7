"""`dbsafe.extract.psql`: a script read as psql runs it (variables, includes, `\\if`), held
to what psql itself sends; and the variables a Sqitch project hands psql."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dbsafe.core import SourceError
from dbsafe.extract.psql import PsqlSession, read_script
from dbsafe.extract.sqitch import sqitch_project
from dbsafe.pg.throwaway import bin_dir

# Where psql substitutes and where it does not (strings, quoted identifiers, comments,
# dollar quotes, `::`), `\set` with a quoted value, `\ir` relative to the file and `\i`
# relative to the working directory, `\unset` seen by the including file, `\if`, and a
# raw value holding a `;` (two statements).
_SCRIPTS = {
    "main.sql": (
        "SELECT :'lit', :\"ident\", :raw, ':lit', \":ident\", $$ :raw $$, 1::int, 'a'::text;\n"
        "-- :raw in a comment\n"
        "SELECT /* :raw */ :'back', :{?lit}, :{?nope}, :'nope', :nope, a[1:2] FROM "
        "(SELECT ARRAY[1,2,3] AS a) s;\n"
        "\\set own 'it''s' mine\n"
        "SELECT :'own', :\"quote\";\n"
        "\\ir sub/inc.sql\n"
        "SELECT :'own' AS after_unset;\n"
        "\\if :{?lit}\nSELECT 'in if';\n\\else\nSELECT 'in else';\n\\endif\n"
        "\\if false\nSELECT 'never';\n\\elif :yes\nSELECT 'elif';\n\\endif\n"
        "SELECT :twostmts;\n"
        "SELECT E'x:raw', U&'d:raw', B'1' :empty;\n"),
    "sub/inc.sql": "SELECT :'own' AS included;\n\\i sub/deeper.sql\n",
    "sub/deeper.sql": "\\unset own\nSELECT 1 AS deeper;\n",
}
_VARIABLES = {"lit": "a'b", "ident": 'My"Tbl', "raw": "1+1", "back": "c:\\dir", "quote": "q",
              "yes": "on", "twostmts": "1; SELECT 2", "empty": ""}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _read(root: Path, name: str, variables: dict[str, str]) -> list[tuple[str, int, str]]:
    session = PsqlSession(dict(variables), root, lambda p: p.relative_to(root).as_posix())
    return [(f.path, f.line, f.sql) for f in read_script(root / name, session)]


@pytest.mark.db
def test_statements_are_those_psql_sends(tmp_path: Path, database_url: str) -> None:
    _write(tmp_path, _SCRIPTS)
    # psql --echo-queries prints each query as it sends it, its variables substituted.
    command = [str(bin_dir() / "psql"), "--no-psqlrc", "--quiet", "--echo-queries",
               "--dbname", database_url, "--file", "main.sql"]
    for name, value in _VARIABLES.items():
        command += ["--set", f"{name}={value}"]
    sent = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                          check=False).stdout
    read = _read(tmp_path, "main.sql", _VARIABLES)
    assert [sql + ";" for _, _, sql in read] == [
        line for line in sent.splitlines() if line.startswith("SELECT")]
    assert [(path, line) for path, line, _ in read] == [
        ("main.sql", 1), ("main.sql", 3), ("main.sql", 5), ("sub/inc.sql", 1),
        ("sub/deeper.sql", 2), ("main.sql", 7), ("main.sql", 9), ("main.sql", 16),
        ("main.sql", 18), ("main.sql", 18), ("main.sql", 19)]


def test_values_are_quoted_as_psql_quotes_them(tmp_path: Path) -> None:
    _write(tmp_path, {"a.sql": "SELECT :'v', :\"v\", :v;\nSELECT :'w', :\"unset\";\n"})
    assert [sql for _, _, sql in _read(tmp_path, "a.sql", {"v": 'it\'s "x"', "w": "a\\b"})] == [
        "SELECT 'it''s \"x\"', \"it's \"\"x\"\"\", it's \"x\"",  # the raw value as it is
        "SELECT  E'a\\\\b', :\"unset\""]  # PQescapeLiteral: E'' for a backslash


def test_a_findings_column_after_a_value_still_points_into_the_file(tmp_path: Path) -> None:
    _write(tmp_path, {"a.sql": "-- x\nCREATE TABLE :\"schema\".t (\n  id int);\n"})
    session = PsqlSession({"schema": "a_long_schema_name"}, tmp_path, lambda p: p.name)
    [fragment] = read_script(tmp_path / "a.sql", session)
    assert fragment.sql == 'CREATE TABLE "a_long_schema_name".t (\n  id int)'
    assert fragment.position(fragment.sql.index(".t")) == (2, 23)  # after `:"schema"`
    assert fragment.position(fragment.sql.index("id")) == (3, 3)


@pytest.mark.parametrize(("files", "error"), [
    ({"a.sql": "SELECT 1;\n\\ir b.sql\n"}, r"a.sql:2: \\ir b.sql: no such file \(b.sql\)"),
    ({"a.sql": "\\ir b.sql\n", "b.sql": "\\i a.sql\n"},
     r"psql includes a.sql within itself \(a.sql -> b.sql -> a.sql\)"),
    ({"a.sql": "\\if on\nSELECT 1;\n"}, r"a.sql: a \\if is not closed by \\endif"),
    ({"a.sql": "\\if :nope\n\\endif\n"}, r"a.sql:1: \\if ':nope' is no boolean"),
    ({"a.sql": "\\endif\n"}, r"a.sql:1: \\endif without \\if"),
], ids=["missing", "loop", "unclosed-if", "not-boolean", "endif-alone"])
def test_what_stops_psql_is_one_error(files: dict[str, str], error: str,
                                      tmp_path: Path) -> None:
    _write(tmp_path, files)
    with pytest.raises(SourceError, match=error):
        _read(tmp_path, "a.sql", {})


def test_sqitch_merges_variables_per_command_keeping_their_case(tmp_path: Path) -> None:
    # As `sqitch deploy` / `sqitch revert` pass them to psql (checked with Sqitch 1.3.1):
    # core < deploy (< revert) < engine < target, names as written, `registry` last.
    _write(tmp_path, {
        "sqitch.conf": "[core]\n\tengine = Pg\n\ttarget = dev\n"
                       '[target "dev"]\n\turi = db:pg:x\n\tregistry = meta\n'
                       '[core "variables"]\n\tLvl = core\n\tlvl = core\n\tregistry = mine\n'
                       '[deploy "variables"]\n\tlvl = deploy\n\tonly_deploy = d\n'
                       '[revert "variables"]\n\tlvl = revert\n'
                       '[verify "variables"]\n\tchecked = yes\n'
                       '[engine "pg.variables"]\n\tengine_level = e\n'
                       '[target "dev.variables"]\n\ttarget_level = t\n',
        "sqitch.plan": "%project=x\n\na 2024-01-01T00:00:00Z A <a@example.com>\n"})
    project = sqitch_project(tmp_path)
    assert project is not None and project.engine == "pg"  # URI schemes ignore case
    common = {"Lvl": "core", "only_deploy": "d", "engine_level": "e", "target_level": "t",
              "registry": "meta"}
    assert project.variables("deploy") == {**common, "lvl": "deploy"}
    assert project.variables("revert") == {**common, "lvl": "revert"}
    assert project.variables("verify") == {**common, "lvl": "deploy", "checked": "yes"}


def test_a_missing_include_is_exit_2_with_one_line(tmp_path: Path) -> None:
    _write(tmp_path, {
        "sqitch.conf": "[core]\n\tengine = pg\n",
        "sqitch.plan": "%project=x\n\na 2024-01-01T00:00:00Z A <a@example.com>\n",
        "deploy/a.sql": "BEGIN;\n\\ir ../lib/helpers.sql\nCOMMIT;\n"})
    proc = subprocess.run([sys.executable, "-m", "dbsafe", "lint", "."], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "dbsafe: error: deploy/a.sql:2: \\ir ../lib/helpers.sql: no such file "
        "(lib/helpers.sql); psql stops there"]


def test_a_value_from_a_shell_command_is_never_run(tmp_path: Path) -> None:
    # Tamarou Registry's `\set template_content `cat templates/...``: psql runs the command;
    # dbsafe stands the variable's name in for its output.
    _write(tmp_path, {"a.sql": "\\set body `touch ran`\nINSERT INTO t VALUES (:'body');\n"})
    assert [sql for _, _, sql in _read(tmp_path, "a.sql", {})] == [
        "INSERT INTO t VALUES ('body')"]
    assert not (tmp_path / "ran").exists()
