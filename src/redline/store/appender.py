"""Group commit for ledger appends: many concurrent callers, few durable transactions.

``GroupAppender(store).append(record)`` queues ``record`` and returns its ledger index
once the transaction that carries it has committed. One background task commits: it
takes everything queued (up to ``max_batch``) and appends it with ONE
``Store.append_leaves`` call; records that arrive while that transaction is in flight
go into the next one. So N concurrent callers cost about one commit per round, not N.

What callers may rely on:

* **Durable before acknowledged.** ``append`` returns an index only after the batch
  holding it committed. If the commit fails, every caller in that batch gets
  :class:`~redline.errors.LedgerUnavailableError` (``ledger_unavailable``, with
  ``retry_after``) — never an index for something not committed. (The converse can
  happen: a commit whose acknowledgement was lost on the wire may be stored though
  reported failed; that is safe for an audit log and unavoidable in general.)
* **Order.** Within a batch, indices follow the order ``append`` was called.
* **Back-pressure.** The queue is bounded (``max_queue`` records waiting for a
  transaction); when full, ``append`` raises LedgerUnavailableError at once — the
  upstream turns that into HTTP 503 + Retry-After, like tessera's ``ErrPushback``.
* **Cancellation.** A caller cancelled while its record is still queued has it
  dropped; once its batch is in flight the record is committed anyway.
* **Linger.** ``max_wait_ms`` bounds how long the committer waits for a batch to fill
  before committing it. It lingers only when the previous batch carried more than one
  record (evidence of concurrency), and only until as many records are queued as the
  previous batch held — so a lone caller never pays the wait, and C steady callers
  wait just until all C have re-queued.

Create and use it inside one event loop; the background task starts on first use
and ``await appender.close()`` flushes what is queued and stops it.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from types import TracebackType

from redline.errors import LedgerUnavailableError
from redline.store.base import LeafRecord, Store, check_leaf


@dataclass(slots=True)
class AppenderStats:
    """Counters for benchmarks and metrics (monotonic since construction)."""

    batches: int = 0
    records: int = 0
    failed_batches: int = 0
    rejected: int = 0  # refused by back-pressure

    @property
    def mean_batch(self) -> float:
        return self.records / self.batches if self.batches else 0.0


class GroupAppender:
    """Group-committing front of :meth:`Store.append_leaves` (see module docstring)."""

    def __init__(
        self,
        store: Store,
        max_batch: int = 512,
        max_wait_ms: float = 2.0,
        *,
        max_queue: int = 8192,
        retry_after: int = 1,
    ) -> None:
        if max_batch < 1 or max_queue < 1 or max_wait_ms < 0:
            raise ValueError("max_batch and max_queue must be >= 1 and max_wait_ms >= 0")
        self.store = store
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.retry_after = retry_after
        self.stats = AppenderStats()
        self._queue: collections.deque[tuple[LeafRecord, asyncio.Future[int]]] = collections.deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._last_batch = 0

    @property
    def queued(self) -> int:
        """Records waiting for a transaction (not counting one in flight)."""
        return len(self._queue)

    def _unavailable(self, message: str) -> LedgerUnavailableError:
        err = LedgerUnavailableError(message)
        err.retry_after = self.retry_after
        return err

    async def append(self, record: LeafRecord) -> int:
        """Append ``record`` durably and return its index; LedgerUnavailableError if the
        store fails, the queue is full, or the appender is closed. A malformed record
        raises ValueError for this caller alone (it never joins a batch)."""
        check_leaf(record)
        if self._closing:
            raise self._unavailable("the ledger appender is shut down")
        if len(self._queue) >= self.max_queue:
            self.stats.rejected += 1
            raise self._unavailable(
                f"the ledger is saturated ({self.max_queue} entries waiting); retry after {self.retry_after}s"
            )
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(), name="redline-group-appender")
        future: asyncio.Future[int] = loop.create_future()
        self._queue.append((record, future))
        assert self._wake is not None
        self._wake.set()
        return await future

    async def close(self) -> None:
        """Stop accepting appends, commit what is queued, stop the committer. Idempotent."""
        self._closing = True
        if self._task is None:
            return
        assert self._wake is not None
        self._wake.set()
        await self._task

    async def __aenter__(self) -> GroupAppender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ---- the committer ---------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        try:
            await self._loop(self._wake)
        finally:
            # Reached on close, or if the task is cancelled (loop shutting down): nobody
            # may be left waiting for an index that will never come.
            self._closing = True
            self._fail([entry for entry in self._queue], None)
            self._queue.clear()

    async def _loop(self, wake: asyncio.Event) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                wake.clear()
                await wake.wait()
                continue
            # Linger only where concurrency was seen, and only until as many records as
            # the last batch carried are queued: with C callers, that is all of them.
            target = min(self.max_batch, self._last_batch)
            if target > 1 and self.max_wait > 0 and len(self._queue) < target:
                await self._linger(wake, target)
            batch = self._take()
            if batch:
                await self._commit(batch)

    async def _linger(self, wake: asyncio.Event, target: int) -> None:
        """Wait up to ``max_wait`` for the queue to reach ``target`` records."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while len(self._queue) < target and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), remaining)
            except TimeoutError:
                return

    def _take(self) -> list[tuple[LeafRecord, asyncio.Future[int]]]:
        batch: list[tuple[LeafRecord, asyncio.Future[int]]] = []
        while self._queue and len(batch) < self.max_batch:
            record, future = self._queue.popleft()
            if not future.cancelled():  # a caller that gave up before its turn is dropped
                batch.append((record, future))
        return batch

    async def _commit(self, batch: list[tuple[LeafRecord, asyncio.Future[int]]]) -> None:
        self._last_batch = len(batch)
        try:
            first = await self.store.append_leaves([record for record, _ in batch])
        except asyncio.CancelledError:
            self._fail(batch, None)
            raise
        except Exception as exc:  # noqa: BLE001 - any failure must reach every waiter as ledger_unavailable
            self.stats.failed_batches += 1
            self._fail(batch, exc)
            return
        self.stats.batches += 1
        self.stats.records += len(batch)
        for offset, (_, future) in enumerate(batch):
            if not future.done():
                future.set_result(first + offset)

    def _fail(
        self, entries: list[tuple[LeafRecord, asyncio.Future[int]]], cause: BaseException | None
    ) -> None:
        why = "the appender stopped" if cause is None else getattr(cause, "code", type(cause).__name__)
        for _, future in entries:
            if not future.done():
                error = self._unavailable(
                    f"the ledger could not be written ({why}); retry after {self.retry_after}s"
                )
                error.__cause__ = cause
                future.set_exception(error)
