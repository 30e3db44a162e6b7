"""Regenerate dbsafe/validate/other_engine_functions.txt: the built-in functions of SQLite
and of MySQL/MariaDB, which validate does not report as functions the schema lacks (DBS314):
a statement calling one of them PostgreSQL lacks is taken for the other engine's (see
docs/validate.md, "Functions a statement calls").

    python3 scripts/gen_other_engine_functions.py FILL_HELP_TABLES_SQL
    # MariaDB's documentation as its server ships it: /usr/share/mysql/fill_help_tables.sql
    # of Debian's mariadb-server-core (`apt-get download mariadb-server-core; dpkg -x ...`)

SQLite's names are SQLite's own, read from the library Python's `sqlite3` links:
`pragma_function_list` (its scalar, aggregate and window functions), `pragma_module_list`
(eponymous table-valued functions: `json_each`) and `pragma_` + `pragma_pragma_list` (the
pragmas' table-valued functions). MySQL/MariaDB's are the topics of the help tables'
function categories (those under `Functions`, `Geographic Features` and `Functions and
Modifiers for Use with GROUP BY`; `IF Function` is `if`), read with sqlglot's MySQL dialect. Each line is
`engine name`; operators and topics that are no name (`->>`, `CAST AS`) are left out.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = ROOT / "dbsafe" / "validate" / "other_engine_functions.txt"
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# MariaDB help's categories whose topics are functions (their subcategories too).
_FUNCTION_CATEGORIES = ("Functions", "Geographic Features",
                        "Functions and Modifiers for Use with GROUP BY")


# SQLite's functions newer than the library Python links may be (Debian 12's is 3.40), from
# sqlite.org's release notes: 3.41 unhex; 3.42 json_error_position; 3.43 timediff,
# octet_length; 3.44 concat, concat_ws, string_agg; 3.45 the jsonb_* family; 3.46 json_pretty.
_SQLITE_NEWER = frozenset({
    "unhex", "json_error_position", "timediff", "octet_length", "concat", "concat_ws",
    "string_agg", "jsonb", "jsonb_array", "jsonb_extract", "jsonb_group_array",
    "jsonb_group_object", "jsonb_insert", "jsonb_object", "jsonb_patch", "jsonb_remove",
    "jsonb_replace", "jsonb_set", "json_pretty"})


def sqlite_functions() -> set[str]:
    connection = sqlite3.connect(":memory:")
    try:
        names = {row[0] for row in connection.execute(
            "SELECT name FROM pragma_function_list UNION SELECT name FROM pragma_module_list "
            "UNION SELECT 'pragma_' || name FROM pragma_pragma_list")}
    finally:
        connection.close()
    return {name.lower() for name in names if _NAME.fullmatch(name.lower())} | _SQLITE_NEWER


def mysql_functions(help_tables: Path) -> set[str]:
    import sqlglot
    from sqlglot import exp

    categories: dict[int, tuple[str, int]] = {}
    topics: list[tuple[str, int]] = []
    for statement in sqlglot.parse(help_tables.read_text(encoding="utf-8"), read="mysql"):
        if not isinstance(statement, exp.Insert):
            continue
        table = statement.this.this.name if isinstance(statement.this, exp.Schema) else ""
        for row in statement.expression.expressions:
            values = [v.this if isinstance(v, exp.Literal) else None for v in row.expressions]
            if table == "help_category":
                categories[int(values[0])] = (values[1], int(values[2]))
            elif table == "help_topic":
                topics.append((values[2], int(values[1])))

    def a_function(category: int) -> bool:
        while category in categories:
            name, parent = categories[category]
            if name in _FUNCTION_CATEGORIES:
                return True
            category = parent
        return False

    # A topic is a function's name, or its name and "Function" (`IF Function`: `IF()`).
    names = {re.sub(r"\s+function$", "", name.lower()) for name, category in topics
             if a_function(category)}
    return {name for name in names if _NAME.fullmatch(name)}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_file():
        print("usage: gen_other_engine_functions.py FILL_HELP_TABLES_SQL (MariaDB's)",
              file=sys.stderr)
        return 2
    lines = sorted([f"sqlite {name}" for name in sqlite_functions()]
                   + [f"mysql {name}" for name in mysql_functions(Path(argv[0]))])
    DATA_FILE.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    print(f"{len(lines)} names written to {DATA_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
