"""The snapshot model's JSON form: exact round trip, clear errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbsafe.core import SourceError
from dbsafe.schema.model import FORMAT_VERSION, SchemaSnapshot

SHOP_JSON = Path(__file__).parent / "fixtures" / "shop.json"


def test_shop_json_round_trips_to_identical_text() -> None:
    text = SHOP_JSON.read_text(encoding="utf-8")
    assert SchemaSnapshot.from_json(text, source="shop.json").to_json() == text


def test_save_then_load_gives_an_equal_snapshot(tmp_path: Path) -> None:
    snapshot = SchemaSnapshot.load(SHOP_JSON)
    target = tmp_path / "copy.json"
    snapshot.save(target)
    assert SchemaSnapshot.load(target) == snapshot
    assert target.read_bytes() == snapshot.to_json_bytes() == SHOP_JSON.read_bytes()
    assert not (tmp_path / "copy.json.tmp").exists()


def test_json_does_not_depend_on_key_order_of_the_input() -> None:
    data = json.loads(SHOP_JSON.read_text(encoding="utf-8"))
    shuffled = json.dumps(dict(reversed(list(data.items()))))
    assert SchemaSnapshot.from_json(shuffled).to_json() == SHOP_JSON.read_text(encoding="utf-8")


def test_fingerprint_is_stable_and_ignores_revision_and_server_version() -> None:
    import dataclasses

    snapshot = SchemaSnapshot.load(SHOP_JSON)
    other = dataclasses.replace(snapshot, revision="zzz", server_version=150000)
    assert snapshot.fingerprint() == SchemaSnapshot.load(SHOP_JSON).fingerprint()
    assert other.fingerprint() == snapshot.fingerprint()


def test_lookups_resolve_exact_case_names_and_search_path() -> None:
    snapshot = SchemaSnapshot.load(SHOP_JSON)
    notes = snapshot.find_relation("CustomerNotes")
    assert notes is not None and notes.column("NoteId") is not None
    assert snapshot.find_relation("customernotes") is None
    assert snapshot.find_relation("customers") is None  # shop is not on the search path
    assert snapshot.find_relation("customers", schema="shop") is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("{not json", r"bad\.json: not valid JSON", id="invalid-json"),
        pytest.param("[]", r"bad\.json: not a dbsafe schema snapshot", id="not-an-object"),
        pytest.param('{"relations": []}', r"unsupported snapshot format None", id="no-format"),
        pytest.param(
            json.dumps({"format": FORMAT_VERSION + 1}),
            rf"unsupported snapshot format {FORMAT_VERSION + 1}",
            id="newer-format",
        ),
        pytest.param(
            json.dumps({"format": FORMAT_VERSION, "tables": []}),
            r"malformed snapshot: unknown field\(s\) \['tables'\] in SchemaSnapshot",
            id="unknown-field",
        ),
        pytest.param(
            json.dumps({"format": FORMAT_VERSION, "relations": {}}),
            r"malformed snapshot: SchemaSnapshot\.relations must be a list",
            id="object-instead-of-list",
        ),
        pytest.param(
            json.dumps({"format": FORMAT_VERSION, "relations": [{"schema": "public"}]}),
            r"malformed snapshot: .*name",
            id="missing-required-field",
        ),
    ],
)
def test_bad_snapshot_file_raises_source_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match=expected) as excinfo:
        SchemaSnapshot.load(path)
    assert "\n" not in str(excinfo.value)


def test_missing_snapshot_file_raises_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="snapshot file not found"):
        SchemaSnapshot.load(tmp_path / "nope.json")


def test_undecodable_snapshot_file_raises_source_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SourceError, match="cannot read snapshot"):
        SchemaSnapshot.load(path)


def test_format_1_snapshot_still_loads_with_format_2_fields_empty() -> None:
    text = (Path(__file__).parent / "fixtures" / "shop_format1.json").read_text(encoding="utf-8")
    assert json.loads(text)["format"] == 1
    old = SchemaSnapshot.from_json(text, source="shop_format1.json")
    new = SchemaSnapshot.load(SHOP_JSON)
    assert [r.qualified_name for r in old.relations] == [r.qualified_name for r in new.relations]
    assert old.relation("shop", "orders").partition_key is None  # not in format 1
    assert old.extensions == () and old.namespaces == ()
    assert json.loads(old.to_json())["format"] == FORMAT_VERSION == 2


def test_a_format_2_file_from_before_event_triggers_loads_without_them() -> None:
    # Written by a dbsafe that did not read them: no `event_triggers` key (and a checksum
    # of another layout). It loads field by field, with none.
    data = json.loads(SHOP_JSON.read_text(encoding="utf-8"))
    del data["event_triggers"]
    older = SchemaSnapshot.from_json(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                     source="older.json")
    assert older.event_triggers == ()
    assert older == SchemaSnapshot.load(SHOP_JSON)


def test_snapshot_parts_compare_hash_and_replace_by_value() -> None:
    import pickle

    from dbsafe.schema.model import (
        Column,
        ColumnDetails,
        Relation,
        SchemaSnapshot,
        field_names,
        is_model,
        replace,
    )

    made = Column("Id", "integer", 3, False, "0", "always", None)
    assert made == Column(name="Id", type="integer", position=3, nullable=False, default="0",
                          identity="always")
    assert hash(made) == hash(Column("Id", "integer", 3, False, "0", "always", None))
    assert made != Column("Id", "integer", 3, True, "0", "always", None)
    assert made.details is None and made.comment is None
    details = ColumnDetails(storage="external", comment="why")
    assert Column("c", "text", 1, details=details).comment == "why"
    with pytest.raises(AttributeError):
        made.name = "other"  # type: ignore[misc]
    assert field_names(Column) == ("name", "type", "position", "nullable", "default",
                                   "identity", "generated", "details")
    assert "_index" not in field_names(SchemaSnapshot)
    relation = Relation("public", "t", "table", columns=(made,))
    renamed = replace(relation, name="u")
    assert (renamed.name, renamed.columns, relation.name) == ("u", (made,), "t")
    snapshot = SchemaSnapshot(relations=(relation,))
    assert replace(snapshot, revision="r1").relation("public", "t") == relation
    assert is_model(made) and is_model(snapshot) and not is_model(Column) and not is_model(())
    assert pickle.loads(pickle.dumps(snapshot)) == snapshot  # sent to worker processes


def test_early_format_2_columns_with_flat_details_still_load() -> None:
    column = {"name": "c", "type": "text", "position": 1, "nullable": True, "default": None,
              "identity": None, "generated": None, "collation": None, "storage": "external",
              "compression": None, "statistics": None, "comment": "why", "acl": []}
    plain = {"name": "d", **{k: v for k, v in column.items() if k != "name"},
             "storage": None, "comment": None}
    data = {"format": 2, "relations": [{"schema": "public", "name": "t", "kind": "table",
                                        "columns": [column, plain]}]}
    relation = SchemaSnapshot.from_dict(data).relation("public", "t")
    assert relation.column("c").storage == "external" and relation.column("c").comment == "why"
    assert relation.column("d").details is None
