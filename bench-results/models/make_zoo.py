"""Writes the benchmark zoo's text-IR models (bench-results/models/*.trn).

Every weight is a graph input, so the files need no .safetensors side file
and stay small: the cost model and the compiler see the same shapes and ops
either way. The ops are spelled the way exporters write them (primitive
layer norms, erf/tanh GELU, x*sigmoid(x), q@kT/scale + mask -> softmax -> @v)
so that the benchmark also exercises recomposition. The files are
committed; rerun after changing this script (no dependencies):

    python3 bench-results/models/make_zoo.py
"""
import pathlib

HERE = pathlib.Path(__file__).parent


def shape(dims):
    return "[" + ", ".join(str(d) for d in dims) + "]"


class Graph:
    """Builds one graph in trnc text IR, one SSA line per op."""

    def __init__(self, name, comment):
        self.name, self.comment = name, comment
        self.inputs, self.lines, self.count = [], [], 0

    def input(self, name, dtype, dims):
        self.inputs.append(f"%{name}: {dtype}{shape(dims)}")
        return (name, dtype, list(dims))

    def op(self, hint, text, dtype, dims, typed=True):
        self.count += 1
        name = f"{hint}_{self.count}"
        suffix = f" : {dtype}{shape(dims)}" if typed else ""
        self.lines.append(f"  %{name} = {text}{suffix}")
        return (name, dtype, list(dims))

    def scalar(self, value, dtype="f32"):
        # A constant's type is part of its literal: no ` : type` suffix.
        return self.op("c", f"const {dtype}[] {value}", dtype, [], typed=False)

    # Elementwise with numpy broadcasting of the operand shapes.
    def binary(self, kind, a, b):
        ra, rb = a[2], b[2]
        n = max(len(ra), len(rb))
        pa, pb = [1] * (n - len(ra)) + ra, [1] * (n - len(rb)) + rb
        dims = [max(x, y) for x, y in zip(pa, pb)]
        return self.op(kind, f"{kind} %{a[0]}, %{b[0]}", a[1], dims)

    def unary(self, kind, a, attrs=""):
        return self.op(kind, f"{kind} %{a[0]}{attrs}", a[1], a[2])

    def matmul(self, a, b):
        dims = a[2][:-1] + [b[2][-1]]
        return self.op("matmul", f"matmul %{a[0]}, %{b[0]}", a[1], dims)

    def linear(self, x, w, b=None):
        y = self.matmul(x, w)
        return self.binary("add", y, b) if b is not None else y

    def reshape(self, x, dims):
        return self.op("reshape", f"reshape %{x[0]} {{shape = {shape(dims)}}}", x[1], dims)

    def transpose(self, x, perm):
        dims = [x[2][p] for p in perm]
        return self.op("transpose", f"transpose %{x[0]} {{perm = {shape(perm)}}}", x[1], dims)

    def reduce_mean(self, x):
        axis = len(x[2]) - 1
        dims = x[2][:-1] + [1]
        return self.op("reduce_mean", f"reduce_mean %{x[0]} {{axes = [{axis}], keep_dims = true}}", x[1], dims)

    def softmax(self, x):
        return self.op("softmax", f"softmax %{x[0]} {{axis = {len(x[2]) - 1}}}", x[1], x[2])

    def layer_norm_op(self, x, scale, bias, eps="1e-5"):
        axis = len(x[2]) - 1
        return self.op(
            "layer_norm", f"layer_norm %{x[0]}, %{scale[0]}, %{bias[0]} {{axis = {axis}, epsilon = {eps}}}", x[1], x[2]
        )

    def layer_norm_primitives(self, x, scale, bias, eps="1e-12"):
        mean = self.reduce_mean(x)
        xc = self.binary("sub", x, mean)
        var = self.reduce_mean(self.binary("pow", xc, self.scalar("2.0")))
        std = self.unary("sqrt", self.binary("add", var, self.scalar(eps)))
        return self.binary("add", self.binary("mul", self.binary("div", xc, std), scale), bias)

    def rms_norm_primitives(self, x, scale, eps="1e-6"):
        ms = self.reduce_mean(self.binary("pow", x, self.scalar("2.0")))
        r = self.unary("rsqrt", self.binary("add", ms, self.scalar(eps)))
        return self.binary("mul", self.binary("mul", x, r), scale)

    def gelu_erf(self, x):
        e = self.unary("erf", self.binary("div", x, self.scalar("1.4142135")))
        return self.binary("mul", self.binary("mul", x, self.binary("add", e, self.scalar("1.0"))), self.scalar("0.5"))

    def gelu_tanh(self, x):
        x3 = self.binary("pow", x, self.scalar("3.0"))
        inner = self.binary("add", x, self.binary("mul", self.scalar("0.044715"), x3))
        t = self.unary("tanh", self.binary("mul", self.scalar("0.7978846"), inner))
        return self.binary("mul", self.binary("mul", self.scalar("0.5"), x), self.binary("add", self.scalar("1.0"), t))

    def silu(self, x):
        return self.binary("mul", x, self.unary("sigmoid", x))

    def write(self, outputs):
        out_types = ", ".join(f"{o[1]}{shape(o[2])}" for o in outputs)
        head = f"graph @{self.name}({', '.join(self.inputs)}) -> ({out_types}) {{"
        ret = "  return " + ", ".join(f"%{o[0]}" for o in outputs)
        comment = "".join(f"// {line}\n" for line in self.comment.strip().splitlines())
        text = comment + "\n".join([head, *self.lines, ret, "}"]) + "\n"
        (HERE / f"{self.name}.trn").write_text(text)


