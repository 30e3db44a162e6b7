"""verify-reversible's walk keeps its one alembic child when it goes on on a fresh database
(task 410: a new child per rebuild loaded the project again, 3 s each on fractal-server),
and a request of a child on another database than the last one runs there even when the
project's code keeps its engine from one alembic command to the next. Real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from dbsafe.gates import reversible
from dbsafe.migrate.runner import ApplySession, MigrationError
from tests.gates.histories import MODES, write_history

pytestmark = pytest.mark.db

# fractal-server's env.py: `DB.engine_sync()` is an engine kept on a class of the
# application, disposed after the command only when the command succeeded.
KEPT_ENGINE_ENV_PY = '''\
import os
import sys

from alembic import context

sys.path.insert(0, os.path.dirname(__file__))
import kept_engine  # noqa: E402

engine = kept_engine.engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
'''
KEPT_ENGINE = '''\
import sqlalchemy as sa

_engine = None


def engine(url):
    global _engine
    if _engine is None:
        _engine = sa.create_engine(url)
    return _engine
'''


def _keep_engine(root: Path) -> None:
    (root / "migrations" / "env.py").write_text(KEPT_ENGINE_ENV_PY)
    (root / "migrations" / "kept_engine.py").write_text(KEPT_ENGINE)


def _tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = "
            "'public'::regnamespace ORDER BY 1")]


def test_a_request_on_another_database_runs_there_though_the_project_kept_its_engine(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str]) -> None:
    project = write_history(tmp_path, [("CREATE TABLE t1 (id int)", "DROP TABLE t1"),
                                       ("CREATE TABLE t2 (id int)", "DROP TABLE t2")])
    _keep_engine(tmp_path)
    other = more_databases()
    with ApplySession(project, database_url) as session:
        with pytest.raises(MigrationError):  # the engine is not disposed after it
            session.apply([("upgrade", "0001"), ("upgrade", "0002"),
                           ("downgrade", "no_such_revision")], verify=False)
        session.apply([("upgrade", "0001")], database_url=other, verify=False)

    # Before: the kept engine's pooled connection was the first database's, and the
    # request on `other` ran there (alembic found 0002 and went down to 0001).
    assert _tables(other) == ["alembic_version", "t1"]
    assert _tables(database_url) == ["alembic_version", "t1", "t2"]


@pytest.mark.parametrize("mode", ["stairway", "fast"])
def test_the_walk_goes_on_on_a_fresh_database_with_the_same_child(
        tmp_path: Path, database_url: str, more_databases: Callable[[], str],
        monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    project = write_history(tmp_path, [
        ("CREATE TABLE t1 (id int)", "DROP TABLE t1"),
        # leaves an index, then fails: the walk cannot tell what the database holds and
        # goes on on a fresh one
        ("CREATE TABLE t2 (id int); CREATE INDEX ix_t1 ON t1 (id)",
         "DROP TABLE t2; COMMIT; DROP TABLE no_such_table"),
        ("CREATE TABLE t3 (id int)", "DROP TABLE t3"),
        ("CREATE TABLE t4 (id int); CREATE INDEX ix_t1_again ON t1 (id)", "DROP TABLE t4"),
    ])
    _keep_engine(tmp_path)
    started: list[str] = []
    start = ApplySession.start

    def counted(self: ApplySession) -> None:
        started.append(self.url)
        start(self)

    monkeypatch.setattr(ApplySession, "start", counted)

    result = reversible.walk(project, database_url, root=tmp_path,
                             new_database=more_databases, **MODES[mode])  # type: ignore[arg-type]

    assert [(f.code, f.subject) for f in result.findings] == [("DBS412", "0002"),
                                                              ("DBS413", "0004")]
    assert result.summary["rebuilt"] >= 1
    # Before: one child more per fresh database, each loading alembic and the history.
    assert started == [database_url]
