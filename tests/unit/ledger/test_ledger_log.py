"""Entries, commitments, encryption and the Ledger writer, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from redline.decision import Approvals, Decision, PolicyRef, Verdict
from redline.errors import InputError, LedgerUnavailableError, LedgerVerifyError
from redline.facts import Facts, Principal, Stage, ToolCall
from redline.ledger.checkpoint import open_checkpoint
from redline.ledger.entry import (
    EntryCodec,
    canonical_json,
    check_opening,
    decision_content,
    decode_entry,
)
from redline.ledger.keys import load_or_create
from redline.ledger.log import Ledger
from redline.ledger.merkle import leaf_hash, root_of
from redline.store import Store, open_store

POLICY = PolicyRef(name="default", version="1", hash="sha256:abc")


def facts(text: str = "where is the convoy?", user: str = "alice") -> Facts:
    return Facts.from_text(
        text,
        principal=Principal(tenant="acme", app="ops", user=user),
        now=1_700_000_000.5,
    )


def decision(verdict: Verdict = Verdict.ALLOW, category: str = "military_general") -> Decision:
    return Decision(
        id="d-1",
        verdict=verdict,
        category=category,
        rules=("r1",),
        policy=POLICY,
        classifier_version="test-1",
        approvals=Approvals(count=2, roles=("commander",)) if verdict is Verdict.REVIEW else None,
    )


def test_canonical_json() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'.encode()
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_entry_has_no_content_and_opens_with_its_salt_only() -> None:
    codec = EntryCodec(b"s" * 32, os.urandom(32))
    f = facts("secret convoy route")
    built = codec.decision(f, decision(), at=5.0)
    assert b"secret convoy" not in built.data and b"alice" not in built.data
    entry = decode_entry(built.data)
    assert entry["v"] == 1 and entry["kind"] == "decision" and entry["verdict"] == "allow"
    assert entry["policy"]["hash"] == "sha256:abc" and entry["classifier_version"] == "test-1"
    salt = codec.salt_for(entry)
    assert salt == built.salt
    assert check_opening(entry, salt, decision_content(f))
    assert not check_opening(entry, salt, decision_content(facts("other text")))
    other = codec.decision(f, decision(), at=5.0)
    assert codec.salt_for(decode_entry(other.data)) != salt  # a salt opens one entry only
    # Encryption: the content comes back, bound to this entry.
    assert built.ciphertext is not None
    assert codec.decrypt(built.data, built.ciphertext) == json.loads(canonical_json(decision_content(f)))
    with pytest.raises(LedgerVerifyError):
        codec.decrypt(other.data, built.ciphertext)
    with pytest.raises(LedgerVerifyError):
        EntryCodec(b"s" * 32, os.urandom(32)).decrypt(built.data, built.ciphertext)


def test_decode_entry_rejects_non_canonical_or_unknown() -> None:
    built = EntryCodec(b"s" * 32).build("policy_load", {"policy": {"hash": "h"}}, None, at=1.0)
    assert built.ciphertext is None
    spaced = json.dumps(json.loads(built.data)).encode()
    for bad in (spaced, b"not json", canonical_json({"v": 2, "kind": "decision"})):
        with pytest.raises(LedgerVerifyError):
            decode_entry(bad)
    with pytest.raises(InputError):
        EntryCodec(b"s" * 32).build("gossip", {}, None, at=1.0)
    with pytest.raises(InputError):
        EntryCodec(b"s" * 32).build("decision", {"commitment": "x"}, None, at=1.0)


def test_keys_created_once_with_private_modes(tmp_path: Path) -> None:
    k1 = load_or_create(tmp_path, origin="redline.test/log", encrypt=True)
    assert set(k1.created) == {"log.key", "commitment.secret", "content.key"}
    k2 = load_or_create(tmp_path, encrypt=True)
    assert k2.created == () and k2.signer.skey() == k1.signer.skey()
    assert k2.commitment_secret == k1.commitment_secret and k2.content_key == k1.content_key
    for name in ("log.key", "commitment.secret", "content.key"):
        assert stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode) == 0o600
    assert (tmp_path / "keys" / "log.vkey").read_text().strip() == k1.verifier().vkey()


async def test_record_and_checkpoint(ledger: Ledger, store: Store) -> None:
    # Ledger.open recorded the key creation as entry 0.
    assert await store.log_size() == 1
    idx = await ledger.record_decision(facts(), decision())
    assert idx == 1
    idx2 = await ledger.record_event(
        "human_action",
        {"action": "approve", "actor": "bob", "role": "commander", "hold_id": "h1"},
        "looks fine",
    )
    assert idx2 == 2
    with pytest.raises(InputError):
        await ledger.record_event("human_action", {"action": "shrug"})
    note = await ledger.checkpoint()
    cp = open_checkpoint(note, ledger.keys.verifier()).checkpoint
    leaves = await store.read_leaves(0, 3)
    assert cp.size == 3 and cp.root == root_of([leaf_hash(leaf.entry) for leaf in leaves])
    assert all(leaf.leaf_hash == leaf_hash(leaf.entry) for leaf in leaves)
    assert leaves[1].ciphertext is not None
    stored = await store.latest_checkpoint()
    assert stored is not None and stored.note == note
    # Checkpointing again at the same size returns the stored note.
    assert await ledger.checkpoint() == note


async def test_concurrent_records_get_dense_indices(ledger: Ledger, store: Store) -> None:
    got = await asyncio.gather(*(ledger.record_decision(facts(f"q{i}"), decision()) for i in range(200)))
    assert sorted(got) == list(range(1, 201))
    await ledger.checkpoint()
    assert (await store.latest_checkpoint()).size == 201  # type: ignore[union-attr]


async def test_checkpoint_refuses_to_sign_over_tampered_entries(
    ledger: Ledger, store: Store, attacker: Any
) -> None:
    for i in range(4):
        await ledger.record_decision(facts(f"q{i}"), decision())
    await ledger.checkpoint()
    # A second ledger process (fresh tree) over a store whose entry 2 was replaced.
    data = b'{"kind":"decision","v":1}'
    await attacker("UPDATE leaves SET entry = ?, leaf_hash = ? WHERE idx = ?", data, leaf_hash(data), 2)
    other = Ledger(store, ledger.keys)
    try:
        with pytest.raises(LedgerVerifyError) as exc:
            await other.checkpoint()
        # The attacker fixed up the leaf hash, so only the signed root exposes it.
        assert exc.value.details["reason"] == "checkpoint_root_mismatch"
    finally:
        await other.close()


async def test_store_down_means_ledger_unavailable(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'x.db'}")
    led = await Ledger.open(store, tmp_path / "d")
    await led.close()
    await store.close()
    led2 = Ledger(store, led.keys)
    with pytest.raises(LedgerUnavailableError):
        await led2.record_decision(facts(), decision())
    await led2.close()


def test_entry_kind_labels(tmp_path: Path) -> None:
    codec = EntryCodec(base64.b64decode(base64.b64encode(b"k" * 32)))
    f = facts().model_copy(
        update={"stage": Stage.TOOL_CALL, "tool_calls": (ToolCall(name="strike", arguments={"t": 1}),)}
    )
    e = decode_entry(codec.decision(f, decision(Verdict.REVIEW, "targeting_support"), 1.0).data)
    assert e["tools"] == ["strike"] and e["approvals"] == {"count": 2, "roles": ["commander"]}
    assert '"t":1' not in json.dumps(e)


def test_decode_entry_fast_path_agrees_with_the_stdlib_definition() -> None:
    """The orjson fast path must accept exactly what canonical_json would produce."""
    import random

    from redline.ledger.entry import canonical_json as cj

    rng = random.Random(5)
    floats = [0.5, 1e-05, 5e-5, 1e16, 1.5e300, 1700000000.123456, 0.0001, 123456789012345678.0, -0.0]
    for _ in range(3000):
        f = rng.choice([*floats, rng.random() * 10 ** rng.randrange(-8, 20)])
        obj = {"v": 1, "kind": "decision", "at": f, "s": rng.choice(["a:1e5", "0.00001", "é\n\u2028"])}
        good = cj(obj)
        assert decode_entry(good)["at"] == f
        orj = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        if orj != good:
            with pytest.raises(LedgerVerifyError):
                decode_entry(orj)


def test_canonical_json_is_the_stdlib_definition() -> None:
    import random

    rng = random.Random(11)

    def std(o: object) -> bytes:
        return json.dumps(
            o, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode()

    for _ in range(5000):
        f = rng.choice(
            [1e-05, 5e-5, 1e16, 0.1, 1700000000.25, 2**70, rng.random() * 10 ** rng.randrange(-9, 19)]
        )
        s = "".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randrange(6)))
        obj = {"b": [f, s, None, True, {"z": -0.0, "a": rng.randrange(-(2**63), 2**63)}], s: 1}
        assert canonical_json(obj) == std(obj)
    with pytest.raises(ValueError):
        canonical_json({"a": [1, {"b": float("inf")}]})


async def test_checkpoints_taken_during_appends_all_verify(ledger: Ledger, store: Store) -> None:
    from redline.ledger.verify import verify_store

    async def writer(w: int) -> None:
        for i in range(30):
            await ledger.record_decision(facts(f"w{w} {i}"), decision())

    async def checkpointer() -> None:
        for _ in range(6):
            await ledger.checkpoint()
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(w) for w in range(8)), checkpointer(), checkpointer())
    await ledger.checkpoint()
    report = await verify_store(store, ledger.keys.verifier())
    assert report.size == 241 and report.latest_checkpoint == 241 and report.checkpoints >= 2


async def test_periodic_checkpointer_signs_as_the_log_grows(ledger: Ledger, store: Store) -> None:
    task = asyncio.create_task(ledger.checkpoint_every(0.005))
    try:
        await ledger.record_decision(facts(), decision())
        for _ in range(2000):
            latest = await store.latest_checkpoint()
            if latest is not None and latest.size == 2:
                break
            await asyncio.sleep(0.005)
        assert latest is not None and latest.size == 2
    finally:
        task.cancel()
