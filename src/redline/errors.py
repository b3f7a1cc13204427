"""The one exception tree of redline.

Every error a caller can see is a ``RedlineError`` with a stable ``code`` (a
snake_case string that never changes once published), an HTTP ``status`` for
when it crosses HTTP, an ``exit_code`` for when it reaches the CLI, and a
message that tells the user what to do::

    RedlineError
    ├── UsageError                 usage_error            400 / exit 2
    ├── ConfigError                config_invalid         500 / exit 2
    ├── PolicyError                policy_error           422 / exit 3
    │   ├── PolicyParseError       policy_parse_error
    │   ├── PolicyCompileError     policy_compile_error   (carries CompileIssue list)
    │   └── OverlayLoosensError    overlay_loosens
    ├── SignatureError             signature_invalid      422 / exit 4
    │   └── SignatureMissingError  signature_missing
    ├── InputError                 invalid_request        400 / exit 2
    │   └── BodyTooLargeError      body_too_large         413
    ├── AuthError                  unauthorized           401
    │   └── ForbiddenError         forbidden              403
    ├── NotFoundError              not_found              404
    ├── ConflictError              conflict               409
    │   └── OversightError         oversight_refused      (a hold rule refused an action)
    ├── AuthorizationError         authorization_invalid  403 (a tool-call authorisation)
    ├── ClassifierError            classifier_unavailable 503 / exit 5
    ├── StoreError                 store_unavailable      503 / exit 5
    │   └── LedgerUnavailableError ledger_unavailable     503 (Retry-After)
    ├── LedgerVerifyError          ledger_invalid         exit 6
    └── UpstreamError              upstream_error         502
        └── UpstreamTimeoutError   upstream_timeout       504

Classify errors by type or by ``code``, never by searching message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CompileIssue:
    """One problem found while parsing or compiling a policy: data, not text."""

    code: str
    message: str
    file: str = "<policy>"
    line: int | None = None
    path: str = ""

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def __str__(self) -> str:
        where = f" (at {self.path})" if self.path else ""
        return f"{self.location()}: {self.code}: {self.message}{where}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "path": self.path,
        }


class RedlineError(Exception):
    """Base of every error redline raises on purpose."""

    code: str = "redline_error"
    status: int = 500
    exit_code: int = 1
    retry_after: int | None = None

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class UsageError(RedlineError):
    code = "usage_error"
    status = 400
    exit_code = 2


class ConfigError(RedlineError):
    code = "config_invalid"
    status = 500
    exit_code = 2


class PolicyError(RedlineError):
    code = "policy_error"
    status = 422
    exit_code = 3


class PolicyParseError(PolicyError):
    code = "policy_parse_error"


class PolicyCompileError(PolicyError):
    """Compilation failed; ``issues`` lists every problem found, each with a code."""

    code = "policy_compile_error"

    def __init__(self, issues: list[CompileIssue]) -> None:
        self.issues = list(issues)
        first = self.issues[0] if self.issues else None
        summary = "; ".join(str(i) for i in self.issues[:5])
        more = f" (+{len(self.issues) - 5} more)" if len(self.issues) > 5 else ""
        super().__init__(f"policy does not compile: {summary}{more}")
        if first is not None and len(self.issues) == 1:
            # A single issue's own code is the most useful stable code to report.
            self.code = first.code

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "issues": [i.as_dict() for i in self.issues],
        }


class OverlayLoosensError(PolicyCompileError):
    code = "overlay_loosens"


class SignatureError(RedlineError):
    code = "signature_invalid"
    status = 422
    exit_code = 4


class SignatureMissingError(SignatureError):
    code = "signature_missing"


class InputError(RedlineError):
    code = "invalid_request"
    status = 400
    exit_code = 2


class BodyTooLargeError(InputError):
    code = "body_too_large"
    status = 413


class AuthError(RedlineError):
    code = "unauthorized"
    status = 401


class ForbiddenError(AuthError):
    code = "forbidden"
    status = 403


class NotFoundError(RedlineError):
    code = "not_found"
    status = 404


class ConflictError(RedlineError):
    code = "conflict"
    status = 409


class OversightError(ConflictError):
    """An oversight rule refused an action on a hold; ``code`` names the rule
    (``deliberation_too_short``, ``hold_not_pending``, ``already_voted``, ``stop_active`` …)."""

    code = "oversight_refused"


class AuthorizationError(RedlineError):
    """A tool-call authorisation failed verification; ``code`` says why
    (``authorization_mismatch``, ``authorization_replayed``, ``authorization_expired``,
    ``authorization_wrong_key``, ``authorization_signature_invalid``, ``authorization_malformed``)."""

    code = "authorization_invalid"
    status = 403


class ClassifierError(RedlineError):
    code = "classifier_unavailable"
    status = 503
    exit_code = 5


class StoreError(RedlineError):
    code = "store_unavailable"
    status = 503
    exit_code = 5
    retry_after = 1


class LedgerUnavailableError(StoreError):
    code = "ledger_unavailable"


class LedgerVerifyError(RedlineError):
    """The log does not verify; ``index`` is the first bad entry when known."""

    code = "ledger_invalid"
    exit_code = 6


class UpstreamError(RedlineError):
    code = "upstream_error"
    status = 502


class UpstreamTimeoutError(UpstreamError):
    code = "upstream_timeout"
    status = 504
