"""Bring your own mapping: read a mapping set from a CSV in our layout or from a CISO Assistant mapping
library (YAML), check every row, and store it with its provenance — all or nothing.

**Our CSV layout**: one row per mapping, columns `source_item` (a 42001 item of our catalog),
`target_item` (a requirement of the target framework), `relationship` (*equal*, *subset of*, *superset of*,
*intersects with*, or *no counterpart* with one side blank) and `rationale`. The set's provenance (name,
who made it, licence...) is given beside the file (command-line options or the page's fields).

**CISO Assistant**: a library file whose `objects` hold `requirement_mapping_set` (or a list
`requirement_mapping_sets`), each with `source_framework_urn`, `target_framework_urn` and
`requirement_mappings` (`source_requirement_urn`, `target_requirement_urn`, `relationship`: equal, subset,
superset, intersect, not_related). Provenance comes from the library (name, provider/packager, copyright,
publication date, urn). A set from the other framework to 42001 is read the other way round (subset and
superset swap); `not_related` rows state that two items are unrelated and are skipped. Requirement URNs end in
the requirement's reference (`...:iso27001-2022:a.5.1`), matched to our ids without regard to case or
punctuation (`a.5.1` = `A.5.1`, `govern-1.1` = `GOVERN 1.1`, `article-9` = `Art. 9`). A reference to a part of a
requirement (`art-9-1`, paragraph 1 of Art. 9) counts for the requirement, with the relationship to the whole
(equal or subset of the part = subset of the whole; superset of or intersecting the part = intersects with
the whole), and the rationale says so.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from dashboard.catalog import Catalog, load_catalog
from dashboard.frameworks import NO_COUNTERPART, RELATIONSHIPS, SOURCE_FRAMEWORK, Framework, MappingRow, MappingSet, load_frameworks

__all__ = ["CSV_COLUMNS", "CrosswalkError", "Provenance", "import_mapping", "parse_mapping_file"]

CSV_COLUMNS = ("source_item", "target_item", "relationship", "rationale")
_CSV_ALIASES = {"source": "source_item", "source item": "source_item", "target": "target_item", "target item": "target_item",
                "relation": "relationship", "reason": "rationale"}
_WORDS = {**{r: r for r in RELATIONSHIPS}, NO_COUNTERPART: NO_COUNTERPART, "subset": "subset of", "superset": "superset of",
          "intersect": "intersects with", "intersects": "intersects with", "equivalent": "equal", "none": NO_COUNTERPART,
          "no_counterpart": NO_COUNTERPART}
_CISO = {"equal": "equal", "subset": "subset of", "superset": "superset of", "intersect": "intersects with"}
_REVERSED = {"subset of": "superset of", "superset of": "subset of"}
# a row that names a part of a requirement (a paragraph of an article: art-9-1) speaks for that requirement
# with the relationship to the whole: what equals or lies inside a part lies inside the whole; what contains a
# part may or may not contain the rest
_TO_WHOLE = {"equal": "subset of", "subset of": "subset of", "superset of": "intersects with", "intersects with": "intersects with"}
# framework URNs (their last part) of CISO Assistant libraries, per framework of ours
_URN_NAMES = {SOURCE_FRAMEWORK: ("iso42001", "iso-42001", "iso42001-2023", "iso-iec-42001"),
              "eu-ai-act": ("ai-act", "eu-ai-act"), "nist-ai-rmf": ("nist-ai-rmf", "nist-ai-rmf-1.0", "ai-rmf"),
              "iso-27001": ("iso27001-2022", "iso-27001", "iso27001")}


class CrosswalkError(ValueError):
    """The file is refused; `problems` lists every reason (file, row, column, value, what was expected)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Provenance:
    """What is said about a set beside the file; blank fields are taken from the file where it has them."""

    set_id: str = ""
    name: str = ""
    target_framework: str = ""
    made_by: str = ""
    made_on: str = ""
    made_from: str = ""
    licence: str = ""
    reviewed_by: str = ""
    version: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _key(text: str) -> str:
    """Ids compared without case or punctuation; 'article' reads as 'art'."""
    key = re.sub(r"[^a-z0-9]+", ".", str(text).strip().lower()).strip(".")
    return re.sub(r"^article\.", "art.", key)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "imported-set"


