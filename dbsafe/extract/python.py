"""SQL embedded in Python source: string literals passed to database calls, and SQL constants.

(supabase-py's PostgREST requests are read from the same parse by
`dbsafe.extract.supabase_py`.)

Two ways a string becomes a fragment:

* it is the SQL argument of a *sink* call (`cur.execute(...)`, `text(...)`, asyncpg's
  `fetch(...)`, Django's `raw(...)`, psycopg's `sql.SQL(...)`, ...), directly or through a
  name bound exactly once to a literal in the same function or at module level;
* anywhere else (module constants, class attributes, dict values), it is *clearly* a SQL
  statement. "Clearly" is deliberately strict, because a false positive blocks a merge:
  see `looks_like_statement`.

Positions come from the source text, not from `ast` alone: `ast` gives one node for an
implicitly concatenated literal and decodes escapes, so each literal is re-scanned here and
every decoded character is mapped to its line and (character) column. A decoding that
does not reproduce `ast`'s value exactly is never trusted: such a literal is reported as
dynamic rather than given wrong positions.

Dynamic SQL (f-strings, `%`, `.format()`, `+`) becomes a template with holes. A hole that
provably sits where a *value* goes (`= {x}`, `LIMIT {n}`, `IN ({ids})`, `VALUES ({a}, {b})`,
inside a quoted SQL string) is replaced by `NULL` (or nothing, inside a string) and the
statement is validated; any other hole makes the fragment `dynamic`, reported once as
"not validated".
"""

from __future__ import annotations

import ast
import bisect
import itertools
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dbsafe.core import Location, Skipped
from dbsafe.extract import newer_python
from dbsafe.extract.engines import (
    ENGINE_SINKS,
    ENGINES,
    FILLERS,
    SAME_ENGINE,
    SQLGLOT,
    SQLITE,
    Engine,
)
from dbsafe.extract.fragment import ExtractResult, SqlFragment
from dbsafe.extract.holes import (
    NAME_HOLE,
    Hole,
    Template,
    adds_a_clause,
    fill_holes,
    in_syntax,
)
from dbsafe.extract.py_migrations import BUILT_IN, Moves, target_of
from dbsafe.extract.regclass_guard import tables_where
from dbsafe.extract.session_path import search_path_before
from dbsafe.extract.sqlfile import line_starts_of, statement_bounds

if TYPE_CHECKING:
    from dbsafe.extract.py_parsers import Parsed

# Python's grammar is the running interpreter's: a project on a newer one (PEP 695's
# `def f[T]()` before 3.12, PEP 758's `except A, B:` before 3.14) reads as broken.
_READ_AS = (f"read as Python {sys.version_info.major}.{sys.version_info.minor}: run dbsafe "
            "with the project's Python if it is newer")

_SUPABASE = re.compile("supabase|postgrest", re.IGNORECASE)
# Calls whose first argument (or sql=/query=/statement= keyword) is a SQL statement.
SINKS = frozenset(
    {
        "execute",
        "executemany",
        "executescript",
        "exec_driver_sql",
        "text",
        "read_sql",
        "read_sql_query",
        "fetch",
        "fetchrow",
        "fetchval",
        "prepare",
        "cursor",
        "raw",
        "SQL",
        "mogrify",
        # encode/databases' `database.fetch_all(query=...)`, `fetch_one`, `fetch_val`;
        # Tortoise's `connection.execute_query(...)`, `execute_query_dict` (not its
        # `execute_script`: Selenium's `driver.execute_script("delete window.x")` is
        # JavaScript, in far more code than Tortoise's schema scripts)
        "fetch_all",
        "fetch_one",
        "fetch_val",
        "fetchone",
        "fetchall",
        "execute_query",
        "execute_query_dict",
    }
)
_SQL_KEYWORDS = ("sql", "query", "statement")
# psycopg's `cursor.copy("COPY ...")` and psycopg2's `cursor.copy_expert("COPY ...", file)`:
# a call so named is read only when its statement is a COPY of a table (`_copy_statement`).
_COPY_SINKS = frozenset({"copy", "copy_expert"})
# asyncpg's COPY methods, by the keyword-only argument each requires (its data).
_ASYNCPG_COPIES = {"copy_records_to_table": "records", "copy_to_table": "source",
                   "copy_from_table": "output"}
# asyncpg's `copy_from_query(query, *args, output=...)`: its query, a statement it prepares
# (with arguments) or sends inside `COPY (...) TO STDOUT`, is read as a sink's when the
# call gives the keyword-only `output=` asyncpg requires.
_ASYNCPG_QUERY_COPY = "copy_from_query"
_PARAM_KEYWORDS = frozenset({"params", "parameters", "vars", "args", "values"})

# Statements a sink may carry. Anything else passed to a call named like a sink
# (`fetch("https://...")`, `text("created_at desc")`) is not a statement we can validate.
_STATEMENT_WORDS = frozenset(
    """select with insert update delete merge values table create alter drop truncate
    comment grant revoke set reset show explain analyze analyse vacuum lock begin commit
    rollback savepoint release start end do call refresh reindex cluster listen notify
    unlisten declare fetch move close prepare execute deallocate discard""".split()
)



def sql_in_python(source: str, path: str,
                  parsers: Mapping[str, Parsed] | None = None,
                  migrations: Mapping[str, Moves] | None = None,
                  clients: Mapping[str, str] | None = None) -> ExtractResult:
    """Find the SQL statements a Python module sends to a database.

    Args:
        source: The module's text.
        path: Path recorded in each fragment (repository-relative, POSIX separators).
        parsers: The project's functions that hand a parameter to sqlglot's parser and
            never send it (`py_parsers.parsing_functions`): what the module gives them
            there is not a statement sent as written.
        migrations: The project's functions that upgrade or downgrade the database for
            their caller (`py_migrations.migration_functions`): a migration test's calls.
        clients: The project's functions that return another engine's client, or None
            (`py_clients.client_functions`), by each dotted name they may be imported by
            -> that engine's name: what the module sends through what they return is not
            PostgreSQL's; and its module-level names other modules import only to send to
            another engine (`py_clients.constants_sent_elsewhere`): the module's own
            constant so named holds that engine's statement.

    Returns:
        The fragments in source order, and the module's supabase-py requests
        (`dbsafe.extract.supabase_py`). A syntax error yields no fragments and one
        `Skipped` entry at the error's position; nothing is raised.

    Example:
        >>> result = sql_in_python('cur.execute("SELECT id\\\\n FROM users")', "app.py")
        >>> [(f.sql, f.location(f.sql.index("users"))) for f in result.fragments]
        [('SELECT id\\n FROM users', Location(path='app.py', line=1, column=31, \
end_line=None, end_column=None))]
    """
    try:
        module = newer_python.read(source, path)
    except (SyntaxError, ValueError) as exc:  # ValueError: NUL bytes in source
        line = getattr(exc, "lineno", None) or 1
        column = getattr(exc, "offset", None) or 1
        message = getattr(exc, "msg", None) or str(exc)
        return ExtractResult(
            skipped=(Skipped(Location(path, line, column),
                             f"Python syntax error ({_READ_AS}): {message}"),)
        )
    # A module of a newer Python is read in its rewrite (`newer_python`): the same lines,
    # its strings at the same columns.
    extractor = _Extractor(module.text, path, module.tree, parsers, migrations, clients,
                           templates=module.templates)
    fragments = extractor.run()
    skipped = sorted(extractor.skipped, key=lambda s: (s.location.line, s.location.column))
    requests: tuple = ()
    if _SUPABASE.search(source):  # else no supabase-py client can be in the module
        from dbsafe.extract.supabase_py import requests_in

        requests = tuple(requests_in(extractor))
    return ExtractResult(fragments=tuple(fragments), skipped=tuple(skipped),
                         ddl=tuple(extractor.ddl), runs_unseen_sql=extractor.runs_unseen_sql,
                         requests=requests)


def clients_returned(source: str, path: str) -> dict[str, dict[str, Any]]:
    """What `py_clients.client_functions` reads of a module (`path` from the project's
    root): `functions`, its module-level functions whose every value returned, but `None`,
    is another engine's client as the module shows it (`_Extractor._engine_returned`'s
    rule: `["engine", "Salesforce"]`) or what a call of a function of another module (or
    of this one) gives (`["call", "tendenci.apps.base.utils.get_salesforce_access"]`),
    each -> those; `imports`, what each name its top level imports from a module stands
    for (a package's re-exports). Nothing for a module Python cannot read.

    >>> clients_returned("from simple_salesforce import Salesforce\\n"
    ...                  "def access(ok):\\n    if not ok:\\n        return None\\n"
    ...                  "    return Salesforce()\\n"
    ...                  "def local(db):\\n    return db or None\\n", "app/utils.py")
    {'functions': {'access': [['engine', 'Salesforce']]}, \
'imports': {'Salesforce': 'simple_salesforce.Salesforce'}}
    """
    try:
        module = newer_python.read(source, path)
    except (SyntaxError, ValueError):
        return {}
    tree = module.tree
    extractor = _Extractor(module.text, path, tree)
    top: list[ast.stmt] = []  # the module's statements, but those of its defs and classes
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop()
        top.append(statement)
        if isinstance(statement, (ast.If, ast.Try, ast.With)):
            pending.extend(statement.body)
            pending.extend(getattr(statement, "orelse", ()))
            for handler in getattr(statement, "handlers", ()):
                pending.extend(handler.body)
    for node in _walk(tree, extractor.parents, extractor.nodes):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            extractor._note_import(node)
    extractor.engine_memo = {}
    from dbsafe.extract.py_parsers import module_name

    own = module_name(path)
    imports: dict[str, str] = {}
    for statement in top:
        if not isinstance(statement, ast.ImportFrom):
            continue
        for alias in statement.names:
            local = alias.asname or alias.name
            dotted = extractor.imported.get(local) or extractor.relative.get(local)
            if alias.name != "*" and dotted:
                imports[local] = dotted
    functions: dict[str, list[list[str]]] = {}
    for function in tree.body:
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        nodes = list(_own_nodes(function))
        if any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in nodes):
            continue  # a generator: what it returns is no client
        returns = [node.value for node in nodes if isinstance(node, ast.Return)]
        if not returns or any(value is None for value in returns):
            continue
        values = [value for value in returns if value is not None
                  and not (isinstance(value, ast.Constant) and value.value is None)]
        gives: list[list[str]] = []
        for value in values:
            engine = extractor._engine_of(value, depth=1)
            callee = None if engine is not None else extractor._callee_returned(value, own)
            if engine is not None and engine is not SQLGLOT:
                gives.append(["engine", engine.name])
            elif callee is not None:
                gives.append(["call", callee])
            else:
                break
        else:
            if gives:
                functions[function.name] = gives
    return {"functions": functions, "imports": imports}


def names_sent_elsewhere(source: str, path: str) -> dict[str, str]:
    """What `py_clients.constants_sent_elsewhere` reads of a module (`path` from the
    project's root): each name its top level imports from a module (`from
    app.constants import REVIEWS_QUERY`: `app.constants.REVIEWS_QUERY`; a relative import
    by its dotted path) whose every read in the module is a statement a sink sends to one
    other engine, as the module shows it -> that engine's name. A name also read, bound or
    deleted anywhere else in the module is not there.

    >>> names_sent_elsewhere("import snowflake.connector\\n"
    ...                      "from app.constants import Q, P\\n"
    ...                      "cs = snowflake.connector.connect().cursor()\\n"
    ...                      "cs.execute(Q)\\nlog(P)\\ncs.execute(P)\\n", "app/job.py")
    {'app.constants.Q': 'Snowflake'}
    """
    try:
        module = newer_python.read(source, path)
    except (SyntaxError, ValueError):
        return {}
    extractor = _Extractor(module.text, path, module.tree, templates=module.templates)
    extractor.run()
    if not extractor.sent_names:
        return {}
    imports: dict[str, str] = {}
    for statement in module.tree.body:
        if isinstance(statement, ast.ImportFrom):
            for alias in statement.names:
                local = alias.asname or alias.name
                dotted = extractor.imported.get(local) or extractor.relative.get(local)
                if alias.name != "*" and dotted:
                    imports[local] = dotted
    engines: dict[str, set[str]] = {}
    for node in extractor.nodes:
        if isinstance(node, ast.Name) and node.id in imports:
            engine = extractor.sent_names.get(id(node))
            engines.setdefault(node.id, set()).add(engine.name if engine else "")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                engines.setdefault(name, set()).add("")
    return {imports[local]: names.pop() for local, names in sorted(engines.items())
            if local in imports and len(names) == 1 and "" not in names}


def _walk(tree: ast.AST, parents: dict[int, ast.AST],
          todo: list[ast.AST] | None = None) -> Iterator[ast.AST]:
    """`ast.walk(tree)` (breadth-first, same order), noting each node's parent on the way:
    one pass, without the generator per node that `ast.iter_child_nodes` costs. `todo`, if
    given (empty), ends up holding every node walked."""
    node_type = ast.AST  # a local: looked up once per field otherwise
    todo = [] if todo is None else todo
    todo.append(tree)
    for node in todo:  # grows as it goes: a queue without popping
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                parents[id(value)] = node
                todo.append(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type):
                        parents[id(item)] = node
                        todo.append(item)
        yield node


