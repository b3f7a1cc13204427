"""Facts: what is being asked or done, normalised from any wire format.

A ``Facts`` value is the only input the policy sees besides classifier scores and
counter values. Everything time-dependent comes in here too (``now``), which is
what keeps policy evaluation a pure function.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Stage(StrEnum):
    """Where in a request's life a decision is made."""

    INPUT = "input"
    OUTPUT = "output"
    TOOL_CALL = "tool_call"


class Principal(BaseModel):
    """Who is asking: the tenant (organisation), the application, and the end user."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str = "default"
    app: str = "default"
    user: str | None = None

    def key(self) -> str:
        """A stable string naming this principal, used for counters and audit."""
        return f"{self.tenant}/{self.app}/{self.user or '-'}"


# Attribute names with a meaning of their own; anything else goes in ``labels``.
KNOWN_ATTRIBUTES = ("purpose", "legal_authority", "classification", "subject")


class Attributes(BaseModel):
    """Declared attributes of a request: purpose, legal authority, marking, labels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: str | None = None
    legal_authority: str | None = None
    classification: str | None = None
    subject: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None) -> Attributes:
        """Accept a flat mapping: known names become fields, the rest become labels."""
        if not data:
            return cls()
        known: dict[str, Any] = {}
        labels: dict[str, str] = {}
        for name, value in data.items():
            if name == "labels" and isinstance(value, dict):
                labels.update({str(k): str(v) for k, v in value.items()})
            elif name in KNOWN_ATTRIBUTES:
                known[name] = None if value is None else str(value)
            else:
                labels[str(name)] = str(value)
        return cls(**known, labels=labels)

    def get(self, name: str) -> str | None:
        """The value of a known attribute or a label, or None when absent or empty."""
        if name in KNOWN_ATTRIBUTES:
            value: str | None = getattr(self, name)
        else:
            value = self.labels.get(name)
        return value if value else None

    def merged(self, fixed: Attributes) -> Attributes:
        """These attributes with every attribute set in ``fixed`` taking precedence."""
        data = self.model_dump()
        for name in KNOWN_ATTRIBUTES:
            if getattr(fixed, name):
                data[name] = getattr(fixed, name)
        data["labels"] = {**self.labels, **fixed.labels}
        return Attributes(**data)


class Message(BaseModel):
    """One conversation turn, with its content flattened to text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    content: str = ""


class ToolSpec(BaseModel):
    """A tool offered to the model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)


class ToolCall(BaseModel):
    """A tool call made (or proposed) by the model, with decoded arguments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    def canonical_arguments(self) -> str:
        """Arguments as canonical JSON: sorted keys, no whitespace, UTF-8 kept."""
        return json.dumps(self.arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Target(BaseModel):
    """The model and vendor a request is addressed to (for provider directives)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = None
    vendor: str | None = None


class Facts(BaseModel):
    """Everything the policy may look at for one decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: Stage = Stage.INPUT
    principal: Principal = Field(default_factory=Principal)
    attributes: Attributes = Field(default_factory=Attributes)
    messages: tuple[Message, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    output: str | None = None
    target: Target = Field(default_factory=Target)
    now: float = 0.0
    """Unix time of the request in seconds. Supplied by the caller, never read inside policy."""

    @classmethod
    def from_text(cls, text: str, **kwargs: Any) -> Facts:
        """Facts for a single user message."""
        return cls(messages=(Message(role="user", content=text),), **kwargs)

    def latest_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return self.messages[-1].content if self.messages else ""

    def context_messages(self, turns: int = 4) -> list[Message]:
        """The non-system messages among the ``turns`` before the latest user turn (most recent last)."""
        idx = len(self.messages) - 1
        while idx >= 0 and self.messages[idx].role != "user":
            idx -= 1
        return [m for m in self.messages[max(0, idx - turns) : max(0, idx)] if m.role != "system"]

    def context_text(self, turns: int = 4) -> str:
        """The turns before the latest user turn (most recent last), for context."""
        return "\n".join(m.content for m in self.context_messages(turns))

    def text(self) -> str:
        """The text that is judged at this stage."""
        if self.stage is Stage.OUTPUT:
            return self.output or ""
        if self.stage is Stage.TOOL_CALL:
            return "\n".join(f"{c.name}({c.canonical_arguments()})" for c in self.tool_calls)
        return self.latest_user_text()
