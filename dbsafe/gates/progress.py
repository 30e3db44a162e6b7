"""The `verify-reversible` walk as it happens, on a terminal: a progress bar (rich).

`cli.py` uses `WalkBar` when stderr is a terminal (and not `--quiet`); anywhere else each
revision stays one plain line (`dbsafe: [3/67] 3f2a...`), so CI logs read as before. rich is
imported only when a bar starts, so no other command, and no piped run, pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from dbsafe.terminal import LiveView

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


class WalkBar(LiveView):
    """One bar over the revisions of a walk: which one runs, how many are done, the time.

    Use as a context manager; `show` is the walk's progress callback (`(index, total,
    revision)`, called before each revision).
    """

    def __init__(self, stream: TextIO, *, colour: bool = True,
                 console: Console | None = None) -> None:
        super().__init__(stream, colour=colour, console=console)
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> WalkBar:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("verify-reversible"), BarColumn(), MofNCompleteColumn(),
            TextColumn("[cyan]{task.fields[revision]}"), TimeElapsedColumn(),
            TextColumn("left"), TimeRemainingColumn(),
            console=self.console, transient=False, redirect_stdout=False,
            redirect_stderr=False,
        )
        self._progress.start()
        return self

    def show(self, index: int, total: int, revision: str) -> None:
        """Revision `index` (0-based) of `total` starts: the ones before it are done."""
        progress = self._progress
        if progress is None:
            return
        if self._task is None:
            self._task = progress.add_task("walk", total=total, revision=revision)
        progress.update(self._task, total=total, completed=index, revision=revision)

    def __exit__(self, *exc_info: object) -> None:
        progress = self._progress
        if progress is None:
            return
        if self._task is not None and exc_info[0] is None:
            task = progress.tasks[0]
            # Walked to the end: every revision done (an early stop leaves the bar where it was).
            if task.total is not None and task.completed == task.total - 1:
                progress.update(self._task, completed=task.total, revision="done")
        progress.stop()
        self._progress = None