class _Extractor:
    """State for one module: source text, line index, parents and what was taken."""

    def __init__(self, source: str, path: str, tree: ast.Module,
                 parsers: Mapping[str, Parsed] | None = None,
                 migrations: Mapping[str, Moves] | None = None,
                 clients: Mapping[str, str] | None = None, *,
                 templates: frozenset[tuple[int, int]] = frozenset()) -> None:
        self.source = source
        # The (lineno, col_offset) of the f-strings that are a newer Python's t-strings.
        self.templates = templates
        self.path = path
        self.tree = tree
        self.names_search_path = "search_path" in source.lower()
        # The project's functions moving the database between revisions (`py_migrations`)
        # the module may call, by their last names.
        self.migrations = {name: moves for name, moves in (migrations or {}).items()
                           if name.rpartition(".")[2] in source}
        self.says_migration_call = "downgrade" in source or "upgrade" in source \
            or bool(self.migrations)
        # Whether an `if` of the module leaves its function (`_branches_around`): None until asked.
        self.leaves_early: bool | None = None
        # (a block, by its parent and field) -> its statements' positions, and the `if`s
        # in it that leave the function (see `_exits_before`)
        self.exit_ifs: dict[tuple[int, str], tuple[dict[int, int],
                                                   tuple[tuple[int, ast.expr], ...]]] = {}
        self.line_starts = line_starts_of(source)
        self.parents: dict[int, ast.AST] = {}
        self.taken: set[int] = set()  # ids of nodes already turned into fragments
        # ids of the names a sink sends to another engine (`cs.execute(QUERY)` on a Snowflake
        # cursor) -> that engine (`names_sent_elsewhere`)
        self.sent_names: dict[int, Engine] = {}
        self.scopes: dict[int, dict[str, list[ast.AST]]] = {}
        self._declared_global: frozenset[str] | None = None  # see `_globals`
        self._attribute_facts: tuple[frozenset[str], dict[str, int]] | None = None
        # Name -> where it is a piece strings are built from (see `_built_into_another`).
        self.pieces: dict[str, list[ast.Name]] = {}
        self.loads: dict[str, list[ast.Name]] | None = None  # see `_reads`
        self.attributes: dict[str, list[ast.Attribute]] | None = None  # see `_held_for`
        # A loop's name -> the string it holds in the round being read (see `_each_round`),
        # and each `for` loop -> the strings it runs its body with, if it runs it for each.
        self.looped: dict[str, ast.Constant] = {}
        # A name bound in branches -> the literal it holds on the path being read (see
        # `_each_path`).
        self.chosen: dict[str, ast.expr] = {}
        self.rounds: dict[int, list[ast.Constant] | None] = {}
        self.nodes: list[ast.AST] = []  # every node of the tree, once `run` walked it
        # A function -> its parameters it sends to another engine (see `_note_helper`).
        self.helpers: dict[int, dict[str, Engine]] = {}
        self.skipped: list[Skipped] = []
        # A class -> its `engine = "..."` naming another database (see `_engine_of_class`).
        self.class_engines: dict[int, ast.stmt | None] = {}
        self.ddl: list[str] = []  # DDL statements in strings no sink takes
        self.runs_unseen_sql = False  # sends SQL read from a file (see `_read_from_file`)
        # Tables the module declares as SQLAlchemy models, and whether it runs `create_all`
        # (see `_note_model_table`).
        self.model_tables: list[str] = []
        self.creates_all = False
        # (function, list name) -> whether the function writes that list's pairs as CTEs
        # (see `_listed_cte_body`)
        self.cte_lists: dict[tuple[int, str], bool] = {}
        # A scope -> the lists of lines it joins into one text (see `_joined_line`).
        self.line_lists: dict[int, frozenset[str]] = {}
        # Trac's schema DSL, `Table("name", key=...)[Column(...)]` and `create_tables(schema)`
        # (see `_note_model_table`): each table with the local name of its `Table`.
        self.trac_tables: list[tuple[str, str]] = []
        self.creates_tables = False
        # The other engines this module may send SQL to (see `_engine_receiving`): those it
        # names at all, and the dotted name each imported name stands for (None: imported
        # as two different things).
        lowered = source.lower()
        # a module that may bind a mock connection (see `_sent_to_mock`)
        self.mocks = "mock" in lowered or "create_autospec" in lowered
        # a module that may check a table exists (see `_tables_checked_before`)
        self.checks_tables = "table_names" in lowered or "table_exists" in lowered or \
            "has_table" in lowered
        # a module that may look a table up with `to_regclass` first (see `_tables_around`)
        self.reads_regclass = "to_regclass" in lowered
        # a module that may read `pg_extension` first (see `_extensions_installed_at`)
        self.reads_extensions = "pg_extension" in lowered
        # (also its folders: a module of the project's layer for the engine, `storage/
        # cassandra/migrations.py`, may name it only there: see `_relative_dotted`)
        folders = path.lower().rpartition("/")[0]
        self.engines = tuple(engine for engine in ENGINES if any(
            word in lowered or word in folders for word in engine.words))
        # The last names of the project's functions parsing a parameter with sqlglot that
        # the module may call (`admit_sql`): those calls are read too (`_parsed_elsewhere`).
        self.parsers = parsers or {}
        self.parser_names = frozenset(
            last for last in {name.rpartition(".")[2] for name in self.parsers}
            if last in source) if self.parsers else frozenset()
        if self.parser_names and SQLGLOT not in self.engines:
            self.engines += (SQLGLOT,)  # its helpers handing theirs on are followed
        # The project's functions of other modules returning another engine's client
        # (`py_clients`) the module may call, by their last names: their engines are
        # looked for here too (`_engine_imported`).
        self.clients = {name: engine for name, engine in (clients or {}).items()
                        if name.rpartition(".")[2] in source}
        self.engines += tuple(engine for engine in ENGINES if engine not in self.engines
                              and engine.name in self.clients.values())
        self.imported: dict[str, str | None] = {}
        # Every dotted name each imported name is bound to: two of one engine's libraries
        # under one name (`from pygridgain import Client` or `from pyignite import Client`,
        # as a setting says) are both that engine's.
        self.imported_as: dict[str, set[str]] = {}
        # What a relative import binds, as the dotted path of the module it comes from
        # (`from .cql import CqlRunner` in `swh/storage/cassandra/migrations.py`:
        # `swh.storage.cassandra.cql.CqlRunner`); None: bound to two different things.
        self.relative: dict[str, str | None] = {}
        self.module_engine: tuple[Engine, ...] | None = None  # see `_engine_of_module`
        # (a name, depth) -> its engine, once the module is read whole (`clients_returned`:
        # a name built by `+=` forty times is asked about through each store, each time)
        self.engine_memo: dict[tuple[int, int], Engine | None] | None = None
        # (class, attribute, depth) -> the engine of what `self.attribute` holds in its methods
        self.attribute_engines: dict[tuple[int, str, int], Engine | None] = {}

    def run(self) -> list[SqlFragment]:
        found: list[tuple[tuple[int, int], list[SqlFragment]]] = []
        calls: list[ast.Call] = []
        others: list[ast.Call] = []  # where a module naming another engine calls its helpers
        strings: list[ast.expr] = []
        copies: list[ast.Call] = []  # asyncpg's `copy_records_to_table(...)` and kin
        parsed: list[ast.Call] = []  # calls of the project's functions of `self.parsers`
        for node in _walk(self.tree, self.parents, self.nodes):
            if isinstance(node, ast.Call):
                name = _call_name(node)  # (once per call: the walk's hottest branch)
                if name in self.parser_names:
                    parsed.append(node)
                if name in SINKS or (self.engines and (
                        name in ENGINE_SINKS or self._engine_named(name or "") is not None
                        or self._engine_module_of(node.func) is not None)):
                    calls.append(node)
                elif _is_string_expr(node):  # `"...".format(...)`
                    strings.append(node)
                elif name == _ASYNCPG_QUERY_COPY and any(k.arg == "output"
                                                         for k in node.keywords):
                    calls.append(node)
                elif name in _ASYNCPG_COPIES or name in _COPY_SINKS:
                    copies.append(node)
                elif name in _SPARK_TEMP_VIEWS:
                    self._note_temp_view(node)
                elif name in ("create_all", "Table", "create_tables"):
                    self._note_model_table(node)
            elif isinstance(node, ast.expr) and _is_string_expr(node):
                strings.append(node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                # what names stand for: another engine's library, psycopg's `sql` module
                self._note_import(node)
            elif isinstance(node, ast.ClassDef):
                self._note_model_class(node)
            if isinstance(node, (ast.BinOp, ast.FormattedValue)):
                self._note_pieces(node)
            elif isinstance(node, ast.Call):
                if isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
                    self._note_pieces(node)
                if self.engines:
                    others.append(node)
        if self.creates_all:
            self.ddl.extend('CREATE TABLE "' + name.replace('"', '""') + '" ()'
                            for name in self.model_tables)
        if self.creates_tables:
            self.ddl.extend('CREATE TABLE "' + name.replace('"', '""') + '" ()'
                            for local, name in self.trac_tables
                            if self.imported.get(local) in _TRAC_TABLES)
        for call in parsed:
            for given in self._parsed_elsewhere(call):
                self._note_helper(given, SQLGLOT)
                self._skip_sent(given, SQLGLOT, statements_only=True)
        for call in calls:
            arg = _sql_argument(call)
            if arg is None:
                continue
            engine = self._engine_receiving(call)
            if engine is None and _call_name(call) not in SINKS and \
                    _call_name(call) != _ASYNCPG_QUERY_COPY:
                continue  # `client.query(...)` of no other engine: not a sink
            if self._expected_to_fail(call):
                self._take(arg)
                continue
            if engine is None and self.mocks and self._sent_to_mock(call):
                self._take(arg)
                continue
            if engine is not None:
                self._note_helper(arg, engine)
                # A helper only its name says is the engine's may be sent anything, and a
                # filler is given anything a string's `format` is: only statements are said
                # skipped (`send_request_to_spark_cluster("stats")`).
                name = _call_name(call)
                self._skip_sent(arg, engine, statements_only=name not in SINKS and (
                    name not in ENGINE_SINKS or name in FILLERS))
                continue
            if self._read_from_file(arg):
                self.runs_unseen_sql = True
                continue
            value = self._resolve(arg)
            if value is None or id(value) in self.taken:
                continue
            # `sql % (col,)`, `sql + clause`: the literal `sql` is bound to is this
            # statement's text, read once (a second `sql % (...)` is the same text).
            bound = self._bound_statements(value)
            if any(id(literal) in self.taken for literal in bound):
                continue
            branches = self._branch_names(value)
            if any(id(literal) in self.taken for literals in branches.values()
                   for literal in literals):
                continue
            self._take(value)
            for literal in [*bound, *(lit for literals in branches.values() for lit in literals)]:
                self._take(literal)
            fragments = self._checked(self._each_path(value, call, branches), call, value)
            # (a module whose text never names search_path sets none: the walk of each
            # function for its `SET` is skipped)
            path = search_path_before(call, self._scope_of(call), self.parents) \
                if fragments and self.names_search_path else None
            if path is not None:
                fragments = [replace(f, search_path=path) for f in fragments]
            if any(f.dynamic for f in fragments):
                self._note_ddl_of_each_name(value, sent=True)
            if fragments:
                found.append(((value.lineno, value.col_offset), fragments))
        for call in copies:
            fragments = self._checked(self._copy_statement(call) if _call_name(call) in
                                      _COPY_SINKS else self._copied_table(call), call)
            if fragments:
                found.append(((call.lineno, call.col_offset), fragments))
        if self.helpers:
            # A function handing its parameter on to a helper is one too (PostHog's
            # `_scan(sql=_HIDDEN_SQL)`, whose `sql` goes to `_ch(sql, ...)`, which runs
            # `sync_execute(sql, ...)`): followed until no new one turns up.
            known = -1
            while known != (known := sum(len(sends) for sends in self.helpers.values())):
                for call in others:
                    for arg, engine in list(self._sent_by_helper(call)):
                        self._note_helper(arg, engine)
            for call in others:
                for arg, engine in self._sent_by_helper(call):
                    self._skip_sent(arg, engine, statements_only=True)
        # ast.walk is breadth-first: an outer `"..." % x` is seen before its literal.
        for node in strings:
            if id(node) in self.taken or self._is_prose_context(node) or \
                    self._appended(node) or self._trigger_body(node):
                continue
            template = self._template(node)
            if template is None or template.problem:
                continue
            if not looks_like_statement(template.text, holes=len(template.holes)):
                if self._keep_ddl(template):
                    self._note_ddl_of_each_name(node, sent=False)
                continue
            # last: walks up to the function, and through its names, per string
            if self._expected_to_fail(node):
                continue
            if self.mocks and (self._given_to_mock(node) or self._stored_on_mock(node)):
                self._take(node)
                continue
            given_to = (self._engine_given(node) or self._requested_of(node)) \
                if self.engines else None
            if given_to is not None:
                # `AnalyticsOperator(queries=["SELECT * FROM users_data"])`
                self._skip_sent(node, given_to, statements_only=True)
                continue
            program = self._program_given(node)
            if program is not None:  # `subprocess.run(["ogr2ogr", "-sql", "SELECT ..."])`
                self._skip_sent(node, program, statements_only=True)
                continue
            parsed_by = self._parametrized_for(node)
            if parsed_by is not None:  # `("SELECT ...", ...)`, then `admit_sql(sql)`
                self._skip_sent(node, parsed_by, statements_only=True)
                continue
            sent_from = self._sent_where_imported(node)
            if sent_from is not None:  # `QUERY = '''...'''`, run on Snowflake where imported
                self._skip_sent(node, sent_from, statements_only=True)
                continue
            held_for = self._engine_of_module()
            if held_for is not None and (self._exported_only(node)
                                         or self._inherited_only(node)):
                self._skip_sent(node, held_for, statements_only=True)
                continue
            if self._only_asserted(node) or self._listed_cte_body(node) or \
                    self._joined_line(node) or self._posted_as_data(node):
                self._take(node)  # its pieces too: `"... {0}".format(x)` is one input
                continue
            self._take(node)
            extensions = self._extensions(node)
            templates = [template]
            if extensions:
                paths = self._appended_paths(node, extensions)
                if paths is not None:
                    # every piece a literal: the whole statement, once per path
                    templates = [_concat([template, *path]) for path in paths]
                else:
                    # `sql = "SELECT ..."; sql += " JOIN ..."`: the literal is the start of
                    # the statement sent, whose rest is a run-time piece.
                    rest = self._hole(extensions[0])
                    if all(self._adds_a_clause(added) for added in extensions):
                        rest = replace(rest, holes=tuple(replace(hole, clause=True)
                                                         for hole in rest.holes))
                    templates = [_concat([template, rest])]
            if self._built_into_another(node):
                continue
            if self._embedded_in_a_query(node):
                templates = [self._parenthesised(t, node) for t in templates]
            fragments = self._checked([f for t in templates
                                       for f in self._render(t, sink=None)], node)
            if fragments:
                found.append(((node.lineno, node.col_offset), fragments))
        found.sort(key=lambda item: item[0])
        return [fragment for _, fragments in found for fragment in fragments]

    # -- which nodes -------------------------------------------------------------------

    def _take(self, node: ast.AST) -> None:
        for child in ast.walk(node):
            self.taken.add(id(child))

    def _resolve(self, arg: ast.expr) -> ast.expr | None:
        """The literal expression a sink argument stands for, or None if we cannot see it."""
        if isinstance(arg, ast.Attribute):
            held = self._class_constant(arg) or self._own_class_constant(arg)
            return held if held is not None and _is_string_expr(held) else None
        if not isinstance(arg, ast.Name):
            return arg if _is_string_expr(arg) or _joins_a_literal(arg) or \
                self._bound_statements(arg) or self._branch_names(arg) else None
        value = self._assigned_once(arg)
        if value is None:
            value = self._reaching_literal(arg)
        if isinstance(value, ast.expr) and (
                _is_string_expr(value) or _joins_a_literal(value)
                or self._bound_statements(value)):
            return value
        return None

    def _reaching_literal(self, name: ast.Name) -> ast.expr | None:
        """The string a name bound several times in its function holds where a sink reads
        it (`query = "SELECT ..."; fetch(query)` ... `query = "with ... UPDATE"; fetch(query)`):
        the last `name = "..."` before the read, in the read's own block or one around it
        (so every path to the read runs it), with no other store of the name between them,
        and none later in a loop around the read (a next round would bring it). Any store
        other than of a string literal (`+=`, `sql = sql + ...`, a loop target, `global`)
        and a read in a nested function (run when?) leave it unknown, as before."""
        scope = self._scope_of(name)
        stored = self._assignments(scope).get(name.id)
        if not stored or len(self._values_of(name)) != len(stored) or not all(
                _is_literal(v) for v in stored):
            return None  # `sql = sql + " LIMIT 1"` is read where the literal is bound
        stores = [v for v in stored if isinstance(v, ast.expr)]
        read_at = (name.lineno, name.col_offset)
        before = [v for v in stores if (v.lineno, v.col_offset) < read_at]
        if not before:
            return None
        value = max(before, key=lambda v: (v.lineno, v.col_offset))
        statement = self.parents.get(id(value))
        block_owner = self.parents.get(id(statement))
        # The read's enclosing statements, innermost first, up to the function.
        ancestor = self.parents.get(id(name))
        while ancestor is not None and ancestor is not scope:
            parent = self.parents.get(id(ancestor))
            if isinstance(ancestor, (ast.For, ast.AsyncFor, ast.While)) and any(
                    (v.lineno, v.col_offset) > read_at and self._inside(v, ancestor)
                    for v in stores):
                return None
            if parent is block_owner and isinstance(ancestor, ast.stmt):
                for field in ("body", "orelse", "finalbody"):
                    block = getattr(parent, field, None)
                    if isinstance(block, list) and statement in block and ancestor in block:
                        return value if block.index(statement) < block.index(ancestor) \
                            else None
                return None
            ancestor = parent
        return None

    def _read_from_file(self, arg: ast.expr) -> bool:
        """Whether a sink argument is text read from a file at run time (`f.read()`,
        `path.read_text()`, `pkgutil.get_data(...).decode()`, `text(...)` of one, or a name
        bound once to one): a script, whose statements dbsafe cannot see."""
        if isinstance(arg, ast.Call) and _call_name(arg) in SINKS:
            inner = _sql_argument(arg)  # `text(f.read())`
            return inner is not None and self._read_from_file(inner)
        if isinstance(arg, ast.Name):
            value = self._assigned_once(arg)
            return isinstance(value, ast.expr) and _reads_file(value)
        return _reads_file(arg)

    def _assigned_once(self, name: ast.Name) -> ast.AST | None:
        """What `name` is bound to where it is read, when it is bound exactly once."""
        for scope in self._scopes_around(name):
            assigned = self._assignments(scope).get(name.id)
            if assigned is not None:
                return assigned[0] if len(assigned) == 1 else None
        return None

    def _bound_statement(self, node: ast.expr) -> ast.expr | None:
        """The statement a name holds where it is read (`sql = "SELECT ..."`), when `node`
        is such a name: bound once in scope, or the literal reaching the read of a name
        bound several times (`_reaching_literal`). The value is a literal, or literal pieces
        joined by `+` or `%` formatting (`sql = "SELECT ... " + "WHERE ..."`, `sql = "ALTER
        SEQUENCE %s RESTART WITH" % (name,)`: its holes stay holes). A name bound to a piece
        of one (`TABLE = "users"`) stays a hole, as it was: what it names may be made at run
        time; so does a name bound to several literals none of which surely reaches."""
        if not isinstance(node, ast.Name):
            return None
        value = self.chosen.get(node.id) or self._assigned_once(node)
        if value is None:
            value = self._reaching_literal(node)
        if isinstance(value, ast.JoinedStr) or (
                isinstance(value, ast.Constant) and isinstance(value.value, str)):
            template: Template | None = self._literal(value)
        elif isinstance(value, ast.BinOp) and (
                (isinstance(value.op, ast.Add) and all(
                    _is_literal(piece) for piece in _flatten_add(value)))
                or (isinstance(value.op, ast.Mod) and isinstance(value.left, ast.Constant))):
            template = self._template(value)
        else:
            return None
        if template is None or template.problem:
            return None
        return value if looks_like_statement(template.text, holes=len(template.holes)) else None

    def _extended_statement(self, node: ast.expr) -> Template | None:
        """The statement a name holds where a sink reads it as a piece of a longer string,
        when it is bound once to a literal in its function and extended there by `+=`
        literals on one path only (`sql = "SELECT ..."; sql += " WHERE ..."`, then
        `cur.execute(sql + " ORDER BY id")`: `_appended_paths`): that literal and its
        additions. None otherwise (additions in branches: one statement per path)."""
        if not isinstance(node, ast.Name):
            return None
        literals = [value for value in self._assignments(self._scope_of(node)).get(node.id, ())
                    if _is_literal(value) and isinstance(self.parents.get(id(value)), ast.Assign)]
        if len(literals) != 1 or not isinstance(literals[0], ast.expr):
            return None
        literal = literals[0]
        extensions = self._extensions(literal)
        paths = self._appended_paths(literal, extensions) if extensions else None
        start = self._template(literal)
        if paths is None or len(paths) != 1 or start is None or start.problem or \
                (literal.lineno, literal.col_offset) > (node.lineno, node.col_offset):
            return None
        template = _concat([start, *paths[0]])
        return template if looks_like_statement(template.text, holes=len(template.holes)) \
            else None

    def _bound_statements(self, node: ast.expr) -> list[ast.expr]:
        """The statement literals the names of `sql % args` or `sql + clause` are bound
        to: the statement sent is that text with holes where the run-time pieces go, not
        the literal alone (whose `%s` is then no placeholder, and whose end is not the
        statement's: `sql + " JOIN events ..."` may join the table a column comes from)."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            literal = self._bound_statement(node.left)
            return [literal] if isinstance(literal, ast.Constant) else []
        operands = _join_operands(node) if isinstance(node, ast.Call) else \
            list(_flatten_add(node)) if isinstance(node, ast.BinOp) and \
            isinstance(node.op, ast.Add) else None
        if operands is not None:  # also `" ".join([sql, "JOIN ..."])`, its pieces as `+`'s
            found = (self._bound_statement(operand) for operand in operands)
            return [literal for literal in found if literal is not None]
        return []

    def _branch_names(self, node: ast.expr) -> dict[str, list[ast.expr]]:
        """The names of `sql + clause` (its operands) or `sql % args` (its format) that hold
        one of several statement literals where the call reads them, none surely
        (`_branch_literals`): name -> those literals, each read with the rest of the
        expression, one statement per path (`_each_path`). Empty when a name's literal is
        known there (`_bound_statement`) or cannot be told."""
        percent = isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            names = [node.left]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            names = list(_flatten_add(node))
        elif isinstance(node, ast.Call) and (operands := _join_operands(node)) is not None:
            names = operands
        else:
            return {}
        found: dict[str, list[ast.expr]] = {}
        for name in names:
            if not isinstance(name, ast.Name) or name.id in found or \
                    self._bound_statement(name) is not None:
                continue
            literals = self._branch_literals(name)
            if literals and all(self._statement_literal(literal, percent=percent)
                                for literal in literals):
                found[name.id] = literals
        return found

    def _statement_literal(self, node: ast.expr, *, percent: bool) -> bool:
        """Whether `node`, bound to a name a sink reads, is a literal `_bound_statement`
        would read there (an f-string's fields holes; a plain string for `%`)."""
        if percent and not isinstance(node, ast.Constant):
            return False
        template = self._literal(node) if isinstance(node, (ast.Constant, ast.JoinedStr)) \
            and _is_literal(node) else None
        return template is not None and not template.problem and \
            looks_like_statement(template.text, holes=len(template.holes))

    def _branch_literals(self, name: ast.Name) -> list[ast.expr] | None:
        """The literals a name bound only to string literals in its function may hold where
        it is read, when the code shows which (`if a: sql = "SELECT ... FROM users u"` /
        `else: sql = "SELECT ... FROM admins u"`, then `cur.execute(sql + " JOIN ...")`):
        walking back from the read, the last store on each path, through the `if`s before
        it and the blocks around it. None where it cannot tell: a store in a loop, a
        `try`, a `with` or a `match`, an `if` storing it that may leave its block
        (`return`, `raise`, `break`, `continue`), a path reaching the function's start
        with none (a parameter, a global), or more than eight literals."""
        scope = self._scope_of(name)
        stored = self._assignments(scope).get(name.id)
        if not stored or len(stored) > 8 or not all(
                _is_literal(value) and isinstance(self.parents.get(id(value)), ast.Assign)
                for value in stored):
            return None
        found: list[ast.expr] = []
        node: ast.AST = name
        while True:
            statement = node
            while not isinstance(statement, ast.stmt) or not self._in_block(statement):
                parent = self.parents.get(id(statement))
                if parent is None or parent is scope:
                    return None
                statement = parent
            owner = self.parents.get(id(statement))
            if owner is None:
                return None
            block = next(b for field in ("body", "orelse", "finalbody")
                         if isinstance(b := getattr(owner, field, None), list)
                         and statement in b)
            before = self._stores_before(block, block.index(statement), name.id, stored)
            if before is None:
                return None
            literals, complete = before
            found.extend(literal for literal in literals if literal not in found)
            if complete:
                return found
            if owner is scope or not (
                    isinstance(owner, ast.If) or (isinstance(owner, (ast.For, ast.AsyncFor,
                                                                     ast.While))
                                                  and not self._stores_in(owner, stored))):
                return None  # a `try`, `with`, `match` or a loop storing the name
            node = owner

    def _in_block(self, statement: ast.stmt) -> bool:
        owner = self.parents.get(id(statement))
        return any(isinstance(b := getattr(owner, field, None), list) and statement in b
                   for field in ("body", "orelse", "finalbody"))

    def _stores_in(self, node: ast.AST, stored: Sequence[ast.AST]) -> bool:
        return any(self._inside(value, node) for value in stored)

    def _stores_before(self, block: list[ast.stmt], end: int, name: str,
                       stored: Sequence[ast.AST]) -> tuple[list[ast.expr], bool] | None:
        """The literals stored last to `name` on the paths through `block[:end]`, and
        whether every path stores one; None where it cannot tell (`_branch_literals`)."""
        found: list[ast.expr] = []
        for statement in reversed(block[:end]):
            if not self._stores_in(statement, stored):
                continue
            if isinstance(statement, ast.Assign) and any(
                    statement.value is value for value in stored):
                return [*found, statement.value], True
            if not isinstance(statement, ast.If) or any(
                    isinstance(inner, (ast.Return, ast.Raise, ast.Break, ast.Continue))
                    for inner in ast.walk(statement)):
                return None
            complete = True
            for branch in (statement.body, statement.orelse):
                inner = self._stores_before(branch, len(branch), name, stored)
                if inner is None:
                    return None
                found.extend(literal for literal in inner[0] if literal not in found)
                complete = complete and inner[1]
            if complete:
                return found, True
        return found, False

    def _each_path(self, value: ast.expr, call: ast.Call,
                   branches: dict[str, list[ast.expr]]) -> list[SqlFragment]:
        """The statements `call` sends, `value` its statement, one for each literal its
        names bound in branches may hold (`_branch_names`), read with the rest of the
        expression (`sql + " JOIN teams t ..."`: never a branch's literal alone, which may
        name what the rest joins); the statements alike once."""
        if not branches or _product_size(list(branches.values())) > _MAX_NAME_CHOICES:
            return self._each_round(value, call)
        fragments: dict[tuple[str, object, str | None], SqlFragment] = {}
        for literals in itertools.product(*branches.values()):
            self.chosen = dict(zip(branches, literals))
            try:
                for fragment in self._each_round(value, call):
                    fragments.setdefault(
                        (fragment.sql, fragment.spans, fragment.dynamic), fragment)
            finally:
                self.chosen = {}
        return list(fragments.values())

    def _extensions(self, node: ast.expr) -> list[ast.AugAssign | ast.Assign]:
        """Where the name `node` is assigned to is extended in the same scope
        (`sql += " AND ..."`, `sql = sql + ...`), in source order; the first decides."""
        name = self._assigned_name(node)
        if name is None:
            return []
        found: list[ast.AugAssign | ast.Assign] = []
        for store in self._assignments(self._scope_of(node)).get(name, ()):
            holder = self.parents.get(id(store))
            if isinstance(holder, ast.AugAssign) and isinstance(holder.op, ast.Add):
                found.append(holder)
            elif isinstance(store, ast.BinOp) and isinstance(store.op, ast.Add) and \
                    isinstance(store.left, ast.Name) and store.left.id == name:
                extended = self.parents.get(id(store))
                if not isinstance(extended, ast.Assign):
                    return found if found else []
                found.append(extended)
        return found

    def _appended_paths(self, node: ast.expr, extensions: Sequence[ast.AugAssign | ast.Assign]
                        ) -> list[list[Template]] | None:
        """What `sql += "..."` adds to the literal `node` (`sql = "..."`) on each path through
        its block, when every addition is a literal (an f-string's fields holes, as the
        first literal's are) and every read of `sql` comes after the last: folksonomy_api's `sql += " AND v ILIKE %s"` under `if q:`, then an
        unconditional `sql += " GROUP BY v ... ) AS j;"` closing a parenthesis the first
        literal opens. An addition is in the block of `sql = "..."` (on every path) or
        directly in the body or `else` of an `if` of that block (a choice); one at least is
        on every path (where every one is in an `if`, the first literal is the start of each
        statement, read with a hole for the rest, as openlibrary's optional `WHERE`s and
        CKAN's `if`/`else` are). With one such
        `if`, each of its branches is a path; with several, only when every addition they
        hold starts a clause ending the FROM items (`_adds_a_clause`): a path no run takes
        then has the tables every run has. None where it cannot tell: a loop, a deeper `if`,
        `sql = sql + ...`, a piece not a literal, a read between, over eight paths."""
        assign = self.parents.get(id(node))
        owner = self.parents.get(id(assign))
        block = next((b for field in ("body", "orelse", "finalbody")
                      if isinstance(b := getattr(owner, field, None), list) and assign in b),
                     None)
        if block is None or not all(isinstance(e, ast.AugAssign) and _is_literal(e.value)
                                    for e in extensions):
            return None
        name = assign.targets[0].id  # type: ignore[union-attr]
        scope = self._scope_of(node)
        if len(self._assignments(scope).get(name, ())) != 1 + len(extensions):
            return None
        last = max((e.end_lineno or e.lineno, e.end_col_offset or 0) for e in extensions)
        if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
               and (n.lineno, n.col_offset) < last for n in ast.walk(scope)):
            return None
        extensions = sorted(extensions, key=lambda e: (e.lineno, e.col_offset))
        start = block.index(assign)
        steps: list[list[list[ast.AugAssign]]] = []  # per statement: its choices
        groups: dict[int, list[list[ast.AugAssign]]] = {}
        for extension in extensions:
            parent = self.parents.get(id(extension))
            if parent is owner and extension in block[start + 1:]:
                steps.append([[extension]])  # type: ignore[list-item]
            elif isinstance(parent, ast.If) and parent in block[start + 1:]:
                if id(parent) not in groups:
                    groups[id(parent)] = [[], []]
                    steps.append(groups[id(parent)])
                branch = 0 if extension in parent.body else 1
                if extension not in (parent.body, parent.orelse)[branch]:
                    return None
                groups[id(parent)][branch].append(extension)  # type: ignore[arg-type]
            else:
                return None
        if len(groups) == len(steps):
            return None  # only clauses an `if` may add: the start is checked (`_adds_a_clause`)
        if len(groups) > 1 and not all(self._adds_a_clause(e) for choices in groups.values()
                                       for branch in choices for e in branch):
            return None
        paths = list(itertools.product(*steps))
        if len(paths) > 8:
            return None
        pieces: list[list[Template]] = []
        for path in paths:
            templates = [self._template(e.value) for branch in path for e in branch]
            if any(t is None or t.problem for t in templates):
                return None
            pieces.append([t for t in templates if t is not None])
        return pieces

    def _adds_a_clause(self, extension: ast.AugAssign | ast.Assign) -> bool:
        """Whether what `sql += " WHERE ..."` (or `sql = sql + "..."`) adds is a literal
        starting, after a blank, with a clause that ends the FROM items (`WHERE`, `ORDER
        BY`, `AND`, ...): whatever else it holds, it cannot bring a table into scope."""
        if isinstance(extension, ast.AugAssign):
            added: ast.expr = extension.value
        else:
            pieces = list(_flatten_add(extension.value))
            if len(pieces) < 2:
                return False
            added = pieces[1]
        if isinstance(added, ast.BinOp) and isinstance(added.op, ast.Add):
            added = next(_flatten_add(added))
        if isinstance(added, ast.JoinedStr):
            added = added.values[0] if added.values else added
        if not (isinstance(added, ast.Constant) and isinstance(added.value, str)):
            return False
        return adds_a_clause(added.value)

    def _appended(self, node: ast.expr) -> bool:
        """True for what `sql += "..."` adds: the rest of the statement `sql` holds, never
        one alone (`sql += " SELECT json_cols.j FROM json_cols"` reads the CTE the text
        before it defines). That text is read where it is bound, with this as its hole."""
        parent = self.parents.get(id(node))
        return isinstance(parent, ast.AugAssign) and isinstance(parent.op, ast.Add) and \
            parent.value is node

    def _built_into_another(self, node: ast.expr) -> bool:
        """True when the name `node` is assigned to is a piece of a longer string where it
        may hold `node` (`query_msid + " UNION " + query_mbid`, `f"{base} ..."`, `sql %
        args`, `"%s JOIN ..." % (sql,)`, `" ".join([sql, ...])`, `"{} ...".format(sql)`):
        what is sent is that string, where a JOIN, an alias or a CTE its statement reads
        may be brought before or after it; the literal alone is no statement. A name bound
        several times (`sql = "SELECT ... FROM users u"` in one branch, `sql = "SELECT ...
        FROM admins u"` in the other, then `cur.execute(sql + " JOIN teams t ...")`) may
        hold it at each such piece read after it (or in a loop around it); what the name's
        own `sql = sql + "..."` adds is the statement's rest, read with it."""
        name = self._assigned_name(node)
        if name is None:
            return False
        scope = self._scope_of(node)
        stored = self._assignments(scope).get(name)
        if not stored or not any(value is node for value in stored):
            return False
        at = (node.end_lineno or node.lineno, node.end_col_offset or 0)  # not its own pieces
        loop = next((ancestor for ancestor in self._ancestors(node, scope)
                     if isinstance(ancestor, (ast.For, ast.AsyncFor, ast.While))), None)
        for use in self.pieces.get(name, ()):
            if not self._inside(use, scope) or self._extends_itself(use, name):
                continue
            if len(stored) == 1 or (use.lineno, use.col_offset) > at or (
                    loop is not None and self._inside(use, loop)):
                return True
        return False

    def _ancestors(self, node: ast.AST, scope: ast.AST) -> Iterator[ast.AST]:
        """The nodes around `node`, innermost first, up to `scope` (not included)."""
        parent = self.parents.get(id(node))
        while parent is not None and parent is not scope:
            yield parent
            parent = self.parents.get(id(parent))

    def _extends_itself(self, use: ast.Name, name: str) -> bool:
        """Whether `use` is the start of `name = name + ...`: an extension of the text the
        name holds (`_extensions`), not a longer string built from it."""
        binop = self.parents.get(id(use))
        while isinstance(binop, ast.BinOp) and isinstance(binop.op, ast.Add):
            holder = self.parents.get(id(binop))
            if isinstance(holder, ast.Assign):
                return next(_flatten_add(binop)) is use and len(holder.targets) == 1 and \
                    isinstance(holder.targets[0], ast.Name) and holder.targets[0].id == name
            binop = holder
        return False

    def _assigned_name(self, node: ast.expr) -> str | None:
        """The name `node` is the whole value of, in a plain `name = node`."""
        assign = self.parents.get(id(node))
        if not isinstance(assign, ast.Assign) or len(assign.targets) != 1 or \
                not isinstance(assign.targets[0], ast.Name):
            return None
        return assign.targets[0].id

    def _note_pieces(self, node: ast.BinOp | ast.FormattedValue | ast.Call) -> None:
        """Note the names strings are built from: operands of `+`, both sides of `%` (the
        format, and what fills it: `"%s JOIN ..." % (sql,)`), f-string fields, what
        `.format(...)` is given and what `" ".join([...])` joins (found in the one walk of
        the module, not a walk per scope)."""
        names: list[ast.expr]
        if isinstance(node, ast.FormattedValue):
            names = [node.value]
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == "format":
                names = [*node.args, *(keyword.value for keyword in node.keywords)]
            elif len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple)):
                names = list(node.args[0].elts)  # `" ".join([sql, "JOIN ..."])`
            else:
                return
        elif isinstance(node.op, ast.Add):
            names = [node.left, node.right]
        elif isinstance(node.op, ast.Mod):
            right = node.right
            names = [node.left, *(right.elts if isinstance(right, ast.Tuple) else [right])]
        else:
            return
        for name in names:
            if isinstance(name, ast.Name):
                self.pieces.setdefault(name.id, []).append(name)

    def _inside(self, node: ast.AST, scope: ast.AST) -> bool:
        """Whether `node` is in `scope` (or a function in it, which may read its names)."""
        parent = self.parents.get(id(node))
        while parent is not None and parent is not scope:
            parent = self.parents.get(id(parent))
        return parent is scope

    def _scopes_around(self, node: ast.AST) -> Iterator[ast.AST]:
        """The scopes a name at `node` is looked up in, innermost first, the module last."""
        scope = self._scope_of(node)
        while True:
            yield scope
            if scope is self.tree:
                return
            scope = self._scope_of(scope)

    def _scope_of(self, node: ast.AST) -> ast.AST:
        parent = self.parents.get(id(node))
        while parent is not None and not isinstance(
            parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module)
        ):
            parent = self.parents.get(id(parent))
        return parent if parent is not None else self.tree

    def _assignments(self, scope: ast.AST) -> dict[str, list[ast.AST]]:
        """Name -> the values stored to it in `scope` (a non-literal store counts too)."""
        cached = self.scopes.get(id(scope))
        if cached is not None:
            return cached
        stores: dict[str, list[ast.AST]] = {}
        pending = list(ast.iter_child_nodes(scope))
        while pending:
            node = pending.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue  # their bodies are other scopes
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    stores.setdefault(target.id, []).append(node.value)
                    pending.append(node.value)
                    continue
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if node.value is not None:
                    stores.setdefault(node.target.id, []).append(node.value)
                    pending.append(node.value)
                continue
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                stores.setdefault(node.id, []).append(node)  # for/with/augmented/... target
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                for name in node.names:
                    stores.setdefault(name, []).extend((node, node))
            pending.extend(ast.iter_child_nodes(node))
        self.scopes[id(scope)] = stores
        return stores

    # -- Spark -------------------------------------------------------------------------

    def _note_temp_view(self, call: ast.Call) -> None:
        """`df.createOrReplaceTempView("listens")` (PySpark) makes a temporary view that the
        SQL run in that session reads (`spark.sql("SELECT ... FROM listens")`): for the
        statements of this module it is DDL, `CREATE TEMP VIEW listens`, whose columns are
        not known. Spark folds names to lower case; a global one is in `global_temp`."""
        if not call.args:
            return
        value = self._resolve(call.args[0]) if isinstance(call.args[0], ast.Name) else call.args[0]
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value):
            return  # a name made at run time: statements reading it are dynamic SQL
        name = '"' + value.value.lower().replace('"', '""') + '"'
        if "Global" in (_call_name(call) or ""):
            self.ddl.extend(("CREATE SCHEMA global_temp",
                             f"CREATE VIEW global_temp.{name} AS SELECT"))
        else:
            self.ddl.append(f"CREATE TEMP VIEW {name} AS SELECT")

    def _note_model_table(self, call: ast.Call) -> None:
        """A module that declares SQLAlchemy models and runs `create_all` (a test's own
        `class EntityWithPath(Base): __tablename__ = "entity_with_path"`, then
        `Base.metadata.create_all(engine)`, as debsources' tests do) creates their tables:
        for the statements of this module they are DDL, `CREATE TABLE entity_with_path`,
        whose columns are not read here. `Table("name", metadata, ...)` declares one too."""
        name = _call_name(call)
        if name == "create_all":
            self.creates_all = self.creates_all or isinstance(call.func, ast.Attribute)
        elif name == "create_tables":
            # Trac's `DatabaseManager(env).create_tables(schema)` runs each table's CREATE
            # TABLE (its tests, and plugins setting up their environment).
            self.creates_tables = self.creates_tables or isinstance(call.func, ast.Attribute)
        elif not call.args or not isinstance(call.args[0], ast.Constant) or \
                not isinstance(call.args[0].value, str) or not call.args[0].value:
            return
        elif len(call.args) > 1:
            self.model_tables.append(call.args[0].value)  # `Table("name", metadata, ...)`
        elif isinstance(call.func, ast.Name):
            # `Table("blog", key="bid")[Column(...)]`, Trac's, when the module imports it
            # from `trac.db` (known once the whole module is read).
            self.trac_tables.append((call.func.id, call.args[0].value))

    def _note_model_class(self, node: ast.ClassDef) -> None:
        """`__tablename__ = "name"` in a class body: a model's table (`_note_model_table`)."""
        for statement in node.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
            elif isinstance(statement, ast.AnnAssign):  # `__tablename__: str = "name"`
                target = statement.target
            else:
                continue
            value = statement.value
            if isinstance(target, ast.Name) and target.id == "__tablename__" and \
                    isinstance(value, ast.Constant) and isinstance(value.value, str) and \
                    value.value:
                self.model_tables.append(value.value)

    # -- other engines -----------------------------------------------------------------

    def _note_import(self, node: ast.Import | ast.ImportFrom) -> None:
        """Remember the dotted name each imported name stands for (`import mysql.connector`
        binds `mysql`; `from google.cloud import bigquery` binds `google.cloud.bigquery`)."""
        if isinstance(node, ast.Import):
            bound = [(alias.asname or alias.name.split(".")[0],
                      alias.name if alias.asname else alias.name.split(".")[0])
                     for alias in node.names]
        elif node.module and not node.level:
            bound = [(alias.asname or alias.name, f"{node.module}.{alias.name}")
                     for alias in node.names if alias.name != "*"]
        else:
            # A relative import is the project's own: kept apart, for where it lies alone.
            package = self.path.split("/")[:-1]
            if node.level - 1 > len(package):
                return
            package = package[:len(package) - (node.level - 1)]
            module = [*package, *(node.module.split(".") if node.module else ())]
            for alias in node.names:
                if alias.name != "*":
                    local, dotted = alias.asname or alias.name, ".".join([*module, alias.name])
                    self.relative[local] = dotted \
                        if self.relative.get(local, dotted) == dotted else None
            return
        for local, dotted in bound:
            self.imported_as.setdefault(local, set()).add(dotted)
            if self.imported.get(local, dotted) != dotted:
                self.imported[local] = None  # two different things: neither is trusted
            else:
                self.imported[local] = dotted

    def _dotted(self, node: ast.AST) -> str | None:
        """The dotted name an imported name, or an attribute of one, stands for
        (`snowflake.connector.connect`); None for anything else, such as a name the
        function (or module) assigns or takes as a parameter."""
        base = node
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and self._stores_of(base):
            return None
        return self._dotted_annotation(node)

    def _engine_receiving(self, call: ast.Call) -> Engine | None:
        """The other engine a sink call sends its statement to, when the module shows it:
        its SQL is that engine's, about tables the PostgreSQL schema never has. What counts
        (see `_engine_of`): a connection, client or session made here by the engine's
        library (`sqlite3.connect(...)`, `clickhouse_connect.get_client(...)`,
        `duckdb.connect()`, `bigquery.Client()`, `SparkSession.builder...getOrCreate()`)
        or from an engine of a literal URL (`create_engine("mysql+pymysql://...")`); a
        cursor of one; a parameter or variable annotated with its class; DuckDB's module
        itself (`duckdb.sql(...)`); pandas' `read_sql(sql, con)` with such a `con`; and,
        in a module that imports SQLite, `executescript` (sqlite3's; no PostgreSQL driver
        has one, a project's own helper might)."""
        if not self.engines:
            return None
        if isinstance(call.func, (ast.Name, ast.Attribute)):
            # A function of the engine's library: simple-salesforce's `format_soql(...)`.
            dotted = self._dotted(call.func)
            function = dotted and next(
                (e for e in self.engines if dotted in e.functions), None)
            if function:
                return function
        module = self._engine_module_of(call.func)
        if module is not None:
            return module
        if isinstance(call.func, ast.Name):
            # A project's own helper that says where it sends: `query_clickhouse(sql)`.
            return self._engine_named(call.func.id)
        if not isinstance(call.func, ast.Attribute):
            return None
        named = self._engine_named(call.func.attr)
        if named is not None:  # `ch.query_clickhouse(sql)`, `self.run_bigquery(sql)`
            return named
        if call.func.attr in _READ_SQL:
            con = next((k.value for k in call.keywords if k.arg == "con"),
                       call.args[1] if len(call.args) > 1 else None)
            return None if con is None else self._engine_of(con, depth=0)
        if call.func.attr == "executescript" and SQLITE in self.engines and any(
                dotted is not None and dotted.split(".")[0] in _SQLITE_ROOTS
                for dotted in self.imported.values()):
            return SQLITE
        return self._engine_of(call.func.value, depth=0)

    def _engine_of(self, node: ast.AST, *, depth: int) -> Engine | None:
        """The other engine whose connection (cursor, client, session) `node` certainly
        is, or None: also when it may be either (`a if local else b`, a name assigned a
        PostgreSQL connection too) or comes from where the module does not show."""
        if depth > 8:  # a name bound to itself through others
            return None
        if self.engine_memo is not None and isinstance(node, ast.Name):
            key = (id(node), depth)
            if key not in self.engine_memo:
                self.engine_memo[key] = None  # (while it is worked out)
                self.engine_memo[key] = self._engine_of_uncached(node, depth=depth)
            return self.engine_memo[key]
        return self._engine_of_uncached(node, depth=depth)

    def _engine_of_uncached(self, node: ast.AST, *, depth: int) -> Engine | None:
        if isinstance(node, ast.Await):
            node = node.value
        if isinstance(node, ast.Call):
            func = node.func
            name = _call_name(node)
            if name in _PASS_THROUGH and node.args:
                # `with closing(sqlite3.connect(p)) as conn`: entered, it is the connection.
                return self._engine_of(node.args[0], depth=depth + 1)
            if name in _ENGINE_FACTORIES:
                url = next((k.value for k in node.keywords if k.arg == "url"),
                           node.args[0] if node.args else None)
                scheme = self._url_scheme(url)
                if scheme is None:
                    return None
                dialect = scheme.partition("+")[0].lower()
                return next((e for e in self.engines if dialect in e.dialects), None)
            dotted = self._dotted(func)
            if dotted is not None:
                engine = next((e for e in self.engines if e.of(dotted)), None)
                if engine is not None:
                    return engine
            elif isinstance(func, ast.Name) and not self._stores_of(func):
                either = {next((e for e in self.engines if e.of(alternative)), None)
                          for alternative in self.imported_as.get(func.id, ())}
                if len(either) == 1 and None not in either:
                    return either.pop()  # `Client(...)` of pyignite's or pygridgain's
            if isinstance(func, ast.Attribute) and func.attr in SAME_ENGINE:
                # A cursor or connection of one, the next step of a session builder.
                return self._engine_of(func.value, depth=depth + 1)
            returned = self._engine_returned(node, depth=depth + 1) or \
                self._engine_imported(node)
            if returned is not None:
                return returned
            # A project's factory that says what it makes: `get_async_clickhouse()`.
            callee = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else None
            return None if callee is None else self._engine_named(callee)
        if isinstance(node, (ast.Name, ast.Attribute)):
            dotted = self._dotted(node)
            if dotted is not None:
                engine = next((e for e in self.engines if e.is_one(dotted)), None)
                if engine is not None:
                    return engine
            # A name that says what it holds: a `clickhouse_client` fixture, `self.duckdb`.
            named = self._engine_named(node.id if isinstance(node, ast.Name) else node.attr)
            if named is not None:
                return named
        if isinstance(node, ast.Name):
            # `connection = None` before `try:` sends nothing: a statement goes to what else
            # it holds.
            stores = [value for value in self._stores_of(node)
                      if not (isinstance(value, ast.Constant) and value.value is None)]
            engines = {self._engine_stored(value, depth=depth + 1) for value in stores}
            return engines.pop() if len(engines) == 1 else None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and \
                isinstance(node.slice.value, str) and \
                self._dotted(node.value) in _DJANGO_CONNECTIONS:
            # Django's connection of a database alias that names the engine:
            # `connections["clickhouse"].cursor()` (Flagsmith's ClickHouse backend).
            return self._engine_named(node.slice.value)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id == "self":
            return self._engine_of_attribute(node, depth=depth + 1)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
                isinstance(node.value.value, ast.Name) and node.value.value.id == "self":
            # What an engine's object held in `self.x` holds is its connection, as for one
            # in a variable: `self.db.client` of `def __init__(self, db: ClickHouseDB)`.
            return self._engine_of_attribute(node.value, depth=depth + 1) or \
                self._engine_of_declared_member(node, depth=depth + 1)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id != "cls":
            # What an engine's object, held in a variable, holds is its connection:
            # `engine.conn` of temboard's `engine = sqlite3_engine.TaskListSQLite3Engine(...)`.
            return self._engine_of(node.value, depth=depth + 1)
        if isinstance(node, ast.arg):
            return self._engine_annotated(node.annotation) or self._engine_handed(
                node, depth=depth + 1) or self._engine_passed(node, depth=depth + 1)
        return None

    def _engine_passed(self, parameter: ast.arg, *, depth: int) -> Engine | None:
        """The engine whose connection a function of the module is given in `parameter`
        wherever the module calls it (`def execute(conn, query): conn.cursor().execute(query)`,
        called only as `execute(engine.conn, "SELECT * FROM tasks")` with a SQLite engine's
        connection: temboard's toolkit tests); None when a call gives another or an unknown
        one, or the function is used otherwise than called by its name."""
        function = self._scope_of(parameter)
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or \
                self.parents.get(id(function)) is not self.tree:
            return None
        positional = [*function.args.posonlyargs, *function.args.args]
        index = next((i for i, arg in enumerate(positional) if arg is parameter), None)
        if index is None:
            return None
        engines: set[Engine | None] = set()
        for use in self._reads().get(function.name, []):
            call = self.parents.get(id(use))
            if not isinstance(call, ast.Call) or call.func is not use or \
                    self._function_called(use, call) is not function or \
                    any(isinstance(a, ast.Starred) for a in call.args[:index + 1]):
                return None
            given = next((k.value for k in call.keywords if k.arg == parameter.arg),
                         call.args[index] if index < len(call.args) else None)
            if given is None:
                return None
            engines.add(self._engine_of(given, depth=depth + 1))
        return engines.pop() if len(engines) == 1 else None

    def _url_scheme(self, url: ast.AST | None) -> str | None:
        """The scheme of a database URL (`mssql+pymssql` of `"mssql+pymssql://u@h/db"`),
        also where the rest is filled at run time (`f"mssql+pymssql://{USER}:{PASS}@..."`,
        fides' `scripts/mssql_discover.py`) or a name bound once to such a URL holds it;
        None when the code does not show it."""
        if isinstance(url, ast.Name):
            values = self._values_of(url)
            url = values[0] if len(values) == 1 else None
        if isinstance(url, ast.JoinedStr) and url.values:
            url = url.values[0]
        if not (isinstance(url, ast.Constant) and isinstance(url.value, str)):
            return None
        scheme, colon, _ = url.value.partition(":")
        return scheme if colon else None

    def _engine_handed(self, parameter: ast.arg, *, depth: int) -> Engine | None:
        """The engine whose connection a callback's first parameter is: a function of the
        module handed, wherever its scope names it, only to calls on another engine's
        store, client or pool, which run it with their transaction (Synapse's port script:
        `def r(txn): txn.execute("SELECT rowid, * FROM sent_transactions ...")`, then
        `await self.sqlite_store.db_pool.runInteraction("select", r)` or
        `await self.sqlite_store.execute(r)`)."""
        function = self._scope_of(parameter)
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        positional = [*function.args.posonlyargs, *function.args.args]
        if not positional or positional[0] is not parameter:
            return None  # (a method's first is `self`: handed as `self.method`, not read here)
        scope = self._scope_of(function)
        uses = [load for load in self._reads().get(function.name, [])
                if self._scope_of(load) is scope and not self._comprehension_bound(load)]
        engines: set[Engine | None] = set()
        for use in uses:
            call = self.parents.get(id(use))
            if not (isinstance(call, ast.Call) and use in call.args
                    and isinstance(call.func, ast.Attribute)):
                return None  # called itself, stored, or handed to a function: not known
            engines.add(self._engine_of_receiver(call.func.value, depth=depth))
        return engines.pop() if len(engines) == 1 else None

    def _comprehension_bound(self, load: ast.Name) -> bool:
        """Whether a comprehension around `load` binds its name (`max(r[0] for r in rows)`
        beside a callback `r`): another variable."""
        return any(
            isinstance(parent, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp))
            and any(isinstance(target, ast.Name) and target.id == load.id
                    for generator in parent.generators for target in ast.walk(generator.target))
            for parent in self._within_scope(load))

    def _engine_of_receiver(self, node: ast.expr, *, depth: int) -> Engine | None:
        """The engine of what a method is called on, or of what holds it: the SQLite store's
        pool in `self.sqlite_store.db_pool.runInteraction(...)`."""
        while True:
            engine = self._engine_of(node, depth=depth)
            if engine is not None or not isinstance(node, ast.Attribute):
                return engine
            node = node.value

    def _note_helper(self, sent: ast.expr, engine: Engine) -> None:
        """Note a function of the module sending one of its parameters to `engine`
        (`def _query_sync(self, query, params): ... client.query(query, ...)`): what its
        callers give it there is that engine's SQL (`_sent_by_helper`)."""
        if isinstance(sent, ast.Call) and _call_name(sent) in SINKS:
            sent = _sql_argument(sent) or sent  # `conn.execute(text(query))`
        # The parameter with its holes filled in (pgwatch2's `influx_query(isql.format(
        # dbname, ...))`): what its callers give it is still the statement sent.
        if isinstance(sent, ast.Call) and isinstance(sent.func, ast.Attribute) and \
                sent.func.attr == "format":
            sent = sent.func.value
        elif isinstance(sent, ast.BinOp) and isinstance(sent.op, ast.Mod):
            sent = sent.left
        if not isinstance(sent, ast.Name):
            return
        # The function binding the name, through lambdas that do not (`lambda lo, hi:
        # _ch(sql, ...)` in a function taking `sql`).
        function = next((scope for scope in self._scopes_around(sent) if not (
            isinstance(scope, ast.Lambda) and sent.id not in _parameter_names(scope))), None)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                sent.id in _parameter_names(function) and \
                sent.id not in self._assignments(function):
            self.helpers.setdefault(id(function), {})[sent.id] = engine

    def _sent_by_helper(self, call: ast.Call) -> Iterator[tuple[ast.expr, Engine]]:
        """The arguments `call` gives a helper of the module in the parameters it sends
        to another engine: `self._query_sync(query, ...)`, also handed to a thread
        (`asyncio.to_thread(self._query_sync, query, ...)`,
        `loop.run_in_executor(None, self._query_sync, query)`)."""
        if not self.helpers:
            return
        name = _call_name(call)
        func: ast.expr = call.func
        args = list(call.args)
        if name == "to_thread" and args:
            func, args = args[0], args[1:]
        elif name == "run_in_executor" and len(args) > 1:
            func, args = args[1], args[2:]
        function = self._function_called(func, call)
        sends = self.helpers.get(id(function)) if function is not None else None
        if not sends or function is None or any(isinstance(a, ast.Starred) for a in args):
            return
        parameters = _parameter_names(function)
        if isinstance(func, ast.Attribute) and not _static(function):
            parameters = parameters[1:]  # `self` (a static method called as `self._x(q)` has none)
        for parameter, arg in zip(parameters, args):
            if parameter in sends:
                yield arg, sends[parameter]
        for keyword in call.keywords:
            if keyword.arg in sends:
                yield keyword.value, sends[keyword.arg]

    def _parsed_elsewhere(self, call: ast.Call) -> Iterator[ast.expr]:
        """What `call` gives a function of another module of the project in the parameters
        it hands to sqlglot's parser and never sends (`py_parsers`): Arize Phoenix's tests'
        `admit_sql("SELECT latency_ms FROM spans", ...)`, imported from
        `phoenix.server.mcp.sql.parse`. A function the imports do not show is not one. A
        dataclass of the project whose field only such functions read (`AdmissionCase(sql=
        "...")`, its `case.sql` handed to `try_parse_and_admit`) is one too, also where its
        module defines it."""
        dotted = self._dotted(call.func) or self._relative_dotted(call.func) or \
            self._own_class(call.func)
        parameters = self.parsers.get(dotted or "")
        if not parameters:
            return
        positional = not any(isinstance(arg, ast.Starred) for arg in call.args)
        for position, name in parameters:
            if positional and isinstance(position, int) and position < len(call.args):
                yield call.args[position]
            yield from (k.value for k in call.keywords if k.arg == name)

    def _own_class(self, func: ast.expr) -> str | None:
        """The dotted name of the class the module defines (once, at its top) that `func`
        names, where nothing else binds that name."""
        if not isinstance(func, ast.Name) or func.id in self.imported or self._stores_of(func):
            return None
        defined = [node for node in self.tree.body if isinstance(
            node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == func.id]
        if len(defined) != 1 or not isinstance(defined[0], ast.ClassDef):
            return None
        from dbsafe.extract.py_parsers import module_name

        return f"{module_name(self.path)}.{func.id}"

    def _function_called(self, func: ast.expr,
                         at: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The module's function `func` names (`helper`), one defined in a function around
        the call (the innermost defining it: a test's own `def rewrite(sql): ...`), or its
        class's method (`self.helper`, `cls.helper` in a method of the class), when there is
        one."""
        if isinstance(func, ast.Name):
            name = func.id
            for scope in self._scopes_around(at):
                if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
                    defs = [node for node in scope.body if isinstance(
                        node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name]
                    if defs:
                        return defs[0] if len(defs) == 1 else None
            return None
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
                func.value.id in ("self", "cls"):
            holder = self._class_of(at)
            if holder is None:
                return None
            body, name = holder.body, func.attr
        else:
            return None
        defs = [node for node in body if isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name]
        return defs[0] if len(defs) == 1 else None

    def _engine_of_attribute(self, node: ast.Attribute, *, depth: int) -> Engine | None:
        """The engine of `self.x` where its class declares `x` with the class of that engine's
        connections (a dataclass field `con: sqlite3.Connection`, which the `__init__` the
        decorator writes stores), or where every value its class's methods store to it, but
        `None` (`self._client = None` until first use), is that engine's connection."""
        holder = self._class_of(node)
        if holder is None:
            return None
        return self._engine_of_member(holder, node.attr, depth=depth)

    def _engine_of_member(self, holder: ast.ClassDef, attribute: str, *,
                          depth: int) -> Engine | None:
        # by depth too: one worked out deep in a chain may have stopped at `_engine_of`'s
        # bound, which a shallower ask would pass
        key = (id(holder), attribute, depth)
        if key not in self.attribute_engines:
            # once per class, attribute and depth: each `self.x.y.execute(...)` asks again
            declared = _declared_annotation(holder, attribute)
            engine = None if declared is None else self._engine_annotated(declared)
            self.attribute_engines[key] = engine or self._engine_stored_to_self(
                holder, attribute, depth=depth)
        return self.attribute_engines[key]

    def _engine_of_declared_member(self, node: ast.Attribute, *, depth: int) -> Engine | None:
        """The engine of `self.x.y` where the class declares `x` with a class of this module
        (`db: RealmExportDb`) whose `y` is that engine's connection (`con:
        sqlite3.Connection`): Parsec's export reader reads `self.db.con`."""
        if not isinstance(node.value, ast.Attribute):
            return None
        holder = self._class_of(node)
        declared = None if holder is None else _declared_annotation(holder, node.value.attr)
        member = self._module_class(declared)
        return None if member is None else self._engine_of_member(member, node.attr,
                                                                   depth=depth)

    def _module_class(self, annotation: ast.expr | None) -> ast.ClassDef | None:
        """The class defined at the top of this module an annotation names (`RealmExportDb`,
        `"RealmExportDb"`, `RealmExportDb | None`, `Optional[RealmExportDb]`)."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            sides = [side for side in (annotation.left, annotation.right)
                     if not (isinstance(side, ast.Constant) and side.value is None)]
            annotation = sides[0] if len(sides) == 1 else None
        elif isinstance(annotation, ast.Subscript) and \
                self._dotted_annotation(annotation.value) == "typing.Optional":
            annotation = annotation.slice
        if not isinstance(annotation, ast.Name):
            return None
        classes = [node for node in self.tree.body
                   if isinstance(node, ast.ClassDef) and node.name == annotation.id]
        return classes[0] if len(classes) == 1 else None

    def _engine_stored_to_self(self, holder: ast.ClassDef, attribute: str, *,
                               depth: int) -> Engine | None:
        values = [target_value for method in holder.body
                  if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for target_value in _stores_to_self(method, attribute)]
        values = [v for v in values if not (isinstance(v, ast.Constant) and v.value is None)]
        if not values:
            return None
        engines = {self._engine_of(value, depth=depth) for value in values}
        if len(engines) > 1 and None in engines:
            # `self._db = db` of `__init__(self, db=None)`, which no call shown gives, beside
            # `self._db = await aiosqlite.connect(...)`: the None it defaults to is what the
            # other store replaces (tiled's `AccessTagsParser`), not another engine's client;
            # what the module's calls of the class give it counts as stored.
            known: list[ast.expr] = []
            for value in values:
                given = self._parameter_given(holder, attribute, value)
                known.extend([value] if given is None else given)
            engines = {self._engine_of(value, depth=depth) for value in known}
            if not known or None in engines:
                return None
        return engines.pop() if len(engines) == 1 else None

    def _parameter_given(self, holder: ast.ClassDef, attribute: str,
                         value: ast.expr) -> list[ast.expr] | None:
        """The values the module's calls of the class give `value`, stored to
        `self.<attribute>`, where it is a parameter of the class's `__init__` that says
        nothing of what it holds: it defaults to None, its annotation (and the class's
        declaration of the attribute) names nothing but `typing`'s words (`Any`,
        `Optional`), the method binds it nowhere else, no class of the module extends the
        class and every call of it shows what it gives (by keyword or position, no `*args`
        or `**kwargs`). None for anything else: an annotation naming a PostgreSQL driver
        (`asyncpg.Connection`) or the project's own class keeps it unknown. (A module of the
        project not shown here may give it another engine's client: not known here.)"""
        if not isinstance(value, ast.Name):
            return None
        init = self.parents.get(id(value))
        while init is not None and not isinstance(init, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                         ast.Lambda, ast.ClassDef)):
            init = self.parents.get(id(init))
        if not isinstance(init, (ast.FunctionDef, ast.AsyncFunctionDef)) or \
                init.name != "__init__" or self.parents.get(id(init)) is not holder:
            return None
        stores = self._stores_of(value)
        if len(stores) != 1 or not isinstance(stores[0], ast.arg):
            return None
        parameter = stores[0]
        arguments = init.args
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults = {id(a): d for a, d in (
            *zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults),
            *zip(arguments.kwonlyargs, arguments.kw_defaults))}
        default = defaults.get(id(parameter))
        if not (isinstance(default, ast.Constant) and default.value is None):
            return None
        if not self._annotation_says_nothing(parameter.annotation) or \
                not self._annotation_says_nothing(_declared_annotation(holder, attribute)):
            return None
        index = next((i for i, a in enumerate(positional) if a is parameter), None)
        given: list[ast.expr] = []
        for node in self.nodes or ast.walk(self.tree):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(base, ast.Name) and base.id == holder.name for base in node.bases):
                return None  # a subclass may give it (`super().__init__(conn)`)
            if not isinstance(node, ast.Call) or not self._constructs(node, holder):
                continue
            if any(k.arg is None for k in node.keywords) or \
                    any(isinstance(a, ast.Starred) for a in node.args):
                return None
            given.extend(k.value for k in node.keywords if k.arg == parameter.arg)
            if index is not None and 0 < index <= len(node.args):
                given.append(node.args[index - 1])  # (`index` counts `self`)
        return [value for value in given
                if not (isinstance(value, ast.Constant) and value.value is None)]

    def _constructs(self, call: ast.Call, holder: ast.ClassDef) -> bool:
        """Whether `call` makes an instance of `holder`: by its name, or `cls(...)` in one of
        its methods."""
        func = call.func
        if isinstance(func, ast.Name) and func.id == holder.name:
            return True
        return isinstance(func, ast.Name) and func.id == "cls" and \
            self._class_of(call) is holder

    def _annotation_says_nothing(self, annotation: ast.expr | None) -> bool:
        """Whether an annotation is absent or made only of `None`, `object` and `typing`'s
        words (`Any`, `Optional[Any]`, `"Any | None"`): it names no client's class."""
        if annotation is None:
            return True
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return False
        for node in ast.walk(annotation):
            if isinstance(node, ast.Name):
                dotted = self.imported.get(node.id)
                if not (node.id == "object" and node.id not in self.imported) and \
                        (dotted is None or dotted.split(".")[0] not in _TYPING_MODULES):
                    return False
            elif isinstance(node, ast.Constant):
                if node.value is not None:
                    return False
            elif not isinstance(node, (ast.Attribute, ast.Subscript, ast.Tuple, ast.BinOp,
                                       ast.BitOr, ast.Load)):
                return False
        return True

    def _class_of(self, node: ast.AST) -> ast.ClassDef | None:
        holder = self.parents.get(id(node))
        while holder is not None and not isinstance(holder, ast.ClassDef):
            holder = self.parents.get(id(holder))
        return holder

    def _engine_returned(self, call: ast.Call, *, depth: int) -> Engine | None:
        """The engine a function or method of this module returns a connection of, when
        `call` calls one (`get_client()`, `self._get_client()` in its class): every value
        it returns is that engine's (`return clickhouse_connect.get_client(...)`). A
        `return None` (Tendenci's `get_salesforce_access()`, None when the settings lack
        credentials) sends nothing: a statement goes to what else it returns."""
        function = self._function_called(call.func, call)
        if function is None:
            return None
        returns = [node.value for node in _own_nodes(function) if isinstance(node, ast.Return)]
        if not returns or any(value is None for value in returns):
            return None
        engines = {self._engine_of(value, depth=depth) for value in returns
                   if value is not None
                   and not (isinstance(value, ast.Constant) and value.value is None)}
        return engines.pop() if len(engines) == 1 else None

    def _engine_imported(self, call: ast.Call) -> Engine | None:
        """The engine a function of another module of the project returns a client of,
        or None (`py_clients`), when `call` calls it by its import: Tendenci's
        `get_salesforce_access()`, imported from `tendenci.apps.base.utils` (`from x
        import f`, `import x` then `x.f()`, a relative import, a package's re-export)."""
        if not self.clients or not isinstance(call.func, (ast.Name, ast.Attribute)):
            return None
        dotted = self._dotted(call.func) or self._relative_dotted(call.func)
        name = self.clients.get(dotted or "")
        return next((e for e in self.engines if e.name == name), None) if name else None

    def _callee_returned(self, value: ast.expr, module: str) -> str | None:
        """The dotted name of the function whose result `value`, returned, is: a call of
        an imported one, of one defined at the top of the module (`module`), or a name
        the function binds to such a call once (`sf = get_salesforce_access(); return
        sf`); None for anything else."""
        if isinstance(value, ast.Name):
            stores = [store for store in self._stores_of(value)
                      if not (isinstance(store, ast.Constant) and store.value is None)]
            if len(stores) != 1 or not isinstance(stores[0], ast.expr):
                return None
            value = stores[0]
        if isinstance(value, ast.Await):
            value = value.value
        if not isinstance(value, ast.Call) or not isinstance(value.func, (ast.Name,
                                                                          ast.Attribute)):
            return None
        dotted = self._dotted(value.func) or self._relative_dotted(value.func)
        if dotted is None and isinstance(value.func, ast.Name) and \
                value.func.id not in self.imported and not self._stores_of(value.func) and \
                any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and node.name == value.func.id for node in self.tree.body):
            dotted = f"{module}.{value.func.id}"
        return dotted

    def _sent_where_imported(self, node: ast.expr) -> Engine | None:
        """The other engine the modules importing the constant `node` is bound to send it
        to (`py_clients.constants_sent_elsewhere`): course-discovery's
        `SNOWFLAKE_POPULATE_COURSE_LENGTH_QUERY = '''...'''` of `constants.py`, which
        `populate_course_length.py` imports and runs on a Snowflake cursor. Only for the
        value of a plain assignment to one name at the module's top level, which binds
        it once and reads it nowhere: the module may send a name it reads itself."""
        if not self.clients:
            return None
        parent = self.parents.get(id(node))
        if not isinstance(parent, ast.Assign) or parent.value is not node or \
                len(parent.targets) != 1 or not isinstance(parent.targets[0], ast.Name) or \
                self.parents.get(id(parent)) is not self.tree:
            return None
        name = parent.targets[0].id
        from dbsafe.extract.py_parsers import module_name

        engine_name = self.clients.get(f"{module_name(self.path)}.{name}")
        if engine_name is None:
            return None
        if any((isinstance(other, ast.Name) and other.id == name
                and other is not parent.targets[0])
               or (isinstance(other, (ast.Global, ast.Nonlocal)) and name in other.names)
               for other in self.nodes):
            return None
        return next((e for e in self.engines if e.name == engine_name), None)

    def _engine_of_module(self) -> Engine | None:
        """The other engine a module is a layer of: it imports that engine's library or a
        package named for it (PostHog's `posthog/models/person/sql.py` imports
        `posthog.clickhouse.table_engines` and `posthog.clickhouse.cluster`), one engine
        only, and nothing that reaches PostgreSQL (a driver, SQLAlchemy, `django.db`)."""
        if self.module_engine is None:
            named: set[Engine] = set()
            for dotted in filter(None, self.imported.values()):
                parts = dotted.split(".")
                if ".".join(parts[:2]) in _POSTGRESQL_CLIENTS or parts[0] in _POSTGRESQL_CLIENTS:
                    named = set()
                    break
                named.update(e for e in map(self._engine_named, parts) if e is not None)
            self.module_engine = (named.pop(),) if len(named) == 1 else ()
        return self.module_engine[0] if self.module_engine else None

    def _engine_given(self, node: ast.expr) -> Engine | None:
        """The other engine a string is handed to for running, alone or in a list or tuple: the
        first argument of a method of one of its connections, the value of a keyword of a callable
        of the engine's library taking its statements there (Airflow's
        `AnalyticsOperator(queries=[...])`), or what a function decorated to run them returns
        (`@task.analytics(...)`, `return ["SELECT ...", ...]`)."""
        child, parent = node, self.parents.get(id(node))
        while isinstance(parent, (ast.List, ast.Tuple)):
            child, parent = parent, self.parents.get(id(parent))
        if isinstance(parent, ast.keyword) and parent.arg is not None:
            call = self.parents.get(id(parent))
            if isinstance(call, ast.Call):
                dotted = self._dotted(call.func)
                return next((e for e in self.engines
                             if (dotted, parent.arg) in e.given), None) if dotted else None
        if isinstance(parent, ast.Call) and parent.args and parent.args[0] is child and \
                isinstance(parent.func, ast.Attribute):
            # the first argument of any method of one of its connections, not only of those
            # that send (`cql_runner.execute_with_retries("SELECT ...", args)`)
            return self._engine_of(parent.func.value, depth=0)
        if isinstance(parent, ast.Return) and parent.value is child:
            function = self._scope_of(parent)  # a `return` is always a function's
            decorators = function.decorator_list if isinstance(
                function, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
            for decorator in decorators:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                dotted = self._dotted(target)
                engine = dotted and next(
                    (e for e in self.engines if dotted in e.returned_by), None)
                if engine:
                    return engine
        return None

    def _requested_of(self, node: ast.expr) -> Engine | None:
        """The other engine an HTTP request hands a string to: a value (in dicts, lists or
        tuples) of the query string, form or body (`params=`, `data=`, `json=`,
        `content=`) of a client's `.get`/`.post`/`.put`/`.patch`/`.request` to a URL the
        module writes whose host names the engine. Rucio's Hermes test reads InfluxDB's
        measurements so: `requests.get("http://influxdb:8086/query?db=rucio",
        params={"q": "SELECT * FROM deletion"})`, InfluxQL, never PostgreSQL's."""
        child, parent = node, self.parents.get(id(node))
        while isinstance(parent, (ast.Dict, ast.List, ast.Tuple)):
            if isinstance(parent, ast.Dict) and not any(v is child for v in parent.values):
                return None  # a key
            child, parent = parent, self.parents.get(id(parent))
        if not isinstance(parent, ast.keyword) or parent.arg not in _REQUEST_PAYLOADS:
            return None
        call = self.parents.get(id(parent))
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute) or \
                call.func.attr not in _HTTP_METHODS | {"get"}:
            return None
        at = 1 if call.func.attr == "request" else 0
        url = next((k.value for k in call.keywords if k.arg == "url"),
                   call.args[at] if len(call.args) > at else None)
        text = self._url_text(url, depth=3) if url is not None else None
        if text is None or "://" not in text:
            return None
        host = text.partition("://")[2].partition("/")[0].partition("?")[0]
        host = host.rpartition("@")[2].partition(":")[0]
        if not host or _URL_HOLE in host:
            return None  # a host known only at run time names nothing
        return self._engine_named(host)

    def _exported_only(self, node: ast.expr) -> bool:
        """Whether a string is a module constant the module only exports: bound once at
        the top level (also as `"...".format(...)`), its name read nowhere but in the
        making of other constants (`.format(x=NAME)`, an f-string field). Such a module
        sends none of its SQL itself; its importers send it."""
        holder: ast.AST = node
        parent = self.parents.get(id(holder))
        while (isinstance(parent, ast.Attribute) and parent.attr == "format") or (
                isinstance(parent, ast.Call) and parent.func is holder):
            holder, parent = parent, self.parents.get(id(parent))
        if not (isinstance(parent, ast.Assign) and parent.value is holder
                and self.parents.get(id(parent)) is self.tree):
            return False
        name = self._assigned_name(holder)
        if name is None or len(self._assignments(self.tree).get(name, ())) != 1:
            return False
        for read in self._reads().get(name, ()):
            around = self.parents.get(id(read))
            if isinstance(around, ast.keyword):
                around = self.parents.get(id(around))
            if not (isinstance(around, ast.FormattedValue) or (
                    isinstance(around, ast.Call) and isinstance(around.func, ast.Attribute)
                    and around.func.attr == "format")):
                return False
        return True

    def _inherited_only(self, node: ast.expr) -> bool:
        """Whether a string is a class attribute the module reads nowhere (`noop_query =
        "SELECT 1 FROM DUAL"` of Redash's `class Exasol(BaseQueryRunner)`): a base class
        elsewhere sends it, through the methods this class overrides for its engine."""
        assign = self.parents.get(id(node))
        name = self._assigned_name(node)
        if name is None or not isinstance(self.parents.get(id(assign)), ast.ClassDef):
            return False
        return not self._reads().get(name) and not any(
            isinstance(other, ast.Attribute) and other.attr == name
            for other in self.nodes or ast.walk(self.tree))

    def _engine_module_of(self, func: ast.expr) -> Engine | None:
        """The engine the module a called function is imported from names: a project's own
        layer for another engine says so by its package (PostHog's `from
        posthog.clickhouse.client import sync_execute`, then `sync_execute(sql, args)`)."""
        if not isinstance(func, (ast.Name, ast.Attribute)):
            return None
        return self._engine_package(self._dotted(func) or self._relative_dotted(func))

    def _engine_package(self, dotted: str | None) -> Engine | None:
        """The engine a package on the dotted path of an imported name names
        (`posthog.clickhouse.client.sync_execute`)."""
        if dotted is None:
            return None
        for part in dotted.split(".")[:-1]:
            engine = self._engine_named(part)
            if engine is not None:
                return engine
        return None

    def _relative_dotted(self, node: ast.expr | None) -> str | None:
        """The dotted path a name a relative import binds, or an attribute of one, stands
        for (`self.relative`), where the function does not bind that name itself: the
        project's own layer for another engine says so by where it lies, as by its
        package when imported absolutely (swh-storage's `from .cql import CqlRunner` in
        `swh/storage/cassandra/`, its `cql_runner: CqlRunner` sending CQL)."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or self.relative.get(node.id) is None or \
                self._stores_of(node):
            return None
        return ".".join([self.relative[node.id] or "", *reversed(parts)])

    def _engine_named(self, identifier: str) -> Engine | None:
        """The engine an identifier names as one of its words: the project's own helpers,
        factories and fixtures for another engine say so (`query_clickhouse`,
        `clickhouse_client`, `CLICKHOUSE`, `getDuckDBConnection`). A snake_case word is
        compared whole (`sparkline` is no Spark); a camelCase one contains the name."""
        words = _SNAKE_WORDS.findall(identifier)
        for engine in self.engines:
            for word in words:
                lowered = word.lower()
                if lowered in engine.named_by or (
                        word not in (lowered, word.upper())
                        and any(name in lowered for name in engine.named_by)):
                    return engine
        return None

    def _engine_stored(self, value: ast.AST, *, depth: int) -> Engine | None:
        """The engine of a value stored to a name; `x: duckdb.DuckDBPyConnection = ...`
        says so by its annotation."""
        holder = self.parents.get(id(value))
        if isinstance(holder, ast.AnnAssign) and holder.value is value:
            annotated = self._engine_annotated(holder.annotation)
            if annotated is not None:
                return annotated
        return self._engine_of(value, depth=depth)

    def _engine_annotated(self, annotation: ast.expr | None) -> Engine | None:
        """The engine of a class annotation (`sqlite3.Connection`, `Client` imported from
        clickhouse_driver, either as a string, or `Optional[...]`/`... | None` of one)."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return None
            dotted = self._dotted_annotation(annotation)
        elif isinstance(annotation, ast.Subscript) and \
                self._dotted_annotation(annotation.value) == "typing.Optional":
            return self._engine_annotated(annotation.slice)
        elif isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            sides = [annotation.left, annotation.right]
            sides = [side for side in sides
                     if not (isinstance(side, ast.Constant) and side.value is None)]
            return self._engine_annotated(sides[0]) if len(sides) == 1 else None
        else:
            dotted = self._dotted_annotation(annotation)
            if dotted is None and isinstance(annotation, (ast.Name, ast.Attribute)):
                # a class of the project's own layer for the engine, imported relatively
                return self._engine_package(self._relative_dotted(annotation))
        if dotted is None:
            return None
        # its library's class, or a class of the project's own layer for the engine, which
        # says so by its package (Polar's `tb_client: TinybirdClient`, imported from
        # `polar.integrations.tinybird.client`)
        return next((e for e in self.engines if dotted in e.types), None) or \
            self._engine_package(dotted)

    def _dotted_annotation(self, node: ast.AST | None) -> str | None:
        """The dotted name an imported name or an attribute of one spells, whatever the
        function assigns: `_dotted` for an annotation, which names no variable (a string
        annotation's names are not nodes of this module)."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.imported.get(node.id)
        return None if head is None else ".".join((head, *reversed(parts)))

    def _skip_sent(self, arg: ast.expr, engine: Engine, *, statements_only: bool) -> None:
        """Take the statement a sink sends to another engine, and say so where it is
        (with `statements_only`, only where it reads as a statement)."""
        # `conn.execute(text("..."))`: the statement is text()'s argument.
        inner = _sql_argument(arg) if isinstance(arg, ast.Call) and \
            _call_name(arg) in SINKS else None
        sent = inner or arg
        held = sent if isinstance(sent, ast.Name) else _rebound_name(sent)
        if held is not None:
            statements = self._held_statements(held, engine)
        else:
            resolved = self._resolve(sent)
            statements = [] if resolved is None else [resolved]
        for statement in statements or [sent]:
            if id(statement) in self.taken:
                continue  # the same statement sent twice (`conn.execute(sql)` in a loop)
            if self._names_a_function(statement):
                continue  # `store.execute(get_rows)`: synapse's stores run a function
            self._take(statement)
            template = self._template(statement) if statements_only else None
            if statements_only and (template is None or not looks_like_statement(
                    template.text, holes=len(template.holes))):
                continue
            self.skipped.append(Skipped(
                Location(self.path, *self._position(statement.lineno, statement.col_offset)),
                f"sent to {engine.name}, not PostgreSQL"))
            if isinstance(statement, ast.Name):
                self.sent_names[id(statement)] = engine
            if template is None:
                template = self._template(statement)
            if template is not None and not template.problem:
                # What it creates there exists at run time for the module's other statements
                # (buildbot's `INSERT INTO test` after its SQLite `CREATE TABLE test`).
                self._keep_ddl(template)

    def _keep_ddl(self, template: Template) -> bool:
        """Keep what `template` holds as the module's DDL when it looks like DDL; whether
        part of it is only known at run time."""
        if not _looks_like_ddl(template):
            return False
        rendered = self._render(template, sink=None)
        self.ddl.extend(f.sql for f in rendered if not f.dynamic and not _prose_headed(f.sql))
        return any(f.dynamic for f in rendered)

    def _names_a_function(self, node: ast.AST) -> bool:
        """Whether `node` is a name a function defined around it has."""
        if not isinstance(node, ast.Name):
            return False
        return any(isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                   and child.name == node.id
                   for scope in self._scopes_around(node)
                   for child in ast.iter_child_nodes(scope))

    def _held_statements(self, name: ast.Name, engine: Engine) -> list[ast.expr]:
        """The literals a name sent to `engine` is assigned (in its function, or the
        module), when it is only ever sent there: `query = "SELECT ..."; query =
        query.format(...)`, then `client.query(query)`. A name also read anywhere else
        (sent to PostgreSQL too, passed to a helper) keeps its literals checked."""
        for scope in self._scopes_around(name):
            stores = self._assignments(scope).get(name.id)
            if stores is not None:
                break
            if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    arg.arg == name.id for arg in (*scope.args.posonlyargs, *scope.args.args,
                                                   *scope.args.kwonlyargs)):
                return []  # a parameter: its statements are the callers'
        else:
            return []
        literals: list[ast.expr] = []
        for store in stores:
            value = self._stored_value(store)
            iterated = self._iterated_strings(store)
            if isinstance(value, ast.expr) and _is_string_expr(value):
                literals.append(value)
            elif iterated:
                literals.extend(iterated)
            elif not self._rebinds(value, name.id):
                return []
        for node in ast.walk(scope):  # nested functions too: a closure may read it
            if isinstance(node, ast.Name) and node.id == name.id and \
                    isinstance(node.ctx, ast.Load) and not self._sent_only_to(node, engine):
                return []
        return literals

    def _iterated_strings(self, store: ast.AST) -> list[ast.expr]:
        """The string literals a loop's or comprehension's target takes in turn: the items
        of the list or tuple of them it iterates over, written there or bound once to a
        name read nowhere else (fides' fixtures: `statements = ["INSERT INTO dbo.product
        ...", ...]`, then `[mssql_integration_session.execute(stmt) for stmt in
        statements]`); none for anything else."""
        loop = self.parents.get(id(store))
        if not isinstance(loop, (ast.comprehension, ast.For, ast.AsyncFor)) or \
                loop.target is not store:
            return []
        iterated: ast.AST = loop.iter
        if isinstance(iterated, ast.Name):
            values = self._values_of(iterated)
            if len(values) != 1 or self._loads(iterated) != 1:
                return []
            iterated = values[0]
        if isinstance(iterated, (ast.List, ast.Tuple)) and iterated.elts and \
                all(_is_string_expr(item) for item in iterated.elts):
            return list(iterated.elts)
        return []

    def _loads(self, name: ast.Name) -> int:
        """How often the scope binding `name` (or nested in it) reads it."""
        for scope in self._scopes_around(name):
            if name.id in self._assignments(scope):
                return sum(1 for node in ast.walk(scope) if isinstance(node, ast.Name)
                           and node.id == name.id and isinstance(node.ctx, ast.Load))
        return 0

    def _rebinds(self, value: ast.AST, name: str) -> bool:
        """A store of `name` built from itself: `name = name.format(...)`, `name % (...)`,
        `name + "..."`, `name += "..."`."""
        if isinstance(value, ast.Name):
            return isinstance(self.parents.get(id(value)), ast.AugAssign)
        rebound = _rebound_name(value) if isinstance(value, ast.expr) else None
        return rebound is not None and rebound.id == name

    def _sent_only_to(self, load: ast.Name, engine: Engine) -> bool:
        """Whether this read of a name is the statement of a sink of `engine` (with its
        pieces: `query.format(...)`, `query % args`), rebinds the name to itself with its
        pieces (`query = query.format(...)`), or only logs it (`log.debug("%s", query)`)."""
        node: ast.AST = load
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.keyword):
            # `client.execute(query=query)`: the call is what reads it (`_sql_argument`).
            parent = self.parents.get(id(parent))
        told = parent
        while isinstance(told, (ast.FormattedValue, ast.JoinedStr, ast.keyword)):
            told = self.parents.get(id(told))
        if isinstance(told, ast.Call) and _call_name(told) in _PROSE_CALLS and \
                told.func is not parent:
            return True
        if isinstance(parent, ast.Attribute) and parent.attr == "format":
            call = self.parents.get(id(parent))
            if isinstance(call, ast.Call) and call.func is parent:
                node, parent = call, self.parents.get(id(call))
        elif isinstance(parent, ast.BinOp) and parent.left is node and \
                isinstance(parent.op, (ast.Mod, ast.Add)):
            node, parent = parent, self.parents.get(id(parent))
        if node is not load and isinstance(parent, ast.Assign) and parent.value is node:
            return all(isinstance(t, ast.Name) and t.id == load.id for t in parent.targets)
        if isinstance(told, ast.Call) and any(
                arg is node and engine_sent is engine
                for arg, engine_sent in self._sent_by_helper(told)):
            return True  # given to a helper that sends it there
        while isinstance(parent, ast.Call) and _sql_argument(parent) is node and (
                _call_name(parent) in SINKS | ENGINE_SINKS
                or self._engine_named(_call_name(parent) or "") is engine):
            receiving = self._engine_receiving(parent)
            if receiving is engine:
                return True
            if receiving is None and _call_name(parent) in _ENGINE_ONLY_SINKS:
                # The statement the module sends to `engine` elsewhere, given here to a
                # method no PostgreSQL driver has, of a client the module does not show
                # (Flagsmith's `client.query(_EVENT_STATS_QUERY, parameters=...)` of a
                # ClickHouse client another module's context manager yields).
                return True
            node, parent = parent, self.parents.get(id(parent))  # `text(query)` inside
        return False

    def _stores_of(self, name: ast.Name) -> list[ast.AST]:
        """What `name` may hold where it is used: inside a `with ... as name` block, that
        context manager; else the values stored to it in the nearest scope that stores it
        (a `with` target's context manager; a parameter)."""
        child: ast.AST = name
        parent = self.parents.get(id(name))
        while parent is not None and not isinstance(
                parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module)):
            if isinstance(parent, (ast.With, ast.AsyncWith)) and child in parent.body:
                for item in parent.items:
                    target = item.optional_vars
                    if isinstance(target, ast.Name) and target.id == name.id:
                        return [item.context_expr]
            child, parent = parent, self.parents.get(id(parent))
        for scope in self._scopes_around(name):
            stores = self._assignments(scope).get(name.id)
            if stores is not None:
                return [self._stored_value(store) for store in stores]
            if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
                arguments = scope.args
                for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
                    if arg.arg == name.id:
                        return [arg]
        return []

    def _stored_value(self, store: ast.AST) -> ast.AST:
        parent = self.parents.get(id(store))
        if isinstance(parent, ast.withitem) and parent.optional_vars is store:
            return parent.context_expr
        return store

    def _is_prose_context(self, node: ast.AST) -> bool:
        """True where a string is a message, not a query: docstrings, logging, errors, help."""
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.Expr):
            return True  # docstrings and other bare strings are never sent anywhere
        if isinstance(parent, ast.Dict) and any(key is node for key in parent.keys):
            return True
        if isinstance(parent, (ast.Assert, ast.Raise, ast.Compare, ast.JoinedStr)):
            return True
        if isinstance(parent, ast.keyword) and parent.arg in _PROSE_KEYWORDS:
            return True
        call = self.parents.get(id(parent)) if isinstance(parent, ast.keyword) else parent
        if isinstance(call, ast.Call):
            name = _call_name(call) or ""
            if name in _PROSE_CALLS or name.endswith(("Error", "Exception", "Warning")):
                return True
        return self._in_assertion(node) or self._matched_against(node) or \
            self._in_example(node) or self._telemetry_record(node)

    def _trigger_body(self, node: ast.AST) -> bool:
        """True for the PL/pgSQL body of a django-pgtrigger trigger: the `func=` of
        `pgtrigger.Trigger(...)` (or of another class of `pgtrigger`), also through calls
        given it (`func=pgtrigger.Func("...")`, a project's `format_trigger("...")`).
        pgtrigger makes it the body of the trigger's function (`CREATE FUNCTION ... AS $$
        BEGIN {func} END; $$ LANGUAGE plpgsql`), where `NEW` and `OLD` are the row and
        `SELECT ... INTO new.x` assigns to it: no statement sent as written, and PostgreSQL
        checks its names only when the trigger runs (BookWyrm's search-vector triggers)."""
        child, parent = node, self.parents.get(id(node))
        while isinstance(parent, ast.Call) and child in parent.args:
            child, parent = parent, self.parents.get(id(parent))
        if not isinstance(parent, ast.keyword) or parent.arg != "func":
            return False
        call = self.parents.get(id(parent))
        dotted = self._dotted(call.func) if isinstance(call, ast.Call) else None
        return dotted is not None and dotted.split(".")[0] == "pgtrigger"

    def _in_example(self, node: ast.AST) -> bool:
        """True for a documented example: a string under an `example`/`examples` key or
        keyword, directly or inside the lists, tuples and dicts it holds (marshmallow's
        `metadata={"example": "SELECT value FROM time_series_table"}`, pydantic's
        `Field(examples=[...])`, FastAPI's `Body(example=...)` and `Query(openapi_examples={"x":
        {"value": ...}})`, `json_schema_extra={"example": {...}}`): the API's documentation,
        shown to its readers, never sent."""
        child, parent = node, self.parents.get(id(node))
        while isinstance(parent, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.keyword)):
            if isinstance(parent, ast.keyword):
                return parent.arg in _EXAMPLE_KEYS
            if isinstance(parent, ast.Dict):
                key = next((k for k, v in zip(parent.keys, parent.values) if v is child), None)
                if isinstance(key, ast.Constant) and key.value in _EXAMPLE_KEYS:
                    return True
            child, parent = parent, self.parents.get(id(parent))
        return False

    def _program_given(self, node: ast.expr) -> Engine | None:
        """The program a string is a command-line argument of, as an engine: an item of the
        argument list given to `subprocess.run`, `call`, `check_call`, `check_output` or
        `Popen` (first, or as `args=`), or an argument of `asyncio.create_subprocess_exec`,
        whose program is written there. mapswipe's `subprocess.run(["ogr2ogr", ..., "-sql",
        f'SELECT *, CAST({field} as geometry) FROM "tmp"'])` gives OGR's SQL dialect a CSV
        file to read, never PostgreSQL. A command any literal argument of which names psql
        (`["psql", "-c", ...]`, `["docker", "exec", "db", "psql", ...]`, `["sh", "-c",
        "psql ..."]`) may send it to PostgreSQL: None."""
        parent = self.parents.get(id(node))
        if isinstance(parent, (ast.List, ast.Tuple)):
            argv: list[ast.expr] = list(parent.elts)
            holder = self.parents.get(id(parent))
            if isinstance(holder, ast.keyword):
                if holder.arg != "args":
                    return None
                call = self.parents.get(id(holder))
            else:
                call = holder
                if not isinstance(call, ast.Call) or not call.args or call.args[0] is not parent:
                    return None
            if not isinstance(call, ast.Call) or \
                    self._dotted(call.func) not in _SUBPROCESS_RUNNERS:
                return None
        elif isinstance(parent, ast.Call) and node in parent.args and \
                self._dotted(parent.func) == "asyncio.create_subprocess_exec":
            argv = list(parent.args)
        else:
            return None
        first = argv[0] if argv else None
        if not isinstance(first, ast.Constant) or not isinstance(first.value, str) or \
                first is node:
            return None
        if any(isinstance(arg, ast.Constant) and isinstance(arg.value, str)
               and "psql" in arg.value for arg in argv):
            return None
        program = first.value.rsplit("/", 1)[-1]
        return Engine(f"the command `{program}`", (), frozenset(), frozenset())

    def _posted_as_data(self, node: ast.expr) -> bool:
        """Whether a string is data in the JSON body of an HTTP request, and no more: a
        value inside the dict (or list) given as `json=` to `.post`/`.put`/`.patch`/
        `.request` of an endpoint that does not run SQL, also through a name bound once
        whose every read is so sent (`json=rule_data`), as `dict(rule_data, **changes)` or
        as a comprehension over `rule_data.items()` that is. keep's test posts a rule's
        `{"sqlQuery": {"sql": "SELECT * FROM alert where severity = %s", ...}}` to its
        `/rules` API, which stores it for its rules engine: never sent to PostgreSQL.

        Read still: a body Hasura runs (`{"type": "run_sql", "args": {"sql": ...}}`), one
        posted to a URL whose last segment is `sql` or `query` (Neon's `/sql`, Supabase's
        `/database/query`, Hasura's `/v2/query`) or to a URL not written in the module, and
        a dict any other read of which takes its values (`cur.execute(body["sql"])`)."""
        child, parent = node, self.parents.get(id(node))
        if not isinstance(parent, (ast.Dict, ast.List, ast.Tuple)):
            return False  # (the common case, at once)
        while isinstance(parent, (ast.Dict, ast.List, ast.Tuple)):
            if isinstance(parent, ast.Dict):
                if not any(value is child for value in parent.values):
                    return False  # a key
                if any(isinstance(k, ast.Constant) and k.value == "type"
                       and isinstance(v, ast.Constant) and v.value == "run_sql"
                       for k, v in zip(parent.keys, parent.values)):
                    return False  # Hasura's run_sql: run on its PostgreSQL
            child, parent = parent, self.parents.get(id(parent))
        return self._json_body(child)

    def _json_body(self, node: ast.expr) -> bool:
        """Whether the value of `node` goes only into JSON bodies of HTTP requests to
        endpoints that do not run SQL (see `_posted_as_data`)."""
        name = self._assigned_name(node)
        if name is not None:
            return self._held_for(node, name, self._json_body)
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.keyword) and parent.arg == "json":
            call = self.parents.get(id(parent))
            return isinstance(call, ast.Call) and self._posts_no_sql(call)
        if isinstance(parent, ast.Call) and _call_name(parent) == "dict" and \
                parent.args and parent.args[0] is node:
            return self._json_body(parent)  # `dict(body, **changes)`
        if isinstance(parent, ast.Attribute) and parent.attr == "items":
            # `{k: v for k, v in body.items() if ...}`
            call = self.parents.get(id(parent))
            loop = self.parents.get(id(call))
            comprehension = self.parents.get(id(loop))
            return isinstance(call, ast.Call) and call.func is parent and not call.args \
                and isinstance(loop, ast.comprehension) and loop.iter is call \
                and isinstance(comprehension, ast.DictComp) \
                and self._json_body(comprehension)
        return False

    def _posts_no_sql(self, call: ast.Call) -> bool:
        """Whether `call` is an HTTP request (`client.post(url, json=...)`, `.put`,
        `.patch`, `.request(method, url, json=...)`) to a URL the module writes, no segment of
        whose path is `sql` or `query` (`_SQL_ENDPOINTS`), ending in a segment it writes or in
        one piece known at run time after one it writes (`"/rules/{}".format(rule.id)`): an
        API, not a SQL endpoint."""
        name = _call_name(call)
        if name not in _HTTP_METHODS or not isinstance(call.func, ast.Attribute):
            return False
        at = 1 if name == "request" else 0
        url = next((k.value for k in call.keywords if k.arg == "url"),
                   call.args[at] if len(call.args) > at else None)
        text = self._url_text(url, depth=3) if url is not None else None
        if text is None:
            return False
        segments = text.partition("?")[0].partition("#")[0].rstrip("/").split("/")
        if len(segments) < 2 or any(s.lower() in _SQL_ENDPOINTS for s in segments):
            return False
        written = [bool(s.replace(_URL_HOLE, "")) for s in segments]
        return written[-1] or (segments[-1] == _URL_HOLE and written[-2])

    def _url_text(self, node: ast.expr, depth: int) -> str | None:
        """The text of a URL the module writes, each piece known only at run time as
        `_URL_HOLE`: a literal, an f-string, `"...".format(...)`, `"..." % x`, `a + b` and a
        name bound once to one of them; None for none of these."""
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str)
                           else _URL_HOLE for v in node.values)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "format" and isinstance(node.func.value, ast.Constant) and \
                isinstance(node.func.value.value, str):
            return re.sub(r"\{[^{}]*\}", _URL_HOLE, node.func.value.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and \
                isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
            return re.sub(r"%(?:\([^)]*\))?[sdr]", _URL_HOLE, node.left.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and depth:
            left, right = (self._url_text(side, depth - 1) for side in (node.left, node.right))
            return None if left is None and right is None else \
                (_URL_HOLE if left is None else left) + (_URL_HOLE if right is None else right)
        if isinstance(node, ast.Name) and depth:
            bound = self._assigned_once(node)
            return self._url_text(bound, depth - 1) if isinstance(bound, ast.expr) else None
        return None

    def _telemetry_record(self, node: ast.AST) -> bool:
        """True for the text of a query a trace records: the value of OpenTelemetry's
        `db.statement` or `db.query.text` attribute (`_QUERY_ATTRIBUTES`), given after the
        key to a call (`span.set_attribute("db.statement", "SELECT * FROM users")`, also
        with the key as semantic-conventions' constant, `SpanAttributes.DB_STATEMENT`) or
        under it in a dict (`span.set_attributes({...})`, `attributes={...}`). It describes
        a query to whoever reads the trace (instrumentation examples record it beside the
        query they send, or with none), and is never sent itself."""
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.Call):
            key = parent.args[0] if len(parent.args) == 2 and parent.args[1] is node else None
        elif isinstance(parent, ast.Dict):
            key = next((k for k, v in zip(parent.keys, parent.values) if v is node), None)
        else:
            return False
        if isinstance(key, ast.Constant):
            return key.value in _QUERY_ATTRIBUTES
        name = key.attr if isinstance(key, ast.Attribute) else \
            key.id if isinstance(key, ast.Name) else None
        return name is not None and name.endswith(_QUERY_ATTRIBUTE_CONSTANTS)

    def _matched_against(self, node: ast.AST) -> bool:
        """True for what a string method looks for in another string, alone or in a tuple:
        `q.startswith('INSERT INTO "order_order"')`, `sql.endswith(("...", "..."))`, the
        prefix a test picks captured queries by (Saleor's fixtures). It is compared with the
        statements sent, never sent itself."""
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.Tuple):
            node, parent = parent, self.parents.get(id(parent))
        return isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and \
            parent.func.attr in _MATCH_METHODS and any(arg is node for arg in parent.args)

    def _in_assertion(self, node: ast.AST) -> bool:
        """True inside an `assert` statement or the arguments of `self.assertEqual(...)` and
        its kin: a test's expected value, or the input of a SQL parser it tests
        (`assert split_queries("...") == [...]`); and in the value of a name called
        `expected...` (`expected_sql = normalize("SELECT ...")`), what a query builder's test
        compares its output with. A statement a test sends goes through a sink call, read
        before any of this (`cur.execute(expected)` included)."""
        parent = self.parents.get(id(node))
        while parent is not None and not isinstance(parent, ast.stmt):
            if isinstance(parent, ast.Call) and (_call_name(parent) or "").startswith("assert"):
                return True
            parent = self.parents.get(id(parent))
        if isinstance(parent, (ast.Assign, ast.AnnAssign)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            return all(isinstance(target, ast.Name) and target.id.lower().startswith("expected")
                       for target in targets)
        return isinstance(parent, ast.Assert)

    def _listed_cte_body(self, node: ast.expr) -> bool:
        """Whether a string is the body of a CTE its function lists with its name and writes
        into a `WITH` itself: `ctes.append(("selected", "SELECT ..."))` (or `insert(i,
        ...)`), the list then read as `f"{name} AS ({cte})" for name, cte in ctes`
        (swh-scheduler's `grab_next_visits`, whose bodies read the CTEs listed before them:
        each alone was a false DBS301, PostgreSQL's 42P01)."""
        pair = self.parents.get(id(node))
        if not (isinstance(pair, ast.Tuple) and len(pair.elts) == 2 and pair.elts[1] is node
                and isinstance(pair.elts[0], ast.Constant)
                and isinstance(pair.elts[0].value, str)):
            return False
        call = self.parents.get(id(pair))
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name) and call.args
                and call.args[-1] is pair and len(call.args) == (
                    1 if call.func.attr == "append" else 2 if call.func.attr == "insert" else 0)):
            return False
        scope = self._scope_of(call)
        key = (id(scope), call.func.value.id)
        if key not in self.cte_lists:
            self.cte_lists[key] = any(
                self._writes_ctes(loop, call.func.value.id) for loop in ast.walk(scope)
                if isinstance(loop, ast.comprehension))
        return self.cte_lists[key]

    def _joined_line(self, node: ast.expr) -> bool:
        """Whether a string is a line of a statement its function builds as a list of lines
        joined with white space: `parts.extend(["restriction_list AS (", ..., "SELECT parent
        FROM restriction_list ..."])` (also `.append`, `.insert`, `parts = [...]`, `parts +=
        [...]`), then `"\\n".join(parts)` (Datasette's `actions_sql.py`, whose lines reading
        a CTE an earlier line names were false DBS301). What is sent is the joined text; a
        list joined with `";"` holds whole statements, and stays read."""
        child, parent = node, self.parents.get(id(node))
        listed = False
        while isinstance(parent, (ast.List, ast.Tuple)) or (
                isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add) and listed):
            listed = listed or isinstance(parent, (ast.List, ast.Tuple))
            child, parent = parent, self.parents.get(id(parent))
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and \
                parent.func.attr in ("append", "extend", "insert") and \
                isinstance(parent.func.value, ast.Name) and child in parent.args:
            name = parent.func.value.id
        elif listed and isinstance(parent, ast.Assign) and parent.value is child and \
                len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
            name = parent.targets[0].id
        elif listed and isinstance(parent, ast.AugAssign) and parent.value is child and \
                isinstance(parent.target, ast.Name):
            name = parent.target.id
        else:
            return False
        scope = self._scope_of(parent)
        if id(scope) not in self.line_lists:
            nodes = _own_nodes(scope) if isinstance(
                scope, (ast.FunctionDef, ast.AsyncFunctionDef)) else ast.walk(scope)
            self.line_lists[id(scope)] = frozenset(
                call.args[0].id for call in nodes
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "join" and isinstance(call.func.value, ast.Constant)
                and isinstance(call.func.value.value, str) and not call.func.value.value.strip()
                and len(call.args) == 1 and isinstance(call.args[0], ast.Name))
        return name in self.line_lists[id(scope)]

    def _writes_ctes(self, loop: ast.comprehension, name: str) -> bool:
        """Whether a comprehension over the list `name` of (name, body) pairs writes each as
        a CTE: its element an f-string with the body in `AS (...)`."""
        target = loop.target
        if not (isinstance(loop.iter, ast.Name) and loop.iter.id == name
                and isinstance(target, ast.Tuple) and len(target.elts) == 2
                and isinstance(target.elts[1], ast.Name)):
            return False
        around = self.parents.get(id(loop))
        element = getattr(around, "elt", None)
        if not isinstance(element, ast.JoinedStr):
            return False
        body = target.elts[1].id
        for before, value in zip(element.values, element.values[1:]):
            if isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name) \
                    and value.value.id == body and isinstance(before, ast.Constant) \
                    and _AS_OPEN.search(str(before.value)):
                return True
        return False

    def _only_asserted(self, node: ast.expr) -> bool:
        """True for a test's inputs held in a name: a string bound to it, alone or in a
        list, tuple or set literal, where every read of the name is in an assertion
        (`_in_assertion`) or what a string method looks for (`_matched_against`: `prefixes =
        ('INSERT INTO "t"', ...)`, then `q.startswith(prefixes)`), directly or through a
        `for` over it (`singles = ["SELECT * FROM footable", ...]`, then `for single in
        singles: assert is_single_statement(single)`). A name also read anywhere else (a
        sink, a helper) is not: the string may be sent there."""
        holder: ast.AST = node
        parent = self.parents.get(id(holder))
        if isinstance(parent, (ast.List, ast.Tuple, ast.Set)):
            holder, parent = parent, self.parents.get(id(parent))
        if not isinstance(parent, ast.Assign) or parent.value is not holder:
            return self._parametrized_only_asserted(node)
        name = self._assigned_name(holder)
        return name is not None and self._reads_only_asserted(name, self._scope_of(parent),
                                                               depth=2)

    def _parametrized_only_asserted(self, node: ast.expr) -> bool:
        """True for a string among `@pytest.mark.parametrize(names, values)`'s values (in a
        row tuple, or a `pytest.param(...)`) when the test it decorates reads the name it
        binds only in assertions: a SQL splitter's or formatter's input, or the expected
        output beside the input a test hands to the code (`("... $1", ("42",), "... 42")`,
        then `assert substitute(template, args) == expected`). A test that sends it
        (`db.execute(sql)`) keeps the string a statement."""
        bindings = self._parametrized_bindings(node)
        return bool(bindings) and all(
            self._reads_only_asserted(name, test, depth=2)
            for test, names in bindings for name in names)

    def _parametrized_bindings(self, node: ast.expr) -> list[tuple[ast.AST, list[str]]]:
        """Each test a string among `@pytest.mark.parametrize(names, values)`'s values is
        given to (in a row tuple, or a `pytest.param(...)`), with the name it binds there:
        the values list written in the decorator, or held in a module constant every read
        of which is a decorator's values (Phoenix's `PERMITTED = [pytest.param("SELECT
        ...", id=...), ...]`, then `@pytest.mark.parametrize("sql", PERMITTED)`). [] when
        it is not one, or one of its tests cannot be told."""
        chain: list[ast.AST] = [node]  # the string, then what holds it, to the values list
        parent = self.parents.get(id(node))
        for _ in range(3):  # the values list, a row tuple in it, a pytest.param(...) call
            if isinstance(parent, ast.Call) and _call_name(parent) == "parametrize":
                break
            if isinstance(parent, ast.Assign) and len(chain) > 1:
                break
            if not (isinstance(parent, (ast.List, ast.Tuple, ast.Set)) or (
                    isinstance(parent, ast.Call) and _call_name(parent) == "param")):
                return []
            chain.append(parent)
            parent = self.parents.get(id(parent))
        decorators: list[ast.Call] = []
        if isinstance(parent, ast.Assign) and parent.value is chain[-1] and \
                self.parents.get(id(parent)) is self.tree:
            name = self._assigned_name(chain[-1])
            reads = self._reads().get(name or "", [])
            if name is None or len(self._assignments(self.tree).get(name, [])) != 1 or not reads:
                return []
            for read in reads:
                call = self.parents.get(id(read))
                if not (isinstance(call, ast.Call) and _call_name(call) == "parametrize"
                        and len(call.args) >= 2 and call.args[1] is read):
                    return []
                decorators.append(call)
        elif isinstance(parent, ast.Call) and _call_name(parent) == "parametrize" and \
                len(parent.args) >= 2 and parent.args[1] is chain[-1]:
            decorators.append(parent)
        bindings: list[tuple[ast.AST, list[str]]] = []
        for decorator in decorators:
            test = self.parents.get(id(decorator))
            if not isinstance(test, (ast.FunctionDef, ast.AsyncFunctionDef)) or \
                    not any(d is decorator for d in test.decorator_list) or \
                    any(k.arg == "indirect" for k in decorator.keywords):
                return []  # (`indirect=True`: the value goes to a fixture)
            names = _parametrized_names(decorator.args[0])
            bound = names if len(names) == 1 else _row_name(names, chain)
            if not bound:
                return []
            bindings.append((test, bound))
        return bindings

    def _parametrized_for(self, node: ast.expr) -> Engine | None:
        """The engine (sqlglot's parser, most often) a string among a parametrize's values
        goes to: the tests it is given to read the name it binds only in assertions (see
        `_reads_only_asserted`) or as the statement of a consumer that does not send it to
        PostgreSQL (`_consumer_engine`), one at least: Phoenix's `("SELECT latency_m FROM
        spans", "latency_ms")`, then `admit_sql(sql, ...)`, a function of its own that
        parses its text with sqlglot and never sends it. A read going anywhere else (a
        sink, another helper, another name) keeps the string a statement."""
        bindings = self._parametrized_bindings(node)
        found: Engine | None = None
        for test, names in bindings:
            for name in names:
                reads = [r for r in self._reads().get(name, ()) if self._inside(r, test)]
                if not reads:
                    return None
                for read in reads:
                    engine = self._consumer_engine(read)
                    if engine is None:
                        if not self._read_only_asserted(read, test, depth=2):
                            return None
                    elif found not in (None, engine):
                        return None
                    else:
                        found = engine
        return found

    def _consumer_engine(self, read: ast.Name) -> Engine | None:
        """The engine a read of a name goes to as the statement of a call that does not
        send it to PostgreSQL: a function of another module of the project parsing it with
        sqlglot (`_parsed_elsewhere`), a helper of the module sending it to another engine
        (`_sent_by_helper`), a call of another engine taking it (`sqlglot.parse_one(sql)`,
        `_engine_receiving`)."""
        parent = self.parents.get(id(read))
        call = self.parents.get(id(parent)) if isinstance(parent, ast.keyword) else parent
        if not isinstance(call, ast.Call) or call.func is read:
            return None
        if any(given is read for given in self._parsed_elsewhere(call)):
            return SQLGLOT
        engine = next((e for given, e in self._sent_by_helper(call) if given is read), None)
        if engine is not None:
            return engine
        name = _call_name(call) or ""
        if _sql_argument(call) is read and self.engines and (
                name in SINKS or name in ENGINE_SINKS or self._engine_named(name) is not None
                or self._engine_module_of(call.func) is not None):
            return self._engine_receiving(call)
        return None

    def _reads_only_asserted(self, name: str, within: ast.AST, *, depth: int) -> bool:
        """Whether `name` is read in `within` and every read is in an assertion, the input
        of a call whose result is only compared with text (`_input_of_asserted_result`),
        data stored on a mock (`_stored_on_mock`), or what a `for` iterates whose target (a
        plain name) is read only so in its body."""
        reads = [read for read in self._reads().get(name, ()) if self._inside(read, within)]
        return bool(reads) and all(self._read_only_asserted(read, within, depth=depth)
                                   for read in reads)

    def _read_only_asserted(self, read: ast.Name, within: ast.AST, *, depth: int) -> bool:
        """Whether one read of a name is one `_reads_only_asserted` allows."""
        if (self._in_assertion(read) or self._matched_against(read)) and \
                not self._sent(read):
            return True
        if self._input_of_asserted_result(read, within):
            return True
        if _logged(read, self.parents):
            return True
        if self.mocks and self._stored_on_mock(read):
            return True
        loop = self.parents.get(id(read))
        return depth > 0 and isinstance(loop, ast.For) and loop.iter is read \
            and isinstance(loop.target, ast.Name) \
            and self._reads_only_asserted(loop.target.id, loop, depth=depth - 1)

    def _input_of_asserted_result(self, read: ast.Name, within: ast.AST) -> bool:
        """Whether a read of a name is an argument of a call no SQL sink makes whose
        result a name holds that the test only compares with text (`result =
        AssertNoRepeatedQueries._normalize_sql(sql)`, then `self.assertEqual(result, "SELECT
        ... = '?'")`): the input of a function returning text, as it would be written inline
        in the assertion (`assertEqual(normalize("SELECT ..."), "...")`). Rows a statement
        fetched are never equal to a string; a result read otherwise (`assert
        result["records"]`) may be what the statement returned."""
        parent = self.parents.get(id(read))
        call = self.parents.get(id(parent)) if isinstance(parent, ast.keyword) else parent
        if not isinstance(call, ast.Call) or call.func is read or _call_name(call) in SINKS:
            return False
        into = self._assigned_name(call)
        if into is None or into == read.id:
            return False
        results = [r for r in self._reads().get(into, ()) if self._inside(r, within)]
        return bool(results) and all(self._compared_with_text(result) for result in results)

    def _compared_with_text(self, read: ast.Name) -> bool:
        """Whether a read of a name is what an assertion compares with a string literal, or
        a name bound once to one: `self.assertEqual(read, "...")` and its kin, `assert read
        == "..."`, `self.assertEqual(result, sql)` (the input, unchanged)."""
        parent = self.parents.get(id(read))
        if isinstance(parent, ast.Call) and (_call_name(parent) or "").startswith("assert"):
            others = [arg for arg in parent.args if arg is not read]
        elif isinstance(parent, ast.Compare) and \
                isinstance(self.parents.get(id(parent)), ast.Assert):
            others = [side for side in (parent.left, *parent.comparators) if side is not read]
        else:
            return False
        texts = [self._assigned_once(o) if isinstance(o, ast.Name) else o for o in others]
        return any(isinstance(text, ast.JoinedStr) or (
            isinstance(text, ast.Constant) and isinstance(text.value, str)) for text in texts)

    def _embedded_in_a_query(self, node: ast.expr) -> bool:
        """Whether a string is SQL Django puts inside a query it builds: `RawSQL(sql,
        params)`'s statement, or a value of `.extra(select={"n": sql})`, also held in a name
        bound once whose every read is one (Baserow's `subject_sample_sql = "SELECT ..."`, then
        `RawSQL(subject_sample_sql, [size])`). Django sends it in parentheses in the model's
        query, so it may name that query's tables (`WHERE U0.prefix >> "ipam_prefix"."prefix"`
        beside `FROM "ipam_prefix"`)."""
        name = self._assigned_name(node)
        if name is not None:
            return self._held_for(node, name, self._embedded_in_a_query)
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.keyword) and parent.arg == "sql":
            call = self.parents.get(id(parent))
            return isinstance(call, ast.Call) and _call_name(call) == "RawSQL"
        if isinstance(parent, ast.Call):
            return _call_name(parent) == "RawSQL" and bool(parent.args) and \
                parent.args[0] is node
        if isinstance(parent, ast.Dict) and any(value is node for value in parent.values):
            return self._extra_select(parent)
        if isinstance(parent, ast.Return):
            return self._returned_for(parent, self._embedded_in_a_query)
        return False

    def _returned_for(self, returned: ast.Return, used: Callable[[ast.expr], bool]) -> bool:
        """Whether what `returned` returns is `used` wherever it goes: the return of a
        function of the module (defined once, at its top level, never rebound) called in
        it, whose every read is a call that is `used` (NAV's `get_netbios_query()`,
        returning `"SELECT ... WHERE arp.ip=netbios.ip ..." % separator` for
        `.extra(select={"netbiosname": get_netbios_query()})`)."""
        function = self._scope_of(returned)
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or \
                self.parents.get(id(function)) is not self.tree:
            return False
        name = function.name
        defined = [statement for statement in self.tree.body if isinstance(
            statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and statement.name == name]
        if len(defined) != 1 or name in self._assignments(self.tree):
            return False
        reads = self._reads().get(name, ())
        return bool(reads) and all(
            isinstance(call := self.parents.get(id(read)), ast.Call) and call.func is read
            and used(call) for read in reads)

    def _extra_select(self, node: ast.expr) -> bool:
        """Whether a dict is `.extra(select=...)`'s, also held in a name bound once whose
        every read is (NAV's `cam_query = {"last_cam": "SELECT ..."}`, then
        `.extra(select=cam_query)`), or stored as the `select` of such a dict of
        `.extra`'s arguments (`extra_args["select"] = {...}`, then `.extra(**extra_args)`)."""
        name = self._assigned_name(node)
        if name is not None:
            return self._held_for(node, name, self._extra_select)
        keyword = self.parents.get(id(node))
        if isinstance(keyword, ast.Assign):
            return self._stored_as_extra_select(keyword)
        call = self.parents.get(id(keyword))
        return isinstance(keyword, ast.keyword) and keyword.arg == "select" and \
            isinstance(call, ast.Call) and _call_name(call) == "extra"

    def _stored_as_extra_select(self, assign: ast.Assign) -> bool:
        """Whether `assign` is `args["select"] = value` into a dict bound once in its
        scope whose every read stores an item or is spread into `.extra(**args)`."""
        target = assign.targets[0] if len(assign.targets) == 1 else None
        if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                and isinstance(target.slice, ast.Constant) and target.slice.value == "select"):
            return False
        scope = self._scope_of(assign)
        reads = [read for read in self._reads().get(target.value.id, ())
                 if self._inside(read, scope)]
        spread = 0
        for read in reads:
            around = self.parents.get(id(read))
            if not isinstance(self._assigned_once(read), ast.Dict):
                return False
            if isinstance(around, ast.keyword) and around.arg is None:
                call = self.parents.get(id(around))
                if not (isinstance(call, ast.Call) and _call_name(call) == "extra"):
                    return False
                spread += 1
            elif not (isinstance(around, ast.Subscript) and around.value is read
                      and isinstance(around.ctx, ast.Store)):
                return False
        return spread > 0

    def _held_for(self, node: ast.expr, name: str,
                  used: Callable[[ast.expr], bool]) -> bool:
        """Whether `name = node` is read, and each read is `used`: a name bound once in its
        scope, or a class attribute bound once in its class (NAV's `chassis_serialnum_sql =
        "SELECT ..."`, then `RawSQL(self.chassis_serialnum_sql, ...)`) whose every `.name`
        in the module is: a subclass's `cursor.execute(self.name)` or an instance's
        `qs.name` sends it alone."""
        assign = self.parents[id(node)]
        holder = self.parents.get(id(assign))
        if isinstance(holder, ast.ClassDef):
            if self.attributes is None:  # `.name` -> where the module has it, built once
                self.attributes = {}
                for other in self.nodes or ast.walk(self.tree):
                    if isinstance(other, ast.Attribute):
                        self.attributes.setdefault(other.attr, []).append(other)
            reads = self.attributes.get(name, [])
            return bool(reads) and len(_bound_in_class(holder, name, annotated=True)) == 1 and \
                all(isinstance(read.ctx, ast.Load) and used(read) for read in reads)
        scope = self._scope_of(assign)
        names = [read for read in self._reads().get(name, ()) if self._inside(read, scope)]
        return bool(names) and all(self._assigned_once(read) is node and used(read)
                                   for read in names)

    def _parenthesised(self, template: Template, node: ast.expr) -> Template:
        """`(template)`, read as a subquery of a query dbsafe does not see (the resolver's
        embedding scope): `(` sits on the statement's first character, `)` on the closing
        quote, so findings keep their places."""
        start = template.spans[0][1:] if template.spans else \
            self._position(node.lineno, node.col_offset)
        end = self._position(node.end_lineno or node.lineno, max((node.end_col_offset or 1) - 1, 0))
        return _concat([Template("(", ((0, *start),)), template, Template(")", ((0, *end),))])

    def _sent(self, read: ast.Name) -> bool:
        """Whether a read of a name is the statement of a sink call (`db.execute(sql)`, also
        inside an assertion: `assert db.execute(sql).fetchall() == []`)."""
        parent = self.parents.get(id(read))
        call = self.parents.get(id(parent)) if isinstance(parent, ast.keyword) else parent
        return isinstance(call, ast.Call) and _call_name(call) in SINKS and \
            _sql_argument(call) is read

    def _reads(self) -> dict[str, list[ast.Name]]:
        """Name -> where the module reads it; built on first use (from the nodes `run`
        walked, only for a module with a statement held in a name outside any sink)."""
        if self.loads is None:
            self.loads = {}
            for node in self.nodes or ast.walk(self.tree):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    self.loads.setdefault(node.id, []).append(node)
        return self.loads

    def _checked(self, fragments: list[SqlFragment], *nodes: ast.AST) -> list[SqlFragment]:
        """`fragments` with the tables the code checks exist before reaching `nodes` (the
        call sending them, the literal) and the PostgreSQL majors it never reaches them on."""
        if not fragments:
            return fragments
        guard = next((test for node in nodes
                      if (test := self._other_database_branch(node)) is not None), None)
        if guard is not None:
            # `elif is_oracle(url): conn.execute(text("SELECT ... FROM user_sequences"))`
            return self._skipped_at(
                nodes[-1], f"sent where the database is not PostgreSQL (`{_shortened(guard)}`)")
        declared = self._engine_of_class(nodes[0])
        if declared is not None:
            # Superset's `class ClickHouseEngineSpec(...): engine = "clickhouse"`, Redash's
            # `class Oracle(...)` with `@classmethod def type(cls): return "oracle"`
            cls, binding = declared
            from dbsafe.extract.dialect_guard import declaration

            said = _shortened(declaration(binding))
            return self._skipped_at(
                nodes[-1], f"sent to the database of its class (`{cls.name}`: `{said}`)")
        earlier = self._earlier_revision_at(nodes[0])
        if earlier is not None:
            # mailman's migration tests: `alembic.command.downgrade(cfg, '47294d3a604')`, then
            # `SELECT id, digestable FROM mailinglist`, a column only that revision has;
            # swh-scrubber's: `INSERT INTO corrupt_object(id, datastore, ...)`, then
            # `swh_db_upgrade(conninfo, module, 7)`, which drops `datastore`
            call, when = earlier
            return self._skipped_at(
                nodes[-1], f"runs {when} `{_shortened(call)}` in its function: on an "
                           f"earlier revision's schema, not today's")
        tables, absent = self._tables_around(nodes[0])
        majors = frozenset().union(*(self._not_sent_to(node) for node in nodes))
        installed = self._extensions_installed_at(nodes[0])
        if tables or absent or majors or installed:
            return [replace(f, checked_tables=tables, absent_tables=absent, not_sent_to=majors,
                            installed_extensions=installed)
                    for f in fragments]
        return fragments

    def _extensions_installed_at(self, node: ast.AST) -> frozenset[str]:
        """The extensions the code finds installed before reaching `node`: the branches
        around it test what it read from `pg_extension` (`dbsafe.extract.extension_guard`)."""
        if not self.reads_extensions:
            return frozenset()
        from dbsafe.extract.extension_guard import installed_where

        found = (installed_where(test, holds=holds, bound=self._assigned_once,
                                 sent_before=self._sent_before)
                 for test, holds in self._branches_around(node))
        return frozenset(name for name in found if name is not None)

    def _sent_before(self, node: ast.AST, cursor: str) -> str | None:
        """The literal statement sent through `cursor` (`cur.execute("...")`, awaited or
        not) by the statement just before the one holding `node`, in the same block."""
        holder: ast.AST | None = node
        while holder is not None and not isinstance(holder, ast.stmt):
            holder = self.parents.get(id(holder))
        block_of = self.parents.get(id(holder)) if holder is not None else None
        for field in ("body", "orelse", "finalbody"):
            block = getattr(block_of, field, None)
            if not isinstance(block, list) or not any(s is holder for s in block):
                continue
            at = next(i for i, s in enumerate(block) if s is holder)
            before = block[at - 1] if at else None
            call = before.value if isinstance(before, ast.Expr) else None
            if isinstance(call, ast.Await):
                call = call.value
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
                    call.func.attr == "execute" and isinstance(call.func.value, ast.Name) and \
                    call.func.value.id == cursor and call.args and \
                    isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                return call.args[0].value
            return None
        return None

    def _skipped_at(self, where: ast.AST, reason: str) -> list[SqlFragment]:
        """Say where a statement is not validated, and why; no fragment is left."""
        line, column = getattr(where, "lineno", 1), getattr(where, "col_offset", 0)
        self.skipped.append(Skipped(Location(self.path, *self._position(line, column)), reason))
        return []

    def _earlier_revision_at(self, node: ast.AST) -> tuple[ast.Call, str] | None:
        """The call that puts the database of the function around `node` on an earlier
        revision's schema when `node` runs, and whether `node` runs "after" or "before" it:
        what a migration test sends then is not about today's schema.

        After an `alembic.command.downgrade(...)`, unless an `alembic.command.upgrade(cfg,
        "head")` between them brings today's back (a migration round trip's test); before
        an upgrade to a named revision (`alembic.command.upgrade(cfg, "ae1027a6acf")`,
        Software Heritage's `swh_db_upgrade(conninfo, module, 7)`) when that is the first
        migration call after `node` and none before it brought the head: the test fills
        the old schema, upgrades, and checks (a downgrade in between says nothing about
        `node`, whose database was still today's)."""
        if not self.says_migration_call:  # (a walk of the function per statement otherwise)
            return None
        scope = self._scope_of(node)
        if scope is self.tree:
            return None
        position = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
        downgrade = None
        headed = False
        for call in sorted((call for call in ast.walk(scope) if isinstance(call, ast.Call)),
                           key=lambda call: (call.lineno, call.col_offset)):
            moves = self._moves(call)
            if moves is None:
                continue
            if (call.lineno, call.col_offset) > position:
                if downgrade is None and not headed and moves[0] == "upgrade" \
                        and target_of(call, moves) == "named":
                    return call, "before"
                break
            if moves[0] == "downgrade":
                downgrade = call
            elif target_of(call, moves) == "head":
                downgrade, headed = None, True
        return None if downgrade is None else (downgrade, "after")

    def _moves(self, call: ast.Call) -> Moves | None:
        """How `call` moves the database between revisions: alembic's commands, swh's
        runner, or a function of the project making one of them (`py_migrations`: Renku's
        `run_migrations_for_app("common", "1ef98b967767")`, imported, defined in the module,
        or imported relatively); None for any other call."""
        dotted = self._dotted(call.func)
        if dotted in BUILT_IN:
            return BUILT_IN[dotted]
        if not self.migrations:
            return None
        dotted = dotted or self._relative_dotted(call.func)
        if dotted is None and isinstance(call.func, ast.Name) and \
                call.func.id not in self.imported and not self._stores_of(call.func):
            from dbsafe.extract.py_parsers import module_name

            dotted = f"{module_name(self.path)}.{call.func.id}"
        return self.migrations.get(dotted or "")

    def _other_database_branch(self, node: ast.AST) -> ast.expr | None:
        """The test of an `if` (or conditional expression, in its function) that puts `node`
        in a branch run only where the database is not PostgreSQL (`elif is_oracle(url):`,
        the `else` of `if dialect.name == "postgresql":`), or None."""
        from dbsafe.extract.dialect_guard import never_on_postgres

        for test, holds in self._branches_around(node):
            if never_on_postgres(test, holds=holds, bound=self._assigned_once):
                return test
        return None

    def _engine_of_class(self, node: ast.AST) -> tuple[ast.ClassDef, ast.stmt] | None:
        """The innermost class holding `node` and its `engine = "clickhouse"`, when that
        names another database than PostgreSQL (see `dialect_guard.declared_engine`)."""
        from dbsafe.extract.dialect_guard import declared_engine

        parent = self.parents.get(id(node))
        while parent is not None and not isinstance(parent, ast.ClassDef):
            parent = self.parents.get(id(parent))
        if parent is None:
            return None
        if id(parent) not in self.class_engines:
            self.class_engines[id(parent)] = declared_engine(parent)
        binding = self.class_engines[id(parent)]
        return None if binding is None else (parent, binding)

    def _not_sent_to(self, node: ast.AST) -> frozenset[int]:
        """The PostgreSQL majors on which the code never reaches `node`: it lies in a branch
        (of an `if`, or a conditional expression, in its function) of a test on the server's
        version that cannot take it there (`if server_version >= 150000:`, its `else`)."""
        from dbsafe.extract.server_version import not_run_on

        found: frozenset[int] = frozenset()
        for test, holds in self._branches_around(node):
            found |= not_run_on(test, holds=holds)
        return found

    def _branches_around(self, node: ast.AST) -> Iterator[tuple[ast.expr, bool]]:
        """The test of each `if` or conditional expression around `node` in its function
        (a class ends the search), innermost first, and whether `node` runs when it holds
        (its body) or when it does not (its `else`); an `if` before it that leaves the
        function (`if connection.vendor != "mysql": return []`) runs it only where its test
        fails. A function defined in another runs only where its definition ran: the
        branches around that are its own too (Nominatim's `if is_sqlite:` around `def
        _on_sqlite_connect(dbapi_con, _):`, a listener of its engine's connections)."""
        if self.leaves_early is None:  # (most modules have no such `if`: not looked for)
            self.leaves_early = any(
                type(n) is ast.If and not n.orelse and isinstance(n.body[-1], (
                    ast.Return, ast.Raise)) for n in self.nodes or ast.walk(self.tree))
        child = node
        for parent in self._within_scope(node):
            if isinstance(parent, ast.ClassDef):
                return
            if isinstance(parent, (ast.If, ast.IfExp)):
                body = parent.body if isinstance(parent.body, list) else [parent.body]
                orelse = parent.orelse if isinstance(parent.orelse, list) else [parent.orelse]
                if any(child is stmt for stmt in body):
                    yield parent.test, True
                elif any(child is stmt for stmt in orelse):
                    yield parent.test, False
            if self.leaves_early and isinstance(child, ast.stmt):  # (in blocks: statements)
                yield from self._exits_before(parent, child)
            child = parent
        scope = self.parents.get(id(child))
        if self.leaves_early and scope is not None and isinstance(child, ast.stmt):
            yield from self._exits_before(scope, child)
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and \
                not isinstance(self.parents.get(id(scope)), (ast.Module, ast.ClassDef)):
            yield from self._branches_around(scope)

    def _exits_before(self, parent: ast.AST, child: ast.AST) -> Iterator[tuple[ast.expr, bool]]:
        """The test of each `if` before `child` in its block of `parent` whose body always
        leaves the function (ends in `return` or `raise`, no `else`): `child` runs only
        where that test fails. Only `child`'s own block counts: an `if` in the other branch
        of `parent` says nothing of it. (Each block read once: asked of every statement.)"""
        for field in ("body", "orelse", "finalbody"):
            key = (id(parent), field)
            if key not in self.exit_ifs:
                block = getattr(parent, field, None)
                block = block if isinstance(block, list) else []
                self.exit_ifs[key] = (
                    {id(stmt): at for at, stmt in enumerate(block)},
                    tuple((at, stmt.test) for at, stmt in enumerate(block)
                          if isinstance(stmt, ast.If) and not stmt.orelse
                          and isinstance(stmt.body[-1], (ast.Return, ast.Raise))))
            positions, exits = self.exit_ifs[key]
            where = positions.get(id(child))
            if where is None:
                continue
            for at, test in exits:
                if at >= where:
                    break
                yield test, False
            return

    def _within_scope(self, node: ast.AST) -> Iterator[ast.AST]:
        """The ancestors of `node` inside the function, lambda or module holding it,
        innermost first."""
        parent = self.parents.get(id(node))
        while parent is not None and not isinstance(
                parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module)):
            yield parent
            parent = self.parents.get(id(parent))

    def _tables_checked_before(self, node: ast.AST, *, depth: int = 1) -> frozenset[str]:
        """The tables the code checks exist before reaching `node` (see `_tables_around`)."""
        return self._tables_around(node, depth=depth)[0]

    def _tables_around(self, node: ast.AST, *,
                       depth: int = 1) -> tuple[frozenset[str], frozenset[str]]:
        """The tables the branches around `node` (`_branches_around`) say exist, and those
        they say do not, where `node` runs: `if inspector.has_table("migrate_version"):`,
        `if "x" in inspector.get_table_names():` (and `and` of such tests), also through
        names bound once to the test or the list (`names = connection.introspection.
        table_names()`, `has_x = "x" in names`, `if has_x:`), or an `if 'x' not in tables:
        return` before it; the `else` of such a test, or `if not has_x:`, runs only where
        `x` does not exist (`_table_facts`); a test of what the code read with
        `to_regclass('x')` just before says the same (`dbsafe.extract.regclass_guard`: MAAS's
        `if not cursor.fetchone()[0]: ... else: UPDATE temporal.schema_version ...`). In a
        module's function that the module only calls, the tables every one of those calls
        is checked for exist too (pulpcore's `_get_user_object_permissions()`, called only
        under `if guardian_uop_available:`)."""
        exist: set[str] = set()
        missing: set[str] = set()
        for test, holds in self._branches_around(node):
            there, gone = _table_facts(test, holds, self._assigned_once)
            exist |= there
            missing |= gone
            if self.reads_regclass:
                looked_up, gone_by_lookup = tables_where(
                    test, holds=holds, bound=self._assigned_once, sent_before=self._sent_before)
                exist |= looked_up
                missing |= gone_by_lookup
        parent = self.parents.get(id(node))
        while parent is not None and not isinstance(
            parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module, ast.ClassDef)
        ):
            parent = self.parents.get(id(parent))
        if depth > 0 and self.checks_tables and \
                isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                self.parents.get(id(parent)) is self.tree:
            exist.update(self._tables_checked_at_calls(parent, depth=depth - 1))
        return frozenset(exist), frozenset(missing)

    def _tables_checked_at_calls(self, function: ast.FunctionDef | ast.AsyncFunctionDef, *,
                                 depth: int) -> frozenset[str]:
        """The tables checked before every call of a module's `function` in the module, when
        the module only calls it (a name handed on, as a callback, may run anywhere)."""
        reads = self._reads().get(function.name, [])
        calls = [self.parents.get(id(read)) for read in reads]
        if not calls or not all(isinstance(call, ast.Call) and call.func is read
                                for call, read in zip(calls, reads)):
            return frozenset()
        checked = [self._tables_checked_before(call, depth=depth) for call in calls if call]
        return frozenset.intersection(*checked)

    def _sent_to_mock(self, call: ast.Call) -> bool:
        """Whether a sink call sends to a test's mock, not a database: the object it is
        called on, or one of its arguments, is a name the function binds once to
        `Mock()`/`MagicMock()`/`AsyncMock()`/`create_autospec(...)`, or the object is one
        the function made from such a name (`conn = AsyncMock()`, `repo =
        Repo(connection=conn)`, then `repo.execute_fetchval("SELECT ... FROM t")`: a unit
        test of the code that hands statements on)."""
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        while isinstance(receiver, (ast.Attribute, ast.Subscript)):
            receiver = receiver.value
        names = [arg for arg in (*call.args, *(k.value for k in call.keywords))
                 if isinstance(arg, ast.Name)]
        if isinstance(receiver, ast.Name):
            if self._mock(receiver):
                return True
            made = self._assigned_once(receiver)
            if isinstance(made, ast.Call) and any(
                    isinstance(arg, ast.Name) and self._mock(arg)
                    for arg in (*made.args, *(k.value for k in made.keywords))):
                return True
        return any(self._mock(name) for name in names)

    def _given_to_mock(self, node: ast.expr) -> bool:
        """Whether a string is an argument of a call that sends to a test's mock
        (`_sent_to_mock`): `executor.execute_many(conn, "INSERT INTO t ...", rows)` with
        `conn = AsyncMock()`, a call dbsafe does not know as a sink."""
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.keyword):
            parent = self.parents.get(id(parent))
        return isinstance(parent, ast.Call) and parent.func is not node and \
            self._sent_to_mock(parent)

    def _stored_on_mock(self, node: ast.expr) -> bool:
        """Whether a string is what a test stores on a mock, alone or in the lists, tuples,
        dicts and their sums or repeats it builds (`ctx = MagicMock()`, then
        `ctx.captured_queries = [{"sql": "SELECT * FROM table_a"}] * 6`, nautobot's test of
        its repeated-queries check, or built by a comprehension; `cursor.fetchone.
        return_value = (...)`): the mock's data, read back by the code under test, never
        sent. A name read so (`[{"sql": repeated_query}] * 15`) is judged by
        `_reads_only_asserted`."""
        child, parent = node, self.parents.get(id(node))
        while isinstance(parent, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BinOp,
                                  ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            if isinstance(parent, ast.Dict) and not any(v is child for v in parent.values):
                return False
            if isinstance(parent, (ast.ListComp, ast.SetComp, ast.GeneratorExp)) and \
                    parent.elt is not child:
                return False
            if isinstance(parent, ast.DictComp) and parent.value is not child:
                return False
            child, parent = parent, self.parents.get(id(parent))
        if not isinstance(parent, ast.Assign) or parent.value is not child:
            return False
        for target in parent.targets:
            if not isinstance(target, ast.Attribute):
                return False
            base: ast.expr = target
            while isinstance(base, ast.Attribute):
                base = base.value
            if not (isinstance(base, ast.Name) and self._mock(base)):
                return False
        return True

    def _mock(self, name: ast.Name) -> bool:
        """Whether `name` is bound once, in its function, to a mock object of
        `unittest.mock` (or pytest-mock's `mocker.MagicMock()`)."""
        value = self._assigned_once(name)
        return isinstance(value, ast.Call) and _call_name(value) in _MOCKS

    def _expected_to_fail(self, node: ast.AST) -> bool:
        """True inside `with pytest.raises(...)` / `self.assertRaises(...)`: a test that
        sends a wrong statement on purpose (`SELECT no_such_column ...` expecting
        UndefinedColumn) is not the application naming a column it lacks."""
        parent = self.parents.get(id(node))
        while parent is not None and not isinstance(
            parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module, ast.ClassDef)
        ):
            if isinstance(parent, (ast.With, ast.AsyncWith)) and any(
                isinstance(item.context_expr, ast.Call)
                and _call_name(item.context_expr) in _EXPECTED_FAILURE
                for item in parent.items
            ):
                return True
            parent = self.parents.get(id(parent))
        return False

    # -- templates ---------------------------------------------------------------------

    def _template(self, node: ast.expr, *, sent: bool = False) -> Template | None:
        """Decode a string-building expression into text + holes, or None if it is not one.

        Where it is `sent` (a sink's argument), a name bound to a statement literal is read
        as that text (`sql % (col,)`, `sql + clause`); elsewhere the expression may itself
        be a piece of a statement, and names stay holes."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return _format_template(self._literal(node))
        if isinstance(node, ast.JoinedStr):
            formatted = [v for v in node.values if isinstance(v, ast.FormattedValue)]
            template = self._mark_clauses(self._literal(node), [v.value for v in formatted])
            return self._with_constants(template, formatted)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            left = (sent and self._bound_statement(node.left)) or _dedented(node.left)
            if isinstance(left, ast.Constant) and isinstance(left.value, str):
                template = self._literal(left)
                template = _format_fields(template, _PERCENT_FIELD, percent=True)
                return self._fill_looped(template, self._pieces(node, template, sent=sent))
            return None
        joined = _join_operands(node) if sent and isinstance(node, ast.Call) else None
        if joined is not None or (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)):
            # `" ".join(["SELECT ... FROM users u", join_clause])` at a sink sends what `+`
            # of its pieces and separators would: the head is never the statement alone
            parts: list[Template] = []
            for operand in joined if joined is not None else _flatten_add(node):
                literal = (sent and self._bound_statement(operand)) or operand
                held = self._template(literal) if literal is not operand else \
                    self._extended_statement(operand) if sent else None
                if isinstance(literal, (ast.Constant, ast.JoinedStr)) and \
                        _is_string_expr(literal):
                    parts.append(self._literal(literal))
                elif held is not None:  # `sql = "SELECT ..." + " WHERE ..."`, then `sql + x`
                    parts.append(held)
                else:
                    parts.append(self._looped_piece(operand) or
                                 self._mark_clauses(self._hole(operand), [operand]))
            return _concat(parts)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant)
            and isinstance(node.func.value.value, str)
        ):
            template = _format_fields(self._literal(node.func.value), _BRACE_FIELD)
            pieces = _format_arguments(template, node)
            if sent:
                template, pieces = self._fill_literals(template, pieces)
            return self._fill_looped(self._mark_clauses(template, pieces), pieces)
        return None

    def _fill_literals(self, template: Template, pieces: list[ast.expr | None]
                       ) -> tuple[Template, list[ast.expr | None]]:
        """A sent `.format` template with each plain field (`{}`, `{0}`, `{head}`: no
        conversion or format spec) given a string literal filled with it, placed where the
        literal is written: `"{} JOIN teams t ON ...".format("SELECT u.id, t.name FROM users
        u")` sends one statement, the literal its head, never a statement alone. With the
        pieces of the holes left."""
        if template.problem or len(pieces) != len(template.holes):
            return template, pieces
        values: list[str | Template | None] = []
        for hole, piece in zip(template.holes, pieces):
            literal = self._literal(piece) if isinstance(piece, ast.Constant) and \
                _plain_string(piece) and not any(c in hole.label for c in "!:") else None
            values.append(literal if literal is not None and not literal.problem
                          and not literal.holes else None)
        if not any(values):
            return template, pieces
        return _filled(template, values), [piece for piece, value in zip(pieces, values)
                                           if value is None]

    def _each_round(self, value: ast.expr, call: ast.Call) -> list[SqlFragment]:
        """The statements `call` sends, `value` its statement: one for each string a
        `for` loop around both gives a name its pieces read (`for t in ("users",
        "orders"): cur.execute(f"SELECT count(*) FROM {t}")`), each such name read as
        that string (`self.looped`) and placed where the loop's `in` writes it; the
        statements alike once. Only a loop running its body, call and statement alike,
        once for each of its strings (`_loop_of`); any other name stays a hole, and with
        more than `_MAX_NAME_CHOICES` rounds all do."""
        scan: list[ast.AST] = [value]
        if _call_name(call) == "SQL":  # its pieces are in `.format(...)` around it
            around = self.parents.get(id(self.parents.get(id(call))))
            scan.append(around if isinstance(around, ast.Call) else call)
        loops: dict[str, list[ast.Constant]] = {}
        for node in scan:
            for name in ast.walk(node):
                if not isinstance(name, ast.Name) or name.id in loops:
                    continue
                loop = self._loop_of(name, each_round=True)
                strings = None if loop is None else self._loop_strings(loop)
                if loop is None or not strings or not all(
                        self._loop_of(other, each_round=True, loop=loop) is loop
                        for other in (value, call)):
                    continue
                loops[name.id] = strings
        if not loops or _product_size(list(loops.values())) > _MAX_NAME_CHOICES:
            return self._fragments(value, sink=call)
        fragments: dict[tuple[str, object, str | None], SqlFragment] = {}
        for round_strings in itertools.product(*loops.values()):
            self.looped = dict(zip(loops, round_strings))
            try:
                for fragment in self._fragments(value, sink=call):
                    fragments.setdefault(
                        (fragment.sql, fragment.spans, fragment.dynamic), fragment)
            finally:
                self.looped = {}
        return list(fragments.values())

    def _loop_of(self, node: ast.AST, *, each_round: bool,
                 loop: ast.For | None = None) -> ast.For | None:
        """The `for` loop whose target `node` (a name it binds; else `loop`, given) is,
        where `node` is read in its body: with `each_round`, only when nothing between
        them may pass `node` by in a round (an `if`, `while`, `try`, `match`, a
        conditional expression, `and`/`or`, `with suppress(...)`), nothing in the body
        ends a round early or the loop (`continue`, `break`, `return`, `raise`,
        `assert`) and nothing in it binds the target again: then what `node` does is done
        once for each string the loop runs with."""
        target = node.id if isinstance(node, ast.Name) and loop is None else None
        child: ast.AST = node
        parent = self.parents.get(id(node))
        while parent is not None:
            if isinstance(parent, ast.For) and (
                    parent is loop or (isinstance(parent.target, ast.Name)
                                       and parent.target.id == target)):
                if not any(child is statement for statement in parent.body):
                    return None
                return parent if not each_round or self._runs_each_round(parent) else None
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                   ast.ClassDef, ast.Module, ast.ListComp, ast.SetComp,
                                   ast.GeneratorExp, ast.DictComp)):
                return None
            if each_round and (isinstance(parent, (
                    ast.If, ast.While, ast.Try, ast.TryStar, ast.Match, ast.IfExp,
                    ast.BoolOp, ast.ExceptHandler)) or (isinstance(parent, ast.With) and any(
                        isinstance(item.context_expr, ast.Call) and
                        _call_name(item.context_expr) == "suppress"
                        for item in parent.items))):
                return None
            child, parent = parent, self.parents.get(id(parent))
        return None

    def _runs_each_round(self, loop: ast.For) -> bool:
        """Whether nothing in `loop`'s body (outside functions it defines) ends a round or
        the loop early, or binds its target again (`_loop_of`)."""
        target = loop.target.id if isinstance(loop.target, ast.Name) else None
        pending: list[ast.AST] = list(loop.body)
        while pending:
            node = pending.pop()
            if isinstance(node, (ast.Break, ast.Continue, ast.Return, ast.Raise,
                                 ast.Assert, ast.Global, ast.Nonlocal)) or (
                    isinstance(node, ast.Name) and node.id == target and
                    not isinstance(node.ctx, ast.Load)):
                return False
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                     ast.ClassDef)):
                pending.extend(ast.iter_child_nodes(node))
        return True

    def _loop_strings(self, loop: ast.For) -> list[ast.Constant] | None:
        """The strings `loop` runs its body with, each of names (`_NAMES`): those of a
        tuple, list or set written in its `in`, or of a tuple a name is bound to for sure
        (`TABLES = ("a", "b")`; a list or set only when every read of the name is a
        loop's `in`: nothing else may change it); None for anything else."""
        if id(loop) in self.rounds:
            return self.rounds[id(loop)]
        iterable: ast.expr | None = loop.iter
        if isinstance(iterable, ast.Name) and iterable.id not in self._globals():
            values = self._values_of(iterable)
            held = values[0] if len(values) == 1 else None
            if isinstance(held, (ast.List, ast.Set)) and not all(
                    isinstance(self.parents.get(id(read)), ast.For) and
                    getattr(self.parents.get(id(read)), "iter", None) is read
                    for read in self._reads().get(iterable.id, ())):
                held = None
            iterable = held
        strings: list[ast.Constant] | None = None
        if isinstance(iterable, (ast.Tuple, ast.List, ast.Set)) and \
                0 < len(iterable.elts) <= _MAX_NAME_CHOICES:
            strings = [e for e in iterable.elts if isinstance(e, ast.Constant) and
                       isinstance(e.value, str) and _NAMES.fullmatch(e.value)]
            if len(strings) != len(iterable.elts):
                strings = None
        self.rounds[id(loop)] = strings
        return strings

    def _looped_piece(self, node: ast.expr) -> Template | None:
        """The string a loop's round gives `node` (`self.looped`), as the code writes it
        in the loop's `in`; None for anything else."""
        if not isinstance(node, ast.Name) or node.id not in self.looped:
            return None
        literal = self._literal(self.looped[node.id])
        return None if literal.problem or literal.holes else literal

    def _fill_looped(self, template: Template,
                     pieces: Sequence[ast.expr | None]) -> Template:
        """`template` (a `%` or `.format` one) with each plain hole (`%s`, `{}`, `{t}`,
        no conversion or format) whose piece is a loop's name in the round being read
        (`_looped_piece`) filled with its string."""
        if not self.looped or template.problem or len(pieces) != len(template.holes):
            return template
        values = [self._looped_piece(piece) if piece is not None and (
            hole.label == "%s" or (hole.label[:1] == "{" and not any(
                c in hole.label for c in "!:"))) else None
            for hole, piece in zip(template.holes, pieces)]
        return _filled(template, values) if any(values) else template

    def _with_constants(self, template: Template,
                        fields: Sequence[ast.FormattedValue]) -> Template:
        """`template` with each f-string field that names a module constant of names
        (`TABLE = "events"`, `COLUMNS = "id, name"`: `f"SELECT {COLUMNS} FROM {TABLE}"`)
        given its text: the statement names that table, and is checked. A name bound
        once, to such a string, in the scope it is read from (`_values_of`), and never
        declared `global` in the module; anything else stays a hole."""
        if template.problem or len(fields) != len(template.holes):
            return template
        values: list[str | Template | None] = [
            self._looped_piece(field.value) if field.conversion in (-1, ord("s")) and
            field.format_spec is None else None for field in fields]
        values = [value or self._constant_names(field) for value, field in zip(values, fields)]
        return _filled(template, values) if any(values) else template

    def _note_ddl_of_each_name(self, node: ast.expr, *, sent: bool) -> None:
        """DDL built at run time whose pieces are names bound to constants makes what each
        constant names: pybossa's leaderboard job binds `materialized_view = "users_rank"`
        (another name under an `if`) and runs `CREATE MATERIALIZED VIEW "{}" AS ...`
        formatted with it, and other modules read `users_rank`. Each piece bound only to
        string constants naming something (a few, in the scope it is read from) is filled
        with each of them in turn; a piece bound to anything else as well is one of its
        constants or something else, so its constants are kept, and a piece bound to none
        is a name known only at run time (`NAME_HOLE`: `CREATE TABLE {name} (...)` makes a
        relation the file's missing tables may be). Only DDL is kept (`self.ddl`): the
        statements it makes are there for the others, never a statement checked itself."""
        template = self._template(node, sent=sent)
        if template is None or template.problem or not template.holes:
            return
        pieces = self._pieces(node, template, sent=sent)
        choices: list[list[str | None]] = []
        for piece in pieces:
            names = self._constants_bound(piece) if piece is not None else []
            choices.append(list(names) or [NAME_HOLE])
        if _product_size(choices) > _MAX_NAME_CHOICES:
            return
        for values in itertools.product(*choices):
            filled = _filled(template, values)
            if filled.holes or not _looks_like_ddl(filled):
                continue
            self.ddl.extend(f.sql for f in self._render(filled, sink=None)
                            if not f.dynamic and not _prose_headed(f.sql))

    def _pieces(self, node: ast.expr, template: Template, *,
                sent: bool) -> list[ast.expr | None]:
        """The expression each hole of `node`'s `template` is filled with, in order (None
        where it cannot be told): `.format` arguments, f-string fields, `%` operands."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "format":
            return _format_arguments(template, node)
        if isinstance(node, ast.JoinedStr):
            return [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            operands = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            if all(hole.label in ("%s", "%r") for hole in template.holes) and \
                    len(operands) == len(template.holes):
                return list(operands)
        return [None] * len(template.holes)

    def _constants_bound(self, piece: ast.expr) -> list[str]:
        """The string constants naming something that `piece` is or its name is bound to."""
        if isinstance(piece, ast.Name):
            if piece.id in self._globals():
                return []
            loop = self._loop_of(piece, each_round=False)
            values: Sequence[ast.expr] = self._values_of(piece) if loop is None else \
                self._loop_strings(loop) or ()
        else:
            values = [piece]
        names = [v.value for v in values if isinstance(v, ast.Constant) and
                 isinstance(v.value, str) and _NAMES.fullmatch(v.value)]
        return names + [name for v in values if (name := self._name_in_part(v)) is not None]

    def _name_in_part(self, value: ast.expr) -> str | None:
        """A name built of text of its own and pieces known only at run time, each piece a
        `NAME_HOLE` (pybossa's `materialized_view = 'users_rank_%s' % info`: the views its
        leaderboard job makes, which its tests read as `users_rank_foo`); None for anything
        else, and for a name with no text of its own."""
        if isinstance(value, ast.Constant) or not isinstance(
                value, (ast.JoinedStr, ast.BinOp, ast.Call)):
            return None
        template = self._template(value)
        if template is None or template.problem or not template.holes:
            return None
        name = _filled(template, [NAME_HOLE] * len(template.holes)).text
        if not _NAME_IN_PART.fullmatch(name) or not name.replace(NAME_HOLE, "").strip("_"):
            return None
        return name

    def _constant_names(self, field: ast.FormattedValue) -> str | None:
        if field.conversion != -1 or field.format_spec is not None or \
                isinstance(field.value, ast.Constant):
            return None
        value = self._bound_string(field.value)
        return value if value is not None and _NAMES.fullmatch(value) else None

    def _bound_string(self, node: ast.expr) -> str | None:
        """The string a literal is, or a name is bound to for sure: a name bound once, to a
        string, in the scope it is read from (`_values_of`) and never declared `global` in
        the module, `Cls.NAME` (`_class_constant`), or `cls.NAME`/`self.NAME` in a method of
        the class binding it (`_own_class_constant`: mautrix's models' `f"SELECT {cls.columns}
        FROM message ..."`); None for anything else."""
        if isinstance(node, ast.Name) and node.id in self.looped:
            value: ast.expr | None = self.looped[node.id]
        elif isinstance(node, ast.Attribute):
            value = self._class_constant(node) or self._own_class_constant(node)
        elif isinstance(node, ast.Name) and node.id not in self._globals():
            if any(isinstance(parent, ast.ClassDef) for parent in self._within_scope(node)):
                return None  # a class body reads its own attributes first
            values = self._values_of(node)
            value = values[0] if len(values) == 1 else None
        else:
            value = node
        if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
            return None
        return value.value

    def _class_constant(self, node: ast.Attribute) -> ast.expr | None:
        """What `Cls.NAME` holds when the module defines the class `Cls` once, at its top
        level and binds no other value to its name, and its body binds `NAME` once, with
        nothing in the module storing to an attribute `NAME` of it. Named by its class,
        it is that class's, whatever a subclass sets (`self.NAME` may be a subclass's)."""
        if not isinstance(node.value, ast.Name) or node.value.id in self._globals():
            return None
        owner, attribute = node.value.id, node.attr
        classes = [n for n in self.tree.body if isinstance(n, ast.ClassDef) and n.name == owner]
        if self._assignments(self.tree).get(owner) or len(classes) != 1:
            return None
        bound = _bound_in_class(classes[0], attribute, annotated=True)
        return bound[0] if len(bound) == 1 and bound[0] is not None and \
            not self._stored_attribute(attribute) else None

    def _own_class_constant(self, node: ast.Attribute) -> ast.expr | None:
        """What `self.NAME` (or `cls.NAME`) holds in a method of the class whose body binds `NAME`
        once, to a plain assignment or one annotated `ClassVar` (another annotated one may be a
        dataclass's or a model's field, which each instance sets), when no other class of the module
        binds `NAME` (a subclass's own) and nothing in the module stores to an attribute `NAME`.
        `self` is the method's first parameter, never rebound, of no static method."""
        receiver = node.value
        method = self._scope_of(node)
        if not isinstance(receiver, ast.Name) or not isinstance(
                method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        cls = self.parents.get(id(method))
        parameters = [*method.args.posonlyargs, *method.args.args]
        if not isinstance(cls, ast.ClassDef) or not parameters or \
                parameters[0].arg != receiver.id or receiver.id in self._assignments(method) \
                or any(isinstance(d, ast.Name) and d.id == "staticmethod"
                       for d in method.decorator_list):
            return None
        bound = _bound_in_class(cls, node.attr, annotated=False) + _class_vars(cls, node.attr)
        if len(bound) != 1 or self._stored_attribute(node.attr) or \
                self._attributes()[1].get(node.attr, 0) != 1:
            return None
        return bound[0]

    def _stored_attribute(self, attribute: str) -> bool:
        """Whether the module stores to (or deletes) an attribute of that name anywhere."""
        return attribute in self._attributes()[0]

    def _attributes(self) -> tuple[frozenset[str], dict[str, int]]:
        """The attribute names the module stores to (or deletes), and how many of its
        classes bind each name in their bodies: found in one pass, once."""
        if self._attribute_facts is None:
            stored: set[str] = set()
            classes: dict[str, int] = {}
            for n in self.nodes or ast.walk(self.tree):
                if isinstance(n, ast.Attribute) and not isinstance(n.ctx, ast.Load):
                    stored.add(n.attr)
                elif isinstance(n, ast.ClassDef):
                    names = {t.id for b in n.body if isinstance(b, ast.Assign)
                             for t in b.targets if isinstance(t, ast.Name)} | {
                        b.target.id for b in n.body
                        if isinstance(b, ast.AnnAssign) and isinstance(b.target, ast.Name)}
                    for name in names:
                        classes[name] = classes.get(name, 0) + 1
            self._attribute_facts = (frozenset(stored), classes)
        return self._attribute_facts

    def _globals(self) -> frozenset[str]:
        """The names a `global` statement of the module declares: a function may rebind
        them, so their module-level value is not theirs for sure."""
        if self._declared_global is None and "global" not in self.source:
            self._declared_global = frozenset()  # most modules: no walk needed
        if self._declared_global is None:
            self._declared_global = frozenset(
                name for node in ast.walk(self.tree) if isinstance(node, ast.Global)
                for name in node.names)
        return self._declared_global

    def _mark_clauses(self, template: Template,
                      pieces: Sequence[ast.expr | None]) -> Template:
        """`template` with each hole whose piece (`pieces`, one per hole, in order) is a
        clause or nothing marked `clause`: `{where}` bound only to `""` or `"WHERE ..."`."""
        if template.problem or len(pieces) != len(template.holes) or \
                not any(pieces):
            return template
        holes = tuple(
            replace(hole, clause=True) if piece is not None and self._clause_or_nothing(
                piece, spaced=hole.offset > 0 and template.text[hole.offset - 1].isspace(),
                depth=0) else hole
            for hole, piece in zip(template.holes, pieces))
        return replace(template, holes=holes)

    def _clause_or_nothing(self, node: ast.expr, *, spaced: bool, depth: int) -> bool:
        """Whether every string `node` may hold is empty or starts with a clause ending a
        statement's FROM items (`WHERE`, `ORDER BY`, `AND`, ...; see `adds_a_clause`),
        after a blank unless the text before it ends with one (`spaced`): `""`, `str()`,
        `"WHERE " + x`, `f"AND b IN ({ids})"`, `"WHERE {}".format(x)`, either branch of
        `a if c else b`, or a name every assignment in its scope binds to one."""
        if depth > 4:
            return False
        if isinstance(node, ast.IfExp):
            return all(self._clause_or_nothing(branch, spaced=spaced, depth=depth + 1)
                       for branch in (node.body, node.orelse))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "str" and not node.args and not node.keywords:
            return True
        if isinstance(node, ast.Name):
            values = self._values_of(node)
            return bool(values) and all(
                self._clause_or_nothing(value, spaced=spaced, depth=depth + 1)
                for value in values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            node = next(_flatten_add(node))
        elif isinstance(node, ast.Call) and _call_name(node) == "format" and \
                isinstance(node.func, ast.Attribute):
            node = node.func.value
        if isinstance(node, ast.JoinedStr):
            if not node.values:
                return True
            node = node.values[0]
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            return False
        return not node.value.strip() or adds_a_clause(
            " " + node.value if spaced else node.value)

    def _values_of(self, name: ast.Name) -> list[ast.expr]:
        """Every value assigned to `name` in the scope it is read from; none when one of
        its stores is no plain assignment (a loop or `with` target, `+=`), for a parameter,
        or for a name the module does not bind."""
        for scope in self._scopes_around(name):
            stores = self._assignments(scope).get(name.id)
            if stores is not None:
                values = [store for store in stores if isinstance(store, ast.expr) and
                          isinstance(self.parents.get(id(store)), (ast.Assign, ast.AnnAssign))]
                return values if len(values) == len(stores) else []
            if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                arguments = scope.args
                every = (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                         arguments.vararg, arguments.kwarg)
                if any(arg is not None and arg.arg == name.id for arg in every):
                    return []
        return []

    def _hole(self, node: ast.expr | ast.stmt) -> Template:
        """A run-time piece of a statement, labelled with its source text."""
        line, column = self._position(node.lineno, node.col_offset)
        # Not ast.get_source_segment: it re-splits the whole module per call.
        label = self.source[self._offset(node.lineno, node.col_offset) : self._offset(
            node.end_lineno or node.lineno, node.end_col_offset or 0)]
        return Template("", (), (Hole(0, line, column, label),))

    def _literal(self, node: ast.Constant | ast.JoinedStr) -> Template:
        start = self._offset(node.lineno, node.col_offset)
        end = self._offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
        template = _LiteralScanner(self.source, self.line_starts).scan(start, end)
        if template.problem:
            return template
        if isinstance(node, ast.Constant):
            if template.text != node.value or template.holes:
                return _unmapped(template)
            return template
        expected = [v.value if isinstance(v, ast.Constant) else None for v in node.values]
        if _signature(template) != expected:
            return _unmapped(template)
        return template

    def _fragments(self, node: ast.expr, *, sink: ast.Call) -> list[SqlFragment]:
        if self.templates and _call_name(sink) == "execute" and self._imports_psycopg():
            literal = node if isinstance(node, ast.JoinedStr) else self._bound_statement(node)
            if isinstance(literal, ast.JoinedStr) and \
                    (literal.lineno, literal.col_offset) in self.templates:
                sent = self._psycopg_template(literal)
                if sent.problem:
                    return [self._dynamic(sent, sent.problem)]
                return self._render(sent, sink=sink, whole=node)
        template = self._template(node, sent=True)
        if template is None:
            return []
        if template.problem:
            return [self._dynamic(template, template.problem)]
        joined = isinstance(node, ast.Call) and _join_operands(node) is not None
        if _call_name(sink) == "SQL" and (isinstance(node, ast.Constant) or joined):
            if self._rendered_only_asserted(sink):
                return []
            # psycopg's sql.SQL: `{}` fields are filled with Identifier/Literal objects later
            # (also in the pieces of `sql.SQL(" ".join(["SELECT id FROM {}", ...]))`).
            template = self._composed(_format_fields(
                self._literal(node) if isinstance(node, ast.Constant) else template,
                _BRACE_FIELD), sink)
        elif (isinstance(node, (ast.Constant, ast.JoinedStr)) or joined) and \
                _pyformat_with_params(sink, template.text):
            # DB-API drivers with the pyformat paramstyle (psycopg) read `%%` as `%` when
            # parameters are passed, so the server sees one `%`.
            template = _unescape(template, "%%", keep=0)
        if _call_name(sink) == "text" and "\\:" in template.text:
            # SQLAlchemy's text() reads `\:` as a colon that starts no parameter
            # (`:ts\:\:timestamptz`): the server sees `::`.
            template = _unescape(template, "\\:", keep=1)
        return self._render(template, sink=sink, whole=node)

    def _imports_psycopg(self) -> bool:
        """Whether the module imports psycopg (3) or its pool: the one driver whose
        `execute` runs a t-string (psycopg 3.3), a module without it may hand one to
        anything."""
        return any(dotted.split(".")[0] in ("psycopg", "psycopg_pool")
                   for bound in self.imported_as.values() for dotted in bound)

    def _psycopg_template(self, node: ast.JoinedStr) -> Template:
        """A t-string (PEP 750) as psycopg's `execute` sends it: a field with no format
        spec (or `s`, `b`, `t`) a parameter `$n` in place, whatever its place (psycopg
        never writes its value in the text, and refuses a `sql` composable or template
        there); `{x:l}` a literal psycopg writes, a value hole as an f-string's; `{x:i}`,
        `{x:q}` an identifier or a snippet psycopg writes, no parameter. A conversion or
        any other spec psycopg refuses: not validated."""
        template = self._literal(node)
        fields = [v for v in node.values if isinstance(v, ast.FormattedValue)]
        if template.problem or len(fields) != len(template.holes):
            return template
        values: list[str | Template | None] = []
        written: list[bool] = []
        for field, hole in zip(fields, template.holes):
            spec = field.format_spec
            text = "" if spec is None else spec.values[0].value if \
                isinstance(spec, ast.JoinedStr) and len(spec.values) == 1 and \
                isinstance(spec.values[0], ast.Constant) else None
            if field.conversion != -1 or text not in ("", "s", "b", "t", "l", "i", "q"):
                label = hole.label
                return replace(template, problem=f"`{label}` is a t-string field psycopg "
                                                 "refuses (a conversion or another spec)")
            if text in ("", "s", "b", "t"):
                values.append(f"${len(values) - len(written) + 1}")
            else:
                values.append(None)
                written.append(text != "l")
        filled = _filled(template, values)
        return replace(filled, holes=tuple(replace(hole, written=mark) for hole, mark
                                           in zip(filled.holes, written)))

    def _copy_statement(self, call: ast.Call) -> list[SqlFragment]:
        """psycopg's `cursor.copy("COPY t (a, b) FROM STDIN")` (psycopg2's `copy_expert`),
        read as the INSERT naming what the COPY names: `INSERT INTO t (a, b) SELECT NULL,
        NULL` (`INSERT INTO t DEFAULT VALUES` without a column list), the table and its
        columns kept where the code writes them. PostgreSQL's parse analysis of that INSERT
        fails, as the COPY does, on a table or column that is not there (42P01, 42703: the
        same `column "x" of relation "t" does not exist`); a COPY is not analysed when
        prepared. Only a string the code shows, one statement that PostgreSQL's parser
        reads as a COPY of a table from STDIN or to STDOUT (not of a query, nor of a
        file), in a call that is not another engine's nor in a test expecting it to fail;
        else nothing."""
        arg = _sql_argument(call)
        value = None if arg is None else self._resolve(arg)
        if not isinstance(value, ast.Constant) or not isinstance(value.value, str) or \
                value.value.lstrip()[:4].upper() != "COPY" or \
                self._engine_receiving(call) is not None or self._expected_to_fail(call):
            return []
        template = self._literal(value)
        if template.problem or template.holes:
            return []
        from pglast import ast as pg
        from pglast import parse_sql
        from pglast.parser import scan

        text = template.text
        try:
            statements = parse_sql(text)
            tokens = scan(text)
        except Exception:  # noqa: BLE001 -- not a statement PostgreSQL reads: not ours
            return []
        copy = statements[0].stmt if len(statements) == 1 else None
        if not isinstance(copy, pg.CopyStmt) or copy.relation is None or \
                copy.query is not None or copy.filename is not None or copy.is_program:
            return []
        columns = len(copy.attlist or ())
        depth = 0
        for index, token in enumerate(tokens):
            if token.name == "ASCII_40":
                depth += 1
            elif token.name == "ASCII_41":
                depth -= 1
            elif index and depth == 0 and token.name in ("FROM", "TO"):
                break
        else:
            return []
        self._take(value)
        positions = _expand(template)
        head, tail = tokens[0], token  # `COPY`, and the `FROM`/`TO` ending the table's part
        rest = " SELECT " + ", ".join(["NULL"] * columns) if columns else " DEFAULT VALUES"
        pieces = [("INSERT INTO", positions[head.start]),
                  (text[head.end + 1:tail.start].rstrip(), None),
                  (rest, positions[tail.start])]
        placed: list[tuple[int, int]] = []
        sql: list[str] = []
        for piece, at in pieces:
            sql.append(piece)
            if at is None:
                start = head.end + 1
                placed.extend(positions[start:start + len(piece)])
            else:
                placed.extend((at[0], at[1] + k) for k in range(len(piece)))
        return self._render(Template("".join(sql), _compress(placed)), sink=None)

    def _copied_table(self, call: ast.Call) -> list[SqlFragment]:
        """asyncpg's `copy_records_to_table("t", records=..., columns=[...],
        schema_name=...)` (and `copy_to_table`, `copy_from_table`), read as the query
        asyncpg prepares before `copy_records_to_table`'s COPY: `SELECT "a", "b" FROM
        "s"."t" LIMIT 1`, each name quoted as asyncpg quotes it and placed where the code
        writes it. It names what the COPY names: a table or column it lacks fails the COPY
        as it fails the query (42P01, 42703). Only asyncpg's shape is read (the table alone
        positional, the data keyword-only: `records=`, `source=`, `output=`), with every
        name a string the code shows (`_bound_string`), and not in a test expecting it
        to fail (`with pytest.raises(...)`); else nothing."""
        if len(call.args) > 1 or any(isinstance(a, ast.Starred) for a in call.args) or \
                self._engine_receiving(call) is not None or self._expected_to_fail(call):
            return []
        keywords = {k.arg: k.value for k in call.keywords}
        if None in keywords or _ASYNCPG_COPIES[str(_call_name(call))] not in keywords:
            return []
        table = call.args[0] if call.args else keywords.get("table_name")
        if table is None or (call.args and "table_name" in keywords):
            return []
        schema = keywords.get("schema_name")
        columns = keywords.get("columns")
        if isinstance(columns, ast.Constant) and columns.value is None:
            columns = None
        if isinstance(schema, ast.Constant) and schema.value is None:
            schema = None
        if columns is not None and not (isinstance(columns, (ast.List, ast.Tuple)) and
                                        columns.elts):
            return []
        named = [*(columns.elts if columns is not None else ()),
                 *([schema] if schema is not None else ()), table]
        names = [self._bound_string(node) for node in named]
        if any(name is None or not name for name in names):
            return []
        line, column = self._position(call.lineno, call.col_offset)
        text: list[str] = []
        spans: list[tuple[int, int, int]] = []
        length = 0

        def add(piece: str, node: ast.expr | None) -> None:
            nonlocal length
            at = (line, column) if node is None else self._position(node.lineno, node.col_offset)
            spans.append((length, *at))
            text.append(piece)
            length += len(piece)

        quoted = ['"' + str(name).replace('"', '""') + '"' for name in names]
        add("SELECT ", None)
        if columns is None:
            add("*", None)
        for index, node in enumerate(columns.elts if columns is not None else ()):
            if index:
                add(", ", None)
            add(quoted[index], node)
        add(" FROM ", None)
        if schema is not None:
            add(quoted[-2], schema)
            add(".", None)
        add(quoted[-1], table)
        read = Template("".join(text), tuple(spans))
        limit = Template(" LIMIT 1", ((0, line, column),))
        where = self._copy_condition(keywords.get("where"))
        if where is not None:
            # `COPY t FROM STDIN ... WHERE <where>`: its condition reads the table's columns
            # as the query's WHERE does (42703 for one it lacks); one built at run time
            # where a value does not go leaves the rest checked, as before.
            rendered = self._render(_concat([read, where, limit]), sink=None)
            if not any(f.dynamic for f in rendered):
                return rendered
        return self._render(_concat([read, limit]), sink=None)

    def _copy_condition(self, node: ast.expr | None) -> Template | None:
        """` WHERE <condition>` of asyncpg's `where=`, the condition placed where the code
        writes it: a string literal or an f-string, or a name bound to a string for sure
        (`_bound_string`), placed at the name; None for anything else (or no condition:
        `where=None`, `""`)."""
        if node is None:
            return None
        if isinstance(node, ast.Name):
            text = self._bound_string(node)
            condition = None if text is None else self._placed(node, text)
        else:
            condition = self._template(node) if _is_literal(node) else None
        if condition is None or condition.problem or not condition.text.strip():
            return None
        line, column = self._position(node.lineno, node.col_offset)
        return _concat([Template(" WHERE ", ((0, line, column),)), condition])

    def _composed(self, template: Template, sql_call: ast.Call) -> Template:
        """`template`, the text of psycopg's `sql.SQL("...")`, with each field its
        `.format(...)` fills with a composable psycopg renders the same every time
        (`_composable_text`: `sql.Identifier("users")` is `"users"`) given that text, as
        `as_string()` renders it; any other field stays a hole."""
        attribute = self.parents.get(id(sql_call))
        call = self.parents.get(id(attribute))
        if template.problem or not template.holes or not (
                isinstance(attribute, ast.Attribute) and attribute.attr == "format"
                and isinstance(call, ast.Call) and call.func is attribute
                and self._psycopg_sql(sql_call.func) == "SQL"):
            return template
        values = [None if piece is None else self._composable_text(piece, depth=0)
                  for piece in _format_arguments(template, call)]
        return _filled(template, values) if any(v is not None for v in values) else template

    def _rendered_only_asserted(self, sql_call: ast.Call) -> bool:
        """Whether a psycopg composition (`sql.SQL(...)`, or its `.format(...)`) is held in
        a name only rendered, `name.as_string(conn)`, for an assertion (`assert
        q.as_string(conn) == '...'`, or a name read only in assertions): a test of how
        psycopg renders it (psycopg's own `tests/test_sql.py`), never sent."""
        held: ast.AST = sql_call
        attribute = self.parents.get(id(sql_call))
        call = self.parents.get(id(attribute))
        if isinstance(attribute, ast.Attribute) and attribute.attr == "format" and \
                isinstance(call, ast.Call) and call.func is attribute:
            held = call
        name = self._assigned_name(held) if isinstance(held, ast.expr) else None
        if name is None:
            return False
        scope = self._scope_of(held)
        reads = [read for read in self._reads().get(name, ()) if self._inside(read, scope)]
        for read in reads:
            attribute = self.parents.get(id(read))
            rendered = self.parents.get(id(attribute))
            if not (isinstance(attribute, ast.Attribute) and attribute.attr == "as_string"
                    and isinstance(rendered, ast.Call) and rendered.func is attribute):
                return False
            if self._in_assertion(rendered):
                continue
            into = self._assigned_name(rendered)
            if into is None or not self._reads_only_asserted(into, scope, depth=0):
                return False
        return bool(reads)

    def _psycopg_sql(self, func: ast.expr) -> str | None:
        """The class of psycopg's (or psycopg2's) `sql` module `func` names (`sql.SQL`,
        `Identifier` imported from `psycopg.sql`), or None."""
        dotted = self._dotted(func)
        if dotted is None:
            return None
        module, _, name = dotted.rpartition(".")
        return name if module in ("psycopg.sql", "psycopg2.sql") else None

    def _composable_text(self, node: ast.expr, *, depth: int) -> Template | None:
        """The text psycopg renders a composable as, when the code shows it whole:
        `Identifier` of strings (`"public"."users"`), `Literal` of a string, an integer,
        a boolean or None, `Placeholder()` (`%s`, `%(name)s`), `SQL` of a string, a
        `.join(...)` of a list of those (or `map(sql.Identifier, [...])`), `Composed`, and
        `SQL(...).format(...)` of those. A string is a literal or a name bound to one
        (`_bound_string`). None for anything else: its text is only known at run time.
        Each piece is placed where the code writes it (`_placed`): a name misspelt in
        `sql.Identifier("nmae")` is reported there, not at the field it fills."""
        if depth > 4 or not isinstance(node, ast.Call):
            return None
        kind = self._psycopg_sql(node.func)
        args = node.args
        if kind is not None and (node.keywords or any(isinstance(a, ast.Starred) for a in args)):
            return None
        if kind == "Identifier" and args:
            names = [self._bound_string(arg) for arg in args]
            if any(name is None for name in names):
                return None
            parts: list[Template] = []
            for index, (arg, name) in enumerate(zip(args, names)):
                if index:
                    parts.append(self._placed(arg, "."))
                parts.append(self._quoted_name(arg, str(name)))
            return _concat(parts)
        if kind == "Literal" and len(args) == 1:
            text = _literal_text(args[0], self._bound_string(args[0]))
            return None if text is None else self._placed(args[0], text)
        if kind == "Placeholder" and len(args) <= 1:
            if not args:
                return self._placed(node, "%s")
            name = self._bound_string(args[0])
            return None if name is None or ")" in name else self._placed(node, f"%({name})s")
        if kind == "SQL" and len(args) == 1:
            text = self._bound_string(args[0])
            if text is None:
                return None
            self._take(node)  # rendered here: not a statement of its own
            return self._placed_string(args[0], text)
        if kind == "Composed" and len(args) == 1:
            pieces = self._composables(args[0], depth=depth)
            return None if pieces is None else _concat(pieces)
        func = node.func
        if kind is None and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):
            inner = func.value
            if func.attr == "join" and len(args) == 1 and not node.keywords:
                separator = self._composable_text(inner, depth=depth + 1) \
                    if self._psycopg_sql(inner.func) == "SQL" else None
                pieces = self._composables(args[0], depth=depth)
                if separator is None or pieces is None:
                    return None
                joined: list[Template] = []
                for index, piece in enumerate(pieces):
                    joined.extend((separator, piece) if index else (piece,))
                return _concat(joined) if joined else Template("", ())
            if func.attr == "format" and self._psycopg_sql(inner.func) == "SQL" and \
                    len(inner.args) == 1 and isinstance(inner.args[0], ast.Constant) and \
                    isinstance(inner.args[0].value, str):
                template = _format_fields(self._literal(inner.args[0]), _BRACE_FIELD)
                if template.problem:
                    return None
                values = [None if piece is None else self._composable_text(
                    piece, depth=depth + 1) for piece in _format_arguments(template, node)]
                if any(value is None for value in values):
                    return None
                self._take(inner)
                return _filled(template, values)
        return None

    def _composables(self, node: ast.expr, *, depth: int) -> list[Template] | None:
        """The texts of a list or tuple of composables, or of `map(sql.Identifier,
        [strings])`; None when one of them is not known."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "map" and len(node.args) == 2 and not node.keywords and \
                self._psycopg_sql(node.args[0]) == "Identifier" and \
                isinstance(node.args[1], (ast.List, ast.Tuple)):
            items = node.args[1].elts
            names = [self._bound_string(item) for item in items]
            if any(name is None for name in names):
                return None
            return [self._quoted_name(item, str(name)) for item, name in zip(items, names)]
        if not isinstance(node, (ast.List, ast.Tuple)):
            return None
        parts = [self._composable_text(item, depth=depth + 1) for item in node.elts]
        return None if any(part is None for part in parts) else [p for p in parts if p]

    def _placed(self, node: ast.expr, text: str) -> Template:
        """`text` with every character at the start of `node`: what the code writes there
        renders as it, though not character for character (`TABLE` bound elsewhere,
        `sql.Literal(1)`)."""
        return Template(text, _compress([self._position(node.lineno, node.col_offset)]
                                        * len(text)))

    def _placed_string(self, node: ast.expr, text: str) -> Template:
        """`text`, the string `node` is (`_bound_string`), placed where the code writes it:
        a literal's characters at their own places, a name bound elsewhere at the name (the
        statement's own line: where a finding in it is suppressed, and baselined)."""
        if isinstance(node, ast.Name) and node.id in self.looped:
            node = self.looped[node.id]  # the string the loop's round holds, in its `in`
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            literal = self._literal(node)
            if not literal.problem and not literal.holes and literal.text == text:
                return literal
        return self._placed(node, text)

    def _quoted_name(self, node: ast.expr, name: str) -> Template:
        """`"name"`, as psycopg's `sql.Identifier(node)` renders the string `node` is
        (a `"` doubled), each character where the code writes it (`_placed_string`), the
        quotes around it at its first and last."""
        placed = self._placed_string(node, name)
        positions = _expand(placed)
        start = self._position(node.lineno, node.col_offset)
        out = [start]
        for char, at in zip(name, positions):
            out.extend((at, at) if char == '"' else (at,))
        out.append(positions[-1] if positions else start)
        return Template('"' + name.replace('"', '""') + '"', _compress(out))

    def _render(self, template: Template, *, sink: ast.Call | None,
                whole: ast.expr | None = None) -> list[SqlFragment]:
        head = first_word(template.text, template.holes)
        if head is None:
            if sink is not None and template.holes and template.holes[0].offset == 0 and \
                    not _joins_words(template.text) and not _operand_first(template):
                if whole is not None:
                    return [self._built_whole(template, whole)]
                return [self._dynamic(template, "the statement is built at run time")]
            return []
        if head not in _STATEMENT_WORDS or head == "copy":
            return []
        reason, sql, spans, built, values = fill_holes(template)
        fragment = SqlFragment(self.path, sql, spans, origin="python", built_strings=built,
                               value_holes=values)
        if reason is not None:
            return [SqlFragment(self.path, sql, spans, origin="python", dynamic=reason)]
        pieces = [fragment.sub(a, b) for a, b in statement_bounds(sql)]
        return pieces

    def _built_whole(self, template: Template, whole: ast.expr) -> SqlFragment:
        """The note for a statement a sink is given as `whole`, whose start is a run-time
        piece (`sql + " ORDER BY id"`, `f"{query} LIMIT 1"`, `base + where`): it names
        that expression and stands where it starts, not at the literal piece after the hole
        (`" ORDER BY id"` alone is no statement)."""
        label = " ".join(self._hole(whole).holes[0].label.split())
        label = label if len(label) <= 60 else label[:57] + "..."
        line, column = self._position(whole.lineno, whole.col_offset)
        return SqlFragment(self.path, template.text, ((0, line, column),), origin="python",
                           dynamic=f"the statement `{label}` is built at run time")

    def _dynamic(self, template: Template, reason: str) -> SqlFragment:
        spans = template.spans or (
            ((0, template.holes[0].line, template.holes[0].column),) if template.holes else ()
        )
        return SqlFragment(self.path, template.text, spans, origin="python", dynamic=reason)

    # -- positions ---------------------------------------------------------------------

    def _offset(self, lineno: int, col_offset: int) -> int:
        return _source_offset(self.source, self.line_starts, lineno, col_offset)

    def _position(self, lineno: int, col_offset: int) -> tuple[int, int]:
        offset = self._offset(lineno, col_offset)
        return lineno, offset - self.line_starts[lineno - 1] + 1


# -- decoding literals with positions --------------------------------------------------


def _source_offset(source: str, line_starts: list[int], lineno: int, col_offset: int) -> int:
    """Absolute character offset of an `ast` position (whose column counts UTF-8 bytes)."""
    start = line_starts[lineno - 1]
    line_end = line_starts[lineno] if lineno < len(line_starts) else len(source)
    line = source[start:line_end]
    if line.isascii():
        return start + col_offset
    return start + len(line.encode("utf-8")[:col_offset].decode("utf-8", "replace"))


def string_literal(source: str, line_starts: list[int], node: ast.Constant,
                   path: str) -> SqlFragment | None:
    """The text of the plain string literal `node` of `source` (implicitly concatenated
    pieces, escapes and all) as a fragment mapped back to the file; None for anything
    else (bytes, an f-string) or a literal whose text cannot be mapped.

    >>> source = 'step(\\n    "CREATE TABLE t "\\n    "(a int)")\\n'
    >>> node = ast.parse(source).body[0].value.args[0]
    >>> literal = string_literal(source, line_starts_of(source), node, "m.py")
    >>> literal.sql, literal.location(15)
    ('CREATE TABLE t (a int)', Location(path='m.py', line=3, column=6, end_line=None, end_column=None))
    """
    if not isinstance(node.value, str):
        return None
    start = _source_offset(source, line_starts, node.lineno, node.col_offset)
    end = _source_offset(source, line_starts, node.end_lineno or node.lineno,
                         node.end_col_offset or 0)
    template = _LiteralScanner(source, line_starts).scan(start, end)
    if template.problem or template.holes or template.text != node.value:
        return None
    return SqlFragment(path, template.text, template.spans, origin="python")


_PREFIX = re.compile(r"[rRbBuUfF]{0,2}('''|\"\"\"|'|\")")
_SIMPLE_ESCAPES = {
    "\\": "\\",
    "'": "'",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
# What ends a run of ordinary characters in a string body, by (quote, f-string): a
# backslash, a newline, the quote, and in an f-string the braces.
_SPECIALS = {
    (quote, fstring): re.compile("[" + re.escape("\\\n" + quote + ("{}" if fstring else "")) + "]")
    for quote in "'\"" for fstring in (False, True)
}
_OCTAL = frozenset("01234567")


class _LiteralScanner:
    """Re-scans one (possibly implicitly concatenated) string literal from the source."""

    def __init__(self, source: str, line_starts: list[int]) -> None:
        self.source = source
        self.line_starts = line_starts
        self.parts: list[str] = []
        self.spans: list[tuple[int, int, int]] = []
        self.holes: list[Hole] = []
        self.length = 0
        self.next_position = (0, 0)  # where the source would continue without a new span

    def scan(self, start: int, end: int) -> Template:
        source = self.source
        pos = start
        self.line = bisect.bisect_right(self.line_starts, start)
        self.line_start = self.line_starts[self.line - 1]
        while pos < end:
            char = source[pos]
            if char == "\n":
                self._newline(pos + 1)
                pos += 1
            elif char in " \t\r\f\\(":
                pos += 1  # space, line continuation or the paren of a parenthesised literal
            elif char == "#":
                newline = source.find("\n", pos)
                pos = end if newline == -1 else newline
            else:
                match = _PREFIX.match(source, pos)
                if match is None:
                    return Template("".join(self.parts), (), problem="unexpected source text")
                prefix = source[pos : match.start(1)].lower()
                if "b" in prefix:
                    return Template("", (), problem="bytes literal")
                pos = self._body(match.end(), match.group(1), "r" in prefix, "f" in prefix)
        return Template("".join(self.parts), tuple(self.spans), tuple(self.holes))

    def _newline(self, line_start: int) -> None:
        self.line += 1
        self.line_start = line_start

    def _emit(self, text: str, pos: int) -> None:
        """Append decoded `text` whose first character comes from source offset `pos`."""
        position = (self.line, pos - self.line_start + 1)
        if position != self.next_position:
            self.spans.append((self.length, *position))
        self.parts.append(text)
        self.length += len(text)
        self.next_position = (position[0], position[1] + len(text))

    def _body(self, pos: int, quote: str, raw: bool, fstring: bool) -> int:
        source = self.source
        special = _SPECIALS[quote[0], fstring].search
        triple = len(quote) == 3
        run_start = pos
        size = len(source)
        while True:
            # Skip a run of ordinary characters; they map one-to-one onto the source.
            found = special(source, pos)
            pos = size if found is None else found.start()
            if pos >= size:
                raise_at = pos
                self._flush(run_start, raise_at)
                return pos
            char = source[pos]
            if char == quote[0] and (not triple or source.startswith(quote, pos)):
                self._flush(run_start, pos)
                return pos + len(quote)
            if char == quote[0]:  # a lone quote inside a triple-quoted string
                pos += 1
                continue
            self._flush(run_start, pos)
            if char == "\n":
                self._emit_newline(pos)
                pos += 1
            elif char == "\\":
                pos = self._escape(pos, raw)
            elif char == "{":
                if source.startswith("{{", pos):
                    self._emit("{", pos)
                    pos += 2
                else:
                    pos = self._hole(pos)
            else:  # "}"
                self._emit("}", pos)
                pos += 2 if source.startswith("}}", pos) else 1
            run_start = pos

    def _flush(self, start: int, end: int) -> None:
        if end <= start:
            return
        chunk = self.source[start:end]
        if chunk.endswith("\r") and self.source.startswith("\n", end):
            # A run stops at the `\n` of a `\r\n` (`_body` emits that newline): Python reads
            # the pair as one `\n`, so the `\r` is no character of the literal.
            chunk = chunk[:-1]
            if not chunk:
                return
        if "\r" in chunk:
            # Python reads \r\n inside a literal as \n; map each piece separately.
            for index, piece in enumerate(chunk.split("\r\n")):
                if index:
                    self._emit("\n", start - 1)
                if piece:
                    self._emit(piece, start)
                start += len(piece) + 2
            return
        self._emit(chunk, start)

    def _emit_newline(self, pos: int) -> None:
        self._emit("\n", pos)
        self._newline(pos + 1)

    def _escape(self, pos: int, raw: bool) -> int:
        source = self.source
        nxt = source[pos + 1] if pos + 1 < len(source) else ""
        if raw:
            # A raw string keeps the backslash and the character after it, even a quote.
            self._emit("\\", pos)
            if nxt == "\n":
                self._emit_newline(pos + 1)
            elif nxt:
                self._emit(nxt, pos + 1)
            return pos + 2
        if nxt == "\n":
            self._newline(pos + 2)
            return pos + 2
        if nxt == "\r" and source.startswith("\n", pos + 2):
            self._newline(pos + 3)
            return pos + 3
        if nxt in _SIMPLE_ESCAPES:
            self._emit(_SIMPLE_ESCAPES[nxt], pos)
            return pos + 2
        if nxt in _OCTAL:
            end = pos + 2
            while end < pos + 4 and source[end] in _OCTAL:
                end += 1
            self._emit(chr(int(source[pos + 1 : end], 8)), pos)
            return end
        if nxt in _HEX_ESCAPES:
            end = pos + 2 + _HEX_ESCAPES[nxt]
            self._emit(chr(int(source[pos + 2 : end], 16)), pos)
            return end
        if nxt == "N" and source.startswith("{", pos + 2):
            close = source.index("}", pos + 3)
            self._emit(unicodedata.lookup(source[pos + 3 : close]), pos)
            return close + 1
        self._emit("\\", pos)  # unknown escape: Python keeps both characters
        return pos + 1

    def _hole(self, pos: int) -> int:
        """Skip an f-string replacement field starting at `{`; record it as a hole."""
        source = self.source
        depth = 0
        index = pos + 1
        in_spec = False
        while index < len(source):
            char = source[index]
            if char in "'\"" and not in_spec:
                close = source.find(char, index + 1)
                index = len(source) if close == -1 else close + 1
                continue
            if char in "([{":
                depth += 1
            elif char in ")]" and depth:
                depth -= 1
            elif char == "}":
                if depth == 0:
                    break
                depth -= 1
            elif char == ":" and depth == 0 and not in_spec:
                in_spec = True
            elif char == "\n":
                self._newline(index + 1)
            index += 1
        label = source[pos : index + 1]
        # The hole's own position was recorded before any newline inside the field.
        line, column = self._line_col(pos)
        self.holes.append(Hole(self.length, line, column, label))
        self.next_position = (0, 0)
        return index + 1

    def _line_col(self, pos: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, pos)
        return line, pos - self.line_starts[line - 1] + 1


def _unmapped(template: Template) -> Template:
    return Template(
        template.text, template.spans, template.holes, problem="the literal could not be mapped"
    )


def _signature(template: Template) -> list[str | None]:
    """Literal runs and holes in order, as `ast.JoinedStr.values` lists them."""
    out: list[str | None] = []
    previous = 0
    for hole in template.holes:
        if hole.offset > previous:
            out.append(template.text[previous : hole.offset])
        out.append(None)
        previous = hole.offset
    if len(template.text) > previous:
        out.append(template.text[previous:])
    return out


# -- holes -----------------------------------------------------------------------------

_PERCENT_FIELD = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]"
)
# A `str.format` field as Python's grammar spells it: `{}`, `{0}`, `{name.attr[key]}`, then a
# conversion and a spec, which may hold nested fields (`{x:>{width}}`). A brace followed by
# a space or a quote opens no field anyone fills (GraphQL's `{ query: locations {name} }`).
_BRACE_FIELD = re.compile(
    r"\{\{|\}\}|\{(?:(?:[^\W\d]\w*|\d+)(?:\.[^\W\d]\w*|\[[^\[\]{}]+\])*)?"
    r"(?:![rsa])?(?::[^{}]*(?:\{(?:[^\W\d]\w*|\d+)?\}[^{}]*)*)?\}")


def _format_fields(template: Template, pattern: re.Pattern[str], *, percent: bool = False) -> Template:
    """Turn `%s`/`{}` format fields of a literal into holes, `%%`/`{{` into one character."""
    if template.problem:
        return template
    positions = _expand(template)
    text = template.text
    parts: list[str] = []
    kept: list[tuple[int, int]] = []
    holes: list[Hole] = list(template.holes)
    new_holes: list[Hole] = []
    previous = 0
    length = 0
    for match in pattern.finditer(text):
        start, end = match.span()
        parts.append(text[previous:start])
        kept.extend(positions[previous:start])
        length += start - previous
        token = match.group()
        if token in ("%%", "{{", "}}"):
            parts.append(token[0])
            kept.append(positions[start])
            length += 1
        else:
            line, column = positions[start]
            new_holes.append(Hole(length, line, column, token))
        previous = end
    parts.append(text[previous:])
    kept.extend(positions[previous:])
    if not new_holes and not percent and len(kept) == len(text):
        return template
    holes.extend(new_holes)
    holes.sort(key=lambda hole: hole.offset)
    return Template("".join(parts), _compress(kept), tuple(holes))


# DDL built at run time is filled with at most this many combinations of its pieces'
# constants (`_note_ddl_of_each_name`).
_MAX_NAME_CHOICES = 16


def _product_size(choices: Sequence[Sequence[object]]) -> int:
    size = 1
    for choice in choices:
        size *= len(choice)
    return size


def _format_arguments(template: Template, call: ast.Call) -> list[ast.expr | None]:
    """The argument of `"...".format(...)` each `{field}` hole of `template` takes, in
    order (`{}` and `{0}` positional, `{name}` by keyword); None where it cannot be told."""
    keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
    pieces: list[ast.expr | None] = []
    automatic = 0
    for hole in template.holes:
        field = hole.label[1:-1].split("!")[0].split(":")[0] if hole.label[:1] == "{" else None
        if field is None or any(c in field for c in ".["):
            pieces.append(None)
        elif field == "":
            pieces.append(call.args[automatic] if automatic < len(call.args) else None)
            automatic += 1
        elif field.isdigit():
            index = int(field)
            pieces.append(call.args[index] if index < len(call.args) else None)
        else:
            pieces.append(keywords.get(field))
    return pieces


def _format_template(template: Template) -> Template:
    """A literal with `{...}` fields where PostgreSQL's grammar has no braces (outside
    quotes and comments) is a `str.format` template, filled before it is sent
    (`QUERY = "SELECT {cols} FROM t WHERE id = {id}"`, formatted elsewhere): its fields
    become holes, so a field in a value position still leaves the statement validated.
    Braces only inside quoted SQL strings (`'{a,b}'`, JSON) are the statement's own text."""
    if "{" not in template.text or template.problem:
        return template
    formatted = _format_fields(template, _BRACE_FIELD)
    fields = [hole.offset for hole in formatted.holes if hole not in template.holes]
    if fields and any(in_syntax(formatted.text, fields)):
        return formatted
    return template


def _unescape(template: Template, pair: str, *, keep: int) -> Template:
    """Each two-character escape `pair` (`%%`, SQLAlchemy's `\\:`) read as the one character
    at index `keep` of it, as the driver sends it; positions stay the file's, and holes
    after an escape move back with the text."""
    if pair not in template.text:
        return template
    positions = _expand(template)
    parts: list[str] = []
    kept: list[tuple[int, int]] = []
    removed: list[int] = []  # text offsets of the escapes, each one character shorter
    previous = 0
    for match in re.finditer(re.escape(pair), template.text):
        parts.append(template.text[previous : match.start()])
        kept.extend(positions[previous : match.start()])
        parts.append(pair[keep])
        kept.append(positions[match.start() + keep])
        removed.append(match.start())
        previous = match.end()
    parts.append(template.text[previous:])
    kept.extend(positions[previous:])
    holes = tuple(replace(hole, offset=hole.offset - bisect.bisect_left(removed, hole.offset))
                  for hole in template.holes)
    return Template("".join(parts), _compress(kept), holes)


def _expand(template: Template) -> list[tuple[int, int]]:
    """Per-character (line, column) of a template's text; used only when rewriting it."""
    spans = template.spans
    out: list[tuple[int, int]] = []
    for index, (offset, line, column) in enumerate(spans):
        end = spans[index + 1][0] if index + 1 < len(spans) else len(template.text)
        out.extend((line, column + k) for k in range(end - offset))
    return out


def _compress(positions: Sequence[tuple[int, int]]) -> tuple[tuple[int, int, int], ...]:
    spans: list[tuple[int, int, int]] = []
    expected = (0, 0)
    for offset, (line, column) in enumerate(positions):
        if (line, column) != expected:
            spans.append((offset, line, column))
        expected = (line, column + 1)
    return tuple(spans)


def _filled(template: Template, values: Sequence[str | Template | None]) -> Template:
    """`template` with each hole whose text is known (`values`, one per hole) replaced by
    that text: a `Template` placed where its own text is in the source (psycopg's
    `sql.Identifier("users")`), a string wholly at the hole (`{TABLE}`, a name bound
    elsewhere)."""
    positions = _expand(template)
    text: list[str] = []
    placed: list[tuple[int, int]] = []
    holes: list[Hole] = []
    cursor = shift = 0
    for hole, value in zip(template.holes, values):
        text.append(template.text[cursor:hole.offset])
        placed.extend(positions[cursor:hole.offset])
        cursor = hole.offset
        if value is None:
            holes.append(replace(hole, offset=hole.offset + shift))
            continue
        if isinstance(value, Template):
            text.append(value.text)
            placed.extend(_expand(value))
            shift += len(value.text)
            continue
        text.append(value)
        placed.extend([(hole.line, hole.column)] * len(value))
        shift += len(value)
    text.append(template.text[cursor:])
    placed.extend(positions[cursor:])
    return Template("".join(text), _compress(placed), tuple(holes))


def _bound_in_class(cls: ast.ClassDef, attribute: str, *,
                    annotated: bool) -> list[ast.expr | None]:
    """What the body of `cls` binds `attribute` to, each binding (with `annotated`, an
    annotated one too: None where it binds nothing)."""
    bound: list[ast.expr | None] = [
        n.value for n in cls.body if isinstance(n, ast.Assign) and len(n.targets) == 1
        and isinstance(n.targets[0], ast.Name) and n.targets[0].id == attribute]
    if annotated:
        bound.extend(n.value for n in cls.body if isinstance(n, ast.AnnAssign)
                     and isinstance(n.target, ast.Name) and n.target.id == attribute)
    return bound


def _class_vars(cls: ast.ClassDef, attribute: str) -> list[ast.expr | None]:
    """What the body of `cls` binds `attribute` to with a `ClassVar` annotation (`columns:
    ClassVar[str] = "id, name"`): a class's own, never an instance's field."""
    return [n.value for n in cls.body if isinstance(n, ast.AnnAssign)
            and isinstance(n.target, ast.Name) and n.target.id == attribute
            and isinstance(n.annotation, ast.Subscript) and (
                (isinstance(n.annotation.value, ast.Name) and n.annotation.value.id == "ClassVar")
                or (isinstance(n.annotation.value, ast.Attribute)
                    and n.annotation.value.attr == "ClassVar"))]


def _literal_text(node: ast.expr, string: str | None) -> str | None:
    """What psycopg's `sql.Literal(node)` renders as, for a value whose text is the same
    with every connection (`as_string(conn)`): a string (`string`, the text `node` is
    bound to) without backslashes (`'it''s'`; with one it is `E'...'` in psycopg 3),
    an integer (`1`, ` -1`), a boolean (`true`) or None (`NULL`); else None."""
    if string is not None:
        return None if "\\" in string or "\x00" in string else \
            "'" + string.replace("'", "''") + "'"
    negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    value = node.operand if isinstance(node, ast.UnaryOp) and negative else node
    if not isinstance(value, ast.Constant):
        return None
    if value.value is None and not negative:
        return "NULL"
    if isinstance(value.value, bool):
        return None if negative else str(value.value).lower()
    if isinstance(value.value, int):
        return f" -{value.value}" if negative and value.value else str(value.value)
    return None


def _concat(parts: Sequence[Template]) -> Template:
    texts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    holes: list[Hole] = []
    length = 0
    for part in parts:
        if part.problem:
            return part
        texts.append(part.text)
        spans.extend((offset + length, line, column) for offset, line, column in part.spans)
        holes.extend(
            replace(hole, offset=hole.offset + length) for hole in part.holes
        )
        length += len(part.text)
    return Template("".join(texts), tuple(spans), tuple(holes))


# -- heuristics ------------------------------------------------------------------------

# A constant an f-string may give a statement as its text: names, dotted or quoted, or a
# list of them (`public.events`, `"Users"`, `id, name`), never a value or a clause.
_NAME = r'(?:[A-Za-z_][A-Za-z_0-9$]*|"(?:[^"]|"")+")'
# One name, unquoted, as a name built in part at run time is written (`users_rank_` and it).
_NAME_IN_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_NAMES = re.compile(rf"\s*{_NAME}(?:\.{_NAME})*(?:\s*,\s*{_NAME}(?:\.{_NAME})*)*\s*")


def names_only(text: str) -> bool:
    """Whether a constant is names a statement may be given as its text (`_NAMES`):
    `events`, `public."Events"`, `id, name`; never a value or a clause.

    >>> names_only('public."Events"'), names_only("id, name"), names_only("WHERE id = 1")
    (True, True, False)
    """
    return _NAMES.fullmatch(text) is not None

_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)
_HEAD = re.compile(r"(SELECT|WITH|INSERT|UPDATE|DELETE|MERGE)\s", re.IGNORECASE)
# `CALL [schema.]procedure(`: taken from a template the code says is SQL (a `sql` tag).
_CALL_HEAD = re.compile(r'CALL\s+(?:[A-Za-z_][\w$]*|"[^"]+")(?:\.(?:[A-Za-z_][\w$]*|"[^"]+"))?\s*\(',
                        re.IGNORECASE)
