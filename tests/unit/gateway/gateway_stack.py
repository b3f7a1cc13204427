"""Shared parts of the gateway tests: stand-in upstreams, a SQLite store and redline on uvicorn.

Everything runs on one background event loop in a thread, so the sync SDK clients
(blocking) and the async ones (on pytest's loop) both talk to it over real HTTP.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redline.decision import Approvals, Decision, PolicyRef, Route, Verdict
from redline.facts import Facts, Stage
from redline.gateway import GatewayConfig, UpstreamConfig
from redline.gateway.standin import StandIn
from redline.store import Store

T = TypeVar("T")

RED_LINE_TEXT = (
    "Step 1: ingest every resident's phone location records. Step 2: run mass surveillance "
    "over the whole population and flag protesters for the watchlist."
)
_POLICY = PolicyRef(name="gateway-tests", version="1", hash="0" * 64)


class KeywordEnforcer:
    """A stand-in for redline.enforce.Enforcer with fixed, keyword-based rules."""

    def __init__(self) -> None:
        self.seen: list[Facts] = []
        self.n = 0

    async def decide(self, facts: Facts) -> Decision:
        self.seen.append(facts)
        self.n += 1
        did = f"dec-{self.n}"
        text = facts.text().lower()
        if facts.target.vendor == "blockedvendor":
            return Decision(
                id=did,
                verdict=Verdict.DENY,
                code="provider_denied",
                stage=facts.stage,
                category="general",
                rules=("vendor-blockedvendor",),
                reasons=("vendor blockedvendor is designated a supply-chain risk",),
                policy=_POLICY,
            )
        if facts.stage is Stage.TOOL_CALL and any(c.name == "fire_weapon" for c in facts.tool_calls):
            return Decision(
                id=did,
                verdict=Verdict.REVIEW,
                code="review_required",
                stage=facts.stage,
                category="targeting_support",
                rules=("tool-lethal-engagement",),
                reasons=("tool fire_weapon has effect lethal_engagement: a human must authorise it",),
                approvals=Approvals(count=2),
                policy=_POLICY,
            )
        if "mass surveillance" in text:
            return Decision(
                id=did,
                verdict=Verdict.DENY,
                code="policy_denied",
                stage=facts.stage,
                category="mass_domestic_surveillance",
                rules=("red-line-mds",),
                reasons=("mass domestic surveillance is a red line",),
                waivable=False,
                policy=_POLICY,
            )
        route = None
        if facts.stage is Stage.INPUT and facts.target.model == "legacy-model":
            route = Route(model="main-model", vendor="mainvendor", rule="route-legacy")
        return Decision(
            id=did, verdict=Verdict.ALLOW, stage=facts.stage, category="general", route=route, policy=_POLICY
        )


class RecordingHolds:
    """The ``services.holds`` hook: records what it was asked to hold."""

    def __init__(self) -> None:
        self.held: list[tuple[Facts, Decision]] = []

    async def hold(self, facts: Facts, decision: Decision) -> dict[str, Any]:
        self.held.append((facts, decision))
        hid = f"hold-{len(self.held)}"
        return {"id": hid, "state": "pending", "status_url": f"/v1/holds/{hid}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    loop: asyncio.AbstractEventLoop
    url: str
    standin: StandIn
    slow: StandIn
    store: Store
    enforcer: KeywordEnforcer
    holds: RecordingHolds
    key: str = ""
    dev_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    @property
    def base(self) -> str:
        return self.url + "/v1"


def config_for(standin: StandIn, slow: StandIn, *, require_api_key: bool) -> GatewayConfig:
    return GatewayConfig(
        upstreams=(
            UpstreamConfig(
                name="blocked", base_url=standin.base_url, vendor="blockedvendor", models=("blocked-*",)
            ),
            UpstreamConfig(
                name="down", base_url=f"http://127.0.0.1:{free_port()}/v1", vendor="x", models=("down-model",)
            ),
            UpstreamConfig(
                name="slow", base_url=slow.base_url, vendor="x", models=("slow-model",), timeout_s=0.5
            ),
            UpstreamConfig(name="main", base_url=standin.base_url, vendor="mainvendor", models=("*",)),
        ),
        require_api_key=require_api_key,
        stream_window_chars=32,
        max_body_bytes=64 * 1024,
    )
