"""The frameworks and our mapping sets as data: complete, typed, sourced; the loader refuses a set that leaves
a requirement or a 42001 item out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from dashboard.catalog import Catalog, CatalogError
from dashboard.frameworks import (
    NO_COUNTERPART,
    RELATIONSHIPS,
    coverage_gaps,
    framework_dir,
    load_frameworks,
    load_mapping_sets,
)

FRAMEWORKS = load_frameworks()
SETS = load_mapping_sets()


def test_three_frameworks_each_with_id_version_publisher_licence_and_source() -> None:
    assert set(FRAMEWORKS) == {"eu-ai-act", "nist-ai-rmf", "iso-27001"}
    for framework in FRAMEWORKS.values():
        for field in ("name", "version", "publisher", "licence", "source"):
            assert getattr(framework, field).strip(), (framework.id, field)
        assert framework.source.startswith("https://")


@pytest.mark.parametrize(("article", "title"), [
    ("Art. 4", "AI literacy"),
    ("Art. 9", "Risk management system"),
    ("Art. 10", "Data and data governance"),
    ("Art. 11", "Technical documentation"),
    ("Art. 12", "Record-keeping"),
    ("Art. 13", "Transparency and provision of information to deployers"),
    ("Art. 14", "Human oversight"),
    ("Art. 15", "Accuracy, robustness and cybersecurity"),
    ("Art. 17", "Quality management system"),
    ("Art. 26", "Obligations of deployers of high-risk AI systems"),
    ("Art. 27", "Fundamental rights impact assessment for high-risk AI systems"),
    ("Art. 50", "Transparency obligations for providers and deployers of certain AI systems"),
    ("Art. 72", "Post-market monitoring by providers and post-market monitoring plan for high-risk AI systems"),
    ("Art. 73", "Reporting of serious incidents"),
])
def test_the_ai_act_articles_asked_for_are_there_with_their_official_titles(article: str, title: str) -> None:
    requirement = FRAMEWORKS["eu-ai-act"].by_id[article]
    assert requirement.title == title
    assert len(requirement.description) > 40  # our own short summary


def test_nist_ai_rmf_has_its_72_subcategories_and_no_other() -> None:
    counts = {"GOVERN": [7, 3, 2, 3, 2, 2], "MAP": [6, 3, 5, 2, 2], "MEASURE": [3, 13, 3, 3], "MANAGE": [4, 4, 2, 3]}
    expected = [f"{function} {category}.{sub}" for function, per in counts.items()
                for category, n in enumerate(per, start=1) for sub in range(1, n + 1)]
    assert [r.id for r in FRAMEWORKS["nist-ai-rmf"].requirements] == expected
    assert len(expected) == 72
    assert all(r.description and r.group.startswith(r.id.split()[0]) for r in FRAMEWORKS["nist-ai-rmf"].requirements)


def test_iso_27001_has_clauses_4_to_10_and_the_93_annex_a_controls_by_id_and_title_only() -> None:
    framework = FRAMEWORKS["iso-27001"]
    controls = [r.id for r in framework.requirements if r.id.startswith("A.")]
    expected = [f"A.{theme}.{n}" for theme, count in ((5, 37), (6, 8), (7, 14), (8, 34)) for n in range(1, count + 1)]
    assert controls == expected and len(controls) == 93
    clauses = [r.id for r in framework.requirements if not r.id.startswith("A.")]
    assert {c.split(".")[0] for c in clauses} == {"4", "5", "6", "7", "8", "9", "10"}
    assert framework.by_id["A.5.23"].title == "Information security for use of cloud services"
    assert framework.by_id["A.8.34"].title == "Protection of information systems during audit testing"
    assert all(not r.description for r in framework.requirements)  # ids and titles only: no text of the standard


@pytest.mark.parametrize("set_id", sorted(SETS))
def test_every_requirement_and_every_42001_item_has_a_mapping_or_an_explicit_no_counterpart(set_id: str, catalog: Catalog) -> None:
    mapping = SETS[set_id]
    framework = FRAMEWORKS[mapping.target_framework]
    assert coverage_gaps(mapping, framework, catalog) == ([], [])
    for row in mapping.rows:
        if row.relationship == NO_COUNTERPART:
            assert len(row.rationale) > 20, row  # the reason is written out
    assert {r.target for r in mapping.rows} - {None} == set(framework.by_id)
    assert {r.source for r in mapping.rows} - {None} == set(catalog.by_id)


@pytest.mark.parametrize("set_id", sorted(SETS))
def test_every_row_names_its_set_a_relationship_of_nist_ir_8477_and_a_rationale(set_id: str) -> None:
    mapping = SETS[set_id]
    assert mapping.id == set_id and mapping.origin == "ours"
    for field in ("made_by", "made_on", "made_from", "licence", "reviewed_by", "version"):
        assert getattr(mapping, field).strip(), field
    for row in mapping.mapped:
        assert row.relationship in RELATIONSHIPS and row.source and row.target
        assert len(row.rationale) > 20
    assert mapping.mapped, "a set maps something"


def test_the_relationships_are_nist_ir_8477s_vocabulary_with_stated_strengths() -> None:
    assert RELATIONSHIPS == {"equal": 1.0, "superset of": 1.0, "subset of": 0.5, "intersects with": 0.25}


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "frameworks"
    shutil.copytree(framework_dir(), root)
    return root


def test_a_shipped_set_that_leaves_a_requirement_out_is_refused_naming_it(tmp_path: Path, catalog: Catalog) -> None:
    root = _copy(tmp_path)
    path = root / "mappings" / "iso42001-to-eu-ai-act.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["no_counterpart"]["targets"] = [t for t in data["no_counterpart"]["targets"] if t["target"] != "Art. 49"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"neither a mapping nor 'no counterpart': Art\. 49"):
        load_mapping_sets(root)


def test_a_shipped_set_with_an_unknown_id_or_relationship_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    root = _copy(tmp_path)
    path = root / "mappings" / "iso42001-to-nist-ai-rmf.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rows"][0]["target"] = "GOVERN 9.9"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"'GOVERN 9\.9' is not a requirement of NIST AI RMF 1\.0"):
        load_mapping_sets(root)
    data["rows"][0]["target"] = "GOVERN 1.1"
    data["rows"][0]["relationship"] = "roughly"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CatalogError, match="relationship 'roughly' is not one of"):
        load_mapping_sets(root)


def test_a_no_counterpart_without_a_reason_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    root = _copy(tmp_path)
    path = root / "mappings" / "iso42001-to-iso-27001.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["no_counterpart"]["targets"][0]["reason"] = " "
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CatalogError, match="needs a reason"):
        load_mapping_sets(root)
