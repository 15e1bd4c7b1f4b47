"""Bring your own mapping (our CSV layout, a CISO Assistant-style library written here), bad input refused with a
clear message and nothing written, and the readiness exports and report section."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from dashboard import readiness, scoring, store
from dashboard.db import connect
from dashboard.mapping_store import MappingSetError, get_set, list_sets, save_imported, sets_for
from etl import report
from etl.cli import main
from etl.crosswalk_import import CrosswalkError, Provenance, import_mapping, parse_mapping_file
from etl.framework_exports import HEADERS
from tests.principals import ADMIN

GOOD_CSV = (
    "source_item,target_item,relationship,rationale\n"
    "A.3.2,GOVERN 2.1,equal,Both define AI roles.\n"
    "6.1.3,MANAGE 1.3,superset of,Treatment covers responses.\n"
    "6.1.2,MAP 5.1,subset of,Assessment is part of characterising impacts.\n"
    "9.1,MEASURE 1.1,intersects with,Choosing what to measure.\n"
    ",MEASURE 2.2,no counterpart,Human subjects are out of 42001.\n"
    "7.5.3,,no counterpart,No document control in the RMF.\n"
)
PROVENANCE = Provenance(target_framework="nist-ai-rmf", set_id="acme-nist", name="ACME crosswalk", made_by="ACME GRC team",
                        licence="CC-BY-4.0", reviewed_by="J. Doe", made_from="Our own reading")

CISO = """urn: urn:acme:risk:library:acme-42001-to-ai-act
locale: en
ref_id: acme-42001-to-ai-act
name: ACME 42001 to AI Act
description: Written for the tests of this project.
copyright: CC0 (written for these tests)
version: 1
publication_date: 2026-10-01
provider: ACME
packager: ACME
objects:
  requirement_mapping_sets:
  - urn: urn:acme:risk:req_mapping_set:acme-42001-to-ai-act
    ref_id: acme-42001-to-ai-act
    name: ACME 42001 to AI Act
    source_framework_urn: urn:intuitem:risk:framework:iso42001-2023
    target_framework_urn: urn:intuitem:risk:framework:ai-act
    requirement_mappings:
    - source_requirement_urn: urn:intuitem:risk:req_node:iso42001-2023:a.6.2.8
      target_requirement_urn: urn:intuitem:risk:req_node:ai-act:article-12
      relationship: equal
      rationale: semantic
    - source_requirement_urn: urn:intuitem:risk:req_node:iso42001-2023:6.1.2
      target_requirement_urn: urn:intuitem:risk:req_node:ai-act:art-9
      relationship: subset
    - source_requirement_urn: urn:intuitem:risk:req_node:iso42001-2023:a.9.4
      target_requirement_urn: urn:intuitem:risk:req_node:ai-act:art-5
      relationship: intersect
      annotation: intended use
    - source_requirement_urn: urn:intuitem:risk:req_node:iso42001-2023:4.1
      target_requirement_urn: urn:intuitem:risk:req_node:ai-act:art-49
      relationship: not_related
