"""Where SQL lives in source: find statements in files and map them back to positions."""

from __future__ import annotations

from dbsafe.extract.fragment import SqlFragment

__all__ = ["SqlFragment"]
