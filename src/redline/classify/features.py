"""Turning facts into the classifier's input: texts to embed and hashed n-gram features.

A request is read as two texts: the **latest** text judged at its stage
(``facts.text()``) and its **conversation** (earlier turns, then the latest).
The head sees:

* the embedding of the latest text and the embedding of the conversation (the
  same vector when there are no earlier turns, so single-turn input costs one
  embedding);
* hashed character n-grams of the normalised latest text (they survive typos,
  leetspeak and languages the English embedding model reads poorly);
* hashed word unigrams and bigrams of the normalised latest text;
* hashed word unigrams of the normalised earlier turns.

Each hashed block is sub-linear in counts and L2-normalised on its own, then
scaled by its block weight, so no block dominates by sheer length. Hashing uses
CRC-32 (stable across processes, unlike ``hash``), with the sign taken from a
second CRC so that collisions tend to cancel.

What callers may rely on: :func:`hashed_features` is a pure function of its
arguments and of :class:`FeatureConfig`; :func:`read_facts` is a pure function
of the facts.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..facts import Facts, Stage

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_CJK_PIECES = re.compile(f"[{_CJK}]+|[^{_CJK}]+")
CJK_WORDS = ("runs", "bigrams")
_PUNCT_RUN = re.compile(r"[{}\[\]\"(),:_]+")


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """The shape of the hashed features; stored in the artifact so training and use agree."""

    char_bits: int = 14
    word_bits: int = 13
    ctx_bits: int = 12
    char_min: int = 2
    char_max: int = 5
    char_weight: float = 1.0
    word_weight: float = 1.0
    ctx_weight: float = 0.5
    normalizer: str = "redline"
    #: How a run of CJK characters (Han, kana, Hangul: written without spaces) becomes
    #: words: ``"runs"`` keeps the whole run between punctuation as one word (artifacts
    #: before this field); ``"bigrams"`` reads it as overlapping two-character words.
    cjk_words: str = "runs"

    def __post_init__(self) -> None:
        if self.cjk_words not in CJK_WORDS:
            raise ValueError(f"cjk_words must be one of {', '.join(CJK_WORDS)}, not {self.cjk_words!r}")

    @property
    def size(self) -> int:
        return (1 << self.char_bits) + (1 << self.word_bits) + (1 << self.ctx_bits)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Reading:
    """What is judged: the latest text and the conversation before it ("" when none)."""

    latest: str
    context: str = ""

    @property
    def conversation(self) -> str:
        return f"{self.context}\n{self.latest}" if self.context else self.latest


#: Messages before the latest user turn that a conversation reading keeps.
CONTEXT_TURNS = 4


def read_facts(facts: Facts, turns: int = CONTEXT_TURNS) -> Reading:
    """The :class:`Reading` of ``facts`` at its stage.

    For input, the latest user turn with the earlier turns as context; for an
    output or a tool call, the judged text with the whole conversation (including
    the latest user turn) as context. Tool calls are made readable for the
    embedding model (``find_person({"name": …})`` → ``find person name …``).
    """
    text = facts.text()
    if facts.stage is Stage.INPUT:
        return Reading(text, facts.context_text(turns))
    if facts.stage is Stage.TOOL_CALL:
        text = readable_tool_text(text)
    before = [m.content for m in facts.messages if m.role != "system"][-turns:]
    return Reading(text, "\n".join(before))


def readable_tool_text(text: str) -> str:
    """Tool-call text with identifiers split and JSON punctuation removed."""
    return " ".join(_PUNCT_RUN.sub(" ", text).split())


def _fallback_normalize(text: str) -> str:
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def normalizer(name: str) -> Callable[[str], str]:
    """The text normaliser named in an artifact (``redline`` or ``fallback``)."""
    if name == "redline":
        from .normalize import normalize

        return normalize
    return _fallback_normalize


@functools.lru_cache(maxsize=1 << 17)
def _key(gram: str) -> int:
    """A gram's two CRC-32s in one integer: the high half picks its bucket, the low half its sign."""
    data = gram.encode("utf-8")
    return (zlib.crc32(data) << 32) | zlib.crc32(data, 0x5BD1E995)


def _keys(grams: Sequence[str]) -> npt.NDArray[np.uint64]:
    return np.fromiter((_key(g) for g in grams), dtype=np.uint64, count=len(grams))


@functools.lru_cache(maxsize=1 << 16)
def _word_char_keys(word: str, lo: int, hi: int) -> npt.NDArray[np.uint64]:
    """The keys of a word's character n-grams (padded with spaces, ``char_wb`` style), in order."""
    padded = f" {word} "
    n_max = min(hi, len(padded))
    return _keys([padded[i : i + n] for n in range(lo, n_max + 1) for i in range(len(padded) - n + 1)])