def parse_mapping_file(name: str, data: bytes, provenance: Provenance, *, catalog: Catalog | None = None,
                       frameworks: dict[str, Framework] | None = None) -> tuple[MappingSet, str]:
    """Read and check a mapping file; returns the set and the hash of its content and provenance (so that the
    same file imported again is recognised). Raises CrosswalkError listing every problem."""
    catalog = catalog or load_catalog()
    frameworks = frameworks or load_frameworks()
    lower = name.lower()
    if lower.endswith(".csv"):
        mapping = _from_csv(name, data, provenance, catalog, frameworks)
    elif lower.endswith((".yaml", ".yml")):
        mapping = _from_ciso(name, data, provenance, catalog, frameworks)
    else:
        raise CrosswalkError([f"{name}: not a mapping file: expected a .csv in our layout or a CISO Assistant .yaml library"])
    digest = hashlib.sha256(data + repr(sorted(vars(provenance).items())).encode()).hexdigest()
    return mapping, digest


def _finish(name: str, rows: list[dict[str, Any]], problems: list[str], meta: dict[str, Any]) -> MappingSet:
    if not rows and not problems:
        problems.append(f"{name}: no mapping rows found")
    if problems:
        raise CrosswalkError(problems)
    try:
        return MappingSet.model_validate({**meta, "rows": rows, "origin": "imported", "filename": name})
    except ValidationError as exc:
        raise CrosswalkError([f"{name}: {error['loc'][0] if error['loc'] else 'set'}: {error['msg']}"
                              for error in exc.errors()]) from exc


def _meta(provenance: Provenance, defaults: dict[str, str]) -> dict[str, str]:
    given = {k: v for k, v in vars(provenance).items() if k != "extra" and v}
    meta = {**defaults, **given}
    meta["id"] = meta.pop("set_id", "") or _slug(meta.get("name", "imported-set"))
    return meta


def _check_ids(name: str, where: tuple[str, str], source: str | None, target: str | None, framework: Framework,
               catalog: Catalog, problems: list[str]) -> tuple[str | None, str | None]:
    """Our ids for the two sides (exact match after normalisation), or a problem naming the unknown one."""
    sources = {_key(i.id): i.id for i in catalog.items}
    targets = {_key(r.id): r.id for r in framework.requirements}
    found_source = found_target = None
    if source:
        found_source = sources.get(_key(source))
        if found_source is None:
            problems.append(f"{name}: {where[0]}: {source!r} is not an ISO/IEC 42001 item of our catalog")
    if target:
        found_target = targets.get(_key(target))
        if found_target is None:
            problems.append(f"{name}: {where[1]}: {target!r} is not a requirement of {framework.name}")
    return found_source, found_target


def _whole(node: str, framework: Framework) -> str | None:
    """The requirement a part belongs to (`art-9-1` -> `Art. 9`) when `node` is not a requirement itself."""
    key = _key(node)
    ids = {_key(r.id): r.id for r in framework.requirements}
    if key in ids:
        return None
    parents = [k for k in ids if key.startswith(k + ".")]
    return ids[max(parents, key=len)] if parents else None


