"""Full verification of a stored ledger (an fsck for the audit log).

``verify_store`` streams every stored entry once, in index order, and checks:

* indices are dense (a deleted row shows as ``missing_entry``) and nothing lies
  beyond the recorded size (``extra_entries``);
* each entry's leaf hash recomputed from its bytes equals the stored one
  (``leaf_hash_mismatch``) and the entry is a canonical, known-version encoding
  (``entry_malformed`` / ``entry_not_canonical``);
* every stored checkpoint is a well-formed note signed by the log key
  (``checkpoint_signature_invalid``), agrees with its own row
  (``checkpoint_row_mismatch``), does not claim more entries than exist
  (``truncated``), and its root equals the root recomputed from the entries
  (``checkpoint_root_mismatch``);
* every stored co-signature is over the same checkpoint text and verifies under a
  configured witness key (``cosignature_invalid``), and the latest checkpoint has
  ``quorum`` distinct witnesses (``quorum_not_met``);
* any extra checkpoints presented by the caller (e.g. one a witness or a client
  was shown) match the recomputed tree, else a fork (``fork``, with evidence).

The FIRST problem in index order is raised as ``LedgerVerifyError`` with
``details["index"]`` and ``details["reason"]``. For entry problems the index is
the entry's. For problems only a signed root reveals (an attacker rewrote an
entry *and* its leaf hash, or reordered entries), the log cannot say which leaf
changed: the index is the first one not covered by an earlier verified
checkpoint, and ``details["until"]`` is the end of that window — sign
checkpoints often to keep the window small.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redline.errors import LedgerVerifyError
from redline.ledger.checkpoint import Checkpoint as CheckpointBody
from redline.ledger.checkpoint import ForkError, ForkEvidence, open_checkpoint
from redline.ledger.entry import decode_entry
from redline.ledger.merkle import CompactRange, leaf_hash
from redline.ledger.note import NoteError, Verifier, open_note, parse_note
from redline.store.base import Checkpoint, Store, StoredLeaf


@dataclass
class VerifyReport:
    """What a successful verification covered."""

    size: int = 0
    checkpoints: int = 0
    cosignatures: int = 0
    latest_checkpoint: int | None = None
    latest_witnesses: tuple[str, ...] = ()
    kinds: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def unsigned_tail(self) -> int:
        """Entries after the latest checkpoint: valid leaves, but no signature covers them yet."""
        return self.size - (self.latest_checkpoint or 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "checkpoints": self.checkpoints,
            "cosignatures": self.cosignatures,
            "latest_checkpoint": self.latest_checkpoint,
            "latest_witnesses": list(self.latest_witnesses),
            "unsigned_tail": self.unsigned_tail,
            "kinds": dict(self.kinds),
            "seconds": round(self.seconds, 3),
        }


def _fail(message: str, index: int | None, reason: str, **details: Any) -> LedgerVerifyError:
    return LedgerVerifyError(message, index=index, reason=reason, **details)


async def verify_store(
    store: Store,
    log: Verifier,
    witnesses: Sequence[Verifier] = (),
    quorum: int = 0,
    *,
    presented: Sequence[bytes] = (),
    check_entries: bool = True,
    batch: int = 20_000,
) -> VerifyReport:
    """Verify everything stored (see module docstring); raise on the first problem."""
    t0 = time.perf_counter()
    report = VerifyReport()
    size = await store.log_size()
    stored_cps = await store.checkpoints()
    # Checkpoints are checked when the stream reaches their size, so errors come out in index order.
    pending: list[tuple[int, Checkpoint | bytes]] = [(cp.size, cp) for cp in stored_cps]
    for note in presented:
        try:
            body = CheckpointBody.parse(parse_note(note).text)
        except NoteError as exc:
            raise _fail(
                f"presented checkpoint is malformed: {exc.message}", None, "checkpoint_malformed"
            ) from exc
        pending.append((body.size, note))
    pending.sort(key=lambda p: p[0])
    by_size = {cp.size: cp for cp in stored_cps}

    cr = CompactRange()
    kinds: Counter[str] = Counter()
    verified_upto = 0  # leaves [0, verified_upto) are covered by a verified checkpoint
    pi = 0

    async def settle(at_size: int) -> None:
        nonlocal pi, verified_upto
        start = verified_upto  # every checkpoint of this size covers the same window
        while pi < len(pending) and pending[pi][0] == at_size:
            _, item = pending[pi]
            pi += 1
            root = cr.root()
            if isinstance(item, Checkpoint):
                await _check_stored(store, item, root, start, log, witnesses, report)
            else:
                _check_presented(item, root, start, log, by_size)
            verified_upto = at_size

    await settle(0)
    next_size = pending[pi][0] if pi < len(pending) else -1
    pos = 0
    # Read the next page while this one is hashed: SQLite/asyncpg do their I/O outside the GIL.
    ahead: asyncio.Future[list[StoredLeaf]] | None = None
    if size:
        ahead = asyncio.ensure_future(store.read_leaves(0, min(batch, size)))
    try:
        while pos < size:
            end = min(pos + batch, size)
            assert ahead is not None
            rows = await ahead
            ahead = (
                asyncio.ensure_future(store.read_leaves(end, min(end + batch, size))) if end < size else None
            )
            for leaf in rows:
                if leaf.index != cr.size:
                    raise _fail(f"entry {cr.size} is missing", cr.size, "missing_entry")
                h = leaf_hash(leaf.entry)
                if h != leaf.leaf_hash:
                    raise _fail(
                        f"entry {leaf.index} does not match its stored leaf hash",
                        leaf.index,
                        "leaf_hash_mismatch",
                    )
                if check_entries:
                    try:
                        kinds[decode_entry(leaf.entry)["kind"]] += 1
                    except LedgerVerifyError as exc:
                        raise _fail(
                            f"entry {leaf.index}: {exc.message}", leaf.index, exc.details["reason"]
                        ) from exc
                cr.append(h)
                if cr.size == next_size:
                    await settle(cr.size)
                    next_size = pending[pi][0] if pi < len(pending) else -1
            if cr.size != end:
                raise _fail(f"entry {cr.size} is missing", cr.size, "missing_entry")
            pos = end
    finally:
        if ahead is not None and not ahead.done():
            ahead.cancel()
    extra = await store.read_leaves(size, size + 1_000_000_000)
    if extra:
        raise _fail(
            f"{len(extra)} entries are stored beyond the log size {size}", extra[0].index, "extra_entries"
        )
    if pi < len(pending):
        cp_size = pending[pi][0]
        raise _fail(
            f"a checkpoint covers {cp_size} entries but the log holds {size}: entries were removed",
            size,
            "truncated",
            checkpoint_size=cp_size,
        )
    report.size = size
    report.kinds = dict(kinds)
    if stored_cps:
        latest = stored_cps[-1]
        report.latest_checkpoint = latest.size
        cos = await store.cosignatures(latest.size)
        try:
            vc = open_checkpoint(latest.note, log, witnesses, quorum, [c.note for c in cos])
        except NoteError as exc:
            raise _fail(
                f"the latest checkpoint ({latest.size}) lacks the witness quorum: {exc.message}",
                latest.size,
                exc.details.get("reason", "quorum_not_met"),
                checkpoint_size=latest.size,
            ) from exc
        report.latest_witnesses = vc.witnesses
    elif quorum > 0:
        raise _fail("there is no checkpoint to meet the witness quorum", 0, "quorum_not_met")
    report.seconds = time.perf_counter() - t0
    return report


async def _check_stored(
    store: Store,
    cp: Checkpoint,
    root: bytes,
    verified_upto: int,
    log: Verifier,
    witnesses: Sequence[Verifier],
    report: VerifyReport,
) -> None:
    where: dict[str, Any] = {"checkpoint_size": cp.size, "until": cp.size}
    try:
        body = open_checkpoint(cp.note, log).checkpoint
    except NoteError as exc:
        raise _fail(
            f"checkpoint {cp.size} does not verify: {exc.message}",
            verified_upto,
            "checkpoint_signature_invalid",
            **where,
        ) from exc
    if body.size != cp.size or body.root != cp.root:
        raise _fail(
            f"checkpoint {cp.size}'s note disagrees with its row",
            verified_upto,
            "checkpoint_row_mismatch",
            **where,
        )
    if body.root != root:
        raise _fail(
            f"checkpoint {cp.size} does not match the entries: an entry in [{verified_upto}, {cp.size}) "
            "was changed, inserted, removed or moved",
            verified_upto,
            "checkpoint_root_mismatch",
            **where,
        )
    report.checkpoints += 1
    text = parse_note(cp.note).text
    wit = [w for w in witnesses if w.public_key != log.public_key]
    for cos in await store.cosignatures(cp.size):
        try:
            if parse_note(cos.note).text != text:
                raise NoteError("different checkpoint text", reason="cosignature_mismatch")
            if wit:
                open_note(cos.note, wit)
        except NoteError as exc:
            if exc.details.get("reason") == "no_known_signature":
                continue  # a witness we were not told to trust: ignored, as the spec says
            raise _fail(
                f"co-signature of {cos.witness} on checkpoint {cp.size} does not verify: {exc.message}",
                verified_upto,
                "cosignature_invalid",
                witness=cos.witness,
                **where,
            ) from exc
        report.cosignatures += 1


def _check_presented(
    note: bytes, root: bytes, verified_upto: int, log: Verifier, by_size: dict[int, Checkpoint]
) -> None:
    body = open_checkpoint(note, log).checkpoint
    if body.root == root:
        return
    other = by_size.get(body.size)
    first = other.note if other is not None else b""
    ev = ForkEvidence("same_size_different_root" if other is not None else "inconsistent", first, note)
    raise ForkError(
        f"fork: a log-signed checkpoint of size {body.size} does not match the entries",
        ev,
        index=verified_upto,
        checkpoint_size=body.size,
    )
