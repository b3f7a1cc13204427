"""Portable audit bundles: entries + checkpoints + co-signatures + proofs, verified offline.

A bundle is one JSON document (``format: redline-audit-bundle/v1``)::

    origin, log_vkey           the log's name and public key (a hint: verifiers use their own trusted copy)
    checkpoint                 the signed note the bundle is anchored to (the latest checkpoint)
    checkpoints[]              every stored checkpoint up to it: {size, note}
    cosignatures[]             {size, witness, note} as stored
    consistency[]              {from, to, proof[]} between consecutive checkpoints
    start, end, full           the entry range exported; ``full`` when it is [0, checkpoint size)
    entries[]                  {index, entry (the exact canonical JSON text), inclusion[] (omitted when full)}

``verify_bundle`` needs only public keys: it checks the anchor checkpoint's log
signature and witness quorum, every checkpoint signature and consistency proof,
each entry's canonical encoding, and either recomputes the whole tree (full
bundles) or checks each entry's inclusion proof against the anchor.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redline.errors import LedgerVerifyError, UsageError
from redline.ledger.checkpoint import Checkpoint, open_checkpoint
from redline.ledger.entry import decode_entry
from redline.ledger.merkle import CompactRange, MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from redline.ledger.note import NoteError, Verifier, parse_note
from redline.store.base import Store

BUNDLE_FORMAT = "redline-audit-bundle/v1"


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


async def load_tree(store: Store, size: int) -> MerkleTree:
    """The tree of the first ``size`` leaves, hashes recomputed from the stored entries."""
    tree = MerkleTree()
    async for leaf in store.iter_leaves(0, size):
        if leaf.index != tree.size:
            raise LedgerVerifyError(f"entry {tree.size} is missing", index=tree.size, reason="missing_entry")
        tree.append(leaf_hash(leaf.entry))
    if tree.size != size:
        raise LedgerVerifyError(f"entry {tree.size} is missing", index=tree.size, reason="missing_entry")
    return tree


async def export_bundle(
    store: Store, log_vkey: str, *, start: int = 0, end: int | None = None, tree: MerkleTree | None = None
) -> dict[str, Any]:
    """Build a bundle of entries ``[start, end)`` anchored to the latest checkpoint."""
    latest = await store.latest_checkpoint()
    if latest is None:
        raise UsageError("the log has no checkpoint yet: run `redline audit checkpoint` first")
    size = latest.size
    end = size if end is None else min(end, size)
    if not 0 <= start <= end:
        raise UsageError(f"bad entry range [{start}, {end}) for a checkpoint of size {size}")
    if tree is None:
        tree = await load_tree(store, size)
    cps = [cp for cp in await store.checkpoints() if cp.size <= size]
    cosigs: list[dict[str, Any]] = []
    for cp in cps:
        cosigs += [
            {"size": c.size, "witness": c.witness, "note": c.note.decode()}
            for c in await store.cosignatures(cp.size)
        ]
    consistency = [
        {"from": a.size, "to": b.size, "proof": [_b64(h) for h in tree.consistency_proof(a.size, b.size)]}
        for a, b in itertools.pairwise(cps)
    ]
    full = start == 0 and end == size
    entries: list[dict[str, Any]] = []
    async for leaf in store.iter_leaves(start, end):
        item: dict[str, Any] = {"index": leaf.index, "entry": leaf.entry.decode("utf-8")}
        if not full:
            item["inclusion"] = [_b64(h) for h in tree.inclusion_proof(leaf.index, size)]
        entries.append(item)
    return {
        "format": BUNDLE_FORMAT,
        "origin": Checkpoint.parse(parse_note(latest.note).text).origin,
        "log_vkey": log_vkey,
        "checkpoint": latest.note.decode(),
        "checkpoints": [{"size": cp.size, "note": cp.note.decode()} for cp in cps],
        "cosignatures": cosigs,
        "consistency": consistency,
        "start": start,
        "end": end,
        "full": full,
        "entries": entries,
    }


@dataclass(frozen=True)
class BundleResult:
    """A verified bundle: the anchor checkpoint, its witnesses, and the proven entries."""

    checkpoint: Checkpoint
    witnesses: tuple[str, ...]
    full: bool
    entries: tuple[tuple[int, dict[str, Any]], ...]


def _bad(message: str, index: int | None, reason: str) -> LedgerVerifyError:
    return LedgerVerifyError(message, index=index, reason=reason)


def verify_bundle(
    bundle: dict[str, Any], log: Verifier, witnesses: Sequence[Verifier] = (), quorum: int = 0
) -> BundleResult:
    """Verify a bundle offline with public keys only; raise LedgerVerifyError on the first problem."""
    if bundle.get("format") != BUNDLE_FORMAT:
        raise _bad("not a redline audit bundle", None, "bundle_format")
    try:
        anchor_note = bundle["checkpoint"].encode()
        anchor = open_checkpoint(anchor_note, log).checkpoint
        cos = [c["note"].encode() for c in bundle.get("cosignatures", []) if c["size"] == anchor.size]
        witnessed = open_checkpoint(anchor_note, log, witnesses, quorum, cos).witnesses
    except NoteError as exc:
        raise _bad(
            f"anchor checkpoint: {exc.message}", None, exc.details.get("reason", "checkpoint_invalid")
        ) from exc
    # Every checkpoint verifies and each is consistent with the next; the last is the anchor.
    cps: list[Checkpoint] = []
    for item in bundle.get("checkpoints", []):
        try:
            cps.append(open_checkpoint(item["note"].encode(), log).checkpoint)
        except NoteError as exc:
            raise _bad(
                f"checkpoint {item.get('size')}: {exc.message}",
                item.get("size"),
                "checkpoint_signature_invalid",
            ) from exc
    if not cps or cps[-1] != anchor:
        raise _bad("the checkpoint list does not end at the anchor", anchor.size, "bundle_checkpoints")
    proofs = {
        (p["from"], p["to"]): [base64.b64decode(h) for h in p["proof"]] for p in bundle.get("consistency", [])
    }
    for a, b in itertools.pairwise(cps):
        if not verify_consistency(a.size, b.size, a.root, b.root, proofs.get((a.size, b.size), [])):
            raise _bad(f"checkpoints {a.size} and {b.size} are not consistent (fork)", a.size, "fork")
    full = bool(bundle.get("full"))
    out: list[tuple[int, dict[str, Any]]] = []
    cr = CompactRange()
    for item in bundle.get("entries", []):
        index = int(item["index"])
        data = item["entry"].encode("utf-8")
        try:
            entry = decode_entry(data)
        except LedgerVerifyError as exc:
            raise _bad(f"entry {index}: {exc.message}", index, exc.details["reason"]) from exc
        h = leaf_hash(data)
        if full:
            if index != cr.size:
                raise _bad(f"entry {cr.size} is missing from a full bundle", cr.size, "missing_entry")
            cr.append(h)
        else:
            proof = [base64.b64decode(p) for p in item.get("inclusion", [])]
            if not verify_inclusion(index, anchor.size, h, proof, anchor.root):
                raise _bad(f"entry {index} is not proven to be in the log", index, "inclusion_invalid")
        out.append((index, entry))
    if full and (cr.size != anchor.size or cr.root() != anchor.root):
        raise _bad(
            "the bundle's entries do not produce the checkpoint's root",
            min(cr.size, anchor.size),
            "checkpoint_root_mismatch",
        )
    return BundleResult(anchor, witnessed, full, tuple(out))
