"""A guarded run as it happens, on a terminal: a live view of its steps (rich).

`cli.py` uses `LiveDisplay` when stderr is a terminal (and not `--quiet`); anywhere else each
step stays one plain line, so deploy logs and piped output read as before. The display is a
progress callback like the plain one (`display(step, message)`): every message is kept, printed
above the live part once the next one arrives, and the live part shows the step running now
with a spinner and its elapsed time, and, once the run knows them, the revisions it applies
(`display.revisions(names, done)`, called by the upgrade and downgrade steps).

rich is imported only when a display starts, so no other command pays for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from dbsafe.terminal import LiveView

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

T = TypeVar("T")


class LiveDisplay(LiveView):
    """Progress of one guarded command drawn live on `stream` (a terminal)."""

    def __init__(self, command: str, stream: TextIO, *, colour: bool = True) -> None:
        super().__init__(stream, colour=colour)
        self.command = command
        self._started = time.monotonic()
        # `_lock` guards the state `_renderable` reads; rich's refresh thread takes it while
        # holding rich's own lock, so nothing may call into rich while holding `_lock` (the
        # opposite order deadlocked). `_printing` keeps the lines of concurrent callers in
        # order and is never taken by the refresh thread.
        self._lock = threading.Lock()
        self._printing = threading.Lock()
        self._step = command
        self._message = "starting"
        self._step_started = self._started
        self._any_message = False
        self._names: tuple[str, ...] = ()
        self._done = 0
        self._live: Live | None = None
        self._spinner: Any = None

    def __enter__(self) -> LiveDisplay:
        from rich.live import Live
        from rich.spinner import Spinner

        self._spinner = Spinner("dots", style="cyan")
        self._live = Live(console=self.console, get_renderable=self._renderable,
                          transient=True, refresh_per_second=10, redirect_stdout=False,
                          redirect_stderr=False)
        self._live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._printing:
            with self._lock:
                last = self._last_message()
                self._any_message = False
            if last is not None:
                self._print_line(*last)
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __call__(self, step: str, message: str) -> None:
        now = time.monotonic()
        with self._printing:
            with self._lock:
                previous = self._last_message()
                self._step, self._message, self._step_started = step, message, now
                self._any_message = True
            if previous is not None:
                self._print_line(*previous)
        if self._live is not None:
            self._live.refresh()

    def revisions(self, names: Sequence[str], done: int) -> None:
        """The revisions the run goes through, and how many are done."""
        with self._lock:
            self._names, self._done = tuple(names), done

    def pausing(self, ask: Callable[..., T]) -> Callable[..., T]:
        """`ask` (a prompt) with the live part stopped while it runs, so the two do not
        draw over each other."""

        def paused(*args: Any, **kwargs: Any) -> T:
            live = self._live
            if live is None:
                return ask(*args, **kwargs)
            live.stop()
            try:
                return ask(*args, **kwargs)
            finally:
                live.start()

        return paused

    # -- drawing ------------------------------------------------------------------------------

    def _last_message(self) -> tuple[str, str, float] | None:
        """The message shown live until now, to be printed above it (under `_lock`)."""
        if not self._any_message:
            return None
        return self._step, self._message, self._step_started

    def _print_line(self, step: str, message: str, began: float) -> None:
        from rich.text import Text

        line = Text.assemble((f"{began - self._started:6.1f}s ", "dim"),
                             (f"{step:<10} ", "bold"), message)
        self.console.print(line, overflow="fold")

    def _renderable(self) -> RenderableType:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        with self._lock:
            step, message, began = self._step, self._message, self._step_started
            names, done = self._names, self._done
        self._spinner.update(text=Text.assemble((f"{step} ", "bold"), message))
        row = Table.grid(expand=True, padding=(0, 1))
        row.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        row.add_column(justify="right", no_wrap=True)
        row.add_row(self._spinner, Text(f"{now - began:5.1f}s  (total {now - self._started:.1f}s)",
                                        style="dim"))
        if not names:
            return row
        bar = Table.grid(padding=(0, 1))
        bar.add_column(no_wrap=True)
        bar.add_column(width=24)
        bar.add_column(no_wrap=True, overflow="ellipsis")
        marks = " ".join(
            ("✓ " if i < done else "▸ " if i == done else "  ") + name
            for i, name in enumerate(names))
        bar.add_row(Text(f"revisions {done}/{len(names)}", style="bold"),
                    ProgressBar(total=max(len(names), 1), completed=done, width=24),
                    Text(marks))
        return Group(row, bar)
