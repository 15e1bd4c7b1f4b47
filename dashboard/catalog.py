"""The ISO/IEC 42001 catalog: clauses 4-10 and Annex A, loaded from `questionnaires/` and validated.

The catalog is data. Every question, guidance line, rubric and example in it is written in our own
words; only clause/control numbers and titles come from the standard.
"""

from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Catalog",
    "CatalogError",
    "Item",
    "Level",
    "Scale",
    "Section",
    "default_catalog_dir",
    "load_catalog",
]

LEVELS = range(0, 6)
Kind = Literal["clause", "annex_a"]


class CatalogError(ValueError):
    """A catalog file is missing, unreadable or invalid; the message names the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Strict):
    value: int = Field(ge=0, le=5)
    name: str = Field(min_length=1)
    definition: str = Field(min_length=10)
    aliases: tuple[str, ...] = ()


class Scale(_Strict):
    default_target: int = Field(ge=0, le=5)
    levels: tuple[Level, ...]

    @model_validator(mode="after")
    def _all_levels(self) -> Scale:
        values = [lv.value for lv in self.levels]
        if sorted(values) != list(LEVELS):
            raise ValueError(f"the scale must define each level 0-5 exactly once, found {values}")
        return self

    def name(self, value: int) -> str:
        return self.levels_by_value[value].name

    @functools.cached_property
    def levels_by_value(self) -> dict[int, Level]:
        return {lv.value: lv for lv in self.levels}

    def level_of(self, score: float | None) -> int | None:
        """The maturity level of a score: the score rounded down (2.99 is level 2)."""
        if score is None or (isinstance(score, float) and math.isnan(score)):
            return None
        # round first so that 2.9999999 from floating sums is still level 3
        return max(0, min(5, math.floor(round(float(score), 6))))

    def level_name(self, score: float | None) -> str:
        level = self.level_of(score)
        return "Not assessed" if level is None else self.name(level)

    @functools.cached_property
    def words(self) -> dict[str, int]:
        """Every name and alias of a level, lower-cased, mapped to its value."""
        out: dict[str, int] = {}
        for lv in self.levels:
            for word in (lv.name, *lv.aliases):
                out[word.strip().lower()] = lv.value
        return out


class Item(_Strict):
    id: str
    title: str = Field(min_length=3)
    questions: tuple[str, ...] = Field(min_length=1)
    guidance: str = Field(min_length=20)
    evidence_examples: tuple[str, ...] = Field(min_length=2, max_length=4)
    rubric: dict[int, str]
    weight: float = Field(default=1.0, gt=0)
    # items that should be in place before this one can be improved (roadmap ordering)
    depends_on: tuple[str, ...] = ()
    # filled in by the loader
    section: str = ""
    kind: Kind = "clause"
    order: int = 0

    @field_validator("questions", "evidence_examples")
    @classmethod
    def _non_empty(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for text in values:
            if not text or not text.strip():
                raise ValueError("must not contain an empty entry")
        return values

    @field_validator("rubric")
    @classmethod
    def _every_level(cls, rubric: dict[int, str]) -> dict[int, str]:
        missing = [lv for lv in LEVELS if not (rubric.get(lv) or "").strip()]
        extra = [k for k in rubric if k not in LEVELS]
        if missing or extra:
            raise ValueError(f"rubric needs a line for each level 0-5 (missing {missing}, unexpected {extra})")
        return rubric

    def level_label(self, scale: Scale, level: int) -> str:
        """How a level is offered for this item: `2 · Managed — <this item's rubric line for level 2>`."""
        return f"{level} · {scale.name(level)} — {self.rubric[level]}"


class Section(_Strict):
    id: str
    title: str = Field(min_length=3)
    items: tuple[Item, ...] = Field(min_length=1)
    kind: Kind = "clause"


class _SectionFile(_Strict):
    kind: Kind
    sections: tuple[Section, ...] = Field(min_length=1)


class _MetaFile(_Strict):
    name: str
    version: str = Field(min_length=1)
    standard: str


class Catalog(_Strict):
    name: str
    version: str
    standard: str
    scale: Scale
    sections: tuple[Section, ...]
    digest: str

    @functools.cached_property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @functools.cached_property
    def by_id(self) -> dict[str, Item]:
        return {item.id: item for item in self.items}

    @functools.cached_property
    def section_by_id(self) -> dict[str, Section]:
        return {section.id: section for section in self.sections}

    def sections_of(self, kind: Kind) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.kind == kind)

    def items_of(self, kind: Kind) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.kind == kind)


def default_catalog_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "questionnaires"


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogError(f"{path}: catalog file not found") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: not valid YAML ({exc})") from exc


def _parse(model: type[BaseModel], path: Path, data: object) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValueError as exc:
        raise CatalogError(f"{path}: {exc}") from exc


@functools.lru_cache(maxsize=4)
def load_catalog(directory: str | Path | None = None) -> Catalog:
    """Load and validate `catalog.yaml`, `scale.yaml` and the section files (`clauses.yaml`, `annex_a.yaml`)."""
    root = Path(directory) if directory else default_catalog_dir()
    meta_path = root / "catalog.yaml"
    meta_data = _read_yaml(meta_path)
    if not isinstance(meta_data, dict) or "files" not in meta_data:
        raise CatalogError(f"{meta_path}: needs a 'files' list naming the section files")
    files = meta_data.pop("files")
    meta = _parse(_MetaFile, meta_path, meta_data)
    scale = _parse(Scale, root / "scale.yaml", _read_yaml(root / "scale.yaml"))

    digest = hashlib.sha256()
    for name in ("catalog.yaml", "scale.yaml", *files):
        try:
            digest.update((root / name).read_bytes())
        except OSError as exc:
            raise CatalogError(f"{root / name}: catalog file not found or unreadable ({exc.strerror})") from exc

    sections: list[Section] = []
    seen: dict[str, Path] = {}
    order = 0
    for name in files:
        path = root / name
        parsed = _parse(_SectionFile, path, _read_yaml(path))
        assert isinstance(parsed, _SectionFile)
        for section in parsed.sections:
            items = []
            for item in section.items:
                if item.id in seen:
                    raise CatalogError(f"{path}: item {item.id} is defined twice (also in {seen[item.id]})")
                seen[item.id] = path
                order += 1
                items.append(item.model_copy(update={"section": section.id, "kind": parsed.kind, "order": order}))
            if section.id in {s.id for s in sections}:
                raise CatalogError(f"{path}: section {section.id} is defined twice")
            sections.append(section.model_copy(update={"items": tuple(items), "kind": parsed.kind}))

    catalog = Catalog(
        name=meta.name,
        version=meta.version,
        standard=meta.standard,
        scale=scale,  # type: ignore[arg-type]
        sections=tuple(sections),
        digest=digest.hexdigest()[:16],
    )
    for item in catalog.items:
        unknown = [d for d in item.depends_on if d not in catalog.by_id]
        if unknown:
            raise CatalogError(f"{seen[item.id]}: item {item.id} depends on unknown items {unknown}")
    _check_acyclic(catalog, seen)
    return catalog


def _check_acyclic(catalog: Catalog, files: dict[str, Path]) -> None:
    """Dependencies must not loop, or the roadmap could never order the items."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(item_id: str, path: list[str]) -> None:
        if state.get(item_id) == 2:
            return
        if state.get(item_id) == 1:
            loop = " -> ".join([*path[path.index(item_id):], item_id])
            raise CatalogError(f"{files[item_id]}: dependencies form a loop: {loop}")
        state[item_id] = 1
        for dependency in catalog.by_id[item_id].depends_on:
            visit(dependency, [*path, item_id])
        state[item_id] = 2

    for item in catalog.items:
        visit(item.id, [])