_FIRST_WORD = re.compile(r"[A-Za-z_]+")
# Trac's schema DSL (`trac.db.schema.Table`, re-exported by `trac.db`).
_TRAC_TABLES = frozenset({"trac.db.schema.Table", "trac.db.Table"})
# An operator or comparison right after an operand (`{column} = %s`, `{a} || {b}`,
# `{column}::text`, `{column} NOT ILIKE %s`, `{a} AND {b}`).
_OPERATOR_FIRST = re.compile(
    r"\s*(?:[=<>!~]|\|\||::|(?:not|is|i?like|in|between|similar|and|or)\b)", re.IGNORECASE)
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
# Quoted text and comments, read left to right (a `--` in a string, a `'` in a comment):
# for text that may hold a comment (three times `_QUOTED`'s time, on every string read).
_QUOTED_OR_COMMENT = re.compile(
    r"(?P<quoted>'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")|--[^\n]*|/\*.*?\*/", re.DOTALL)
_WORDS = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_SECOND_KEYWORD = {
    "select": ("from",),
    "insert": ("into",),
    "update": ("set",),
    "delete": ("from",),
    "merge": ("using",),
    "with": ("select", "insert", "update", "delete"),
}
# Words that occur in English sentences but never as bare SQL words in DML.
_PROSE_WORDS = frozenset(
    """the your you please this these those an we our my was were will would should could
    cannot can't there here have been it its i me click choose""".split()
)
_STRUCTURE = re.compile(r"[*,=();\n]|%s|%\(|\$\d|:[A-Za-z_]|\?")
_PROSE_CALLS = frozenset(
    """print _ gettext ngettext pgettext gettext_lazy ugettext ugettext_lazy lazy_gettext
    debug info warning warn error exception critical log echo secho write flash""".split()
)
# String methods whose arguments are text looked for at an end of the string
# (`q.startswith("INSERT INTO t")`), never a statement sent. (Not `find`, `count`, `index`:
# other APIs use those names too.)
_MATCH_METHODS = frozenset({"startswith", "endswith", "removeprefix", "removesuffix"})
# The modules of SQLite's libraries (a module importing one may call `executescript`).
_SQLITE_ROOTS = frozenset({"sqlite3", "aiosqlite", "pysqlite2", "pysqlite3"})
# PySpark's DataFrame methods that name a temporary view for Spark SQL.
_SPARK_TEMP_VIEWS = frozenset({"createOrReplaceTempView", "createTempView", "registerTempTable",
                               "createOrReplaceGlobalTempView", "createGlobalTempView"})
