"""Builds small transformer blocks as ONNX, spelled the way PyTorch's
exporter writes them (torch is not installed here: the graphs are written
node by node with onnx.helper, following the exports of BertLayer and
GPT2Block). Weights are random with a fixed seed. The outputs are
committed; rerun after changing this script:

    .venv/bin/python tests/models/make_transformer_models.py
"""
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = pathlib.Path(__file__).parent
rng = np.random.default_rng(7)


class Builder:
    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, hint):
        self.count += 1
        return f"/{hint}_{self.count}"

    def init(self, hint, array):
        n = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def weight(self, hint, *shape):
        return self.init(hint, (rng.standard_normal(shape) * 0.08).astype(np.float32))

    def op(self, op_type, inputs, hint=None, outputs=1, **attrs):
        base = self.name(hint or op_type)
        outs = [f"{base}_output_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=base, **attrs))
        return outs[0] if outputs == 1 else outs

    def const(self, array, hint="Constant"):
        t = numpy_helper.from_array(np.asarray(array))
        return self.op("Constant", [], hint, value=t)

    def linear(self, x, d_in, d_out, hint):
        # nn.Linear exports as MatMul with the transposed weight, then Add.
        y = self.op("MatMul", [x, self.weight(f"{hint}.weight", d_in, d_out)], f"{hint}/MatMul")
        return self.op("Add", [self.weight(f"{hint}.bias", d_out), y], f"{hint}/Add")

    def shape_dim(self, x, index):
        """Shape -> Gather -> Unsqueeze: a runtime dimension, as exporters
        write it for dynamic axes (folds to a constant at import)."""
        s = self.op("Shape", [x])
        d = self.op("Gather", [s, self.const(np.array(index, np.int64))], axis=0)
        return self.op("Unsqueeze", [d, self.const(np.array([0], np.int64))])

    def split_heads(self, x, heads, head_dim, perm):
        b, s = self.shape_dim(x, 0), self.shape_dim(x, 1)
        shape = self.op("Concat", [b, s, self.const(np.array([heads], np.int64)), self.const(np.array([head_dim], np.int64))], axis=0)
        return self.op("Transpose", [self.op("Reshape", [x, shape])], perm=perm)

    def merge_heads(self, x, hidden):
        t = self.op("Transpose", [x], perm=[0, 2, 1, 3])
        b, s = self.shape_dim(t, 0), self.shape_dim(t, 1)
        shape = self.op("Concat", [b, s, self.const(np.array([hidden], np.int64))], axis=0)
        return self.op("Reshape", [t, shape])

    def layer_norm_primitives(self, x, hidden, hint):
        mean = self.op("ReduceMean", [x], f"{hint}/ReduceMean", axes=[-1], keepdims=1)
        xc = self.op("Sub", [x, mean], f"{hint}/Sub")
        sq = self.op("Pow", [xc, self.const(np.array(2.0, np.float32))], f"{hint}/Pow")
        var = self.op("ReduceMean", [sq], f"{hint}/ReduceMean_1", axes=[-1], keepdims=1)
        ve = self.op("Add", [var, self.const(np.array(1e-12, np.float32))], f"{hint}/Add")
        n = self.op("Div", [xc, self.op("Sqrt", [ve], f"{hint}/Sqrt")], f"{hint}/Div")
        g = self.op("Mul", [n, self.init(f"{hint}.weight", 1 + rng.standard_normal(hidden).astype(np.float32) * 0.1)], f"{hint}/Mul")
        return self.op("Add", [g, self.init(f"{hint}.bias", rng.standard_normal(hidden).astype(np.float32) * 0.1)], f"{hint}/Add_1")

    def layer_norm_op(self, x, hidden, hint):
        scale = self.init(f"{hint}.weight", 1 + rng.standard_normal(hidden).astype(np.float32) * 0.1)
        bias = self.init(f"{hint}.bias", rng.standard_normal(hidden).astype(np.float32) * 0.1)
        return self.op("LayerNormalization", [x, scale, bias], hint, axis=-1, epsilon=1e-5)

    def gelu_erf(self, x, hint):
        d = self.op("Div", [x, self.const(np.array(1.4142135, np.float32))], f"{hint}/Div")
        e = self.op("Erf", [d], f"{hint}/Erf")
        p = self.op("Add", [e, self.const(np.array(1.0, np.float32))], f"{hint}/Add")
        m = self.op("Mul", [x, p], f"{hint}/Mul")
        return self.op("Mul", [m, self.const(np.array(0.5, np.float32))], f"{hint}/Mul_1")

    def gelu_tanh(self, x, hint):
        c = lambda v: self.const(np.array(v, np.float32))
        x3 = self.op("Pow", [x, c(3.0)], f"{hint}/Pow")
        inner = self.op("Add", [x, self.op("Mul", [c(0.044715), x3], f"{hint}/Mul")], f"{hint}/Add")
        t = self.op("Tanh", [self.op("Mul", [c(0.7978845608028654), inner], f"{hint}/Mul_1")], f"{hint}/Tanh")
        one_plus = self.op("Add", [c(1.0), t], f"{hint}/Add_1")
        return self.op("Mul", [self.op("Mul", [c(0.5), x], f"{hint}/Mul_2"), one_plus], f"{hint}/Mul_3")

    def model(self, name, inputs, outputs):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="trnc-tests")
        onnx.checker.check_model(m)
        onnx.save(m, HERE / f"{name}.onnx")


