"""Branches of Python code that run only where the database is not PostgreSQL, from their
`if` on the database's kind.

Projects supporting several databases pick each statement by the one they talk to:

    if is_postgres(url):
        rows = conn.execute(text("SELECT sequencename FROM pg_sequences"))
    elif is_oracle(url):
        rows = conn.execute(text("SELECT sequence_name FROM user_sequences"))

    probe = "SELECT 1 FROM dual" if session.bind.dialect.name == "oracle" else "SELECT 1"

A statement in a branch that cannot run on PostgreSQL is sent to another database, whose
catalog and tables PostgreSQL's schema does not have (privacyIDEA's migration tests read
Oracle's `dual`, `user_sequences`, `user_constraints` so). A test counts when it is

- a call or a name saying the database is of a kind (`is_oracle(url)`, `self._is_mysql()`,
  `is_sqlite`, `is_postgres()`): `is_`, `using_` or `uses_` and a kind's name;
- a comparison of a value naming the SQL dialect (`dialect.name`, `dialect_name`,
  `bind.dialect.name`, `url.get_backend_name()`, `url.drivername`, Django's
  `connection.vendor`) with kinds' names (`== "mysql"`, `!= "postgresql"`,
  `in ("mysql", "mariadb")`);
- `.startswith("sqlite")` of a value naming a URL or the dialect
  (`str(engine.url).startswith("sqlite")`, `db_uri.startswith("mysql")`);

alone, negated, or joined by `and`/`or`. Anything else (`if self.db_type == 2:`, a name
not saying a kind) leaves the branch possible on PostgreSQL: checked.

A class can say it for all its code: Apache Superset's engine specs (`class
ClickHouseEngineSpec(BaseEngineSpec): engine = "clickhouse"`) each hold the SQL Superset sends
to a database of that kind, the one a user connects, through `database.get_df(sql)` or its
cursor. `engine` bound in the class's body to a literal naming another kind is that
(`declared_engine`), and so is a method `type` that only returns such a literal: Redash's query
runners (`class Oracle(BaseSQLQueryRunner)` with `@classmethod def type(cls): return
"oracle"`) each send their SQL to the data source a user connects. A name of the module's
file is not (a `mysql.py` may load what it reads from MySQL into the application's
PostgreSQL).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

# SQLAlchemy's dialect names (and the drivers' spellings of them) of other databases.
_OTHER_KINDS = frozenset({
    "oracle", "mysql", "mariadb", "sqlite", "sqlite3", "mssql", "sqlserver", "clickhouse",
    "duckdb", "snowflake", "bigquery", "redshift", "db2", "sybase", "firebird",
    # clickhouse-connect's and databend-sqlalchemy's (their `sqlalchemy.dialects` entry points)
    "clickhousedb", "databend",
    # CQL reads like SQL (`SELECT ... FROM system.local`); ScyllaDB's driver keeps the name
    "cassandra", "scylla",
    # knex's clients (`knex.client.config.client`, `["mysql", "mysql2"].includes(client)`)
    "mysql2", "better-sqlite3", "oracledb",
})
_POSTGRES = frozenset({"postgres", "postgresql", "pg", "psql", "pgsql", "pgnative"})
_PREDICATE = re.compile(r"^_*(?:is|using|uses)_([a-z0-9]+)$")
# Words of a value that names the SQL dialect or the database's kind, for comparisons.
_DIALECT_WORDS = frozenset({"dialect", "drivername"})
# Words of a value that names a database URL, for `.startswith(...)`.
_URL_WORDS = frozenset({"url", "uri", "dsn"})
_WORDS = re.compile(r"[a-z0-9]+")

# (may hold on PostgreSQL, may fail on PostgreSQL)
Judged = tuple[bool, bool]
_EITHER: Judged = (True, True)


def never_on_postgres(test: ast.expr, *, holds: bool,
                      bound: Callable[[ast.Name], ast.AST | None] | None = None) -> bool:
    """Whether the branch run when `test` is `holds` certainly does not run on PostgreSQL.

    >>> def test(text): return ast.parse(text, mode="eval").body
    >>> never_on_postgres(test("is_oracle(str(engine.url))"), holds=True)
    True
    >>> never_on_postgres(test("is_postgres(url)"), holds=False)
    True
    >>> never_on_postgres(test("conn.dialect.name in ('mysql', 'mariadb')"), holds=True)
    True
    >>> never_on_postgres(test("is_oracle(url) or flag"), holds=True)
    False
    >>> never_on_postgres(test("kind == 'mysql'"), holds=True)
    False
    >>> never_on_postgres(test("engine.dialect.name == SupportedDialect.SQLITE"), holds=True)
    True
    >>> never_on_postgres(test("engine.dialect.name == SupportedDialect.Sqlite"), holds=True)
    False
    """
    judged = _judge(test, bound)
    if judged is None:
        return False
    return not (judged[0] if holds else judged[1])


def declared_engine(cls: ast.ClassDef) -> ast.stmt | None:
    """The binding of `engine` in a class's body, or its method `type` returning a literal,
    that names another database than PostgreSQL, when every such binding and method there
    does (`engine = "clickhouse"`, `engine: str = "redshift"`, `@classmethod def type(cls):
    return "oracle"`), or None.

    >>> def first(text): return ast.parse(text).body[0]
    >>> ast.unparse(declared_engine(first("class S:\\n    engine = 'clickhouse'\\n")))
    "engine = 'clickhouse'"
    >>> declared_engine(first("class S:\\n    engine = 'postgresql'\\n")) is None
    True
    >>> declared_engine(first("class S:\\n    engine = ENGINES['mysql']\\n")) is None
    True
    >>> declared_engine(first("class S:\\n    def type(cls):\\n        return 'db2'\\n")).name
    'type'
    >>> declared_engine(first("class S:\\n    def type(cls):\\n        return 'pg'\\n")) is None
    True
    """
    found: ast.stmt | None = None
    for statement in cls.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if statement.name != "type":
                continue
            literal = returned_kind(statement)
            if literal is None or _kind(literal) is not False:
                return None
            found = statement
            continue
        targets: list[ast.expr]
        value: ast.expr | None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            targets, value = [statement.target], statement.value
        else:
            continue
        if not any(isinstance(target, ast.Name) and target.id == "engine" for target in targets):
            continue
        if value is None or _kind(value) is not False or \
                not isinstance(statement, (ast.Assign, ast.AnnAssign)):
            return None
        found = statement
    return found


def declaration(binding: ast.stmt) -> str:
    """What `declared_engine` found, as a message quotes it: the binding, or the method
    without its decorators and docstring (`def type(cls): return 'oracle'`)."""
    if isinstance(binding, ast.FunctionDef) and (literal := returned_kind(binding)) is not None:
        return f"def {binding.name}({ast.unparse(binding.args)}): return {ast.unparse(literal)}"
    return ast.unparse(binding)


def returned_kind(method: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.Constant | None:
    """The string a method declaring its class's kind returns: one taking nothing but its
    `self` or `cls` (none as a static method), plain, a class or static method or a
    property, whose body (after its docstring) is `return "..."` alone. Redash's query
    runners say their data source's kind so (`@classmethod def type(cls): return "redshift"`);
    a method computing it (`return cls.__name__.lower()`) declares nothing."""
    decorators = {d.id for d in method.decorator_list if isinstance(d, ast.Name)}
    if isinstance(method, ast.AsyncFunctionDef) or len(decorators) != len(method.decorator_list) \
            or not decorators <= {"classmethod", "staticmethod", "property"}:
        return None
    arguments = method.args
    taken = 0 if "staticmethod" in decorators else 1
    if len(arguments.posonlyargs) + len(arguments.args) != taken or arguments.vararg \
            or arguments.kwonlyargs or arguments.kwarg:
        return None
    body = method.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return None
    value = body[0].value
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value
    return None


def _judge(test: ast.expr, bound: Callable[[ast.Name], ast.AST | None] | None) -> Judged | None:
    """Whether `test` may hold and may fail on PostgreSQL, or None when it tests no kind.
    `bound` gives what a name is bound to once (`is_ora = is_oracle()`, then `if is_ora:`),
    followed one step."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _judge(test.operand, bound)
        return None if inner is None else (inner[1], inner[0])
    if isinstance(test, ast.BoolOp):
        parts = [_judge(value, bound) for value in test.values]
        if all(part is None for part in parts):
            return None
        known = [part or _EITHER for part in parts]
        if isinstance(test.op, ast.And):
            return all(p[0] for p in known), any(p[1] for p in known)
        return any(p[0] for p in known), all(p[1] for p in known)
    if isinstance(test, (ast.Call, ast.Name, ast.Attribute)):
        judged = _predicate(test)
        if judged is None and isinstance(test, ast.Name) and bound is not None:
            value = bound(test)
            if isinstance(value, ast.expr) and not isinstance(value, ast.Name):
                return _judge(value, None)
        return judged
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        return _compared(test.left, test.ops[0], test.comparators[0])
    return None


