"""The snapshot's JSON through msgspec: the same bytes as the standard library's encoder, the
fast load only for canonical files, and a fingerprint that follows the content."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from dbsafe.core import SourceError
from dbsafe.schema.model import Column, SchemaSnapshot

FIXTURES = Path(__file__).parent / "fixtures"
SHOP_JSON = FIXTURES / "shop.json"
AWKWARD = "".join(chr(i) for i in range(0x80)) + "\u2028\u2029é😀\ufeff\"\\"


def _stdlib_json(snapshot: SchemaSnapshot) -> bytes:
    text = json.dumps(snapshot.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return text.encode("utf-8")


def _with_awkward_strings(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    relation = snapshot.relations[0]
    column = dataclasses.replace(relation.columns[0], name=AWKWARD, default=AWKWARD)
    relation = dataclasses.replace(relation, columns=(column, *relation.columns[1:]))
    return dataclasses.replace(snapshot, relations=(relation, *snapshot.relations[1:]),
                               revision=AWKWARD)


@pytest.mark.parametrize("path", [SHOP_JSON, FIXTURES / "shop_format1.json"])
def test_msgspec_writes_the_bytes_the_standard_library_writes(path: Path) -> None:
    snapshot = SchemaSnapshot.load(path)
    assert snapshot.to_json_bytes() == _stdlib_json(snapshot)
    awkward = _with_awkward_strings(snapshot)
    assert awkward.to_json_bytes() == _stdlib_json(awkward)


def test_a_canonical_file_loads_fast_and_equal_to_the_checked_path() -> None:
    raw = SHOP_JSON.read_bytes()
    fast = SchemaSnapshot.from_json(raw)
    assert fast._fingerprint is not None  # the canonical path was taken
    strict = SchemaSnapshot.from_dict(json.loads(raw))
    assert strict._fingerprint is None
    assert fast == strict
    orders = fast.relation("shop", "orders")  # the index a decoded snapshot builds too
    assert orders is not None and orders == strict.relation("shop", "orders")
    assert fast.fingerprint() == strict.fingerprint()


def test_a_file_in_another_layout_loads_equal_with_the_same_fingerprint() -> None:
    canonical = SchemaSnapshot.load(SHOP_JSON)
    compact = json.dumps(json.loads(SHOP_JSON.read_bytes()), separators=(",", ":"))
    other = SchemaSnapshot.from_json(compact)
    assert other._fingerprint is None  # not canonical: read field by field
    assert other == canonical
    assert other.fingerprint() == canonical.fingerprint()


def test_an_unknown_field_deep_in_a_canonical_looking_file_is_still_an_error() -> None:
    data = json.loads(SHOP_JSON.read_bytes())
    data["relations"][0]["columns"][0]["colour"] = "red"
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    with pytest.raises(SourceError, match=r"unknown field\(s\) \['colour'\] in Column"):
        SchemaSnapshot.from_json(text)


def test_the_fingerprint_follows_the_content_and_ignores_revision_and_server_version() -> None:
    snapshot = SchemaSnapshot.load(SHOP_JSON)
    relation = snapshot.relations[0]
    changed_column: Column = dataclasses.replace(relation.columns[0], type="bigint")
    changed = dataclasses.replace(snapshot, relations=(
        dataclasses.replace(relation, columns=(changed_column, *relation.columns[1:])),
        *snapshot.relations[1:]))
    assert changed.fingerprint() != snapshot.fingerprint()
    for revision, version in (("abc", 150000), (AWKWARD, None), (None, 180001)):
        other = dataclasses.replace(snapshot, revision=revision, server_version=version)
        assert other.fingerprint() == snapshot.fingerprint()
        assert SchemaSnapshot.from_json(other.to_json_bytes()).fingerprint() == \
            snapshot.fingerprint()
