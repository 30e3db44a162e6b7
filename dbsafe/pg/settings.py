"""Settings as `pg_db_role_setting` keeps them (`ALTER DATABASE/ROLE ... SET`), written back
as SQL."""

from __future__ import annotations

# Settings whose value is a list, each item a literal of its own (pg_dumpall does the same:
# `SET search_path TO 'app', 'public'`; one literal `'app, public'` would name one schema).
LIST_SETTINGS = frozenset({"search_path", "temp_tablespaces", "session_preload_libraries",
                           "local_preload_libraries", "shared_preload_libraries"})


def list_items(value: str) -> list[str]:
    """The items of a list setting as pg_db_role_setting stores it (`"$user", public`).

    >>> list_items('"$user", public, "My Schema"')
    ['$user', 'public', 'My Schema']
    """
    items, current, quoted, i = [], "", False, 0
    while i < len(value):
        char = value[i]
        if char == '"':
            if quoted and value[i + 1:i + 2] == '"':
                current += '"'
                i += 1
            else:
                quoted = not quoted
        elif char == "," and not quoted:
            items.append(current.strip())
            current = ""
        else:
            current += char
        i += 1
    items.append(current.strip())
    return [item for item in items if item]


def value_items(name: str, value: str) -> list[str]:
    """The values `ALTER ... SET name TO` takes, one literal each, for the stored `value`.

    >>> value_items("search_path", '"$user", public'), value_items("work_mem", "64MB")
    (['$user', 'public'], ['64MB'])
    """
    return list_items(value) if name.lower() in LIST_SETTINGS else [value]
