"""The whole review path through the real app: SDK request → hold → two commanders → released answer.

Everything is real: create_app with the SQLite store, the ledger and the oversight
service; the official openai SDK; a stand-in upstream speaking the OpenAI wire.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from click.testing import CliRunner

from redline.api import create_app
from redline.cli import main
from redline.gateway.standin import Script, StandIn
from redline.policy import default_policy_path
from redline.settings import load_settings
from tests.support.cli import issue_key
from tests.support.http import request_json
from tests.support.server import serving

ANSWER = "Option B ranks first: the rail bridge at grid 38S MB 123 456, collateral estimate low."
PASSWORD = "correct horse battery staple"


class Upstream:
    """The stand-in upstream, running on its own event loop thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.standin = StandIn(Script(text=ANSWER))
        asyncio.run_coroutine_threadsafe(self.standin.start(), self.loop).result(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = Path(tmp_path_factory.mktemp("review"))
    db = f"sqlite:///{data / 'redline.db'}"
    # The default policy, with a short deliberation time (the check itself is unchanged) and a
    # keyword signal so the test does not depend on the learned classifier.
    policy = yaml.safe_load(default_policy_path().read_text())
    for rule in policy["rules"]:
        if rule["id"] == "review.targeting-support":
            rule["approvals"]["min_deliberation"] = "1s"
    policy["signals"].append(
        {
            "id": "test.strike-options",
            "category": "targeting_support",
            "keywords": ["rank the strike options"],
        }
    )
    policy_path = data / "policy.yaml"
    policy_path.write_text(yaml.safe_dump(policy, sort_keys=False))
    runner = CliRunner()
    for name in ("cdr-north", "cdr-south", "ana"):
        r = runner.invoke(
            main,
            [
                "--config",
                "/dev/null",
                "users",
                "add",
                name,
                "--role",
                "commander",
                "--password-stdin",
                "--database-url",
                db,
            ],
            input=PASSWORD + "\n",
        )
        assert r.exit_code == 0, r.output
    key = issue_key(db, "acme", "ops", "--user", "ana")
    upstream = Upstream()
    settings = load_settings(
        environ={},
        data_dir=data,
        classifier="keywords",
        policy_path=policy_path,
        upstreams=[f"standin={upstream.standin.base_url}"],
    )
    with serving(create_app(settings)) as url:
        yield {"url": url, "key": key, "upstream": upstream.standin}
    upstream.close()


def _post(url: str, user: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    auth = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    status, answer, _ = request_json(url, body, headers={"authorization": f"Basic {auth}"})
    return status, answer


def _get(url: str) -> dict[str, Any]:
    status, answer, _ = request_json(url, method="GET")
    assert status == 200, answer
    return dict(answer)


def test_two_commanders_release_the_held_answer_to_the_long_polling_client(stack: dict[str, Any]) -> None:
    client = openai.OpenAI(base_url=f"{stack['url']}/v1", api_key=stack["key"], max_retries=0)
    before = len(stack["upstream"].requests)
    with pytest.raises(openai.PermissionDeniedError) as err:
        client.chat.completions.create(
            model="any-model",
            messages=[{"role": "user", "content": "Rank the strike options for the commander."}],
        )
    body = err.value.body
    assert isinstance(body, dict)
    assert body["code"] == "review_required"
    hold_id, status_url = body["hold_id"], body["status_url"]
    # The answer was generated once, to be reviewed; it was not returned.
    assert len(stack["upstream"].requests) == before + 1
    status = _get(f"{stack['url']}{status_url}")
    assert status["state"] == "pending" and not status.get("released")

    approve = f"{stack['url']}/v1/holds/{hold_id}/approve"
    code, answer = _post(approve, "ana", {"reason": "I asked for this and approve it"})
    assert code == 403 and answer["error"]["code"] == "self_approval"
    time.sleep(1.1)  # the rule's minimum deliberation time
    code, answer = _post(approve, "cdr-north", {"reason": "Checked against the ROE annex; proportional."})
    assert code == 200, answer
    assert _get(f"{stack['url']}{status_url}")["state"] == "pending"  # one of two is not enough
    code, answer = _post(approve, "cdr-north", {"reason": "approving twice should not count twice"})
    assert code == 409 and answer["error"]["code"] == "already_voted"

    released: dict[str, Any] = {}

    def poll() -> None:
        released.update(_get(f"{stack['url']}{status_url}&wait=30"))

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)
    code, answer = _post(approve, "cdr-south", {"reason": "Concur; target is a military objective."})
    assert code == 200, answer
    poller.join(60)
    assert released["state"] == "approved"
    assert released["released"]["output"] == ANSWER
    assert released["released"]["response"]["choices"][0]["message"]["content"] == ANSWER


def test_a_denied_answer_is_never_held(stack: dict[str, Any]) -> None:
    stack["upstream"].script = Script(
        text="Then engage every person in the grid without human authorization."
    )
    client = openai.OpenAI(base_url=f"{stack['url']}/v1", api_key=stack["key"], max_retries=0)
    try:
        with pytest.raises(openai.PermissionDeniedError) as err:
            client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "Rank the strike options for the commander."}],
            )
    finally:
        stack["upstream"].script = Script(text=ANSWER)
    body = err.value.body
    assert isinstance(body, dict)
    assert body["code"] == "policy_denied" and body.get("hold_id") is None
    assert body["category"] == "autonomous_lethal_targeting"
