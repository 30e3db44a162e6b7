"""CI gates: every downgrade proven reversible, drift caught, applied revisions protected.

- `reversible`: the stairway walk (`dbsafe verify-reversible`), DBS411-DBS416;
- `drift`: a live database against what its migrations build (`dbsafe drift`), DBS401-DBS404;
- `lock`: the committed file of revision checksums (`dbsafe lock` / `verify-lock`),
  DBS421-DBS424.
"""

from __future__ import annotations

from dbsafe.gates.lock import RULES as LOCK_RULES
from dbsafe.gates.reversible import RULES as REVERSIBLE_RULES

RULES = (*REVERSIBLE_RULES, *LOCK_RULES)

__all__ = ["RULES"]
