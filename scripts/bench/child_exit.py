"""Time the alembic child dbsafe starts for env.py (`dbsafe.migrate.runner`), this checkout
against another, from its start to its exit.

Each round runs `runner.describe()` on the demo project (alembic.ini at the repository root:
the child imports alembic, SQLAlchemy and the revision files, answers, and exits) `--calls`
times in one warm interpreter per checkout (the mean per child: the children's CPU time and
the wall time), the checkouts alternating round by round (A B A
B ...) so that a drift in the machine's load hits both. The child's own `_child.py` is the
checkout's: what differs between two versions is what the child does, up to its exit, which
dbsafe waits for (`communicate`, `ApplySession.close`) in every lint capture, upgrade,
downgrade and walk.

Usage:
    git worktree add /tmp/base <commit>
    python3 scripts/bench/child_exit.py --baseline /tmp/base --rounds 8
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import load, pair_line

HERE = Path(__file__).resolve().parents[2]

_TIMED = """
import resource, sys, time
from pathlib import Path
from dbsafe.migrate import AlembicProject
from dbsafe.migrate.runner import describe
project = AlembicProject(Path(sys.argv[1]))
describe(project)  # uncounted: the first pays for the file system cache
calls = int(sys.argv[2])
before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
for _ in range(calls):
    describe(project)
wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
print(cpu / calls, wall / calls)
"""


def _per_child(tree: Path, calls: int) -> tuple[float, float]:
    """(CPU s, wall s) of one child, the mean of `calls`; the CPU is the children's own
    (`RUSAGE_CHILDREN`), which the machine's load inflates far less than the wall time."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    # Run in `tree`: `-c` puts the working directory first on sys.path, before PYTHONPATH.
    out = subprocess.run([sys.executable, "-c", _TIMED, str(HERE / "alembic.ini"), str(calls)],
                         env=env, cwd=tree, check=True, capture_output=True, text=True)
    cpu, wall = out.stdout.split()[-2:]
    return float(cpu), float(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, metavar="DIR",
                        help="a checkout of the dbsafe version to compare with")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--calls", type=int, default=5, help="children per round")
    args = parser.parse_args()
    print(load())
    figures: dict[str, list[tuple[float, float]]] = {"base": [], "ours": []}
    for _ in range(args.rounds):
        figures["base"].append(_per_child(args.baseline.resolve(), args.calls))
        figures["ours"].append(_per_child(HERE, args.calls))
    for index, what in ((0, "CPU"), (1, "wall")):
        print(what + " per child: " + pair_line(
            f"baseline ({args.baseline.name})", [f[index] for f in figures["base"]],
            "this checkout", [f[index] for f in figures["ours"]], "lower"))
    print(load())


if __name__ == "__main__":
    main()
