"""The canonical byte encoding of ledger entries, content commitments and encryption.

Every entry is canonical JSON — keys sorted, no whitespace, UTF-8, no NaN — of
an object with ``"v": 1`` (the encoding version) and a ``kind``:

``decision``      one enforcement decision (input, output or tool call);
``human_action``  approve / reject / expire / stop / cancel / resume by a person or the sweeper;
``policy_load``   a policy came into force;
``key_change``    a log, witness, signer or content key was created or rotated.

Entries hold **metadata only** (who, which policy, which verdict and rules,
when). The content — messages, output, tool-call arguments, reasons typed by
people — is represented by a salted commitment::

    salt       = HMAC-SHA256(commitment_secret, "redline/salt/v1" || 0x00 || nonce)
    commitment = HMAC-SHA256(salt, canonical_json(content))

``nonce`` is 16 random bytes kept in the entry, so a single entry can be opened
by revealing its salt without revealing the deployment secret or any other
entry's salt. Optionally the content is also encrypted with AES-256-GCM under a
deployment content key; the ciphertext is stored beside the leaf (never in it,
so it does not change the tree) with the entry's leaf data as associated data.
"""

from __future__ import annotations

import base64
import hmac
import itertools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from redline.decision import Decision
from redline.errors import InputError, LedgerVerifyError
from redline.facts import Facts

ENTRY_VERSION = 1
KINDS = ("decision", "human_action", "policy_load", "key_change")
HUMAN_ACTIONS = ("approve", "reject", "expire", "stop", "resume", "cancel")
_SALT_LABEL = b"redline/salt/v1\x00"


# A number token in compact JSON follows ':' ',' or '['. orjson and the stdlib agree on
# everything but the spelling of floats Python writes with an exponent (|x| < 1e-4 or
# >= 1e16); entries with such numbers (or look-alikes inside strings) take the slow path
# when they are decoded.
_NUMBER = re.compile(rb"[:,\[](-?[0-9][0-9.eE+-]*)")


def _numbers_agree(data: bytes) -> bool:
    for tok in _NUMBER.findall(data):
        t = tok.lstrip(b"-")
        if b"e" in t or b"E" in t or t.startswith(b"0.0000") or len(t.split(b".")[0]) >= 16:
            return False
    return True


def _stdlib_canonical(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode("utf-8")


# The canonical encoder, built once (json.dumps would build one per call).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, UTF-8 kept, NaN refused.

    Exactly the stdlib's ``json.dumps(sort_keys=True, separators=(",", ":"),
    ensure_ascii=False, allow_nan=False)``, with its C encoder. (A checked orjson
    fast path measured slower once the checks that make it agree were counted.)
    """
    return _stdlib_canonical(value)


def derive_salt(secret: bytes, nonce: bytes) -> bytes:
    """The per-entry salt; revealing it opens that entry's commitment only."""
    return hmac.digest(secret, _SALT_LABEL + nonce, "sha256")


def commit(salt: bytes, content: Any) -> bytes:
    """HMAC-SHA256(salt, canonical_json(content))."""
    return hmac.digest(salt, canonical_json(content), "sha256")


def check_opening(entry: Mapping[str, Any], salt: bytes, content: Any) -> bool:
    """True iff ``content`` with ``salt`` opens the commitment stored in ``entry``."""
    want = base64.b64decode(entry.get("commitment", ""))
    return hmac.compare_digest(commit(salt, content), want)


@dataclass(frozen=True)
class BuiltEntry:
    """An entry ready to append: its bytes, kind, and optional content ciphertext."""

    data: bytes
    kind: str
    ciphertext: bytes | None
    salt: bytes


def decision_content(facts: Facts) -> dict[str, Any]:
    """What a decision's commitment covers: the text judged and everything identifying."""
    return {
        "messages": [m.model_dump() for m in facts.messages],
        "output": facts.output,
        "tool_calls": [{"name": c.name, "arguments": c.arguments, "id": c.id} for c in facts.tool_calls],
        "subject": facts.attributes.subject,
        "labels": dict(facts.attributes.labels),
        "user": facts.principal.user,
    }


def decision_metadata(facts: Facts, decision: Decision) -> dict[str, Any]:
    """The metadata of a decision that goes into the entry in clear."""
    approvals = decision.approvals
    return {
        "id": decision.id,
        "stage": str(decision.stage),
        "verdict": str(decision.verdict),
        "code": decision.code,
        "category": decision.category,
        "rules": list(decision.rules),
        "waivable": decision.waivable,
        "uncertain": decision.uncertain,
        "language": decision.language,
        "policy": {
            "name": decision.policy.name,
            "version": decision.policy.version,
            "hash": decision.policy.hash,
        },
        "classifier_version": decision.classifier_version,
        # The end user's identity is content (committed), tenant and app are not.
        "principal": {"tenant": facts.principal.tenant, "app": facts.principal.app},
        "attributes": {
            "purpose": facts.attributes.purpose,
            "legal_authority": facts.attributes.legal_authority,
            "classification": facts.attributes.classification,
        },
        "target": {"model": facts.target.model, "vendor": facts.target.vendor},
        "route": None if decision.route is None else decision.route.model,
        "tools": sorted({c.name for c in facts.tool_calls}),
        "approvals": None
        if approvals is None
        else {"count": approvals.count, "roles": list(approvals.roles)},
        "decided_at": facts.now,
    }


