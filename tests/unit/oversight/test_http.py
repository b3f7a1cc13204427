"""The JSON API and the web UI over HTTP (ASGI): who may read, who may decide, CSRF."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from oversight_kit import FAST_HASHER, PASSWORD, Clock, output_facts, targeting_decision, tool_facts

import redline.oversight
import redline.web
from redline.metrics import install as install_metrics
from redline.oversight import Oversight
from redline.oversight.users import Authenticator
from redline.store import Store

REASON = "Checked the collateral estimate against the ROE card."
BASE = "http://redline.test"


@pytest.fixture
async def app(oversight: Oversight, store: Store, users: dict[str, Any]) -> FastAPI:
    app = FastAPI()
    app.state.redline_auth = Authenticator(store, hasher=FAST_HASHER)
    services = SimpleNamespace(oversight=oversight, store=store)
    redline.oversight.install(app, services)
    redline.web.install(app, services)
    install_metrics(app)
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as c:
        yield c


def basic(name: str, password: str = PASSWORD) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


async def api_key(store: Store, tenant: str, app: str, user: str | None) -> str:
    key = f"rl-test-{tenant}-{app}-{user}"
    await store.put_api_key(hashlib.sha256(key.encode()).hexdigest(), tenant, app, user, "{}", 0.0)
    return key


async def login(client: httpx2.AsyncClient, name: str) -> str:
    """Sign in through the form; returns the session's CSRF token (from a page)."""
    page = await client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    done = await client.post(
        "/ui/login", data={"username": name, "password": PASSWORD, "csrf": csrf.group(1), "next": "/ui/"}
    )
    assert done.status_code == 303, done.text
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    queue = await client.get("/ui/")
    token = re.search(r'name="csrf" value="([^"]+)"', queue.text)
    assert queue.status_code == 200 and token is not None
    return token.group(1)


# ---- reading holds ---------------------------------------------------------------------


