"""The screen: a cheap first stage that answers confidently benign text without the embedding model.

The screen is a linear softmax head over the same hashed n-gram features the
full head uses (:func:`features.hashed_features`), trained by ``redline train``
into the same artifact (arrays ``screen_sparse`` and ``screen_bias``, settings
under ``meta["screen"]``). Computing the n-grams and one sparse product takes
well under a millisecond; the embedding model takes ~15 ms per prompt.

It answers a reading only when all of these hold, otherwise the full model runs:

* the screen is enabled in the artifact (``meta["screen"]["enabled"]``);
* the reading has no earlier turns (a red line that lives in the context is
  the full model's job);
* the language is one the model knows and the text is readable;
* the screen's calibrated probability mass on the allowed categories
  (:data:`ALLOWED`) is at least ``tau``, its top category is an allowed one,
  and its top probability clears the artifact's confidence floor for that
  language (so a screened answer is never ``uncertain``).

``tau`` is chosen at training time by pair-grouped cross-validation on the
training split only: the smallest threshold (most benign rows screened) at
which at most ``max_missed`` of the red-line and review training rows, out of
fold, would have been screened out. What callers may rely on: a screened
answer's scores are the screen's temperature-calibrated probabilities over
every category (they sum to 1); the classifier version is the artifact's.
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
from .head import Design, Weights, fit, fit_temperature, logits, softmax
from .langid import UNKNOWN

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]

#: Categories whose default verdict is allow (neither red line nor review); the
#: screen may answer only for these.
ALLOWED: tuple[str, ...] = tuple(c for c in CATEGORIES if c not in RED_LINES + REVIEW_CATEGORIES)


def eligible(reading: Reading, language: str) -> bool:
    """Whether the screen may answer this reading at all (before looking at its scores)."""
    return not reading.context and language != UNKNOWN and readable(reading.latest)


def confident(probs: F64, allowed: npt.NDArray[np.bool_], tau: float, floor: float) -> bool:
    """The screen's acceptance test on one row of calibrated probabilities."""
    top = int(probs.argmax())
    return bool(allowed[top]) and float(probs[top]) >= floor and float(probs[allowed].sum()) >= tau


@dataclass(frozen=True, slots=True)
class Screen:
    """The screen of a loaded artifact (run time; numpy only)."""

    sparse: F32  # (h, k)
    bias: F32  # (k,)
    temperature: float
    tau: float
    allowed: npt.NDArray[np.bool_]  # (k,) in the artifact's category order
    floor: float
    floor_other: float

    @classmethod
    def of(cls, meta: dict[str, Any], arrays: dict[str, F32]) -> Screen | None:
        """The artifact's screen, or ``None`` when it has none or it is switched off."""
        spec = meta.get("screen")
        if not isinstance(spec, dict) or not spec.get("enabled") or "screen_sparse" not in arrays:
            return None
        return cls(
            arrays["screen_sparse"],
            arrays["screen_bias"],
            float(spec["temperature"]),
            float(spec["tau"]),
            np.array([c in ALLOWED for c in meta["categories"]]),
            float(meta["min_confidence"]),
            float(meta["min_confidence_other"]),
        )

    def answer(self, reading: Reading, language: str, cols: I32, vals: F32) -> F64 | None:
        """Calibrated probabilities when the screen is confident the text is benign, else ``None``."""
        if not eligible(reading, language):
            return None
        z = self.bias + (vals @ self.sparse[cols] if len(cols) else 0.0)
        probs = softmax(np.asarray(z, dtype=np.float64) / self.temperature)
        floor = self.floor if language == "en" else self.floor_other
        return probs if confident(probs, self.allowed, self.tau, floor) else None


def sparse_only(design: Design) -> Design:
    """The design without its dense block (what the screen sees)."""
    return Design(np.zeros((design.n, 0)), design.rows, design.cols, design.vals, design.n_sparse)


def choose_tau(
    benign_mass: F64, passes: npt.NDArray[np.bool_], risky: npt.NDArray[np.bool_], max_missed: float
) -> float:
    """The smallest threshold letting through at most ``max_missed`` of the ``risky`` rows.

    ``passes`` marks rows that would be screened at any threshold (eligible, top
    category allowed and above the floor); a row is screened when it passes and
    its ``benign_mass`` is at least the threshold. Returned rounded up to 6
    decimals so the stored value is exact and on the safe side.
    """
    budget = math.floor(max_missed * int(risky.sum()))
    masses = np.sort(benign_mass[risky & passes])[::-1]
    # Strictly above the (budget+1)-th largest risky mass, so only `budget` rows stay
    # above it (above 1 means the screen answers nothing); never below one half.
    tau = 0.5 if len(masses) <= budget else max(0.5, float(masses[budget]) + 1e-6)
    return math.ceil(tau * 1e6) / 1e6


@dataclass(frozen=True, slots=True)
class ScreenFit:
    weights: Weights
    meta: dict[str, Any]


def train_screen(
    design: Design,
    y: npt.NDArray[np.int64],
    folds: npt.NDArray[np.int64],
    readings: Sequence[Reading],
    languages: Sequence[str],
    *,
    weights_of: Callable[[npt.NDArray[np.int64]], F64],
    l2_sparse: float,
    max_iter: int,
    floor: float,
    floor_other: float,
    max_missed: float,
    enabled: bool,
) -> ScreenFit:
    """Fit the screen on out-of-fold logits (temperature, ``tau``), then on all rows."""
    k = len(CATEGORIES)
    sparse = sparse_only(design)
    n_folds = int(folds.max()) + 1 if len(folds) else 0

    def fit_on(part: Design, yy: npt.NDArray[np.int64]) -> Weights:
        return fit(
            part,
            yy,
            k,
            sample_weight=weights_of(yy),
            l2_dense=0.0,
            l2_sparse=l2_sparse,
            hidden=0,
            max_iter=max_iter,
        )

    oof = np.zeros((design.n, k))
    for f in range(n_folds):
        held = folds == f
        if not held.any() or held.all():
            continue
        w = fit_on(sparse.subset(~held), y[~held])
        oof[held] = logits(sparse.subset(held), w)
    temperature = fit_temperature(oof, y)
    probs = softmax(oof / temperature)
    allowed = np.array([c in ALLOWED for c in CATEGORIES])
    risky = ~allowed[y]
    benign_mass = probs[:, allowed].sum(axis=1)
    passes = np.array(
        [
            eligible(r, lang) and confident(probs[i], allowed, 0.0, floor if lang == "en" else floor_other)
            for i, (r, lang) in enumerate(zip(readings, languages, strict=True))
        ],
        dtype=bool,
    )
    tau = choose_tau(benign_mass, passes, risky, max_missed)
    screened = passes & (benign_mass >= tau)
    weights = fit_on(sparse, y)
    meta = {
        "enabled": enabled,
        "tau": tau,
        "temperature": round(temperature, 6),
        "max_missed": max_missed,
        "l2_sparse": l2_sparse,
        "cv_benign_screened": round(float(screened[~risky].mean()) if (~risky).any() else 0.0, 4),
        "cv_risky_screened": int(screened[risky].sum()),
        "cv_risky_rows": int(risky.sum()),
    }
    return ScreenFit(weights, meta)
