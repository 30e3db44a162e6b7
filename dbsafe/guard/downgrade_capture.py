"""A downgrade's SQL captured as it runs on a copy of the database's schema, where alembic
cannot render it offline.

`dbsafe downgrade` reads its revisions' `downgrade()` SQL (the rows it refuses, the data it
destroys, the tables it changes) from `alembic downgrade START:TARGET --sql`. An env.py that
opens a connection whatever the mode (fractal-server's), or a `downgrade()` that reads the
database, renders nothing offline: every row question then said "cannot tell", and
fractal's 7910eed4cf97 failed (23502) four revisions in, on a `SET NOT NULL` over NULLs.

Here the downgrade runs instead on a throwaway server, as `plan` and `lint` run the pending
revisions of an upgrade (`dbsafe.lint.history`): the database's schema is copied there
(`pg_dump --schema-only`, read-only, without rows: `dbsafe.pg.schema_copy`), its version
table filled with the database's revision, and `alembic downgrade TARGET` run in the
sandboxed child with every statement recorded (`dbsafe.migrate.runner.capture`). Nothing is
written to the database itself. A revision that fails there fails the capture at that point:
what ran before it is returned, and the failure with it.

The copy holds no rows: a `downgrade()` that branches on what the database holds may run
otherwise on the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dbsafe.core import DbsafeError

if TYPE_CHECKING:
    from dbsafe.migrate.runner import AlembicProject


@dataclass(frozen=True, slots=True)
class CapturedDowngrade:
    """What the downgrade ran on the copy, in order."""

    statements: tuple[tuple[str, str], ...]  # (sql, revision), SQLAlchemy's reflection left out
    # "revision (file ...): error" of the revision it failed at there; None: it ran through
    failed: str | None = None
    failed_revision: str | None = None
    # Objects of the database's schema the throwaway server could not make (an extension
    # its PostgreSQL lacks): a revision using one fails there
    not_made: tuple[str, ...] = ()


class NotCaptured(DbsafeError):
    """The downgrade could not be captured; `remedy`: what the DBA can do for it to be, where
    the failure says (the sessions holding the lock pg_dump gave up on)."""

    def __init__(self, message: str, *, remedy: str | None = None) -> None:
        super().__init__(message)
        self.remedy = remedy


def capture_downgrade(project: AlembicProject, url: str, start: tuple[str, ...],
                      target: str) -> CapturedDowngrade:
    """Run `alembic downgrade target` on a copy of `url`'s schema at `start` and record each
    statement its revisions send.

    Raises:
        NotCaptured: the schema could not be copied (pg_dump gave up on a lock: its
            `remedy` names the sessions that held it).
        DbsafeError: no throwaway server could be started, or env.py failed outside any
            revision.
    """
    from dbsafe.guard.blockers import BlockerWatch, blocked_by
    from dbsafe.lint.history import Seed, restore_seed
    from dbsafe.migrate.runner import (
        MigrationError,
        capture,
        describe_failure,
        find_version_table,
        warm_child,
    )
    from dbsafe.pg.schema_copy import APPLICATION_NAME, LOCK_WAIT, dump_schema
    from dbsafe.pg.throwaway import throwaway_server

    version_table = find_version_table(url)
    if version_table is None:
        raise DbsafeError("the database has no alembic version table")
    # Read-only; a session holding ACCESS EXCLUSIVE makes pg_dump give up after LOCK_WAIT,
    # naming it, rather than queue on production's tables.
    with BlockerWatch(url, APPLICATION_NAME, lock_timeout=LOCK_WAIT) as watch:
        try:
            copy = dump_schema(url, holders=lambda: blocked_by(watch.seen()))
        except DbsafeError as exc:
            pids = sorted({b.pid for b in watch.seen() if b.granted})
            raise NotCaptured(str(exc), remedy=(
                f"run it again once {_pids(pids)} ended {'its' if len(pids) == 1 else 'their'} "
                f"transaction (the copy waits {LOCK_WAIT} for a table's lock, once, rather "
                "than queue on the database's tables)") if pids else None) from None
    seed = Seed(start, version_table, copy)
    try:
        # (the child loads alembic while the server starts and the schema is restored)
        with warm_child(project), throwaway_server(database="dbsafe") as server:
            not_made = restore_seed(server, "dbsafe", seed)
            result = capture(project, server.url("dbsafe"), observe=False,
                             operations=(("downgrade", target),))
    except MigrationError as exc:
        raise DbsafeError(str(exc)) from None
    error = result.capture_error
    if error is not None and not error.get("revision"):
        raise DbsafeError(describe_failure(error, ini=project.ini,
                                           interpreter=project.interpreter))
    return CapturedDowngrade(
        tuple((c.sql, c.revision) for c in result.captured if not c.introspection),
        failed=None if error is None else describe_failure(
            error, ini=project.ini, interpreter=project.interpreter),
        failed_revision=None if error is None else str(error["revision"]),
        not_made=tuple(not_made))


def _pids(pids: list[int]) -> str:
    """`pid 7 has`, `pids 7 and 9 have`, as a remedy names the sessions."""
    if len(pids) == 1:
        return f"pid {pids[0]} has"
    return f"pids {', '.join(map(str, pids[:-1]))} and {pids[-1]} have"
