"""The catalog in questionnaires/: its content, its scale, and the loader's validation errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboard.catalog import Catalog, CatalogError, default_catalog_dir, load_catalog

CLAUSE_IDS = (
    "4.1", "4.2", "4.3", "4.4",
    "5.1", "5.2", "5.3",
    "6.1.1", "6.1.2", "6.1.3", "6.1.4", "6.2", "6.3",
    "7.1", "7.2", "7.3", "7.4", "7.5.1", "7.5.2", "7.5.3",
    "8.1", "8.2", "8.3", "8.4",
    "9.1", "9.2.1", "9.2.2", "9.3.1", "9.3.2", "9.3.3",
    "10.1", "10.2",
)
ANNEX_IDS = (
    "A.2.2", "A.2.3", "A.2.4",
    "A.3.2", "A.3.3",
    "A.4.2", "A.4.3", "A.4.4", "A.4.5", "A.4.6",
    "A.5.2", "A.5.3", "A.5.4", "A.5.5",
    "A.6.1.2", "A.6.1.3", "A.6.2.2", "A.6.2.3", "A.6.2.4", "A.6.2.5", "A.6.2.6", "A.6.2.7", "A.6.2.8",
    "A.7.2", "A.7.3", "A.7.4", "A.7.5", "A.7.6",
    "A.8.2", "A.8.3", "A.8.4", "A.8.5",
    "A.9.2", "A.9.3", "A.9.4",
    "A.10.2", "A.10.3", "A.10.4",
)
SECTION_IDS = ("4", "5", "6", "7", "8", "9", "10",
               "A.2", "A.3", "A.4", "A.5", "A.6", "A.7", "A.8", "A.9", "A.10")
# the foundational items, as weighted in the YAML files
HEAVY = {"4.3", "5.2", "5.3", "6.1.2", "6.1.4", "A.2.2", "A.3.2", "A.5.2", "A.6.1.3"}
LEVEL_NAMES = ("Non-existent", "Initial", "Managed", "Defined", "Quantitatively managed", "Optimizing")


def test_hand_written_id_lists_are_sound() -> None:
    assert len(CLAUSE_IDS) == 32
    assert len(ANNEX_IDS) == 38
    assert len(set(CLAUSE_IDS + ANNEX_IDS)) == 70


# --- content of the real catalog ---------------------------------------------------------------


def test_exactly_the_expected_70_items_in_order(catalog: Catalog) -> None:
    ids = [item.id for item in catalog.items]
    assert ids == list(CLAUSE_IDS + ANNEX_IDS)
    assert len(ids) == len(set(ids)) == 70


@pytest.mark.parametrize(("kind", "expected"), [("clause", CLAUSE_IDS), ("annex_a", ANNEX_IDS)])
def test_items_by_kind(catalog: Catalog, kind: str, expected: tuple[str, ...]) -> None:
    assert tuple(i.id for i in catalog.items_of(kind)) == expected  # type: ignore[arg-type]
    assert all(i.kind == kind for i in catalog.items_of(kind))  # type: ignore[arg-type]


def test_sixteen_sections_in_order(catalog: Catalog) -> None:
    assert tuple(s.id for s in catalog.sections) == SECTION_IDS
    assert [s.kind for s in catalog.sections] == ["clause"] * 7 + ["annex_a"] * 9
    assert len(catalog.section_by_id) == 16


@pytest.mark.parametrize("item_id", CLAUSE_IDS + ANNEX_IDS)
def test_item_belongs_to_its_section(catalog: Catalog, item_id: str) -> None:
    item = catalog.by_id[item_id]
    parts = item_id.split(".")
    expected_section = parts[0] if not item_id.startswith("A.") else f"A.{parts[1]}"
    assert item.section == expected_section
    assert item in catalog.section_by_id[expected_section].items


def test_order_is_consecutive(catalog: Catalog) -> None:
    assert [i.order for i in catalog.items] == list(range(1, 71))


@pytest.mark.parametrize("item_id", CLAUSE_IDS + ANNEX_IDS)
def test_rubric_question_and_text_fields(catalog: Catalog, item_id: str) -> None:
    item = catalog.by_id[item_id]
    assert sorted(item.rubric) == [0, 1, 2, 3, 4, 5]
    assert all(item.rubric[level].strip() for level in range(6))
    assert len(item.questions) >= 1
    assert all(q.strip() for q in item.questions)
    assert item.title.strip()
    assert item.guidance.strip()
    assert 2 <= len(item.evidence_examples) <= 4


@pytest.mark.parametrize("item_id", CLAUSE_IDS + ANNEX_IDS)
def test_weights(catalog: Catalog, item_id: str) -> None:
    assert catalog.by_id[item_id].weight == (1.5 if item_id in HEAVY else 1.0)


def test_depends_on_refers_to_known_other_items(catalog: Catalog) -> None:
    for item in catalog.items:
        assert item.id not in item.depends_on, item.id
        assert set(item.depends_on) <= set(catalog.by_id), item.id


def _find_cycle(graph: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A dependency cycle as a list of ids, or None (iterative DFS with white/grey/black colours)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    for start in graph:
        if colour[start] != WHITE:
            continue
        path: list[str] = [start]
        stack = [iter(graph[start])]
        colour[start] = GREY
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = BLACK
                stack.pop()
            elif colour.get(nxt, BLACK) == GREY:
                return [*path[path.index(nxt):], nxt]
            elif colour.get(nxt) == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append(iter(graph[nxt]))
    return None


@pytest.mark.parametrize(
    ("graph", "has_cycle"),
    [
        ({"a": (), "b": ("a",), "c": ("a", "b")}, False),
        ({"a": ("b",), "b": ("a",)}, True),
        ({"a": ("a",)}, True),
        ({"a": ("b",), "b": ("c",), "c": ("d",), "d": ("b",)}, True),
        ({"a": ("b", "c"), "b": ("d",), "c": ("d",), "d": ()}, False),
    ],
)
def test_cycle_check_itself(graph: dict[str, tuple[str, ...]], has_cycle: bool) -> None:
    assert (_find_cycle(graph) is not None) == has_cycle


def test_depends_on_has_no_cycles(catalog: Catalog) -> None:
    graph = {item.id: item.depends_on for item in catalog.items}
    assert _find_cycle(graph) is None


# --- the scale ---------------------------------------------------------------------------------


def test_scale_has_six_named_levels_and_default_target_3(catalog: Catalog) -> None:
    scale = catalog.scale
    assert len(scale.levels) == 6
    assert [lv.value for lv in scale.levels] == [0, 1, 2, 3, 4, 5]
    assert tuple(lv.name for lv in scale.levels) == LEVEL_NAMES
    assert scale.default_target == 3


@pytest.mark.parametrize(("value", "name"), list(enumerate(LEVEL_NAMES)))
def test_scale_name(catalog: Catalog, value: int, name: str) -> None:
    assert catalog.scale.name(value) == name
    assert catalog.scale.words[name.lower()] == value


@pytest.mark.parametrize("alias", ["None", "Incomplete", "Not performed", "none", "NOT PERFORMED"])
def test_aliases_of_level_0(catalog: Catalog, alias: str) -> None:
    assert catalog.scale.words[alias.strip().lower()] == 0


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (2.99, 2),
        (3.0, 3),
        (2.9999999, 3),  # floating sums: rounding guard
        (None, None),
        (float("nan"), None),
        (0, 0),
        (0.0, 0),
        (5, 5),
        (4.999, 4),
        (1.5, 1),
    ],
)
def test_level_of(catalog: Catalog, score: float | None, level: int | None) -> None:
    assert catalog.scale.level_of(score) == level


@pytest.mark.parametrize(
    ("score", "name"),
    [(None, "Not assessed"), (float("nan"), "Not assessed"), (0.4, "Non-existent"), (2.99, "Managed"),
     (3.14, "Defined"), (4.5, "Quantitatively managed"), (5.0, "Optimizing")],
)
def test_level_name(catalog: Catalog, score: float | None, name: str) -> None:
    assert catalog.scale.level_name(score) == name


# --- validation failures on a broken copy --------------------------------------------------------


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "questionnaires"
    shutil.copytree(default_catalog_dir(), target)
    return target


def _edit_yaml(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _item(data: dict[str, Any], item_id: str) -> dict[str, Any]:
    for section in data["sections"]:
        for item in section["items"]:
            if item["id"] == item_id:
                return item
    raise KeyError(item_id)


def test_intact_copy_loads_like_the_original(tmp_path: Path, catalog: Catalog) -> None:
    copy = load_catalog(_copy(tmp_path))
    assert [i.id for i in copy.items] == [i.id for i in catalog.items]
    assert copy.digest == catalog.digest
    assert copy.version == catalog.version


def _drop_rubric_level_4(d: dict[str, Any]) -> None:
    del _item(d, "4.2")["rubric"][4]


def _blank_rubric_level_0(d: dict[str, Any]) -> None:
    _item(d, "A.4.3")["rubric"][0] = "   "


def _duplicate_id_in_file(d: dict[str, Any]) -> None:
    _item(d, "A.2.3")["id"] = "A.2.2"


def _duplicate_id_across_files(d: dict[str, Any]) -> None:
    _item(d, "A.10.4")["id"] = "4.1"


def _empty_question(d: dict[str, Any]) -> None:
    _item(d, "5.1")["questions"][0] = ""


def _blank_question(d: dict[str, Any]) -> None:
    _item(d, "A.7.3")["questions"][-1] = "   "


def _unknown_dependency(d: dict[str, Any]) -> None:
    _item(d, "4.2")["depends_on"] = ["4.1", "4.99"]


def _scale_missing_level(d: dict[str, Any]) -> None:
    d["levels"] = [lv for lv in d["levels"] if lv["value"] != 4]


@pytest.mark.parametrize(
    ("file", "change", "words"),
    [
        ("clauses.yaml", _drop_rubric_level_4, ["rubric", "4"]),
        ("annex_a.yaml", _blank_rubric_level_0, ["rubric", "0"]),
        ("annex_a.yaml", _duplicate_id_in_file, ["A.2.2", "twice"]),
        ("annex_a.yaml", _duplicate_id_across_files, ["4.1", "twice"]),
        ("clauses.yaml", _empty_question, ["empty"]),
        ("annex_a.yaml", _blank_question, ["empty"]),
        ("clauses.yaml", _unknown_dependency, ["4.99"]),
        ("scale.yaml", _scale_missing_level, ["level"]),
    ],
    ids=["rubric-missing-4", "rubric-blank-0", "dup-id-same-file", "dup-id-across-files", "empty-question",
         "blank-question", "unknown-depends-on", "scale-missing-level"],
)
def test_broken_catalog_raises_error_naming_the_file(
    tmp_path: Path, file: str, change: Any, words: list[str]
) -> None:
    root = _copy(tmp_path)
    _edit_yaml(root / file, change)
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    message = str(info.value)
    assert file in message, message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("file", ["clauses.yaml", "annex_a.yaml", "scale.yaml", "catalog.yaml"])
def test_malformed_yaml_raises_error_naming_the_file(tmp_path: Path, file: str) -> None:
    root = _copy(tmp_path)
    path = root / file
    path.write_text(path.read_text(encoding="utf-8") + "\nbroken: [unclosed, {\n", encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    assert file in str(info.value)
    assert "YAML" in str(info.value)


def test_missing_section_file_raises_error_naming_the_file(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "annex_a.yaml").unlink()
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    assert "annex_a.yaml" in str(info.value)


def test_breaking_a_copy_does_not_affect_the_real_catalog(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit_yaml(root / "clauses.yaml", _drop_rubric_level_4)
    with pytest.raises(CatalogError):
        load_catalog(root)
    assert len(load_catalog().items) == 70
    assert len(load_catalog(default_catalog_dir()).by_id["4.2"].rubric) == 6
