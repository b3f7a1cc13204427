"""The trained head: multinomial logistic regression over dense + hashed sparse features.

Training (:func:`fit`) minimises the class-weighted cross-entropy with separate
L2 penalties on the dense (embedding) and sparse (n-gram) weights, with
scipy's L-BFGS-B from a zero start in float64: no random initialisation, no
shuffling, so the same input gives the same weights. scipy is a training-time
dependency only; run-time scoring (:func:`logits_one`) needs numpy alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class Design:
    """A design matrix: dense rows plus a sparse block in coordinate form."""

    dense: F64  # (n, d)
    rows: I32  # (nnz,) row of each sparse value
    cols: I32  # (nnz,) column of each sparse value
    vals: F64  # (nnz,)
    n_sparse: int

    @property
    def n(self) -> int:
        return int(self.dense.shape[0])

    def subset(self, mask: npt.NDArray[np.bool_]) -> Design:
        keep = np.flatnonzero(mask)
        remap = np.full(self.n, -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        sel = mask[self.rows]
        return Design(
            self.dense[keep],
            remap[self.rows[sel]].astype(np.int32),
            self.cols[sel],
            self.vals[sel],
            self.n_sparse,
        )

    def csr(self) -> Any:
        # scipy is a training-time dependency without type stubs.
        from scipy import sparse  # type: ignore[import-untyped]

        return sparse.csr_matrix((self.vals, (self.rows, self.cols)), shape=(self.n, self.n_sparse))


@dataclass(frozen=True, slots=True)
class Weights:
    dense: F64  # (d, k)
    sparse: F64  # (h, k)
    bias: F64  # (k,)


def logits(design: Design, w: Weights) -> F64:
    out: F64 = design.dense @ w.dense + w.bias
    if len(design.vals):
        out = out + np.asarray(design.csr() @ w.sparse)
    return out


def logits_one(dense: F32, cols: I32, vals: F32, wd: F32, ws: F32, bias: F32) -> F32:
    """Logits of one row at run time (float32 weights)."""
    out = dense @ wd + bias
    if len(cols):
        out = out + vals @ ws[cols]
    return out.astype(np.float32)


def softmax(z: F64) -> F64:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: F64 = e / e.sum(axis=-1, keepdims=True)
    return out


def _unpack(theta: F64, d: int, h: int, k: int) -> Weights:
    wd = theta[: d * k].reshape(d, k)
    ws = theta[d * k : (d + h) * k].reshape(h, k)
    return Weights(wd, ws, theta[(d + h) * k :])


def fit(
    design: Design,
    y: npt.NDArray[np.int64],
    k: int,
    *,
    sample_weight: F64,
    l2_dense: float,
    l2_sparse: float,
    max_iter: int = 500,
) -> Weights:
    """Minimise weighted mean cross-entropy + L2 penalties; zero start, L-BFGS-B."""
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    d, h, n = design.dense.shape[1], design.n_sparse, design.n
    x_sparse = design.csr()
    x_sparse_t = x_sparse.T.tocsr()
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0
    sw = sample_weight / sample_weight.sum()

    def loss_grad(theta: F64) -> tuple[float, F64]:
        w = _unpack(theta, d, h, k)
        z = design.dense @ w.dense + np.asarray(x_sparse @ w.sparse) + w.bias
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -float((sw * (onehot * logp).sum(axis=1)).sum())
        loss += 0.5 * l2_dense * float((w.dense**2).sum()) + 0.5 * l2_sparse * float((w.sparse**2).sum())
        g = (np.exp(logp) - onehot) * sw[:, None]
        gd = design.dense.T @ g + l2_dense * w.dense
        gs = np.asarray(x_sparse_t @ g) + l2_sparse * w.sparse
        return loss, np.concatenate([gd.ravel(), gs.ravel(), g.sum(axis=0)])

    result = minimize(
        loss_grad,
        np.zeros((d + h + 1) * k),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": 1e-7, "ftol": 1e-10},
    )
    return _unpack(np.asarray(result.x, dtype=np.float64), d, h, k)


def fit_temperature(z: F64, y: npt.NDArray[np.int64]) -> float:
    """The temperature minimising the NLL of ``softmax(z / T)``: golden-section on log T."""

    def nll(log_t: float) -> float:
        p = softmax(z / np.exp(log_t))
        return -float(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())

    lo, hi = float(np.log(0.05)), float(np.log(20.0))
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2.0))
