"""The vectorised hashed features against a plain-Python reference: equal bit for bit."""

from __future__ import annotations

import json
import math
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from redline.classify.features import FeatureConfig, Reading, hashed_features, normalizer, word_grams
from redline.classify.train import reading_of

CORPUS = Path(__file__).resolve().parents[3] / "data" / "corpus" / "dev.jsonl"


def reference(reading: Reading, config: FeatureConfig, norm: object) -> tuple[np.ndarray, np.ndarray]:
    """The features as first written: count, sign and sum gram by gram in Python dicts."""

    def accumulate(grams: list[str], bits: int, offset: int, weight: float, out: dict[int, float]) -> None:
        if not grams or weight == 0.0:
            return
        block: dict[int, float] = {}
        for g, c in Counter(grams).items():
            data = g.encode("utf-8")
            idx = zlib.crc32(data) & ((1 << bits) - 1)
            sign = 1.0 if zlib.crc32(data, 0x5BD1E995) & 1 else -1.0
            block[idx] = block.get(idx, 0.0) + (sign if c == 1 else sign * (1.0 + math.log(c)))
        total = math.sqrt(sum(v * v for v in block.values()))
        if total == 0.0:
            return
        for idx, v in block.items():
            out[offset + idx] = out.get(offset + idx, 0.0) + v * (weight / total)

    def char_grams(text: str) -> list[str]:
        grams: list[str] = []
        for word in text.split():
            padded = f" {word} "
            top = min(config.char_max, len(padded))
            grams += [
                padded[i : i + n] for n in range(config.char_min, top + 1) for i in range(len(padded) - n + 1)
            ]
        return grams

    latest = norm(reading.latest)  # type: ignore[operator]
    out: dict[int, float] = {}
    char_size, word_size = 1 << config.char_bits, 1 << config.word_bits
    accumulate(char_grams(latest), config.char_bits, 0, config.char_weight, out)
    accumulate(
        word_grams(latest, cjk_words=config.cjk_words), config.word_bits, char_size, config.word_weight, out
    )
    if reading.context:
        context = word_grams(norm(reading.context), bigrams=False, cjk_words=config.cjk_words)  # type: ignore[operator]
        accumulate(context, config.ctx_bits, char_size + word_size, config.ctx_weight, out)
    idx = np.array(sorted(out), dtype=np.int32)
    return idx, np.array([out[i] for i in idx.tolist()], dtype=np.float32)


EDGE = [
    Reading(""),
    Reading("   "),
    Reading("ok"),
    Reading("the the the the the the the the the the the the"),  # counts above one
    Reading("k1ll th3 pr0c3ss", "earlier turn\nand another"),
    Reading("监控所有参加集会的人", "之前的对话"),
    Reading("تتبع كل المتظاهرين " * 40),
]


@pytest.mark.parametrize(
    "config",
    [
        FeatureConfig(),
        FeatureConfig(char_bits=10, word_bits=9, ctx_bits=8),
        FeatureConfig(cjk_words="bigrams"),
    ],
)
def test_vectorised_features_equal_the_reference(config: FeatureConfig) -> None:
    norm = normalizer(config.normalizer)
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()[:600]]
    readings = EDGE + [reading_of(r) for r in rows]
    for reading in readings:
        got_idx, got_val = hashed_features(reading, config, norm)
        want_idx, want_val = reference(reading, config, norm)
        assert np.array_equal(got_idx, want_idx), reading
        assert got_val.tobytes() == want_val.tobytes(), reading
