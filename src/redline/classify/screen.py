"""The screen: a cheap first stage that answers the text it is sure of without the embedding model.

The screen is a small head over the hashed n-gram features the full head uses
(:func:`features.hashed_features`) and a static sentence vector
(:mod:`static`: word-piece vectors distilled from the same MiniLM model),
trained by ``redline train`` into the same artifact (arrays ``screen_*``,
settings under ``meta["screen"]``). It costs about a millisecond; the
contextual embedding model costs ~15 ms per 30-word prompt on one core.

Categories fall in three verdict groups: red lines (deny), review categories,
and allowed ones (:data:`GROUPS`). The screen answers a reading only when all of
these hold, otherwise the full model runs:

* the screen is enabled in the artifact (``meta["screen"]["enabled"]``);
* the reading has no earlier turns (a red line that lives in the context is
  the full model's job);
* the language is one the model knows and the text is readable;
* its top category's probability clears the artifact's confidence floor for
  that language (so a screened answer is never ``uncertain``), and the
  calibrated probability mass of that category's group is at least the
  group's threshold ``tau``.

Each group's ``tau`` is chosen at training time by pair-grouped
cross-validation on the training split only: the smallest threshold (most rows
screened) at which at most ``max_missed`` of the training rows *outside* the
group, out of fold, would have been screened into it. For the allowed group
that bounds red-line and review rows waved through; for the red-line group,
allowed and review rows denied without the full model. What callers may rely
on: a screened answer's scores are the screen's temperature-calibrated
probabilities over every category (they sum to 1); the classifier version is
the artifact's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .base import CATEGORIES, RED_LINES, REVIEW_CATEGORIES
from .features import Reading, readable
from .head import Design, Weights, fit_temperature, logits, softmax
from .langid import UNKNOWN

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]

#: Categories whose default verdict is allow (neither red line nor review).
ALLOWED: tuple[str, ...] = tuple(c for c in CATEGORIES if c not in RED_LINES + REVIEW_CATEGORIES)
#: The verdict groups, in the order of ``tau``: deny, review, allow.
GROUPS: tuple[tuple[str, ...], ...] = (RED_LINES, REVIEW_CATEGORIES, ALLOWED)
GROUP_NAMES: tuple[str, ...] = ("deny", "review", "allow")


def group_index(categories: Sequence[str]) -> npt.NDArray[np.int64]:
    """The verdict group of each category, in the given order."""
    return np.array([next(g for g, names in enumerate(GROUPS) if c in names) for c in categories])


def eligible(reading: Reading, language: str) -> bool:
    """Whether the screen may answer this reading at all (before looking at its scores)."""
    return not reading.context and language != UNKNOWN and readable(reading.latest)


def group_masses(probs: F64, groups: npt.NDArray[np.int64]) -> F64:
    """Probability mass of each verdict group, ``(..., len(GROUPS))``."""
    out: F64 = np.stack([probs[..., groups == g].sum(axis=-1) for g in range(len(GROUPS))], axis=-1)
    return out


def confident(probs: F64, groups: npt.NDArray[np.int64], taus: Sequence[float], floor: float) -> bool:
    """The screen's acceptance test on one row of calibrated probabilities."""
    top = int(probs.argmax())
    g = int(groups[top])
    return float(probs[top]) >= floor and float(probs[groups == g].sum()) >= taus[g]


@dataclass(frozen=True, slots=True)
class Screen:
    """The screen of a loaded artifact (run time; numpy only)."""

    w1: F32  # (d, hidden) on the static vector
    b1: F32
    w2: F32  # (hidden, k)
    sparse: F32  # (h, k)
    bias: F32  # (k,)
    sif: F32  # (vocab,) word-piece weights of the static vector
    temperature: float
    taus: tuple[float, ...]  # per group, GROUPS order
    groups: npt.NDArray[np.int64]  # (k,) in the artifact's category order
    floor: float
    floor_other: float

    @classmethod
    def of(cls, meta: dict[str, Any], arrays: dict[str, F32], *, switched_off: bool = False) -> Screen | None:
        """The artifact's screen, or ``None`` when it has none or it is switched off.

        ``switched_off=True`` also returns a screen that is switched off (for its
        logits, which the full model blends in; it then answers nothing itself).
        """
        spec = meta.get("screen")
        if not isinstance(spec, dict) or "screen_w1" not in arrays:
            return None
        if not spec.get("enabled") and not switched_off:
            return None
        return cls(
            arrays["screen_w1"],
            arrays["screen_b1"],
            arrays["screen_w2"],
            arrays["screen_sparse"],
            arrays["screen_bias"],
            arrays["screen_sif"],
            float(spec["temperature"]),
            tuple(float(spec["tau"][name]) for name in GROUP_NAMES),
            group_index(meta["categories"]),
            float(meta["min_confidence"]),
            float(meta["min_confidence_other"]),
        )

    def logits(self, cols: I32, vals: F32, dense: F32) -> F64:
        """The screen's raw logits for one reading (``dense``: the static vector of its latest text)."""
        hidden = np.maximum(dense @ self.w1 + self.b1, 0.0)
        z = hidden @ self.w2 + self.bias + (vals @ self.sparse[cols] if len(cols) else 0.0)
        return np.asarray(z, dtype=np.float64)

    def answer(self, language: str, z: F64) -> F64 | None:
        """Calibrated probabilities from the screen's logits ``z`` when it is confident, else ``None``.

        The caller has checked :func:`eligible`.
        """
        probs = softmax(z / self.temperature)
        floor = self.floor if language == "en" else self.floor_other
        return probs if confident(probs, self.groups, self.taus, floor) else None