def mlp(tokens=512, hidden=768, ffn=3072):
    g = Graph("mlp", f"GPT-2-small MLP: [{tokens}, {hidden}] -> {ffn} (tanh GELU) -> {hidden}, f32.")
    x = g.input("x", "f32", [tokens, hidden])
    w1, b1 = g.input("w1", "f32", [hidden, ffn]), g.input("b1", "f32", [ffn])
    w2, b2 = g.input("w2", "f32", [ffn, hidden]), g.input("b2", "f32", [hidden])
    g.write([g.linear(g.gelu_tanh(g.linear(x, w1, b1)), w2, b2)])


def softmax(rows=1024, cols=4096):
    g = Graph("softmax", f"Row softmax over [{rows}, {cols}], f32.")
    g.write([g.softmax(g.input("x", "f32", [rows, cols]))])


def layer_norm(rows=4096, hidden=768):
    g = Graph("layer_norm", f"LayerNorm (the composite op, as ONNX LayerNormalization) over [{rows}, {hidden}], f32.")
    x = g.input("x", "f32", [rows, hidden])
    g.write([g.layer_norm_op(x, g.input("scale", "f32", [hidden]), g.input("bias", "f32", [hidden]))])


def rms_norm_swiglu(tokens=512, hidden=1024, ffn=2816):
    g = Graph(
        "rms_norm_swiglu",
        f"LLaMA-style pre-norm SwiGLU MLP: RMSNorm in primitives, silu(x@Wg) * (x@Wu) @ Wd + x,\n"
        f"[{tokens}, {hidden}] -> {ffn} -> {hidden}, f32.",
    )
    x = g.input("x", "f32", [tokens, hidden])
    scale = g.input("norm_scale", "f32", [hidden])
    wg, wu = g.input("w_gate", "f32", [hidden, ffn]), g.input("w_up", "f32", [hidden, ffn])
    wd = g.input("w_down", "f32", [ffn, hidden])
    h = g.rms_norm_primitives(x, scale)
    act = g.binary("mul", g.silu(g.matmul(h, wg)), g.matmul(h, wu))
    g.write([g.binary("add", g.matmul(act, wd), x)])


def attention(seq, heads=12, head_dim=64):
    g = Graph(
        f"attention_s{seq}",
        f"Scaled dot-product attention, batch 1, {heads} heads of {head_dim}, sequence {seq}, f32,\n"
        "spelled as exporters write it (q @ kT / sqrt(d), softmax, @ v).",
    )
    q = g.input("q", "f32", [1, heads, seq, head_dim])
    k = g.input("k", "f32", [1, heads, seq, head_dim])
    v = g.input("v", "f32", [1, heads, seq, head_dim])
    s = g.binary("div", g.matmul(q, g.transpose(k, [0, 1, 3, 2])), g.scalar(f"{head_dim ** 0.5:.1f}"))
    g.write([g.matmul(g.softmax(s), v)])


def split_heads(g, x, heads, head_dim, perm):
    b, s, _ = x[2]
    return g.transpose(g.reshape(x, [b, s, heads, head_dim]), perm)


def merge_heads(g, x):
    t = g.transpose(x, [0, 2, 1, 3])
    b, s, h, d = t[2]
    return g.reshape(t, [b, s, h * d])


def encoder_layer(g, x, mask, i, hidden, heads, ffn):
    """BertLayer (post-norm), as HF exports it; weights are inputs l<i>_*."""
    head_dim = hidden // heads
    w = lambda n, *dims: g.input(f"l{i}_{n}", "f32", list(dims))
    q = split_heads(g, g.linear(x, w("q_w", hidden, hidden), w("q_b", hidden)), heads, head_dim, [0, 2, 1, 3])
    k = split_heads(g, g.linear(x, w("k_w", hidden, hidden), w("k_b", hidden)), heads, head_dim, [0, 2, 3, 1])
    v = split_heads(g, g.linear(x, w("v_w", hidden, hidden), w("v_b", hidden)), heads, head_dim, [0, 2, 1, 3])
    s = g.binary("add", g.binary("div", g.matmul(q, k), g.scalar(f"{head_dim ** 0.5:.7g}")), mask)
    ctx = merge_heads(g, g.matmul(g.softmax(s), v))
    o = g.binary("add", g.linear(ctx, w("o_w", hidden, hidden), w("o_b", hidden)), x)
    o = g.layer_norm_primitives(o, w("ln1_scale", hidden), w("ln1_bias", hidden))
    h = g.gelu_erf(g.linear(o, w("ffn_in_w", hidden, ffn), w("ffn_in_b", ffn)))
    y = g.binary("add", g.linear(h, w("ffn_out_w", ffn, hidden), w("ffn_out_b", hidden)), o)
    return g.layer_norm_primitives(y, w("ln2_scale", hidden), w("ln2_bias", hidden))