_ENGINE_FACTORIES = frozenset({"create_engine", "create_async_engine"})
# Other engines' sending methods no PostgreSQL driver has (`client.query(sql)`, `.command`).
_ENGINE_ONLY_SINKS = ENGINE_SINKS - SINKS - FILLERS
# Django's connections by database alias (`connections["clickhouse"]`).
_DJANGO_CONNECTIONS = frozenset({"django.db.connections"})
# Imports (a root, or its first two parts) through which a module may reach PostgreSQL.
_POSTGRESQL_CLIENTS = frozenset({
    "psycopg", "psycopg2", "psycopg2cffi", "asyncpg", "pg8000", "aiopg", "sqlalchemy",
    "sqlmodel", "databases", "django.db", "peewee", "playhouse", "tortoise", "pony", "gino",
    "ormar", "piccolo", "records", "dataset", "supabase", "postgrest", "pandas"})
# The modules whose names in an annotation say nothing of the class a value is of.
_TYPING_MODULES = frozenset({"typing", "typing_extensions"})
# contextlib's context managers whose `with ... as x` is the object they were given.
_PASS_THROUGH = frozenset({"closing", "aclosing", "nullcontext"})
_READ_SQL = frozenset({"read_sql", "read_sql_query"})
# Context managers of tests that expect the code inside to raise.
# unittest.mock's mock objects (also through pytest-mock's `mocker.MagicMock()`).
_MOCKS = frozenset({"Mock", "MagicMock", "AsyncMock", "NonCallableMock",
                    "NonCallableMagicMock", "create_autospec"})