def choose_tau(
    mass: F64, passes: npt.NDArray[np.bool_], wrong: npt.NDArray[np.bool_], max_missed: float
) -> float:
    """The smallest threshold letting through at most ``max_missed`` of the ``wrong`` rows.

    ``passes`` marks rows that would be screened into the group at any threshold
    (eligible, top category in the group and above the floor); a row is screened
    when it passes and its group ``mass`` is at least the threshold. Returned
    rounded up to 6 decimals so the stored value is exact and on the safe side.
    """
    budget = math.floor(max_missed * int(wrong.sum()))
    masses = np.sort(mass[wrong & passes])[::-1]
    # Strictly above the (budget+1)-th largest wrong mass, so only `budget` rows stay
    # above it (above 1 means the screen answers nothing); never below one half.
    tau = 0.5 if len(masses) <= budget else max(0.5, float(masses[budget]) + 1e-6)
    return math.ceil(tau * 1e6) / 1e6


@dataclass(frozen=True, slots=True)
class ScreenFit:
    weights: Weights
    meta: dict[str, Any]
    oof: F64  # out-of-fold logits of every training row (for the full model's blend)


def train_screen(
    design: Design,
    y: npt.NDArray[np.int64],
    folds: npt.NDArray[np.int64],
    readings: Sequence[Reading],
    languages: Sequence[str],
    *,
    fit_on: Callable[[Design, npt.NDArray[np.int64]], Weights],
    floor: float,
    floor_other: float,
    max_missed: float,
    enabled: bool,
) -> ScreenFit:
    """Fit the screen on out-of-fold logits (temperature, ``tau`` per group), then on all rows.

    ``design`` holds the screen's own features: the static vectors as its dense
    block and the hashed n-grams as its sparse block. ``fit_on`` fits the screen's
    head on part of them (``train.fit_screen_head`` with the training settings).
    """
    k = len(CATEGORIES)
    n_folds = int(folds.max()) + 1 if len(folds) else 0

    oof = np.zeros((design.n, k))
    for f in range(n_folds):
        held = folds == f
        if not held.any() or held.all():
            continue
        w = fit_on(design.subset(~held), y[~held])
        oof[held] = logits(design.subset(held), w)
    temperature = fit_temperature(oof, y)
    probs = softmax(oof / temperature)
    groups = group_index(CATEGORIES)
    true_group = groups[y]
    top_group = groups[probs.argmax(axis=1)]
    masses = group_masses(probs, groups)
    passes_floor = np.array(
        [
            eligible(r, lang) and float(probs[i].max()) >= (floor if lang == "en" else floor_other)
            for i, (r, lang) in enumerate(zip(readings, languages, strict=True))
        ],
        dtype=bool,
    )
    taus: dict[str, float] = {}
    screened = np.zeros(design.n, dtype=bool)
    stats: dict[str, Any] = {}
    for g, name in enumerate(GROUP_NAMES):
        passes = passes_floor & (top_group == g)
        wrong = true_group != g
        tau = choose_tau(masses[:, g], passes, wrong, max_missed)
        into = passes & (masses[:, g] >= tau)
        screened |= into
        taus[name] = tau
        stats[name] = {
            "screened_right": int((into & ~wrong).sum()),
            "screened_wrong": int((into & wrong).sum()),
            "rows_of_group": int((~wrong).sum()),
        }
    weights = fit_on(design, y)
    meta = {
        "enabled": enabled,
        "tau": taus,
        "temperature": round(temperature, 6),
        "max_missed": max_missed,
        "cv_screened": round(float(screened.mean()) if design.n else 0.0, 4),
        "cv_groups": stats,
    }
    return ScreenFit(weights, meta, oof)