def minilm_encoder(layers, seq=128, hidden=384, heads=12, ffn=1536):
    g = Graph(
        f"minilm_encoder_x{layers}",
        f"{layers} BERT encoder layer(s) at all-MiniLM-L6-v2's sizes (hidden {hidden}, {heads} heads, FFN {ffn}),\n"
        f"batch 1, sequence {seq}, f32, with the extended attention mask from an i64 mask, as HF exports it.\n"
        "The 1/6/24-layer variants measure how compile time grows with depth.",
    )
    x = g.input("hidden_states", "f32", [1, seq, hidden])
    mask = g.input("attention_mask", "i64", [1, seq])
    m = g.op("unsqueeze", f"unsqueeze %attention_mask {{axes = [1, 2]}}", "i64", [1, 1, 1, seq])
    m = g.op("cast", f"cast %{m[0]} {{to = f32}}", "f32", [1, 1, 1, seq])
    m = g.binary("mul", g.binary("sub", g.scalar("1.0"), m), g.scalar("-10000.0"))
    for i in range(layers):
        x = encoder_layer(g, x, m, i, hidden, heads, ffn)
    g.write([x])


def gpt2_small_block(seq=128, hidden=768, heads=12):
    g = Graph(
        "gpt2_small_block",
        f"GPT2Block (pre-norm) at GPT-2 small's sizes: hidden {hidden}, {heads} heads, sequence {seq}, f32.\n"
        "Fused QKV projection split by slices; causal attention as the attention op (the causal\n"
        "mask would need a side file); tanh GELU MLP.",
    )
    head_dim = hidden // heads
    x = g.input("hidden_states", "f32", [1, seq, hidden])
    w = lambda n, *dims: g.input(n, "f32", list(dims))
    h = g.layer_norm_op(x, w("ln1_scale", hidden), w("ln1_bias", hidden))
    qkv = g.linear(h, w("c_attn_w", hidden, 3 * hidden), w("c_attn_b", 3 * hidden))
    parts = []
    for j in range(3):
        text = f"slice %{qkv[0]} {{axes = [2], starts = [{j * hidden}], ends = [{(j + 1) * hidden}], steps = [1]}}"
        parts.append(g.op("slice", text, "f32", [1, seq, hidden]))
    q, k, v = (split_heads(g, p, heads, head_dim, [0, 2, 1, 3]) for p in parts)
    scale = f"{1 / head_dim ** 0.5}"
    ctx = g.op("attention", f"attention %{q[0]}, %{k[0]}, %{v[0]} {{scale = {scale}, causal = true}}", "f32", q[2])
    a = g.linear(merge_heads(g, ctx), w("c_proj_w", hidden, hidden), w("c_proj_b", hidden))
    r = g.binary("add", a, x)
    h2 = g.layer_norm_op(r, w("ln2_scale", hidden), w("ln2_bias", hidden))
    f = g.gelu_tanh(g.linear(h2, w("c_fc_w", hidden, 4 * hidden), w("c_fc_b", 4 * hidden)))
    f = g.linear(f, w("mlp_proj_w", 4 * hidden, hidden), w("mlp_proj_b", hidden))
    g.write([g.binary("add", r, f)])


def matmul_bf16(name, m, k, n, comment):
    g = Graph(name, comment)
    g.write([g.matmul(g.input("a", "bf16", [m, k]), g.input("b", "bf16", [k, n]))])


if __name__ == "__main__":
    mlp()
    softmax()
    layer_norm()
    rms_norm_swiglu()
    for seq in (128, 512, 2048):
        attention(seq)
    gpt2_small_block()
    for layers in (1, 6, 24):
        minilm_encoder(layers)
    matmul_bf16(
        "matmul_tutorial_bf16",
        4096,
        8192,
        8192,
        "The NKI matmul tutorial's benchmark: [4096, 8192] @ [8192, 8192], bf16\n"
        "(the cost model is calibrated on the tutorial's four hand-written versions).",
    )
    matmul_bf16("matmul_4096_bf16", 4096, 4096, 4096, "A square 4096^3 matmul, bf16.")
