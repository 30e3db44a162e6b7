"""Time `dbsafe verify-reversible` against pytest-alembic's `test_up_down_consistency`.

A generated linear history of N revisions (default 200): each creates a table with an index,
every 5th also a view, every 7th a function; every downgrade undoes its upgrade, except
`--leaky K` revisions whose downgrade forgets their index (an exception-only walk passes
them; dbsafe must name each one).

Measured in the same run, on the same history:

  dbsafe          `gates.reversible.verify`: throwaway server; the fast walk of a linear
                  history (`reversible._fast_walk`): one alembic command upgrades all, a
                  catalog fingerprint after each revision; commands of 20 downgrades walk
                  down, the child comparing each fingerprint with the one of the way up;
                  snapshots only where one differs, the schema before them on the way up
                  again (the stairway's re-upgrade); total, and the walk alone without the
                  server's start
  pytest-alembic  `test_up_down_consistency` (up one by one, down one by one, up again),
                  in-process on a database of another throwaway server (server not counted)

Usage:
    python scripts/bench/reversible.py                    # 200 revisions
    python scripts/bench/reversible.py --revisions 50 --leaky 3
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
sqlalchemy.url = postgresql+psycopg://nobody@localhost/replaced_by_dbsafe
"""

ENV_PY = '''\
from alembic import context
from sqlalchemy import Engine, engine_from_config, pool

config = context.config


def run(connection):
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")  # dbsafe: a Connection; pytest-alembic: an Engine
if isinstance(connection, Engine):
    with connection.connect() as conn:
        run(conn)
        conn.commit()
elif connection is not None:
    run(connection)
else:
    engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        run(connection)
'''


def write_history(root: Path, revisions: int, leaky: set[int]) -> None:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    for i in range(1, revisions + 1):
        up = [f"CREATE TABLE t_{i} (id bigint PRIMARY KEY, a int, b text)",
              f"CREATE INDEX ix_t_{i}_a ON t_{i} (a)"]
        down = [f"DROP TABLE t_{i}"] if i in leaky else \
            [f"DROP INDEX ix_t_{i}_a", f"DROP TABLE t_{i}"]
        if i % 5 == 0:
            up.append(f"CREATE VIEW v_{i} AS SELECT id, a FROM t_{i}")
            down.insert(0, f"DROP VIEW v_{i}")
        if i % 7 == 0:
            up.append(f"CREATE FUNCTION f_{i}(x int) RETURNS int LANGUAGE sql AS 'SELECT x + {i}'")
            down.insert(0, f"DROP FUNCTION f_{i}(int)")
        if i in leaky:  # the index stays: with the table gone, keep it on another table
            up[1] = f"CREATE INDEX ix_t_{i}_a ON t_1 (b)"
        body_up = "\n".join(f"    op.execute({s!r})" for s in up)
        body_down = "\n".join(f"    op.execute({s!r})" for s in down)
        down_revision = repr(f"{i - 1:04d}") if i > 1 else "None"
        (versions / f"{i:04d}_step.py").write_text(
            f'"""step {i}"""\nfrom alembic import op\n\nrevision = "{i:04d}"\n'
            f"down_revision = {down_revision}\n\n\ndef upgrade():\n{body_up}\n\n\n"
            f"def downgrade():\n{body_down}\n")


def bench_dbsafe(root: Path) -> tuple[float, float, int]:
    from dbsafe.gates import reversible
    from dbsafe.migrate.runner import AlembicProject

    walk_time: list[float] = []
    real_walk = reversible.walk

    def timed_walk(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return real_walk(*args, **kwargs)
        finally:
            walk_time.append(time.perf_counter() - started)

    reversible.walk = timed_walk  # type: ignore[assignment]
    started = time.perf_counter()
    result = reversible.verify(AlembicProject(root / "alembic.ini"), root=root)
    total = time.perf_counter() - started
    reversible.walk = real_walk  # type: ignore[assignment]
    print(f"dbsafe walk summary: {result.summary}")
    return total, walk_time[0], len({f.subject for f in result.findings})


def bench_pytest_alembic(root: Path, server: object, database: str) -> tuple[float | None, str]:
    try:
        import pytest_alembic
        from pytest_alembic.tests import test_up_down_consistency
    except ImportError:
        return None, "pytest-alembic not installed (pip install pytest-alembic)"
    import psycopg
    import sqlalchemy as sa
    from alembic.config import Config as AlembicConfig

    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as conn:  # type: ignore[attr-defined]
        conn.execute(f"CREATE DATABASE {database}".encode())
    url = server.url(database).replace("postgresql://", "postgresql+psycopg://", 1)  # type: ignore[attr-defined]
    engine = sa.create_engine(url)
    config = pytest_alembic.Config(alembic_config=AlembicConfig(str(root / "alembic.ini")))
    started = time.perf_counter()
    try:
        with pytest_alembic.runner(config=config, engine=engine) as runner:
            test_up_down_consistency(runner)
        verdict = "passed"
    except Exception as exc:  # noqa: BLE001 - its verdict, reported
        verdict = f"failed: {type(exc).__name__}: {str(exc)[:300]}"
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=200)
    parser.add_argument("--leaky", type=int, default=5,
                        help="revisions whose downgrade forgets their index")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds, each side once per round, interleaved (medians shown)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    step = max(1, args.revisions // max(1, args.leaky)) if args.leaky else 0
    leaky = {i for i in range(step, args.revisions + 1, step)} if step else set()
    leaky = set(sorted(leaky)[: args.leaky])
    import statistics

    from dbsafe.pg.throwaway import throwaway_server

    totals, walks, theirs, ratios = [], [], [], []
    flagged, verdict = 0, ""
    with tempfile.TemporaryDirectory(prefix="dbsafe-bench-reversible-") as tmp, \
            throwaway_server() as server:
        root = Path(tmp)
        write_history(root, args.revisions, leaky)
        # Compiled once before either side runs: otherwise the first to import the revision
        # files (dbsafe's child, in round 1) pays for compiling all of them.
        import compileall

        compileall.compile_dir(str(root / "migrations"), quiet=1)
        for round_ in range(args.rounds):
            # Interleaved, so a change in the machine's load hits both sides alike.
            total, walk, flagged = bench_dbsafe(root)
            pa_time, verdict = bench_pytest_alembic(root, server, f"pa_{round_}")
            totals.append(total)
            walks.append(walk)
            if pa_time is not None:
                theirs.append(pa_time)
                ratios.append(walk / pa_time)
                print(f"round {round_ + 1}: dbsafe walk {walk:.1f} s, pytest-alembic "
                      f"{pa_time:.1f} s, ratio {walk / pa_time:.2f}x", flush=True)
    walk = statistics.median(walks)
    print(f"history: {args.revisions} revisions, {len(leaky)} with a leaky downgrade; "
          f"{args.rounds} rounds, medians")
    print(f"dbsafe verify-reversible: {statistics.median(totals):6.1f} s total, {walk:6.1f} s "
          f"walk ({walk / args.revisions * 1000:.0f} ms/revision); "
          f"{flagged} of {len(leaky)} leaky revisions reported")
    if not theirs:
        print(f"pytest-alembic: {verdict}")
    else:
        pa_time = statistics.median(theirs)
        print(f"pytest-alembic test_up_down_consistency: {pa_time:6.1f} s "
              f"({pa_time / args.revisions * 1000:.0f} ms/revision); {verdict}")
        print(f"ratio, dbsafe walk / pytest-alembic: median of rounds "
              f"{statistics.median(ratios):.2f}x (per round: "
              f"{', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
