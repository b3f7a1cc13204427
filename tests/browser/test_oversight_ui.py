"""Two commanders approve a held targeting_support request in chromium; the client's
long-poll receives the released output. One approver is not enough; the requester
cannot approve its own hold."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from browser_kit import ANSWER, PASSWORD, Served
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

PROMPT = "Prioritise targets T-1..T-3 for the commander's review."


def make_hold(served: Served) -> dict[str, Any]:
    """A targeting_support hold made the way a client makes one: alice's application calls
    the gateway with the official openai SDK and gets ``review_required`` with the hold."""
    client = openai.OpenAI(base_url=f"{served.url}/v1", api_key=served.key, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as err:
        client.chat.completions.create(model="stand-in", messages=[{"role": "user", "content": PROMPT}])
    body = err.value.body
    assert isinstance(body, dict) and body["code"] == "review_required", body
    return {"id": body["hold_id"], "status_url": body["status_url"]}


def sign_in(browser: Browser, served: Served, name: str) -> Page:
    page = browser.new_context(base_url=served.url).new_page()
    page.goto("/ui/")
    expect(page).to_have_url(f"{served.url}/ui/login?next=/ui/")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    return page


def wait_out_deliberation(hold: dict[str, Any]) -> None:
    # The hold needs 1 s of deliberation; wait it out rather than weaken the check.
    time.sleep(max(0.0, hold["created_at_wall"] + 1.2 - time.time()))


def approve(page: Page, hold_id: str, reason: str) -> None:
    page.goto(f"/ui/holds/{hold_id}")
    page.get_by_label("Reason (required, recorded in the audit log)").fill(reason)
    page.get_by_role("button", name="Approve").click()


def test_two_commanders_release_the_output_to_the_long_poll(
    browser: Browser, served: Served, screenshots: Path
) -> None:
    hold = make_hold(served)
    hold["created_at_wall"] = time.time()
    result: dict[str, Any] = {}

    def long_poll() -> None:
        with httpx2.Client(base_url=served.url, timeout=90) as client:
            result["response"] = client.get(hold["status_url"] + "&wait=60")

    poller = threading.Thread(target=long_poll)
    poller.start()

    first = sign_in(browser, served, "cmd1")
    first.get_by_label("Category").select_option("targeting_support")
    first.get_by_role("button", name="Filter").click()
    expect(first.get_by_role("link", name=hold["id"])).to_be_visible()
    first.screenshot(path=str(screenshots / "queue.png"), full_page=True)
    first.get_by_role("link", name=hold["id"]).click()
    expect(first.get_by_role("heading", name="What approval releases")).to_be_visible()
    expect(first.get_by_text(ANSWER)).to_be_visible()
    first.screenshot(path=str(screenshots / "hold.png"), full_page=True)
    wait_out_deliberation(hold)
    approve(first, hold["id"], "Both targets are military objectives; checked the CDE.")
    expect(first.get_by_role("status")).to_contain_text("1 of 2")
    assert poller.is_alive()  # one approval released nothing

    second = sign_in(browser, served, "cmd2")
    approve(second, hold["id"], "Concur: priorities match the commander's intent.")
    expect(second.get_by_role("status")).to_contain_text("Approved")
    second.screenshot(path=str(screenshots / "hold-approved.png"), full_page=True)

    poller.join(60)
    response = result["response"]
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "approved"
    assert body["released"]["output"] == ANSWER
    assert body["released"]["response"]["choices"][0]["message"]["content"] == ANSWER


def test_one_commander_is_not_enough(browser: Browser, served: Served) -> None:
    hold = make_hold(served)
    hold["created_at_wall"] = time.time()
    page = sign_in(browser, served, "cmd1")
    wait_out_deliberation(hold)
    approve(page, hold["id"], "Checked the target list against the ROE card.")
    expect(page.get_by_role("status")).to_contain_text("1 of 2")
    expect(page.get_by_text("You have already voted on this hold.")).to_be_visible()
    with httpx2.Client(base_url=served.url) as client:
        body = client.get(hold["status_url"] + "&wait=1").json()
    assert body["state"] == "pending" and body["approvals"] == 1 and "released" not in body


def test_the_requester_cannot_approve(browser: Browser, served: Served, screenshots: Path) -> None:
    hold = make_hold(served)
    hold["created_at_wall"] = time.time()
    page = sign_in(browser, served, "alice")
    wait_out_deliberation(hold)
    page.goto(f"/ui/holds/{hold['id']}")
    expect(page.get_by_text("the requester can never approve its own hold")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    page.screenshot(path=str(screenshots / "hold-requester.png"), full_page=True)
    # Even a hand-made request with a valid session and CSRF token is refused.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    response = page.request.post(
        f"/v1/holds/{hold['id']}/approve",
        data={"reason": "I approve my own request."},
        headers={"x-csrf-token": csrf or ""},
    )
    assert response.status == 403 and response.json()["error"]["code"] == "self_approval"
    with httpx2.Client(base_url=served.url) as client:
        assert client.get(hold["status_url"]).json()["state"] == "pending"
