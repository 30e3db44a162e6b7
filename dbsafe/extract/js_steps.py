"""The `up` and `down` steps a JavaScript/TypeScript module exports, read with tree-sitter.

A migration runner takes a module for a migration by what it exports, never by the names
it uses inside: knex and node-pg-migrate call `require(file).up(knex)` (`exports.up =
function ...`, `module.exports = { up, down }`), Kysely and umzug an ES module's `up`
(`export async function up(db)`, `export const up: Migration = async (...) => ...`),
Sequelize and migrate-mongo the object `module.exports` holds (`{ async up(queryInterface)
{...} }`), Logto the object its alteration exports by default, TypeORM and MikroORM an
exported class's methods (`export class X implements MigrationInterface { async
up(queryRunner) {...} }`). Each step is a function; node-pg-migrate takes a `down` of
`false` for an irreversible migration.

An application module using the names otherwise is none: Kener's `let up = 0; let down =
0;` (uptime counters), a keyboard handler's local `function up() {...}`, a class of its own
with `up()`/`down()` methods that no export hands out.

    >>> sorted(exported_steps(b"let up = 0;\\nlet down = 0;\\nexport const f = () => up;", "x.ts"))
    []
    >>> sorted(exported_steps(b"async function up(knex) {}\\nmodule.exports = { up, down: false };",
    ...                       "x.js"))
    ['down', 'up']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

STEPS = frozenset({"up", "down"})
# A function written out, or handed to a call that makes the step of it
# (`export const up = migration(async (knex) => ...)`).
_FUNCTIONS = frozenset({"function_expression", "function", "arrow_function",
                        "generator_function"})
_DECLARED_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration"})
_CLASSES = frozenset({"class", "class_declaration", "abstract_class_declaration"})
# What wraps a value without changing it (`{...} satisfies AlterationScript`, `x as T`).
_WRAPPERS = frozenset({"parenthesized_expression", "as_expression", "satisfies_expression",
                       "non_null_expression", "type_assertion"})


def exported_steps(data: bytes, name: str) -> frozenset[str]:
    """The steps (`up`, `down`) the module `data` (the file `name`, whose suffix picks
    the grammar) exports bound to a function, as a runner finds them: see the module
    docstring. Only a module's top-level statements export."""
    from dbsafe.extract.javascript import _grammar, _parser

    root = _parser(_grammar(name)).parse(data).root_node
    local: dict[str, Node] = {}  # each top-level name, to what it is bound
    for statement in root.named_children:
        declaration = statement.child_by_field_name("declaration") \
            if statement.type == "export_statement" else statement
        for name_, value in _bindings(declaration):
            local[name_] = value
    found: set[str] = set()
    for statement in root.named_children:
        if statement.type == "export_statement":
            found |= _exported(statement, local)
        elif statement.type == "expression_statement":
            assignment = statement.named_children[0] if statement.named_children else None
            if assignment is not None and assignment.type == "assignment_expression":
                found |= _assigned_export(assignment, local)
    return frozenset(found)


def imported_packages(data: bytes, name: str) -> frozenset[str]:
    """The npm packages the module `data` (the file `name`) imports or requires by name
    (`import { sql } from 'kysely'`, `import type { MigrationInterface } from 'typeorm'`,
    `const { DataTypes } = require('sequelize')`): each specifier's package (`@scope/name`
    or its first segment), relative and aliased specifiers (`./db`, `@/server/db`) and
    Node's own modules (`node:fs`) aside.

    >>> sorted(imported_packages(b"import type { Kysely } from 'kysely';\\n"
    ...     b"import { x } from '@/db';\\nimport fs from 'node:fs';", "a.ts"))
    ['kysely']
    >>> sorted(imported_packages(b"const { DataTypes } = require('sequelize/lib');\\n"
    ...     b"const m = require('@mikro-orm/migrations');", "a.js"))
    ['@mikro-orm/migrations', 'sequelize']
    """
    from dbsafe.extract.javascript import _grammar, _parser

    root = _parser(_grammar(name)).parse(data).root_node
    found: set[str] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        source = None
        if node.type == "import_statement":
            source = node.child_by_field_name("source")
        elif node.type == "call_expression":
            function = node.child_by_field_name("function")
            arguments = node.child_by_field_name("arguments")
            if function is not None and _text(function) in ("require", "import") \
                    and arguments is not None and arguments.named_children:
                source = arguments.named_children[0]
        if source is not None and source.type == "string":
            specifier = _text(source)[1:-1]
            parts = specifier.split("/")
            package = "/".join(parts[:2]) if specifier.startswith("@") else parts[0]
            if package and not package.startswith((".", "@/", "~", "#", "node:")) \
                    and package != "@":
                found.add(package)
        pending.extend(node.named_children)
    return frozenset(found)


