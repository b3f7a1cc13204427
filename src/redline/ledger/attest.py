"""Attestation reports: signed counts of what the log proves happened, with no content.

A report is a signed note whose text is ``redline-attestation/v1`` on the first
line and the canonical JSON of the report on the second. The report names the
checkpoint it covers (size and root), the time range ``[from, to)`` (entry
``at`` times), and counts:

* ``decisions``: category → verdict → count; ``decisions_total``;
* ``red_line_blocks``: denials in a red-line category;
* ``holds_created``: decisions with verdict ``review``;
* ``human_actions``: action → count (approve, reject, expire, stop, resume, cancel);
* ``approvers``: actor → action → count (approve/reject votes);
* ``policy_loads``, ``key_changes``.

``verify_report`` checks the signature, checks that a *full* bundle verifies and
is anchored to the same checkpoint, and recomputes the counts from the bundle's
entries: a report can only claim what the log proves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from redline.classify.base import RED_LINES
from redline.errors import LedgerVerifyError, UsageError
from redline.ledger.bundle import BundleResult, verify_bundle
from redline.ledger.checkpoint import open_checkpoint
from redline.ledger.entry import canonical_json, decode_entry
from redline.ledger.note import NoteError, Signer, Verifier, open_note, sign_note
from redline.store.base import Store

REPORT_HEADER = "redline-attestation/v1"


def compute_counts(
    entries: Iterable[Mapping[str, Any]], t_from: float, t_to: float
) -> tuple[dict[str, Any], int]:
    """The counts of entries with ``t_from <= at < t_to``; returns (counts, entries counted)."""
    decisions: dict[str, dict[str, int]] = {}
    actions: dict[str, int] = {}
    approvers: dict[str, dict[str, int]] = {}
    counts: dict[str, Any] = {"decisions_total": 0, "red_line_blocks": 0, "holds_created": 0}
    counts.update(policy_loads=0, key_changes=0)
    n = 0
    for e in entries:
        at = float(e.get("at", 0.0))
        if not t_from <= at < t_to:
            continue
        n += 1
        kind = e["kind"]
        if kind == "decision":
            cat, verdict = str(e.get("category")), str(e.get("verdict"))
            by = decisions.setdefault(cat, {})
            by[verdict] = by.get(verdict, 0) + 1
            counts["decisions_total"] += 1
            if verdict == "deny" and cat in RED_LINES:
                counts["red_line_blocks"] += 1
            if verdict == "review":
                counts["holds_created"] += 1
        elif kind == "human_action":
            action = str(e.get("action"))
            actions[action] = actions.get(action, 0) + 1
            if action in ("approve", "reject") and e.get("actor"):
                per = approvers.setdefault(str(e["actor"]), {})
                per[action] = per.get(action, 0) + 1
        elif kind == "policy_load":
            counts["policy_loads"] += 1
        elif kind == "key_change":
            counts["key_changes"] += 1
    counts.update(decisions=decisions, human_actions=actions, approvers=approvers)
    return counts, n


async def create_report(store: Store, signer: Signer, t_from: float, t_to: float) -> bytes:
    """A signed report over the entries covered by the latest checkpoint."""
    latest = await store.latest_checkpoint()
    if latest is None:
        raise UsageError("the log has no checkpoint yet: run `redline audit checkpoint` first")
    cp = open_checkpoint(latest.note, signer.verifier()).checkpoint
    entries: list[dict[str, Any]] = []
    async for leaf in store.iter_leaves(0, cp.size):
        entries.append(decode_entry(leaf.entry))
    counts, n = compute_counts(entries, t_from, t_to)
    body = {
        "format": REPORT_HEADER,
        "origin": cp.origin,
        "checkpoint": {"size": cp.size, "root": latest.root.hex(), "note": latest.note.decode()},
        "from": t_from,
        "to": t_to,
        "entries": n,
        "counts": counts,
    }
    return sign_note(REPORT_HEADER + "\n" + canonical_json(body).decode() + "\n", [signer])


def read_report(report: bytes, log: Verifier) -> dict[str, Any]:
    """The report's JSON after checking the log's signature on it."""
    try:
        text = open_note(report, [log]).text
    except NoteError as exc:
        raise LedgerVerifyError(
            f"report signature: {exc.message}", index=None, reason="report_signature_invalid"
        ) from exc
    header, _, rest = text.partition("\n")
    if header != REPORT_HEADER:
        raise LedgerVerifyError("not a redline attestation", index=None, reason="report_format")
    body: dict[str, Any] = json.loads(rest)
    return body


def verify_report(
    report: bytes,
    bundle: dict[str, Any],
    log: Verifier,
    witnesses: Sequence[Verifier] = (),
    quorum: int = 0,
) -> tuple[dict[str, Any], BundleResult]:
    """Verify a report against a full bundle; raise LedgerVerifyError if any count differs."""
    body = read_report(report, log)
    result = verify_bundle(bundle, log, witnesses, quorum)
    if not result.full:
        raise LedgerVerifyError(
            "attestations need a full bundle (all entries)", index=None, reason="bundle_partial"
        )
    cp = body["checkpoint"]
    if (cp["size"], cp["root"]) != (result.checkpoint.size, result.checkpoint.root.hex()):
        raise LedgerVerifyError(
            "the report covers another checkpoint than the bundle",
            index=None,
            reason="report_checkpoint_mismatch",
        )
    counts, n = compute_counts((e for _, e in result.entries), float(body["from"]), float(body["to"]))
    if json.loads(canonical_json(counts)) != body["counts"] or n != body["entries"]:
        raise LedgerVerifyError(
            "the report's counts differ from the entries the bundle proves",
            index=None,
            reason="report_counts_mismatch",
        )
    return body, result
