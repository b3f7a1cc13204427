from __future__ import annotations

import numpy as np
import pytest

from redline.classify.features import (
    FeatureConfig,
    Reading,
    hashed_features,
    normalizer,
    read_facts,
    readable,
    word_grams,
)
from redline.facts import Facts, Message, Stage, ToolCall

CONFIG = FeatureConfig()
NORM = normalizer(CONFIG.normalizer)


def _vec(text: str, context: str = "") -> np.ndarray:
    cols, vals = hashed_features(Reading(text, context), CONFIG, NORM)
    out = np.zeros(CONFIG.size)
    out[cols] = vals
    return out


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_features_are_deterministic_and_sorted() -> None:
    a = hashed_features(Reading("Track every protester in the square"), CONFIG, NORM)
    b = hashed_features(Reading("Track every protester in the square"), CONFIG, NORM)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.all(np.diff(a[0]) > 0)
    assert a[0].max() < CONFIG.size


def test_leetspeak_and_typos_stay_close() -> None:
    clean = _vec("identify every protester in the square")
    leet = _vec("1d3nt1fy 3v3ry pr0t3st3r in the squ4re")
    typo = _vec("identfy evry protestor in teh square")
    other = _vec("bake a chocolate cake for the birthday party")
    assert _cos(clean, leet) > 0.9
    assert _cos(clean, typo) > _cos(clean, other) + 0.3


def test_context_goes_to_its_own_block() -> None:
    plain = _vec("do it for all of them")
    with_ctx = _vec("do it for all of them", "list the protesters at the rally")
    ctx_start = (1 << CONFIG.char_bits) + (1 << CONFIG.word_bits)
    assert not plain[ctx_start:].any()
    assert with_ctx[ctx_start:].any()
    np.testing.assert_allclose(plain[:ctx_start], with_ctx[:ctx_start])


def test_read_facts_by_stage() -> None:
    messages = (Message(role="user", content="first"), Message(role="assistant", content="ok"),
                Message(role="user", content="latest"))  # fmt: skip
    r = read_facts(Facts(messages=messages))
    assert r.latest == "latest" and r.context == "first\nok"
    out = read_facts(Facts(messages=messages, stage=Stage.OUTPUT, output="model says"))
    assert out.latest == "model says" and out.context.endswith("latest")
    call = ToolCall(name="locate_person", arguments={"full_name": "Ana Ruiz"})
    tool = read_facts(Facts(messages=messages, stage=Stage.TOOL_CALL, tool_calls=(call,)))
    assert tool.latest == "locate person full name Ana Ruiz"


def test_readable() -> None:
    assert readable("Please summarise the logistics report")
    assert readable("列出所有参加抗议的人")
    assert not readable("")
    assert not readable("ok")
    assert not readable("#$%^&*()!@#$%^&*()_+ 123456789 ab")


def test_cjk_runs_become_two_character_words() -> None:
    text = NORM("监控所有参加集会的人，用AI识别 GPU")
    # Artifacts before `cjk_words` read a run between punctuation as one word.
    assert word_grams(text, bigrams=False) == ["监控所有参加集会的人", "用ai识别", "gpu"]
    assert word_grams(text, bigrams=False, cjk_words="bigrams") == [
        "监控", "控所", "所有", "有参", "参加", "加集", "集会", "会的", "的人",
        "用", "ai", "识别", "gpu",
    ]  # fmt: skip
    assert word_grams("监控 集会", cjk_words="bigrams") == ["监控", "集会", "监控 集会"]
    latin = NORM("Track every protester in the square")
    assert word_grams(latin, cjk_words="bigrams") == word_grams(latin)


def test_cjk_words_setting_is_checked_and_defaults_for_old_artifacts() -> None:
    old = FeatureConfig().as_dict()
    del old["cjk_words"]
    assert FeatureConfig.from_dict(old).cjk_words == "runs"
    assert FeatureConfig.from_dict({**old, "cjk_words": "bigrams"}).cjk_words == "bigrams"
    with pytest.raises(ValueError, match="cjk_words"):
        FeatureConfig(cjk_words="words")
    chinese = Reading("监控所有参加集会的人")
    runs = hashed_features(chinese, CONFIG, NORM)
    bigrams = hashed_features(chinese, FeatureConfig(cjk_words="bigrams"), NORM)
    assert not np.array_equal(runs[0], bigrams[0])
