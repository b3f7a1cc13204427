"""C2SP signed notes, checkpoints, witness co-signing and fork evidence."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from redline.errors import SignatureError
from redline.ledger.checkpoint import (
    Checkpoint,
    ForkError,
    check_fork,
    open_checkpoint,
    sign_checkpoint,
)
from redline.ledger.merkle import MerkleTree, leaf_hash
from redline.ledger.note import (
    EM_DASH,
    SIG_COSIGNATURE_V1,
    SIG_ED25519,
    NoteError,
    Signer,
    Verifier,
    add_signatures,
    key_id,
    open_note,
    parse_note,
    sign_note,
)
from redline.ledger.witness import Witness

# golang.org/x/mod/sumdb/note example and test vectors, and the c2sp.org/signed-note example.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
PETER_SIG = (
    f"{EM_DASH} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf"
    "qdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    f"{EM_DASH} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWL"
    "ox33WWd1RvMc+QQ=\n"
)
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    f"{EM_DASH} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXm"
    "RKuwHjG1Yu72IneyaQM=\n"
).encode()
# transparency-dev/formats note/note_cosigv1_test.go: a type-0x04 vkey, a '+' inside base64, a timestamp.
COSIG_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
PLUS_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
COSIG_B64 = (
    "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA=="
)


def test_go_signing_vector_is_byte_exact() -> None:
    signer = Signer.from_skey(GO_SKEY)
    assert signer.verifier().vkey() == GO_VKEY
    assert signer.skey() == GO_SKEY
    assert sign_note(GO_TEXT, [signer]) == (GO_TEXT + "\n" + PETER_SIG).encode()


def test_go_and_spec_notes_open() -> None:
    peter, enoch = Verifier.from_vkey(GO_VKEY), Verifier.from_vkey(ENOCH_VKEY)
    note = (GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()
    opened = open_note(note, [peter])
    assert opened.text == GO_TEXT
    assert opened.verified_names() == ["PeterNeumann"]
    assert [s.name for s in opened.unknown] == ["EnochRoot"]
    assert open_note(note, [peter, enoch]).verified_names() == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(NoteError):
        open_note(note, [])
    spec = Verifier.from_vkey(SPEC_VKEY)
    assert spec.vkey() == SPEC_VKEY
    assert open_note(SPEC_NOTE, [spec]).text == "This is an example message.\n"


def test_external_vkeys_parse_and_key_ids_follow_the_formula() -> None:
    cos = Verifier.from_vkey(COSIG_VKEY)
    assert cos.sig_type == SIG_COSIGNATURE_V1
    assert cos.vkey() == COSIG_VKEY
    assert Verifier.from_vkey(PLUS_VKEY).vkey() == PLUS_VKEY
    peter = Verifier.from_vkey(GO_VKEY)
    assert key_id("PeterNeumann", SIG_ED25519, peter.public_key) == 0xC74F20A3
    assert key_id("PeterNeumann", SIG_COSIGNATURE_V1, peter.public_key) != 0xC74F20A3
    for bad in (GO_VKEY.replace("c74f20a3", "00000000"), GO_VKEY[:-2], "a+b", "x y+c74f20a3+AA==", ""):
        with pytest.raises(NoteError):
            Verifier.from_vkey(bad)


def test_cosignature_blob_layout_matches_reference_timestamp() -> None:
    raw = base64.b64decode(COSIG_B64)
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[4:12], "big") == 1727964367


def test_tampering_is_refused() -> None:
    peter = Verifier.from_vkey(GO_VKEY)
    good = (GO_TEXT + "\n" + PETER_SIG).encode()
    with pytest.raises(NoteError) as exc:
        open_note(good.replace(b"problem,", b"problem;"), [peter])
    assert exc.value.details["reason"] == "bad_signature"
    with pytest.raises(NoteError):
        parse_note(GO_TEXT.encode() + PETER_SIG.encode())  # no blank line
    with pytest.raises(NoteError):
        parse_note(b"te\x01xt\n\n" + PETER_SIG.encode())
    with pytest.raises(NoteError):
        sign_note("no newline", [Signer.from_skey(GO_SKEY)])


ORIGIN = "redline.test/log"


def _tree(n: int) -> MerkleTree:
    return MerkleTree([leaf_hash(f"e{i}".encode()) for i in range(n)])


def _cp(tree: MerkleTree, size: int, log: Signer) -> bytes:
    return sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), log)


def test_checkpoint_body_roundtrip_and_malformed() -> None:
    cp = Checkpoint(ORIGIN, 7, bytes(range(32)))
    assert cp.body() == f"{ORIGIN}\n7\n{base64.b64encode(bytes(range(32))).decode()}\n"
    assert Checkpoint.parse(cp.body()) == cp
    zero = "A" * 43 + "="
    for body in (
        f"o\n07\n{zero}\n",
        "o\n7\n",
        "o\n7\nAAAA\n",
        f"o\n7\n{zero}\n\next\n",
        f"o\n7\n{zero}",
        f"o\n-1\n{zero}\n",
    ):
        with pytest.raises(NoteError):
            Checkpoint.parse(body)


def test_checkpoint_quorum_and_witness_flow(tmp_path: Path) -> None:
    log = Signer.generate(ORIGIN)
    w1 = Signer.generate("w1.test/witness", SIG_COSIGNATURE_V1)
    w2 = Signer.generate("w2.test/witness", SIG_COSIGNATURE_V1)
    tree = _tree(20)
    wit1 = Witness(w1, log.verifier(), tmp_path / "w1.json")
    wit2 = Witness(w2, log.verifier(), tmp_path / "w2.json")

    n5 = _cp(tree, 5, log)
    c1 = wit1.cosign(n5, now=1000)
    assert open_checkpoint(c1, log.verifier(), [w1.verifier()], quorum=1).witnesses == ("w1.test/witness",)
    with pytest.raises(NoteError) as exc:
        open_checkpoint(c1, log.verifier(), [w1.verifier(), w2.verifier()], quorum=2)
    assert exc.value.details["reason"] == "quorum_not_met"
    c2 = wit2.cosign(n5, now=1000)
    got = open_checkpoint(
        n5, log.verifier(), [w1.verifier(), w2.verifier()], quorum=2, extra_cosignatures=[c1, c2]
    )
    assert set(got.witnesses) == {"w1.test/witness", "w2.test/witness"}

    # Forward with a consistency proof.
    n12 = _cp(tree, 12, log)
    cosigned = wit1.cosign(n12, tree.consistency_proof(5, 12), now=1001)
    assert open_checkpoint(cosigned, log.verifier(), [w1.verifier()], quorum=1)
    assert wit1.state() is not None and wit1.state().size == 12  # type: ignore[union-attr]

    # Backwards is refused, not signed.
    with pytest.raises(SignatureError) as exc2:
        wit1.cosign(n5)
    assert exc2.value.details["reason"] == "stale"

    # A forged tree: same size 12, different root -> fork with both checkpoints.
    forged = MerkleTree([leaf_hash(f"e{i}".encode()) if i != 3 else leaf_hash(b"x") for i in range(20)])
    f12 = _cp(forged, 12, log)
    with pytest.raises(ForkError) as fork:
        wit1.cosign(f12)
    assert fork.value.evidence.reason == "same_size_different_root"
    assert check_fork(fork.value.evidence.first, fork.value.evidence.second, log.verifier()) is not None

    # A forged larger tree whose consistency proof cannot be made.
    f15 = _cp(forged, 15, log)
    with pytest.raises(ForkError) as fork2:
        wit1.cosign(f15, forged.consistency_proof(12, 15))
    ev = fork2.value.evidence
    assert ev.reason == "inconsistent"
    assert check_fork(ev.first, ev.second, log.verifier(), forged.consistency_proof(12, 15)) is not None
    assert check_fork(n12, _cp(tree, 15, log), log.verifier(), tree.consistency_proof(12, 15)) is None
    # State unchanged by refusals.
    assert wit1.state().size == 12  # type: ignore[union-attr]


def test_witness_refuses_wrong_log_and_a_witness_cannot_impersonate(tmp_path: Path) -> None:
    log = Signer.generate(ORIGIN)
    other = Signer.generate(ORIGIN)
    wit = Witness(Signer.generate("w.test/x"), log.verifier(), tmp_path / "s.json")
    with pytest.raises(NoteError):
        wit.cosign(_cp(_tree(3), 3, other))
    assert wit.state() is None
    # A cosignature key is a different key ID from the same key's note key.
    note = _cp(_tree(3), 3, log)
    with pytest.raises(NoteError):
        open_checkpoint(
            add_signatures(note, [log.as_type(SIG_COSIGNATURE_V1)], timestamp=1),
            log.verifier(),
            [log.as_type(SIG_COSIGNATURE_V1).verifier()],
            quorum=1,
        )


def test_log_key_name_must_match_origin() -> None:
    with pytest.raises(NoteError):
        sign_checkpoint(Checkpoint(ORIGIN, 1, bytes(32)), Signer.generate("other.test/log"))
