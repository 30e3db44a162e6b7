"""Regenerate dbsafe/validate/pgtap_functions.txt: the names of the functions and aggregates
pgTAP's SQL creates (every version's install and upgrade scripts), which validate leaves
unreported when a pgTAP test calls them (DBS314; see docs/validate.md, "Functions a
statement calls").

    python3 scripts/gen_pgtap_functions.py PGTAP_CHECKOUT   # a clone of github.com/theory/pgtap

Read with PostgreSQL's parser (pglast): `CREATE FUNCTION` and `CREATE AGGREGATE` statements of
`sql/pgtap.sql.in` and `sql/pgtap--*.sql[.in]`, psql meta-commands and the build's
`__PLACEHOLDERS__` left out. A name any version made counts: tests run on older installs too.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = ROOT / "dbsafe" / "validate" / "pgtap_functions.txt"


def pgtap_functions(checkout: Path) -> set[str]:
    from pglast import ast, parse_sql
    from pglast.enums import ObjectType

    names: set[str] = set()
    for path in sorted((checkout / "sql").glob("pgtap*.sql*")):
        text = re.sub(r"__\w+__", "1", path.read_text(encoding="utf-8"))
        text = "\n".join(line for line in text.splitlines() if not line.startswith("\\"))
        for raw in parse_sql(text):
            node = raw.stmt
            if isinstance(node, ast.CreateFunctionStmt):
                names.add(str(node.funcname[-1].sval))
            elif isinstance(node, ast.DefineStmt) and node.kind == ObjectType.OBJECT_AGGREGATE:
                names.add(str(node.defnames[-1].sval))
    return names


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not (Path(argv[0]) / "sql" / "pgtap.sql.in").is_file():
        print("usage: gen_pgtap_functions.py PGTAP_CHECKOUT (with sql/pgtap.sql.in)",
              file=sys.stderr)
        return 2
    names = pgtap_functions(Path(argv[0]))
    DATA_FILE.write_text("".join(f"{name}\n" for name in sorted(names)), encoding="utf-8")
    print(f"{len(names)} names written to {DATA_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
