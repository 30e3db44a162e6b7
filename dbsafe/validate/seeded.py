"""What a Supabase project's seed files make: in local databases only, never in production.

`supabase db reset` and `supabase start` run the seed files (`[db.seed] sql_paths` of the
project's `config.toml`, globs relative to its `supabase` folder, `./seed.sql` when unset;
none with `enabled = false`) after the migrations, on the local database; production never
runs them. Projects make their tests' helpers there: capgo's `reset_and_seed_app_data` (and
four more RPCs its `tests/test-utils.ts` calls), pain-point-studio's
`add_fake_oauth_identity` ("Only exists in local dev: seed.sql is NOT applied in
production") for `e2e/helpers/identity.ts`. The schema validate builds from the migrations
lacks them, as production does, so:

- a test (`extract.files.in_tests`) reading or calling what only the seed makes runs on the
  seeded local database, where it exists: not a finding (listed with -v as not analysed);
- the application's code doing the same fails in production: the error stays, its message
  saying the seed makes it and production does not run the seed (not the `Database` types'
  DBS317 either: types generated from the seeded local database list what the seed made).

Read with PostgreSQL's parser as a script's DDL is (`validate.file_ddl.FileDdl`, pglast),
from the files themselves; the schema the migrations built is never changed by them.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dbsafe.core import Finding

log = logging.getLogger(__name__)

# Supabase's CLI's default for `[db.seed] sql_paths`, relative to the `supabase` folder.
DEFAULT_SQL_PATHS = ("./seed.sql",)
# The codes of what the schema lacks that a seed file may make: a relation or a schema, a
# column, a function called by `.rpc()` or in SQL.
_TABLE, _COLUMN, _RPC, _FUNCTION = "DBS301", "DBS302", "DBS306", "DBS314"


def seed_files(config: Path) -> list[Path]:
    """The files Supabase's CLI seeds a local database with, in its order, from the
    project's `config.toml` (which need not exist: its defaults are taken).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("seed.sql", "seeds/b.sql", "seeds/a.sql"):
    ...     (folder / name).parent.mkdir(exist_ok=True)
    ...     _ = (folder / name).write_text("SELECT 1;")
    >>> [p.name for p in seed_files(folder / "config.toml")]
    ['seed.sql']
    >>> _ = (folder / "config.toml").write_text('[db.seed]\\nsql_paths = ["./seeds/*.sql", "seed.sql"]')
    >>> [p.relative_to(folder).as_posix() for p in seed_files(folder / "config.toml")]
    ['seeds/a.sql', 'seeds/b.sql', 'seed.sql']
    >>> _ = (folder / "config.toml").write_text('[db.seed]\\nenabled = false')
    >>> seed_files(folder / "config.toml")
    []
    """
    from dbsafe.extract.supabase_config import read_config

    db = read_config(config).get("db")
    seed = db.get("seed") if isinstance(db, dict) else None
    seed = seed if isinstance(seed, dict) else {}
    if seed.get("enabled", True) is False:
        return []
    patterns = seed.get("sql_paths", DEFAULT_SQL_PATHS)
    if not isinstance(patterns, list | tuple):
        return []
    folder = config.parent
    found: list[Path] = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            continue
        # (the CLI joins a relative pattern to the `supabase` folder, then globs it: `*`, `?`
        # and `[...]` in one path segment, no `**`, matches sorted)
        full = pattern if Path(pattern).is_absolute() else str(folder / pattern)
        for match in sorted(glob.glob(full)):
            path = Path(match)
            if path.is_file() and path.resolve() not in {p.resolve() for p in found}:
                found.append(path)
    return found


@dataclass
class SeedMade:
    """What the seed files make, each name (folded, unqualified) with where it is made
    (`path:line` of the statement)."""

    relations: dict[str, str] = field(default_factory=dict)
    schemas: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    columns: dict[tuple[str, str], str] = field(default_factory=dict)  # (relation, column)

    def __bool__(self) -> bool:
        return bool(self.relations or self.schemas or self.functions or self.columns)

    def maker(self, finding: Finding) -> tuple[str, str] | None:
        """(what the finding names, in backticks with its kind; where the seed makes it),
        when the finding is of something the schema lacks that only a seed file makes."""
        parts = (finding.subject or "").split(".")
        if finding.code == _TABLE and len(parts) == 2 and parts[1] in self.relations:
            return f"relation `{parts[1]}`", self.relations[parts[1]]
        if finding.code == _TABLE and len(parts) == 1 and parts[0] in self.schemas:
            return f"schema `{parts[0]}`", self.schemas[parts[0]]
        if finding.code == _COLUMN and len(parts) == 3 and (parts[1], parts[2]) in self.columns:
            return f"column `{parts[1]}.{parts[2]}`", self.columns[(parts[1], parts[2])]
        # (a `.rpc()` of a function the migrations make, sending an argument it lacks, is
        # `schema.function.argument`: the seed making one of that name does not make it)
        if finding.code in (_RPC, _FUNCTION) and len(parts) in (1, 2) \
                and parts[-1] in self.functions:
            return f"function `{parts[-1]}`", self.functions[parts[-1]]
        return None


def read_seeds(files: Sequence[Path], root: Path) -> SeedMade:
    """What the statements of `files` create (relations, schemas, functions) or add
    (columns), in order; a file that cannot be read makes nothing."""
    from dbsafe.extract.files import display_path
    from dbsafe.extract.sqlfile import statement_bounds
    from dbsafe.validate.file_ddl import FileDdl

    made = SeedMade()
    for path in files:
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            log.debug("seed file %s not read: %s", path, exc)
            continue
        shown = display_path(path, root)
        ddl = FileDdl()
        for start, end in statement_bounds(text):
            sql = text[start:end]
            if not sql.lstrip()[:6].upper().startswith(("CREATE", "ALTER", "DO", "SELECT",
                                                        "WITH")):
                continue  # (most of a seed is INSERTs: nothing they do is read)
            where = f"{shown}:{_line_of(text, start)}"
            after = ddl.after(sql)
            for names, into in ((after.relations - ddl.relations, made.relations),
                                (after.schemas - ddl.schemas, made.schemas),
                                (after.functions - ddl.functions, made.functions)):
                for name in names:
                    into.setdefault(name, where)
            for column in _added_columns(sql, depth=0):
                made.columns.setdefault(column, where)
            ddl = after
    return made


def _line_of(text: str, start: int) -> int:
    """The line the statement starting at `start` opens on, past the comments and blank
    lines before its first word."""
    at = start
    while at < len(text):
        rest = text[at:]
        stripped = rest.lstrip()
        at += len(rest) - len(stripped)
        if stripped.startswith("--"):
            newline = text.find("\n", at)
            at = len(text) if newline < 0 else newline + 1
        else:
            break
    return text.count("\n", 0, at) + 1


def _added_columns(sql: str, *, depth: int) -> Iterable[tuple[str, str]]:
    """(relation, column) of each column `ALTER TABLE ... ADD COLUMN` adds, also inside a
    `DO` block whose SQL dbsafe can read.

    >>> list(_added_columns("ALTER TABLE app.Users ADD COLUMN Nick text, ADD b int", depth=0))
    [('users', 'nick'), ('users', 'b')]
    >>> list(_added_columns("DO $$ BEGIN ALTER TABLE t ADD COLUMN x int; END $$", depth=0))
    [('t', 'x')]
    """
    if "ADD" not in sql.upper():
        return
    from pglast.parser import ParseError, parse_sql_json

    try:
        parsed = json.loads(parse_sql_json(sql))
    except ParseError:
        return
    for raw in parsed.get("stmts", ()):
        for kind, node in raw.get("stmt", {}).items():
            if kind == "AlterTableStmt":
                relation = (node.get("relation") or {}).get("relname")
                for command in node.get("cmds", ()):
                    command = command.get("AlterTableCmd", {})
                    column = command.get("def", {}).get("ColumnDef", {}).get("colname")
                    if command.get("subtype") == "AT_AddColumn" and relation and column:
                        yield relation, column
            elif kind == "DoStmt" and depth < 3:
                from dbsafe.pg.plpgsql import executed_sql, read_do_block

                tree, _ = read_do_block(node)
                for text in executed_sql(tree) if tree is not None else ():
                    if text:
                        yield from _added_columns(text, depth=depth + 1)


def in_application(finding: Finding, where: str) -> Finding:
    """`finding`, of application code, saying that only the seed makes what it names
    (`where` it does, `path:line`)."""
    seed = where.rsplit(":", 1)[0]
    return dataclasses.replace(
        finding,
        message=f"{finding.message}: only `{seed}` makes it, a seed file, which Supabase "
                "runs on local databases (`supabase db reset`) but production never runs",
        help="Make it in a migration if the application needs it, or call it from tests "
             "only.",
        context=finding.context + (("Made by the seed", where),))


def in_tests_reason(what: str, where: str) -> str:
    """Why a test's finding of what only the seed makes is not reported (listed with -v)."""
    return (f"not analysed: reads {what}, which only the seed file {where} makes; a test "
            "runs on the seeded local database")
