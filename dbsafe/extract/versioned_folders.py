"""SQL kept in one folder per PostgreSQL version (pgAdmin's
`templates/databases/sql/15_plus/`, `16_plus/`, `17_plus/`, `default/`).

Its template loader reads a file from the highest `<N>_plus` folder at or below the
server's major that holds a file of that name: a file a higher sibling folder holds too
is never sent to that major or a later one (`15_plus/get_icu_locale.sql` reads
`pg_collation.colliculocale`, which PostgreSQL 17 renamed; on 17 and later the loader
reads `17_plus/get_icu_locale.sql` instead).
"""

from __future__ import annotations

import re
from pathlib import Path

_VERSION_FOLDER = re.compile(r"([1-9][0-9]?)_plus")
_LAST_MAJOR = 99  # majors up to here: `not_sent_to` is a set


def superseded_from(path: Path) -> frozenset[int]:
    """The PostgreSQL majors a file in a `<N>_plus` folder is never read on: from the
    lowest higher sibling `<M>_plus` folder holding a file of the same name up (none
    elsewhere).

    >>> superseded_from(Path("queries/get_rows.sql"))
    frozenset()
    """
    folder = path.parent
    found = _VERSION_FOLDER.fullmatch(folder.name)
    if found is None:
        return frozenset()
    own = int(found[1])
    try:
        siblings = list(folder.parent.iterdir())
    except OSError:
        return frozenset()
    higher = [major for sibling in siblings
              if (match := _VERSION_FOLDER.fullmatch(sibling.name)) is not None
              and (major := int(match[1])) > own and (sibling / path.name).is_file()]
    return frozenset(range(min(higher), _LAST_MAJOR + 1)) if higher else frozenset()
