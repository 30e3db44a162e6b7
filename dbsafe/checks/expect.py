"""Schema expectations: committed facts about the schema that must hold (DBS550).

Expectations live in `[tool.dbsafe.expect]` of pyproject.toml or in `dbsafe-expect.toml`
at the project root (`expect-file` names another file); both are read when both exist.
They are checked against a `SchemaSnapshot` — read from a live database or from a
`dbsafe schema dump` file — so `dbsafe check --snapshot` and `dbsafe upgrade`'s postflight
use the same code. Names are `table`, `schema.table` (for columns: `table.column` or
`schema.table.column`); a name without a schema resolves through the snapshot's search path,
as PostgreSQL would.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbsafe.core import ConfigError, Finding, RuleInfo, Severity

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.schema.model import Relation, SchemaSnapshot

EXPECTATION_NOT_MET = RuleInfo(
    code="DBS550",
    name="expectation-not-met",
    summary="A committed schema expectation (`[tool.dbsafe.expect]`, `dbsafe-expect.toml`) "
            "does not hold.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)

DOC = """A committed schema expectation (`[tool.dbsafe.expect]`, `dbsafe-expect.toml`) does not hold.

## Why
Runbooks end with "confirm `appointment_series.notes` is gone", "confirm the index exists and
is valid", "confirm RLS is on". Written down as expectations, these facts are checked by
`dbsafe check` (against a live database, or a snapshot with `--snapshot`) and by
`dbsafe upgrade`'s postflight, every time, instead of by hand.

## Format
```toml
[tool.dbsafe.expect]                     # or the same keys at the top of dbsafe-expect.toml
absent-columns = ["appointment_series.notes"]
present-columns = ["public.appointments.clinic_id"]
absent-tables = ["legacy_orders"]
present-tables = ["appointments"]
rls = ["patients"]                       # row-level security enabled
refreshable-concurrently = ["daily_appointments"]   # materialized views

[tool.dbsafe.expect.indexes.ix_appointments_clinic_starts]
table = "appointments"
columns = ["clinic_id", "starts_at"]     # key columns, in order
unique = false                           # optional
```

Every listed index must exist on that table with those key columns (and uniqueness, when
given) and be valid and ready. `refreshable-concurrently` means: a materialized view with a
valid unique index on plain columns and no predicate, and (on a live database) populated.

