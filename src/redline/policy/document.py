"""The policy document: the YAML format's schema, as typed models.

``redline policy schema`` publishes the JSON Schema generated from these models.
A document is either a base policy or, with ``overlay: true``, a tenant overlay
that may only tighten the base it ``extends``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from ..decision import Verdict
from ..facts import Stage

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"24h"``, ``"7d"`` or ``"250ms"``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '30s', '15m', '24h'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2)]
    raise ValueError(f"not a duration: {value!r} (use seconds or '30s', '15m', '24h', '7d')")


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$"},
            ],
            "description": "seconds, or a string like '250ms', '30s', '15m', '24h', '7d'",
        }
    ),
]


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


OneOrMany = Annotated[
    list[str],
    BeforeValidator(_one_or_many),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategorySpec(_Strict):
    """A category of the taxonomy and the score at which the classifier's output counts as it."""

    threshold: float = Field(0.5, ge=0.0, le=1.0)
    red_line: bool = False
    description: str = ""


class Signal(_Strict):
    """A transparent keyword/regex signal: when it matches the normalised text, the
    category's score is raised to at least ``score``. A floor, not the classifier."""

    id: str
    category: str
    score: float = Field(0.9, ge=0.0, le=1.0)
    patterns: list[str] = Field(
        default_factory=list, description="Python regexes, matched case-insensitively"
    )
    keywords: list[str] = Field(
        default_factory=list, description="literal phrases, matched on word boundaries"
    )
    stages: list[Stage] | None = None


class CounterSpec(_Strict):
    """Distinct values of an attribute per principal within a sliding time window."""

    kind: Literal["distinct_subjects"] = "distinct_subjects"
    attribute: str = "subject"
    window: Duration = 86400.0
    per: Literal["tenant", "app", "user"] = "user"
    categories: list[str] = Field(default_factory=list, description="counted only for these categories")


class AttributeTest(_Strict):
    """One test of an attribute's value; exactly one field set."""

    equals: str | None = None
    not_equals: str | None = None
    in_: list[str] | None = Field(None, alias="in")
    not_in: list[str] | None = None
    present: bool | None = None


def _attribute_shorthand(value: Any) -> Any:
    if value == "present":
        return {"present": True}
    if value == "missing":
        return {"present": False}
    return value


AttributeCondition = Annotated[
    AttributeTest,
    BeforeValidator(_attribute_shorthand),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": ["present", "missing"]},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "maxProperties": 1,
                    "properties": {
                        "equals": {"type": "string"},
                        "not_equals": {"type": "string"},
                        "in": {"type": "array", "items": {"type": "string"}},
                        "not_in": {"type": "array", "items": {"type": "string"}},
                        "present": {"type": "boolean"},
                    },
                },
            ]
        }
    ),
]


class CounterCondition(_Strict):
    name: str
    above: int = Field(ge=0)


class ScoreCondition(_Strict):
    category: OneOrMany
    at_least: float = Field(ge=0.0, le=1.0)


class When(_Strict):
    """Conditions of a rule; all that are given must hold. Lists mean 'any of'."""

    category: OneOrMany | None = None
    stage: (
        Annotated[
            list[Stage],
            BeforeValidator(_one_or_many),
            WithJsonSchema(
                {
                    "anyOf": [
                        {"enum": [s.value for s in Stage]},
                        {"type": "array", "items": {"enum": [s.value for s in Stage]}},
                    ]
                }
            ),
        ]
        | None
    ) = None
    attributes: dict[str, AttributeCondition] = Field(default_factory=dict)
    tool_effect: OneOrMany | None = None
    counter: CounterCondition | None = None
    uncertain: bool | None = None
    score: ScoreCondition | None = None
    signal: OneOrMany | None = None


class ApprovalSpec(_Strict):
    count: int = Field(1, ge=1, le=20)
    roles: list[str] = Field(default_factory=lambda: ["reviewer"])
    min_deliberation: Duration = 0.0
    expires: Duration = 3600.0


class Rule(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$")
    description: str = ""
    when: When = Field(default_factory=When)
    verdict: Verdict
    waivable: bool = True
    reason: str = ""
    approvals: ApprovalSpec | None = None
    as_category: str | None = None


class VendorDenial(_Strict):
    vendor: str
    reason: str


class ModelRoute(_Strict):
    id: str | None = None
    model: str = Field(description="model name or glob, e.g. 'gpt-4*'")
    to_model: str | None = None
    to_vendor: str | None = None


class Providers(_Strict):
    deny: list[VendorDenial] = Field(default_factory=list)
    route: list[ModelRoute] = Field(default_factory=list)


class PolicyDocument(_Strict):
    """A redline policy (or, with ``overlay: true``, a tenant overlay)."""

    redline: Literal[1] = Field(1, description="format version")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: str = "0"
    description: str = ""
    overlay: bool = False
    extends: str | None = Field(None, description="overlays only: the name of the base policy")
    default_category: str = "general"
    default_verdict: Verdict = Verdict.ALLOW
    categories: dict[str, CategorySpec] = Field(default_factory=dict)
    effects: list[str] = Field(default_factory=list)
    tools: dict[str, str] = Field(default_factory=dict, description="tool name or glob → declared effect")
    signals: list[Signal] = Field(default_factory=list)
    counters: dict[str, CounterSpec] = Field(default_factory=dict)
    providers: Providers = Field(default_factory=Providers)
    rules: list[Rule] = Field(default_factory=list)


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the policy format."""
    schema = PolicyDocument.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://redline.invalid/schema/policy-v1.json"
    return schema
