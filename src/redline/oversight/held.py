"""What a hold holds: the JSON kept in ``Hold.payload`` and how to read it back.

The payload (version 1) is a JSON object with:

* ``stage`` — ``input``, ``output`` or ``tool_call`` (also the hold's ``kind``);
* ``messages`` — the conversation (role, content) as the policy saw it;
* ``output`` — for an output hold, the full text that approval releases;
* ``tool_calls`` — for a tool-call hold, each call's ``name``, ``arguments``,
  ``canonical_arguments`` and ``call_sha256`` (see ``authz.call_digest``);
* ``request`` and ``wire`` — for an input hold, the upstream request to send on approval;
* ``rationale`` — the model's own stated reason, if any (untrusted model text);
* ``attributes``, ``target``, ``principal`` — who asked, and what they declared;
* ``capability_sha256`` — SHA-256 of the secret in the hold's status URL;
* ``extra`` — anything else the caller passed as ``payload``.

``digest`` (``held_digest``) is the SHA-256 of the canonical JSON of what approval
releases; the hold page shows it and an approval may quote it, so a reviewer
approves exactly what they saw.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from redline.decision import Decision
from redline.facts import Facts, Stage
from redline.oversight.authz import call_digest
from redline.store import Hold

PAYLOAD_VERSION = 1
_RATIONALE_ARGS = ("rationale", "justification", "reason", "reasoning")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def build_payload(
    facts: Facts,
    *,
    capability_sha256: str,
    request: dict[str, Any] | None,
    wire: str | None,
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    """The payload of a new hold for ``facts`` (see module docstring)."""
    calls = [
        {
            "id": c.id,
            "name": c.name,
            "arguments": c.arguments,
            "canonical_arguments": c.canonical_arguments(),
            "call_sha256": call_digest(c.name, c.canonical_arguments()),
        }
        for c in facts.tool_calls
    ]
    payload: dict[str, Any] = {
        "v": PAYLOAD_VERSION,
        "stage": facts.stage.value,
        "messages": [{"role": m.role, "content": m.content} for m in facts.messages],
        "output": facts.output if facts.stage is Stage.OUTPUT else None,
        "tool_calls": calls if facts.stage is Stage.TOOL_CALL else [],
        "request": request,
        "wire": wire,
        "rationale": _rationale(facts, extra),
        "attributes": facts.attributes.model_dump(mode="json"),
        "target": facts.target.model_dump(mode="json"),
        "principal": facts.principal.model_dump(mode="json"),
        "capability_sha256": capability_sha256,
        "extra": extra or {},
    }
    return payload


def _rationale(facts: Facts, extra: dict[str, Any] | None) -> str | None:
    """The model's stated reason: given explicitly, an argument of the call, or the
    assistant text that accompanied a tool call. Always untrusted model text."""
    if extra and isinstance(extra.get("rationale"), str):
        return str(extra["rationale"])
    if facts.stage is Stage.TOOL_CALL:
        for call in facts.tool_calls:
            for name in _RATIONALE_ARGS:
                value = call.arguments.get(name)
                if isinstance(value, str) and value.strip():
                    return value
        for message in reversed(facts.messages):
            if message.role == "assistant" and message.content.strip():
                return message.content
    return None


@dataclass(frozen=True, slots=True)
class HeldView:
    """A hold decoded for callers (API and UI): the row plus its parsed JSON."""

    hold: Hold
    payload: dict[str, Any]
    decision: dict[str, Any]

    @classmethod
    def of(cls, hold: Hold) -> HeldView:
        return cls(hold, json.loads(hold.payload), json.loads(hold.decision))

    @property
    def category(self) -> str:
        return str(self.decision.get("category", ""))

    @property
    def rule(self) -> str:
        """The rule the hold is attributed to in quality figures (the first matched)."""
        rules = self.decision.get("rules") or []
        return str(rules[0]) if rules else "-"

    @property
    def released_value(self) -> dict[str, Any] | None:
        return json.loads(self.hold.released) if self.hold.released else None

    def releases(self) -> Any:
        """Exactly what approval releases (what the reviewer must look at)."""
        stage = self.payload.get("stage")
        if stage == Stage.OUTPUT.value:
            return {"output": self.payload.get("output")}
        if stage == Stage.TOOL_CALL.value:
            return {
                "tool_calls": [
                    {"name": c["name"], "arguments": c["arguments"]}
                    for c in self.payload.get("tool_calls", [])
                ]
            }
        return {"messages": self.payload.get("messages", []), "request": self.payload.get("request")}

    @property
    def digest(self) -> str:
        return hashlib.sha256(canonical(self.releases()).encode("utf-8")).hexdigest()


def decision_json(decision: Decision) -> str:
    return canonical(decision.model_dump(mode="json"))
