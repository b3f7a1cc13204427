"""RFC 9162 Merkle tree hashing, inclusion and consistency proofs.

Leaves are hashed as ``SHA-256(0x00 || data)`` and interior nodes as
``SHA-256(0x01 || left || right)`` (RFC 9162 §2.1.1), so a leaf can never be
passed off as a node. The root of an empty tree is ``SHA-256("")``.

Two tree shapes are offered:

* ``CompactRange`` keeps only the O(log n) roots of the perfect subtrees that
  make up the tree so far; it computes the root of a million leaves in one pass
  with about two hash calls per leaf, and is what full verification uses.
* ``MerkleTree`` keeps every perfect-subtree hash (2·32 bytes per leaf, in flat
  ``bytearray`` levels) so that the root of any prefix and any inclusion or
  consistency proof costs O(log² n) hashes after the leaves are loaded.

Proof generation follows RFC 9162 §2.1.3.1 (``PATH``) and §2.1.4.1
(``PROOF``/``SUBPROOF``); proofs list hashes from the leaf side up. Verification
follows §2.1.3.2 and §2.1.4.2 to the letter; verifiers return ``False`` on any
malformed input rather than raising.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """The RFC 9162 hash of one leaf: ``SHA-256(0x00 || data)``."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the given leaf hashes (RFC 9162 §2.1.1)."""
    cr = CompactRange()
    for h in leaf_hashes:
        cr.append(h)
    return cr.root()


class CompactRange:
    """A streaming tree builder holding only the perfect-subtree roots of [0, size).

    ``append`` costs one hash plus one more per trailing 1-bit of the size
    (amortised two hashes per leaf); ``root`` folds the O(log n) stack.
    """

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self.size = 0

    def append(self, leaf: bytes) -> None:
        """Add the next leaf hash (already leaf-hashed, 32 bytes)."""
        h = leaf
        size = self.size
        stack = self._stack
        while size & 1:
            h = _sha256(b"\x01" + stack.pop() + h).digest()
            size >>= 1
        stack.append(h)
        self.size += 1

    def root(self) -> bytes:
        """The root of the tree of every leaf appended so far."""
        if not self._stack:
            return EMPTY_ROOT
        it = reversed(self._stack)
        r = next(it)
        for h in it:
            r = _sha256(b"\x01" + h + r).digest()
        return r


class MerkleTree:
    """An append-only tree that keeps every perfect-subtree hash, for fast proofs.

    ``levels[k]`` holds, packed 32 bytes each, the hashes of the perfect subtrees
    of height ``k`` that are complete so far: node ``i`` covers leaves
    ``[i·2^k, (i+1)·2^k)``.
    """

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self.size = 0
        for h in leaf_hashes:
            self.append(h)

    def append(self, leaf: bytes) -> int:
        """Add one leaf hash; returns its index."""
        if len(leaf) != HASH_SIZE:
            raise ValueError("leaf hash must be 32 bytes")
        index = self.size
        levels = self._levels
        levels[0] += leaf
        h = leaf
        i, k = index, 0
        while i & 1:
            left = bytes(levels[k][(i - 1) * HASH_SIZE : i * HASH_SIZE])
            h = _sha256(b"\x01" + left + h).digest()
            k += 1
            if len(levels) == k:
                levels.append(bytearray())
            levels[k] += h
            i >>= 1
        self.size += 1
        return index

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        if not 0 <= index < self.size:
            raise IndexError(index)
        return bytes(self._levels[0][index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def range_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for 0 <= start < end <= size."""
        if not 0 <= start < end <= self.size:
            raise ValueError(f"bad range [{start}, {end}) for tree of size {self.size}")
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            k = n.bit_length() - 1
            i = start >> k
            return bytes(self._levels[k][i * HASH_SIZE : (i + 1) * HASH_SIZE])
        k = _split(n)
        return node_hash(self.range_hash(start, start + k), self.range_hash(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (default: all of them)."""
        n = self.size if size is None else size
        if n < 0 or n > self.size:
            raise ValueError(f"size {n} out of range for tree of size {self.size}")
        return EMPTY_ROOT if n == 0 else self.range_hash(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) — RFC 9162 §2.1.3.1."""
        n = self.size if size is None else size
        if n > self.size:
            raise ValueError(f"size {n} beyond tree size {self.size}")
        return inclusion_proof(index, n, self.range_hash)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[second]) — RFC 9162 §2.1.4.1."""
        n = self.size if second is None else second
        if n > self.size:
            raise ValueError(f"size {n} beyond tree size {self.size}")
        return consistency_proof(first, n, self.range_hash)


RangeHasher = Callable[[int, int], bytes]


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose roots form PATH(index, D[size]), leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} out of range for tree size {size}")
    out: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    # Walk down from the root; the RFC prepends deeper hashes, so collect then reverse.
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start, m = start + k, m - k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The leaf ranges whose roots form PROOF(first, D[second]), leaf side first."""
    if not 0 <= first <= second:
        raise ValueError(f"bad sizes {first} -> {second}")
    if first == 0 or first == second:
        return []
    out: list[tuple[int, int]] = []
    start, end, m, b = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not b:
                out.append((start, end))
            break
        k = _split(n)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start, m, b = start + k, m - k, False
    out.reverse()
    return out


def inclusion_proof(index: int, size: int, range_hash: RangeHasher) -> list[bytes]:
    """PATH(index, D[size]) using ``range_hash(start, end)`` to compute subtree roots."""
    return [range_hash(a, b) for a, b in inclusion_ranges(index, size)]


def consistency_proof(first: int, second: int, range_hash: RangeHasher) -> list[bytes]:
    """PROOF(first, D[second]) using ``range_hash(start, end)`` to compute subtree roots."""
    return [range_hash(a, b) for a, b in consistency_ranges(first, second)]


def inclusion_proof_from_leaves(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) over an explicit list of leaf hashes (simple, O(n))."""

    def rh(a: int, b: int) -> bytes:
        return root_of(leaf_hashes[a:b])

    return inclusion_proof(index, len(leaf_hashes), rh)


def _lsb(x: int) -> int:
    return x & 1


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root implied by an inclusion proof (RFC 9162 §2.1.3.2), or None if malformed."""
    if not 0 <= index < size or len(leaf) != HASH_SIZE:
        return None
    if any(len(p) != HASH_SIZE for p in proof):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if _lsb(fn) or fn == sn:
            r = node_hash(p, r)
            if not _lsb(fn):
                while not (_lsb(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True iff ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree ``(size, root)``."""
    got = root_from_inclusion_proof(index, size, leaf, proof)
    return got is not None and got == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True iff ``proof`` shows tree ``(first, first_root)`` is a prefix of ``(second, second_root)``.

    RFC 9162 §2.1.4.2, plus the edge cases the RFC leaves to the caller: equal
    sizes need equal roots and an empty proof; a first size of 0 needs the
    empty-tree root and an empty proof.
    """
    if len(first_root) != HASH_SIZE or len(second_root) != HASH_SIZE:
        return False
    if any(len(p) != HASH_SIZE for p in proof):
        return False
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if _lsb(fn) or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not _lsb(fn):
                while not (_lsb(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def proof_bytes(proof: Sequence[bytes]) -> int:
    """The wire size of a proof: 32 bytes per hash."""
    return HASH_SIZE * len(proof)