"""


def _nothing_imported(db: Path) -> None:
    with connect(db) as con:
        assert set(list_sets(con)["origin"]) == {"ours"}


def test_a_csv_in_our_layout_is_imported_with_its_provenance_beside_ours(db_path: Path) -> None:
    with connect(db_path) as con:
        outcome, mapping = import_mapping(con, "acme.csv", GOOD_CSV.encode(), PROVENANCE, by="tester", principal=ADMIN)
        assert outcome == "imported"
        stored = get_set(con, "acme-nist")
        assert [s.id for s in sets_for(con, "nist-ai-rmf")] == ["aims-42001-nist-ai-rmf", "acme-nist"]  # ours first
    assert stored.rows == mapping.rows and len(stored.mapped) == 4 and len(stored.rows) == 6
    assert (stored.made_by, stored.licence, stored.reviewed_by, stored.origin, stored.imported_by) == (
        "ACME GRC team", "CC-BY-4.0", "J. Doe", "imported", "tester")
    assert "imported from acme.csv" in stored.describe() and "CC-BY-4.0" in stored.describe()
    assert {(r.source, r.target, r.relationship) for r in stored.rows} >= {
        ("A.3.2", "GOVERN 2.1", "equal"), (None, "MEASURE 2.2", "no counterpart"), ("7.5.3", None, "no counterpart")}


def test_importing_never_replaces_a_set_silently(db_path: Path) -> None:
    with connect(db_path) as con:
        import_mapping(con, "acme.csv", GOOD_CSV.encode(), PROVENANCE, by="tester", principal=ADMIN)
        assert import_mapping(con, "acme.csv", GOOD_CSV.encode(), PROVENANCE, by="tester", principal=ADMIN)[0] == "unchanged"
        changed = GOOD_CSV.replace("Both define AI roles.", "Reworded.")
        with pytest.raises(MappingSetError, match=r"already imported from acme\.csv"):
            import_mapping(con, "acme.csv", changed.encode(), PROVENANCE, by="tester", principal=ADMIN)
        assert get_set(con, "acme-nist").rows[0].rationale == "Both define AI roles."
        assert import_mapping(con, "acme.csv", changed.encode(), PROVENANCE, by="tester", principal=ADMIN, replace=True)[0] == "replaced"
        assert get_set(con, "acme-nist").rows[0].rationale == "Reworded."
        ours = Provenance(**{**vars(PROVENANCE), "set_id": "aims-42001-nist-ai-rmf"})
        with pytest.raises(MappingSetError, match="shipped with this tool"):
            import_mapping(con, "acme.csv", GOOD_CSV.encode(), ours, by="tester", principal=ADMIN, replace=True)
        assert get_set(con, "aims-42001-nist-ai-rmf").origin == "ours"


def test_a_ciso_assistant_library_is_read_with_urns_relationships_and_provenance(db_path: Path) -> None:
    mapping, _ = parse_mapping_file("acme.yaml", CISO.encode(), Provenance())
    assert (mapping.id, mapping.target_framework, mapping.made_by, mapping.licence, mapping.made_on) == (
        "acme-42001-to-ai-act", "eu-ai-act", "ACME", "CC0 (written for these tests)", "2026-10-01")
    assert [(r.source, r.target, r.relationship, r.rationale) for r in mapping.rows] == [
        ("A.6.2.8", "Art. 12", "equal", "semantic"), ("6.1.2", "Art. 9", "subset of", ""),
        ("A.9.4", "Art. 5", "intersects with", "intended use")]
    assert "1 not_related rows skipped" in mapping.made_from
    with connect(db_path) as con:
        save_imported(con, mapping, content_hash="x", by="tester", principal=ADMIN)
        ids = [store.create_assessment(con, unit="Ops", label="R1", scope="both", catalog_version="t").id]
        store.update_response(con, ids[0], "A.6.2.8", {"maturity": 4}, by="tester", principal=ADMIN)
        table = readiness.requirement_readiness(con, ids, "eu-ai-act", "acme-42001-to-ai-act").set_index("requirement")
    assert (table.loc["Art. 12", "state"], table.loc["Art. 12", "maturity"]) == ("covered", 4.0)  # their equal, not ours
    assert table.loc["Art. 4", "state"] == readiness.NOT_COVERED  # their set says nothing about it


def test_a_library_from_the_other_framework_to_42001_is_read_the_other_way_round() -> None:
    reverse = (CISO.replace("framework:iso42001-2023\n    target_framework_urn: urn:intuitem:risk:framework:ai-act",
                            "framework:ai-act\n    target_framework_urn: urn:intuitem:risk:framework:iso42001-2023")
               .replace("source_requirement_urn: urn:intuitem:risk:req_node:iso42001-2023:6.1.2\n      target_requirement_urn: "
                        "urn:intuitem:risk:req_node:ai-act:art-9",
                        "source_requirement_urn: urn:intuitem:risk:req_node:ai-act:art-9\n      target_requirement_urn: "
                        "urn:intuitem:risk:req_node:iso42001-2023:6.1.2"))
    # the other rows still name 42001 on the source side: they are now unknown requirements of the AI Act
    with pytest.raises(CrosswalkError) as refused:
        parse_mapping_file("reverse.yaml", reverse.encode(), Provenance())
    assert "'a.6.2.8' is not a requirement of EU AI Act" in str(refused.value)
    only = reverse.split("    - source_requirement_urn: urn:intuitem:risk:req_node:iso42001-2023:a.9.4")[0].replace(
        """    - source_requirement_urn: urn:intuitem:risk:req_node:iso42001-2023:a.6.2.8
      target_requirement_urn: urn:intuitem:risk:req_node:ai-act:article-12
      relationship: equal
      rationale: semantic
