"""GroupAppender behaviour (both backends) and a database that dies under a live store."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

import pytest

from redline.errors import LedgerUnavailableError, StoreError
from redline.store import LeafRecord, Store, open_store
from redline.store.appender import GroupAppender


def leaf(n: int) -> LeafRecord:
    return LeafRecord(f"e{n}".encode(), n.to_bytes(32, "big"), "decision", float(n))


async def test_back_pressure_rejects_at_once_when_queue_full(store: Store) -> None:
    appender = GroupAppender(store, max_queue=4, retry_after=7)
    # Creating the tasks and yielding once runs every append's synchronous part before
    # the committer task gets its first turn, so the 5th finds the queue full.
    tasks = [asyncio.create_task(appender.append(leaf(n))) for n in range(5)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[:4] == [0, 1, 2, 3]
    rejected = results[4]
    assert isinstance(rejected, LedgerUnavailableError)
    assert rejected.code == "ledger_unavailable" and rejected.retry_after == 7
    assert appender.stats.rejected == 1
    assert await store.log_size() == 4
    # once drained, appends are accepted again
    assert await appender.append(leaf(9)) == 4
    await appender.close()


async def test_close_flushes_queue_and_then_refuses(store: Store) -> None:
    appender = GroupAppender(store)
    tasks = [asyncio.create_task(appender.append(leaf(n))) for n in range(20)]
    await asyncio.sleep(0)
    await appender.close()
    assert sorted(await asyncio.gather(*tasks)) == list(range(20))
    with pytest.raises(LedgerUnavailableError):
        await appender.append(leaf(99))
    assert await store.log_size() == 20


async def test_cancelled_queued_caller_is_not_appended(store: Store) -> None:
    appender = GroupAppender(store)
    keep = asyncio.create_task(appender.append(leaf(0)))
    drop = asyncio.create_task(appender.append(leaf(1)))
    keep2 = asyncio.create_task(appender.append(leaf(2)))
    await asyncio.sleep(0)  # all three are queued; the committer has not run yet
    drop.cancel()
    assert await keep == 0
    assert await keep2 == 1
    await appender.close()
    assert [x.entry for x in await store.read_leaves(0, 10)] == [b"e0", b"e2"]


async def test_sequential_single_caller(store: Store) -> None:
    async with GroupAppender(store) as appender:
        assert [await appender.append(leaf(n)) for n in range(5)] == [0, 1, 2, 3, 4]
    assert appender.stats.batches == 5


async def test_invalid_parameters() -> None:
    store = await open_store("sqlite:///:memory:")
    try:
        with pytest.raises(ValueError):
            GroupAppender(store, max_batch=0)
        with pytest.raises(ValueError):
            GroupAppender(store, max_wait_ms=-1)
    finally:
        await store.close()


# --------------------------------------------------------------------------- a database dying


class TcpProxy:
    """A loopback TCP forwarder we can cut, to make a live PostgreSQL unreachable."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        self._writers |= {client_w, server_w}
        await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w))

    async def cut(self) -> None:
        """Stop listening and drop every open connection."""
        assert self._server is not None
        self._server.close()
        for w in self._writers:
            w.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()


@pytest.fixture
async def proxied_pg_url(backend: str, store_url: str) -> tuple[str, TcpProxy]:
    if backend != "postgresql":
        pytest.skip("needs a network database")
    parts = urlsplit(store_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), proxy


async def test_postgres_going_away_raises_store_error_and_recovers(
    proxied_pg_url: tuple[str, TcpProxy],
) -> None:
    url, proxy = proxied_pg_url
    store = await open_store(url)
    appender = GroupAppender(store, max_wait_ms=0)
    try:
        assert await appender.append(leaf(0)) == 0
        await proxy.cut()
        with pytest.raises(StoreError) as info:
            await store.log_size()
        assert info.value.code == "store_unavailable"
        results = await asyncio.gather(
            *(appender.append(leaf(n)) for n in range(1, 9)), return_exceptions=True
        )
        assert all(isinstance(r, LedgerUnavailableError) for r in results), results
        await proxy.start()  # same port: the database is back
        assert await appender.append(leaf(100)) == 1  # nothing failed was appended
        assert await store.log_size() == 2
    finally:
        await appender.close()
        await store.close()
        with contextlib.suppress(AssertionError):
            await proxy.cut()
