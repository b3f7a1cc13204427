"""Fixtures for the gateway tests: the real stack of ``gateway_stack``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from gateway_stack import RecordingEnforcer, RecordingHolds, Stack, config_for, free_port

from redline.gateway import build_app
from redline.gateway.keys import issue_key
from redline.gateway.standin import Script, StandIn
from redline.store import open_store

T = TypeVar("T")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(30)

    standin, slow = StandIn(), StandIn(Script(delay_s=3.0))
    run(standin.start())
    run(slow.start())
    db: Path = tmp_path_factory.mktemp("gw") / "redline.db"
    store = run(open_store(f"sqlite:///{db}"))
    enforcer, holds = RecordingEnforcer(), RecordingHolds()
    servers = []
    urls = []
    for require in (True, False):
        app = build_app(
            config_for(standin, slow, require_api_key=require), enforcer, store=store, holds=holds
        )
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", loop="none", lifespan="on")
        )
        loop.call_soon_threadsafe(lambda s=server: loop.create_task(s.serve()))
        servers.append(server)
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 10
    while not all(s.started for s in servers):
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    st = Stack(loop, urls[0], standin, slow, store, enforcer, holds, dev_url=urls[1])
    st.key, _ = run(
        issue_key(store, tenant="acme", app="tests", user="ana", attributes={"purpose": "logistics"})
    )
    yield st
    for s in servers:
        s.should_exit = True
    time.sleep(0.3)
    run(standin.stop())
    run(slow.stop())
    run(store.close())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture
def gw(stack: Stack) -> Stack:
    """The stack with a fresh script and empty request logs."""
    stack.standin.script = Script()
    stack.standin.requests.clear()
    stack.enforcer.seen.clear()
    stack.holds.held.clear()
    return stack
