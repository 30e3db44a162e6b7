"""Migrations as dbsafe lints them: ordered statements with their source locations.

A `Migration` is one alembic revision (its upgrade as captured while it ran on a throwaway
server, or rendered to SQL offline; see `dbsafe.migrate.render`) or one plain SQL migration file (`supabase/migrations/*.sql`, Flyway's
`V1__init.sql`, any `.sql`). Transaction control statements (`BEGIN`, `COMMIT`) stay in the
stream so the lint engine knows which statements run inside a transaction block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dbsafe.core import Location, SourceError


@dataclass(frozen=True, slots=True)
class Observed:
    """What PostgreSQL showed while a statement ran on the throwaway server.

    Read inside the statement's transaction, right after it: `locks` are the relation locks
    it took (not held before it in that transaction), `held` every relation lock held then,
    as (`schema.relation`, pg_locks mode such as `AccessExclusiveLock`, pg_class relkind);
    `rewritten` the tables whose relfilenode changed.
    """

    locks: tuple[tuple[str, str, str], ...] = ()
    held: tuple[tuple[str, str, str], ...] = ()
    rewritten: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MigrationStatement:
    sql: str
    location: Location
    generated: bool = False  # emitted by the migration tool itself (BEGIN/COMMIT, version table)
    # Captured from a run on a throwaway server and observed there (None: not observed --
    # rendered offline, read from a file, or run outside a transaction block).
    observed: Observed | None = None


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration: a revision or a SQL file, with its statements in execution order."""

    path: str  # display path of the revision or SQL file
    statements: tuple[MigrationStatement, ...]
    revision: str | None = None
    kind: str = "sql"  # "sql" | "alembic"
    file: Path | None = None  # the file on disk (revision rules read its Python)
    # Whether the first statement already runs inside a transaction block: the runner wraps
    # the whole file in one (Flyway, supabase), or an earlier alembic revision's transaction
    # is still open (transaction_per_migration off). BEGIN/COMMIT inside are in `statements`.
    starts_in_transaction: bool = False


def sql_migrations(paths: Sequence[Path], *, root: Path,
                   wrapped_in_transaction: bool = False) -> list[Migration]:
    """Every `.sql` file under `paths`, in version order, as a `Migration` each.

    Order: by file name within a directory, which is the version order of Flyway
    (`V2__x.sql` < `V10__y.sql` is handled by a natural sort), supabase
    (`20240101120000_x.sql`) and numbered folders.
    """
    from dbsafe.extract.files import display_path
    from dbsafe.extract.sqlfile import split_sql

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in path.rglob("*.sql") if p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise SourceError(f"no such file or directory: {path}")
    migrations = []
    for file in sorted(set(files), key=_natural_key):
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read migration {file}: {exc}") from None
        shown = display_path(file, root)
        statements = tuple(
            MigrationStatement(f.sql, f.location(0)) for f in split_sql(text, shown)
        )
        migrations.append(Migration(shown, statements, kind="sql", file=file,
                                    starts_in_transaction=wrapped_in_transaction))
    return migrations


def _natural_key(path: Path) -> tuple:
    parts: list[object] = [str(path.parent)]
    digits = ""
    text = ""
    for char in path.name:
        if char.isdigit():
            if text:
                parts.append(text)
                text = ""
            digits += char
        else:
            if digits:
                parts.append(int(digits))
                digits = ""
            text += char
    parts.append(int(digits) if digits else text)
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in parts)
