"""Durable ledger appends per second through GroupAppender, per backend and concurrency.

    .venv/bin/python bench/store_append.py [--seconds 3] [--repeats 3]
        [--backends sqlite,postgresql] [--concurrency 1,64] [--pg-url URL] [--dir DIR] [--json]

Closed loop: C tasks each append a ~400-byte entry through one GroupAppender and wait
for its durable acknowledgement before appending the next. Each cell runs for
``--seconds`` on a fresh database; cells are interleaved across ``--repeats`` rounds
(so drift on a shared machine hits every cell alike) and the median is reported with
the spread, plus the mean group-commit batch size and p50/p99 acknowledgement latency.
A baseline row per backend appends one record per transaction with no GroupAppender.

SQLite runs on a file in ``--dir`` (default: a temporary directory under the current
directory, i.e. on the same disk as the repository, not /tmp which may be tmpfs) with
WAL and synchronous=FULL; PostgreSQL uses a throwaway schema in ``--pg-url``
(default ``$REDLINE_TEST_POSTGRES_URL`` or the test database) with the server's
own durability settings, which are printed.

``bench/ledger.py`` may import :func:`run` and :func:`machine` and fold the rows in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg

from redline.store import LeafRecord, Store, open_store
from redline.store.appender import GroupAppender

DEFAULT_PG_URL = "postgresql://redline:redline@127.0.0.1:5432/redline_test"


@dataclass
class Cell:
    backend: str
    mode: str  # "group" (GroupAppender) or "direct" (one append_leaves per record)
    concurrency: int
    appends_per_s: float
    mean_batch: float
    p50_ms: float
    p99_ms: float


def machine() -> dict[str, Any]:
    """CPU model, core count, OS and Python: printed with every figure."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def _record(n: int) -> LeafRecord:
    entry = (b'{"kind":"decision","n":%d,"pad":"' % n) + b"x" * 360 + b'"}'
    return LeafRecord(entry, n.to_bytes(32, "big"), "decision", time.time())


async def _closed_loop(store: Store, mode: str, concurrency: int, seconds: float) -> Cell:
    appender = GroupAppender(store)
    latencies: list[float] = []
    counter = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal counter
        while time.perf_counter() < deadline:
            counter += 1
            record = _record(counter)
            start = time.perf_counter()
            if mode == "group":
                await appender.append(record)
            else:
                await store.append_leaves([record])
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    await appender.close()
    latencies.sort()
    done = len(latencies)
    return Cell(
        backend=store.backend,
        mode=mode,
        concurrency=concurrency,
        appends_per_s=done / elapsed,
        mean_batch=appender.stats.mean_batch if mode == "group" else 1.0,
        p50_ms=latencies[done // 2] * 1000 if done else float("nan"),
        p99_ms=latencies[min(done - 1, int(done * 0.99))] * 1000 if done else float("nan"),
    )


async def fresh_store(backend: str, workdir: Path, pg_url: str) -> tuple[Store, str | None]:
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        return await open_store(f"sqlite:///{path}"), None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in pg_url else "?"
    return await open_store(f"{pg_url}{sep}schema={schema}"), schema


async def drop_schema(pg_url: str, schema: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def pg_settings(pg_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(pg_url)
    try:
        names = ("server_version", "synchronous_commit", "fsync", "wal_sync_method", "commit_delay")
        return {n: str(await conn.fetchval(f"SHOW {n}")) for n in names}
    finally:
        await conn.close()


async def run(
    backends: list[str],
    concurrencies: list[int],
    seconds: float = 3.0,
    repeats: int = 3,
    pg_url: str = DEFAULT_PG_URL,
    workdir: Path | None = None,
    baseline: bool = True,
) -> list[dict[str, Any]]:
    """Run every cell ``repeats`` times, interleaved; return one summary row per cell
    (median appends/s with min and max, median batch size and latencies)."""
    own_dir = workdir is None
    base = Path(tempfile.mkdtemp(prefix="redline-bench-", dir=".")) if workdir is None else workdir
    plan = [(b, "group", c) for b in backends for c in concurrencies]
    if baseline:
        plan += [(b, "direct", max(concurrencies)) for b in backends]
    samples: dict[tuple[str, str, int], list[Cell]] = {key: [] for key in plan}
    try:
        for _ in range(repeats):
            for backend, mode, concurrency in plan:
                store, schema = await fresh_store(backend, base, pg_url)
                try:
                    samples[(backend, mode, concurrency)].append(
                        await _closed_loop(store, mode, concurrency, seconds)
                    )
                finally:
                    await store.close()
                    if schema is not None:
                        await drop_schema(pg_url, schema)
    finally:
        if own_dir:
            for p in base.glob("*"):
                p.unlink()
            base.rmdir()
    rows = []
    for (backend, mode, concurrency), cells in samples.items():
        rates = [c.appends_per_s for c in cells]
        rows.append(
            {
                "backend": backend,
                "mode": mode,
                "concurrency": concurrency,
                "appends_per_s": statistics.median(rates),
                "min": min(rates),
                "max": max(rates),
                "mean_batch": statistics.median(c.mean_batch for c in cells),
                "p50_ms": statistics.median(c.p50_ms for c in cells),
                "p99_ms": statistics.median(c.p99_ms for c in cells),
                "runs": [asdict(c) for c in cells],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--concurrency", default="1,64")
    parser.add_argument("--pg-url", default=os.environ.get("REDLINE_TEST_POSTGRES_URL", DEFAULT_PG_URL))
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    concurrencies = [int(c) for c in args.concurrency.split(",")]

    async def go() -> dict[str, Any]:
        info: dict[str, Any] = {"machine": machine(), "seconds": args.seconds, "repeats": args.repeats}
        if "postgresql" in backends:
            info["postgresql"] = await pg_settings(args.pg_url)
        info["sqlite"] = {"journal_mode": "wal", "synchronous": "FULL"}
        info["rows"] = await run(
            backends, concurrencies, args.seconds, args.repeats, args.pg_url, args.dir, not args.no_baseline
        )
        return info

    result = asyncio.run(go())
    if args.json:
        print(json.dumps(result, indent=2))
        return
    m = result["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['os']}, Python {m['python']}")
    if "postgresql" in result:
        print("postgresql: " + ", ".join(f"{k}={v}" for k, v in result["postgresql"].items()))
    print("sqlite: journal_mode=WAL, synchronous=FULL")
    print(f"{args.repeats} interleaved runs of {args.seconds:g}s per cell; median [min–max]\n")
    print(
        f"{'backend':<11} {'mode':<7} {'C':>3} {'appends/s':>10} {'[min–max]':>17} {'batch':>6} {'p50 ms':>7} {'p99 ms':>7}"
    )
    for r in result["rows"]:
        spread = f"[{r['min']:.0f}–{r['max']:.0f}]"
        print(
            f"{r['backend']:<11} {r['mode']:<7} {r['concurrency']:>3} {r['appends_per_s']:>10.0f} "
            f"{spread:>17} {r['mean_batch']:>6.1f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f}"
        )


if __name__ == "__main__":
    main()