async def test_hold_is_readable_by_capability_owner_key_or_reviewer(
    client: httpx2.AsyncClient, oversight: Oversight, store: Store
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    url = f"/v1/holds/{made['id']}"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url + "?token=wrong")).status_code == 401
    ok = await client.get(str(made["status_url"]))
    assert ok.status_code == 200 and ok.json()["state"] == "pending" and "released" not in ok.json()
    owner = await api_key(store, "tenant-a", "planner", "alice")
    assert (await client.get(url, headers={"authorization": f"Bearer {owner}"})).status_code == 200
    stranger = await api_key(store, "tenant-a", "other-app", None)
    refused = await client.get(url, headers={"authorization": f"Bearer {stranger}"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_your_hold"
    assert (await client.get(url, headers=basic("aud1"))).status_code == 200
    assert (await client.get(url, headers=basic("other"))).status_code == 403  # tenant-b reviewer
    assert (await client.get(url, headers=basic("aud1", "wrong password!"))).status_code == 401


async def test_long_poll_receives_the_released_output(
    client: httpx2.AsyncClient, oversight: Oversight, clock: Clock
) -> None:
    made = await oversight.hold(output_facts("Option B at 0400."), targeting_decision())
    poll = asyncio.create_task(client.get(str(made["status_url"]) + "&wait=30"))
    clock.advance(30)
    first = await client.post(
        f"/v1/holds/{made['id']}/approve", json={"reason": REASON}, headers=basic("cmd1")
    )
    assert first.status_code == 200 and first.json()["state"] == "pending" and first.json()["approvals"] == 1
    assert not poll.done()
    second = await client.post(
        f"/v1/holds/{made['id']}/approve", json={"reason": REASON}, headers=basic("cmd2")
    )
    assert second.json()["state"] == "approved"
    body = (await poll).json()
    assert body["state"] == "approved" and body["released"] == {"output": "Option B at 0400."}


async def test_json_votes_enforce_the_rules(
    client: httpx2.AsyncClient, oversight: Oversight, clock: Clock
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    url = f"/v1/holds/{made['id']}/approve"
    assert (await client.post(url, json={"reason": REASON})).status_code == 401
    early = await client.post(url, json={"reason": REASON}, headers=basic("cmd1"))
    assert early.status_code == 409 and early.json()["error"]["code"] == "deliberation_too_short"
    clock.advance(30)
    own = await client.post(url, json={"reason": REASON}, headers=basic("alice"))
    assert own.status_code == 403 and own.json()["error"]["code"] == "self_approval"
    no_reason = await client.post(url, json={}, headers=basic("cmd1"))
    assert no_reason.status_code == 400 and no_reason.json()["error"]["code"] == "reason_required"


async def test_session_votes_need_the_csrf_header(
    client: httpx2.AsyncClient, oversight: Oversight, clock: Clock
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision(count=1))
    clock.advance(30)
    csrf = await login(client, "cmd1")
    url = f"/v1/holds/{made['id']}/approve"
    refused = await client.post(url, json={"reason": REASON})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    done = await client.post(url, json={"reason": REASON}, headers={"x-csrf-token": csrf})
    assert done.status_code == 200 and done.json()["state"] == "approved"


async def test_verify_endpoint_consumes_the_authorisation(
    client: httpx2.AsyncClient, oversight: Oversight, clock: Clock
) -> None:
    args = {"target_id": "T-17", "weapon": "GBU-39"}
    made = await oversight.hold(tool_facts(args), targeting_decision(count=1, stage=tool_facts().stage))
    clock.advance(30)
    await oversight.approve(made["id"], "cmd1", REASON)
    released = (await client.get(str(made["status_url"]))).json()["released"]
    token = released["authorizations"][0]["authorization"]
    changed = await client.post(
        "/v1/authorizations/verify",
        json={"authorization": token, "tool": "engage_target", "arguments": {**args, "weapon": "JDAM"}},
    )
    assert changed.status_code == 403 and changed.json()["error"]["code"] == "authorization_mismatch"
    body = {"authorization": token, "tool": "engage_target", "arguments": args}
    first = await client.post("/v1/authorizations/verify", json=body)
    assert (
        first.status_code == 200 and first.json()["valid"] is True and first.json()["hold_id"] == made["id"]
    )
    replay = await client.post("/v1/authorizations/verify", json=body)
    assert replay.status_code == 403 and replay.json() == {
        "valid": False,
        "error": {"code": "authorization_replayed", "message": "this authorisation was already used"},
    }
    key = (await client.get("/v1/authorizations/key")).json()
    assert key["kid"] == released["kid"] and key["alg"] == "Ed25519"


# ---- the web UI ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ui/", "/ui/history", "/ui/stop", "/ui/quality", "/ui/holds/h123"])
async def test_pages_need_a_session(client: httpx2.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/login?next=")


async def test_forms_refuse_unauthenticated_and_cross_site_posts(
    client: httpx2.AsyncClient, oversight: Oversight, clock: Clock
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision(count=1))
    clock.advance(30)
    url = f"/ui/holds/{made['id']}/decide"
    anonymous = await client.post(url, data={"action": "approve", "reason": REASON, "csrf": "x"})
    assert anonymous.status_code == 401
    csrf = await login(client, "cmd1")
    for forged in ({}, {"csrf": ""}, {"csrf": csrf[:-1] + "A" if csrf[-1] != "A" else csrf[:-1] + "B"}):
        response = await client.post(url, data={"action": "approve", "reason": REASON, **forged})
        assert response.status_code == 403 and "csrf_failed" in response.text
    stop = await client.post(
        "/ui/stop", data={"tenant": "*", "action": "stop", "reason": "no csrf here at all"}
    )
    assert stop.status_code == 403
    assert (await oversight.get(made["id"])).hold.state == "pending"  # nothing happened
    assert await oversight.stop_state("*") is None
    ok = await client.post(url, data={"action": "approve", "reason": REASON, "csrf": csrf})
    assert ok.status_code == 303
    assert (await oversight.get(made["id"])).hold.state == "approved"


async def test_login_form_needs_its_csrf_token(client: httpx2.AsyncClient) -> None:
    refused = await client.post(
        "/ui/login", data={"username": "cmd1", "password": PASSWORD, "csrf": "forged"}
    )
    assert refused.status_code == 403
    page = await client.get("/ui/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    wrong = await client.post(
        "/ui/login", data={"username": "cmd1", "password": "not the password", "csrf": token.group(1)}
    )
    assert wrong.status_code == 401 and "redline_session" not in wrong.headers.get("set-cookie", "")


async def test_hold_page_shows_what_is_released_and_marks_model_text(
    client: httpx2.AsyncClient, oversight: Oversight, clock: Clock
) -> None:
    args = {"target_id": "T-17", "weapon": "GBU-39", "rationale": "<b>trust me</b>, hostile artillery"}
    made = await oversight.hold(tool_facts(args), targeting_decision(stage=tool_facts().stage))
    await login(client, "cmd1")
    page = await client.get(f"/ui/holds/{made['id']}")
    assert page.status_code == 200
    html = page.text
    assert "engage_target" in html and "GBU-39" in html and "T-17" in html
    assert "untrusted model text" in html
    assert "&lt;b&gt;trust me&lt;/b&gt;" in html and "<b>trust me</b>" not in html  # escaped
    assert "review.targeting-support" in html and "0.910" in html
    assert "default-src 'self'" in page.headers["content-security-policy"]
    early = await client.post(
        f"/ui/holds/{made['id']}/decide",
        data={
            "action": "approve",
            "reason": REASON,
            "csrf": re.search(r'name="csrf" value="([^"]+)"', html).group(1),
        },  # type: ignore[union-attr]
    )
    assert early.status_code == 409 and "deliberation_too_short" in early.text and REASON in early.text


async def test_requester_sees_no_approve_button(
    client: httpx2.AsyncClient, oversight: Oversight, clock: Clock
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    clock.advance(30)
    await login(client, "alice")
    html = (await client.get(f"/ui/holds/{made['id']}")).text
    assert "the requester can never approve its own hold" in html
    assert 'value="approve"' not in html and 'value="reject"' in html


async def test_stop_switch_page(client: httpx2.AsyncClient, oversight: Oversight) -> None:
    made = await oversight.hold(output_facts(), targeting_decision())
    csrf = await login(client, "cmd2")
    done = await client.post(
        "/ui/stop",
        data={"tenant": "tenant-a", "action": "stop", "reason": "Ceasefire from 0600.", "csrf": csrf},
    )
    assert done.status_code == 303
    assert (await oversight.get(made["id"])).hold.state == "rejected"
    page = await client.get("/ui/stop?done=stopped:1")
    assert "STOPPED" in page.text and "Ceasefire from 0600." in page.text


async def test_auditor_cannot_operate_the_stop_switch(
    client: httpx2.AsyncClient, oversight: Oversight
) -> None:
    csrf = await login(client, "aud1")
    refused = await client.post(
        "/ui/stop", data={"tenant": "*", "action": "stop", "reason": "I should not be able to.", "csrf": csrf}
    )
    assert refused.status_code == 403
    assert await oversight.stop_state("*") is None


async def test_quality_page_and_metrics(
    client: httpx2.AsyncClient, oversight: Oversight, clock: Clock
) -> None:
    made = await oversight.hold(output_facts(), targeting_decision(count=1))
    clock.advance(20)
    await oversight.approve(made["id"], "cmd1", REASON)
    await login(client, "aud1")
    assert "cmd1" in (await client.get("/ui/quality")).text
    assert "review.targeting-support" in (await client.get("/ui/history")).text
    metrics = (await client.get("/metrics")).text
    assert 'redline_oversight_reviewer_fast_approvals{reviewer="cmd1"} 1.0' in metrics
    assert 'redline_oversight_rule_approval_rate{rule="review.targeting-support"} 1.0' in metrics
