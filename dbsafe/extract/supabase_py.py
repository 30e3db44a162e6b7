"""supabase-py (postgrest-py) requests in Python source, read with `ast`.

`supabase.table("t").select("a, rel(b)").eq("c", 1).execute()` (also `.from_()`, the
deprecated `.from_table()`, `.rpc("fn", {...})`, `.schema("s").table(...)`,
`.postgrest.from_(...)`, `await` on the async client) becomes the same `PostgrestRequest`
supabase-js's `supabase.from('t').select('a, rel(b)').eq('c', 1)` does
(`dbsafe.extract.javascript`), so `dbsafe.validate.postgrest` checks both alike. Python's
method names are translated to supabase-js's: `in_` is `in`, `is_` `is`, `or_(filters,
reference_table=)` `or(filters, { referencedTable })`, `order(col, foreign_table=)`
`order(col, { referencedTable })`, `upsert(rows, on_conflict=)` `upsert(rows, { onConflict })`,
`not_.eq(c, v)` (a property, then the filter) `not(c, 'eq', v)`, `contained_by`
`containedBy`, `range_gt` `rangeGt`, `fts`/`plfts`/`phfts`/`wfts`/`text_search`
`textSearch`; `select("a", "b")` sends `a,b` (postgrest-py joins its arguments).

A chain is read only when its receiver is certainly a supabase client, as for supabase-js:

* a name, attribute or function whose name contains "supabase" (`supabase`,
  `self.supabase_admin`, `get_supabase()`), but not one also naming storage or a bucket,
  and not a variable bound to what another library makes (`supabase_db = duckdb.connect()`:
  a call of a name imported from a module not naming supabase, or of a class, by its
  capitalised name, other than supabase-py's own) nor a module (`import supabase`);
* a call of supabase-py's factories and classes (`create_client`, `acreate_client`,
  `create_async_client`, `Client`, `AsyncClient`, `SyncPostgrestClient`, ...) imported from
  `supabase`/`postgrest`, or of any function imported from a module whose path names
  supabase (`from app.core.supabase import get_client`);
* a variable every binding of which in its scope is one of those, or annotated with one
  of those classes (`db: Client = Depends(get_db)`), or `self.x` when every `self.x = ...`
  of its class is one; `client.schema("s")` and `client.postgrest` of a client.

A client created with `create_client(url, key, options=ClientOptions(schema="s"))`, or a
variable bound to `client.schema("s")`, gives schema `s` to the requests made through it.
A query held in a variable (`q = supabase.table("t").select("id")`, then
`q = q.eq("c", 1)` under conditions, `q.execute()`) is followed in its function where which
query it holds is certain, with supabase-js's rules (`_Reader._followed` there). An `rpc()`
sent with `get=True` or `head=True` passes its arguments in the query string, where other
keys are filters: it is not read. Requests inside `with pytest.raises(...)` are not read.

A Realtime subscription, realtime-py's `channel.on_postgres_changes(event, callback,
table=, schema=, filter=)`, becomes supabase-js's `channel.on('postgres_changes', {event,
schema, table, filter}, callback)` when the channel is certainly one of a client above:
`client.channel("name")` (also `client.realtime.channel(...)`, awaited or not), what its
`.on_...()` methods return (the channel), a variable every binding of which is one, or
`self.x` when every `self.x = ...` of its class is one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dbsafe.extract.fragment import SqlFragment
from dbsafe.extract.javascript import (
    JsArray,
    JsObject,
    JsOther,
    JsValue,
    PostgrestCall,
    PostgrestRequest,
    _bucket,
    literal_target,
)

if TYPE_CHECKING:
    from dbsafe.extract.holes import Template
    from dbsafe.extract.python import _Extractor

_CLIENT_WORD = re.compile(r"supabase", re.IGNORECASE)
_STORAGE_WORD = re.compile(r"storage|bucket", re.IGNORECASE)
_MODULE_WORD = re.compile(r"supabase|postgrest", re.IGNORECASE)
# The packages supabase-py is made of (and its old name's, and supabase-py-async's).
_PACKAGES = frozenset({"supabase", "postgrest", "supabase_py", "supabase_py_async"})
# What those packages export that makes a client, or types one.
_FACTORIES = frozenset({"create_client", "acreate_client", "create_async_client",
                        "Client", "AsyncClient", "AClient", "SyncClient",
                        "SyncPostgrestClient", "AsyncPostgrestClient", "PostgrestClient"})
_CLIENT_TYPES = frozenset({"Client", "AsyncClient", "AClient", "SyncClient",
                           "SyncPostgrestClient", "AsyncPostgrestClient", "PostgrestClient"})
_OPTIONS = frozenset({"ClientOptions", "SyncClientOptions", "AsyncClientOptions",
                      "AClientOptions"})
_KINDS = {"table": "from", "from_": "from", "from_table": "from", "rpc": "rpc"}
# realtime-py's channel methods that return the channel itself (for chaining).
_CHANNEL_RETURNING = frozenset({"on_postgres_changes", "on_broadcast", "on_system",
                                "on_presence_sync", "on_presence_join", "on_presence_leave"})
# realtime-py's `RealtimePostgresChangesListenEvent` members, by the event each sends.
_EVENT_ENUM = "RealtimePostgresChangesListenEvent"
_EVENTS = {"All": "*", "Insert": "INSERT", "Update": "UPDATE", "Delete": "DELETE"}
# postgrest-py's filter methods whose first argument is a column, by supabase-js's name.
_RENAMED = {
    "is_": "is", "in_": "in", "or_": "or", "cs": "contains", "cd": "containedBy",
    "contained_by": "containedBy", "ov": "overlaps", "like_all_of": "likeAllOf",
    "like_any_of": "likeAnyOf", "ilike_all_of": "ilikeAllOf", "ilike_any_of": "ilikeAnyOf",
    "range_gt": "rangeGt", "range_gte": "rangeGte", "range_lt": "rangeLt",
    "range_lte": "rangeLte", "range_adjacent": "rangeAdjacent", "sl": "rangeLt",
    "sr": "rangeGt", "nxl": "rangeGte", "nxr": "rangeLte", "adj": "rangeAdjacent",
    "fts": "textSearch", "plfts": "textSearch", "phfts": "textSearch", "wfts": "textSearch",
    "text_search": "textSearch",
}
# The operator each filter method sends, for `not_.<method>(...)` read as `not(c, op, v)`.
_OPERATORS = {"is_": "is", "in_": "in", "cs": "cs", "contains": "cs", "cd": "cd",
              "contained_by": "cd", "ov": "ov", "overlaps": "ov"}
# Methods of a dict that take keys out of it: its literal keys may then not be sent.
_REMOVING = frozenset({"pop", "popitem", "clear"})
# Calls a dict may be handed to without losing keys: supabase-py's payloads, and printing.
_KEEPING = frozenset({"insert", "upsert", "update", "match", "print", "len", "str", "repr",
                      "dumps", "debug", "info", "warning", "warn", "error", "exception", "log"})


def requests_in(extractor: _Extractor) -> list[PostgrestRequest]:
    """The supabase-py requests of the module `extractor` has parsed (its `parents` filled)."""
    return _Reader(extractor).run()


class _Reader:
    def __init__(self, extractor: _Extractor) -> None:
        self.x = extractor
        self.path = extractor.path
        self.parents = extractor.parents
        self.factories: set[str] = set()  # names of supabase-py's factories and classes
        self.types: set[str] = set()  # names of its client classes
        self.options: set[str] = set()  # names of its ClientOptions classes
        self.modules: set[str] = set()  # names bound to supabase-py's modules
        self.project_clients: set[str] = set()  # names imported from a module naming supabase
        self.others: set[str] = set()  # names imported from any other module
        self.classes: set[str] = set()  # classes defined in the module
        self.events: set[str] = set()  # names of realtime-py's event enum
        self.bindings: dict[int, dict[str, list[ast.AST]]] = {}

    # -- the walk ----------------------------------------------------------------------

    def run(self) -> list[PostgrestRequest]:
        calls: list[ast.Call] = []
        for node in ast.walk(self.x.tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._imported(node)
            elif isinstance(node, ast.ClassDef):
                self.classes.add(node.name)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                    node.func.attr in _KINDS or node.func.attr == "on_postgres_changes"):
                calls.append(node)
        requests: list[PostgrestRequest] = []
        for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
            assert isinstance(call.func, ast.Attribute)
            if call.func.attr == "on_postgres_changes":
                if self._is_channel(call.func.value) and not self.x._expected_to_fail(call):
                    request = self._realtime(call)
                    if request is not None:
                        requests.append(request)
                continue
            if not self._is_client(call.func.value) or self.x._expected_to_fail(call):
                continue
            request = self._request(call)
            if request is not None:
                requests.append(request)
                requests.extend(self._followed(call, request))
        return requests

    def _imported(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.partition(".")[0]
                if alias.name.partition(".")[0] in _PACKAGES:
                    self.modules.add(bound)
                else:
                    self.others.add(bound)
            return
        module = node.module or ""
        ours = node.level == 0 and module.partition(".")[0] in _PACKAGES
        realtime = node.level == 0 and module.partition(".")[0] == "realtime"
        for alias in node.names:
            bound = alias.asname or alias.name
            if realtime and alias.name == _EVENT_ENUM:
                self.events.add(bound)
            if ours:
                if alias.name in _FACTORIES:
                    self.factories.add(bound)
                if alias.name in _CLIENT_TYPES:
                    self.types.add(bound)
                if alias.name in _OPTIONS:
                    self.options.add(bound)
            elif _MODULE_WORD.search(module):
                self.project_clients.add(bound)
            else:
                self.others.add(bound)

    # -- what is a client ----------------------------------------------------------------

    def _is_client(self, node: ast.expr, depth: int = 0) -> bool:
        if depth > 8:
            return False
        node = _unwrap(node)
        if isinstance(node, ast.Name):
            bindings = self._values(node)
            if any(self._module(b) or self._holds_other(b) for b in bindings):
                return False
            if _client_name(node.id):
                return True
            return bool(bindings) and all(self._client_binding(b, depth) for b in bindings)
        if isinstance(node, ast.Attribute):
            if node.attr == "postgrest":
                return self._is_client(node.value, depth + 1)
            if _client_name(node.attr):
                return True
            return self._self_client(node, depth)
        if isinstance(node, ast.Call):
            func = _unwrap(node.func)
            if isinstance(func, ast.Name):
                name = func.id
                if name in self.factories or name in self.project_clients:
                    return True
                return _client_name(name) and name not in self.classes and (
                    not name[:1].isupper())
            if isinstance(func, ast.Attribute):
                owner = _unwrap(func.value)
                if isinstance(owner, ast.Name) and owner.id in self.modules:
                    return func.attr in _FACTORIES
                if func.attr == "schema":
                    return self._is_client(func.value, depth + 1)
                return _client_name(func.attr) and not func.attr[:1].isupper()
        return False

    def _is_channel(self, node: ast.expr, depth: int = 0) -> bool:
        """Whether `node` is certainly a Realtime channel of a supabase-py client:
        `client.channel("name")` (or `client.realtime.channel(...)`, awaited or not), the
        channel an `.on_postgres_changes(...)`/`.on_broadcast(...)`... returns (itself), a
        variable every binding of which in its scope is one of those, or `self.x` when every
        `self.x = ...` of its class is one (bindings to None aside)."""
        if depth > 8:
            return False
        node = _unwrap(node)
        if isinstance(node, ast.Name):
            values: list[ast.AST | None] = list(self._values(node))
        elif isinstance(node, ast.Attribute):
            values = [value for _, value in self._self_bindings(node)]
        else:
            values = []
        if values:
            # `self.channel = None` until it is made: None is no other library's channel.
            made = [v for v in values if not (isinstance(v, ast.expr) and _is_none(v))]
            return bool(made) and all(
                isinstance(v, ast.expr) and self._is_channel(v, depth + 1) for v in made)
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            return False
        method, owner = node.func.attr, node.func.value
        if method in _CHANNEL_RETURNING:
            return self._is_channel(owner, depth + 1)
        if method != "channel":
            return False
        inner = _unwrap(owner)
        if isinstance(inner, ast.Attribute) and inner.attr == "realtime":
            owner = inner.value
        return self._is_client(owner, depth + 1)

    def _typed(self, binding: ast.AST) -> bool:
        """Whether a binding that is no value (a parameter, an annotation) types a client."""
        annotation = getattr(binding, "annotation", None)
        return annotation is not None and self._client_type(annotation)

    def _client_type(self, annotation: ast.expr) -> bool:
        """`Client`, `AsyncClient` (imported from supabase-py), `supabase.Client`, also
        inside `Optional[...]`, `X | None` or a string annotation."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return False
        if isinstance(annotation, ast.Name):
            return annotation.id in self.types
        if isinstance(annotation, ast.Attribute):
            owner = annotation.value
            return (isinstance(owner, ast.Name) and owner.id in self.modules
                    and annotation.attr in _CLIENT_TYPES)
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            sides = [annotation.left, annotation.right]
            return any(self._client_type(s) for s in sides) and all(
                self._client_type(s) or _is_none(s) for s in sides)
        if isinstance(annotation, ast.Subscript) and isinstance(annotation.value, ast.Name) \
                and annotation.value.id == "Optional":
            return self._client_type(annotation.slice)
        return False

    def _self_client(self, node: ast.Attribute, depth: int) -> bool:
        """`self.db` where every `self.db = ...` (or `db: T` annotation) of the class makes
        or types a client."""
        bound = self._self_bindings(node)
        return bool(bound) and all(
            (annotation is not None and self._client_type(annotation))
            or (value is not None and self._is_client(value, depth + 1))
            for annotation, value in bound)

    def _self_bindings(self, node: ast.Attribute) -> list[tuple[ast.expr | None, ast.expr | None]]:
        """The (annotation, value) of each binding of `self.x` in its class: `self.x = v`,
        `self.x: T = v`, `x: T` in the class body; `self.x += ...` is (None, None). [] when
        `node` is no `self.x` in a class."""
        owner = node.value
        if not (isinstance(owner, ast.Name) and owner.id == "self"):
            return []
        cls = self.parents.get(id(node))
        while cls is not None and not isinstance(cls, ast.ClassDef):
            cls = self.parents.get(id(cls))
        if cls is None:
            return []
        found: list[tuple[ast.expr | None, ast.expr | None]] = []
        for child in ast.walk(cls):
            if isinstance(child, ast.AnnAssign):
                target = child.target
                if (isinstance(target, ast.Name) and target.id == node.attr) or (
                        _self_attribute(target, node.attr)):
                    found.append((child.annotation, child.value))
            elif isinstance(child, ast.Assign):
                for assigned in child.targets:
                    if _self_attribute(assigned, node.attr):
                        found.append((None, child.value))
            elif isinstance(child, ast.AugAssign) and _self_attribute(child.target, node.attr):
                found.append((None, None))
        return found

    # -- names and their bindings --------------------------------------------------------

    def _values(self, name: ast.Name) -> list[ast.AST]:
        """The bindings of the variable a name reads, in the innermost scope binding it:
        values (expressions), parameters (`ast.arg`), annotations typing a client
        (`ast.AnnAssign`), imports (`ast.alias`) or any other binding node (a loop's target,
        `global`...); [] when no scope of the module binds it."""
        for scope in self._scopes_around(name):
            bound = self._bound(scope).get(name.id)
            if bound is not None:
                return bound
        return []

    def _client_binding(self, binding: ast.AST, depth: int) -> bool:
        if isinstance(binding, ast.expr):
            return self._is_client(binding, depth + 1)
        return isinstance(binding, (ast.arg, ast.AnnAssign)) and self._typed(binding)

    def _module(self, binding: ast.AST) -> bool:
        """Whether a binding is `import x` (a module: its `.table()` is no client's)."""
        return isinstance(binding, ast.alias) and isinstance(
            self.parents.get(id(binding)), ast.Import)

    def _holds_other(self, binding: ast.AST) -> bool:
        """Whether a binding is to what another library makes: a call of a class (by its
        capitalised name, or defined in the module) other than supabase-py's, or a call
        through a name imported from a module not naming supabase, none of whose names in
        the call say supabase (`duckdb.connect()`, `get_db()`; not `get_supabase()`)."""
        if not isinstance(binding, ast.expr):
            return False
        value = _unwrap(binding)
        if not isinstance(value, ast.Call):
            return False
        names: list[str] = []
        root: ast.expr = value
        while isinstance(root, (ast.Call, ast.Attribute)):
            if isinstance(root, ast.Attribute):
                names.append(root.attr)
            root = _unwrap(root.func if isinstance(root, ast.Call) else root.value)
        if not isinstance(root, ast.Name):
            return False
        callee = names[0] if names else root.id
        if root.id in self.factories or root.id in self.modules or (
                root.id in self.project_clients):
            return False
        if callee[:1].isupper() or (not names and root.id in self.classes):
            return True
        return root.id in self.others and not any(
            _client_name(n) for n in (root.id, *names))

    def _scopes_around(self, node: ast.AST) -> Iterator[ast.AST]:
        scope = self.x._scope_of(node)
        while True:
            yield scope
            if isinstance(scope, ast.Module):
                return
            scope = self.x._scope_of(scope)

    def _bound(self, scope: ast.AST) -> dict[str, list[ast.AST]]:
        """Name -> its bindings in `scope` (see `_values`)."""
        cached = self.bindings.get(id(scope))
        if cached is not None:
            return cached
        found: dict[str, list[ast.AST]] = {}
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = scope.args
            for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
                found.setdefault(arg.arg, []).append(arg)
            for rest in (arguments.vararg, arguments.kwarg):
                if rest is not None:
                    found.setdefault(rest.arg, []).append(scope)
        pending: list[ast.AST]
        if isinstance(scope, ast.Lambda):
            pending = [scope.body]
        elif isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            pending = list(scope.body)  # not its decorators' and defaults' names
        else:
            pending = list(ast.iter_child_nodes(scope))
        while pending:
            node = pending.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.setdefault(node.name, []).append(node)
                continue
            if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                 ast.GeneratorExp)):
                continue
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                    node.targets[0], ast.Name):
                found.setdefault(node.targets[0].id, []).append(node.value)
                pending.append(node.value)
                continue
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                found.setdefault(node.target.id, []).append(
                    node.value if node.value is not None and not self._client_type(
                        node.annotation) else node)
                if node.value is not None:
                    pending.append(node.value)
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    found.setdefault(alias.asname or alias.name.partition(".")[0],
                                     []).append(alias)
                continue
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                found.setdefault(node.id, []).append(node)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                for name in node.names:
                    found.setdefault(name, []).append(node)
            pending.extend(ast.iter_child_nodes(node))
        self.bindings[id(scope)] = found
        return found

    def _assignment(self, name: ast.Name) -> ast.Assign | None:
        """The one `name = value` statement binding the variable a name reads, if that is
        its only binding."""
        values = self._values(name)
        if not values or len(values) != 1 or not isinstance(values[0], ast.expr):
            return None
        statement = self.parents.get(id(values[0]))
        return statement if isinstance(statement, ast.Assign) else None

    # -- requests ------------------------------------------------------------------------

    def _request(self, call: ast.Call) -> PostgrestRequest | None:
        func = call.func
        assert isinstance(func, ast.Attribute)
        kind = _KINDS[func.attr]
        first = _argument(call, 0, "table_name" if kind == "from" else "fn")
        if first is None:
            first = _argument(call, 0, "table" if kind == "from" else "func")
        if first is None:
            return None
        arguments: list[JsValue] = [self.value(first)]
        if kind == "rpc":
            if any(k.arg in ("get", "head") and not _is_false(k.value) for k in call.keywords) \
                    or len(call.args) > 3 or any(k.arg is None for k in call.keywords):
                return None  # its arguments go in the query string, or are not known
            params = _argument(call, 1, "params")
            if params is not None and not _is_none(params):
                arguments.append(self.value(params))
        schema, schema_dynamic = self._schema(func.value)
        if schema is None and not schema_dynamic:
            client = _unwrap(func.value)
            assignment = self._assignment(client) if isinstance(client, ast.Name) else None
            if assignment is not None and self._is_client(assignment.value):
                schema = self._db_schema(assignment.value) or self._schema(assignment.value)[0]
        target, dynamic = literal_target(
            arguments[0], f"the {'table' if kind == 'from' else 'function'} name")
        where = self._name_location(func)
        calls = [PostgrestCall(kind, tuple(arguments), where)]
        calls += self._chained(call)[0]
        if kind == "from" and _bucket(calls):
            return None
        return PostgrestRequest(self.path, kind, target, schema, tuple(calls), where,
                                dynamic, schema_dynamic)

    def _realtime(self, call: ast.Call) -> PostgrestRequest | None:
        """`channel.on_postgres_changes(event, callback, table=, schema=, filter=)` as
        supabase-js's `channel.on('postgres_changes', { event, schema, table, filter }, cb)`.

        realtime-py's defaults: no table (or `"*"`) listens to the whole schema, which names
        nothing to check; no schema is `public` (older versions send it, newer ones leave it
        to the server, which takes `public`). A schema that is not a literal is not read,
        as in supabase-js.
        """
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
                k.arg is None for k in call.keywords):
            return None  # `**options`: which table is not known
        table = _argument(call, 2, "table")
        if table is None or _is_none(table):
            return None
        target = self.value(table)
        if isinstance(target, SqlFragment) and target.sql == "*":
            return None
        written_schema = _argument(call, 3, "schema")
        if written_schema is None or _is_none(written_schema):
            schema = self._synthetic("public", table)
        else:
            found = self.value(written_schema)
            if not isinstance(found, SqlFragment) or found.sql == "*":
                return None
            schema = found
        options: dict[str, JsValue] = {"schema": schema, "table": target}
        event = _argument(call, 0, "event")
        if event is not None:
            options["event"] = self._event(event)
        written_filter = _argument(call, 4, "filter")
        if written_filter is not None and not _is_none(written_filter):
            options["filter"] = self.value(written_filter)
        func = call.func
        assert isinstance(func, ast.Attribute)
        where = self._name_location(func)
        arguments = (self._synthetic("postgres_changes", func),
                     JsObject(tuple(self._synthetic(key, call) for key in options),
                              tuple(options.values()), True))
        literal, dynamic = literal_target(target, "the Realtime table")
        return PostgrestRequest(self.path, "realtime", literal, schema,
                                (PostgrestCall("realtime", arguments, where),), where, dynamic)

    def _event(self, node: ast.expr) -> JsValue:
        """The event a subscription listens to: a string, or a member of realtime-py's
        `RealtimePostgresChangesListenEvent` (`.Insert` sends `INSERT`)."""
        if isinstance(node, ast.Attribute) and node.attr in _EVENTS and isinstance(
                node.value, ast.Name) and node.value.id in self.events:
            return self._synthetic(_EVENTS[node.attr], node)
        return self.value(node)

    def _schema(self, receiver: ast.expr) -> tuple[SqlFragment | None, bool]:
        """The schema of `client.schema("s")` (or `.postgrest.schema("s")`)."""
        receiver = _unwrap(receiver)
        if not (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute)
                and receiver.func.attr == "schema"):
            return None, False
        value = _argument(receiver, 0, "schema")
        found = self.value(value) if value is not None else None
        if isinstance(found, SqlFragment):
            return found, False
        return None, True

    def _db_schema(self, value: ast.expr) -> SqlFragment | None:
        """The literal `schema=` of the `ClientOptions(...)` a client factory call is given."""
        value = _unwrap(value)
        if not isinstance(value, ast.Call):
            return None
        for argument in (*value.args, *(k.value for k in value.keywords)):
            if isinstance(argument, ast.Call) and isinstance(argument.func, ast.Name) and (
                    argument.func.id in self.options):
                schema = next((k.value for k in argument.keywords if k.arg == "schema"), None)
                found = self.value(schema) if schema is not None else None
                if isinstance(found, SqlFragment):
                    return found
        return None

    def _chained(self, node: ast.expr) -> tuple[list[PostgrestCall], ast.expr]:
        """The method calls chained on `node` as supabase-js's, and the chain's last node."""
        calls: list[PostgrestCall] = []
        negated: ast.Attribute | None = None
        while True:
            parent = self.parents.get(id(node))
            if not isinstance(parent, ast.Attribute) or parent.value is not node:
                break
            if parent.attr == "not_":  # a property: the next filter is negated
                negated, node = parent, parent
                continue
            outer = self.parents.get(id(parent))
            if not isinstance(outer, ast.Call) or outer.func is not parent:
                break
            calls.append(self._call(parent, outer, negated))
            negated = None
            node = outer
        return calls, node

    def _call(self, method: ast.Attribute, call: ast.Call,
              negated: ast.Attribute | None) -> PostgrestCall:
        """One postgrest-py call as the supabase-js call sending the same parameters."""
        name = method.attr
        where = self._name_location(method)
        args = [a for a in call.args]
        keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
        spread = any(isinstance(a, ast.Starred) for a in args) or any(
            k.arg is None for k in call.keywords)

        def value(index: int, keyword: str) -> JsValue:
            node = args[index] if index < len(args) else keywords.get(keyword)
            return self.value(node) if node is not None else None

        if name == "select":
            if spread:
                return PostgrestCall("select", (self._other(call),), where)
            return PostgrestCall("select", (self._columns(args),) if args else (), where)
        if name in ("insert", "update"):
            return PostgrestCall(name, (value(0, "json"),), where)
        if name == "upsert":
            conflict = keywords.get("on_conflict")
            options = () if conflict is None or (
                isinstance(conflict, ast.Constant) and conflict.value == "") else (
                self._options(call, {"onConflict": conflict}),)
            return PostgrestCall(name, (value(0, "json"), *options), where)
        if name == "or_":
            table = args[1] if len(args) > 1 else keywords.get("reference_table")
            options = () if table is None or _is_none(table) else (
                self._options(call, {"referencedTable": table}),)
            return PostgrestCall("or", (value(0, "filters"), *options), where)
        if name == "order":
            table = keywords.get("foreign_table")
            options = () if table is None or _is_none(table) else (
                self._options(call, {"referencedTable": table}),)
            return PostgrestCall("order", (value(0, "column"), *options), where)
        if name == "match":
            return PostgrestCall("match", (value(0, "query"),), where)
        column = value(0, "column")
        if name == "filter":
            operator, criteria = value(1, "operator"), value(2, "criteria")
            if negated is not None and isinstance(operator, SqlFragment):
                operator = self._synthetic("not." + operator.sql, negated)
            return PostgrestCall("filter", (column, operator, criteria), where)
        if negated is not None and name in (*_RENAMED, "eq", "neq", "gt", "gte", "lt", "lte",
                                            "like", "ilike", "contains", "overlaps"):
            operator = self._synthetic(_OPERATORS.get(name, _RENAMED.get(name, name)), method)
            return PostgrestCall("not", (column, operator, value(1, "value")), where)
        if name in _RENAMED:
            name = _RENAMED[name]
        rest = tuple(self.value(a) for a in args[1:]) if args else ()
        return PostgrestCall(name, (column, *rest) if column is not None or rest else (), where)

    def _columns(self, args: list[ast.expr]) -> JsValue:
        """`select("a", "b")`: postgrest-py sends its arguments joined by commas."""
        parts = [self.value(a) for a in args]
        if len(parts) == 1:
            return parts[0]
        if not all(isinstance(p, SqlFragment) for p in parts):
            return next(p for p in parts if not isinstance(p, SqlFragment))
        text, spans = "", list[tuple[int, int, int]]()
        for part in parts:
            assert isinstance(part, SqlFragment)
            if text:
                text += ","
            spans.extend((offset + len(text), line, column) for offset, line, column in part.spans)
            text += part.sql
        return SqlFragment(self.path, text, tuple(spans), origin="python")

    def _options(self, call: ast.Call, options: dict[str, ast.expr]) -> JsObject:
        """A supabase-js options object for keyword arguments of a call."""
        keys = tuple(self._synthetic(key, node) for key, node in options.items())
        values = tuple(self.value(node) for node in options.values())
        return JsObject(keys, values, True)

    def _synthetic(self, text: str, node: ast.expr) -> SqlFragment:
        line, column = self.x._position(node.lineno, node.col_offset)
        return SqlFragment(self.path, text, ((0, line, column),), origin="python")

    def _name_location(self, attribute: ast.Attribute):
        """Where the method name of `receiver.method` is written."""
        from dbsafe.core import Location

        end_line = attribute.end_lineno or attribute.lineno
        end = attribute.end_col_offset or 0
        line, column = self.x._position(end_line, end)
        start = column - len(attribute.attr)
        return Location(self.path, line, start, line, column - 1)

    # -- values --------------------------------------------------------------------------

    def value(self, node: ast.expr, *, follow: bool = True) -> JsValue:
        """What dbsafe reads of an argument: strings, dict and list literals."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return self._string(node)
            if node.value is None:
                return JsOther("null", self._location(node))
            return self._other(node)
        if isinstance(node, ast.JoinedStr):
            template = self.x._literal(node)
            return JsOther(_short(self._text(node)), self._location(node), string_like=True,
                           template=None if template.problem else template)
        if isinstance(node, ast.Dict):
            keys: list[SqlFragment] = []
            values: list[JsValue] = []
            complete = True
            for key, item in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    keys.append(self._string(key))
                    values.append(self.value(item, follow=follow))
                else:  # `**rest`, or a computed key
                    complete = False
            return JsObject(tuple(keys), tuple(values), complete)
        if isinstance(node, (ast.List, ast.Tuple)):
            return JsArray(tuple(self.value(e, follow=follow) for e in node.elts
                                 if not isinstance(e, ast.Starred)),
                           not any(isinstance(e, ast.Starred) for e in node.elts))
        if isinstance(node, ast.ListComp) and isinstance(node.elt, ast.Dict):
            # `[{"id": i} for i in ids]`: rows of those keys.
            return JsArray((self.value(node.elt, follow=follow),), True)
        if isinstance(node, ast.IfExp):
            # `"id, title" if full else "id"`: checked as each string, as supabase-js's
            # `full ? 'id, title' : 'id'` is (`postgrest.check`); any other branch leaves
            # the value unread.
            options = self._choices(node)
            if options:
                return JsOther(_short(self._text(node)), self._location(node),
                               string_like=True, options=options)
        if isinstance(node, ast.Name) and follow:
            assignment = self._assignment(node)
            bound = assignment.value if assignment is not None else None
            if isinstance(bound, ast.Constant) and isinstance(bound.value, str):
                return self._string(bound)
            if isinstance(bound, (ast.Dict, ast.ListComp)) and self._keys_kept(node, bound):
                found = self.value(bound, follow=False)
                if isinstance(found, JsObject):
                    return JsObject(found.keys, found.values, found.complete, bound=True)
                if isinstance(found, JsArray):
                    return JsArray(tuple(
                        JsObject(r.keys, r.values, r.complete, bound=True)
                        if isinstance(r, JsObject) else r for r in found.items), found.complete)
        return self._other(node)

    def _choices(self, node: ast.expr, depth: int = 0) -> tuple[SqlFragment, ...]:
        """The strings a conditional expression of string literals may be (nested ones
        too, at most 8); none when a branch is anything else."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return (self._string(node),)
        if not isinstance(node, ast.IfExp) or depth > 3:
            return ()
        body, orelse = self._choices(node.body, depth + 1), self._choices(node.orelse, depth + 1)
        found = (*body, *orelse) if body and orelse else ()
        return found if len(found) <= 8 else ()

    def _keys_kept(self, name: ast.Name, bound: ast.expr) -> bool:
        """Whether the dict a name is bound to keeps its literal keys until `name` is read:
        no `del d[k]`, `d.pop(...)`, `d.clear()`, nor the dict handed to another call (which
        may do so) in the scope."""
        scope = self.x._scope_of(bound)
        for node in ast.walk(scope):
            if not (isinstance(node, ast.Name) and node.id == name.id) or node is name:
                continue
            parent = self.parents.get(id(node))
            if isinstance(parent, ast.Attribute) and parent.attr in _REMOVING:
                return False
            if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Del):
                return False
            if isinstance(parent, ast.keyword):
                parent = self.parents.get(id(parent))
            if isinstance(parent, ast.Starred):
                return False
            if isinstance(parent, ast.Call) and parent.func is not node and (
                    _callee(parent) not in _KEEPING):
                return False
        return True

    def _string(self, node: ast.Constant) -> SqlFragment:
        template: Template = self.x._literal(node)
        if template.problem or not template.spans:
            line, column = self.x._position(node.lineno, node.col_offset)
            return SqlFragment(self.path, str(node.value), ((0, line, column + 1),),
                               origin="python")
        return SqlFragment(self.path, template.text, template.spans, origin="python")

    def _other(self, node: ast.expr) -> JsOther:
        return JsOther(_short(self._text(node)), self._location(node))

    def _text(self, node: ast.expr) -> str:
        start = self.x._offset(node.lineno, node.col_offset)
        end = self.x._offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
        return self.x.source[start:end]

    def _location(self, node: ast.expr):
        from dbsafe.core import Location

        return Location(self.path, *self.x._position(node.lineno, node.col_offset))

    # -- a query held in a variable --------------------------------------------------------

    def _followed(self, call: ast.Call, origin: PostgrestRequest) -> list[PostgrestRequest]:
        """The requests a query held in a variable makes later in its function.

        `q = supabase.table("t").select("id")`, then `q = q.eq("c", 1)` (under conditions,
        in loops) and `q.execute()`: each later chain on `q` is a request of that table,
        after the calls made on `q` before it. Followed only when which query `q` holds is
        certain (supabase-js's rules): `q` is bound nowhere else in its scope but in
        `q = q.<calls>`, read only at the start of a chain, in `await q` or `return q`, not
        before its assignment, not in another function when a `q = q...` exists, and no
        `q = q...` selects.
        """
        if origin.target is None or origin.dynamic or origin.schema_dynamic:
            return []
        holder = self._chained(call)[1]
        statement = self.parents.get(id(holder))
        if not (isinstance(statement, ast.Assign) and statement.value is holder
                and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
            return []
        target = statement.targets[0]
        key = target.id
        scope = self.x._scope_of(statement)
        bound = self._bound(scope).get(key, [])
        uses: list[tuple[tuple[int, int], list[PostgrestCall], ast.Assign | None]] = []
        extensions: list[ast.Assign] = []
        closure = False
        start = (statement.end_lineno or statement.lineno, statement.end_col_offset or 0)
        for node in ast.walk(scope):
            if not isinstance(node, ast.Name) or node.id != key or node is target:
                continue
            home = self.x._scope_of(node)
            if home is not scope:
                inner = self._bound(home).get(key)
                if inner and any(isinstance(b, (ast.Global, ast.Nonlocal)) for b in inner):
                    return []  # another function assigns it
                if inner:
                    continue  # another variable of the same name
                closure = True
            if not isinstance(node.ctx, ast.Load):
                parent = self.parents.get(id(node))
                if isinstance(parent, ast.Assign) and home is scope:
                    extensions.append(parent)  # checked against the uses below
                    continue
                return []  # `for q in ...`, `with ... as q`, `q += ...`, `del q`
            at = (node.lineno, node.col_offset)
            if at < start:
                return []  # read before it holds the query
            parent = self.parents.get(id(node))
            if isinstance(parent, (ast.Await, ast.Return)):
                continue
            calls, end = self._chained(node)
            if not calls:
                return []  # an argument, stored, compared: where it goes is not known
            assignment = self.parents.get(id(end))
            if not (isinstance(assignment, ast.Assign) and assignment.value is end
                    and len(assignment.targets) == 1
                    and isinstance(assignment.targets[0], ast.Name)
                    and assignment.targets[0].id == key and home is scope):
                assignment = None
            uses.append((at, calls, assignment))
        extended = sorted(((a, calls) for _, calls, a in uses if a is not None),
                          key=lambda e: (e[0].lineno, e[0].col_offset))
        if len(bound) != 1 + len(extensions) or {id(a) for a in extensions} != {
                id(a) for a, _ in extended}:
            return []  # bound to something else too (`q = other`, `q = f(q)`)
        if extended and closure:
            return []
        if any(c.method == "select" for _, calls in extended for c in calls):
            return []
        selecting = {at for at, calls, _ in uses if any(c.method == "select" for c in calls)}
        requests: list[PostgrestRequest] = []
        for at, calls, _ in sorted(uses, key=lambda use: use[0]):
            before = list(origin.calls)
            for assignment, added in extended:
                if (assignment.end_lineno or 0, assignment.end_col_offset or 0) <= at:
                    before += added
            whole = [*before, *calls]
            if origin.kind == "from" and _bucket(whole):
                continue
            requests.append(PostgrestRequest(
                self.path, origin.kind, origin.target, origin.schema, tuple(whole),
                calls[0].location, inherited=len(before),
                select_shared=bool(selecting - {at})))
        return requests


def _client_name(name: str) -> bool:
    """Whether a name says it holds a supabase client, not its storage API."""
    return bool(_CLIENT_WORD.search(name)) and not _STORAGE_WORD.search(name)


def _self_attribute(node: ast.expr, attr: str) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == attr
            and isinstance(node.value, ast.Name) and node.value.id == "self")


def _unwrap(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Await):
        node = node.value
    return node


def _argument(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    if index < len(call.args) and not any(isinstance(a, ast.Starred)
                                          for a in call.args[:index + 1]):
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _callee(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else (
        func.id if isinstance(func, ast.Name) else None)


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_false(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."
