"""Ledger benchmarks: durable appends/s, proof times, full verification of 1,000,000 entries.

    .venv/bin/python bench/ledger.py [--seconds 3] [--repeats 3] [--backends sqlite,postgresql]
        [--concurrency 1,64] [--entries 1000000] [--pg-url URL] [--dir DIR] [--json] [--skip-verify]

1. **Appends**: C tasks each call ``Ledger.record_decision`` (canonical entry, HMAC
   commitment, AES-GCM content, group commit through the store's GroupAppender) and
   wait for the durable index before the next. Fresh database per cell; cells are
   interleaved over ``--repeats`` rounds and the median (min–max) is reported.
2. **Proofs**: inclusion and consistency proof generation and verification on an
   in-memory tree of ``--entries`` leaves (median of 2,000), plus the time to load that
   tree from the store (what ``redline audit prove`` pays first).
3. **Full verification** (SQLite): ``--entries`` real decision entries and a signed
   checkpoint, then ``verify_store`` from a freshly opened store — read every row,
   recompute every leaf hash, decode every entry canonically, rebuild the tree, check
   the checkpoint signature and root.

SQLite files live in ``--dir`` (default: a temporary directory under the current
directory, on the repository's disk rather than a tmpfs). The machine, the
PostgreSQL durability settings and every figure are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

import store_append  # bench/ is sys.path[0] when this script runs
from redline.decision import Decision, PolicyRef, Verdict
from redline.facts import Facts, Principal
from redline.ledger.bundle import load_tree
from redline.ledger.entry import EntryCodec
from redline.ledger.keys import load_or_create
from redline.ledger.log import Ledger
from redline.ledger.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from redline.ledger.verify import verify_store
from redline.store import LeafRecord, open_store

DEFAULT_PG_URL = "postgresql://redline:redline@127.0.0.1:5432/redline_test"
DECISION = Decision(
    id="bench",
    verdict=Verdict.ALLOW,
    category="military_general",
    rules=("allow-general",),
    policy=PolicyRef(name="default", version="1", hash="sha256:" + "ab" * 32),
    classifier_version="bench",
)


def _facts(n: int) -> Facts:
    return Facts.from_text(
        f"summarise the maintenance backlog for depot {n} and list overdue inspections",
        principal=Principal(tenant="acme", app="logistics", user=f"user{n % 50}"),
        now=time.time(),
    )


async def append_cell(
    backend: str, concurrency: int, seconds: float, workdir: Path, pg_url: str
) -> dict[str, Any]:
    store, schema = await store_append.fresh_store(backend, workdir, pg_url)
    ledger = await Ledger.open(store, workdir / f"keys-{uuid.uuid4().hex[:6]}", encrypt=True)
    lat: list[float] = []
    pool = [_facts(i) for i in range(1000)]  # the caller already has its facts; don't time building them
    deadline = time.perf_counter() + seconds
    counter = 0

    async def worker() -> None:
        nonlocal counter
        while time.perf_counter() < deadline:
            counter += 1
            f = pool[counter % len(pool)]
            t = time.perf_counter()
            await ledger.record_decision(f, DECISION)
            lat.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    stats = ledger.appender.stats
    await ledger.close()
    await store.close()
    if schema:
        await store_append.drop_schema(pg_url, schema)
    lat.sort()
    return {
        "backend": backend,
        "concurrency": concurrency,
        "appends_per_s": len(lat) / elapsed,
        "mean_batch": stats.mean_batch,
        "p50_ms": lat[len(lat) // 2] * 1000,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000,
    }


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def proof_times(n: int) -> dict[str, Any]:
    import random

    rng = random.Random(7)
    t = time.perf_counter()
    tree = MerkleTree([leaf_hash(i.to_bytes(8, "big")) for i in range(n)])
    build = time.perf_counter() - t
    root = tree.root()
    gen_i, ver_i, gen_c, ver_c, sizes = [], [], [], [], []
    for _ in range(2000):
        i = rng.randrange(n)
        t = time.perf_counter()
        p = tree.inclusion_proof(i)
        gen_i.append(time.perf_counter() - t)
        t = time.perf_counter()
        ok = verify_inclusion(i, n, tree.leaf(i), p, root)
        ver_i.append(time.perf_counter() - t)
        assert ok
        sizes.append(len(p) * 32)
        m = rng.randrange(1, n)
        t = time.perf_counter()
        c = tree.consistency_proof(m)
        gen_c.append(time.perf_counter() - t)
        r1 = tree.root(m)
        t = time.perf_counter()
        ok = verify_consistency(m, n, r1, root, c)
        ver_c.append(time.perf_counter() - t)
        assert ok
    us = 1e6
    return {
        "leaves": n,
        "tree_build_s": build,
        "inclusion_gen_us": _median(gen_i) * us,
        "inclusion_verify_us": _median(ver_i) * us,
        "inclusion_proof_bytes_max": max(sizes),
        "consistency_gen_us": _median(gen_c) * us,
        "consistency_verify_us": _median(ver_c) * us,
    }


async def full_verify(n: int, workdir: Path) -> dict[str, Any]:
    path = workdir / f"verify-{uuid.uuid4().hex[:8]}.db"
    url = f"sqlite:///{path}"
    keys = load_or_create(
        workdir / f"vkeys-{uuid.uuid4().hex[:6]}", origin="bench.redline/log", encrypt=False
    )
    codec = EntryCodec(keys.commitment_secret)
    store = await open_store(url)
    t = time.perf_counter()
    batch: list[LeafRecord] = []
    for i in range(n):
        built = codec.decision(_facts(i), DECISION, at=1_700_000_000.0 + i)
        batch.append(LeafRecord(built.data, leaf_hash(built.data), "decision", 1_700_000_000.0 + i))
        if len(batch) == 20_000:
            await store.append_leaves(batch)
            batch = []
    if batch:
        await store.append_leaves(batch)
    fill = time.perf_counter() - t
    ledger = Ledger(store, keys)
    t = time.perf_counter()
    await ledger.checkpoint()
    checkpoint_s = time.perf_counter() - t
    await ledger.close()
    await store.close()
    store = await open_store(url)
    try:
        t = time.perf_counter()
        tree = await load_tree(store, n)
        load_tree_s = time.perf_counter() - t
        del tree
        t = time.perf_counter()
        report = await verify_store(store, keys.verifier())
        verify_s = time.perf_counter() - t
    finally:
        await store.close()
    return {
        "entries": n,
        "db_mb": round(path.stat().st_size / 2**20, 1),
        "entry_bytes_mean": None,
        "fill_s": fill,
        "first_checkpoint_s": checkpoint_s,
        "load_tree_for_proofs_s": load_tree_s,
        "full_verify_s": verify_s,
        "verified_size": report.size,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    sb = store_append
    out: dict[str, Any] = {"machine": sb.machine()}
    backends = [b for b in args.backends.split(",") if b]
    if "postgresql" in backends:
        try:
            out["postgresql"] = await sb.pg_settings(args.pg_url)
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"PostgreSQL unreachable ({exc}); skipping it")
            backends.remove("postgresql")
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-ledger-", dir="."))
    workdir.mkdir(parents=True, exist_ok=True)
    cells: dict[tuple[str, int], list[dict[str, Any]]] = {}
    concs = [int(c) for c in args.concurrency.split(",")]
    for _ in range(args.repeats):
        for b in backends:
            for c in concs:
                cells.setdefault((b, c), []).append(
                    await append_cell(b, c, args.seconds, workdir, args.pg_url)
                )
    rows = []
    for (b, c), runs in cells.items():
        rates = [r["appends_per_s"] for r in runs]
        rows.append(
            {
                "backend": b,
                "concurrency": c,
                "appends_per_s_median": _median(rates),
                "min": min(rates),
                "max": max(rates),
                "mean_batch": _median([r["mean_batch"] for r in runs]),
                "p50_ms": _median([r["p50_ms"] for r in runs]),
                "p99_ms": _median([r["p99_ms"] for r in runs]),
            }
        )
    out["appends"] = rows
    out["proofs"] = proof_times(args.entries)
    if not args.skip_verify:
        out["full_verification_sqlite"] = await full_verify(args.entries, workdir)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--concurrency", default="1,64")
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--pg-url", default=os.environ.get("REDLINE_TEST_POSTGRES_URL", DEFAULT_PG_URL))
    p.add_argument("--dir", default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--skip-verify", action="store_true")
    args = p.parse_args()
    out = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(out, indent=1))
        return
    m = out["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['os']}, Python {m['python']}")
    if "postgresql" in out:
        print("postgresql:", ", ".join(f"{k}={v}" for k, v in out["postgresql"].items()))
    print("\ndurable Ledger.record_decision appends (median of repeats, min-max):")
    for r in out["appends"]:
        print(
            f"  {r['backend']:<10} C={r['concurrency']:<3} {r['appends_per_s_median']:>8.0f}/s "
            f"({r['min']:.0f}-{r['max']:.0f})  batch {r['mean_batch']:.1f}  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms"
        )
    pr = out["proofs"]
    print(f"\nproofs on a {pr['leaves']:,}-leaf in-memory tree (built in {pr['tree_build_s']:.1f} s):")
    print(
        f"  inclusion:   generate {pr['inclusion_gen_us']:.1f} us, verify {pr['inclusion_verify_us']:.1f} us, "
        f"max {pr['inclusion_proof_bytes_max']} bytes"
    )
    print(
        f"  consistency: generate {pr['consistency_gen_us']:.1f} us, verify {pr['consistency_verify_us']:.1f} us"
    )
    fv = out.get("full_verification_sqlite")
    if fv:
        print(f"\nfull verification, SQLite, {fv['entries']:,} entries ({fv['db_mb']} MB):")
        print(
            f"  verify_store: {fv['full_verify_s']:.1f} s   (load tree for proofs: {fv['load_tree_for_proofs_s']:.1f} s, "
            f"first checkpoint: {fv['first_checkpoint_s']:.1f} s, fill: {fv['fill_s']:.0f} s)"
        )


if __name__ == "__main__":
    main()