## Fix
Change the schema (usually: a migration was not applied, or a new one undid something), or
update the expectation in the same change that makes it obsolete.
"""

LIST_KEYS = ("absent-columns", "present-columns", "absent-tables", "present-tables", "rls",
             "refreshable-concurrently")
INDEX_KEYS = ("table", "columns", "unique")


@dataclass(frozen=True, slots=True)
class IndexExpectation:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool | None = None


@dataclass(frozen=True, slots=True)
class Expectations:
    """Parsed expectations; `origin` names where they came from, for messages."""

    absent_columns: tuple[str, ...] = ()
    present_columns: tuple[str, ...] = ()
    absent_tables: tuple[str, ...] = ()
    present_tables: tuple[str, ...] = ()
    rls: tuple[str, ...] = ()
    refreshable_concurrently: tuple[str, ...] = ()
    indexes: tuple[IndexExpectation, ...] = ()
    origin: str = ""

    def __len__(self) -> int:
        return (len(self.absent_columns) + len(self.present_columns) + len(self.absent_tables)
                + len(self.present_tables) + len(self.rls) + len(self.refreshable_concurrently)
                + len(self.indexes))


def parse_expectations(table: Mapping[str, Any], origin: str) -> Expectations:
    """Validate one expectations table.

    Raises:
        ConfigError: an unknown key or a value of the wrong kind, naming `origin`.

    Example:
        >>> e = parse_expectations({"absent-columns": ["a.b"], "indexes": {"ix": {
        ...     "table": "a", "columns": ["x", "y"]}}}, "pyproject.toml")
        >>> e.absent_columns, e.indexes[0].columns, len(e)
        (('a.b',), ('x', 'y'), 2)
    """
    values: dict[str, Any] = {"origin": origin}
    for key, raw in table.items():
        if key in LIST_KEYS:
            if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
                raise ConfigError(f"{origin}: expect.{key} must be a list of names")
            parts = 2 if "columns" in key else 1
            for name in raw:
                if not parts <= name.count(".") + 1 <= parts + 1:
                    raise ConfigError(f"{origin}: expect.{key}: {name!r} is not a "
                                      + ("[schema.]table.column" if parts == 2
                                         else "[schema.]table") + " name")
            values[key.replace("-", "_")] = tuple(raw)
        elif key == "indexes":
            if not isinstance(raw, Mapping):
                raise ConfigError(f"{origin}: expect.indexes must be a table of index names")
            values["indexes"] = tuple(_index(name, spec, origin) for name, spec in raw.items())
        else:
            known = ", ".join((*LIST_KEYS, "indexes"))
            raise ConfigError(f"{origin}: unknown key expect.{key} (known: {known})")
    return Expectations(**values)


def _index(name: str, spec: Any, origin: str) -> IndexExpectation:
    where = f"{origin}: expect.indexes.{name}"
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where} must be a table with `table` and `columns`")
    unknown = [k for k in spec if k not in INDEX_KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} "
                          f"(known: {', '.join(INDEX_KEYS)})")
    table, columns, unique = spec.get("table"), spec.get("columns"), spec.get("unique")
    if not isinstance(table, str) or not table:
        raise ConfigError(f"{where}: `table` must name the table")
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str)
                                                               for c in columns):
        raise ConfigError(f"{where}: `columns` must list the key columns in order")
    if unique is not None and not isinstance(unique, bool):
        raise ConfigError(f"{where}: `unique` must be true or false")
    return IndexExpectation(name, table, tuple(columns), unique)


def load_expectations(settings: Settings) -> Expectations:
    """The expectations of the project: `[tool.dbsafe.expect]` plus the expectations file.

    Raises:
        ConfigError: a file cannot be read or an expectation is malformed.
    """
    parts = []
    if settings.expect:
        parts.append(parse_expectations(settings.expect, f"{settings.config_file or 'settings'}"
                                                         " [tool.dbsafe.expect]"))
    path = settings.expect_file
    if path is None and (settings.project_root / "dbsafe-expect.toml").is_file():
        path = settings.project_root / "dbsafe-expect.toml"
    if path is not None:
        parts.append(parse_expectations(_read_toml(path), str(path)))
    return _merge(parts)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read expectations file {path}: {exc.strerror or exc}"
                          ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _merge(parts: Sequence[Expectations]) -> Expectations:
    if len(parts) == 1:
        return parts[0]
    merged: dict[str, Any] = {}
    for key in (*(k.replace("-", "_") for k in LIST_KEYS), "indexes"):
        merged[key] = tuple(v for part in parts for v in getattr(part, key))
    return Expectations(**merged, origin=" and ".join(p.origin for p in parts))


def check_expectations(source: str | SchemaSnapshot, expectations: Expectations | None = None,
                       *, settings: Settings | None = None) -> list[Finding]:
    """Report each expectation that does not hold, as a DBS550 finding.

    Args:
        source: a live database (libpq or SQLAlchemy URL; read-only, introspected) or a
            `SchemaSnapshot`.
        expectations: what must hold; None loads them from `settings`.
        settings: where to load expectations from when none are given; a live database's
            schema is read waiting for a lock at most its `schema_lock_timeout`.

    Raises:
        ConfigError: malformed expectations.
        DatabaseError: the database cannot be reached.
    """
    if expectations is None:
        if settings is None:
            raise ConfigError("check_expectations needs expectations or settings")
        expectations = load_expectations(settings)
    if not len(expectations):
        return []
    unpopulated: frozenset[str] = frozenset()
    if isinstance(source, str):
        from dbsafe.pg.urls import to_libpq_url
        from dbsafe.schema.introspect import introspect_url

        url = to_libpq_url(source)
        snapshot = introspect_url(
            url, lock_timeout=settings.schema_lock_timeout if settings is not None else None)
        if expectations.refreshable_concurrently:
            unpopulated = _unpopulated_matviews(url)
    else:
        snapshot = source
    return list(_evaluate(snapshot, expectations, unpopulated))


def _unpopulated_matviews(url: str) -> frozenset[str]:
    from dbsafe.checks.runner import connect

    with connect(url) as conn:
        conn.read_only = True
        rows = conn.execute("SELECT n.nspname || '.' || c.relname FROM pg_class AS c "
                            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                            "WHERE c.relkind = 'm' AND NOT c.relispopulated").fetchall()
        conn.rollback()
    return frozenset(row[0] for row in rows)


def _evaluate(snapshot: SchemaSnapshot, e: Expectations,
              unpopulated: frozenset[str]) -> Iterable[Finding]:
    def finding(subject: str, message: str, help: str) -> Finding:
        return Finding(EXPECTATION_NOT_MET.code, message, EXPECTATION_NOT_MET.default_severity,
                       subject=subject, help=help, context=(("Expected by", e.origin),))

    def relation(name: str) -> Relation | None:
        schema, _, table = name.rpartition(".")
        return snapshot.find_relation(table, schema or None)

    def column_parts(name: str) -> tuple[Relation | None, str]:
        table, _, column = name.rpartition(".")
        return relation(table), column

    for name in e.absent_columns:
        rel, column = column_parts(name)
        if rel is not None and rel.column(column) is not None:
            yield finding(f"{rel.qualified_name}.{column}",
                          f"Column `{rel.qualified_name}.{column}` exists but is expected to "
                          "be absent.", "Apply the migration that drops it, or update the "
                          "expectation.")
    for name in e.present_columns:
        rel, column = column_parts(name)
        if rel is None or rel.column(column) is None:
            yield finding(name, f"Column `{name}` is expected to exist but does not.",
                          "Apply the migration that adds it, or update the expectation.")
    for name in e.absent_tables:
        rel = relation(name)
        if rel is not None:
            yield finding(rel.qualified_name, f"Table `{rel.qualified_name}` exists but is "
                          "expected to be absent.", "Apply the migration that drops it, or "
                          "update the expectation.")
    for name in e.present_tables:
        if relation(name) is None:
            yield finding(name, f"Table `{name}` is expected to exist but does not.",
                          "Apply the migration that creates it, or update the expectation.")
    for name in e.rls:
        rel = relation(name)
        if rel is None:
            yield finding(name, f"Table `{name}` is expected to have row-level security but "
                          "does not exist.", "Create it, or update the expectation.")
        elif not rel.rls_enabled:
            yield finding(rel.qualified_name, f"Table `{rel.qualified_name}` is expected to "
                          "have row-level security enabled but it is disabled.",
                          "Run ALTER TABLE ... ENABLE ROW LEVEL SECURITY.")
    for name in e.refreshable_concurrently:
        yield from _refreshable(relation(name), name, unpopulated, finding)
    for index in e.indexes:
        yield from _index_holds(relation(index.table), index, finding)


def _refreshable(rel: Relation | None, name: str, unpopulated: frozenset[str],
                 finding: Any) -> Iterable[Finding]:
    if rel is None or rel.kind != "materialized_view":
        yield finding(name, f"Materialized view `{name}` is expected to be refreshable "
                      "concurrently but does not exist.", "Create it, or update the expectation.")
        return
    columns = {c.name for c in rel.columns}
    usable = [i for i in rel.indexes if i.unique and i.valid and i.predicate is None
              and i.columns and all(c in columns for c in i.columns)]
    if not usable:
        yield finding(rel.qualified_name, f"Materialized view `{rel.qualified_name}` is "
                      "expected to be refreshable concurrently but has no unique index on plain "
                      "columns without a predicate.", "Create a unique index on plain columns "
                      "with CREATE UNIQUE INDEX CONCURRENTLY.")
    if rel.qualified_name in unpopulated:
        yield finding(rel.qualified_name, f"Materialized view `{rel.qualified_name}` is "
                      "expected to be refreshable concurrently but has not been populated.",
                      "Populate it once with REFRESH MATERIALIZED VIEW (not CONCURRENTLY).")


def _index_holds(rel: Relation | None, e: IndexExpectation, finding: Any) -> Iterable[Finding]:
    wanted = f"on `{e.table}` ({', '.join(e.columns)})"
    if rel is None:
        yield finding(e.name, f"Index `{e.name}` is expected {wanted}, but table `{e.table}` "
                      "does not exist.", "Apply the migration that creates it.")
        return
    index = next((i for i in rel.indexes if i.name == e.name), None)
    if index is None:
        yield finding(f"{rel.schema}.{e.name}", f"Index `{e.name}` is expected {wanted} but "
                      "does not exist.", "Apply the migration that creates it, or update the "
                      "expectation.")
        return
    subject = f"{rel.schema}.{e.name}"
    problems = []
    if tuple(index.columns) != e.columns:
        problems.append(f"its key columns are ({', '.join(index.columns)})")
    if e.unique is not None and index.unique != e.unique:
        problems.append("it is unique" if index.unique else "it is not unique")
    if not index.valid or not index.ready:
        problems.append("it is invalid")
    if problems:
        yield finding(subject, f"Index `{e.name}` is expected {wanted}"
                      + (" unique" if e.unique else "") + f", but {' and '.join(problems)}.",
                      "Rebuild it with CREATE INDEX CONCURRENTLY as expected, or update the "
                      "expectation.")
