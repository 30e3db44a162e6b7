"""Time `dbsafe lint` on a generated alembic history shaped like a real one.

The history (N chained revisions, default 300) mixes what real projects hold: tables and
columns added, indexes (plain and CONCURRENTLY in `autocommit_block()`), type changes,
renames, NOT NULL, enums recreated, user functions, `DO` blocks with DDL, and data
migrations that read the database (`op.get_bind().execute(...).scalar()`,
`sa.inspect(bind)`) before they write.

Measured, each CLI run in a subprocess (`--format json`, exit 1 expected):

  (a) cold     `dbsafe lint`: throwaway server, every revision captured as it runs, lint
  (b) cached   the same again with nothing changed (target: under 1 s)
  (c) offline  `dbsafe lint --offline`: stops at the first data migration (it cannot
               read a database offline) -- shown for the time, and to show why (a) exists
  (d) rules    in-process: the rules over every captured statement, first pass and best
               of --repeat (target: 10,000 statements/s or more)
  (e) peer     in-process, interleaved with (d): parsing the same statements alone, the
               floor under (d); (d)/(e) holds whatever the machine's load

  (f) baseline with --baseline DIR: the rules of this checkout and of an older dbsafe,
               each in its own interpreter, alternating --rounds times (CPU seconds)

Usage:
    python scripts/bench/lint_history.py                 # 300 revisions
    python scripts/bench/lint_history.py --revisions 100 --repeat 3 --keep
    git archive 34d3643 dbsafe | tar -x -C /tmp/old && \
        python scripts/bench/lint_history.py --baseline /tmp/old
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
sqlalchemy.url = driver://user:pass@localhost/dbname

[loggers]
keys = root
[handlers]
keys = console
[formatters]
keys = generic
[logger_root]
level = INFO
handlers = console
[handler_console]
class = StreamHandler
args = (sys.stdout,)
formatter = generic
[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""

ENV_PY = '''\
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)


def run_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online():
    connection = config.attributes.get("connection")
    if connection is None:
        engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                    prefix="sqlalchemy.", poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection):
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
'''

HEAD = '''"""{doc}"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down}


def downgrade():
    pass


