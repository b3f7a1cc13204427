"""RFC 9162 Merkle tree: published vectors, exhaustive and property tests."""

from __future__ import annotations

import hashlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redline.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MerkleTree,
    consistency_proof,
    inclusion_proof_from_leaves,
    leaf_hash,
    node_hash,
    proof_bytes,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# Vectors from transparency-dev/merkle proof/verify_test.go and testonly/constants.go
# (the certificate-transparency reference tree of 8 leaves).
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
H = {
    "96a2": "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f08": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    "bc1a": "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca85": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37e": "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "fac5": "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "6e34": "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "0ebc": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "b086": "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
}
# (0-based leaf index, tree size, proof)
INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a2", "5f08", "6b47"]),
    (5, 8, ["bc1a", "ca85", "d37e"]),
    (2, 3, ["fac5"]),
    (1, 5, ["6e34", "5f08", "bc1a"]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a2", "5f08", "6b47"]),
    (6, 8, ["0ebc", "ca85", "d37e"]),
    (2, 5, ["5f08", "bc1a"]),
    (6, 7, ["0ebc", "b086", "d37e"]),
]


def _proof(names: list[str]) -> list[bytes]:
    return [bytes.fromhex(H[n]) for n in names]


def _hashes(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_hashing_is_domain_separated() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_of([]) == EMPTY_ROOT
    assert MerkleTree().root() == EMPTY_ROOT


@pytest.mark.parametrize("n", range(1, 9))
def test_reference_roots(n: int) -> None:
    hashes = [leaf_hash(x) for x in LEAVES[:n]]
    assert root_of(hashes) == ROOTS[n - 1]
    assert MerkleTree(hashes).root() == ROOTS[n - 1]
    assert MerkleTree([leaf_hash(x) for x in LEAVES]).root(n) == ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size", "names"), INCLUSION)
def test_reference_inclusion_proofs(index: int, size: int, names: list[str]) -> None:
    hashes = [leaf_hash(x) for x in LEAVES[:size]]
    want = _proof(names)
    assert MerkleTree(hashes).inclusion_proof(index) == want
    assert inclusion_proof_from_leaves(index, hashes) == want
    assert verify_inclusion(index, size, hashes[index], want, ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "names"), CONSISTENCY)
def test_reference_consistency_proofs(first: int, second: int, names: list[str]) -> None:
    tree = MerkleTree([leaf_hash(x) for x in LEAVES])
    want = _proof(names)
    assert tree.consistency_proof(first, second) == want
    assert verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], want)


