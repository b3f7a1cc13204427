"""Crash test: SIGKILL a writer in the middle of sustained appends; nothing acknowledged is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from redline.ledger.keys import load_or_create
from redline.ledger.log import Ledger
from redline.ledger.verify import verify_store
from redline.store import open_store

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from redline.decision import Decision, PolicyRef, Verdict
    from redline.facts import Facts
    from redline.ledger.log import Ledger
    from redline.store import open_store

    D = Decision(verdict=Verdict.ALLOW, category="general", policy=PolicyRef(name="p", version="1", hash="h"))

    async def main():
        store = await open_store(sys.argv[1])
        ledger = await Ledger.open(store, Path(sys.argv[2]))
        n = 0
        async def worker(w):
            nonlocal n
            while True:
                n += 1
                i = await ledger.record_decision(Facts.from_text(f"w{w} n{n}", now=float(n)), D)
                # Printed only after the index is durable: this is the acknowledgement.
                sys.stdout.write(f"{i}\\n")
                sys.stdout.flush()
        await asyncio.gather(*(worker(w) for w in range(16)))

    asyncio.run(main())
    """
)


async def test_sigkill_loses_no_acknowledged_entry(store_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    load_or_create(data_dir)  # keys exist before the writer starts
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, store_url, str(data_dir)], stdout=subprocess.PIPE, env=env, text=True
    )
    acked: list[int] = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            acked.append(int(line))
            if len(acked) >= 400:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    for line in proc.stdout:  # acknowledgements still in the pipe count too
        if line.strip():
            acked.append(int(line))
    assert len(acked) >= 400 and len(set(acked)) == len(acked)

    store = await open_store(store_url)
    try:
        size = await store.log_size()
        assert max(acked) < size
        keys = load_or_create(data_dir, create=False)
        report = await verify_store(store, keys.verifier())
        assert report.size == size
        # The log is still usable: a new writer checkpoints it and it verifies.
        ledger = Ledger(store, keys)
        await ledger.checkpoint()
        await ledger.close()
        assert (await verify_store(store, keys.verifier())).latest_checkpoint == size
    finally:
        await store.close()
