"""Shared by the browser tests: the served app handle and the test password."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

PASSWORD = "correct horse battery staple"
ANSWER = "For commander review: T-3 (artillery) before T-1 (radar); collateral estimate low for both."
T = TypeVar("T")


@dataclass
class Served:
    """A running app: ``url``, its ``services`` and a way to run coroutines on its loop."""

    url: str
    app: Any
    loop: asyncio.AbstractEventLoop
    key: str = ""
    """alice's API key (tenant default, app planner, user alice): the requester in these tests."""

    @property
    def oversight(self) -> Any:
        return self.app.state.services.oversight

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)