def _from_csv(name: str, data: bytes, provenance: Provenance, catalog: Catalog, frameworks: dict[str, Framework]) -> MappingSet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, [])
    columns = [_CSV_ALIASES.get(h.strip().lower().replace("_", " "), h.strip().lower()) for h in header]
    missing = [c for c in CSV_COLUMNS[:3] if c not in columns]
    if missing:
        raise CrosswalkError([f"{name}: not a mapping file in our layout: row 1 needs the columns "
                              f"{', '.join(CSV_COLUMNS)} (missing {', '.join(missing)}; found {', '.join(header) or 'nothing'})"])
    target_id = provenance.target_framework
    if target_id not in frameworks:
        raise CrosswalkError([f"{name}: say which framework the set maps to (one of {', '.join(frameworks)}); "
                              f"got {target_id or 'none'}"])
    framework = frameworks[target_id]
    at = {c: columns.index(c) for c in CSV_COLUMNS if c in columns}
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, cells in enumerate(reader, start=2):
        value = {c: (cells[i].strip() if i < len(cells) else "") for c, i in at.items()}
        if not any(value.values()):
            continue
        word = value["relationship"].lower()
        relationship = _WORDS.get(word)
        if relationship is None:
            problems.append(f"{name}: row {number}, column relationship: {value['relationship']!r} is not a relationship "
                            f"(expected one of {', '.join([*RELATIONSHIPS, NO_COUNTERPART])})")
            continue
        source, target = _check_ids(name, (f"row {number}, column source_item", f"row {number}, column target_item"),
                                    value["source_item"] or None, value["target_item"] or None, framework, catalog, problems)
        if (value["source_item"] and source is None) or (value["target_item"] and target is None):
            continue
        row = {"source": source, "target": target, "relationship": relationship, "rationale": value.get("rationale", "")}
        try:
            MappingRow.model_validate(row)
        except ValidationError as exc:
            problems.append(f"{name}: row {number}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}")
            continue
        rows.append(row)
    meta = _meta(provenance, {"target_framework": target_id, "name": name})
    for required in ("made_by", "licence"):
        if not meta.get(required):
            problems.append(f"{name}: the set's provenance needs '{required.replace('_', ' ')}' (who made it and under "
                            "which licence it may be used)")
    return _finish(name, rows, problems, meta)


def _framework_of(urn: str, frameworks: dict[str, Framework]) -> str | None:
    last = str(urn).rsplit(":", 1)[-1].lower()
    for framework_id, names in _URN_NAMES.items():
        if last in names and (framework_id == SOURCE_FRAMEWORK or framework_id in frameworks):
            return framework_id
    return None


