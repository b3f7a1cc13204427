"""The oversight HTTP API (JSON), mounted by ``install(app, services)``.

``GET /v1/holds/{id}?wait=SECONDS``
    The hold's state; once approved, the ``released`` value (the output, the
    upstream's reply, or the tool-call authorisations). ``wait`` long-polls up to 60 s
    and returns as soon as the hold is no longer pending. Readable by: the hold's
    capability token (``?token=`` from the status URL), the requesting API client
    (its ``rl-`` key's principal must be the hold's), or a reviewer of its tenant.
``POST /v1/holds/{id}/approve`` and ``/reject`` — body ``{"reason": "...", "digest": "..."?}``
    For reviewers: ``Authorization: Basic`` or the session cookie plus ``X-CSRF-Token``.
``POST /v1/authorizations/verify`` — body ``{"authorization", "tool", "arguments"}``
    Verifies the authorisation for that exact call and consumes it (single use).
    200 ``{"valid": true, ...claims}``; 403 ``{"valid": false, "error": {"code", ...}}``.
``GET /v1/authorizations/key``
    The public key executors use for offline verification (PEM and raw base64url).

Errors are ``{"error": {"code", "message", "details"?}}`` with the error's HTTP status
(the same shape as ``redline.api``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from redline.errors import AuthError, ForbiddenError, InputError, RedlineError
from redline.oversight.access import CSRF_HEADER, api_principal, basic_user, csrf_ok, request_session
from redline.oversight.held import HeldView
from redline.oversight.service import Oversight
from redline.oversight.users import Authenticator, can_see_tenant
from redline.store import User

__all__ = ["MAX_WAIT_S", "build_router", "error_response", "hold_json"]

MAX_WAIT_S = 60.0


def error_response(exc: RedlineError) -> JSONResponse:
    headers = {"x-redline-code": exc.code}
    if exc.retry_after is not None:
        headers["retry-after"] = str(exc.retry_after)
    if exc.status == 401:
        headers["www-authenticate"] = 'Basic realm="redline"'
    return JSONResponse({"error": exc.as_dict()}, status_code=exc.status, headers=headers)


def hold_json(view: HeldView, approvals: int) -> dict[str, Any]:
    """What a client sees of a hold (no reviewer names or reasons)."""
    h = view.hold
    body: dict[str, Any] = {
        "id": h.id,
        "state": h.state,
        "kind": h.kind,
        "category": view.category,
        "rules": view.decision.get("rules", []),
        "reasons": view.decision.get("reasons", []),
        "decision_id": view.decision.get("id", ""),
        "required": h.required_count,
        "approvals": approvals,
        "created_at": h.created_at,
        "expires_at": h.expires_at,
        "resolved_at": h.resolved_at,
    }
    if h.state == "approved":
        body["released"] = view.released_value
    return body


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise InputError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError("the body must be a JSON object")
    return data


def build_router(oversight: Oversight, auth: Authenticator, key_resolver: Any = None) -> APIRouter:
    """The JSON routes (see module docstring)."""
    router = APIRouter()

    async def reviewer(request: Request, *, changing: bool) -> User | None:
        user = await basic_user(request, auth)
        if user is not None:
            return user
        info = await request_session(request, auth, oversight.clock())
        if info is None:
            return None
        if changing and not csrf_ok(info.csrf, request.headers.get(CSRF_HEADER)):
            raise ForbiddenError("missing or wrong CSRF token (send X-CSRF-Token)", code="csrf_failed")
        return info.user

    async def may_read(request: Request, view: HeldView) -> None:
        if oversight.capability_ok(view, request.query_params.get("token")):
            return
        principal = await api_principal(request, oversight.store, key_resolver)
        if principal is not None:
            if principal.key() == view.hold.principal:
                return
            raise ForbiddenError("this hold belongs to another client", code="not_your_hold")
        user = await reviewer(request, changing=False)
        if user is not None:
            if can_see_tenant(user, view.hold.tenant):
                return
            raise ForbiddenError(
                f"{user.name} may not see tenant {view.hold.tenant}", code="tenant_not_allowed"
            )
        raise AuthError(
            "read a hold with its status URL token, the requesting API key, or reviewer credentials"
        )

    @router.get("/v1/holds/{hold_id}")
    async def get_hold(request: Request, hold_id: str) -> Response:
        try:
            view = await oversight.get(hold_id)
            await may_read(request, view)
            raw = request.query_params.get("wait")
            if raw:
                try:
                    wait_s = min(MAX_WAIT_S, max(0.0, float(raw)))
                except ValueError:
                    raise InputError("wait must be a number of seconds") from None
                view = await oversight.wait(hold_id, wait_s)
            votes = await oversight.approvals(hold_id)
            count = len({v.approver for v in votes if v.decision == "approve"})
            return JSONResponse(hold_json(view, count))
        except RedlineError as exc:
            return error_response(exc)

    async def vote(request: Request, hold_id: str, action: str) -> Response:
        try:
            user = await reviewer(request, changing=True)
            if user is None:
                raise AuthError("sign in: send Authorization: Basic, or the session cookie with X-CSRF-Token")
            body = await _json_body(request)
            reason = body.get("reason")
            if not isinstance(reason, str):
                raise InputError("give a written reason", code="reason_required")
            if action == "approve":
                digest = body.get("digest")
                view = await oversight.approve(
                    hold_id, user, reason, digest=digest if isinstance(digest, str) else None
                )
            else:
                view = await oversight.reject(hold_id, user, reason)
            votes = await oversight.approvals(hold_id)
            count = len({v.approver for v in votes if v.decision == "approve"})
            return JSONResponse(hold_json(view, count))
        except RedlineError as exc:
            return error_response(exc)

    @router.post("/v1/holds/{hold_id}/approve")
    async def approve(request: Request, hold_id: str) -> Response:
        return await vote(request, hold_id, "approve")

    @router.post("/v1/holds/{hold_id}/reject")
    async def reject(request: Request, hold_id: str) -> Response:
        return await vote(request, hold_id, "reject")

    @router.post("/v1/authorizations/verify")
    async def verify(request: Request) -> Response:
        try:
            body = await _json_body(request)
            token, tool = body.get("authorization"), body.get("tool")
            if not isinstance(token, str) or not isinstance(tool, str) or "arguments" not in body:
                raise InputError("give authorization, tool and arguments")
            claims = await oversight.verify_and_consume(token, tool, body["arguments"])
            return JSONResponse({"valid": True, **claims.as_dict()})
        except RedlineError as exc:
            response = error_response(exc)
            if exc.status == 403:
                return JSONResponse(
                    {"valid": False, "error": exc.as_dict()},
                    status_code=403,
                    headers={"x-redline-code": exc.code},
                )
            return response

    @router.get("/v1/authorizations/key")
    async def public_key() -> Response:
        signer = oversight.signer
        return JSONResponse(
            {
                "kid": signer.kid,
                "alg": "Ed25519",
                "public_key": signer.public_raw_b64(),
                "pem": signer.public_pem(),
            }
        )

    return router
