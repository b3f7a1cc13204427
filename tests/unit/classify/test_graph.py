"""The int8 rewrite of the pinned MiniLM graph: what it changes and what it keeps."""

from __future__ import annotations

import collections
import hashlib

import onnx
import pytest

from redline.classify.embed import onnx_path
from redline.classify.graph import fused_attention, int8_activations, with_layer_outputs
from redline.errors import ClassifierError


@pytest.fixture(scope="module")
def pinned() -> bytes:
    path, want = onnx_path()
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == want
    return data


def ops(data: bytes) -> collections.Counter[str]:
    return collections.Counter(n.op_type for n in onnx.load_from_string(data).graph.node)


def test_every_weight_product_and_gelu_is_rewritten(pinned: bytes) -> None:
    before, after = ops(pinned), ops(int8_activations(pinned))
    # 6 layers x (q, k, v, attention out, ffn in, ffn out) = 36 weight products.
    assert after["DynamicQuantizeMatMul"] == 36
    assert after["Gelu"] == 6 and after["Erf"] == 0
    # The 12 attention products (activation x activation) stay float.
    assert after["MatMul"] == before["MatMul"] - 36 == 12
    # No float copy of a rewritten weight is left: only the embedding tables are dequantised.
    assert after["Cast"] < before["Cast"] - 30


def test_the_int8_weights_are_the_pinned_ones(pinned: bytes) -> None:
    original = {i.name: i.raw_data for i in onnx.load_from_string(pinned).graph.initializer}
    rewritten = onnx.load_from_string(int8_activations(pinned))
    weights = {n.input[1] for n in rewritten.graph.node if n.op_type == "DynamicQuantizeMatMul"}
    stored = {i.name: i.raw_data for i in rewritten.graph.initializer}
    assert len(weights) == 36
    for name in weights:
        assert stored[name] == original[name], name


def test_the_rewrite_is_deterministic(pinned: bytes) -> None:
    assert int8_activations(pinned) == int8_activations(pinned)


def relu_only() -> bytes:
    """A model with neither int8 weights nor attention."""
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 2])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    return bytes(onnx.helper.make_model(graph).SerializeToString())


def test_a_graph_without_int8_weights_is_refused() -> None:
    with pytest.raises(ClassifierError, match="no int8 weights"):
        int8_activations(relu_only())


@pytest.mark.parametrize("int8", [False, True])
def test_each_attention_block_becomes_one_operator_and_the_products_stay(pinned: bytes, int8: bool) -> None:
    base = int8_activations(pinned) if int8 else pinned
    before, after = ops(base), ops(fused_attention(base))
    assert after["MultiHeadAttention"] == 6
    assert after["Softmax"] == after["IsNaN"] == after["Transpose"] == 0
    # The weight products are untouched; only the two activation products per layer go.
    assert after["DynamicQuantizeMatMul"] == before["DynamicQuantizeMatMul"]
    assert after["MatMul"] == before["MatMul"] - 12
    heads = [
        {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        for n in onnx.load_from_string(fused_attention(base)).graph.node
        if n.op_type == "MultiHeadAttention"
    ]
    assert all(h["num_heads"] == 12 and abs(h["scale"] - 32**-0.5) < 1e-6 for h in heads)
    assert fused_attention(base) == fused_attention(base)


def test_a_graph_without_attention_is_refused_by_the_fusion() -> None:
    with pytest.raises(ClassifierError, match="no attention block"):
        fused_attention(relu_only())


def test_layer_outputs_answer_the_layers_asked_for_and_compute_no_more(pinned: bytes) -> None:
    both = onnx.load_from_string(with_layer_outputs(pinned, (3, 6)))
    assert [o.name for o in both.graph.output] == ["layer_norm_6", "last_hidden_state"]
    third = onnx.load_from_string(with_layer_outputs(pinned, (3,)))
    assert [o.name for o in third.graph.output] == ["layer_norm_6"]
    # Layers 4-6 are pruned away: about half the nodes.
    assert len(third.graph.node) < 0.6 * len(both.graph.node)


@pytest.mark.parametrize("layers", [(), (0,), (7,), (3, 9)])
def test_layers_outside_the_model_are_refused(pinned: bytes, layers: tuple[int, ...]) -> None:
    with pytest.raises(ClassifierError, match="layers must be among 1-6"):
        with_layer_outputs(pinned, layers)
