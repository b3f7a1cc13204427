"""``Ledger``: the writer side of the audit log.

Every decision and every human action becomes one entry (``redline.ledger.entry``)
appended through the store's group-committing appender: ``record_*`` returns the
entry's index only once it is durable, and raises ``LedgerUnavailableError``
(``ledger_unavailable``, HTTP 503 with Retry-After) when it cannot be — the
caller must then not release the decision's effect.

``checkpoint()`` brings an in-memory Merkle tree up to the store's current size
(recomputing every new leaf hash from the stored entry bytes rather than trusting
the stored hash), checks that the tree still matches the latest stored checkpoint
(a log must never sign two inconsistent checkpoints), then signs and stores a
C2SP checkpoint. Several replicas on one PostgreSQL can each checkpoint: the tree
is a pure function of the leaves, so they agree.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from redline.decision import Decision
from redline.errors import ConflictError, InputError, LedgerUnavailableError, LedgerVerifyError, StoreError
from redline.facts import Facts
from redline.ledger.checkpoint import Checkpoint, sign_checkpoint
from redline.ledger.entry import HUMAN_ACTIONS, BuiltEntry, EntryCodec
from redline.ledger.keys import LedgerKeys, load_or_create
from redline.ledger.merkle import MerkleTree, leaf_hash
from redline.store.appender import GroupAppender
from redline.store.base import LeafRecord, Store


class Ledger:
    """Appends entries durably and signs checkpoints. One per process; share it."""

    def __init__(
        self,
        store: Store,
        keys: LedgerKeys,
        *,
        max_batch: int = 512,
        max_wait_ms: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.keys = keys
        self.codec = EntryCodec(keys.commitment_secret, keys.content_key)
        self.appender = GroupAppender(store, max_batch=max_batch, max_wait_ms=max_wait_ms)
        self._clock = clock
        self._tree = MerkleTree()
        self._tree_lock = asyncio.Lock()  # one tree sync / checkpoint at a time

    @classmethod
    async def open(
        cls, store: Store, data_dir: Path, *, origin: str | None = None, encrypt: bool = False, **kw: Any
    ) -> Ledger:
        """A ledger with keys from ``data_dir/keys`` (created when absent; creation is recorded)."""
        keys = load_or_create(Path(data_dir), origin=origin, encrypt=encrypt)
        ledger = cls(store, keys, **kw)
        if "log.key" in keys.created:
            await ledger.record_event(
                "key_change", {"key": "log", "action": "created", "vkey": keys.verifier().vkey()}
            )
        return ledger

    @property
    def origin(self) -> str:
        return self.keys.origin

    def vkey(self) -> str:
        """The log's public verifier key (``name+hash+base64``)."""
        return self.keys.verifier().vkey()

    async def _append(self, built: BuiltEntry) -> int:
        record = LeafRecord(built.data, leaf_hash(built.data), built.kind, self._clock(), built.ciphertext)
        try:
            return await self.appender.append(record)
        except LedgerUnavailableError:
            raise
        except StoreError as exc:
            raise LedgerUnavailableError(f"the audit log cannot be written: {exc.message}") from exc

    async def record_decision(self, facts: Facts, decision: Decision) -> int:
        """Append a decision entry; returns its index once durable."""
        return await self._append(self.codec.decision(facts, decision, self._clock()))

    async def record_event(self, kind: str, payload: Mapping[str, Any], content: Any = None) -> int:
        """Append a ``human_action``, ``policy_load`` or ``key_change`` entry.

        ``payload`` is metadata stored in clear (for a human action: ``action`` in
        approve/reject/expire/stop/resume/cancel, ``actor``, ``role``, ``hold_id``,
        ``tenant`` …). ``content`` (e.g. a typed reason) is committed, not stored.
        """
        if kind == "human_action" and payload.get("action") not in HUMAN_ACTIONS:
            raise InputError(f"human_action needs action in {HUMAN_ACTIONS}")
        return await self._append(self.codec.build(kind, dict(payload), content, self._clock()))

    async def _sync_tree(self) -> int:
        size = await self.store.log_size()
        if size < self._tree.size:
            raise LedgerVerifyError(
                f"the store holds {size} entries but {self._tree.size} were seen before: truncated",
                reason="truncated",
                index=size,
            )
        async for leaf in self.store.iter_leaves(self._tree.size, size):
            if leaf.index != self._tree.size:
                raise LedgerVerifyError(
                    f"entry {self._tree.size} is missing", reason="missing", index=self._tree.size
                )
            h = leaf_hash(leaf.entry)
            if h != leaf.leaf_hash:
                raise LedgerVerifyError(
                    f"entry {leaf.index} does not match its leaf hash", reason="leaf_hash", index=leaf.index
                )
            self._tree.append(h)
        if self._tree.size != size:
            raise LedgerVerifyError(
                f"entry {self._tree.size} is missing", reason="missing", index=self._tree.size
            )
        return size

    async def tree(self) -> MerkleTree:
        """The in-memory tree, brought up to the store's size (for proofs)."""
        async with self._tree_lock:
            await self._sync_tree()
        return self._tree

    async def checkpoint(self) -> bytes:
        """Sign and store a checkpoint of the current size; returns the signed note.

        Refuses (LedgerVerifyError) to sign if the entries no longer match the
        latest stored checkpoint, so the log never signs a fork of itself.
        """
        async with self._tree_lock:
            return await self._checkpoint_locked()

    async def _checkpoint_locked(self) -> bytes:
        size = await self._sync_tree()
        latest = await self.store.latest_checkpoint()
        if latest is not None and latest.size <= size and self._tree.root(latest.size) != latest.root:
            raise LedgerVerifyError(
                f"entries no longer match the checkpoint of size {latest.size}; refusing to sign",
                reason="checkpoint_root_mismatch",
                index=latest.size,
            )
        root = self._tree.root(size)
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.keys.signer)
        try:
            stored = await self.store.put_checkpoint(size, root, note, self._clock())
        except ConflictError as exc:
            raise LedgerVerifyError(
                f"a different checkpoint of size {size} is already stored (fork)", reason="fork", index=size
            ) from exc
        if not stored:
            # Same size and root already signed (by us or another replica): return the stored one.
            for cp in await self.store.checkpoints(since_size=size, limit=1):
                if cp.size == size:
                    return cp.note
        return note

    async def checkpoint_every(self, interval_s: float) -> None:
        """Sign a checkpoint every ``interval_s`` seconds while the log grows.

        Run it as a task and cancel it to stop. A store outage skips a round; a log
        that no longer matches its checkpoints ends the task with LedgerVerifyError
        (the task's owner must surface it: the log will not sign over tampering).
        Frequent checkpoints keep the window that verification can blame small.
        """
        last = -1
        while True:
            await asyncio.sleep(interval_s)
            try:
                size = await self.store.log_size()
                if size != last:
                    await self.checkpoint()
                    last = size
            except StoreError:  # includes LedgerUnavailableError: try again next round
                continue

    async def close(self) -> None:
        """Flush queued entries and stop the appender (the store stays open)."""
        await self.appender.close()
