"""Relative downgrade targets (`-N`) on a history with a branch and a merge."""

from __future__ import annotations

import pytest

from dbsafe.core import DbsafeError
from dbsafe.migrate.revisions import steps_down
from dbsafe.migrate.runner import Revision

# a <- b <- c, a <- d, (c, d) <- m <- e
HISTORY = [Revision("e", None, "m"), Revision("m", None, ("c", "d")), Revision("d", None, "a"),
           Revision("c", None, "b"), Revision("b", None, "a"), Revision("a", None, None)]


def test_steps_down_a_straight_line() -> None:
    assert steps_down(HISTORY, ["c"], 1) == ["b"]
    assert steps_down(HISTORY, ["c"], 3) == []  # base
    assert steps_down(HISTORY, ["e"], 1) == ["m"]


@pytest.mark.parametrize(("current", "steps", "message"), [
    (["c"], 4, "-4 goes below base"),
    (["e"], 2, "m merges c, d: -2 names no single revision"),
    (["c", "d"], 1, "the database is at 2 revisions"),
    (["zz"], 1, "the database's revision zz is not in the history"),
])
def test_steps_that_name_no_single_revision_are_refused(current: list[str], steps: int,
                                                        message: str) -> None:
    with pytest.raises(DbsafeError, match=message):
        steps_down(HISTORY, current, steps)
