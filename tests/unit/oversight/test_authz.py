"""Authorisation tokens: bound to the exact call, signed, expiring; every failure has its code."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from redline.errors import AuthorizationError
from redline.oversight.authz import (
    AuthorizationSigner,
    call_digest,
    load_public_key,
    public_key_from_text,
    verify_offline,
)

ARGS = {"target_id": "T-17", "weapon": "GBU-39"}
NOW = 1_700_000_000.0


@pytest.fixture
def signer() -> AuthorizationSigner:
    return AuthorizationSigner.generate()


def issue(signer: AuthorizationSigner, ttl: float = 300.0) -> str:
    token, _ = signer.issue(
        hold_id="h1",
        tool_name="engage_target",
        arguments=ARGS,
        policy_hash="sha256:p",
        issued_at=NOW,
        ttl_s=ttl,
    )
    return token


def code_of(
    token: str, key: object, tool: str = "engage_target", args: object = ARGS, now: float = NOW
) -> str:
    with pytest.raises(AuthorizationError) as err:
        verify_offline(token, key, tool, args, now)  # type: ignore[arg-type]
    return err.value.code


def test_valid_token_verifies(signer: AuthorizationSigner) -> None:
    claims = verify_offline(issue(signer), signer.public_key, "engage_target", ARGS, NOW + 10)
    assert (claims.hold_id, claims.tool, claims.policy, claims.expires_at) == (
        "h1",
        "engage_target",
        "sha256:p",
        NOW + 300,
    )
    assert claims.call == call_digest("engage_target", ARGS)


def test_tokens_are_unique(signer: AuthorizationSigner) -> None:
    assert issue(signer) != issue(signer)


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("engage_target", {"target_id": "T-18", "weapon": "GBU-39"}),
        ("engage_target", {**ARGS, "salvo": 2}),
        ("engage_target", {"target_id": "T-17"}),
        ("engage_targets", ARGS),
    ],
)
def test_changed_arguments_or_tool_fail(signer: AuthorizationSigner, tool: str, args: object) -> None:
    assert code_of(issue(signer), signer.public_key, tool, args) == "authorization_mismatch"


def test_expired_fails(signer: AuthorizationSigner) -> None:
    token = issue(signer, ttl=60)
    verify_offline(token, signer.public_key, "engage_target", ARGS, NOW + 59.9)
    assert code_of(token, signer.public_key, now=NOW + 60) == "authorization_expired"


def test_wrong_key_fails(signer: AuthorizationSigner) -> None:
    assert code_of(issue(signer), AuthorizationSigner.generate().public_key) == "authorization_wrong_key"


def test_tampered_payload_fails(signer: AuthorizationSigner) -> None:
    head, sig = issue(signer).split(".")
    claims = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    claims["exp"] = NOW + 10**9
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "." + sig
    assert code_of(forged, signer.public_key) == "authorization_signature_invalid"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "!!!.???", "e30.AAAA"])
def test_malformed_fails(signer: AuthorizationSigner, token: str) -> None:
    assert code_of(token, signer.public_key) == "authorization_malformed"


def test_digest_separates_name_and_arguments() -> None:
    assert call_digest("ab", '"c"') != call_digest("a", 'b"c"')
    assert call_digest("t", {"b": 1, "a": 2}) == call_digest("t", '{"a":2,"b":1}')


def test_key_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "authz.key"
    created = AuthorizationSigner.load_or_create(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    loaded = AuthorizationSigner.load_or_create(path)
    assert loaded.kid == created.kid
    public = load_public_key(path.with_suffix(".key.pub"))
    verify_offline(issue(loaded), public, "engage_target", ARGS, NOW)
    verify_offline(issue(loaded), public_key_from_text(created.public_raw_b64()), "engage_target", ARGS, NOW)
