"""The oversight service: durable holds, M-of-N approvals, expiry, the stop switch.

A ``review`` decision becomes a hold (:meth:`Oversight.hold`, the gateway's
``HoldsLike`` hook). Reviewers vote with :meth:`approve` / :meth:`reject`. The
rules every vote passes, in this order (each refusal has a stable code):

1. the hold exists (``not_found``) and is pending (``hold_not_pending``; a
   pending hold past its expiry is expired first — expiry means deny);
2. a written reason of at least ``min_reason_chars`` characters (``reason_required``);
3. the tenant's stop switch is off (``stop_active``; a global switch is tenant ``*``);
4. the user may act for the hold's tenant (``tenant_not_allowed``) and holds one
   of the hold's roles (``role_not_allowed``);
5. the requester never approves its own hold (``self_approval``): a user whose name
   is the requesting principal's user, app or principal key;
6. one vote per person (``already_voted``) — so M approvals are M distinct people;
7. approvals only: the reviewer saw what is released, if they quote its digest
   (``held_changed``), and the minimum deliberation time has passed since the hold
   was created (``deliberation_too_short``, with ``retry_after_s``).

One rejection resolves the hold as rejected. The M-th approval releases it:
an input hold's released value comes from the releaser (the gateway sends the
stored request upstream), an output hold releases the held output, a tool-call
hold releases one signed authorisation per call (``authz``). Every human action
(approve, reject, expire, cancel, stop, resume) is appended to the ledger — when a
ledger is configured — *before* it takes effect; if the ledger cannot be written
the action fails with ``ledger_unavailable`` and nothing changes.

Several replicas may share one PostgreSQL: state changes are compare-and-set in
the store, so of two replicas racing to resolve a hold exactly one wins, and
:meth:`wait` polls the store (with back-off, woken early by changes made in this
process).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from redline.decision import Approvals, Decision
from redline.errors import (
    AuthorizationError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    OversightError,
    RedlineError,
)
from redline.facts import Facts
from redline.oversight.authz import AuthorizationClaims, AuthorizationSigner, verify_offline
from redline.oversight.held import HeldView, build_payload, canonical, decision_json
from redline.oversight.quality import QualityReport, compute_quality
from redline.oversight.users import ALL_TENANTS, VOTING_ROLES
from redline.store import Hold, StopState, Store, User

__all__ = ["LedgerLike", "Oversight", "Releaser"]

log = logging.getLogger("redline.oversight")

Releaser = Callable[[HeldView], Awaitable[dict[str, Any]]]
Escalator = Callable[[HeldView, str | None], Awaitable[None]]


class LedgerLike(Protocol):
    """What oversight needs from ``redline.ledger.Ledger``."""

    async def record_event(self, kind: str, payload: Mapping[str, Any], content: Any = None) -> int: ...


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Oversight:
    """Holds and votes on one store. One per process; share it.

    ``clock`` gives POSIX seconds (inject a fake one in tests). ``base_url`` prefixes
    status URLs (empty: relative ``/v1/holds/…``). ``signer`` signs tool-call
    authorisations, valid ``authorization_ttl_s`` seconds.
    """

    def __init__(
        self,
        store: Store,
        *,
        ledger: LedgerLike | None = None,
        signer: AuthorizationSigner | None = None,
        clock: Callable[[], float] = time.time,
        base_url: str = "",
        authorization_ttl_s: float = 300.0,
        min_reason_chars: int = 8,
        escalate_fraction: float = 0.25,
        escalation_target: str | None = None,
        sweep_interval_s: float = 2.0,
        poll_max_s: float = 1.0,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.signer = signer or AuthorizationSigner.generate()
        self.clock = clock
        self.base_url = base_url.rstrip("/")
        self.authorization_ttl_s = authorization_ttl_s
        self.min_reason_chars = min_reason_chars
        self.escalate_fraction = escalate_fraction
        self.escalation_target = escalation_target
        self.sweep_interval_s = sweep_interval_s
        self.poll_max_s = poll_max_s
        self.quality: QualityReport | None = None
        self._releaser: Releaser | None = None
        self._escalator: Escalator | None = None
        self._escalated: set[str] = set()
        self._changed = asyncio.Event()
        self._sweeper: asyncio.Task[None] | None = None

    @classmethod
    def from_services(cls, services: Any) -> Oversight:
        """Build from ``redline.services.Services`` (store, ledger, settings.data_dir);
        starts the sweeper when called inside a running loop and registers its closer.

        Settings read if present: ``oversight_base_url``, ``oversight_escalation_target``,
        ``authorization_key_path`` (default ``<data_dir>/keys/authz.key``).
        """
        settings = services.settings
        key_path = getattr(settings, "authorization_key_path", None) or (
            Path(settings.data_dir) / "keys" / "authz.key"
        )
        oversight = cls(
            services.store,
            ledger=getattr(services, "ledger", None),
            signer=AuthorizationSigner.load_or_create(Path(key_path)),
            base_url=getattr(settings, "oversight_base_url", None) or "",
            escalation_target=getattr(settings, "oversight_escalation_target", None),
        )
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return oversight
        oversight.start()
        closers = getattr(services, "_closers", None)
        if isinstance(closers, list):
            closers.append(oversight.aclose)
        return oversight

    # ---- hooks -----------------------------------------------------------------------

    def set_releaser(self, releaser: Releaser | None) -> None:
        """Register ``async fn(hold: HeldView) -> dict`` producing an approved input
        hold's output (``hold.payload["request"]``, ``hold.payload["wire"]`` are what
        the gateway stored). A RedlineError it raises is stored as the released
        ``{"error": …}``."""
        self._releaser = releaser

    def set_escalator(self, escalator: Escalator | None) -> None:
        """Register ``async fn(hold, target)`` called once per hold (per process) when
        less than ``escalate_fraction`` of its lifetime is left; default: a log warning."""
        self._escalator = escalator

    # ---- creating and reading --------------------------------------------------------

    async def hold(
        self,
        facts: Facts,
        decision: Decision,
        *,
        request: dict[str, Any] | None = None,
        wire: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        """Create a durable hold for a ``review`` decision; return ``id``, ``state``,
        ``status_url`` (carrying a capability token), ``expires_at``, ``required``.

        If the tenant's (or the global) stop switch is on, the hold is created
        already ``rejected`` and that is the state returned.
        """
        now = self.clock()
        needs = decision.approvals or Approvals()
        hold_id = "h" + secrets.token_hex(12)
        capability = secrets.token_urlsafe(24)
        principal = facts.principal
        body = build_payload(
            facts, capability_sha256=_digest(capability), request=request, wire=wire, extra=payload
        )
        stop = await self._active_stop(principal.tenant)
        row = Hold(
            id=hold_id,
            tenant=principal.tenant,
            app=principal.app,
            principal=principal.key(),
            kind=facts.stage.value,
            payload=canonical(body),
            decision=decision_json(decision),
            required_count=max(1, needs.count),
            roles=tuple(needs.roles),
            min_deliberation_s=max(0.0, needs.min_deliberation_s),
            created_at=now,
            expires_at=now + needs.expires_s,
        )
        if stop is not None:
            row = dataclasses.replace(
                row,
                state="rejected",
                resolved_at=now,
                resolved_by=f"stop-switch:{stop.by}",
                resolution_reason=f"stop switch on for tenant {stop.tenant}: {stop.reason}",
            )
            await self._record("reject", HeldView.of(row), actor=stop.by, reason=stop.reason, via="stop")
        await self.store.create_hold(row)
        self._notify()
        return {
            "id": hold_id,
            "state": row.state,
            "status_url": f"{self.base_url}/v1/holds/{hold_id}?token={capability}",
            "expires_at": row.expires_at,
            "required": row.required_count,
        }

    async def get(self, hold_id: str) -> HeldView:
        """The hold (expired first if it is pending past its expiry); NotFoundError if none."""
        row = await self.store.get_hold(hold_id)
        if row is None:
            raise NotFoundError(f"no hold {hold_id!r}", code="hold_not_found")
        if row.state == "pending" and self.clock() >= row.expires_at:
            await self._expire(row, self.clock())
            row = await self.store.get_hold(hold_id) or row
        return HeldView.of(row)

    def capability_ok(self, view: HeldView, token: str | None) -> bool:
        """True iff ``token`` is the secret of this hold's status URL."""
        want = str(view.payload.get("capability_sha256", ""))
        return bool(token) and bool(want) and secrets.compare_digest(want, _digest(token or ""))

    async def wait(self, hold_id: str, timeout: float) -> HeldView:
        """The hold once it is no longer pending, or as it is after ``timeout`` seconds.

        Polls the store with back-off (so a change made by another replica is seen
        within ``poll_max_s``) and wakes at once on changes made in this process.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        delay = 0.05
        while True:
            changed = self._changed
            view = await self.get(hold_id)
            remaining = deadline - loop.time()
            if view.hold.state != "pending" or remaining <= 0:
                return view
            until_expiry = max(0.0, view.hold.expires_at - self.clock()) + 0.01
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=min(delay, remaining, until_expiry))
            delay = min(delay * 2, self.poll_max_s)

    async def approvals(self, hold_id: str) -> list[Any]:
        return list(await self.store.approvals(hold_id))

    # ---- votes -----------------------------------------------------------------------

    async def approve(
        self, hold_id: str, user: User | str, reason: str, *, digest: str | None = None
    ) -> HeldView:
        """Record ``user``'s approval; the M-th distinct approval releases the hold.

        Refusals raise OversightError / ForbiddenError / InputError with the codes in
        the module docstring. Returns the hold as it is afterwards.
        """
        now = self.clock()
        who = await self._user(user)
        view = await self._pending(hold_id)
        text = self._reason(reason)
        await self._refuse_if_stopped(view.hold.tenant)
        role = self.eligible_role(who, view, approving=True)
        await self._refuse_second_vote(view, who)
        if digest is not None and digest != view.digest:
            raise OversightError(
                "what this hold releases is not what you were shown; reload the hold page",
                code="held_changed",
            )
        dwell = now - view.hold.created_at
        if dwell < view.hold.min_deliberation_s:
            wait_s = round(view.hold.min_deliberation_s - dwell, 3)
            raise OversightError(
                f"this hold needs at least {view.hold.min_deliberation_s:g}s of deliberation; "
                f"read it and approve again in {wait_s:g}s",
                code="deliberation_too_short",
                retry_after_s=wait_s,
            )
        await self._record("approve", view, actor=who.name, role=role, reason=text, dwell_s=round(dwell, 3))
        await self._vote(view, who, role, "approve", text, now)
        votes = await self.store.approvals(hold_id)
        approvers = sorted({v.approver for v in votes if v.decision == "approve"})
        if len(approvers) >= view.hold.required_count:
            await self._release(view, approvers, now)
        self._notify()
        return await self.get(hold_id)

    async def reject(self, hold_id: str, user: User | str, reason: str) -> HeldView:
        """Record ``user``'s rejection; one rejection resolves the hold as rejected."""
        now = self.clock()
        who = await self._user(user)
        view = await self._pending(hold_id)
        text = self._reason(reason)
        role = self.eligible_role(who, view, approving=False)
        await self._refuse_second_vote(view, who)
        await self._record("reject", view, actor=who.name, role=role, reason=text)
        await self._vote(view, who, role, "reject", text, now)
        await self.store.transition_hold(hold_id, "pending", "rejected", now, who.name, text)
        self._notify()
        return await self.get(hold_id)

    async def cancel(self, hold_id: str, by: str, reason: str) -> bool:
        """Cancel a pending hold (the requester gave up, or an admin withdrew it)."""
        view = await self._pending(hold_id)
        text = self._reason(reason)
        await self._record("cancel", view, actor=by, reason=text)
        done = await self.store.transition_hold(hold_id, "pending", "cancelled", self.clock(), by, text)
        self._notify()
        return done

    async def expire_due(self, now: float | None = None) -> int:
        """Expire every pending hold whose expiry has passed; return how many this call expired."""
        at = self.clock() if now is None else now
        count = 0
        while True:
            due = await self.store.list_holds(state="pending", expires_before=at, limit=500)
            if not due:
                return count
            progressed = False
            for row in due:
                if await self._expire(row, at):
                    count += 1
                    progressed = True
            if not progressed:
                return count

    # ---- the stop switch ---------------------------------------------------------------

    async def set_stop(self, tenant: str, on: bool, by: str, reason: str) -> int:
        """Turn ``tenant``'s stop switch on or off (``*``: every tenant).

        On: every pending hold of the tenant is rejected (returned: how many) and new
        holds are created rejected until the switch is lifted. The caller checks that
        ``by`` may do this (see ``users.can_stop``).
        """
        text = self._reason(reason)
        now = self.clock()
        if self.ledger is not None:
            await self.ledger.record_event(
                "human_action", {"action": "stop" if on else "resume", "actor": by, "tenant": tenant}, text
            )
        await self.store.set_stop(tenant, on, by, text, now)
        rejected = 0
        if on:
            scope = None if tenant == ALL_TENANTS else tenant
            while True:
                pending = await self.store.list_holds(state="pending", tenant=scope, limit=500)
                progressed = False
                for row in pending:
                    view = HeldView.of(row)
                    await self._record("reject", view, actor=by, reason=text, via="stop")
                    if await self.store.transition_hold(
                        row.id, "pending", "rejected", now, f"stop-switch:{by}", text
                    ):
                        rejected += 1
                        progressed = True
                if not pending or not progressed:
                    break
        self._notify()
        return rejected

    async def stop_state(self, tenant: str) -> StopState | None:
        return await self.store.get_stop(tenant)

    async def _active_stop(self, tenant: str) -> StopState | None:
        for name in (tenant, ALL_TENANTS):
            state = await self.store.get_stop(name)
            if state is not None and state.on:
                return state
        return None

    # ---- authorisations ----------------------------------------------------------------

    async def verify_and_consume(self, token: str, tool_name: str, arguments: Any) -> AuthorizationClaims:
        """Verify an authorisation for this call and consume it (single use, across
        replicas). ``authorization_replayed`` if it was consumed before."""
        now = self.clock()
        claims = verify_offline(token, self.signer.public_key, tool_name, arguments, now)
        if not await self.store.consume_token(claims.token_id, now):
            raise AuthorizationError("this authorisation was already used", code="authorization_replayed")
        return claims

    # ---- quality and the sweeper -------------------------------------------------------

    async def refresh_quality(self) -> QualityReport:
        """Recompute the oversight-quality figures (kept on ``self.quality`` for /metrics)."""
        self.quality = await compute_quality(self.store, self.clock())
        return self.quality

    def start(self) -> None:
        """Start the background sweeper (expiry, escalation, interrupted releases, quality)."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def sweep(self) -> None:
        """One sweep: expire due holds, escalate holds near expiry, finish releases that
        a crash interrupted (enough approvals recorded, hold still pending)."""
        now = self.clock()
        await self.expire_due(now)
        for row in await self.store.list_holds(state="pending", limit=1000):
            view = HeldView.of(row)
            lifetime = max(1e-9, row.expires_at - row.created_at)
            if (row.expires_at - now) / lifetime < self.escalate_fraction and row.id not in self._escalated:
                self._escalated.add(row.id)
                await self._escalate(view)
            votes = await self.store.approvals(row.id)
            approvers = sorted({v.approver for v in votes if v.decision == "approve"})
            if len(approvers) >= row.required_count:
                await self._release(view, approvers, now)
                self._notify()

    async def _sweep_forever(self) -> None:
        last_quality = 0.0
        while True:
            try:
                await self.sweep()
                if time.monotonic() - last_quality > 30.0:
                    await self.refresh_quality()
                    last_quality = time.monotonic()
            except RedlineError as exc:  # a store hiccup must not kill the sweeper
                log.warning("oversight sweep failed: %s (%s)", exc.message, exc.code)
            await asyncio.sleep(self.sweep_interval_s)

    async def _escalate(self, view: HeldView) -> None:
        if self._escalator is not None:
            await self._escalator(view, self.escalation_target)
            return
        log.warning(
            "hold %s (%s, tenant %s) nears expiry with too few approvals; escalate to %s",
            view.hold.id,
            view.category,
            view.hold.tenant,
            self.escalation_target or "any eligible reviewer",
        )

    # ---- internals ---------------------------------------------------------------------

    def _notify(self) -> None:
        # Wake every waiter in this process; each re-reads its hold from the store.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _user(self, user: User | str) -> User:
        if isinstance(user, User):
            return user
        found = await self.store.get_user(user)
        if found is None:
            raise ForbiddenError(f"no user {user!r}", code="unknown_user")
        return found

    async def _pending(self, hold_id: str) -> HeldView:
        view = await self.get(hold_id)
        if view.hold.state != "pending":
            raise OversightError(
                f"hold {hold_id} is {view.hold.state}; only a pending hold can be decided",
                code="hold_not_pending",
                state=view.hold.state,
            )
        return view

    def _reason(self, reason: str | None) -> str:
        text = (reason or "").strip()
        if len(text) < self.min_reason_chars:
            raise InputError(
                f"write a reason of at least {self.min_reason_chars} characters", code="reason_required"
            )
        return text

    async def _refuse_if_stopped(self, tenant: str) -> None:
        stop = await self._active_stop(tenant)
        if stop is not None:
            raise OversightError(
                f"the stop switch is on for tenant {stop.tenant} ({stop.reason}); nothing can be approved",
                code="stop_active",
            )

    def eligible_role(self, who: User, view: HeldView, *, approving: bool) -> str:
        """The role ``who`` votes under on this hold, or a ForbiddenError saying why not
        (``tenant_not_allowed``, ``role_not_allowed``, ``self_approval``)."""
        hold = view.hold
        if who.tenant not in (ALL_TENANTS, hold.tenant):
            raise ForbiddenError(
                f"{who.name} may not act for tenant {hold.tenant}", code="tenant_not_allowed"
            )
        roles = [r for r in who.roles if r in hold.roles and r in VOTING_ROLES]
        if not roles:
            raise ForbiddenError(
                f"this hold needs one of the roles {', '.join(hold.roles)}; {who.name} has {', '.join(who.roles)}",
                code="role_not_allowed",
            )
        principal = view.payload.get("principal") or {}
        requester = {hold.principal, str(principal.get("user") or ""), str(principal.get("app") or "")}
        if approving and who.name in requester:
            raise ForbiddenError("the requester can never approve its own hold", code="self_approval")
        return roles[0]

    async def _refuse_second_vote(self, view: HeldView, who: User) -> None:
        if any(v.approver == who.name for v in await self.store.approvals(view.hold.id)):
            raise OversightError(f"{who.name} has already voted on this hold", code="already_voted")

    async def _vote(
        self, view: HeldView, who: User, role: str, decision: Any, reason: str, now: float
    ) -> None:
        try:
            await self.store.add_approval(view.hold.id, who.name, role, decision, reason, now)
        except ConflictError:
            raise OversightError(f"{who.name} has already voted on this hold", code="already_voted") from None

    async def _record(self, action: str, view: HeldView, *, actor: str, reason: str, **extra: Any) -> None:
        if self.ledger is None:
            return
        meta: dict[str, Any] = {
            "action": action,
            "actor": actor,
            "tenant": view.hold.tenant,
            "hold_id": view.hold.id,
            "decision_id": view.decision.get("id", ""),
            "category": view.category,
            "rule": view.rule,
            **{k: v for k, v in extra.items() if v is not None},
        }
        await self.ledger.record_event("human_action", meta, {"reason": reason})

    async def _expire(self, row: Hold, at: float) -> bool:
        won = await self.store.transition_hold(row.id, "pending", "expired", at, "system", "expired: deny")
        if won:
            # Recorded after the compare-and-set so that racing replicas record it once;
            # expiry only ever denies, so nothing is released before this entry.
            await self._record(
                "expire", HeldView.of(row), actor="system", reason="expired without enough approvals"
            )
            self._notify()
        return won

    async def _release(self, view: HeldView, approvers: list[str], now: float) -> bool:
        released = await self._released_value(view, now)
        by = ",".join(approvers)
        reason = f"approved by {len(approvers)} of {view.hold.required_count} required"
        return await self.store.transition_hold(
            view.hold.id, "pending", "approved", now, by, reason, released=canonical(released)
        )

    async def _released_value(self, view: HeldView, now: float) -> dict[str, Any]:
        stage = view.payload.get("stage")
        if stage == "output":
            value: dict[str, Any] = {"output": view.payload.get("output")}
            # The gateway keeps the answer in its wire's format too, so a client can use it as is.
            response = (view.payload.get("extra") or {}).get("response")
            if response is not None:
                value["response"] = response
            return value
        if stage == "tool_call":
            items = []
            ttl = self.authorization_ttl_s
            for call in view.payload.get("tool_calls", []):
                token, claims = self.signer.issue(
                    hold_id=view.hold.id,
                    tool_name=call["name"],
                    arguments=call["canonical_arguments"],
                    policy_hash=str((view.decision.get("policy") or {}).get("hash", "")),
                    issued_at=now,
                    ttl_s=ttl,
                )
                items.append(
                    {
                        "tool": call["name"],
                        "arguments": call["arguments"],
                        "call_sha256": claims.call,
                        "authorization": token,
                        "token_id": claims.token_id,
                        "expires_at": claims.expires_at,
                    }
                )
            return {
                "authorizations": items,
                "kid": self.signer.kid,
                "public_key": self.signer.public_raw_b64(),
            }
        if self._releaser is None:
            return {
                "error": {
                    "code": "release_unavailable",
                    "message": "no releaser is registered: resend the request",
                }
            }
        try:
            return dict(await self._releaser(view))
        except RedlineError as exc:
            return {"error": exc.as_dict()}