_EXPECTED_FAILURE = frozenset({"raises", "assertRaises", "assertRaisesRegex",
                               "assertRaisesMessage"})
# The methods of HTTP clients (requests, httpx, aiohttp, a test client) that send a JSON
# body (`json=`), and the last segments of the paths of endpoints that run the SQL sent
# to them (Neon's `/sql`, Supabase's `/database/query`, pg-meta's and Hasura's `/query`).
_HTTP_METHODS = frozenset({"post", "put", "patch", "request"})
# The keywords of an HTTP request (requests, httpx, aiohttp) carrying what it sends: its
# query string, form, JSON body or raw body.
_REQUEST_PAYLOADS = frozenset({"params", "data", "json", "content"})
# What runs a program with the argument list it is given (see `_program_given`).
_SUBPROCESS_RUNNERS = frozenset({"subprocess.run", "subprocess.call", "subprocess.check_call",
                                 "subprocess.check_output", "subprocess.Popen"})
_SQL_ENDPOINTS = frozenset({"sql", "query", "run_sql"})
_URL_HOLE = "\0"  # a piece of a URL known only at run time
# Keys and keywords of an API's documented examples (OpenAPI, marshmallow, pydantic).
_EXAMPLE_KEYS = frozenset({"example", "examples", "openapi_examples"})
# OpenTelemetry's span attributes holding a query's text (semantic conventions: `db.statement`,
# renamed `db.query.text` in 1.25), and the ends of their constants' names
# (`SpanAttributes.DB_STATEMENT`, `DB_QUERY_TEXT`; JavaScript's `SEMATTRS_DB_STATEMENT`).
_QUERY_ATTRIBUTES = frozenset({"db.statement", "db.query.text"})
_QUERY_ATTRIBUTE_CONSTANTS = ("DB_STATEMENT", "DB_QUERY_TEXT")
_PROSE_KEYWORDS = frozenset(
    """help help_text description msg message label title doc summary hint prompt
    verbose_name placeholder tooltip""".split()
)


