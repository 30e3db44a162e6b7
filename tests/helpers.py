"""Test helpers shared by every test module: committed text snapshots.

Expectations are files next to their fixtures, in the form users see; reviewing a change
means reading the diff of those files. `DBSAFE_UPDATE_SNAPSHOTS=1` rewrites them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

UPDATE = os.environ.get("DBSAFE_UPDATE_SNAPSHOTS") == "1"


def assert_snapshot(actual: str, expected_path: Path) -> None:
    """Compare with the committed snapshot; DBSAFE_UPDATE_SNAPSHOTS=1 rewrites it."""
    if UPDATE:
        expected_path.write_text(actual, encoding="utf-8")
        return
    if not expected_path.exists():
        pytest.fail(
            f"missing snapshot {expected_path.name}; "
            "run with DBSAFE_UPDATE_SNAPSHOTS=1 and review the new file"
        )
    assert actual == expected_path.read_text(encoding="utf-8")
