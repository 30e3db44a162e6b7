"""The project's Python functions that return a client of another engine than PostgreSQL
(or `None`), for the modules that import them.

Tendenci's `tendenci/apps/base/utils.py` makes its Salesforce client in
`get_salesforce_access()`, which returns `Salesforce(...)`, or None when the settings lack
credentials; `events/utils.py` imports it and sends SOQL through what it returns (`sf =
get_salesforce_access()`, `sf.query("SELECT Id FROM Contact WHERE Email='%s'" % ...)`).
Within one module the extractor reads such a function itself
(`python._Extractor._engine_returned`); this index carries what it finds to the modules
calling the function by its import: `from x import f` then `f()`, `import x` then `x.f()`,
a relative import, or a package re-exporting it (`from .utils import f` in its
`__init__.py`).

What a function counts as returning is the same-module rule's: every value it returns but
`None` is one engine's client as its module shows it (`python.clients_returned`), or what a
function of another module of the project returns that is (a wrapper, `def sf(): return
get_salesforce_access()`), followed until nothing changes. One value the module does not
show is another engine's (a PostgreSQL connection, one engine's client or the other's by a
setting, a bare `return`) keeps the function out: its statements stay checked.

Read: the modules naming one of the engines (`engines.ENGINES`' words), and then those
naming a function found (wrappers and re-exports), each file's facts kept by its size and
modification time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbsafe.extract.py_parsers import PythonFiles

# (the modules' facts: what each module-level function returns, what the module imports)
Facts = dict[str, Any]


def client_functions(files: Sequence[tuple[str, str]] | PythonFiles,
                     memo: dict[str, list[object]] | None = None) -> dict[str, str]:
    """The index: each dotted name a project function may be imported by (its module's
    tails of two names or more; a package's re-export of it too) -> the name of the engine
    whose client it returns (`Engine.name`). `files` and `memo` as
    `py_parsers.parsing_functions` takes them.

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "utils.py").write_text(
    ...         "import duckdb\\ndef warehouse(path=None):\\n"
    ...         "    if path is None:\\n        return None\\n"
    ...         "    return duckdb.connect(path)\\n")
    ...     client_functions([(str(Path(d, "utils.py")), "app/utils.py")])
    {'app.utils.warehouse': 'DuckDB', 'utils.warehouse': 'DuckDB'}
    """
    from dbsafe.extract.engines import ENGINES, SQLGLOT
    from dbsafe.extract.py_parsers import PythonFiles, _File

    words = sorted({word.encode() for engine in ENGINES if engine is not SQLGLOT
                    for word in engine.words})
    sources = PythonFiles.of(files, memo).sources
    facts: dict[str, Facts] = {}  # module -> its facts, for the modules read

    def read(source: _File) -> None:
        module = source.module
        if module not in facts:
            facts[module] = _fact(source, "clients", _returned, None) or {}

    for source in sources:
        if _fact(source, "names-engine", _names_engine, words):
            read(source)
    found: dict[str, str] = {}
    while True:
        found = _resolve(facts)
        # The modules naming a function found: its wrappers and re-exports.
        names = sorted({full.rpartition(".")[2] for full in found})
        before = len(facts)
        for name in names:
            for source in sources:
                # ("holds:": `py_parsers`' "name:" also asks that the module parse, and the
                # three indexes keep their facts in one memo)
                if source.module not in facts and _fact(
                        source, f"holds:{name}", _holds, name.encode()):
                    read(source)
        if len(facts) == before:
            break
    # A module by each tail of its dotted name, "" for a tail two modules have (`utils` of
    # Tendenci's many `utils.py`): a function is known by its module's tails that name no
    # other module.
    modules: dict[str, str] = {}
    for source in sources:
        full = source.module
        parts = full.split(".")
        for i in range(len(parts)):
            tail = ".".join(parts[i:])
            modules[tail] = full if modules.get(tail, full) == full else ""
    index: dict[str, str] = {}
    for full, engine in found.items():
        module, _, name = full.rpartition(".")
        parts = module.split(".")
        for i in range(len(parts)):
            tail = ".".join(parts[i:])
            if modules.get(tail) == module:
                index[f"{tail}.{name}"] = engine
    return dict(sorted(index.items()))


def _fact(source: Any, key: str, compute: Callable[[Any, Any], Any], given: Any) -> Any:
    """One of a file's facts, `compute(source, given)`, computed once and kept with its
    stamp (`_File.kept`)."""
    if source.kept is None:
        return None
    if key not in source.kept:
        source.kept[key] = compute(source, given)
    return source.kept[key]


def _names_engine(source: Any, words: list[bytes]) -> bool:
    """Whether a module may return an engine's client: it names one of them."""
    data = source._read().lower()
    return b"return" in data and any(word in data for word in words)


def _holds(source: Any, name: bytes) -> bool:
    return name in source._read()


def _returned(source: Any, _: object) -> Facts | None:
    from dbsafe.extract.python import clients_returned

    data = source._read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return clients_returned(text, source.rel)