def _corrupt_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> list[tuple]:
    some = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
    probes = [
        (index - 1, size, leaf, proof, root),
        (index + 1, size, leaf, proof, root),
        (index ^ 2, size, leaf, proof, root),
        (index, size * 2, leaf, proof, root),
        (index, size // 2, leaf, proof, root),
        (index, size, leaf_hash(b"WrongLeaf"), proof, root),
        (index, size, leaf, proof, EMPTY_ROOT),
        (index, size, leaf, proof, some),
        (index, size, leaf, [*proof, b""], root),
        (index, size, leaf, [*proof, root], root),
        (index, size, leaf, [root, *proof], root),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        probes.append((index, size, leaf, bad, root))
    if proof:
        probes.append((index, size, leaf, proof[:-1], root))
    if len(proof) > 1:
        probes.append((index, size, leaf, [proof[0], some, *proof[1:]], root))
    return probes


def _corrupt_consistency(m: int, n: int, r1: bytes, r2: bytes, proof: list[bytes]) -> list[tuple]:
    probes = [
        (m - 1, n, r1, r2, proof),
        (m + 1, n, r1, r2, proof),
        (m ^ 2, n, r1, r2, proof),
        (m, n * 2, r1, r2, proof),
        (m, n // 2, r1, r2, proof),
        (m, n, leaf_hash(b"WrongRoot"), r2, proof),
        (m, n, r1, leaf_hash(b"WrongRoot"), proof),
        (m, n, r2, r1, proof),
        (m, n, r1, r2, []),
        (m, n, r1, r2, [*proof, r1]),
        (m, n, r1, r2, [*proof, r2]),
        (m, n, r1, r2, [r1, *proof]),
        (m, n, r1, r2, [r2, *proof]),
        (m, n, r1, r2, [proof[0], *proof]),
        (m, n, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((m, n, r1, r2, bad))
    return probes


MAX_N = 300
_TREE = MerkleTree(_hashes(MAX_N))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_every_inclusion_proof_verifies_and_tampering_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, MAX_N), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    root = _TREE.root(size)
    leaf = _TREE.leaf(index)
    proof = _TREE.inclusion_proof(index, size)
    assert verify_inclusion(index, size, leaf, proof, root)
    for probe in _corrupt_inclusion(index, size, leaf, proof, root):
        assert not verify_inclusion(*probe), probe[:2]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_every_consistency_proof_verifies_and_tampering_fails(data: st.DataObject) -> None:
    second = data.draw(st.integers(1, MAX_N), label="second")
    first = data.draw(st.integers(1, second), label="first")
    r1, r2 = _TREE.root(first), _TREE.root(second)
    proof = _TREE.consistency_proof(first, second)
    assert verify_consistency(first, second, r1, r2, proof)
    if first < second:
        for probe in _corrupt_consistency(first, second, r1, r2, proof):
            assert not verify_consistency(*probe), probe[:2]


def test_all_sizes_exhaustively_small() -> None:
    """Every (index, size) and (first, second) pair up to 64, against an independent builder."""
    for n in range(1, 65):
        hashes = _hashes(n)
        root = root_of(hashes)
        assert _TREE.root(n) == root
        for i in range(n):
            assert verify_inclusion(i, n, hashes[i], inclusion_proof_from_leaves(i, hashes), root)
        for m in range(0, n + 1):
            proof = consistency_proof(m, n, lambda a, b, hs=hashes: root_of(hs[a:b]))
            assert verify_consistency(m, n, root_of(hashes[:m]), root, proof)


def test_rollback_and_fork_are_not_consistent() -> None:
    honest = _hashes(6)
    forged = list(honest)
    forged[2] = leaf_hash(b"forged")
    forged_tree = MerkleTree(forged)
    proof = forged_tree.consistency_proof(4, 6)
    assert not verify_consistency(4, 6, root_of(honest[:4]), forged_tree.root(), proof)
    assert not verify_consistency(6, 3, root_of(honest), root_of(honest[:3]), [])
    assert not verify_consistency(0, 3, b"\xab" * 32, root_of(honest[:3]), [])
    assert verify_consistency(0, 3, EMPTY_ROOT, root_of(honest[:3]), [])


@pytest.mark.parametrize("n", [*range(1, 70), 127, 128, 129, 255, 256, 257, 1000, 1023, 1024, 1025])
def test_proof_sizes_are_ceil_log2_n_hashes(n: int) -> None:
    """RFC 9162 §2.1.3: an inclusion proof has at most ⌈log2 n⌉ hashes, and the worst leaf needs all."""
    tree = MerkleTree(_hashes(n))
    bound = math.ceil(math.log2(n)) if n > 1 else 0
    sizes = [proof_bytes(tree.inclusion_proof(i)) for i in range(n)]
    assert max(sizes) == bound * 32
    assert all(s <= bound * 32 for s in sizes)
    # Consistency proofs are bounded by ⌈log2 n⌉ + 1 hashes (RFC 9162 §2.1.4).
    assert all(len(tree.consistency_proof(m)) <= bound + 1 for m in range(1, n + 1))


def test_compact_range_matches_tree_at_every_size() -> None:
    cr = CompactRange()
    for i, h in enumerate(_hashes(200)):
        cr.append(h)
        assert cr.root() == _TREE.root(i + 1)
        assert cr.size == i + 1


def test_bad_arguments() -> None:
    tree = MerkleTree(_hashes(3))
    with pytest.raises(ValueError):
        tree.inclusion_proof(3)
    with pytest.raises(ValueError):
        tree.consistency_proof(4)
    with pytest.raises(ValueError):
        tree.root(4)
    with pytest.raises(ValueError):
        tree.append(b"short")
    assert not verify_inclusion(0, 0, tree.leaf(0), [], tree.root())


def test_every_proof_for_every_size_up_to_300() -> None:
    """Exhaustive: every inclusion proof and every consistency proof for sizes 1..300 verifies."""
    roots = [_TREE.root(n) for n in range(MAX_N + 1)]
    for n in range(1, MAX_N + 1):
        for i in range(n):
            assert verify_inclusion(i, n, _TREE.leaf(i), _TREE.inclusion_proof(i, n), roots[n])
        for m in range(0, n + 1):
            assert verify_consistency(m, n, roots[m], roots[n], _TREE.consistency_proof(m, n))
