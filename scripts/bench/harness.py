"""Whole-process timing, contenders interleaved: the one way scripts/bench compares commands.

`compare(contenders, runs, warmup)` runs each command as its own process, in turn
(A B C A B C ...), after `warmup` uncounted rounds, and reads every finished process's own
accounting from the kernel (`os.wait4`: user+sys CPU, peak resident memory) next to its wall
time. `report()` prints medians with min-max, and each contender's ratio to the first one
computed pair by pair (run i of B over run i of A), so a drift in machine speed during the
benchmark hits both sides of every ratio. The load average is printed before and after: on a
shared machine it says how far to trust the absolute figures (the ratios hold better).

A child's peak memory includes what this process held when it started the child (the kernel
counts the pages before `exec`): keep the harness small, and read the `python -c pass` row
as the floor of that column.

Commands that change state between runs (an upgrade needs a fresh database each time) use
`timed()` and `pair_line()` instead; `big_database()` is the multi-million-row database the
guarded-operation benchmarks (upgrade.py, backup.py) share.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figures:
    name: str
    command: Sequence[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)


def run_once(command: Sequence[str], env: Mapping[str, str] | None = None,
             cwd: str | None = None) -> tuple[float, float, float]:
    """(wall s, user+sys CPU s, peak RSS MiB) of one whole process; output discarded.

    Raises CalledProcessError if it exits with a status other than 0 or 1 (1: findings).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(list(command), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(env) if env else None, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise subprocess.CalledProcessError(proc.returncode, list(command))
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def compare(contenders: Sequence[tuple[str, Sequence[str]]], *, runs: int = 7,
            warmup: int = 1, env: Mapping[str, str] | None = None,
            cwd: str | None = None) -> list[Figures]:
    """Run the contenders interleaved, `warmup` rounds uncounted, then `runs` counted."""
    figures = [Figures(name, command) for name, command in contenders]
    for round_ in range(warmup + runs):
        for fig in figures:
            wall, cpu, peak = run_once(fig.command, env, cwd)
            if round_ >= warmup:
                fig.wall.append(wall)
                fig.cpu.append(cpu)
                fig.peak_mib.append(peak)
    return figures


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _spread(values: Sequence[float], fmt: str) -> str:
    return (f"{format(statistics.median(values), fmt)} "
            f"({format(min(values), fmt)}-{format(max(values), fmt)})")


def report(figures: Sequence[Figures], *, title: str = "") -> str:
    """A Markdown table: medians (min-max) and the pair-wise ratio to the first contender."""
    base = figures[0]
    lines = [f"\n{title}" if title else "",
             f"| contender | wall s | CPU s | peak MiB | wall ÷ {base.name} | CPU ÷ {base.name} |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for fig in figures:
        wall_ratio = [a / b for a, b in zip(fig.wall, base.wall, strict=True)]
        cpu_ratio = [a / b for a, b in zip(fig.cpu, base.cpu, strict=True)]
        lines.append(f"| {fig.name} | {_spread(fig.wall, '.3f')} | {_spread(fig.cpu, '.3f')} "
                     f"| {statistics.median(fig.peak_mib):.0f} | {_spread(wall_ratio, '.2f')} "
                     f"| {_spread(cpu_ratio, '.2f')} |")
    return "\n".join(lines)


def timed(command: Sequence[str], *, env: Mapping[str, str] | None = None,
          cwd: str | os.PathLike[str] | None = None) -> tuple[float, str]:
    """(wall s, stderr) of one whole process that must exit 0; exits with its output if not.

    For commands that change state between runs (a fresh database each time), which
    `compare()` cannot repeat as they are.
    """
    start = time.perf_counter()
    result = subprocess.run(list(command), check=False, capture_output=True, text=True,
                            env=dict(env) if env else None, cwd=cwd)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(list(command)[:4])} failed ({result.returncode}):\n"
                 f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return wall, result.stderr


def pair_line(peer: str, peer_times: Sequence[float], ours: str,
              our_times: Sequence[float], target: str) -> str:
    """One line per pair: medians, the ratio of the medians, the difference, the target."""
    a, b = statistics.median(peer_times), statistics.median(our_times)
    pairs = sorted(y / x for x, y in zip(peer_times, our_times, strict=True))
    return (f"{peer:<24} {a:7.2f} s   {ours:<28} {b:7.2f} s   ratio {b / a:5.2f}x "
            f"(pair by pair {pairs[0]:.2f}-{pairs[-1]:.2f})  ({b - a:+.2f} s; target {target})")


# -- the database of the guarded-operation benchmarks (upgrade.py, backup.py) ----------------


@dataclass
class BigDatabase:
    """A throwaway server whose `template_src` holds `rows` rows in `events`, at alembic
    revision 0001; `fresh(name)` copies it (CREATE DATABASE ... TEMPLATE)."""

    server: Any  # dbsafe.pg.throwaway.ThrowawayServer
    rows: int
    size: str

    def url(self, name: str = "template_src") -> str:
        return str(self.server.url(name))

    def fresh(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template_src')
        return self.url(name)

    def drop(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')

    def client_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env` with libpq's variables pointing at the server (for pg_dump, pg_restore)."""
        return {**env, "PGHOST": str(self.server.socket_dir), "PGPORT": str(self.server.port),
                "PGUSER": self.server.user}


@contextlib.contextmanager
def empty_database(url: str | None) -> Iterator[str]:
    """The conninfo of `url` (`--database-url`: an empty database to fill), or of a throwaway
    server's `bench` database, removed afterwards."""
    if url:
        yield url
        return
    from dbsafe.pg.throwaway import throwaway_server

    with throwaway_server(database="bench") as server:
        yield server.conninfo("bench")


def report_on_empty_database(parser: Any, report: Any) -> None:
    """Parse the command line (`parser`, an argparse parser, given `--database-url` here) and
    run `report(conninfo, args)` on that database or a throwaway's (`empty_database`)."""
    parser.add_argument("--database-url", help="an empty database to fill (default: throwaway)")
    args = parser.parse_args()
    with empty_database(args.database_url) as conninfo:
        report(conninfo, args)


@contextlib.contextmanager
def big_database(rows: int) -> Iterator[BigDatabase]:
    """A `BigDatabase` on a throwaway embedded PostgreSQL, removed afterwards."""
    import psycopg

    from dbsafe.pg.throwaway import throwaway_server

    with throwaway_server(database="template_src") as server:
        with psycopg.connect(server.url("template_src"), autocommit=True) as conn:
            conn.execute("CREATE TABLE events (id bigint PRIMARY KEY, account_id bigint "
                         "NOT NULL, payload text)")
            conn.execute("INSERT INTO events SELECT g, g % 5000, md5(g::text) "
                         f"FROM generate_series(1, {rows}) g")
            conn.execute("VACUUM ANALYZE events")
            # The database is at revision 0001 (which created `events`), as a real one
            # would be: an upgrade applies 0002-0004.
            conn.execute("CREATE TABLE alembic_version (version_num varchar(32) NOT NULL "
                         "PRIMARY KEY)")
            conn.execute("INSERT INTO alembic_version VALUES ('0001')")
            size = conn.execute("SELECT pg_size_pretty(pg_database_size("
                                "current_database()))").fetchone()
        yield BigDatabase(server, rows, size[0] if size else "?")


def clean_env(pycache: Path) -> dict[str, str]:
    """This process's environment without libpq's or dbsafe's variables, with this checkout
    first on PYTHONPATH (the dbsafe measured is this one, installed or not).

    Python runs as it does for installed packages, with bytecode caching on: the checkout's
    bytecode goes to `pycache` (PYTHONPYCACHEPREFIX), never next to the sources, and the
    first run writes it. Without it every run of dbsafe would compile its modules again
    (PYTHONDONTWRITEBYTECODE), while the peers' site-packages have theirs.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PG", "DBSAFE_")) and k != "PYTHONDONTWRITEBYTECODE"}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


# An alembic env.py for the benches' projects: online on the URL in alembic.ini (or a
# connection handed to it), one transaction per revision; offline with literal binds.
ALEMBIC_ENV_PY = '''
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


def write_alembic_project(root: Path,
                          revisions: Iterable[tuple[str, str | None, str, str, str]]) -> None:
    """An alembic project under `root/migrations` (`ALEMBIC_ENV_PY`): one revision file per
    `(revision, down_revision, message, upgrade body, downgrade body)`."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "env.py").write_text(ALEMBIC_ENV_PY)
    (root / "migrations" / "script.py.mako").write_text("")
    for revision, down, message, up, back in revisions:
        (versions / f"{revision}.py").write_text(
            f'"""{message}"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
            f'revision = "{revision}"\ndown_revision = {down!r}\n\n\n'
            f"def upgrade():\n    {up}\n\n\ndef downgrade():\n    {back}\n")


def write_alembic_ini(root: Path, sqlalchemy_url: str) -> None:
    """`root/alembic.ini` naming the project's migrations and `sqlalchemy_url`."""
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\n"
        f"sqlalchemy.url = {sqlalchemy_url.replace('%', '%%')}\n")