""", "")
    mapping, _ = parse_mapping_file("reverse.yaml", only.encode(), Provenance())
    assert [(r.source, r.target, r.relationship) for r in mapping.rows] == [("6.1.2", "Art. 9", "superset of")]  # subset swapped


BAD = [
    ("unknown 42001 id", "bad.csv", "source_item,target_item,relationship,rationale\n9.9.9,GOVERN 1.1,equal,x\n",
     "bad.csv: row 2, column source_item: '9.9.9' is not an ISO/IEC 42001 item of our catalog"),
    ("unknown target id", "bad.csv", "source_item,target_item,relationship,rationale\n4.1,GOVERN 7.7,equal,x\n",
     "bad.csv: row 2, column target_item: 'GOVERN 7.7' is not a requirement of NIST AI RMF 1.0"),
    ("unknown relationship", "bad.csv", "source_item,target_item,relationship,rationale\n4.1,GOVERN 1.1,sort of,x\n",
     "bad.csv: row 2, column relationship: 'sort of' is not a relationship"),
    ("no counterpart without reason", "bad.csv", "source_item,target_item,relationship,rationale\n,GOVERN 1.1,no counterpart,\n",
     "bad.csv: row 2: 'no counterpart' for GOVERN 1.1 needs a reason"),
    ("not a mapping csv", "units.csv", "unit,item_id,maturity\nOps,4.1,3\n",
     "units.csv: not a mapping file in our layout: row 1 needs the columns source_item, target_item, relationship, rationale"),
    ("not a mapping yaml", "catalog.yaml", "kind: clause\nsections: []\n",
     "catalog.yaml: not a mapping file: a CISO Assistant mapping library has objects.requirement_mapping_set"),
    ("not yaml at all", "broken.yaml", "objects: [unclosed\n", "broken.yaml: not a mapping file: not valid YAML"),
    ("other extension", "notes.txt", "hello", "notes.txt: not a mapping file: expected a .csv in our layout"),
    ("unknown ciso relationship", "lib.yaml", CISO.replace("relationship: subset", "relationship: overlaps"),
     "lib.yaml: set 1, requirement_mappings[2], relationship: 'overlaps' is not a relationship"),
    ("unknown ciso requirement", "lib.yaml", CISO.replace("ai-act:art-9", "ai-act:art-999"),
     "lib.yaml: set 1, requirement_mappings[2], target_requirement_urn: 'art-999' is not a requirement of EU AI Act"),
    ("frameworks we do not know", "lib.yaml", CISO.replace("framework:ai-act", "framework:nist-csf-2.0"),
     "lib.yaml: no mapping set between ISO/IEC 42001 and a framework we know"),
    # 27001 -> AI Act: two frameworks we know, but read through a third framework (a chain), which is not followed
    ("a chain through a third framework", "lib.yaml", CISO.replace("framework:iso42001-2023", "framework:iso27001-2022"),
     "lib.yaml: no mapping set between ISO/IEC 42001 and a framework we know (eu-ai-act, iso-27001, nist-ai-rmf); found "
     "urn:intuitem:risk:framework:iso27001-2022 -> urn:intuitem:risk:framework:ai-act. Chains through a third framework "
     "are not followed."),
]


@pytest.mark.parametrize(("case", "name", "content", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_written(db_path: Path, case: str, name: str, content: str,
                                                                         message: str) -> None:
    with connect(db_path) as con, pytest.raises(CrosswalkError) as refused:
        import_mapping(con, name, content.encode(), PROVENANCE, by="tester", principal=ADMIN)
    assert message in str(refused.value)
    _nothing_imported(db_path)


def test_a_csv_without_provenance_is_refused(db_path: Path) -> None:
    with connect(db_path) as con, pytest.raises(CrosswalkError, match="needs 'licence'"):
        import_mapping(con, "acme.csv", GOOD_CSV.encode(), Provenance(target_framework="nist-ai-rmf", made_by="Me"), by="t",
                       principal=ADMIN)
    _nothing_imported(db_path)


def test_one_bad_row_refuses_the_whole_file(db_path: Path) -> None:
    content = GOOD_CSV + "4.1,GOVERN 1.1,kind of,x\n"
    with connect(db_path) as con, pytest.raises(CrosswalkError):
        import_mapping(con, "acme.csv", content.encode(), PROVENANCE, by="tester", principal=ADMIN)
    _nothing_imported(db_path)


# --- the command line ------------------------------------------------------------------------------


def test_cli_imports_refuses_and_lists_mapping_sets(db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "acme.csv", tmp_path / "bad.csv"
    good.write_text(GOOD_CSV, encoding="utf-8")
    bad.write_text("source_item,target_item,relationship,rationale\n4.1,GOVERN 1.1,maybe,x\n", encoding="utf-8")
    common = ["--framework", "nist-ai-rmf", "--made-by", "ACME", "--licence", "CC-BY-4.0", "--set-id", "acme-nist"]
    assert main(["--db", str(db_path), "frameworks", "import-mapping", str(bad), *common]) == 2
    err = capsys.readouterr().err
    assert "bad.csv: row 2, column relationship: 'maybe' is not a relationship" in err and "nothing imported" in err
    assert main(["--db", str(db_path), "frameworks", "import-mapping", str(good), *common]) == 0
    assert "imported mapping set acme-nist -> nist-ai-rmf: 4 mappings, 2 without counterpart" in capsys.readouterr().out
    assert main(["--db", str(db_path), "frameworks", "import-mapping", str(good), *common]) == 0
    assert "already imported" in capsys.readouterr().out
    assert main(["--db", str(db_path), "frameworks", "list"]) == 0
    out = capsys.readouterr().out
    assert "nist-ai-rmf: NIST AI RMF 1.0 — 72 requirements" in out and "set acme-nist -> nist-ai-rmf [imported]" in out
    provenance = out.split("set acme-nist -> nist-ai-rmf [imported]")[1].splitlines()[1]  # who, when, from what, licence, review
    assert provenance.startswith("    made by ACME; licence: CC-BY-4.0; reviewed by: nobody named; imported from acme.csv by ")
    ours = out.split("set aims-42001-eu-ai-act -> eu-ai-act [ours]")[1].splitlines()[1]
    assert "made by AIMS gap assessment project (maintainers) on 2026-11-30; made from: Clause and control titles" in ours
    assert "reviewed by: Not yet reviewed by anyone outside the project" in ours
    assert main(["--db", str(db_path), "frameworks", "remove-mapping", "aims-42001-nist-ai-rmf"]) == 1
    assert main(["--db", str(db_path), "frameworks", "remove-mapping", "acme-nist"]) == 0
    _nothing_imported(db_path)


def test_cli_readiness_export_has_human_headers_figures_from_the_engine_and_is_formula_safe(
        db_path: Path, tmp_path: Path) -> None:
    with connect(db_path) as con:
        hostile = store.create_assessment(con, unit="=HYPERLINK(1)", label="R1", scope="both", catalog_version="t").id
        store.update_response(con, hostile, "A.6.2.8", {"maturity": 2, "evidence": "x"}, by="t", principal=ADMIN)
        expected = readiness.requirement_readiness(con, [hostile], "eu-ai-act").set_index("requirement")
    out = tmp_path / "ai-act.csv"
    assert main(["--db", str(db_path), "frameworks", "readiness", "--framework", "eu-ai-act", "--format", "csv",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert list(rows[0]) == list(HEADERS.values())
    assert len(rows) == 20 and {r["Unit"] for r in rows} == {"'=HYPERLINK(1)"}
    art12 = next(r for r in rows if r["Requirement"] == "Art. 12")
    assert float(art12["Derived maturity"]) == expected.loc["Art. 12", "maturity"] == 2.0
    assert art12["State"] == "partial" and "A.6.2.8: subset of, 2 / 3, partial" in art12[HEADERS["answers"]]
    assert next(r for r in rows if r["Requirement"] == "Art. 43")["Why 42001 does not cover it"].startswith("A legal")
    book_path = tmp_path / "ai-act.xlsx"
    assert main(["--db", str(db_path), "frameworks", "readiness", "--framework", "eu-ai-act", "--format", "xlsx",
                 "--out", str(book_path)]) == 0
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == ["Readiness", "About"]
    sheet = list(book["Readiness"].iter_rows(values_only=True))
    assert list(sheet[0]) == list(HEADERS.values()) and sheet[1][0] == "'=HYPERLINK(1)"
    about = dict(row for row in book["About"].iter_rows(min_row=2, values_only=True))
    assert about["Mapping set"] == "aims-42001-eu-ai-act" and "licence" in about["Provenance"]
    assert about["Rule"].startswith("Each 42001 item mapped to a requirement weighs by its relationship")
    assert main(["--db", str(db_path), "frameworks", "readiness", "--framework", "nope", "--format", "csv",
                 "--out", str(out)]) == 1


def test_the_report_has_a_section_per_framework(demo_db: Path) -> None:
    with connect(demo_db) as con:
        ids = scoring.select_assessments(con, principal=ADMIN)
        page = report.build_report(con, ids, principal=ADMIN)
        line = readiness.overview(con, ids, "nist-ai-rmf")
    section = page.split("<h2>Other frameworks, derived from the 42001 answers</h2>")[1].split("<h2>")[0]
    for name in ("EU AI Act", "NIST AI RMF 1.0", "ISO/IEC 27001:2022"):
        assert f"<h3>{name}</h3>" in section
    assert "Not covered by 42001 (2): Art. 43, Art. 49." in section
    assert line["maturity"] is not None and f"<td>72</td><td>{line['maturity']:.2f}</td>" in section


def test_readme_documents_every_frameworks_command() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for command in ("list", "readiness", "import-mapping", "remove-mapping", "propose", "proposals", "accept"):
        assert f"python -m etl frameworks {command}" in readme, command
    assert "## Other frameworks: EU AI Act, NIST AI RMF, ISO/IEC 27001" in readme


def test_a_ciso_row_naming_a_paragraph_counts_for_its_article_with_the_relationship_to_the_whole() -> None:
    library = CISO.replace("ai-act:article-12", "ai-act:article-12-1").replace("ai-act:art-5\n", "ai-act:art-5-1-a\n")
    mapping, _ = parse_mapping_file("acme.yaml", library.encode(), Provenance())
    rows = {r.target: r for r in mapping.rows}
    assert rows["Art. 12"].relationship == "subset of"  # equal to paragraph 1: part of the article
    assert "names article-12-1, a part of Art. 12: equal the part, subset of the whole" in rows["Art. 12"].rationale
    assert rows["Art. 5"].relationship == "intersects with"
    assert rows["Art. 9"].relationship == "subset of" and rows["Art. 9"].rationale == ""