def _from_ciso(name: str, data: bytes, provenance: Provenance, catalog: Catalog, frameworks: dict[str, Framework]) -> MappingSet:
    try:
        library = yaml.safe_load(data.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CrosswalkError([f"{name}: not a mapping file: not valid YAML ({exc})"]) from exc
    objects = library.get("objects") if isinstance(library, dict) else None
    sets = None
    if isinstance(objects, dict):
        sets = objects.get("requirement_mapping_sets") or (
            [objects["requirement_mapping_set"]] if objects.get("requirement_mapping_set") else None)
    if not isinstance(sets, list) or not sets or not all(isinstance(s, dict) for s in sets):
        raise CrosswalkError([f"{name}: not a mapping file: a CISO Assistant mapping library has "
                              "objects.requirement_mapping_set (or requirement_mapping_sets) with requirement_mappings"])
    assert isinstance(library, dict)
    problems: list[str] = []
    chosen = None
    for index, candidate in enumerate(sets, start=1):
        source_fw = _framework_of(candidate.get("source_framework_urn", ""), frameworks)
        target_fw = _framework_of(candidate.get("target_framework_urn", ""), frameworks)
        if source_fw == SOURCE_FRAMEWORK and target_fw and target_fw != SOURCE_FRAMEWORK:
            chosen = (index, candidate, target_fw, False)
            break
        if target_fw == SOURCE_FRAMEWORK and source_fw and source_fw != SOURCE_FRAMEWORK and chosen is None:
            chosen = (index, candidate, source_fw, True)
    if chosen is None:
        pairs = "; ".join(f"{s.get('source_framework_urn')} -> {s.get('target_framework_urn')}" for s in sets)
        raise CrosswalkError([f"{name}: no mapping set between ISO/IEC 42001 and a framework we know "
                              f"({', '.join(frameworks)}); found {pairs}. Chains through a third framework are not followed."])
    index, mapping_set, target_id, reverse = chosen
    framework = frameworks[target_id]
    rows: list[dict[str, Any]] = []
    entries = mapping_set.get("requirement_mappings")
    if not isinstance(entries, list):
        raise CrosswalkError([f"{name}: set {index}: not a mapping file: requirement_mappings is missing or not a list"])
    skipped = 0
    for number, entry in enumerate(entries, start=1):
        where = f"set {index}, requirement_mappings[{number}]"
        if not isinstance(entry, dict):
            problems.append(f"{name}: {where}: expected source_requirement_urn, target_requirement_urn and relationship")
            continue
        word = str(entry.get("relationship", "")).strip().lower()
        if word == "not_related":
            skipped += 1
            continue
        relationship = _CISO.get(word)
        if relationship is None:
            problems.append(f"{name}: {where}, relationship: {entry.get('relationship')!r} is not a relationship "
                            f"(expected one of {', '.join([*_CISO, 'not_related'])})")
            continue
        source_urn, target_urn = entry.get("source_requirement_urn"), entry.get("target_requirement_urn")
        if not source_urn or not target_urn:
            problems.append(f"{name}: {where}: needs both source_requirement_urn and target_requirement_urn")
            continue
        if reverse:
            source_urn, target_urn = target_urn, source_urn
            relationship = _REVERSED.get(relationship, relationship)
        labels = (f"{where}, source_requirement_urn", f"{where}, target_requirement_urn")
        node = str(target_urn).rsplit(":", 1)[-1]
        whole = _whole(node, framework)
        source, target = _check_ids(name, labels[::-1] if reverse else labels, str(source_urn).rsplit(":", 1)[-1],
                                    whole or node, framework, catalog, problems)
        if source and target:
            notes = [str(entry[k]) for k in ("rationale", "annotation") if entry.get(k)]
            if whole:
                notes.append(f"names {node}, a part of {target}: {relationship} the part, {_TO_WHOLE[relationship]} the whole")
                relationship = _TO_WHOLE[relationship]
            rows.append({"source": source, "target": target, "relationship": relationship, "rationale": " · ".join(notes)})
    defaults = {
        "name": str(mapping_set.get("name") or library.get("name") or name),
        "target_framework": target_id,
        "made_by": str(library.get("provider") or library.get("packager") or ""),
        "made_on": str(library.get("publication_date") or ""),
        "made_from": f"CISO Assistant library {library.get('urn', '')}" + (f" ({skipped} not_related rows skipped)" if skipped else "")
                     + (" read from the other framework to 42001, subset/superset swapped" if reverse else ""),
        "licence": str(library.get("copyright") or ""),
        "version": str(library.get("version") or ""),
        "set_id": _slug(str(mapping_set.get("ref_id") or library.get("ref_id") or name)),
    }
    meta = _meta(provenance, defaults)
    for required in ("made_by", "licence"):
        if not meta.get(required):
            problems.append(f"{name}: the library names no {'provider' if required == 'made_by' else 'copyright'}; "
                            f"give the set's {required.replace('_', ' ')} beside the file")
    return _finish(name, rows, problems, meta)


def import_mapping(con: Any, name: str, data: bytes, provenance: Provenance, *, by: str, principal: Any,
                   replace: bool = False) -> tuple[str, MappingSet]:
    """Read, check and store a mapping file in one step (the page's and the command line's door); returns
    ('imported' | 'replaced' | 'unchanged', the set). Raises CrosswalkError or mapping_store.MappingSetError."""
    from dashboard.mapping_store import save_imported

    mapping, digest = parse_mapping_file(name, data, provenance)
    return save_imported(con, mapping, content_hash=digest, by=by, principal=principal, replace=replace), mapping
