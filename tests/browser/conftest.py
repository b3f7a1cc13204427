"""The real redline app served by uvicorn on a loopback port, driven by Debian's chromium.

Marker ``browser`` (deselected by default; CI runs ``pytest -m browser``). Chromium
comes from apt (``/usr/bin/chromium``); Playwright never downloads a browser here.
Screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from browser_kit import ANSWER, PASSWORD, Served
from click.testing import CliRunner
from playwright.sync_api import Browser, Playwright, sync_playwright

from redline.api import create_app
from redline.cli import main
from redline.gateway.standin import Script, StandIn
from redline.oversight.commands import users as users_cli
from redline.policy import default_policy_path
from redline.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("redline-data")
    url = f"sqlite:///{data / 'redline.db'}"
    runner = CliRunner()
    outcomes: list[Any] = []

    def add_users() -> None:
        # In a thread: the click command runs its own event loop with asyncio.run.
        for name, role in (("cmd1", "commander"), ("cmd2", "commander"), ("alice", "commander")):
            outcomes.append(
                runner.invoke(
                    users_cli,
                    ["add", name, "--role", role, "--password-stdin", "--database-url", url],
                    input=PASSWORD + "\n",
                )
            )

        outcomes.append(
            runner.invoke(
                main,
                [
                    "keys",
                    "issue",
                    "--tenant",
                    "default",
                    "--app",
                    "planner",
                    "--user",
                    "alice",
                    "--json",
                    "--database-url",
                    url,
                ],
            )
        )

    adder = threading.Thread(target=add_users)
    adder.start()
    adder.join()
    for result in outcomes:
        assert result.exit_code == 0, (result.output, result.exception)
    key = json.loads(outcomes[-1].stdout)["key"]
    # The default policy with a 1 s minimum deliberation for targeting support (waited out by
    # the tests, never skipped) and a keyword signal, so the hold does not depend on the model.
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    for rule in policy["rules"]:
        if rule["id"] == "review.targeting-support":
            rule["approvals"]["min_deliberation"] = "1s"
    policy["signals"].append(
        {"id": "test.prioritise", "category": "targeting_support", "keywords": ["prioritise targets"]}
    )
    policy_path = Path(data) / "policy.yaml"
    policy_path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    loop = asyncio.new_event_loop()
    upstream = StandIn(Script(text=ANSWER))
    settings = Settings(
        data_dir=data,
        database_url=url,
        classifier="keywords",
        local_model=False,
        policy_path=policy_path,
    )
    port = _free_port()
    server_box: dict[str, Any] = {}

    async def start_all() -> None:
        await upstream.start()
        app = create_app(settings.model_copy(update={"upstreams": [f"standin={upstream.base_url}"]}))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        server_box.update(app=app, server=server)
        await server.serve()

    thread = threading.Thread(target=loop.run_until_complete, args=(start_all(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while "server" not in server_box or not server_box["server"].started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the redline app did not start")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", server_box["app"], loop, key)
    finally:
        server_box["server"].should_exit = True
        thread.join(30)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
