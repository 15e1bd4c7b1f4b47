"""Other frameworks as data: the EU AI Act, the NIST AI RMF and ISO/IEC 27001, and the mapping sets that
link our ISO/IEC 42001 items to their requirements (`questionnaires/frameworks/`).

A framework file lists requirements (id, title and/or a short description in our own words, a group).
A mapping set has provenance (who made it, when, from what, licence, reviewed by) and rows: a 42001 item,
a target requirement and their relationship in NIST IR 8477's vocabulary, read "42001 item <relationship>
target requirement" — *equal*, *subset of* (the item is part of what the requirement asks), *superset of*
(the item asks for all of it and more), *intersects with* (each asks for something the other does not) —
with a rationale. A 42001 item or a requirement without a counterpart is a row too (*no counterpart*, with
the reason), so that nothing is silently left out. Mapping sets only link 42001 to one framework: chains
through a third framework are not followed.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dashboard.catalog import Catalog, CatalogError, default_catalog_dir

__all__ = [
    "NO_COUNTERPART",
    "RELATIONSHIPS",
    "SOURCE_FRAMEWORK",
    "Framework",
    "MappingRow",
    "MappingSet",
    "Requirement",
    "coverage_gaps",
    "framework_dir",
    "load_frameworks",
    "load_mapping_sets",
    "unknown_ids",
]

SOURCE_FRAMEWORK = "iso-42001"
# relationship -> strength: how much of the target requirement one mapped 42001 item speaks for
# (the weight of its maturity in the derived maturity; see dashboard/readiness.py)
RELATIONSHIPS: dict[str, float] = {"equal": 1.0, "superset of": 1.0, "subset of": 0.5, "intersects with": 0.25}
NO_COUNTERPART = "no counterpart"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requirement(_Strict):
    id: str = Field(min_length=1)
    title: str = ""
    group: str = ""
    description: str = ""

    @model_validator(mode="after")
    def _named(self) -> Requirement:
        if not (self.title or self.description):
            raise ValueError(f"requirement {self.id} needs a title or a description")
        return self

    @property
    def label(self) -> str:
        """`Art. 9 Risk management system`, or the id and our description when the title is the id."""
        return f"{self.id} {self.title or self.description}"


class Framework(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    title: str
    version: str
    publisher: str
    licence: str
    source: str
    requirements: tuple[Requirement, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Framework:
        seen: set[str] = set()
        for requirement in self.requirements:
            if requirement.id in seen:
                raise ValueError(f"requirement {requirement.id} is listed twice")
            seen.add(requirement.id)
        return self

    @functools.cached_property
    def by_id(self) -> dict[str, Requirement]:
        return {r.id: r for r in self.requirements}

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(r.group for r in self.requirements))


class MappingRow(_Strict):
    """`source` (a 42001 item) `relationship` `target` (a requirement); a *no counterpart* row names one side."""

    source: str | None = None
    target: str | None = None
    relationship: str
    rationale: str = ""

    @model_validator(mode="after")
    def _shape(self) -> MappingRow:
        if self.relationship == NO_COUNTERPART:
            if (self.source is None) == (self.target is None):
                raise ValueError("a 'no counterpart' row names either a 42001 item or a target requirement, not both")
            if not self.rationale.strip():
                raise ValueError(f"'no counterpart' for {self.source or self.target} needs a reason")
        elif self.relationship not in RELATIONSHIPS:
            raise ValueError(f"relationship {self.relationship!r} is not one of {', '.join([*RELATIONSHIPS, NO_COUNTERPART])}")
        elif not (self.source and self.target):
            raise ValueError("a mapping row needs both a 42001 item and a target requirement")
        return self

    @property
    def strength(self) -> float:
        return RELATIONSHIPS.get(self.relationship, 0.0)


class MappingSet(_Strict):
    """A set of mapping rows from 42001 to one framework, with its provenance."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1)
    source_framework: str = SOURCE_FRAMEWORK
    target_framework: str
    version: str = ""
    made_by: str = Field(min_length=1)
    made_on: str = ""
    made_from: str = ""
    licence: str = Field(min_length=1)
    reviewed_by: str = ""
    rows: tuple[MappingRow, ...] = Field(min_length=1)
    origin: Literal["ours", "imported"] = "ours"
    # for imported sets: where they came from and who brought them in
    filename: str = ""
    imported_by: str = ""
    imported_at: str = ""

    @model_validator(mode="after")
    def _from_42001(self) -> MappingSet:
        if self.source_framework != SOURCE_FRAMEWORK:
            raise ValueError(f"a mapping set must map from {SOURCE_FRAMEWORK} (our answers); this one maps from "
                             f"{self.source_framework} (chains through a third framework are not followed)")
        return self

    @property
    def mapped(self) -> tuple[MappingRow, ...]:
        return tuple(r for r in self.rows if r.relationship != NO_COUNTERPART)

    def describe(self) -> str:
        """One line that says which set a figure uses and where it comes from."""
        who = f"made by {self.made_by}" + (f" on {self.made_on}" if self.made_on else "")
        origin = "shipped with this tool" if self.origin == "ours" else f"imported from {self.filename or 'a file'}" + (
            f" by {self.imported_by}" if self.imported_by else "")
        reviewed = f"; reviewed: {self.reviewed_by}" if self.reviewed_by else ""
        return f"{self.name} ({origin}; {who}; licence: {self.licence}{reviewed})"


