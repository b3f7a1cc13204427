"""Builders shared by the oversight tests (facts, decisions, a settable clock)."""

from __future__ import annotations

import uuid

from argon2 import PasswordHasher

from redline.decision import Approvals, Decision, PolicyRef, Verdict
from redline.facts import Facts, Message, Principal, Stage, ToolCall

PASSWORD = "correct horse battery staple"
T0 = 1_700_000_000.0
# argon2id with a low cost: the default costs ~0.5 s a hash on a busy CI machine.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Clock:
    """A settable clock: tests move time explicitly, never sleep for it."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def targeting_decision(
    *, count: int = 2, min_s: float = 20.0, expires_s: float = 3600.0, stage: Stage = Stage.OUTPUT
) -> Decision:
    return Decision(
        id="d-" + uuid.uuid4().hex[:8],
        verdict=Verdict.REVIEW,
        code="review_required",
        stage=stage,
        category="targeting_support",
        scores={"targeting_support": 0.91, "military_general": 0.06},
        rules=("review.targeting-support",),
        reasons=("Decision support on the use of force needs two commanders to decide.",),
        approvals=Approvals(count=count, roles=("commander",), min_deliberation_s=min_s, expires_s=expires_s),
        policy=PolicyRef(name="default", version="1", hash="sha256:policyhash"),
    )


PRINCIPAL = Principal(tenant="tenant-a", app="planner", user="alice")


def output_facts(text: str = "Option B: strike the bridge at 0400; CDE low.") -> Facts:
    return Facts(
        stage=Stage.OUTPUT,
        principal=PRINCIPAL,
        messages=(Message(role="user", content="Compare strike options for the bridge."),),
        output=text,
        now=T0,
    )


def tool_facts(arguments: dict[str, object] | None = None) -> Facts:
    call = ToolCall(
        id="call_1",
        name="engage_target",
        arguments=arguments or {"target_id": "T-17", "weapon": "GBU-39", "rationale": "hostile artillery"},
    )
    return Facts(stage=Stage.TOOL_CALL, principal=PRINCIPAL, tool_calls=(call,), now=T0)


def input_facts() -> Facts:
    return Facts(
        stage=Stage.INPUT,
        principal=PRINCIPAL,
        messages=(Message(role="user", content="Nominate targets for review from this list."),),
        now=T0,
    )