def looks_like_statement(text: str, *, holes: int = 0, tagged: bool = False) -> bool:
    """True only when a string is unmistakably a DML statement, not English.

    Conservative on purpose: the first word must be SELECT/WITH/INSERT/UPDATE/DELETE/MERGE
    in upper or lower case (not "Select ..."), followed by its companion keyword in the same
    case (FROM, INTO, SET, USING; a query after WITH); the text must not read as a
    sentence (English function words, a final full stop); and lower-case SQL must show
    some SQL punctuation, since "delete from cache" is as likely a message as a query.
    Words in SQL comments are not read (`-- teams the user belongs to`). `tagged`: the
    code says the text is SQL (a JS template tagged `sql`, `$queryRaw`, `Prisma.sql`), so
    only whether it is a whole statement is asked: its keywords may be in any case
    (`SELECT count(*) from "Membership"`), lower-case ones with no punctuation too.

    Example:
        >>> looks_like_statement("SELECT id FROM users WHERE id = %s")
        True
        >>> looks_like_statement("Select a file from the list")
        False
        >>> looks_like_statement("select the rows from the table")
        False
        >>> looks_like_statement("delete from cache")
        False
        >>> looks_like_statement("WITH t AS (-- the teams\\n SELECT 1) SELECT x FROM t")
        True
        >>> looks_like_statement('SELECT count(*) from "Membership"', tagged=True)
        True
        >>> looks_like_statement('SELECT "id", "name"', tagged=True)  # a fragment
        False
        >>> looks_like_statement("CALL app.archive_orders($1)", tagged=True)
        True
        >>> looks_like_statement("Call me later (maybe)")
        False
    """
    start = _LEADING.match(text).end()  # type: ignore[union-attr]
    if tagged and _CALL_HEAD.match(text, start):
        return True  # SQL by its tag, and a whole statement: a procedure's call
    head = _HEAD.match(text, start)
    if head is None:
        return False
    keyword = head.group(1)
    upper = keyword.isupper()
    if not (upper or keyword.islower() or tagged):
        return False
    body = text[start:]
    body = _QUOTED_OR_COMMENT.sub(_blank, body) if "--" in body or "/*" in body \
        else _QUOTED.sub("''", body)
    words = _WORDS.findall(body)
    companions = _SECOND_KEYWORD[keyword.lower()]
    if not any(
        word.lower() in companions
        and (tagged or (word.isupper() if upper else word.islower()))
        for word in words[1:]
    ):
        return False
    if keyword.lower() == "with" and not any(word.lower() == "as" for word in words):
        return False
    if any(word.lower() in _PROSE_WORDS for word in words):
        return False
    stripped = body.rstrip()
    if stripped.endswith((".", "!")) or re.search(r"[A-Za-z]\?$", stripped):
        return False
    return bool(upper or holes or tagged or _STRUCTURE.search(body))