def bert_encoder_layer(hidden=64, heads=4, ffn=256):
    """BertLayer (post-norm) with the extended attention mask computed from
    an int64 attention_mask input, as HF BERT exports do."""
    b = Builder()
    head_dim = hidden // heads
    x, mask = "hidden_states", "attention_mask"
    m = b.op("Unsqueeze", [mask, b.const(np.array([1, 2], np.int64))], "/Unsqueeze")
    m = b.op("Cast", [m], "/Cast", to=TensorProto.FLOAT)
    m = b.op("Sub", [b.const(np.array(1.0, np.float32)), m], "/Sub")
    m = b.op("Mul", [m, b.const(np.array(-10000.0, np.float32))], "/Mul")
    q = b.split_heads(b.linear(x, hidden, hidden, "attention/self/query"), heads, head_dim, [0, 2, 1, 3])
    k = b.split_heads(b.linear(x, hidden, hidden, "attention/self/key"), heads, head_dim, [0, 2, 3, 1])
    v = b.split_heads(b.linear(x, hidden, hidden, "attention/self/value"), heads, head_dim, [0, 2, 1, 3])
    s = b.op("MatMul", [q, k], "attention/self/MatMul")
    s = b.op("Div", [s, b.const(np.array(np.sqrt(head_dim), np.float32))], "attention/self/Div")
    s = b.op("Add", [s, m], "attention/self/Add")
    p = b.op("Softmax", [s], "attention/self/Softmax", axis=-1)
    ctx = b.merge_heads(b.op("MatMul", [p, v], "attention/self/MatMul_1"), hidden)
    o = b.linear(ctx, hidden, hidden, "attention/output/dense")
    o = b.layer_norm_primitives(b.op("Add", [o, x], "attention/output/Add"), hidden, "attention/output/LayerNorm")
    h = b.gelu_erf(b.linear(o, hidden, ffn, "intermediate/dense"), "intermediate/gelu")
    y = b.linear(h, ffn, hidden, "output/dense")
    y = b.layer_norm_primitives(b.op("Add", [y, o], "output/Add"), hidden, "output/LayerNorm")
    b.nodes.append(helper.make_node("Identity", [y], ["last_hidden_state"], name="/Identity"))
    b.model(
        "bert_encoder_layer",
        [
            helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", "sequence", hidden]),
            helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden])],
    )


def gpt2_block(seq=16, hidden=64, heads=4):
    """GPT2Block (pre-norm): fused QKV projection split in three, causal
    mask applied with Where, tanh-GELU MLP."""
    b = Builder()
    head_dim = hidden // heads
    x = "hidden_states"
    h = b.layer_norm_op(x, hidden, "ln_1")
    qkv = b.linear(h, hidden, 3 * hidden, "attn/c_attn")
    q, k, v = b.op("Split", [qkv, b.const(np.array([hidden] * 3, np.int64))], "attn/Split", outputs=3, axis=2)
    q = b.split_heads(q, heads, head_dim, [0, 2, 1, 3])
    k = b.split_heads(k, heads, head_dim, [0, 2, 3, 1])
    v = b.split_heads(v, heads, head_dim, [0, 2, 1, 3])
    s = b.op("MatMul", [q, k], "attn/MatMul")
    s = b.op("Div", [s, b.const(np.array(np.sqrt(head_dim), np.float32))], "attn/Div")
    causal = np.tril(np.ones((seq, seq), bool))[None, None]
    s = b.op("Where", [b.init("attn.bias", causal), s, b.const(np.array(-3.4028234663852886e38, np.float32))], "attn/Where")
    p = b.op("Softmax", [s], "attn/Softmax", axis=-1)
    ctx = b.merge_heads(b.op("MatMul", [p, v], "attn/MatMul_1"), hidden)
    a = b.linear(ctx, hidden, hidden, "attn/c_proj")
    r = b.op("Add", [a, x], "Add")
    h2 = b.layer_norm_op(r, hidden, "ln_2")
    f = b.gelu_tanh(b.linear(h2, hidden, 4 * hidden, "mlp/c_fc"), "mlp/act")
    f = b.linear(f, 4 * hidden, hidden, "mlp/c_proj")
    b.nodes.append(helper.make_node("Add", [r, f], ["output"], name="/Add_1"))
    b.model(
        "gpt2_block",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, seq, hidden])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, seq, hidden])],
    )


if __name__ == "__main__":
    bert_encoder_layer()
    gpt2_block()
