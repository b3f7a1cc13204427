"""The real redline app served by uvicorn on a loopback port, driven by Debian's chromium.

Marker ``browser`` (deselected by default; CI runs ``pytest -m browser``). Chromium
comes from apt (``/usr/bin/chromium``); Playwright never downloads a browser here.
Screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from browser_kit import PASSWORD, Served
from click.testing import CliRunner
from playwright.sync_api import Browser, Playwright, sync_playwright

from redline.api import create_app
from redline.oversight.commands import users as users_cli
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

    adder = threading.Thread(target=add_users)
    adder.start()
    adder.join()
    for result in outcomes:
        assert result.exit_code == 0, (result.output, result.exception)
    settings = Settings(
        data_dir=data, database_url=url, classifier="keywords", local_model=False, require_api_key=False
    )
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the redline app did not start")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", app, loop)
    finally:
        server.should_exit = True
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
