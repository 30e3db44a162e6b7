"""The hosted Supabase projects and variables a project's code ties to its own URL.

`process.env.NEXT_PUBLIC_SUPABASE_URL || 'https://<ref>.supabase.co'` says `<ref>` is the
project the app's own clients reach (vercel-supabase-web3-start's clients, whose scripts
hard-code the same ref alone): such a ref is the project's own whatever its config or env
examples name (`validate.supabase_projects`), and so is a variable read in such a chain
(`process.env.DB_URL ?? process.env.SUPABASE_URL`). Every JS/TS file of the project holding both
`.supabase.co` and `SUPABASE_URL` is read with tree-sitter for a chain of `||`/`??` holding
an own variable (`OWN_URL_NAME`: `SUPABASE_URL`, with a framework's prefix) read from an
environment (`process.env.X`, `import.meta.env.X`, `process.env['X']`, `Deno.env.get('X')`)
and a literal `https://<ref>.supabase.co` or another variable; each file's facts are kept by the caller by its
size and modification time (`memo`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dbsafe.extract.files import kept_entry

if TYPE_CHECKING:
    from tree_sitter import Node

# The names the app's own clients read the project's URL from (a framework's public prefix)
OWN_URL_NAME = re.compile(
    r"(?:NEXT_PUBLIC_|VITE_|EXPO_PUBLIC_|PUBLIC_|REACT_APP_|NUXT_PUBLIC_|NUXT_|GATSBY_|"
    r"VUE_APP_|NX_|NG_APP_|STORYBOOK_|PLASMO_PUBLIC_|WXT_)?SUPABASE_URL")
_HOSTED_REF = re.compile(r"https://([a-z]{20})\.supabase\.co/?")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_SCRIPTS = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts")
_MAX_BYTES = 1_000_000


def own_refs_in_code(files: Sequence[tuple[str, str]],
                     memo: dict[str, list[object]] | None = None) -> dict[str, str]:
    """Each ref (as `<ref>.supabase.co`) and variable a file of `files` ((path, path from the
    project's root) pairs) reads in one chain with an own URL variable, with where
    (`path:line`).

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "a.ts").write_text("const url = process.env.NEXT_PUBLIC_SUPABASE_URL"
    ...                                    " ?? 'https://abcdefghijklmnopqrst.supabase.co'")
    ...     own_refs_in_code([(str(Path(d, "a.ts")), "a.ts")])
    {'abcdefghijklmnopqrst.supabase.co': 'a.ts:1'}
    """
    found: dict[str, str] = {}
    for path, display in files:
        if not path.endswith(_SCRIPTS):
            continue
        seen = kept_entry(memo, display, path)
        if seen is None:
            continue
        stamp, known = seen
        if known is not None and isinstance(known[2], list):
            facts = known[2]
        else:
            facts = _file_refs(path, stamp[0])
            if memo is not None:
                memo[display] = [*stamp, facts]
        for ref, line in facts:
            found.setdefault(ref, f"{display}:{line}")
    return found


def _file_refs(path: str, size: int) -> list[list]:
    """[ref or variable, line] of each read in one chain with an own URL variable in one
    file."""
    if size > _MAX_BYTES:
        return []
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except OSError:
        return []
    if b".supabase.co" not in data or b"SUPABASE_URL" not in data:
        return []
    from dbsafe.extract.javascript import _grammar, _parser

    tree = _parser(_grammar(path)).parse(data)
    refs: list[list] = []
    stack: list[Node] = [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if not _chain(node) or (node.parent is not None and _chain(node.parent)):
            continue
        operands = list(_operands(node))
        variables = [_variable(o, data) for o in operands]
        if not any(OWN_URL_NAME.fullmatch(v) for v in variables if v):
            continue
        refs.extend([v, o.start_point[0] + 1] for v, o in zip(variables, operands, strict=True)
                    if v and not OWN_URL_NAME.fullmatch(v))
        for operand in operands:
            if operand.type in ("string", "template_string") and not any(
                    c.type == "template_substitution" for c in operand.named_children):
                hosted = _HOSTED_REF.fullmatch(_text(operand, data)[1:-1])
                if hosted is not None:
                    refs.append([hosted[1] + ".supabase.co", operand.start_point[0] + 1])
    return refs


def _chain(node: Node) -> bool:
    operator = node.child_by_field_name("operator") if node.type == "binary_expression" \
        else None
    return operator is not None and operator.type in ("||", "??")


def _operands(node: Node):
    while node.type in ("parenthesized_expression", "non_null_expression", "as_expression",
                        "satisfies_expression") and node.named_children:
        node = node.named_children[0]
    if _chain(node):
        for side in ("left", "right"):
            part = node.child_by_field_name(side)
            if part is not None:
                yield from _operands(part)
    else:
        yield node


def _variable(node: Node, data: bytes) -> str | None:
    """The environment variable `process.env.X` (any `env.X`), `process.env['X']`,
    `Deno.env.get('X')` reads."""
    if node.type == "member_expression":
        holder, name = node.child_by_field_name("object"), node.child_by_field_name("property")
    elif node.type == "subscript_expression":
        holder, name = node.child_by_field_name("object"), node.child_by_field_name("index")
    elif node.type == "call_expression":
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if function is None or function.type != "member_expression" or arguments is None \
                or len(arguments.named_children) != 1:
            return None
        method = function.child_by_field_name("property")
        if method is None or _text(method, data) != "get":
            return None
        holder, name = function.child_by_field_name("object"), arguments.named_children[0]
    else:
        return None
    if holder is None or name is None or name.type not in ("property_identifier", "string"):
        return None
    last = holder.child_by_field_name("property") if holder.type == "member_expression" \
        else holder
    variable = _text(name, data).strip("'\"`")
    return variable if last is not None and _text(last, data).lower() == "env" and (
        _ENV_NAME.fullmatch(variable)) else None


def _text(node: Node, data: bytes) -> str:
    return data[node.start_byte:node.end_byte].decode("utf-8", "replace")
