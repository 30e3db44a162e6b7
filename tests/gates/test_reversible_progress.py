"""The verify-reversible progress bar on a terminal (rich), drawn on a forced terminal."""

from __future__ import annotations

import io

from rich.console import Console

from dbsafe.gates.progress import WalkBar


def _bar() -> tuple[WalkBar, io.StringIO]:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=120, color_system=None)
    return WalkBar(stream, console=console), stream


def test_the_bar_names_the_running_revision_and_ends_full() -> None:
    bar, stream = _bar()
    assert bar.usable()
    with bar:
        for index, revision in enumerate(("0001", "0002", "0003")):
            bar.show(index, 3, revision)
    out = stream.getvalue()
    assert "0001" in out  # the first revision, drawn as the bar starts
    assert "3/3" in out and "done" in out.rsplit("verify-reversible", 1)[-1]


def test_a_walk_that_stops_early_leaves_the_bar_where_it_stopped() -> None:
    bar, stream = _bar()
    with bar:
        bar.show(0, 5, "0001")
        bar.show(1, 5, "0002")
    last = stream.getvalue().rsplit("verify-reversible", 1)[-1]
    assert "1/5" in last and "0002" in last and "done" not in last


def test_off_a_terminal_the_bar_is_not_usable() -> None:
    assert not WalkBar(io.StringIO()).usable()
