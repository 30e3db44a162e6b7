"""Each built-in check's own time at scale, this checkout against an earlier one, in one run.

Starts a throwaway PostgreSQL (or uses `--database-url`, an empty database dbsafe may fill)
and builds `--tables` tables as `scripts/bench/checks.py` does (each with an identity
primary key, so a sequence, a foreign key to the previous table and an index on it: 2,500
tables are 10,000 relations, with a few of the problems the checks report), then runs every
built-in check as `dbsafe check --only CODE` does (`dbsafe.checks.run`: one read-only
transaction per check, the default thresholds, `unused-index-min-age` 0 so DBS514 reads its
indexes) with this checkout's dbsafe and with the tree `--baseline DIR` holds (`git archive
REV | tar -x -C DIR`), each in a process of its own with that tree first on PYTHONPATH,
interleaved (A B A B ...) after one uncounted round. Prints each check's best seconds (and its
server process's CPU seconds, read from /proc on a local server) on
each side and the median of the pair-by-pair ratios (before ÷ this), so a machine shared
with other work slows both sides of every ratio alike, and compares the findings: every
check's, as JSON, must be the same on both sides.

Usage:
    PYTHONPATH=. python3 scripts/bench/checks_scale.py --baseline /tmp/base
    PYTHONPATH=. python3 scripts/bench/checks_scale.py --baseline /tmp/base --tables 500 --only DBS505
    PYTHONPATH=. python3 scripts/bench/checks_scale.py --baseline /tmp/base --schema rls \
        --only DBS518,DBS519
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import report_on_empty_database
from rls_stress import build as build_rls

from checks import build

ROOT = Path(__file__).resolve().parents[2]

# Run in a child whose PYTHONPATH starts with the tree measured: every check (or those of
# argv[2], comma-separated), printing {code: [seconds, findings as JSON-ready dicts]}.
CHILD = r"""
import json, os, re, sys
from pathlib import Path
from dbsafe.checks import connect, load_checks, run, select_checks
from dbsafe.config import Settings

settings = Settings(project_root=Path.cwd(), check_timeout="600s",
                    unused_index_min_age="0 seconds")
only = [c for c in sys.argv[2].split(",") if c]
checks = select_checks(load_checks(), only)

def backend_cpu(pid):
    # user + system seconds of the server process running the checks (a local server)
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

results, cpu = [], {}
with connect(sys.argv[1]) as conn:
    pid = conn.info.backend_pid
    for check in checks:
        before = backend_cpu(pid)
        results += run(conn, [check], settings)
        cpu[check.code] = backend_cpu(pid) - before
# DBS514 says how long ago its statistics started: the clock, not the check, differs
def message(text):
    return re.sub(r"\([^()]* ago\)", "(... ago)", text)
print(json.dumps({r.check.code: [r.elapsed, cpu[r.check.code], sorted(
    [f.code, f.severity.value, f.subject, message(f.message), f.help,
     [list(c) for c in f.context]] for f in r.findings)] for r in results}))
"""


def run_tree(tree: Path, conninfo: str, only: str) -> dict[str, tuple[float, float, list]]:
    """One pass of the checks with the dbsafe in `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", CHILD, conninfo, only], cwd=tree, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{tree}: {done.stderr.strip()}")
    return {code: (seconds, cpu, findings)
            for code, (seconds, cpu, findings) in json.loads(done.stdout).items()}


def report(conninfo: str, args: argparse.Namespace) -> None:
    import psycopg

    built = build_rls(conninfo) if args.schema == "rls" else build(conninfo, args.tables)
    with psycopg.connect(conninfo) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        relations = conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n "
                                 "ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
                                 ).fetchone()[0]  # type: ignore[index]
    print(f"built {args.schema} schema ({relations} relations in public) in {built:.1f}s "
          f"on PostgreSQL {version}")
    trees = [("this", ROOT), ("before", args.baseline.resolve())]
    times: dict[str, dict[str, list[float]]] = {name: {} for name, _ in trees}
    cpus: dict[str, dict[str, list[float]]] = {name: {} for name, _ in trees}
    found: dict[str, dict[str, list]] = {}
    for round_ in range(1 + args.repeat):
        for name, tree in trees:
            for code, (seconds, cpu, findings) in run_tree(tree, conninfo, args.only).items():
                found.setdefault(name, {})[code] = findings
                if round_:
                    times[name].setdefault(code, []).append(seconds)
                    cpus[name].setdefault(code, []).append(cpu)
    ours, theirs = times["this"], times["before"]
    print(f"\neach check's seconds, best of {args.repeat} interleaved rounds "
          f"(ratio: median of before ÷ this, pair by pair):")
    print("| check | this s | before s | before ÷ this | server CPU s this / before "
          "| findings | same findings |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for code in sorted(set(ours) | set(theirs), key=lambda c: -min(theirs.get(c, [0]))):
        if code not in ours or code not in theirs:
            print(f"| {code} | {'only before' if code in theirs else 'only this'} |")
            continue
        ratio = statistics.median(b / a for a, b in zip(ours[code], theirs[code], strict=True))
        same = found["this"][code] == found["before"][code]
        print(f"| {code} | {min(ours[code]):.3f} | {min(theirs[code]):.3f} | {ratio:.2f} | "
              f"{min(cpus['this'][code]):.2f} / {min(cpus['before'][code]):.2f} | "
              f"{len(found['this'][code])} | {'yes' if same else 'NO'} |")
    total = [sum(run) for run in zip(*ours.values(), strict=True)]
    total_before = [sum(run) for run in zip(*theirs.values(), strict=True)]
    print(f"| all | {min(total):.3f} | {min(total_before):.3f} | "
          f"{statistics.median(b / a for a, b in zip(total, total_before, strict=True)):.2f} "
          f"| | |")
    if args.findings:
        args.findings.write_text(json.dumps(found, indent=1, sort_keys=True), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True,
                        help="an earlier tree (git archive REV | tar -x -C DIR)")
    parser.add_argument("--tables", type=int, default=2500)
    parser.add_argument("--schema", choices=("tables", "rls"), default="tables",
                        help="`tables`: --tables tables as checks.py builds them; `rls`: "
                             "rls_stress.py's views over row-level-security tables")
    parser.add_argument("--repeat", type=int, default=3, help="counted rounds")
    parser.add_argument("--only", default="", help="check codes, comma-separated (default: all)")
    parser.add_argument("--findings", type=Path, help="write both sides' findings here (JSON)")
    report_on_empty_database(parser, report)


if __name__ == "__main__":
    main()