class EntryCodec:
    """Builds entries with commitments (and optional encryption) under deployment secrets."""

    def __init__(self, commitment_secret: bytes, content_key: bytes | None = None) -> None:
        if len(commitment_secret) < 32:
            raise ValueError("commitment secret must be at least 32 bytes")
        if content_key is not None and len(content_key) != 32:
            raise ValueError("content key must be 32 bytes (AES-256)")
        self._secret = commitment_secret
        self._aead = AESGCM(content_key) if content_key is not None else None
        # Nonces only need to be unique: a random 64-bit prefix per codec plus a counter
        # (no syscall per entry). Salts are unpredictable anyway (keyed by the secret).
        self._prefix = os.urandom(8)
        self._counter = itertools.count()

    def build(self, kind: str, metadata: Mapping[str, Any], content: Any, at: float) -> BuiltEntry:
        """Encode one entry. ``content`` is committed (and encrypted if a key is set), never stored."""
        if kind not in KINDS:
            raise InputError(f"unknown ledger entry kind {kind!r}", kinds=list(KINDS))
        reserved = {"v", "kind", "at", "commitment", "nonce"} & set(metadata)
        if reserved:
            raise InputError(f"metadata may not set reserved fields {sorted(reserved)}")
        nonce = self._prefix + next(self._counter).to_bytes(8, "big")
        salt = derive_salt(self._secret, nonce)
        content_bytes = canonical_json(content)
        obj = {
            **metadata,
            "v": ENTRY_VERSION,
            "kind": kind,
            "at": at,
            "nonce": base64.b64encode(nonce).decode(),
            "commitment": base64.b64encode(hmac.digest(salt, content_bytes, "sha256")).decode(),
        }
        data = canonical_json(obj)
        ct = None
        if self._aead is not None:
            # The salt is unique per entry (a PRF of a unique nonce), so its prefix is a
            # unique GCM nonce under this key without another random draw.
            iv = salt[:12]
            ct = iv + self._aead.encrypt(iv, content_bytes, data)
        return BuiltEntry(data, kind, ct, salt)

    def decision(self, facts: Facts, decision: Decision, at: float) -> BuiltEntry:
        return self.build("decision", decision_metadata(facts, decision), decision_content(facts), at)

    def salt_for(self, entry: Mapping[str, Any]) -> bytes:
        """The salt of an entry (to reveal it when opening that one entry)."""
        return derive_salt(self._secret, base64.b64decode(entry["nonce"]))

    def decrypt(self, data: bytes, ciphertext: bytes) -> Any:
        """The content of an entry from its ciphertext; raises LedgerVerifyError if it does not open."""
        if self._aead is None:
            raise LedgerVerifyError("no content key is configured", reason="no_content_key")
        try:
            plain = self._aead.decrypt(ciphertext[:12], ciphertext[12:], data)
        except InvalidTag as exc:
            raise LedgerVerifyError(
                "ciphertext does not decrypt under this key", reason="bad_ciphertext"
            ) from exc
        return json.loads(plain)


def decode_entry(data: bytes) -> dict[str, Any]:
    """Parse entry bytes, insisting they are the canonical encoding of a known version.

    "Canonical" means exactly ``canonical_json(json.loads(data)) == data``. A fast
    path with orjson gives the same answer where the two encoders provably agree
    (no exponent-range floats) and falls back to the stdlib otherwise.
    """
    obj: Any = None
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        obj = None
    if obj is not None and isinstance(obj, dict) and _numbers_agree(data):
        canonical = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) == data
    else:
        try:
            obj = json.loads(data.decode("utf-8"))
            canonical = _stdlib_canonical(obj) == data
        except (UnicodeDecodeError, ValueError) as exc:
            raise LedgerVerifyError("entry is not JSON", reason="entry_malformed") from exc
    if not isinstance(obj, dict) or obj.get("v") != ENTRY_VERSION or obj.get("kind") not in KINDS:
        raise LedgerVerifyError("entry has no known version and kind", reason="entry_malformed")
    if not canonical:
        raise LedgerVerifyError("entry is not canonically encoded", reason="entry_not_canonical")
    return obj
