"""CI gates: every downgrade proven reversible, drift caught, applied revisions protected.

- `reversible`: the stairway walk (`dbsafe verify-reversible`), DBS411-DBS416;
- `drift`: a live database against what its migrations build (`dbsafe drift`), DBS401-DBS404,
  and SQLAlchemy models against the migrations' head (`--models`), DBS405;
- `lock`: the committed file of revision checksums (`dbsafe lock` / `verify-lock`),
  DBS421-DBS424.
"""

from __future__ import annotations

from dbsafe.gates.drift import RULES as DRIFT_RULES
from dbsafe.gates.lock import RULES as LOCK_RULES
from dbsafe.gates.reversible import RULES as REVERSIBLE_RULES

RULES = (*DRIFT_RULES, *REVERSIBLE_RULES, *LOCK_RULES)

__all__ = ["RULES"]
