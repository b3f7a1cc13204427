"""Crash test: SIGKILL a writer mid-stream; no acknowledged append may be lost.

A subprocess (``crash_writer.py``) appends through GroupAppender with 16 concurrent
tasks and prints each acknowledged ``index, entry, leaf_hash``. We kill it with
SIGKILL after a number of acknowledgements — while further transactions are in
flight — then reopen the store and check that every acknowledged index holds exactly
the acknowledged bytes and that the log is dense (0..size-1, no gaps, no extra rows).
Two rounds per backend: the second writer continues the log the first one left.

(The ledger's own crash test adds Merkle-tree verification on top of this.)
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from redline.store import Store, open_store

WRITER = Path(__file__).with_name("crash_writer.py")
ACKS_BEFORE_KILL = 1500
# A generous bound on how long the writer may take to produce its acknowledgements;
# exceeded only if it hangs or dies, and then the test fails with its stderr.
STALL_LIMIT_S = 120.0

Ack = tuple[int, bytes, bytes]


async def run_writer_and_kill(url: str, acks_wanted: int) -> list[Ack]:
    """Start the writer, SIGKILL it after ``acks_wanted`` acknowledgements, and return
    every acknowledgement it printed (including those printed before it died)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-u",
        str(WRITER),
        url,
        "16",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[bytes] = []
    try:
        while len(lines) < acks_wanted:
            line = await asyncio.wait_for(proc.stdout.readline(), STALL_LIMIT_S)
            if not line:
                err = await proc.stderr.read()
                pytest.fail(f"writer exited early ({len(lines)} acks): {err.decode(errors='replace')}")
            lines.append(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        rest = await proc.stdout.read()
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # The pipe may hold more complete lines written before the kill; a torn last line
    # (no newline) was never fully reported, so it is not an acknowledgement we rely on.
    tail = rest.split(b"\n")
    lines.extend(x + b"\n" for x in tail[:-1])
    acks: list[Ack] = []
    for raw in lines:
        index, entry, digest = raw.decode().rstrip("\n").split("\t")
        acks.append((int(index), bytes.fromhex(entry), bytes.fromhex(digest)))
    return acks


async def check_log(store: Store, acks: list[Ack]) -> int:
    """Assert every ack is stored exactly and the log is dense; return the size."""
    size = await store.log_size()
    assert size >= max(a[0] for a in acks) + 1
    leaves = [leaf async for leaf in store.iter_leaves(0, size + 10)]
    assert [leaf.index for leaf in leaves] == list(range(size)), "log is not dense"
    indices = [a[0] for a in acks]
    assert len(set(indices)) == len(indices), "an index was acknowledged twice"
    for index, entry, digest in acks:
        assert leaves[index].entry == entry, f"entry {index} differs from what was acknowledged"
        assert leaves[index].leaf_hash == digest
        assert leaves[index].kind == "crash-test"
    return size


@pytest.mark.slow
async def test_sigkill_loses_no_acknowledged_append(store_url: str) -> None:
    all_acks: list[Ack] = []
    previous_size = 0
    for _ in range(2):
        acks = await run_writer_and_kill(store_url, ACKS_BEFORE_KILL)
        assert len(acks) >= ACKS_BEFORE_KILL
        # the second writer continues after whatever the first one committed
        assert min(a[0] for a in acks) >= previous_size
        all_acks.extend(acks)
        store = await open_store(store_url)
        try:
            previous_size = await check_log(store, all_acks)
        finally:
            await store.close()


@pytest.mark.slow
async def test_two_writer_processes_share_one_dense_log(store_url: str) -> None:
    """Two processes (two replicas, for PostgreSQL) append to one database at once,
    then both are killed: indices stay dense and unique and every ack is stored."""
    # Migrate first so the writers do not race to create the schema (that race is
    # covered separately by test_concurrent_opens_migrate_once).
    await (await open_store(store_url)).close()
    results = await asyncio.gather(
        run_writer_and_kill(store_url, ACKS_BEFORE_KILL // 2),
        run_writer_and_kill(store_url, ACKS_BEFORE_KILL // 2),
    )
    acks = [a for r in results for a in r]
    store = await open_store(store_url)
    try:
        await check_log(store, acks)
    finally:
        await store.close()
