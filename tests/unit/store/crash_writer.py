"""Writer process for test_crash.py: sustained appends through GroupAppender.

    python crash_writer.py URL [CONCURRENCY]

Runs CONCURRENCY tasks appending forever; after each append is acknowledged (durable)
it prints ``index<TAB>entry-hex<TAB>leaf-hash-hex`` on its own line. The parent kills
it with SIGKILL mid-stream and checks that every printed line is in the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time

from redline.store import LeafRecord, open_store
from redline.store.appender import GroupAppender


async def main(url: str, concurrency: int) -> None:
    store = await open_store(url)
    appender = GroupAppender(store, max_batch=64, max_wait_ms=1)
    pid = os.getpid()
    out = sys.stdout

    async def worker(w: int) -> None:
        seq = 0
        while True:
            # varied sizes, arbitrary bytes: what a lost or torn write would corrupt
            entry = f"{pid}:{w}:{seq}:".encode() + os.urandom(16 + (seq * 37) % 300)
            digest = hashlib.sha256(b"\x00" + entry).digest()
            cipher = os.urandom(24) if seq % 3 == 0 else None
            index = await appender.append(LeafRecord(entry, digest, "crash-test", time.time(), cipher))
            out.write(f"{index}\t{entry.hex()}\t{digest.hex()}\n")
            out.flush()
            seq += 1

    await asyncio.gather(*(worker(w) for w in range(concurrency)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 16))