def upgrade():
'''


def generate(root: Path, revisions: int, seed: int = 7) -> None:
    """An alembic project of `revisions` chained revisions under `root`."""
    rng = random.Random(seed)
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    tables: list[str] = []
    columns: dict[str, list[str]] = {}
    enums = 0
    serial = 0  # makes every generated name unique
    previous = None
    for n in range(revisions):
        rev = f"{n:04d}"
        body: list[str] = []
        if not tables or rng.random() < 0.15:
            name = f"t{len(tables)}"
            tables.append(name)
            columns[name] = ["a", "b"]
            body += [f'op.create_table("{name}", sa.Column("id", sa.BigInteger, primary_key=True),',
                     '                sa.Column("a", sa.String(40)), sa.Column("b", sa.Integer))',
                     f'op.execute("INSERT INTO {name} (a, b) VALUES (\'x\', 1)")']
        for _ in range(rng.randint(1, 4)):
            t = rng.choice(tables)
            kind = rng.random()
            serial += 1
            c = f"c{n}_{serial}"
            if kind < 0.25:
                body.append(f'op.add_column("{t}", sa.Column("{c}", sa.Text))')
                columns[t].append(c)
            elif kind < 0.35:
                body.append(f'op.add_column("{t}", sa.Column("{c}", sa.Integer, nullable=False, '
                            'server_default="0"))')
                columns[t].append(c)
            elif kind < 0.45:
                body.append(f'op.create_index("ix_{t}_{c}", "{t}", ["{columns[t][0]}"])')
            elif kind < 0.52:
                body += ['with op.get_context().autocommit_block():',
                         f'    op.create_index("cx_{t}_{c}", "{t}", ["{columns[t][-1]}"], '
                         'postgresql_concurrently=True)']
            elif kind < 0.60:
                body.append(f'op.alter_column("{t}", "a", type_=sa.Text)')
            elif kind < 0.66:
                body.append(f'op.alter_column("{t}", "b", type_=sa.BigInteger)')
            elif kind < 0.74:
                # A data migration: reads the database, then writes.
                body += ['bind = op.get_bind()',
                         f'count = bind.execute(sa.text("SELECT count(*) FROM {t}")).scalar()',
                         f'names = [col["name"] for col in sa.inspect(bind).get_columns("{t}")]',
                         'if count and "a" in names:',
                         f'    bind.execute(sa.text("UPDATE {t} SET a = :v WHERE id = :i"), '
                         '{"v": "y", "i": 1})']
            elif kind < 0.80:
                body += ['op.execute("""',
                         '    DO $$',
                         '    BEGIN',
                         f'        IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = \'dx_{c}\') THEN',
                         f'            CREATE INDEX dx_{c} ON {t} (id);',
                         '        END IF;',
                         f'        ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {c} text;',
                         '    END',
                         '    $$',
                         '""")']
                columns[t].append(c)
            elif kind < 0.85:
                enums += 1
                body += [f'op.execute("CREATE TYPE e{enums} AS ENUM (\'a\', \'b\')")',
                         f'op.add_column("{t}", sa.Column("{c}", sa.Enum(name="e{enums}", '
                         'create_type=False)))',
                         f'op.execute("ALTER TYPE e{enums} RENAME TO e{enums}_old")',
                         f'op.execute("CREATE TYPE e{enums} AS ENUM (\'a\', \'b\', \'c\')")',
                         f'op.execute("ALTER TABLE {t} ALTER COLUMN {c} TYPE e{enums} '
                         f'USING {c}::text::e{enums}")',
                         f'op.execute("DROP TYPE e{enums}_old")']
            elif kind < 0.90:
                body += [f'op.execute("CREATE FUNCTION f{serial}() RETURNS text LANGUAGE sql '
                         'AS $$ SELECT md5(random()::text) $$")',
                         f'op.add_column("{t}", sa.Column("{c}", sa.Text, '
                         f'server_default=sa.text("f{serial}()")))']
                columns[t].append(c)
            elif kind < 0.95:
                body.append(f'op.alter_column("{t}", "b", nullable=False)')
            else:
                body.append(f'op.alter_column("{t}", "a", server_default="z")')
        head = HEAD.format(doc=f"revision {n}", rev=rev, down=repr(previous))
        (versions / f"{rev}_r.py").write_text(head + "".join(f"    {line}\n" for line in body))
        previous = rev


def run(root: Path, *args: str, python_path: Path = ROOT) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    env["PYTHONPATH"] = str(python_path)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dbsafe", "lint", "--format", "json", *args],
                          cwd=root, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dbsafe lint {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    document = json.loads(proc.stdout)  # exactly one JSON document
    summary = document["summary"]
    print(f"    {summary.get('migrations')} migrations, {summary.get('statements')} statements, "
          f"{summary.get('findings')} findings; {summary.get('lines')}")
    return elapsed


def measure_rules(root: Path, repeat: int, dbsafe_dir: Path) -> dict[str, object]:
    """`rules_per_second` in a fresh interpreter importing dbsafe from `dbsafe_dir`, in CPU
    seconds (less disturbed than wall time by the other work on a shared machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    proc = subprocess.run(
        [sys.executable, __file__, "--measure-rules", str(root), "--dbsafe", str(dbsafe_dir),
         "--repeat", str(repeat)],
        capture_output=True, text=True, check=True, env=env)
    return dict(json.loads(proc.stdout.splitlines()[-1]))


def rules_per_second(root: Path, repeat: int, *, clock: object = time.perf_counter,
                     dbsafe_dir: Path = ROOT) -> tuple[int, float, float, float]:
    """(statements, first pass, best pass, best parse-only pass) in seconds.

    The peer, measured in the same run and interleaved: parsing the same statements alone
    (`parse_migration`: libpg_query, DO bodies, transaction state) -- the floor any rule
    evaluation stands on, so the ratio says what the rules add whatever the machine's load.
    """
    sys.path.insert(0, str(dbsafe_dir))
    from dbsafe.config import Settings
    from dbsafe.lint.engine import History, lint_migration, parse_migration, select_rules
    from dbsafe.lint.rules import ALL_RULES
    from dbsafe.lint.run import load

    migrations = load(Settings(project_root=root)).migrations  # cached by (a)
    rules = select_rules(ALL_RULES)
    statements = sum(len(parse_migration(m)) for m in migrations)
    now: Any = clock
    times, parse_times = [], []
    for _ in range(repeat):
        history = History()
        started = now()
        for migration in migrations:
            lint_migration(migration, rules, history=history.carry())
        times.append(now() - started)
        started = now()
        for migration in migrations:
            parse_migration(migration)
        parse_times.append(now() - started)
    return statements, times[0], min(times), min(parse_times)


def compare(root: Path, baseline: Path, repeat: int, rounds: int) -> None:
    """This checkout's rules against `baseline`'s (an older dbsafe) on the same history, each
    in its own interpreter, alternating, `rounds` times; medians of CPU seconds."""
    import statistics

    print(f"(f) rules, this checkout vs --baseline {baseline}, {rounds} alternating rounds")
    run(root, python_path=baseline)  # fills the baseline's own capture cache
    runs: dict[str, list[dict[str, Any]]] = {"this checkout": [], "baseline": []}
    for _ in range(rounds):
        runs["this checkout"].append(measure_rules(root, repeat, ROOT))
        runs["baseline"].append(measure_rules(root, repeat, baseline))
    print()
    print("| rules, CPU s (median of rounds) | first pass | best pass | parse alone |")
    print("| --- | --- | --- | --- |")
    medians = {}
    for name, results in runs.items():
        statements = int(results[0]["statements"])
        first = statistics.median(float(r["first"]) for r in results)
        best = statistics.median(float(r["best"]) for r in results)
        parse = statistics.median(float(r["parse"]) for r in results)
        medians[name] = (first, best)
        print(f"| {name} | {first:.3f} ({statements / first:,.0f}/s) | {best:.3f} "
              f"({statements / best:,.0f}/s) | {parse:.3f} |")
    (nf, nb), (bf, bb) = medians["this checkout"], medians["baseline"]
    print(f"| ratio baseline / this checkout | {bf / nf:.2f}x | {bb / nb:.2f}x | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also time the rules of an older dbsafe (a folder holding its "
                             "dbsafe/ package: git archive REV dbsafe | tar -x -C DIR)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of (f)")
    parser.add_argument("--measure-rules", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dbsafe", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_rules:
        statements, first, best, parse = rules_per_second(
            args.measure_rules, args.repeat, clock=time.process_time, dbsafe_dir=args.dbsafe)
        print(json.dumps({"statements": statements, "first": first, "best": best,
                          "parse": parse}))
        return
    tmp = Path(tempfile.mkdtemp(prefix="dbsafe-bench-lint-"))
    try:
        generate(tmp, args.revisions)
        print(f"{args.revisions} revisions in {tmp}")
        print("(a) cold: capture on a throwaway server + lint")
        cold = run(tmp)
        print("(b) cached, nothing changed")
        cached = min(run(tmp) for _ in range(args.repeat))
        print("(c) --offline")
        offline = run(tmp, "--offline")
        statements, first, seconds, parse = rules_per_second(tmp, args.repeat)
        print()
        print("| measurement | seconds | note |")
        print("| --- | --- | --- |")
        print(f"| (a) `dbsafe lint`, cold (throwaway server, capture, lint) | {cold:.2f} | |")
        print(f"| (b) `dbsafe lint`, nothing changed (cached) | **{cached:.2f}** | best of "
              f"{args.repeat}; target < 1 s |")
        print(f"| (c) `dbsafe lint --offline` | {offline:.2f} | |")
        print(f"| (d) rules over {statements:,} statements (in-process), first pass | "
              f"{first:.3f} | {statements / first:,.0f} statements/s (DBS210 reads each downgrade() "
              "from the capture cache) |")
        print(f"| (d) the same, best of {args.repeat} | {seconds:.3f} | "
              f"**{statements / seconds:,.0f} statements/s**; target ≥ 10,000 |")
        print(f"| (e) peer: parsing the same statements alone, best of {args.repeat} | "
              f"{parse:.3f} | {statements / parse:,.0f} statements/s; rules (d) take "
              f"{seconds / parse:.2f}x the parse alone (first pass {first / parse:.2f}x) |")
        if args.baseline:
            compare(tmp, args.baseline.resolve(), args.repeat, args.rounds)
        print(f"load average at the end: {Path('/proc/loadavg').read_text().strip()}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
