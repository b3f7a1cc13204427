"""The audit / attest / witness commands, driven with click's CliRunner on a real SQLite store."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from redline.decision import Decision, PolicyRef, Verdict
from redline.facts import Facts
from redline.ledger.commands import attest, audit, witness
from redline.ledger.log import Ledger
from redline.ledger.merkle import leaf_hash
from redline.store import open_store


def _decision(verdict: Verdict, category: str) -> Decision:
    return Decision(verdict=verdict, category=category, policy=PolicyRef(name="p", version="1", hash="h"))


async def _populate(url: str, data_dir: Path) -> None:
    store = await open_store(url)
    ledger = await Ledger.open(store, data_dir, origin="redline.test/cli")
    try:
        cases = [
            (Verdict.ALLOW, "military_general"),
            (Verdict.DENY, "mass_domestic_surveillance"),
            (Verdict.REVIEW, "targeting_support"),
            (Verdict.ALLOW, "general"),
        ]
        for i, (v, c) in enumerate(cases):
            await ledger.record_decision(Facts.from_text(f"text {i}", now=float(i)), _decision(v, c))
        await ledger.record_event(
            "human_action", {"action": "approve", "actor": "carol", "role": "commander", "hold_id": "h"}
        )
    finally:
        await ledger.close()
        await store.close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'redline.db'}"
    asyncio.run(_populate(url, data))
    return {"REDLINE_DATABASE_URL": url, "REDLINE_DATA_DIR": str(data)}


def test_full_audit_flow(env: dict[str, str], tmp_path: Path) -> None:
    r = CliRunner(env=env)
    res = r.invoke(audit, ["checkpoint"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("redline.test/cli\n6\n")

    wdir = tmp_path / "w"
    res = r.invoke(witness, ["init", "--name", "w.test/w1", "--witness-dir", str(wdir)])
    assert res.exit_code == 0 and res.output.startswith("w.test/w1+"), res.output
    assert r.invoke(witness, ["init", "--name", "w.test/w1", "--witness-dir", str(wdir)]).exit_code == 2
    res = r.invoke(witness, ["cosign", "--witness-dir", str(wdir)])
    assert res.exit_code == 0, res.output
    assert "\u2014 w.test/w1 " in res.output

    wkey = str(wdir / "witness.vkey")
    res = r.invoke(audit, ["verify", "--witness-key", wkey, "--quorum", "1", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["size"] == 6 and report["latest_witnesses"] == ["w.test/w1"]
    # A quorum of two cannot be met by one witness.
    assert r.invoke(audit, ["verify", "--witness-key", wkey, "--quorum", "2"]).exit_code == 6

    res = r.invoke(audit, ["prove", "--index", "2"])
    assert res.exit_code == 0, res.output
    proof = json.loads(res.output)
    assert proof["verified"] and proof["size"] == 6 and proof["bytes"] == 32 * 3
    res = r.invoke(audit, ["prove", "--consistency", "2", "6"])
    assert res.exit_code == 0 and json.loads(res.output)["verified"]
    assert r.invoke(audit, ["prove"]).exit_code == 2

    bundle = tmp_path / "bundle.json"
    assert r.invoke(audit, ["export", str(bundle)]).exit_code == 0
    part = tmp_path / "part.json"
    assert r.invoke(audit, ["export", str(part), "--start", "2", "--end", "4"]).exit_code == 0

    # Offline: another machine with only the public keys.
    log_vkey = (Path(env["REDLINE_DATA_DIR"]) / "keys" / "log.vkey").read_text().strip()
    offline = CliRunner(env={"REDLINE_DATA_DIR": str(tmp_path / "elsewhere")})
    for b in (bundle, part):
        res = offline.invoke(
            audit, ["verify", str(b), "--log-key", log_vkey, "--witness-key", wkey, "--quorum", "1"]
        )
        assert res.exit_code == 0, res.output

    rep = tmp_path / "report.note"
    res = r.invoke(
        attest,
        ["create", "--from", "1970-01-01T00:00:00Z", "--to", "2200-01-01T00:00:00Z", "--out", str(rep)],
    )
    assert res.exit_code == 0, res.output
    assert b"text 1" not in rep.read_bytes()
    res = offline.invoke(attest, ["verify", str(rep), str(bundle), "--log-key", log_vkey])
    assert res.exit_code == 0, res.output
    counts = json.loads(res.output.split("\n", 1)[1])
    assert counts["red_line_blocks"] == 1 and counts["holds_created"] == 1
    assert counts["decisions"]["mass_domestic_surveillance"] == {"deny": 1}
    assert counts["approvers"] == {"carol": {"approve": 1}}
    # A partial bundle cannot back an attestation.
    assert offline.invoke(attest, ["verify", str(rep), str(part), "--log-key", log_vkey]).exit_code == 6

    # A bundle whose entry was edited fails offline, with the index.
    data = json.loads(bundle.read_text())
    data["entries"][2]["entry"] = data["entries"][2]["entry"].replace('"deny"', '"allow"')
    bundle.write_text(json.dumps(data))
    res = offline.invoke(audit, ["verify", str(bundle), "--log-key", log_vkey])
    assert res.exit_code == 6 and "checkpoint_root_mismatch" in res.output
    assert offline.invoke(attest, ["verify", str(rep), str(bundle), "--log-key", log_vkey]).exit_code == 6


def test_verify_reports_tampering_and_store_down(env: dict[str, str]) -> None:
    r = CliRunner(env=env)
    assert r.invoke(audit, ["checkpoint"]).exit_code == 0
    db = env["REDLINE_DATABASE_URL"][len("sqlite:///") :]
    conn = sqlite3.connect(db)
    conn.execute("UPDATE leaves SET entry = ? WHERE idx = 3", (b'{"v":1}',))
    conn.commit()
    conn.close()
    res = r.invoke(audit, ["verify"])
    assert res.exit_code == 6
    assert "index 3: leaf_hash_mismatch" in res.output
    forged = b'{"kind":"decision","v":1}'
    conn = sqlite3.connect(db)
    conn.execute("UPDATE leaves SET entry = ?, leaf_hash = ? WHERE idx = 3", (forged, leaf_hash(forged)))
    conn.commit()
    conn.close()
    res = r.invoke(audit, ["verify"])
    assert res.exit_code == 6 and "index 0: checkpoint_root_mismatch" in res.output

    down = r.invoke(audit, ["verify", "--database-url", "postgresql://x:y@127.0.0.1:1/nothing"])
    assert down.exit_code == 5, down.output
