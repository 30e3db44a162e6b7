"""The snapshot's JSON through msgspec: the same bytes as the standard library's encoder, the
fast load only for files dbsafe wrote (checksum verified, or written back byte for byte), and
a fingerprint that follows the content."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dbsafe.core import SourceError
from dbsafe.schema import model
from dbsafe.schema.model import Column, SchemaSnapshot, _layout, replace

FIXTURES = Path(__file__).parent / "fixtures"
SHOP_JSON = FIXTURES / "shop.json"
AWKWARD = "".join(chr(i) for i in range(0x80)) + "\u2028\u2029é😀\ufeff\"\\"


def _stdlib_json(snapshot: SchemaSnapshot) -> bytes:
    """The file as the standard library writes it: the object, then with its checksum (the
    sha256 of that first text, then of the model's layout) as one more key."""
    data = snapshot.to_dict()
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    data["sha256"] = hashlib.sha256(text.encode("utf-8") + _layout()).hexdigest()
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return text.encode("utf-8")


def _without_checksum(raw: bytes) -> bytes:
    """The file as dbsafe wrote it before files carried a checksum."""
    head, entry = raw.rsplit(b',\n  "sha256": ', 1)
    assert entry.endswith(b'"\n}\n') and len(entry) == 64 + 5
    return head + b"\n}\n"


def _with_checksum(raw: bytes, layout: bytes) -> bytes:
    """`raw` (a file without a checksum) closed by the checksum a writer of `layout` gives."""
    checksum = hashlib.sha256(raw + layout).hexdigest()
    return raw[:-len(b"\n}\n")] + b',\n  "sha256": "%s"\n}\n' % checksum.encode()


def _many_relations() -> SchemaSnapshot:
    """More relations, functions and sequences than are encoded at once (a long array is
    written in chunks)."""
    base = SchemaSnapshot.load(SHOP_JSON)
    template = base.relation("shop", "orders")
    assert template is not None
    relations = tuple(replace(template, name=f"t{i:04}") for i in range(700))
    return replace(base, relations=relations,
                               functions=base.functions * 300, sequences=base.sequences * 300)


def _with_awkward_strings(snapshot: SchemaSnapshot) -> SchemaSnapshot:
    relation = snapshot.relations[0]
    column = replace(relation.columns[0], name=AWKWARD, default=AWKWARD)
    relation = replace(relation, columns=(column, *relation.columns[1:]))
    return replace(snapshot, relations=(relation, *snapshot.relations[1:]),
                               revision=AWKWARD)


@pytest.mark.parametrize("path", [SHOP_JSON, FIXTURES / "shop_format1.json", None])
def test_msgspec_writes_the_bytes_the_standard_library_writes(path: Path | None) -> None:
    snapshot = SchemaSnapshot.load(path) if path else _many_relations()
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


def test_a_file_dbsafe_wrote_loads_on_its_checksum_without_being_written_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    raw = SHOP_JSON.read_bytes()
    strict = SchemaSnapshot.from_dict(json.loads(raw))
    assert raw == strict.to_json_bytes()  # the fixture carries its checksum

    def written_back(snapshot: SchemaSnapshot) -> bytes:
        raise AssertionError("a verified file is not encoded again")

    monkeypatch.setattr(model, "_body_pieces", written_back)
    fast = SchemaSnapshot.from_json(raw)
    assert fast == strict
    assert fast._fingerprint is not None
    monkeypatch.undo()
    assert fast.fingerprint() == strict.fingerprint()


def test_a_file_from_before_checksums_loads_fast_with_the_same_fingerprint() -> None:
    raw = SHOP_JSON.read_bytes()
    old = _without_checksum(raw)
    assert b"sha256" not in old
    loaded = SchemaSnapshot.from_json(old)
    assert loaded._fingerprint is not None  # written back byte for byte: canonical
    assert loaded == SchemaSnapshot.from_json(raw)
    assert loaded.fingerprint() == SchemaSnapshot.from_dict(json.loads(old)).fingerprint()
    assert loaded.to_json_bytes() == raw


def _edited(raw: bytes) -> bytes:
    """`raw` with the first column typed `integer` now `bigint`; the checksum left as it was."""
    assert b'"type": "integer"' in raw
    return raw.replace(b'"type": "integer"', b'"type": "bigint"', 1)


@pytest.mark.parametrize("layout", ["canonical", "reindented"])
def test_a_hand_edited_file_gets_the_fingerprint_of_what_it_says_not_its_stale_one(
        layout: str) -> None:
    raw = SHOP_JSON.read_bytes()
    edited = _edited(raw)
    if layout == "reindented":  # not what dbsafe writes: read field by field
        edited = edited.replace(b'\n    "name"', b'\n      "name"')
    expected = SchemaSnapshot.from_dict(json.loads(edited))
    loaded = SchemaSnapshot.from_json(edited)
    assert loaded == expected != SchemaSnapshot.from_json(raw)
    assert loaded.fingerprint() == replace(expected).fingerprint()  # recomputed
    assert loaded.fingerprint() != SchemaSnapshot.from_json(raw).fingerprint()
    assert loaded.to_json_bytes() != edited  # its checksum is right again once written


def test_a_file_written_for_other_fields_is_checked_field_by_field() -> None:
    data = json.loads(SHOP_JSON.read_bytes())
    data.pop("sha256")
    data["relations"][0]["columns"][0]["colour"] = "red"
    text = (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    newer = _layout().replace(b"Column(name: str, ", b"Column(colour: str, name: str, ")
    assert newer != _layout()
    with pytest.raises(SourceError, match=r"unknown field\(s\) \['colour'\] in Column"):
        SchemaSnapshot.from_json(_with_checksum(text, newer))
    assert SchemaSnapshot.from_json(_with_checksum(_without_checksum(SHOP_JSON.read_bytes()),
                                                   _layout()))._fingerprint is not None


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
    changed_column: Column = replace(relation.columns[0], type="bigint")
    changed = replace(snapshot, relations=(
        replace(relation, columns=(changed_column, *relation.columns[1:])),
        *snapshot.relations[1:]))
    assert changed.fingerprint() != snapshot.fingerprint()
    for revision, version in (("abc", 150000), (AWKWARD, None), (None, 180001)):
        other = replace(snapshot, revision=revision, server_version=version)
        assert other.fingerprint() == snapshot.fingerprint()
        assert SchemaSnapshot.from_json(other.to_json_bytes()).fingerprint() == \
            snapshot.fingerprint()
