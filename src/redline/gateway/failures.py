"""Errors as each wire spells them.

A ``Failure`` is a wire-independent description of an error a client must see
(HTTP status, stable redline ``code``, message, extra fields such as reasons and
the decision id). ``openai_*`` and ``anthropic_*`` render it in the shape the
official SDK of that wire parses, so the SDK raises a typed error:

* OpenAI: ``{"error": {"message", "type", "param", "code", ...extras}}`` — the SDK
  exposes ``exc.code`` and ``exc.body[...]``.
* Anthropic: ``{"type": "error", "error": {"type", "message", "details":
  {"error_code", ...extras}}}`` — the SDK exposes ``exc.error_code`` and
  ``exc.details``.

Policy outcomes (``policy_denied``, ``provider_denied``, ``review_required``)
are all HTTP 403: a 409 would make both SDKs retry by default and a retried
review would open a second hold. Every failure that must not be retried
carries ``x-should-retry: false``, which both SDKs obey.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from ..decision import Decision, Verdict
from ..errors import RedlineError

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
}

# Codes whose request may already have had an effect, or whose outcome a retry cannot change.
_NO_RETRY = {
    "policy_denied",
    "provider_denied",
    "review_required",
    "upstream_timeout",
    "invalid_request",
    "body_too_large",
    "unauthorized",
    "forbidden",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong, independent of the wire. ``extras`` become fields of the error object."""

    status: int
    code: str
    message: str
    extras: dict[str, Any] = field(default_factory=dict)
    retry_after: int | None = None

    def headers(self) -> dict[str, str]:
        out = {"x-redline-code": self.code}
        if self.code in _NO_RETRY:
            out["x-should-retry"] = "false"
        if self.retry_after is not None:
            out["retry-after"] = str(self.retry_after)
        if "decision_id" in self.extras:
            out["x-redline-decision-id"] = str(self.extras["decision_id"])
        return out


class GatewayBlocked(RedlineError):
    """A decision that is not ``allow``; carries the decision and, for review, the hold."""

    status = 403

    def __init__(self, decision: Decision, hold: dict[str, Any] | None = None) -> None:
        code = decision.code or ("review_required" if decision.verdict is Verdict.REVIEW else "policy_denied")
        reasons = "; ".join(decision.reasons) or f"category {decision.category}"
        super().__init__(f"{decision.stage.value} blocked by policy ({code}): {reasons}", code=code)
        self.decision = decision
        self.hold = hold

    def failure(self) -> Failure:
        d = self.decision
        extras: dict[str, Any] = {
            "decision_id": d.id,
            "verdict": d.verdict.value,
            "stage": d.stage.value,
            "category": d.category,
            "reasons": list(d.reasons),
            "rules": list(d.rules),
        }
        if self.hold is not None:
            extras["hold_id"] = self.hold.get("id")
            extras["hold_status"] = self.hold.get("state", "pending")
            if self.hold.get("status_url"):
                extras["status_url"] = self.hold["status_url"]
        return Failure(403, self.code, self.message, extras)


def failure_from_error(err: RedlineError) -> Failure:
    """The failure a client sees for any redline error."""
    if isinstance(err, GatewayBlocked):
        return err.failure()
    extras = dict(err.details) if err.details else {}
    return Failure(err.status, err.code, err.message, extras, err.retry_after)


def openai_error_body(f: Failure) -> bytes:
    error: dict[str, Any] = {
        "message": f.message,
        "type": _OPENAI_TYPES.get(f.status, "server_error" if f.status >= 500 else "invalid_request_error"),
        "param": None,
        "code": f.code,
    }
    error.update(f.extras)
    return orjson.dumps({"error": error})


def anthropic_error_body(f: Failure) -> bytes:
    details: dict[str, Any] = {"error_code": f.code}
    details.update(f.extras)
    error = {
        "type": _ANTHROPIC_TYPES.get(f.status, "api_error"),
        "message": f.message,
        "details": details,
    }
    return orjson.dumps({"type": "error", "error": error})


def openai_stream_error(f: Failure) -> bytes:
    """An SSE event that makes the OpenAI SDK raise ``APIError`` mid-stream."""
    return b"data: " + openai_error_body(f) + b"\n\n"


def anthropic_stream_error(f: Failure) -> bytes:
    """An ``event: error`` SSE event, as Anthropic sends one mid-stream."""
    return b"event: error\ndata: " + anthropic_error_body(f) + b"\n\n"
