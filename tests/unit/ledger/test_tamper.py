"""Tamper tests: an attacker with write access to the database (SQL), both backends.

Each case edits the stored log the way an attacker would and checks that
``verify_store`` reports the first bad index and the reason. The fixture log has
13 entries with signed checkpoints at sizes 4, 8 and 12, the last co-signed by a
witness; entry 12 is after the last checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from redline.decision import Decision, PolicyRef, Verdict
from redline.errors import LedgerVerifyError
from redline.facts import Facts
from redline.ledger.checkpoint import Checkpoint, ForkError, sign_checkpoint
from redline.ledger.log import Ledger
from redline.ledger.merkle import leaf_hash
from redline.ledger.note import SIG_COSIGNATURE_V1, Signer, Verifier, parse_note
from redline.ledger.verify import verify_store
from redline.ledger.witness import Witness
from redline.store import Store


def decision() -> Decision:
    return Decision(
        verdict=Verdict.ALLOW, category="military_general", policy=PolicyRef(name="p", version="1", hash="h")
    )


@dataclass
class World:
    store: Store
    ledger: Ledger
    log: Verifier
    witness: Verifier
    attacker: Any
    notes: dict[int, bytes]


@pytest.fixture
async def world(ledger: Ledger, store: Store, attacker: Any, tmp_path: Path) -> World:
    wsigner = Signer.generate("witness.test/w1", SIG_COSIGNATURE_V1)
    wit = Witness(wsigner, ledger.keys.verifier(), tmp_path / "witness.json")
    notes: dict[int, bytes] = {}
    for i in range(1, 12):
        await ledger.record_decision(Facts.from_text(f"request {i}", now=float(i)), decision())
        if (i + 1) % 4 == 0:
            notes[i + 1] = await ledger.checkpoint()
    tree = await ledger.tree()
    prev = 0
    for size in (4, 8, 12):
        proof = tree.consistency_proof(prev, size) if prev else []
        cos = wit.cosign(notes[size], proof, now=1000 + size)
        await store.put_cosignature(size, wsigner.name, cos, 1000.0 + size)
        prev = size
    await ledger.record_decision(Facts.from_text("after the last checkpoint", now=13.0), decision())
    assert await store.log_size() == 13
    return World(store, ledger, ledger.keys.verifier(), wsigner.verifier(), attacker, notes)


async def _verify(w: World, quorum: int = 1, presented: tuple[bytes, ...] = ()) -> Any:
    return await verify_store(w.store, w.log, [w.witness], quorum, presented=presented)


async def _expect(w: World, index: int, reason: str, **kw: Any) -> LedgerVerifyError:
    with pytest.raises(LedgerVerifyError) as exc:
        await _verify(w, **kw)
    assert (exc.value.details["index"], exc.value.details["reason"]) == (index, reason), exc.value.details
    return exc.value


async def _entry(w: World, idx: int) -> bytes:
    rows = await w.attacker("SELECT entry FROM leaves WHERE idx = ?", idx)
    return bytes(rows[0][0])  # type: ignore[arg-type]


def _edited(entry: bytes) -> bytes:
    obj = json.loads(entry)
    obj["verdict"] = "deny"
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


async def test_untampered_log_verifies(world: World) -> None:
    report = await _verify(world)
    assert report.size == 13 and report.checkpoints == 3 and report.cosignatures == 3
    assert report.latest_checkpoint == 12 and report.unsigned_tail == 1
    assert report.latest_witnesses == ("witness.test/w1",)


async def test_changed_entry(world: World) -> None:
    await world.attacker("UPDATE leaves SET entry = ? WHERE idx = ?", _edited(await _entry(world, 5)), 5)
    await _expect(world, 5, "leaf_hash_mismatch")


async def test_changed_entry_with_fixed_up_leaf_hash(world: World) -> None:
    new = _edited(await _entry(world, 5))
    await world.attacker("UPDATE leaves SET entry = ?, leaf_hash = ? WHERE idx = ?", new, leaf_hash(new), 5)
    err = await _expect(world, 4, "checkpoint_root_mismatch")
    assert err.details["until"] == 8


async def test_changed_entry_in_unsigned_tail_still_needs_a_valid_encoding(world: World) -> None:
    new = json.dumps(json.loads(await _entry(world, 12)), indent=1).encode()
    await world.attacker("UPDATE leaves SET entry = ?, leaf_hash = ? WHERE idx = ?", new, leaf_hash(new), 12)
    await _expect(world, 12, "entry_not_canonical")


async def test_deleted_entry(world: World) -> None:
    await world.attacker("DELETE FROM leaves WHERE idx = ?", 6)
    await _expect(world, 6, "missing_entry")


async def test_deleted_entry_with_renumbering(world: World) -> None:
    a = world.attacker
    await a("DELETE FROM leaves WHERE idx = ?", 6)
    await a("UPDATE leaves SET idx = idx + 1000000 WHERE idx > ?", 6)
    await a("UPDATE leaves SET idx = idx - 1000001 WHERE idx >= ?", 1000000)
    await a("UPDATE log_state SET size = size - 1")
    await _expect(world, 4, "checkpoint_root_mismatch")


async def test_inserted_entry(world: World) -> None:
    a = world.attacker
    forged = await _entry(world, 2)
    await a("UPDATE leaves SET idx = idx + 1000000 WHERE idx >= ?", 6)
    await a("UPDATE leaves SET idx = idx - 999999 WHERE idx >= ?", 1000000)
    await a(
        "INSERT INTO leaves (idx, entry, leaf_hash, kind, created_at) VALUES (?, ?, ?, ?, ?)",
        6,
        forged,
        leaf_hash(forged),
        "decision",
        6.5,
    )
    await a("UPDATE log_state SET size = size + 1")
    await _expect(world, 4, "checkpoint_root_mismatch")


async def test_entry_appended_behind_the_stores_back(world: World) -> None:
    forged = await _entry(world, 2)
    await world.attacker(
        "INSERT INTO leaves (idx, entry, leaf_hash, kind, created_at) VALUES (?, ?, ?, ?, ?)",
        13,
        forged,
        leaf_hash(forged),
        "decision",
        14.0,
    )
    await _expect(world, 13, "extra_entries")


async def test_reordered_entries(world: World) -> None:
    a = world.attacker
    await a("UPDATE leaves SET idx = -1 WHERE idx = ?", 9)
    await a("UPDATE leaves SET idx = 9 WHERE idx = ?", 10)
    await a("UPDATE leaves SET idx = 10 WHERE idx = ?", -1)
    err = await _expect(world, 8, "checkpoint_root_mismatch")
    assert err.details["until"] == 12


async def test_truncated_log(world: World) -> None:
    await world.attacker("DELETE FROM leaves WHERE idx >= ?", 10)
    await world.attacker("UPDATE log_state SET size = 10")
    err = await _expect(world, 10, "truncated")
    assert err.details["checkpoint_size"] == 12


async def test_changed_checkpoint_note(world: World) -> None:
    note = world.notes[8].decode()
    body = parse_note(world.notes[8]).text
    forged = note.replace(body, body.replace("\n8\n", "\n9\n"))
    await world.attacker("UPDATE checkpoints SET note = ? WHERE size = ?", forged.encode(), 8)
    await _expect(world, 4, "checkpoint_signature_invalid")


async def test_changed_checkpoint_row(world: World) -> None:
    await world.attacker("UPDATE checkpoints SET root = ? WHERE size = ?", b"\x00" * 32, 8)
    await _expect(world, 4, "checkpoint_row_mismatch")


async def test_swapped_checkpoint_signature(world: World) -> None:
    sig4 = parse_note(world.notes[4]).signatures[0].line
    text8 = parse_note(world.notes[8]).text
    await world.attacker("UPDATE checkpoints SET note = ? WHERE size = ?", (text8 + "\n" + sig4).encode(), 8)
    await _expect(world, 4, "checkpoint_signature_invalid")


async def test_swapped_cosignature(world: World) -> None:
    rows = await world.attacker("SELECT note FROM cosignatures WHERE size = ?", 4)
    await world.attacker("UPDATE cosignatures SET note = ? WHERE size = ?", bytes(rows[0][0]), 8)  # type: ignore[arg-type]
    err = await _expect(world, 4, "cosignature_invalid")
    assert err.details["checkpoint_size"] == 8


async def test_forged_cosignature_bytes(world: World) -> None:
    rows = await world.attacker("SELECT note FROM cosignatures WHERE size = ?", 12)
    note = bytes(rows[0][0])  # type: ignore[arg-type]
    last = parse_note(note).signatures[-1]
    flipped = last.line[:-3] + ("A" if last.line[-3] != "A" else "B") + last.line[-2:]
    await world.attacker(
        "UPDATE cosignatures SET note = ? WHERE size = ?",
        note.replace(last.line.encode(), flipped.encode()),
        12,
    )
    await _expect(world, 8, "cosignature_invalid")


async def test_deleted_latest_checkpoint_loses_the_witness_quorum(world: World) -> None:
    await world.attacker("DELETE FROM cosignatures WHERE size = ?", 12)
    await _expect(world, 12, "quorum_not_met")
    await world.attacker("DELETE FROM checkpoints WHERE size = ?", 12)
    await world.attacker("DELETE FROM cosignatures")
    await _expect(world, 8, "quorum_not_met")
    await world.attacker("DELETE FROM checkpoints")
    await _expect(world, 0, "quorum_not_met")


async def test_deleted_checkpoint_and_truncation_caught_by_a_presented_checkpoint(world: World) -> None:
    """Without a quorum, a verifier holding an earlier checkpoint (a witness's) still sees truncation."""
    await world.attacker("DELETE FROM checkpoints WHERE size >= ?", 8)
    await world.attacker("DELETE FROM leaves WHERE idx >= ?", 6)
    await world.attacker("UPDATE log_state SET size = 6")
    await _expect(world, 6, "truncated", quorum=0, presented=(world.notes[12],))


async def test_forked_checkpoint_stored(world: World) -> None:
    """The key holder signs a different root for size 8 and swaps it in."""
    forged_root = leaf_hash(b"another history")
    fork = sign_checkpoint(Checkpoint(world.ledger.origin, 8, forged_root), world.ledger.keys.signer)
    await world.attacker("UPDATE checkpoints SET note = ?, root = ? WHERE size = ?", fork, forged_root, 8)
    await _expect(world, 4, "checkpoint_root_mismatch")


async def test_forked_checkpoint_presented_gives_evidence(world: World) -> None:
    fork = sign_checkpoint(Checkpoint(world.ledger.origin, 8, leaf_hash(b"x")), world.ledger.keys.signer)
    with pytest.raises(ForkError) as exc:
        await _verify(world, presented=(fork,))
    assert exc.value.details["index"] == 4 and exc.value.details["reason"] == "same_size_different_root"
    assert exc.value.evidence.first == world.notes[8] and exc.value.evidence.second == fork
