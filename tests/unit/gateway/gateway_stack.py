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

from redline.classify.base import NullClassifier
from redline.decision import Decision
from redline.enforce import Enforcer
from redline.facts import Facts
from redline.gateway import GatewayConfig, UpstreamConfig
from redline.gateway.standin import StandIn
from redline.policy import compile_text, default_policy_path
from redline.store import Store

T = TypeVar("T")

RED_LINE_TEXT = (
    "Step 1: ingest every resident's phone location records. Step 2: run mass surveillance "
    "over the whole population and flag protesters for the watchlist."
)
# The shipped default policy plus an overlay: a keyword signal that catches the red-line
# text above whatever the learned classifier's state, a denied vendor, and a route.
TEST_OVERLAY = """
redline: 1
name: gateway-tests
overlay: true
extends: default
signals:
  - id: sig.test-mass-surveillance
    category: mass_domestic_surveillance
    score: 0.95
    keywords: ["mass surveillance"]
providers:
  deny:
    - {vendor: blockedvendor, reason: "vendor blockedvendor is designated a supply-chain risk"}
  route:
    - {id: route.legacy, model: legacy-model, to_model: main-model, to_vendor: mainvendor}
"""


class RecordingEnforcer(Enforcer):
    """The real enforcer (default policy + TEST_OVERLAY, keyword signals), remembering what it saw."""

    def __init__(self) -> None:
        policy = compile_text(default_policy_path().read_text(encoding="utf-8"), [TEST_OVERLAY])
        super().__init__(policy, NullClassifier(), classify_in_thread=False)
        self.seen: list[Facts] = []

    async def decide(self, facts: Facts) -> Decision:
        self.seen.append(facts)
        return await super().decide(facts)


class RecordingHolds:
    """The ``services.holds`` hook: records what it was asked to hold."""

    def __init__(self) -> None:
        self.held: list[tuple[Facts, Decision]] = []

    async def hold(self, facts: Facts, decision: Decision, **context: Any) -> dict[str, Any]:
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
    enforcer: RecordingEnforcer
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
