"""The reviewer web UI: server-rendered pages, plain HTML forms, no JavaScript needed.

Pages (all under ``/ui``): ``/login``, ``/`` (the queue, most urgent first),
``/holds/{id}`` (what approval releases, scores, rules, reasons, the model's
rationale marked as untrusted, votes, the approve/reject form), ``/history``,
``/stop`` (the stop switch) and ``/quality`` (oversight-quality figures).

Every page needs a session (GET without one redirects to the login page; POST
without one is refused with 401). Every POST form carries the session's CSRF token
(the login form a double-submit cookie token); a missing or wrong token is refused
with 403 before anything else is looked at. Responses carry a strict CSP
(``default-src 'self'``), ``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from redline.errors import AuthError, ForbiddenError, RedlineError
from redline.oversight.access import clear_session_cookie, request_session, set_session_cookie
from redline.oversight.held import HeldView
from redline.oversight.quality import compute_quality, fast_threshold
from redline.oversight.service import Oversight
from redline.oversight.users import ALL_TENANTS, Authenticator, SessionInfo, can_see_tenant, csrf_ok
from redline.store import HOLD_STATES

__all__ = ["WebUI"]

HERE = Path(__file__).parent
LOGIN_CSRF_COOKIE = "redline_login_csrf"
_HEADERS = {
    "content-security-policy": "default-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
STOP_ROLES = ("commander", "admin")

Handler = Callable[[Request, SessionInfo], Awaitable[Response]]


def _utc(ts: float | None) -> str:
    if ts is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = round(abs(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    text = f"{h}h {m:02d}m" if h else (f"{m}m {sec:02d}s" if m else f"{sec}s")
    return text if seconds >= 0 else f"{text} ago"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


class WebUI:
    """The routes of the UI, bound to one :class:`Oversight` and :class:`Authenticator`."""

    def __init__(self, oversight: Oversight, auth: Authenticator) -> None:
        self.oversight = oversight
        self.auth = auth
        self.env = Environment(
            loader=FileSystemLoader(str(HERE / "templates")),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(utc=_utc, duration=_duration, pretty=_pretty)

    def mount(self) -> Mount:
        routes = [
            Route("/", self._page(self.queue), methods=["GET"], name="ui_queue"),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self._form(self.logout), methods=["POST"]),
            Route("/holds/{hold_id}", self._page(self.hold_page), methods=["GET"]),
            Route("/holds/{hold_id}/decide", self._form(self.decide), methods=["POST"]),
            Route("/history", self._page(self.history), methods=["GET"]),
            Route("/stop", self._page(self.stop_page), methods=["GET"]),
            Route("/stop", self._form(self.stop), methods=["POST"]),
            Route("/quality", self._page(self.quality), methods=["GET"]),
            Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="ui_static"),
        ]
        return Mount("/ui", routes=routes)

    # ---- plumbing ----------------------------------------------------------------------

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=_HEADERS)

    def _error(self, exc: RedlineError, session: SessionInfo | None = None) -> HTMLResponse:
        return self.render("error.html", exc.status, session=session, error=exc, title="Refused")

    def _page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = await request_session(request, self.auth, self.oversight.clock())
            if session is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/ui/login?next={quote(target)}", status_code=303)
            try:
                return await handler(request, session)
            except RedlineError as exc:
                return self._error(exc, session)

        return endpoint

    def _form(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A POST handler: needs a session and its CSRF token, checked before anything else."""

        async def endpoint(request: Request) -> Response:
            session = await request_session(request, self.auth, self.oversight.clock())
            if session is None:
                return self._error(AuthError("sign in first", code="unauthorized"))
            form = await request.form()
            given = form.get("csrf")
            if not csrf_ok(session.csrf, given if isinstance(given, str) else None):
                return self._error(
                    ForbiddenError(
                        "the form's CSRF token is missing or wrong; reload the page", code="csrf_failed"
                    ),
                    session,
                )
            try:
                return await handler(request, session)
            except RedlineError as exc:
                return self._error(exc, session)

        return endpoint

    # ---- sign in -----------------------------------------------------------------------

    async def login_form(self, request: Request, error: str | None = None, status: int = 200) -> Response:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
        next_url = request.query_params.get("next", "/ui/")
        response = self.render(
            "login.html", status, session=None, csrf=token, next=next_url, error=error, title="Sign in"
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            max_age=3600,
            path="/ui/login",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def login(self, request: Request) -> Response:
        form = await request.form()
        given = form.get("csrf")
        if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), given if isinstance(given, str) else None):
            return self._error(
                ForbiddenError("the sign-in form expired; reload it and try again", code="csrf_failed")
            )
        name, password = str(form.get("username", "")), str(form.get("password", ""))
        now = self.oversight.clock()
        try:
            info = await self.auth.login(name, password, now)
        except AuthError:
            return await self.login_form(request, error="Wrong user name or password.", status=401)
        next_url = str(form.get("next", "/ui/"))
        if not next_url.startswith("/ui/") or next_url.startswith("//"):
            next_url = "/ui/"  # never redirect off-site after sign-in
        response = RedirectResponse(next_url, status_code=303)
        set_session_cookie(request, response, info, now)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui/login")
        return response

    async def logout(self, request: Request, session: SessionInfo) -> Response:
        await self.auth.logout(session.token)
        response = RedirectResponse("/ui/login", status_code=303)
        clear_session_cookie(request, response)
        return response

    # ---- the queue ---------------------------------------------------------------------

    async def _visible(
        self, session: SessionInfo, state: str | None, tenant: str | None, limit: int = 500
    ) -> list[HeldView]:
        user = session.user
        scope = tenant or None
        if user.tenant != ALL_TENANTS:
            scope = user.tenant
        rows = await self.oversight.store.list_holds(state=state, tenant=scope, limit=limit)  # type: ignore[arg-type]
        return [HeldView.of(r) for r in rows if can_see_tenant(user, r.tenant)]

    async def queue(self, request: Request, session: SessionInfo) -> Response:
        q = request.query_params
        state = q.get("state", "pending")
        state_filter = state if state in HOLD_STATES else None
        category = q.get("category", "")
        tenant = q.get("tenant", "")
        now = self.oversight.clock()
        if state_filter == "pending":
            await self.oversight.expire_due(now)
        views = await self._visible(session, state_filter, tenant)
        categories = sorted({v.category for v in views})
        if category:
            views = [v for v in views if v.category == category]
        # Urgency: the pending hold closest to expiry first; resolved ones newest first.
        views.sort(
            key=lambda v: (
                v.hold.state != "pending",
                v.hold.expires_at if v.hold.state == "pending" else -(v.hold.resolved_at or 0),
            )
        )
        rows = []
        for v in views:
            votes = await self.oversight.approvals(v.hold.id)
            lifetime = max(1e-9, v.hold.expires_at - v.hold.created_at)
            rows.append(
                {
                    "view": v,
                    "approvals": len({x.approver for x in votes if x.decision == "approve"}),
                    "remaining": v.hold.expires_at - now,
                    "escalated": v.hold.state == "pending"
                    and (v.hold.expires_at - now) / lifetime < self.oversight.escalate_fraction,
                }
            )
        return self.render(
            "queue.html",
            session=session,
            rows=rows,
            title="Queue",
            state=state,
            states=HOLD_STATES,
            category=category,
            categories=categories,
            tenant=tenant,
            now=now,
            escalation_target=self.oversight.escalation_target,
        )

    # ---- one hold ----------------------------------------------------------------------

    async def hold_page(
        self, request: Request, session: SessionInfo, *, error: RedlineError | None = None, reason: str = ""
    ) -> Response:
        hold_id = request.path_params["hold_id"]
        view = await self.oversight.get(hold_id)
        user = session.user
        if not can_see_tenant(user, view.hold.tenant):
            raise ForbiddenError(
                f"{user.name} may not see tenant {view.hold.tenant}", code="tenant_not_allowed"
            )
        now = self.oversight.clock()
        votes = await self.oversight.approvals(hold_id)
        refusal: str | None = None
        if view.hold.state != "pending":
            refusal = f"This hold is {view.hold.state}."
        elif any(v.approver == user.name for v in votes):
            refusal = "You have already voted on this hold."
        else:
            try:
                self.oversight.eligible_role(user, view, approving=True)
            except ForbiddenError as exc:
                refusal = exc.message
        can_reject = view.hold.state == "pending" and not any(v.approver == user.name for v in votes)
        if can_reject:
            try:
                self.oversight.eligible_role(user, view, approving=False)
            except ForbiddenError:
                can_reject = False
        earliest = view.hold.created_at + view.hold.min_deliberation_s
        scores = sorted((view.decision.get("scores") or {}).items(), key=lambda kv: -kv[1])
        done = request.query_params.get("done")
        status = error.status if error is not None else 200
        return self.render(
            "hold.html",
            status,
            session=session,
            view=view,
            hold=view.hold,
            votes=votes,
            now=now,
            refusal=refusal,
            can_reject=can_reject,
            earliest=earliest,
            scores=scores,
            error=error,
            reason=reason,
            done=done,
            releases=view.releases(),
            released=view.released_value,
            approvals=len({v.approver for v in votes if v.decision == "approve"}),
            fast_until=view.hold.created_at + fast_threshold(view.hold.min_deliberation_s),
            title=f"Hold {view.hold.id}",
        )

    async def decide(self, request: Request, session: SessionInfo) -> Response:
        hold_id = request.path_params["hold_id"]
        form = await request.form()
        action = str(form.get("action", ""))
        reason = str(form.get("reason", ""))
        digest = form.get("digest")
        try:
            if action == "approve":
                view = await self.oversight.approve(
                    hold_id, session.user, reason, digest=digest if isinstance(digest, str) else None
                )
            elif action == "reject":
                view = await self.oversight.reject(hold_id, session.user, reason)
            else:
                raise ForbiddenError("choose approve or reject", code="invalid_action")
        except RedlineError as exc:
            if exc.code == "not_found" or exc.code == "hold_not_found":
                raise
            return await self.hold_page(request, session, error=exc, reason=reason)
        done = "approved" if action == "approve" else "rejected"
        if action == "approve" and view.hold.state == "pending":
            done = "vote_recorded"
        return RedirectResponse(f"/ui/holds/{quote(hold_id)}?{urlencode({'done': done})}", status_code=303)

    # ---- history, stop switch, quality -------------------------------------------------

    async def history(self, request: Request, session: SessionInfo) -> Response:
        views = [
            v
            for v in await self._visible(session, None, request.query_params.get("tenant"), limit=300)
            if v.hold.state != "pending"
        ]
        views.sort(key=lambda v: -(v.hold.resolved_at or 0))
        rows = [{"view": v, "votes": await self.oversight.approvals(v.hold.id)} for v in views[:200]]
        return self.render("history.html", session=session, rows=rows, title="History")

    def _may_stop(self, session: SessionInfo, tenant: str) -> bool:
        user = session.user
        return any(r in STOP_ROLES for r in user.roles) and (
            user.tenant == ALL_TENANTS or user.tenant == tenant
        )

    async def stop_page(
        self,
        request: Request,
        session: SessionInfo,
        *,
        error: RedlineError | None = None,
        done: str | None = None,
    ) -> Response:
        user = session.user
        tenants = {ALL_TENANTS} if user.tenant == ALL_TENANTS else {user.tenant}
        for view in await self._visible(session, None, None, limit=500):
            tenants.add(view.hold.tenant)
        states = []
        for name in sorted(tenants):
            state = await self.oversight.stop_state(name)
            states.append({"tenant": name, "state": state, "may": self._may_stop(session, name)})
        return self.render(
            "stop.html",
            error.status if error else 200,
            session=session,
            states=states,
            error=error,
            done=done or request.query_params.get("done"),
            title="Stop switch",
            may_any=any(s["may"] for s in states),
        )

    async def stop(self, request: Request, session: SessionInfo) -> Response:
        form = await request.form()
        tenant = str(form.get("tenant", "")).strip()
        on = str(form.get("action", "")) == "stop"
        reason = str(form.get("reason", ""))
        if not tenant or not self._may_stop(session, tenant):
            raise ForbiddenError(
                f"{session.user.name} may not operate the stop switch of {tenant or '(none)'}",
                code="role_not_allowed",
            )
        try:
            rejected = await self.oversight.set_stop(tenant, on, session.user.name, reason)
        except RedlineError as exc:
            return await self.stop_page(request, session, error=exc)
        done = f"stopped:{rejected}" if on else "resumed"
        return RedirectResponse(f"/ui/stop?{urlencode({'done': done})}", status_code=303)

    async def quality(self, request: Request, session: SessionInfo) -> Response:
        report = await compute_quality(self.oversight.store, self.oversight.clock())
        self.oversight.quality = report
        return self.render("quality.html", session=session, report=report, title="Oversight quality")
