"""How the gateway asks for decisions, and what it does with the answer.

The gateway needs only ``enforcer.decide(facts) -> Decision`` (async). Anything
but ``allow`` raises ``GatewayBlocked``. For ``review``, if a hold service is
available (``services.holds``), a durable hold is created first and its id and
status URL travel with the error, so the client can poll it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..decision import Decision, Verdict
from ..facts import Facts, Stage, ToolCall
from .failures import GatewayBlocked


class EnforcerLike(Protocol):
    """What the gateway needs from ``redline.enforce.Enforcer``."""

    async def decide(self, facts: Facts) -> Decision: ...


class HoldsLike(Protocol):
    """The hook for the oversight service (``services.holds``; may be None).

    ``hold`` creates a durable hold for a ``review`` decision and returns a
    mapping with at least ``id``, and optionally ``state`` and ``status_url``.
    The gateway passes ``wire`` (``openai``/``anthropic``) and ``request`` (the
    chat-completions body it would send upstream) as context.
    """

    async def hold(self, facts: Facts, decision: Decision, **context: Any) -> Mapping[str, Any]: ...


class DecisionObserver(Protocol):
    def observe_decision(self, decision: Decision) -> None: ...


class Guard:
    """Decides facts and raises ``GatewayBlocked`` for anything not allowed."""

    def __init__(
        self,
        enforcer: EnforcerLike,
        holds: HoldsLike | None = None,
        observer: DecisionObserver | None = None,
    ) -> None:
        self._enforcer = enforcer
        self._holds = holds
        self._observer = observer

    async def decide(self, facts: Facts) -> Decision:
        """The decision, observed, without acting on it."""
        decision = await self._enforcer.decide(facts)
        if self._observer is not None:
            self._observer.observe_decision(decision)
        return decision

    async def hold(self, facts: Facts, decision: Decision, **context: Any) -> dict[str, Any] | None:
        """A durable hold for a ``review`` decision, or None when no oversight service is configured."""
        if self._holds is None:
            return None
        return dict(await self._holds.hold(facts, decision, **context))

    async def check(self, facts: Facts, **context: Any) -> Decision:
        decision = await self.decide(facts)
        if decision.verdict is Verdict.ALLOW:
            return decision
        hold = await self.hold(facts, decision, **context) if decision.verdict is Verdict.REVIEW else None
        raise GatewayBlocked(decision, hold)

    async def check_output(self, facts: Facts, text: str, **context: Any) -> Decision:
        return await self.check(facts.model_copy(update={"stage": Stage.OUTPUT, "output": text}), **context)

    async def check_tool_calls(
        self, facts: Facts, calls: Sequence[ToolCall], **context: Any
    ) -> list[Decision]:
        """Each call is decided on its own (its declared effect applies to it alone)."""
        if not calls:
            return []
        results = await asyncio.gather(
            *(
                self.check(facts.model_copy(update={"stage": Stage.TOOL_CALL, "tool_calls": (c,)}), **context)
                for c in calls
            ),
            return_exceptions=True,
        )
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return [r for r in results if isinstance(r, Decision)]