def _bindings(node: Node | None) -> list[tuple[str, Node]]:
    """The names a top-level declaration binds, each with what it is bound to (the
    declaration itself for a function or a class)."""
    if node is None:
        return []
    if node.type in _DECLARED_FUNCTIONS or node.type in _CLASSES:
        name = node.child_by_field_name("name")
        return [(_text(name), node)] if name is not None else []
    if node.type in ("lexical_declaration", "variable_declaration"):
        pairs = []
        for declarator in node.named_children:
            name = declarator.child_by_field_name("name")
            value = declarator.child_by_field_name("value")
            if declarator.type == "variable_declarator" and name is not None \
                    and name.type == "identifier" and value is not None:
                pairs.append((_text(name), value))
        return pairs
    return []


def _exported(statement: Node, local: dict[str, Node]) -> set[str]:
    """The steps an `export ...` statement exports."""
    declaration = statement.child_by_field_name("declaration")
    value = statement.child_by_field_name("value")
    if declaration is not None:
        if declaration.type in _CLASSES:  # (TypeORM loads every class a module exports)
            return _held(declaration, local)
        return {name for name, bound in _bindings(declaration)
                if name in STEPS and _step(bound, name, local)}
    if value is not None:  # export default <value>
        return _held(value, local)
    found = set()
    for clause in statement.named_children:
        if clause.type != "export_clause":
            continue
        for specifier in clause.named_children:
            name = specifier.child_by_field_name("name")
            alias = specifier.child_by_field_name("alias") or name
            if name is None or alias is None:
                continue
            if _text(alias) in STEPS and _text(name) in local \
                    and _step(local[_text(name)], _text(alias), local):
                found.add(_text(alias))
            elif _text(alias) == "default" and _text(name) in local:
                found |= _held(local[_text(name)], local)
    return found


def _assigned_export(assignment: Node, local: dict[str, Node]) -> set[str]:
    """The steps an assignment to CommonJS's exports exports: `exports.up = ...`,
    `module.exports.up = ...`, `module.exports = {...}` (or a class, or a name bound to
    either)."""
    left = assignment.child_by_field_name("left")
    right = assignment.child_by_field_name("right")
    if left is None or right is None or left.type != "member_expression":
        return set()
    target = left.child_by_field_name("object")
    field = left.child_by_field_name("property")
    if target is None or field is None:
        return set()
    if _text(target) == "module" and _text(field) == "exports":
        return _held(right, local)
    if _text(target) in ("exports", "module.exports") and _text(field) in STEPS \
            and _step(right, _text(field), local):
        return {_text(field)}
    return set()


def _held(value: Node, local: dict[str, Node], depth: int = 0) -> set[str]:
    """The steps an exported object or class holds: its properties, methods and fields
    named `up`/`down` bound to a function (an identifier followed to its top-level
    binding)."""
    value = _unwrapped(value)
    if value.type == "identifier" and depth < 3 and _text(value) in local:
        return _held(local[_text(value)], local, depth + 1)
    if value.type in _CLASSES:
        members = value.child_by_field_name("body")
    elif value.type == "object":
        members = value
    else:
        return set()
    found = set()
    for member in members.named_children if members is not None else ():
        if member.type == "method_definition":
            name = member.child_by_field_name("name")
            if name is not None and _text(name) in STEPS:
                found.add(_text(name))
        elif member.type == "shorthand_property_identifier":
            if _text(member) in STEPS and _text(member) in local \
                    and _step(local[_text(member)], _text(member), local):
                found.add(_text(member))
        elif member.type in ("pair", "public_field_definition", "field_definition"):
            name = member.child_by_field_name("key") or member.child_by_field_name("name") \
                or member.child_by_field_name("property")
            bound = member.child_by_field_name("value")
            if name is not None and bound is not None and _text(name).strip("'\"") in STEPS \
                    and _step(bound, _text(name).strip("'\""), local):
                found.add(_text(name).strip("'\""))
    return found


def _step(value: Node, name: str, local: dict[str, Node], depth: int = 0) -> bool:
    """Whether `value`, bound to the step `name`, is one: a function (or a call handed
    one), a name bound to one at the top level, or `false` for a `down`."""
    value = _unwrapped(value)
    if value.type in _FUNCTIONS or value.type in _DECLARED_FUNCTIONS:
        return True
    if value.type == "false":
        return name == "down"
    if value.type == "identifier":
        return depth < 3 and _text(value) in local and \
            _step(local[_text(value)], name, local, depth + 1)
    if value.type == "call_expression":
        arguments = value.child_by_field_name("arguments")
        return arguments is not None and any(
            _unwrapped(a).type in _FUNCTIONS for a in arguments.named_children)
    return False


def _unwrapped(value: Node) -> Node:
    while value.type in _WRAPPERS and value.named_children:
        value = value.named_children[0]
    return value


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", errors="replace") if node is not None and node.text \
        else ""