def _resolve(facts: Mapping[str, Facts]) -> dict[str, str]:
    """Each function's full dotted name (a re-export's too) -> the engine it returns a
    client of, what its calls of other modules' functions return followed."""
    from dbsafe.extract.py_parsers import _names

    returns = {f"{module}.{name}": values for module, fact in facts.items()
               for name, values in fact.get("functions", {}).items()}
    exports = {f"{module}.{local}": dotted for module, fact in facts.items()
               for local, dotted in fact.get("imports", {}).items()}
    by_name = _names([*returns, *exports])
    found: dict[str, str] = {}

    def engine_of(dotted: str) -> str | None:
        return found.get(by_name.get(dotted) or "")

    changed = True
    while changed:  # a function found stays found: this ends
        changed = False
        for full, values in returns.items():
            if full in found:
                continue
            engines = {value if kind == "engine" else engine_of(value)
                       for kind, value in values}
            if len(engines) == 1 and None not in engines:
                found[full] = engines.pop()  # type: ignore[assignment]
                changed = True
        for full, dotted in exports.items():
            if full not in found and full not in returns and (engine := engine_of(dotted)):
                found[full] = engine
                changed = True
    return found


def key(index: Mapping[str, str]) -> str:
    """A stable text of the index, for cache keys."""
    return repr(sorted(index.items()))


def constants_sent_elsewhere(files: Sequence[tuple[str, str]] | PythonFiles,
                             memo: dict[str, list[object]] | None = None) -> dict[str, str]:
    """The project's module-level names that other modules import only to send to one
    other engine, by each dotted name they may be known by (as `client_functions` keys
    its functions) -> that engine's name.

    course-discovery keeps its Snowflake queries in `course_metadata/constants.py`
    (`SNOWFLAKE_POPULATE_COURSE_LENGTH_QUERY = '''WITH completions as (... FROM
    business_intelligence.bi_course_completion ...'''`), a module naming no database;
    `populate_course_length.py` imports it and runs it on a `snowflake.connector`
    cursor (`cs.execute(SNOWFLAKE_POPULATE_COURSE_LENGTH_QUERY)`). Read alone, the
    constant is clearly SQL and was checked as PostgreSQL's: its schemas are the
    warehouse's. A name is in the index when

    - a module naming an engine (`engines.ENGINES`' words) imports it by `from x import
      NAME` and sends it, at every read, to that engine (`python.names_sent_elsewhere`);
    - every other module of the project holding the name's text, but the module binding
      it, is such a module, sending it to the same engine (one passing it on, importing
      its module whole, `x.NAME`, or re-exporting it may send it to PostgreSQL: the
      name stays out, its statement checked).

    The module binding it reads the index for its own constants (`python._Extractor`):
    one bound once at its top level and read nowhere in the module is that engine's.

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "queries.py").write_text("Q = 'SELECT a FROM w.t'\\n")
    ...     _ = Path(d, "job.py").write_text(
    ...         "import snowflake.connector\\nfrom app.queries import Q\\n"
    ...         "snowflake.connector.connect().cursor().execute(Q)\\n")
    ...     files = [(str(Path(d, n)), f"app/{n}") for n in ("queries.py", "job.py")]
    ...     constants_sent_elsewhere(files)
    {'app.queries.Q': 'Snowflake', 'queries.Q': 'Snowflake'}
    """
    from dbsafe.extract.engines import ENGINES, SQLGLOT
    from dbsafe.extract.py_parsers import PythonFiles

    words = sorted({word.encode() for engine in ENGINES if engine is not SQLGLOT
                    for word in engine.words})
    sources = PythonFiles.of(files, memo).sources
    modules = _tails(source.module for source in sources)
    sent: dict[str, dict[str, str]] = {}  # module -> the names it sends elsewhere -> engine
    for source in sources:
        if _fact(source, "names-engine-at-all", _names_engine_at_all, words):
            names = _fact(source, "sent-names", _sent_names, None)
            if names:
                sent[source.module] = names
    # Each name sent (its module's full dotted name) -> the engine, and the modules sending it.
    engines: dict[str, set[str]] = {}
    senders: dict[str, set[str]] = {}
    for module, names in sent.items():
        for dotted, engine in names.items():
            where, _, name = dotted.rpartition(".")
            full = modules.get(where)
            if full and full != module:
                engines.setdefault(f"{full}.{name}", set()).add(engine)
                senders.setdefault(f"{full}.{name}", set()).add(module)
    found: dict[str, str] = {}
    for full, named in sorted(engines.items()):
        module, _, name = full.rpartition(".")
        if len(named) != 1:
            continue
        engine = named.pop()
        holders = {source.module for source in sources
                   if _fact(source, f"holds:{name}", _holds, name.encode())}
        if holders - senders[full] - {module}:
            continue  # another module names it: it may send it to PostgreSQL
        found[full] = engine
    index: dict[str, str] = {}
    for full, engine in found.items():
        module, _, name = full.rpartition(".")
        for tail in _tails_of(module):
            if modules.get(tail) == module:
                index[f"{tail}.{name}"] = engine
    return dict(sorted(index.items()))


def _tails_of(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


def _tails(modules: Iterable[str]) -> dict[str, str]:
    """Each tail of each module's dotted name -> that module, "" for a tail two have."""
    found: dict[str, str] = {}
    for full in modules:
        for tail in _tails_of(full):
            found[tail] = full if found.get(tail, full) == full else ""
    return found


def _names_engine_at_all(source: Any, words: list[bytes]) -> bool:
    data = source._read().lower()
    return any(word in data for word in words)


def _sent_names(source: Any, _: object) -> dict[str, str] | None:
    from dbsafe.extract.python import names_sent_elsewhere

    data = source._read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return names_sent_elsewhere(text, source.rel) or None
