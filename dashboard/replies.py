"""The shapes a model's replies must have, as Pydantic models: the JSON schema sent to the model comes from them,
and so does the validation of what comes back.

Two kinds of limits live here. The schema carries bounds for generation (`maxItems`, `maxLength`): a server that
constrains decoding to the schema (llama.cpp, Ollama, vLLM) then cannot run on for minutes. Validation is lenient
where the old hand-written checks were: a lone paragraph string becomes a list, long lists are cut, a citation that
is not an object becomes an empty one (which the caller drops and counts, like any citation not in the input).
Pydantic's `ValidationError` is a `ValueError`, so `llm.complete_json` asks once more when a reply does not fit.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from dashboard.catalog import Item

__all__ = ["CitationReply", "InterviewReply", "PointReply", "SummaryReply", "interview_schema_model"]

# the tasks ask for one or two paragraphs and 3 to 6 points; the lengths keep a whole reply near 1,000 tokens
MAX_PARAGRAPHS, MAX_POINTS, MAX_CITATIONS = 2, 6, 4


def _bounds(**limits: int) -> Any:
    """Bounds that go into the schema (for generation) but are not enforced on validation."""
    return {"json_schema_extra": limits}


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CitationReply(_Reply):
    unit: str = Field("", **_bounds(maxLength=60))
    item: str = Field("", **_bounds(maxLength=12))

    @model_validator(mode="before")
    @classmethod
    def _not_an_object_cites_nothing(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @field_validator("unit", "item", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class PointReply(_Reply):
    text: str = Field(min_length=1, **_bounds(maxLength=200))
    group: str = Field("", **_bounds(maxLength=30))
    citations: list[CitationReply] = Field(default_factory=list, **_bounds(maxItems=MAX_CITATIONS))

    @field_validator("group", mode="before")
    @classmethod
    def _group_text(cls, value: Any) -> str:
        return "" if value is None else str(value)

    @field_validator("citations", mode="before")
    @classmethod
    def _citation_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError("'citations' must be a list")
        return value


class SummaryReply(_Reply):
    """A summary: short paragraphs, then points, each citing the (unit, item) pairs it is based on."""

    paragraphs: list[str] = Field(**_bounds(minItems=1, maxItems=MAX_PARAGRAPHS, items={"type": "string", "maxLength": 400}))
    points: list[PointReply] = Field(**_bounds(maxItems=MAX_POINTS))

    @field_validator("paragraphs", mode="before")
    @classmethod
    def _paragraph_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise ValueError("'paragraphs' must be a list of strings")
        return [p.strip() for p in value[:4] if p.strip()]

    @field_validator("points", mode="before")
    @classmethod
    def _point_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError("'points' must be a list")
        return value[:15]

    @model_validator(mode="after")
    def _says_something(self) -> SummaryReply:
        if not (self.paragraphs or self.points):
            raise ValueError("something must be said: 'paragraphs' and 'points' are both empty")
        return self


class InterviewReply(_Reply):
    """Either enough to judge (a level, the rubric line it matches, quoted, and why) or one follow-up question."""

    enough: bool
    follow_up: str | None = Field(None, **_bounds(maxLength=200))
    rubric_line: str | None = Field(None, **_bounds(maxLength=300))
    level: int | None = Field(None, ge=0, le=5)
    rationale: str | None = Field(None, **_bounds(maxLength=300))

    @field_validator("level", mode="before")
    @classmethod
    def _whole_level(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"'level' must be a whole number from 0 to 5, not {value!r}")
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        return value


def interview_schema_model(item: Item) -> type[InterviewReply]:
    """The interview reply for one item, its rubric line restricted to that item's own lines (for the schema
    sent: a server that constrains decoding can then only quote a real line; the check in code stays)."""
    lines = tuple(item.rubric[level] for level in sorted(item.rubric))
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"InterviewReply_{item.id.replace('.', '_')}", __base__=InterviewReply,
        rubric_line=(Literal[lines] | None, Field(None)),  # type: ignore[valid-type]
        level=(Literal[0, 1, 2, 3, 4, 5] | None, Field(None)),  # an enum: grammar builders ignore minimum/maximum
    )