def reads_as_sent_statement(text: str, sql: str) -> bool:
    """Whether a string a call certainly sends to PostgreSQL is a statement, whatever the
    case of its keywords: its first word opens one (SELECT, WITH, INSERT, UPDATE, DELETE,
    MERGE, or CALL), and PostgreSQL's parser reads the whole of `sql` (`text` with its holes
    filled) as statements. For the string a project's wrapper of a driver call sends, or a
    PostgreSQL driver's client the code shows (`looks_like_statement` asks one case of any
    call's string, since a method named `query` may be no database's); a sentence that does
    not parse stays unread (one that does, `Select a file from the list`, is what the call
    sends PostgreSQL, and fails there as it is checked).

    Example:
        >>> reads_as_sent_statement("Select * FROM groups WHERE id = $1",
        ...                         "Select * FROM groups WHERE id = $1")
        True
        >>> reads_as_sent_statement("delete from cache", "delete from cache")
        True
        >>> reads_as_sent_statement("Select the file you want to delete.",
        ...                         "Select the file you want to delete.")
        False
        >>> reads_as_sent_statement("Update your profile", "Update your profile")
        False
    """
    from pglast.parser import ParseError, parse_sql_json

    start = _LEADING.match(text).end()  # type: ignore[union-attr]
    if _HEAD.match(text, start) is None and _CALL_HEAD.match(text, start) is None:
        return False
    try:
        parsed = parse_sql_json(sql)
    except ParseError:
        return False
    return '"stmts"' in parsed


