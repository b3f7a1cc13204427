"""The trained head: a small network over dense embeddings plus a linear map of hashed n-grams.

logits = ReLU(dense @ W1 + b1) @ W2 + sparse @ Ws + b. A hidden layer on the
embeddings beat a linear head in pair-grouped cross-validation on the training
split (accuracy 0.905 vs 0.882, NLL 0.29 vs 0.36). Training (:func:`fit`)
minimises the class-weighted cross-entropy with separate L2 penalties on the
dense and sparse weights, with scipy's L-BFGS-B in float64 from a seeded start:
no shuffling, so the same input and seed give the same weights. scipy is a training-time
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
    """A one-hidden-layer network on the dense block plus a linear map of the sparse block."""

    w1: F64  # (d, hidden)
    b1: F64  # (hidden,)
    w2: F64  # (hidden, k)
    sparse: F64  # (h, k)
    bias: F64  # (k,)


def logits(design: Design, w: Weights) -> F64:
    hidden = np.maximum(design.dense @ w.w1 + w.b1, 0.0)
    out: F64 = hidden @ w.w2 + w.bias
    if len(design.vals):
        out = out + np.asarray(design.csr() @ w.sparse)
    return out


def logits_one(dense: F32, cols: I32, vals: F32, arrays: dict[str, F32]) -> F32:
    """Logits of one row at run time (float32 weights from the artifact)."""
    hidden = np.maximum(dense @ arrays["w1"] + arrays["b1"], 0.0)
    out = hidden @ arrays["w2"] + arrays["bias"]
    if len(cols):
        out = out + vals @ arrays["w_sparse"][cols]
    result: F32 = np.asarray(out, dtype=np.float32)
    return result


def softmax(z: F64) -> F64:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: F64 = e / e.sum(axis=-1, keepdims=True)
    return out


def fit(
    design: Design,
    y: npt.NDArray[np.int64],
    k: int,
    *,
    sample_weight: F64,
    l2_dense: float,
    l2_sparse: float,
    hidden: int = 128,
    seed: int = 0,
    max_iter: int = 400,
) -> Weights:
    """Minimise weighted mean cross-entropy + L2 penalties with L-BFGS-B.

    The hidden layer (ReLU) starts from a seeded normal draw, everything else
    from zero, so a given seed always gives the same weights.
    """
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    d, h, n = design.dense.shape[1], design.n_sparse, design.n
    x_dense = design.dense
    x_sparse = design.csr()
    x_sparse_t = x_sparse.T.tocsr()
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0
    sw = sample_weight / sample_weight.sum()
    sizes = [d * hidden, hidden, hidden * k, h * k, k]
    bounds = np.cumsum([0, *sizes])

    def unpack(theta: F64) -> Weights:
        parts = [theta[bounds[i] : bounds[i + 1]] for i in range(len(sizes))]
        return Weights(
            parts[0].reshape(d, hidden),
            parts[1],
            parts[2].reshape(hidden, k),
            parts[3].reshape(h, k),
            parts[4],
        )

    def loss_grad(theta: F64) -> tuple[float, F64]:
        w = unpack(theta)
        pre = x_dense @ w.w1 + w.b1
        act = np.maximum(pre, 0.0)
        z = act @ w.w2 + np.asarray(x_sparse @ w.sparse) + w.bias
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -float((sw * (onehot * logp).sum(axis=1)).sum())
        loss += 0.5 * l2_dense * float((w.w1**2).sum() + (w.w2**2).sum())
        loss += 0.5 * l2_sparse * float((w.sparse**2).sum())
        g = (np.exp(logp) - onehot) * sw[:, None]
        g_w2 = act.T @ g + l2_dense * w.w2
        g_act = (g @ w.w2.T) * (pre > 0)
        g_w1 = x_dense.T @ g_act + l2_dense * w.w1
        g_sparse = np.asarray(x_sparse_t @ g) + l2_sparse * w.sparse
        return loss, np.concatenate(
            [g_w1.ravel(), g_act.sum(axis=0), g_w2.ravel(), g_sparse.ravel(), g.sum(axis=0)]
        )

    rng = np.random.default_rng(seed)
    theta0 = np.zeros(int(bounds[-1]))
    if d * hidden:  # a sparse-only head (the screen) has no hidden layer to draw
        theta0[: d * hidden] = rng.normal(0.0, 1.0 / np.sqrt(d), d * hidden)
    result = minimize(loss_grad, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return unpack(np.asarray(result.x, dtype=np.float64))


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
