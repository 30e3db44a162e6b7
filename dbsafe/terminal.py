"""Drawing live on a terminal with rich: the console both live views use.

`guard.display.LiveDisplay` (upgrade, downgrade, backup, restore) and
`gates.progress.WalkBar` (verify-reversible) redraw stderr in place; both are `LiveView`s,
whose console is built here, so both honour the same settings. rich is imported only when a
console is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def live_console(stream: TextIO, *, colour: bool = True) -> Console:
    """A rich console drawing on `stream`. rich reads NO_COLOR itself; `colour=False`
    (--color never) draws without colour all the same."""
    from rich.console import Console

    return Console(file=stream, soft_wrap=False, no_color=True if not colour else None)


def can_redraw(console: Console) -> bool:
    """Whether the console is a terminal rich can redraw in place (not TERM=dumb)."""
    return console.is_terminal and not console.is_dumb_terminal


class LiveView:
    """A view redrawn in place on `stream`, and the rich console it draws with, built on first
    use (asking whether the view is `usable` builds it; nothing else imports rich)."""

    def __init__(self, stream: TextIO, *, colour: bool = True,
                 console: Console | None = None) -> None:
        self.stream = stream
        self.colour = colour  # False: drawn live all the same, without colour (--color never)
        self._console = console

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = live_console(self.stream, colour=self.colour)
        return self._console

    def usable(self) -> bool:
        """Whether `stream` is a terminal rich can redraw (not TERM=dumb)."""
        return can_redraw(self.console)
