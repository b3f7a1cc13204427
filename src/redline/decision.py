"""Decisions: what the policy concluded about one set of facts, and why."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .facts import Stage


class Verdict(StrEnum):
    """The three verdicts. Precedence: deny > review > allow."""

    ALLOW = "allow"
    REVIEW = "review"
    DENY = "deny"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def exit_code(self) -> int:
        """The CLI exit code for this verdict: 0 allow, 10 review, 20 deny."""
        return _EXIT[self]


_SEVERITY = {Verdict.ALLOW: 0, Verdict.REVIEW: 1, Verdict.DENY: 2}
_EXIT = {Verdict.ALLOW: 0, Verdict.REVIEW: 10, Verdict.DENY: 20}


class Approvals(BaseModel):
    """What a ``review`` needs before it is released."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = 1
    roles: tuple[str, ...] = ("reviewer",)
    min_deliberation_s: float = 0.0
    expires_s: float = 3600.0


class PolicyRef(BaseModel):
    """Names the exact policy a decision was made under."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    hash: str


class Route(BaseModel):
    """Where a provider directive sends the request instead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    vendor: str | None = None
    rule: str


class Decision(BaseModel):
    """The outcome of one evaluation.

    ``id`` and ``timings`` are filled by the enforcement pipeline, not by the
    pure evaluator. ``code`` is the stable error code a client sees when the
    verdict is not ``allow`` (``policy_denied``, ``review_required``,
    ``provider_denied``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    verdict: Verdict
    code: str | None = None
    stage: Stage = Stage.INPUT
    category: str
    scores: dict[str, float] = Field(default_factory=dict)
    uncertain: bool = False
    language: str = "en"
    rules: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    waivable: bool = True
    approvals: Approvals | None = None
    route: Route | None = None
    policy: PolicyRef
    classifier_version: str = "none"
    timings: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def trusted(cls, **values: Any) -> Decision:
        """Build a decision from values that are already of the right types, skipping validation.

        The policy evaluator is the only caller: it builds every field from typed
        data, and at tens of thousands of decisions per second ``model_construct``'s
        per-field work dominated. Every field must be given. A unit test pins that
        the result equals a validated ``Decision``.
        """
        missing = _FIELD_NAMES.difference(values)
        if missing:
            raise TypeError(f"Decision.trusted() needs every field; missing {sorted(missing)}")
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", values)
        object.__setattr__(obj, "__pydantic_fields_set__", set(_FIELD_NAMES))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj


_FIELD_NAMES = frozenset(Decision.model_fields)