def _blank(found: re.Match[str]) -> str:
    """A quoted text as `''`, a comment as a blank."""
    return "''" if found.group("quoted") else " "


def _looks_like_ddl(template: Template) -> bool:
    """A string that may be DDL changing what later statements see: CREATE, ALTER, SET or
    DO first, in upper or lower case ("Create an account" is prose); in a string of several
    statements, first in any of them (`DROP TABLE IF EXISTS t; CREATE TEMP TABLE t AS ...`).
    PostgreSQL's parser has the last word (`FileDdl.after` ignores what it cannot parse)."""
    text, holes = template.text, template.holes
    starts = [start for start, _ in statement_bounds(text)] if ";" in text else [0]
    for start in starts:
        word = first_word(text, holes, lower=False, at=start)
        if word is not None and word.lower() in _DDL_HEADS and not _mixed_case(word):
            return True
    return False


def _prose_headed(sql: str) -> bool:
    """A statement of such a string that starts like a sentence ("Create temp tables
    first"): not DDL, whatever the statements beside it are."""
    word = first_word(sql, (), lower=False)
    return word is not None and _mixed_case(word)


def _mixed_case(word: str) -> bool:
    return not (word.isupper() or word.islower())


_DDL_HEADS = frozenset({"create", "alter", "set", "do"})


def first_word(text: str, holes: Sequence[Hole], *, lower: bool = True,
               at: int = 0) -> str | None:
    """First SQL word of a template (lower-cased unless `lower` is False), or None if a hole
    or nothing comes first; from offset `at` on (a later statement's)."""
    start = _LEADING.match(text, at).end()  # type: ignore[union-attr]
    if any(at <= hole.offset <= start for hole in holes):
        return None
    match = _FIRST_WORD.match(text, start)
    if match is None:
        return None
    return match.group().lower() if lower else match.group()


def _pyformat_with_params(call: ast.Call, text: str) -> bool:
    has_params = len(call.args) >= 2 or any(kw.arg in _PARAM_KEYWORDS for kw in call.keywords)
    return has_params and ("%s" in text or "%(" in text)


# -- small ast helpers -----------------------------------------------------------------


_FILE_READS = frozenset({"read", "read_text", "read_bytes", "get_data"})


def _reads_file(node: ast.expr) -> bool:
    """`f.read()`, `path.read_text()`, `pkgutil.get_data(...)`, also `.decode()`d.

    >>> _reads_file(ast.parse("open(p).read().decode()", mode="eval").body)
    True
    >>> _reads_file(ast.parse("row.decode()", mode="eval").body)
    False
    """
    if isinstance(node, ast.Call) and _call_name(node) == "decode" and \
            isinstance(node.func, ast.Attribute):
        node = node.func.value
    return isinstance(node, ast.Call) and _call_name(node) in _FILE_READS


def _rebound_name(value: ast.expr) -> ast.Name | None:
    """The name a statement is built from with its pieces: `query` of `query.format(...)`,
    `query % args`, `query + clause`."""
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Mod, ast.Add)):
        value = value.left
    elif isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
            value.func.attr == "format":
        value = value.func.value
    else:
        return None
    return value if isinstance(value, ast.Name) else None


def _dedented(node: ast.expr) -> ast.expr:
    """The literal of `dedent("...")` (textwrap's: the same SQL, less its indent), else
    `node`: `dedent("... FROM t %s") % where` fills the literal's `%s` as
    `"..." % where` does, and is no statement whose `%s` is a placeholder."""
    if isinstance(node, ast.Call) and _call_name(node) == "dedent" and len(node.args) == 1 \
            and not node.keywords and isinstance(node.args[0], ast.Constant) and \
            isinstance(node.args[0].value, str):
        return node.args[0]
    return node


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


# The snake_case words of an identifier (`get_async_clickhouse`, `CLICKHOUSE_URL`).
_SNAKE_WORDS = re.compile(r"[^\W_\d]+")
# The end of the text before a CTE's body in the `WITH` a module writes: `{name} AS (`.
_AS_OPEN = re.compile(r"\bAS\s*(?:MATERIALIZED\s*|NOT\s+MATERIALIZED\s*)?\(\s*$", re.IGNORECASE)


def _sql_argument(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg in _SQL_KEYWORDS:
            return keyword.value
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return None


def _operand_first(template: Template) -> bool:
    """Whether the hole a template starts with is an operand: an operator or a comparison
    follows it (psycopg pieces of a filter, `sql.SQL("{column} = %s")`,
    `sql.SQL("{column} ILIKE %s")`, composed into a statement elsewhere). No statement is
    followed by one, so the template is an expression, not a statement built at run time."""
    after = template.holes[1].offset if len(template.holes) > 1 else len(template.text)
    return _OPERATOR_FIRST.match(template.text, 0, after) is not None


def _joins_words(text: str) -> bool:
    """Whether the text around a string's run-time pieces is a path, URL or key
    (`f"{path}?page={page}"`, `f"{base}/users"`): something, with no blank in it. What
    SQL adds to a statement held elsewhere is words (`f"{sql} LIMIT {n}"`)."""
    return bool(text) and not any(c.isspace() for c in text)


def _is_literal(node: ast.AST) -> bool:
    """A string literal: plain, or an f-string."""
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str))


def _is_string_expr(node: ast.AST) -> bool:
    """A literal string, or string building whose pieces include a literal."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        left = _dedented(node.left)
        return isinstance(left, ast.Constant) and isinstance(left.value, str)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return any(
            isinstance(part, ast.JoinedStr)
            or (isinstance(part, ast.Constant) and isinstance(part.value, str))
            for part in _flatten_add(node)
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        value = node.func.value
        return (
            node.func.attr == "format"
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        )
    return False


def _logged(read: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """Whether `read` is an argument of a logging call, which writes it to a log, never to
    a database: `logging.LogRecord(name, level, path, line, msg, args, exc_info)` (AiiDA's
    test of its log formatter on a prepared statement's text), or a logger's `debug`,
    `info`, `warning`, `error`, `exception`, `critical` or `log` (`log.info(sql)`, on a
    name or attribute with `log` in it).

    >>> tree = ast.parse("logging.LogRecord('n', 20, 'p', 0, m, (), None); log.info(m); "
    ...                  "db.info(m)")
    >>> parents = {id(c): p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    >>> [_logged(n, parents) for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "m"]
    [True, True, False]
    """
    call = parents.get(id(read))
    if isinstance(call, ast.keyword):
        call = parents.get(id(call))
    if not isinstance(call, ast.Call) or call.func is read:
        return False
    if _call_name(call) == "LogRecord":
        return True
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in _LOGGER_METHODS):
        return False
    receiver = func.value
    named = receiver.id if isinstance(receiver, ast.Name) else \
        receiver.attr if isinstance(receiver, ast.Attribute) else ""
    return "log" in named.lower()


_LOGGER_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception",
                             "critical", "log"})


def _shortened(test: ast.AST | str, limit: int = 60) -> str:
    """A test (or a binding) as the code spells it, cut to `limit` characters for a
    one-line reason."""
    text = " ".join((test if isinstance(test, str) else ast.unparse(test)).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _table_facts(test: ast.expr, holds: bool,
                 bound: Callable[[ast.Name], ast.AST | None] | None = None, *,
                 depth: int = 0) -> tuple[set[str], set[str]]:
    """The tables that exist, and those that do not, wherever `test` comes out `holds`: the
    literal name given to SQLAlchemy's `has_table(...)` or a `...table_exists(...)` helper,
    and `"x" in <...>.get_table_names()` (Django's `table_names()`), alone, negated, or
    joined by `and` (when it holds) or `or` (when it fails); `bound` gives what a name is
    bound to once, for a test or a list held in a name. A literal tested in any list whose
    name says it holds tables (`if 'x' not in tables: return`, Nominatim's set of its
    tables handed to a function) says only that `x` exists, not that it does not (`if "x"
    in skipped_tables: return` may not mean that).

    >>> def facts(text, holds=True):
    ...     return [sorted(f) for f in _table_facts(ast.parse(text, mode="eval").body, holds)]
    >>> facts("'a' in inspector.get_table_names() and has_table('b')")
    [['a', 'b'], []]
    >>> facts("'a' in names or has_table('b')")
    [[], []]
    >>> facts("not has_table('a') or 'b' not in tables", holds=False)
    [['a', 'b'], []]
    >>> facts("table_exists(conn, 'a')", holds=False), facts("'b' in tables", holds=False)
    ([[], ['a']], [[], []])
    """
    if isinstance(test, ast.Name) and bound is not None and depth < 3:
        value = bound(test)
        if isinstance(value, ast.expr) and not isinstance(value, ast.Name):
            return _table_facts(value, holds, bound, depth=depth + 1)
    elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _table_facts(test.operand, not holds, bound, depth=depth)
    elif isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) == holds:
        # each of its values came out the same (else one of them decided it, unknown which)
        exist: set[str] = set()
        missing: set[str] = set()
        for value in test.values:
            there, gone = _table_facts(value, holds, bound, depth=depth)
            exist |= there
            missing |= gone
        return exist, missing
    elif isinstance(test, ast.Call) and (
            _call_name(test) == "has_table" or (_call_name(test) or "").endswith("table_exists")):
        name = next((arg.value for arg in test.args
                     if isinstance(arg, ast.Constant) and isinstance(arg.value, str)), None)
        if name is not None:
            return ({name}, set()) if holds else (set(), {name})
    elif (isinstance(test, ast.Compare) and len(test.ops) == 1
          and isinstance(test.ops[0], (ast.In, ast.NotIn))
          and isinstance(test.left, ast.Constant) and isinstance(test.left.value, str)):
        present = holds == isinstance(test.ops[0], ast.In)
        listed: ast.AST | None = test.comparators[0]
        named = listed.id if isinstance(listed, ast.Name) else \
            listed.attr if isinstance(listed, ast.Attribute) else ""
        if isinstance(listed, ast.Name) and bound is not None:
            listed = bound(listed)
        if isinstance(listed, ast.Call) and _call_name(listed) in _TABLE_LISTS:
            return ({test.left.value}, set()) if present else (set(), {test.left.value})
        if present and "table" in named.lower():
            return {test.left.value}, set()
    return set(), set()


_TABLE_LISTS = frozenset({"get_table_names", "table_names"})


def _row_name(names: list[str], chain: list[ast.AST]) -> list[str]:
    """The one of several parametrized `names` a value binds: its position in its row (a
    tuple, list or `pytest.param(...)` of the values list). `chain` runs from the value
    out to the values list; [] when the value is no element of a row."""
    if len(chain) < 3:
        return []
    row, element = chain[-2], chain[-3]
    values = row.args if isinstance(row, ast.Call) else getattr(row, "elts", [])
    index = next((i for i, value in enumerate(values) if value is element), None)
    return [] if index is None or index >= len(names) else [names[index]]


def _parametrized_names(names: ast.expr) -> list[str]:
    """The argument names `@pytest.mark.parametrize` gives: `"a, b"` or `("a", "b")`."""
    if isinstance(names, ast.Constant) and isinstance(names.value, str):
        return [n.strip() for n in names.value.split(",") if n.strip()]
    if isinstance(names, (ast.List, ast.Tuple)) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in names.elts):
        return [e.value for e in names.elts]  # type: ignore[attr-defined]
    return []


def _static(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether `function` is decorated `@staticmethod`: it takes no `self` or `cls`."""
    return any(isinstance(d, ast.Name) and d.id == "staticmethod"
               for d in function.decorator_list)


def _parameter_names(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    """Positional parameters in order, then keyword-only ones."""
    args = function.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def _declared_annotation(holder: ast.ClassDef, attribute: str) -> ast.expr | None:
    """The annotation the body of `holder` declares `attribute` with (`con:
    sqlite3.Connection`, a dataclass's or attrs' field, a typed instance attribute)."""
    for statement in holder.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
                and statement.target.id == attribute:
            return statement.annotation
    return None


def _stores_to_self(function: ast.FunctionDef | ast.AsyncFunctionDef,
                    attribute: str) -> Iterator[ast.expr]:
    """The values a method assigns to `self.<attribute>` (`self._client = ...`)."""
    for node in _own_nodes(function):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == attribute
                   and isinstance(t.value, ast.Name) and t.value.id == "self"
                   for t in targets):
                yield node.value


def _own_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """The nodes of a function's body, not those of functions or classes defined in it."""
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                 ast.ClassDef)):
            pending.extend(ast.iter_child_nodes(node))


def _join_operands(node: ast.Call) -> list[ast.expr] | None:
    """The pieces `SEP.join([a, b, ...])` (a string literal's `join` of a list or tuple
    written there) puts together, as `+` would: `a`, `SEP`, `b`, ... (each `+` of an
    element flattened); None for anything else."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "join"
            and _plain_string(func.value) and len(node.args) == 1 and not node.keywords
            and isinstance(node.args[0], (ast.List, ast.Tuple)) and node.args[0].elts
            and not any(isinstance(e, ast.Starred) for e in node.args[0].elts)):
        return None
    operands: list[ast.expr] = []
    for element in node.args[0].elts:
        if operands:
            operands.append(func.value)
        operands.extend(_flatten_add(element))
    return operands


def _joins_a_literal(node: ast.expr) -> bool:
    """Whether `node` is `SEP.join([...])` of a list or tuple holding a string literal."""
    operands = _join_operands(node) if isinstance(node, ast.Call) else None
    separator = getattr(node.func, "value", None) if isinstance(node, ast.Call) else None
    return operands is not None and any(_is_literal(operand) for operand in operands
                                        if operand is not separator)


def _plain_string(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _flatten_add(node: ast.expr) -> Iterator[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        yield from _flatten_add(node.left)
        yield from _flatten_add(node.right)
    else:
        yield node