def _predicate(test: ast.Call | ast.Name | ast.Attribute) -> Judged | None:
    """`is_oracle(url)`, `self.is_sqlite`, `is_postgres()`; `url.startswith("sqlite")`."""
    target = test.func if isinstance(test, ast.Call) else test
    name = target.attr if isinstance(target, ast.Attribute) else \
        target.id if isinstance(target, ast.Name) else None
    if name is None:
        return None
    if isinstance(test, ast.Call) and name == "startswith" and \
            isinstance(target, ast.Attribute) and len(test.args) == 1 and not test.keywords:
        kind = _kind(test.args[0])
        words = _words(target.value)
        if kind is None or not (words & _URL_WORDS or _names_dialect(words)):
            return None
        return (True, False) if kind else (False, True)
    match = _PREDICATE.match(name.lower())
    if match is None:
        return None
    kind = word_kind(match.group(1))
    if kind is None:
        return None
    return (True, False) if kind else (False, True)


def _compared(left: ast.expr, op: ast.cmpop, right: ast.expr) -> Judged | None:
    """`dialect.name == "mysql"`, `"sqlite" != bind.dialect.name`, `dialect_name in (...)`."""
    if isinstance(op, (ast.Eq, ast.NotEq)) and isinstance(left, ast.Constant):
        left, right = right, left
    if not _names_dialect(_words(left)):
        return None
    if isinstance(op, (ast.Eq, ast.NotEq)):
        kinds = [_kind(right)]
    elif isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (ast.Tuple, ast.List, ast.Set)):
        kinds = [_kind(element) for element in right.elts]
    else:
        return None
    if not kinds or any(kind is None for kind in kinds):
        return None
    judged = (True, False) if any(kinds) else (False, True)
    return (judged[1], judged[0]) if isinstance(op, (ast.NotEq, ast.NotIn)) else judged


