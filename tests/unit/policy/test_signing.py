"""Signed policy bundles: canonical hashing, Ed25519 signatures, required signers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from redline.cli import main
from redline.errors import SignatureError, SignatureMissingError
from redline.policy import default_policy_path, read_file
from redline.policy.signing import (
    load_private_key,
    load_public_key,
    new_keypair,
    require_signers,
    sign,
    signature_path,
)
from redline.services import load_deployment_policy
from redline.settings import load_settings


@pytest.fixture
def bundle(tmp_path: Path) -> dict[str, Path]:
    policy = tmp_path / "policy.yaml"
    shutil.copy(default_policy_path(), policy)
    keys = tmp_path / "keys"
    out: dict[str, Path] = {"policy": policy, "keys": keys}
    for name in ("provider", "customer", "mallory"):
        out[f"{name}.key"], out[f"{name}.pub"] = new_keypair(keys, name)
    return out


def _trusted(b: dict[str, Path]) -> dict[str, object]:
    return {n: load_public_key(b[f"{n}.pub"]) for n in ("provider", "customer")}


def test_both_parties_sign_and_it_verifies(bundle: dict[str, Path]) -> None:
    doc = read_file(bundle["policy"])
    sig = signature_path(bundle["policy"])
    sign(doc, load_private_key(bundle["provider.key"]), "provider", sig)
    sign(doc, load_private_key(bundle["customer.key"]), "customer", sig)
    statuses = require_signers(doc, sig, ["provider", "customer"], _trusted(bundle))  # type: ignore[arg-type]
    assert {s.signer: s.status for s in statuses} == {"provider": "valid", "customer": "valid"}


def test_reformatting_keeps_signatures_but_changing_meaning_breaks_them(bundle: dict[str, Path]) -> None:
    import yaml

    doc = read_file(bundle["policy"])
    sig = signature_path(bundle["policy"])
    sign(doc, load_private_key(bundle["provider.key"]), "provider", sig)
    data = yaml.safe_load(bundle["policy"].read_text())
    # Same meaning, different formatting: flow style, no comments, different key order.
    bundle["policy"].write_text(json.dumps(dict(reversed(list(data.items())))))
    reformatted = read_file(bundle["policy"])
    assert reformatted.hash == doc.hash
    require_signers(reformatted, sig, ["provider"], _trusted(bundle))  # type: ignore[arg-type]
    data["categories"]["mass_domestic_surveillance"]["threshold"] = 0.99
    bundle["policy"].write_text(yaml.safe_dump(data))
    changed = read_file(bundle["policy"])
    assert changed.hash != doc.hash
    with pytest.raises(SignatureError) as err:
        require_signers(changed, sig, ["provider"], _trusted(bundle))  # type: ignore[arg-type]
    assert err.value.code == "signature_invalid"
    assert "provider" in err.value.message


def test_missing_signer_is_named(bundle: dict[str, Path]) -> None:
    doc = read_file(bundle["policy"])
    sig = signature_path(bundle["policy"])
    sign(doc, load_private_key(bundle["provider.key"]), "provider", sig)
    with pytest.raises(SignatureMissingError) as err:
        require_signers(doc, sig, ["provider", "customer"], _trusted(bundle))  # type: ignore[arg-type]
    assert err.value.code == "signature_missing"
    assert err.value.details["signers"] == ["customer"]


def test_signature_by_the_wrong_key_is_rejected(bundle: dict[str, Path]) -> None:
    doc = read_file(bundle["policy"])
    sig = signature_path(bundle["policy"])
    sign(doc, load_private_key(bundle["provider.key"]), "provider", sig)
    sign(doc, load_private_key(bundle["mallory.key"]), "customer", sig)  # mallory claims to be the customer
    with pytest.raises(SignatureError) as err:
        require_signers(doc, sig, ["provider", "customer"], _trusted(bundle))  # type: ignore[arg-type]
    assert err.value.code == "signature_invalid"
    assert err.value.details["signers"] == ["customer"]


def test_corrupted_signature_file_is_a_clear_error(bundle: dict[str, Path]) -> None:
    doc = read_file(bundle["policy"])
    sig = signature_path(bundle["policy"])
    sig.write_text("{not json")
    with pytest.raises(SignatureError) as err:
        require_signers(doc, sig, ["provider"], _trusted(bundle))  # type: ignore[arg-type]
    assert err.value.code == "signature_invalid"


def test_flipped_signature_bytes_do_not_verify(bundle: dict[str, Path]) -> None:
    import base64

    doc = read_file(bundle["policy"])
    sig = signature_path(bundle["policy"])
    data = sign(doc, load_private_key(bundle["provider.key"]), "provider", sig)
    raw = bytearray(base64.b64decode(data["signatures"][0]["signature"]))
    raw[0] ^= 1
    data["signatures"][0]["signature"] = base64.b64encode(bytes(raw)).decode()
    sig.write_text(json.dumps(data))
    with pytest.raises(SignatureError):
        require_signers(doc, sig, ["provider"], _trusted(bundle))  # type: ignore[arg-type]


def test_deployment_refuses_policy_missing_a_signature(bundle: dict[str, Path], tmp_path: Path) -> None:
    doc = read_file(bundle["policy"])
    sign(doc, load_private_key(bundle["provider.key"]), "provider", signature_path(bundle["policy"]))
    settings = load_settings(
        environ={},
        data_dir=tmp_path / "data",
        policy_path=bundle["policy"],
        require_signers=["provider", "customer"],
        trusted_keys={"provider": bundle["provider.pub"], "customer": bundle["customer.pub"]},
    )
    with pytest.raises(SignatureMissingError, match="customer"):
        load_deployment_policy(settings)
    sign(doc, load_private_key(bundle["customer.key"]), "customer", signature_path(bundle["policy"]))
    assert load_deployment_policy(settings).ref.hash == doc.hash


def test_cli_keys_sign_verify(tmp_path: Path) -> None:
    runner = CliRunner()
    policy = tmp_path / "p.yaml"
    shutil.copy(default_policy_path(), policy)
    keys = tmp_path / "k"
    for name in ("provider", "customer"):
        r = runner.invoke(main, ["keys", "new", name, "--out", str(keys)])
        assert r.exit_code == 0, r.output
    r = runner.invoke(
        main, ["policy", "sign", str(policy), "--key", str(keys / "provider.key"), "--signer", "provider"]
    )
    assert r.exit_code == 0, r.output
    trust = ["--trust", f"provider={keys / 'provider.pub'}", "--trust", f"customer={keys / 'customer.pub'}"]
    r = runner.invoke(main, ["policy", "verify", str(policy), *trust, "--require", "provider,customer"])
    assert r.exit_code == 4
    assert "customer" in r.output and "missing" in r.output
    r = runner.invoke(
        main, ["policy", "sign", str(policy), "--key", str(keys / "customer.key"), "--signer", "customer"]
    )
    r = runner.invoke(main, ["policy", "verify", str(policy), *trust, "--require", "provider,customer"])
    assert r.exit_code == 0, r.output
    assert "ok: signed by provider, customer" in r.output
    r = runner.invoke(main, ["keys", "new", "provider", "--out", str(keys)])
    assert r.exit_code == 2 and "refusing to overwrite" in r.output
