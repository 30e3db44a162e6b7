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
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


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