def _kind(node: ast.expr) -> bool | None:
    """True for a literal naming PostgreSQL, False for one naming another database, None
    for anything else (`"mysql+pymysql"` is MySQL: the part before `+`); a constant of an
    enum or class named in capitals too (Home Assistant's `SupportedDialect.SQLITE`)."""
    if isinstance(node, ast.Attribute) and node.attr.isupper():
        return word_kind(node.attr.lower())
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return None
    return literal_kind(node.value)


def literal_kind(value: str) -> bool | None:
    """True for a string naming PostgreSQL, False for one naming another database, None
    for anything else (`"mysql+pymysql"`, `"mysql://"` are MySQL: the part before `+`, `:`).

    >>> literal_kind("mysql://"), literal_kind("postgresql+psycopg"), literal_kind("prod")
    (False, True, None)
    """
    return word_kind(value.lower().split("+", 1)[0].split(":", 1)[0])


def word_kind(word: str) -> bool | None:
    """True for a lower-cased word naming PostgreSQL (`pg`), False for one naming another
    database (`sqlite`), None for any other word."""
    if word in _POSTGRES:
        return True
    return False if word in _OTHER_KINDS else None


def _names_dialect(words: set[str]) -> bool:
    """Whether a value's words name the dialect: `dialect.name`, `url.drivername`,
    `url.get_backend_name()`, Django's `connection.vendor` (`connections[alias].vendor`)."""
    return bool(words & _DIALECT_WORDS) or {"backend", "name"} <= words or \
        ("vendor" in words and bool(words & {"connection", "connections"}))


def _words(node: ast.expr) -> set[str]:
    """The lower-cased words of the names and attributes an expression spells
    (`session.bind.dialect.name` -> session, bind, dialect, name)."""
    found: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.update(_WORDS.findall(child.id.lower()))
        elif isinstance(child, ast.Attribute):
            found.update(_WORDS.findall(child.attr.lower()))
    return found