def framework_dir() -> Path:
    return default_catalog_dir() / "frameworks"


def _read(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: not valid YAML ({exc})") from exc


@functools.lru_cache(maxsize=4)
def load_frameworks(directory: str | Path | None = None) -> dict[str, Framework]:
    """Every `*.yaml` framework file of `questionnaires/frameworks/`, by id, in file-name order."""
    root = Path(directory) if directory else framework_dir()
    found: dict[str, Framework] = {}
    for path in sorted(root.glob("*.yaml")):
        try:
            framework = Framework.model_validate(_read(path))
        except ValidationError as exc:
            raise CatalogError(f"{path}: {exc}") from exc
        if framework.id in found:
            raise CatalogError(f"{path}: framework {framework.id} is defined twice")
        found[framework.id] = framework
    return found


def _set_from_file(data: object) -> object:
    """A set file holds `rows` and, for readability, `no_counterpart: {targets: [...], sources: [...]}`."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    extra = data.pop("no_counterpart", None) or {}
    rows = list(data.get("rows") or [])
    for entry in extra.get("targets", []) or []:
        rows.append({"target": entry.get("target"), "relationship": NO_COUNTERPART, "rationale": entry.get("reason", "")})
    for entry in extra.get("sources", []) or []:
        rows.append({"source": entry.get("source"), "relationship": NO_COUNTERPART, "rationale": entry.get("reason", "")})
    data["rows"] = rows
    return data


def unknown_ids(mapping: MappingSet, framework: Framework, catalog: Catalog) -> list[str]:
    """Problems with the ids a set names: 42001 items not in our catalog, requirements not in the framework."""
    problems = []
    for number, row in enumerate(mapping.rows, start=1):
        if row.source is not None and row.source not in catalog.by_id:
            problems.append(f"row {number}: {row.source!r} is not an ISO/IEC 42001 item of our catalog")
        if row.target is not None and row.target not in framework.by_id:
            problems.append(f"row {number}: {row.target!r} is not a requirement of {framework.name}")
    return problems


def coverage_gaps(mapping: MappingSet, framework: Framework, catalog: Catalog) -> tuple[list[str], list[str]]:
    """Requirements and 42001 items the set says nothing about (neither a mapping nor 'no counterpart')."""
    targets = {r.target for r in mapping.rows}
    sources = {r.source for r in mapping.rows}
    return ([r.id for r in framework.requirements if r.id not in targets],
            [i.id for i in catalog.items if i.id not in sources])


@functools.lru_cache(maxsize=4)
def load_mapping_sets(directory: str | Path | None = None) -> dict[str, MappingSet]:
    """Our own mapping sets (`questionnaires/frameworks/mappings/*.yaml`), checked against the catalog and the
    frameworks: every id known, and every requirement and every 42001 item either mapped or explicitly without
    a counterpart."""
    from dashboard.catalog import load_catalog

    root = Path(directory) if directory else framework_dir()
    catalog = load_catalog()
    frameworks = load_frameworks(root)
    found: dict[str, MappingSet] = {}
    for path in sorted((root / "mappings").glob("*.yaml")):
        try:
            mapping = MappingSet.model_validate(_set_from_file(_read(path)))
        except ValidationError as exc:
            raise CatalogError(f"{path}: {exc}") from exc
        framework = frameworks.get(mapping.target_framework)
        if framework is None:
            raise CatalogError(f"{path}: unknown target framework {mapping.target_framework!r}")
        problems = unknown_ids(mapping, framework, catalog)
        targets, sources = coverage_gaps(mapping, framework, catalog)
        if targets:
            problems.append(f"requirements with neither a mapping nor 'no counterpart': {', '.join(targets)}")
        if sources:
            problems.append(f"42001 items with neither a mapping nor 'no counterpart': {', '.join(sources)}")
        if problems:
            raise CatalogError(f"{path}: " + "; ".join(problems))
        if mapping.id in found:
            raise CatalogError(f"{path}: mapping set {mapping.id} is defined twice")
        found[mapping.id] = mapping
    return found
