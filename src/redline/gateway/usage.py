"""The provider usage inventory, recorded off the request path.

Every forwarded request is counted as one use of (vendor, model) by (tenant,
app) through ``store.record_provider_use``. Writes happen in a background task
fed by a bounded queue, so a slow store never slows a request; when the queue is
full the record is dropped and counted (``redline_provider_usage_dropped_total``)
rather than blocking — the inventory is a report, not an enforcement input.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from ..errors import RedlineError
from ..store import Store

log = logging.getLogger("redline.gateway")

_Item = tuple[str, str, str, str, float]


class UsageRecorder:
    def __init__(
        self, store: Store | None, *, on_drop: Callable[[], None] | None = None, maxsize: int = 10_000
    ) -> None:
        self._store = store
        self._on_drop = on_drop
        self._maxsize = maxsize
        self._queue: asyncio.Queue[_Item] | None = None
        self._task: asyncio.Task[None] | None = None

    def record(self, tenant: str, app: str, vendor: str, model: str, at: float) -> None:
        if self._store is None:
            return
        if self._queue is None:
            self._queue = asyncio.Queue(self._maxsize)
            self._task = asyncio.get_running_loop().create_task(self._run(self._queue))
        try:
            self._queue.put_nowait((tenant, app, vendor, model, at))
        except asyncio.QueueFull:
            if self._on_drop is not None:
                self._on_drop()

    async def _run(self, queue: asyncio.Queue[_Item]) -> None:
        assert self._store is not None
        while True:
            item = await queue.get()
            try:
                await self._store.record_provider_use(*item)
            except RedlineError as exc:
                log.warning("provider usage not recorded: %s", exc.code)
            finally:
                queue.task_done()

    async def flush(self) -> None:
        """Wait until every queued record is written (tests, shutdown)."""
        if self._queue is not None:
            await self._queue.join()

    async def aclose(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.flush(), 5.0)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            self._queue = None
