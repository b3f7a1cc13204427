"""The rules of holds and votes, on SQLite and PostgreSQL, with a real ledger."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from oversight_kit import FAST_HASHER, Clock, input_facts, output_facts, targeting_decision, tool_facts

from redline.errors import ForbiddenError, InputError, LedgerUnavailableError, NotFoundError, OversightError
from redline.oversight import AuthorizationSigner, HeldView, Oversight
from redline.oversight.authz import verify_offline
from redline.oversight.quality import compute_quality
from redline.store import Store, open_store

REASON = "Checked the collateral estimate against the ROE card."


async def human_actions(store: Store) -> list[bytes]:
    leaves = await store.read_leaves(0, await store.log_size())
    return [leaf.entry for leaf in leaves if leaf.kind == "human_action"]


async def test_hold_is_durable_and_pending(oversight: Oversight, store: Store) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    assert made["state"] == "pending"
    assert str(made["status_url"]).startswith(f"/v1/holds/{made['id']}?token=")
    row = await store.get_hold(str(made["id"]))
    assert row is not None and row.state == "pending"
    assert row.required_count == 2 and row.roles == ("commander",) and row.min_deliberation_s == 20.0
    assert row.tenant == "tenant-a" and row.principal == "tenant-a/planner/alice"


async def test_two_distinct_commanders_release_the_output(
    oversight: Oversight, users: dict[str, Any], clock: Clock, store: Store
) -> None:
    made = await oversight.hold(output_facts("Option B at 0400."), targeting_decision())
    clock.advance(30)
    view = await oversight.approve(made["id"], users["cmd1"], REASON)
    assert view.hold.state == "pending"  # one approver is not enough for M=2
    with pytest.raises(OversightError) as again:
        await oversight.approve(made["id"], users["cmd1"], REASON)
    assert again.value.code == "already_voted"
    view = await oversight.approve(made["id"], "cmd2", REASON)
    assert view.hold.state == "approved"
    assert view.released_value == {"output": "Option B at 0400."}
    assert view.hold.resolved_by == "cmd1,cmd2"
    assert len(await human_actions(store)) == 2


async def test_approval_faster_than_minimum_deliberation_is_refused(
    oversight: Oversight, users: dict[str, Any], clock: Clock
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision(min_s=20))
    clock.advance(19.5)
    with pytest.raises(OversightError) as err:
        await oversight.approve(made["id"], users["cmd1"], REASON)
    assert err.value.code == "deliberation_too_short"
    assert err.value.details["retry_after_s"] == pytest.approx(0.5)
    assert await oversight.approvals(made["id"]) == []  # the refused vote left no trace
    clock.advance(0.5)
    await oversight.approve(made["id"], users["cmd1"], REASON)
    assert len(await oversight.approvals(made["id"])) == 1


async def test_requester_cannot_approve_its_own_hold(
    oversight: Oversight, users: dict[str, Any], clock: Clock
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    clock.advance(30)
    with pytest.raises(ForbiddenError) as err:
        await oversight.approve(made["id"], users["alice"], REASON)
    assert err.value.code == "self_approval"


@pytest.mark.parametrize(
    ("who", "code"),
    [("rev1", "role_not_allowed"), ("aud1", "role_not_allowed"), ("other", "tenant_not_allowed")],
)
async def test_only_named_roles_of_the_tenant_vote(
    oversight: Oversight, users: dict[str, Any], clock: Clock, who: str, code: str
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    clock.advance(30)
    with pytest.raises(ForbiddenError) as err:
        await oversight.approve(made["id"], users[who], REASON)
    assert err.value.code == code


@pytest.mark.parametrize("reason", ["", "   ", "ok"])
async def test_a_written_reason_is_required(
    oversight: Oversight, users: dict[str, Any], clock: Clock, reason: str
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    clock.advance(30)
    with pytest.raises(InputError) as err:
        await oversight.approve(made["id"], users["cmd1"], reason)
    assert err.value.code == "reason_required"
    with pytest.raises(InputError):
        await oversight.reject(made["id"], users["cmd1"], reason)


async def test_one_rejection_denies(
    oversight: Oversight, users: dict[str, Any], clock: Clock, store: Store
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    clock.advance(1)  # rejecting needs no deliberation time: it is the safe direction
    view = await oversight.reject(made["id"], users["cmd1"], "Target is next to a school.")
    assert view.hold.state == "rejected" and view.released_value is None
    with pytest.raises(OversightError) as err:
        await oversight.approve(made["id"], users["cmd2"], REASON)
    assert err.value.code == "hold_not_pending"
    assert len(await human_actions(store)) == 1


async def test_expiry_denies(oversight: Oversight, users: dict[str, Any], clock: Clock, store: Store) -> None:
    first = await oversight.hold(output_facts(), targeting_decision(expires_s=600))
    second = await oversight.hold(output_facts(), targeting_decision(expires_s=6000))
    clock.advance(30)
    await oversight.approve(first["id"], users["cmd1"], REASON)
    clock.advance(600)
    assert await oversight.expire_due() == 1
    assert (await oversight.get(first["id"])).hold.state == "expired"
    assert (await oversight.get(second["id"])).hold.state == "pending"
    with pytest.raises(OversightError) as err:
        await oversight.approve(first["id"], users["cmd2"], REASON)
    assert err.value.code == "hold_not_pending"
    # A pending hold read after its expiry is expired on the spot, even without a sweep.
    clock.advance(6000)
    assert (await oversight.get(second["id"])).hold.state == "expired"
    assert await oversight.expire_due() == 0
    assert len(await human_actions(store)) == 3  # one approval, two expiries


async def test_restart_keeps_pending_holds(store_url: str, clock: Clock, signer: AuthorizationSigner) -> None:
    first_store = await open_store(store_url)
    try:
        made = await Oversight(first_store, clock=clock, signer=signer).hold(
            output_facts(), targeting_decision()
        )
    finally:
        await first_store.close()
    reopened = await open_store(store_url)
    try:
        again = Oversight(reopened, clock=clock, signer=signer)
        view = await again.get(made["id"])
        assert view.hold.state == "pending" and view.payload["output"] == output_facts().output
        clock.advance(30)
        from redline.oversight.users import Authenticator

        auth = Authenticator(reopened, hasher=FAST_HASHER)
        for name in ("cmd1", "cmd2"):
            await auth.add_user(name, "correct horse battery staple", ["commander"], "*", clock())
            view = await again.approve(made["id"], name, REASON)
        assert view.hold.state == "approved"
    finally:
        await reopened.close()


async def test_stop_switch_rejects_pending_and_blocks_new(
    oversight: Oversight, users: dict[str, Any], clock: Clock, store: Store
) -> None:
    pending = [await oversight.hold(output_facts(), targeting_decision()) for _ in range(3)]
    clock.advance(30)
    await oversight.approve(pending[0]["id"], users["cmd1"], REASON)
    rejected = await oversight.set_stop("tenant-a", True, "cmd2", "Ceasefire in effect from 0600.")
    assert rejected == 3
    for made in pending:
        assert (await oversight.get(made["id"])).hold.state == "rejected"
    new = await oversight.hold(output_facts(), targeting_decision())
    assert new["state"] == "rejected"
    assert (await oversight.get(new["id"])).hold.state == "rejected"
    # Other tenants are unaffected.
    other = await oversight.hold(
        output_facts().model_copy(
            update={"principal": output_facts().principal.model_copy(update={"tenant": "b"})}
        ),
        targeting_decision(),
    )
    assert other["state"] == "pending"
    await oversight.set_stop("tenant-a", False, "cmd2", "Ceasefire lifted at 1800.")
    assert (await oversight.hold(output_facts(), targeting_decision()))["state"] == "pending"
    # stop + 3 rejections + the approval before it + the rejection of the new hold + resume
    assert len(await human_actions(store)) == 7


async def test_global_stop_switch_blocks_approval(
    oversight: Oversight, users: dict[str, Any], clock: Clock
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    await oversight.set_stop("*", True, "cmd2", "All operations paused by order.")
    assert (await oversight.get(made["id"])).hold.state == "rejected"
    assert (await oversight.hold(output_facts(), targeting_decision()))["state"] == "rejected"


async def test_approved_tool_call_yields_a_bound_single_use_authorisation(
    oversight: Oversight, users: dict[str, Any], clock: Clock, signer: AuthorizationSigner
) -> None:
    args = {"target_id": "T-17", "weapon": "GBU-39", "rationale": "hostile artillery"}
    made = await oversight.hold(tool_facts(args), targeting_decision(stage=tool_facts().stage))
    clock.advance(30)
    await oversight.approve(made["id"], users["cmd1"], REASON)
    view = await oversight.approve(made["id"], users["cmd2"], REASON)
    released = view.released_value
    assert released is not None
    [auth] = released["authorizations"]
    token = auth["authorization"]
    claims = verify_offline(token, signer.public_key, "engage_target", args, clock())
    assert claims.hold_id == made["id"] and claims.policy == "sha256:policyhash"
    # Key order does not matter (canonical JSON); values do.
    assert verify_offline(token, signer.public_key, "engage_target", dict(reversed(args.items())), clock())
    consumed = await oversight.verify_and_consume(token, "engage_target", args)
    assert consumed.token_id == claims.token_id
    from redline.errors import AuthorizationError

    with pytest.raises(AuthorizationError) as replay:
        await oversight.verify_and_consume(token, "engage_target", args)
    assert replay.value.code == "authorization_replayed"


async def test_input_hold_released_through_the_releaser(
    oversight: Oversight, users: dict[str, Any], clock: Clock
) -> None:
    seen: list[HeldView] = []

    async def releaser(hold: HeldView) -> dict[str, Any]:
        seen.append(hold)
        return {"status": 200, "body": {"choices": [{"message": {"content": "Targets A, C for review."}}]}}

    oversight.set_releaser(releaser)
    request = {"model": "m", "messages": [{"role": "user", "content": "Nominate targets for review."}]}
    made = await oversight.hold(
        input_facts(), targeting_decision(stage=input_facts().stage), request=request, wire="openai"
    )
    clock.advance(30)
    await oversight.approve(made["id"], users["cmd1"], REASON)
    view = await oversight.approve(made["id"], users["cmd2"], REASON)
    assert [h.payload["request"] for h in seen] == [request]
    assert seen[0].payload["wire"] == "openai"
    assert view.released_value == {
        "status": 200,
        "body": {"choices": [{"message": {"content": "Targets A, C for review."}}]},
    }


async def test_input_hold_without_releaser_reports_it(
    oversight: Oversight, users: dict[str, Any], clock: Clock
) -> None:
    made = await oversight.hold(input_facts(), targeting_decision(count=1, stage=input_facts().stage))
    clock.advance(30)
    view = await oversight.approve(made["id"], users["cmd1"], REASON)
    assert view.hold.state == "approved"
    assert view.released_value == {
        "error": {"code": "release_unavailable", "message": "no releaser is registered: resend the request"}
    }


async def test_quoted_digest_must_match_what_is_released(
    oversight: Oversight, users: dict[str, Any], clock: Clock
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    clock.advance(30)
    view = await oversight.get(made["id"])
    with pytest.raises(OversightError) as err:
        await oversight.approve(made["id"], users["cmd1"], REASON, digest="0" * 64)
    assert err.value.code == "held_changed"
    await oversight.approve(made["id"], users["cmd1"], REASON, digest=view.digest)


async def test_wait_returns_when_another_replica_approves(
    store_url: str, oversight: Oversight, users: dict[str, Any], clock: Clock, signer: AuthorizationSigner
) -> None:
    made = await oversight.hold(output_facts("released text"), targeting_decision(count=1))
    clock.advance(30)
    other_store = await open_store(store_url)
    try:
        replica = Oversight(other_store, clock=clock, signer=signer)
        waiter = asyncio.create_task(oversight.wait(made["id"], timeout=60))
        await asyncio.sleep(0)
        await replica.approve(made["id"], "cmd1", REASON)
        view = await waiter
    finally:
        await other_store.close()
    assert view.hold.state == "approved" and view.released_value == {"output": "released text"}


async def test_wait_times_out_pending(oversight: Oversight) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    view = await oversight.wait(made["id"], timeout=0)
    assert view.hold.state == "pending"
    with pytest.raises(NotFoundError):
        await oversight.wait("h-missing", timeout=0)


async def test_cancel(oversight: Oversight, store: Store) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    assert await oversight.cancel(made["id"], "planner", "The operator withdrew the request.")
    assert (await oversight.get(made["id"])).hold.state == "cancelled"
    assert len(await human_actions(store)) == 1


class _DeadLedger:
    async def record_event(self, kind: str, payload: Any, content: Any = None) -> int:
        raise LedgerUnavailableError("the audit log cannot be written")


async def test_nothing_happens_when_the_ledger_cannot_record(
    store: Store, users: dict[str, Any], clock: Clock
) -> None:
    oversight = Oversight(store, ledger=_DeadLedger(), clock=clock)
    made = await oversight.hold(output_facts(), targeting_decision(count=1))
    clock.advance(30)
    with pytest.raises(LedgerUnavailableError):
        await oversight.approve(made["id"], users["cmd1"], REASON)
    assert await oversight.approvals(made["id"]) == []
    assert (await oversight.get(made["id"])).hold.state == "pending"


async def test_quality_figures(oversight: Oversight, users: dict[str, Any], clock: Clock) -> None:
    fast = await oversight.hold(output_facts(), targeting_decision(min_s=20))
    slow = await oversight.hold(output_facts(), targeting_decision(min_s=20, expires_s=1000))
    clock.advance(20)
    await oversight.approve(fast["id"], users["cmd1"], REASON)  # at the minimum
    clock.advance(100)
    await oversight.approve(fast["id"], users["cmd2"], REASON)
    await oversight.reject(slow["id"], users["cmd1"], "Not enough intelligence to support this.")
    expired = await oversight.hold(output_facts(), targeting_decision(expires_s=10))
    clock.advance(11)
    await oversight.expire_due()
    assert expired["state"] == "pending"
    report = await compute_quality(oversight.store, clock())
    by_name = {r.name: r for r in report.reviewers}
    assert (by_name["cmd1"].approvals, by_name["cmd1"].rejections, by_name["cmd1"].fast_approvals) == (
        1,
        1,
        1,
    )
    assert by_name["cmd1"].approval_rate == 0.5
    assert by_name["cmd2"].approval_rate == 1.0 and by_name["cmd2"].fast_approvals == 0
    assert by_name["cmd2"].median_dwell_s == 120.0
    assert by_name["cmd2"].expiries == 1 and by_name["rev1"].expiries == 0  # rev1 could not have approved
    [rule] = report.rules
    assert (rule.name, rule.holds, rule.expiries, rule.approval_rate) == (
        "review.targeting-support",
        3,
        1,
        1 / 3,
    )
    assert report.holds_by_state == {"approved": 1, "rejected": 1, "expired": 1}
