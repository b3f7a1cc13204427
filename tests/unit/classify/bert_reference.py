"""A plain-numpy forward pass of all-MiniLM-L6-v2 from its safetensors weights.

Test-only: it is the reference the int8 ONNX embedder is checked against.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file

Array = npt.NDArray[np.float32]


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + eps)) * weight + bias


def _gelu(x: Array) -> Array:
    # BERT's exact (erf) GELU.
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return (0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))).astype(np.float32)


class ReferenceBert:
    def __init__(self, model_dir: Path) -> None:
        self.w = load_file(str(model_dir / "model.safetensors"))
        config = json.loads((model_dir / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])

    def _dense(self, x: Array, name: str) -> Array:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def hidden(self, ids: list[int]) -> Array:
        """Last hidden state for one unpadded sequence, shape (tokens, 384)."""
        w = self.w
        n = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = self._dense(x, f"{p}.attention.self.query")
            k = self._dense(x, f"{p}.attention.self.key")
            v = self._dense(x, f"{p}.attention.self.value")
            d = q.shape[-1] // self.heads
            qh = q.reshape(n, self.heads, d).transpose(1, 0, 2)
            kh = k.reshape(n, self.heads, d).transpose(1, 0, 2)
            vh = v.reshape(n, self.heads, d).transpose(1, 0, 2)
            att = qh @ kh.transpose(0, 2, 1) / math.sqrt(d)
            att = np.exp(att - att.max(axis=-1, keepdims=True))
            att = att / att.sum(axis=-1, keepdims=True)
            ctx = (att @ vh).transpose(1, 0, 2).reshape(n, -1)
            a = self._dense(ctx, f"{p}.attention.output.dense")
            x = _layer_norm(
                a + x,
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
                self.eps,
            )
            h = _gelu(self._dense(x, f"{p}.intermediate.dense"))
            o = self._dense(h, f"{p}.output.dense")
            x = _layer_norm(
                o + x, w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], self.eps
            )
        return x.astype(np.float32)

    def embed(self, ids: list[int]) -> Array:
        pooled = self.hidden(ids).mean(axis=0)
        return (pooled / np.linalg.norm(pooled)).astype(np.float32)
