"""The migrations applied to a throwaway server: the schema a project's history builds."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dbsafe.core import ConfigError
from dbsafe.migrate.fingerprint import script_locations
from dbsafe.migrate.runner import AlembicProject, MigrationError, RunResult, apply


@contextlib.contextmanager
def migrated_database(project: AlembicProject, target: str = "heads", *,
                      other_environments: bool = False) -> Iterator[str]:
    """A throwaway server with the migrations applied up to `target`; yields its URL.

    The result is verified before it is handed out: the version table holds `target`, and a
    history with revisions built at least one relation. Anything else is a `MigrationError`,
    never an empty schema. With `other_environments`, at heads, the alembic.ini's other
    environments are applied after it (`_apply_other_environments`: validate's schema).
    The project's `setup-sql` runs first (`dbsafe.migrate.setup`).
    """
    from dbsafe.pg.throwaway import throwaway_server

    script_locations(project.ini)  # fail early, before starting a server
    if project.setup is not None:
        project.setup.check()
    with throwaway_server(database="dbsafe") as server:
        url = server.url("dbsafe")
        if project.setup is not None:
            project.setup.run(url)
        try:
            result = apply(project, url, [("upgrade", target)], throwaway=True)
        except MigrationError as exc:
            raise _with_setup_hint(exc, project) from None
        require_built(url, result)
        if other_environments and target == "heads" and project.ini_section == "alembic":
            _apply_other_environments(project, url)
        yield url


def _apply_other_environments(project: AlembicProject, url: str) -> None:
    """Apply the other alembic environments of the project's alembic.ini (`alembic -n
    schema_private upgrade head`) to the same database, each with a version table of its
    own: the application reads what either made (Onyx reads `public.tenant_shard`, which
    only its `[schema_private]` environment creates; 16 false DBS301). One that fails is
    left out with a warning, as before it was run at all."""
    import logging
    from dataclasses import replace

    from dbsafe.migrate.fingerprint import other_environments

    for section in other_environments(project.ini):
        other = replace(project, ini_section=section, version_table=f"alembic_version_{section}")
        try:
            script_locations(project.ini, section)
            apply(other, url, [("upgrade", "heads")], throwaway=True)
        except (MigrationError, ConfigError) as exc:
            logging.getLogger(__name__).warning(
                "the alembic environment [%s] of %s was not applied: %s", section,
                project.ini.name, exc)


def _with_setup_hint(error: MigrationError, project: AlembicProject) -> MigrationError:
    """`error`, its message ending with `SETUP_HINT` when the project has no `setup-sql` and
    its first revision failed for want of what such SQL makes (`setup_hint`)."""
    from dbsafe.migrate.setup import first_revision, setup_hint

    hint = "" if project.setup is not None else setup_hint(
        error.sqlstate, first=first_revision(error.file))
    if hint:
        error.args = (f"{error}; {hint}",)
    return error


def require_built(url: str, result: RunResult) -> None:
    """What `migrated_database` verifies of a history run on `url` before it hands the
    database out (`result` being the run's): a history with revisions built at least one
    relation. (`apply` has verified the version table; a capture's caller calls
    `verify_applied` first.)

    Raises:
        MigrationError: the revisions built no table or view.
    """
    import psycopg

    if not result.revisions:
        return
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname <> %s "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg\\_%%'",
            (result.version_table,),
        ).fetchone()
    if row is not None and row[0] == 0:
        raise MigrationError(
            f"the {len(result.revisions)} revision(s) ran but built no table or view; "
            "refusing to use an empty schema (does env.py migrate the connection dbsafe "
            "hands it in config.attributes['connection']?)"
        )