def _char_keys(text: str, lo: int, hi: int) -> npt.NDArray[np.uint64]:
    words = text.split()
    if not words:
        return np.zeros(0, dtype=np.uint64)
    return np.concatenate([_word_char_keys(w, lo, hi) for w in words])


#: ``1 + log(c)``, the weight of a gram seen ``c`` times, computed with ``math.log``;
#: grown (under a lock: classifiers are shared by threads) when a text needs more.
_SUBLINEAR = np.array([0.0, 1.0])
_SUBLINEAR_LOCK = threading.Lock()


def _sublinear(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    global _SUBLINEAR
    table = _SUBLINEAR
    top = int(counts.max())
    if top >= len(table):
        with _SUBLINEAR_LOCK:
            table = _SUBLINEAR
            if top >= len(table):
                table = np.array([0.0] + [1.0 + math.log(c) for c in range(1, 2 * top)])
                _SUBLINEAR = table
    out: npt.NDArray[np.float64] = table[counts]
    return out


def _block(
    keys: npt.NDArray[np.uint64], bits: int, offset: int, weight: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] | None:
    """One hashed block: bucket indices (``offset`` added) and values, or None when empty.

    Grams are counted (a gram seen ``c`` times weighs ``1 + log c``), signed and summed
    into their buckets in the order they first occur, and the block is scaled to L2 norm
    ``weight``; the norm is summed in Python in bucket first-occurrence order, so a text's
    values do not depend on how the sums are vectorised.
    """
    if keys.size == 0 or weight == 0.0:
        return None
    grams, first, counts = np.unique(keys, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")
    grams, counts = grams[order], counts[order]
    sign = np.where((grams & np.uint64(1)) == 1, 1.0, -1.0)
    contrib = sign * _sublinear(counts)
    buckets = ((grams >> np.uint64(32)) & np.uint64((1 << bits) - 1)).astype(np.int64)
    uniq, where, inverse = np.unique(buckets, return_index=True, return_inverse=True)
    sums = np.zeros(len(uniq), dtype=np.float64)
    np.add.at(sums, inverse, contrib)
    in_order = sums[np.argsort(where, kind="stable")]
    norm = math.sqrt(sum((in_order * in_order).tolist()))
    if norm == 0.0:
        return None
    return uniq + offset, sums * (weight / norm)


def _cjk_bigrams(words: list[str]) -> list[str]:
    """``words`` with each run of CJK characters split into overlapping two-character words."""
    out: list[str] = []
    for word in words:
        if not _HAS_CJK.search(word):
            out.append(word)
            continue
        for piece in _CJK_PIECES.findall(word):
            if len(piece) < 3 or not _HAS_CJK.match(piece):
                out.append(piece)
            else:
                out.extend(piece[i : i + 2] for i in range(len(piece) - 1))
    return out


def word_grams(text: str, bigrams: bool = True, cjk_words: str = "runs") -> list[str]:
    """Word unigrams (and bigrams) of normalised ``text``; see :attr:`FeatureConfig.cjk_words`."""
    words = _WORD.findall(text)
    if cjk_words == "bigrams" and _HAS_CJK.search(text):
        words = _cjk_bigrams(words)
    grams = list(words)
    if bigrams:
        grams.extend(f"{a} {b}" for a, b in itertools.pairwise(words))
    return grams


def hashed_features(
    reading: Reading, config: FeatureConfig, norm: Callable[[str], str]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Sparse hashed features of ``reading``: sorted indices and their values."""
    latest = norm(reading.latest)
    char_size = 1 << config.char_bits
    word_size = 1 << config.word_bits
    blocks = [
        _block(_char_keys(latest, config.char_min, config.char_max), config.char_bits, 0, config.char_weight),
        _block(
            _keys(word_grams(latest, cjk_words=config.cjk_words)),
            config.word_bits,
            char_size,
            config.word_weight,
        ),
    ]
    if reading.context:
        context = _keys(word_grams(norm(reading.context), bigrams=False, cjk_words=config.cjk_words))
        blocks.append(_block(context, config.ctx_bits, char_size + word_size, config.ctx_weight))
    present = [b for b in blocks if b is not None]
    if not present:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    idx = np.concatenate([b[0] for b in present])
    val = np.concatenate([b[1] for b in present])
    order = np.argsort(idx, kind="stable")
    return idx[order].astype(np.int32), val[order].astype(np.float32)


_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def readable(text: str) -> bool:
    """False for text too short or too symbol-heavy to classify (a blob, a lone word)."""
    stripped = "".join(text.split())
    if not stripped:
        return False
    letters = len(_LETTER.findall(stripped))
    # Han characters carry a word each; Latin-script words need a few letters.
    wide = sum(1 for ch in stripped if "\u4e00" <= ch <= "\u9fff")
    if letters < 4 and wide < 2:
        return False
    return letters / len(stripped) >= 0.4
