"""Writes the reference backend's golden cases into `cases/`.

Each case is a small graph `<name>.trn` (its first lines say what it checks
and how the test compares: `// check: exact` or `// check: rel_l2 <tol>`),
its inputs `<name>.in<i>.npy` and the expected outputs `<name>.out<i>.npy`.
Expectations come from numpy (computing in float64, then rounding once to
the output dtype), ml_dtypes for bf16/fp8 and Python's math module; none of
them come from trnc. NumPy has no bf16 or fp8 arrays, so those tensors are
stored as float32 (their values are exact in float32).

Run with the repository's virtual environment and commit the output:

    .venv/bin/python backends/cpu/tests/golden/make_goldens.py
"""

import math
import pathlib

import ml_dtypes
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent / "cases"
rng = np.random.default_rng(20250601)

BF16, F8E4M3, F8E5M2 = ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2
# How each trnc dtype is stored in a .npy file.
STORAGE = {
    "f32": np.float32, "f16": np.float32, "bf16": np.float32, "f8e4m3": np.float32,
    "f8e5m2": np.float32, "i64": np.int64, "i32": np.int32, "bool": np.bool_,
}
EXACT = "exact"
F32_TOL = "rel_l2 1e-6"

cases = []


# ---------------------------------------------------------------- helpers


def normal(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def uniform(lo, hi, *shape):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def ints(lo, hi, *shape, dtype=np.int64):
    return rng.integers(lo, hi, shape, dtype=dtype)


def f64(a):
    return np.asarray(a, dtype=np.float64)


def f32(a):
    """Rounds float64 results once to float32 (numpy rounds to nearest even)."""
    return np.asarray(a, dtype=np.float64).astype(np.float32)


def low(a, dtype):
    """Rounds float32 values once to a narrow dtype, kept as float32."""
    with np.errstate(over="ignore"):  # overflow to inf is what is being tested
        return np.asarray(a, dtype=np.float32).astype(dtype).astype(np.float32)


def vec(fn, a):
    """Applies a scalar math function elementwise in float64."""
    return np.vectorize(fn, otypes=[np.float64])(f64(a))


def ty(dtype, shape):
    return f"{dtype}[{', '.join(str(d) for d in shape)}]"


def fmt_attr(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(str(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def add(name, doc, inputs, body, outputs, check):
    """A case: `inputs` and `outputs` are (dtype, array) pairs; `body` the
    graph's statements, reading %x0, %x1, ... and defining %y0, %y1, ..."""
    params = ", ".join(f"%x{i}: {ty(d, a.shape)}" for i, (d, a) in enumerate(inputs))
    results = ", ".join(ty(d, a.shape) for d, a in outputs)
    returns = ", ".join(f"%y{i}" for i in range(len(outputs)))
    lines = [f"// {line}" for line in doc.split("\n")]
    lines += [f"// check: {check}", f"graph @{name}({params}) -> ({results}) {{"]
    lines += [f"  {s}" for s in body] + [f"  return {returns}", "}", ""]
    cases.append((name, "\n".join(lines), inputs, outputs))


def op(name, doc, opname, inputs, out_dtype, expected, check, attrs=None):
    """A one-node case: %y0 = opname %x0, ... {attrs}."""
    expected = np.asarray(expected)
    operands = ", ".join(f"%x{i}" for i in range(len(inputs)))
    attr = ""
    if attrs:
        attr = " {" + ", ".join(f"{k} = {fmt_attr(v)}" for k, v in attrs.items()) + "}"
    stmt = f"%y0 = {opname} {operands}{attr} : {ty(out_dtype, expected.shape)}"
    add(name, doc, inputs, [stmt], [(out_dtype, expected)], check)


def write():
    OUT.mkdir(exist_ok=True)
    for old in list(OUT.glob("*.trn")) + list(OUT.glob("*.npy")):
        old.unlink()
    for name, text, inputs, outputs in cases:
        (OUT / f"{name}.trn").write_text(text)
        for kind, arrays in (("in", inputs), ("out", outputs)):
            for i, (dtype, a) in enumerate(arrays):
                a = np.array(a, dtype=STORAGE[dtype], order="C")  # keeps rank 0
                np.save(OUT / f"{name}.{kind}{i}.npy", a)
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(cases)} cases, {total} bytes, to {OUT}")


# ------------------------------------------------------------ unary ops

SQRT2 = math.sqrt(2.0)


def sigmoid(x):
    # exp(-log(1 + e^-x)), with numpy's stable log(e^0 + e^-x).
    return np.exp(-np.logaddexp(0.0, -f64(x)))


x = normal(3, 4, scale=2.0)
pos = uniform(0.1, 5.0, 3, 4)
unary = {
    "neg": (x, -f64(x)),
    "abs": (x, np.abs(f64(x))),
    "exp": (x, np.exp(f64(x))),
    "log": (pos, np.log(f64(pos))),
    "sqrt": (pos, np.sqrt(f64(pos))),
    "rsqrt": (pos, 1.0 / np.sqrt(f64(pos))),
    "reciprocal": (pos, 1.0 / f64(pos)),
    "tanh": (x, np.tanh(f64(x))),
    "erf": (x, vec(math.erf, x)),
    "relu": (x, np.maximum(f64(x), 0.0)),
    "silu": (x, f64(x) * sigmoid(x)),
    "sin": (x, np.sin(f64(x))),
    "cos": (x, np.cos(f64(x))),
    "square": (x, f64(x) ** 2),
}
for name, (a, want) in unary.items():
    op(f"unary_{name}", f"{name} on f32, against numpy / math in float64.", name,
       [("f32", a)], "f32", f32(want), F32_TOL)

big = np.concatenate([normal(12, scale=4.0), np.array([-800, -100, -30, 30, 100, 800], np.float32)])
op("unary_sigmoid", "sigmoid, including |x| large enough to overflow a naive exp(-x).",
   "sigmoid", [("f32", big)], "f32", f32(sigmoid(big)), F32_TOL)
wide = normal(4, 5, scale=3.0)
op("unary_gelu", "gelu (exact): 0.5 x (1 + erf(x / sqrt 2)) with math.erf.", "gelu",
   [("f32", wide)], "f32", f32(0.5 * f64(wide) * (1.0 + vec(math.erf, f64(wide) / SQRT2))), F32_TOL)
u = math.sqrt(2.0 / math.pi) * (f64(wide) + 0.044715 * f64(wide) ** 3)
op("unary_gelu_tanh", "gelu {approx = tanh}: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).",
   "gelu", [("f32", wide)], "f32", f32(0.5 * f64(wide) * (1.0 + np.tanh(u))), F32_TOL,
   attrs={"approx": '"tanh"'})
flags = rng.random((2, 3)) < 0.5
op("unary_not", "logical not on bool.", "not", [("bool", flags)], "bool", ~flags, EXACT)

# Integer unary ops must not pass through float64: every value is above 2^53.
bigi = np.array([2**53 + 1, -(2**53 + 3), 2**62 + 7, -(2**60 + 1), 5, -6], np.int64)
for name, want in [("neg", -bigi), ("abs", np.abs(bigi)), ("relu", np.maximum(bigi, 0))]:
    op(f"unary_{name}_i64", f"{name} on i64 values beyond 2^53 (exact).", name,
       [("i64", bigi)], "i64", want, EXACT)
sq = np.array([3_037_000_499, -94_906_267, 7, -2**31], np.int64)
op("unary_square_i64", "square on i64, exact (products above 2^53).", "square",
   [("i64", sq)], "i64", sq * sq, EXACT)

a = normal(3, 4, scale=2.0)
op("leaky_relu", "leaky_relu with alpha = 0.2.", "leaky_relu", [("f32", a)], "f32",
   f32(np.where(f64(a) >= 0, f64(a), 0.2 * f64(a))), F32_TOL, attrs={"alpha": 0.2})

# ----------------------------------------------------------- binary ops

a, b = normal(2, 3, 4), normal(3, 1)
op("binary_add_broadcast", "add: [2,3,4] + [3,1] broadcasts both ways.", "add",
   [("f32", a), ("f32", b)], "f32", f32(f64(a) + f64(b)), F32_TOL)
a, b = normal(4), normal(2, 1, 4)
op("binary_sub_broadcast", "sub: [4] - [2,1,4], the lower-rank operand first.", "sub",
   [("f32", a), ("f32", b)], "f32", f32(f64(a) - f64(b)), F32_TOL)
a, b = normal(), normal(2, 3)
op("binary_mul_scalar", "mul: a rank-0 operand broadcasts to [2,3].", "mul",
   [("f32", a), ("f32", b)], "f32", f32(f64(a) * f64(b)), F32_TOL)
a, b = normal(2, 3), uniform(0.5, 2.0, 2, 3) * np.sign(normal(2, 3))
op("binary_div", "div on f32.", "div", [("f32", a), ("f32", b)], "f32", f32(f64(a) / f64(b)), F32_TOL)
a, b = uniform(0.1, 3.0, 2, 3), normal(1, 3)
op("binary_pow", "pow with a positive base and a broadcast exponent.", "pow",
   [("f32", a), ("f32", b)], "f32", f32(f64(a) ** f64(b)), F32_TOL)
a, b = normal(2, 4), normal(2, 4)
a[0, 1], b[1, 2], a[1, 3], b[1, 3] = np.nan, np.nan, np.nan, np.nan
op("binary_max_nan", "max propagates NaN from either side (numpy.maximum).", "max",
   [("f32", a), ("f32", b)], "f32", f32(np.maximum(f64(a), f64(b))), EXACT)
op("binary_min_nan", "min propagates NaN from either side (numpy.minimum).", "min",
   [("f32", a), ("f32", b)], "f32", f32(np.minimum(f64(a), f64(b))), EXACT)

# Small integers as floats so that many pairs are equal.
a, b = ints(-2, 3, 3, 4).astype(np.float32), ints(-2, 3, 4).astype(np.float32)
cmp = {"eq": np.equal, "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}
for name, fn in cmp.items():
    op(f"binary_{name}", f"{name} on f32 with ties, broadcast [3,4] against [4].", name,
       [("f32", a), ("f32", b)], "bool", fn(a, b), EXACT)
p, q = rng.random((2, 3)) < 0.5, rng.random((3,)) < 0.5
op("binary_and", "and on bool, broadcast.", "and", [("bool", p), ("bool", q)], "bool", p & q, EXACT)
op("binary_or", "or on bool, broadcast.", "or", [("bool", p), ("bool", q)], "bool", p | q, EXACT)

# i64 beyond 2^53: neighbours there are equal as float64, so any detour
# through floats shows.
ia = np.array([2**53 + 1, 2**53 + 1, -(2**62 + 3), 2**62 + 5, 7, -9, 2**60 + 3, -(2**55)], np.int64)
ib = np.array([2**53, 2**53 + 1, 2**61 + 1, 3, -2, 4, -(2**60 + 2), 2**55 + 1], np.int64)
ops_i64 = {"add": ia + ib, "sub": ia - ib, "max": np.maximum(ia, ib), "min": np.minimum(ia, ib)}
for name, want in ops_i64.items():
    op(f"binary_{name}_i64", f"{name} on i64 values beyond 2^53 (exact).", name,
       [("i64", ia), ("i64", ib)], "i64", want, EXACT)
for name, fn in cmp.items():
    op(f"binary_{name}_i64", f"{name} on i64 neighbours beyond 2^53 (exact).", name,
       [("i64", ia), ("i64", ib)], "bool", fn(ia, ib), EXACT)
ma = np.array([2**40 + 3, -(2**31 + 1), 2**62 + 1, 3], np.int64)
mb = np.array([2**20 + 1, 2**31 - 1, 4, -(2**62)], np.int64)
with np.errstate(over="ignore"):
    op("binary_mul_i64", "mul on i64: exact, and wrapping on overflow (the last two).", "mul",
       [("i64", ma), ("i64", mb)], "i64", ma * mb, EXACT)
da = np.array([2**53 + 3, -(2**62 + 1), 7, -7, 7, -7, 2**62], np.int64)
db = np.array([2, 3, 2, 2, -2, -2, -(2**53 + 1)], np.int64)
trunc = np.sign(da) * np.sign(db) * (np.abs(da) // np.abs(db))
op("binary_div_i64", "div on i64 truncates toward zero (C, not numpy's floor).", "div",
   [("i64", da), ("i64", db)], "i64", trunc, EXACT)
wa = np.array([2**31 - 1, -(2**31), 100_000, 5], np.int32)
wb = np.array([1, -1, 100_000, -7], np.int32)
with np.errstate(over="ignore"):
    op("binary_add_i32_wrap", "add on i32 wraps on overflow.", "add",
       [("i32", wa), ("i32", wb)], "i32", wa + wb, EXACT)
    op("binary_mul_i32_wrap", "mul on i32 wraps on overflow.", "mul",
       [("i32", wa), ("i32", wb)], "i32", wa * wb, EXACT)

# ------------------------------------------------------- where, const

c, a, b = rng.random((2, 1, 4)) < 0.5, normal(3, 1), normal()
op("where_broadcast", "where broadcasting all three: [2,1,4], [3,1], [].", "where",
   [("bool", c), ("f32", a), ("f32", b)], "f32", np.where(c, a, b), EXACT)
c = rng.random((4,)) < 0.5
wi, wj = np.array([2**62 + 1, -(2**53 + 1), 3, 4], np.int64), np.array([2**53 + 5], np.int64)
op("where_i64", "where on i64 beyond 2^53 copies values exactly.", "where",
   [("bool", c), ("i64", wi), ("i64", wj)], "i64", np.where(c, wi, wj), EXACT)
a = normal(2, 3)
k = np.array([1.5, -2.0, 0.25], np.float32)
add("const_add", "a const operand: x + [1.5, -2.0, 0.25].", [("f32", a)],
    ["%c = const f32[3] [1.5, -2.0, 0.25]", "%y0 = add %x0, %c : f32[2, 3]"],
    [("f32", f32(f64(a) + f64(k)))], F32_TOL)

# ------------------------------------------------------------------ cast

ties_bf16 = [1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), 3.4028235e38, 1e-40, -0.0, np.inf, np.nan]
xb = np.concatenate([normal(16, scale=10.0), np.array(ties_bf16, np.float32)])
assert low([1 + 2**-8, 1 + 3 * 2**-8], BF16).tolist() == [1.0, 1 + 2**-6], "ml_dtypes rounds ties to even"
op("cast_f32_bf16", "f32 -> bf16, nearest-even (ties 1+2^-8 -> 1, 1+3*2^-8 -> 1+2^-6), overflow -> inf.",
   "cast", [("f32", xb)], "bf16", low(xb, BF16), EXACT, attrs={"to": "bf16"})
ties_f16 = [1 + 2**-11, 1 + 3 * 2**-11, 65519.0, 65520.0, 1e6, 3e-8, 2e-8, -0.0, np.nan]
xh = np.concatenate([normal(16, scale=100.0), np.array(ties_f16, np.float32)])
op("cast_f32_f16", "f32 -> f16, nearest-even, subnormals, 65520 -> inf.", "cast",
   [("f32", xh)], "f16", low(xh, np.float16), EXACT, attrs={"to": "f16"})
specials = [448.0, 464.0, 470.0, 1e6, -1e6, 1.0625, 1.1875, 2**-9, 2**-10, 57344.0, 61440.0,
            61439.0, -0.3, np.inf, -np.inf, np.nan]
x8 = np.concatenate([normal(16, scale=20.0), np.array(specials, np.float32)])
for dname, dt, fmax, has_inf in [("f8e4m3", F8E4M3, 448.0, False), ("f8e5m2", F8E5M2, 57344.0, True)]:
    op(f"cast_f32_{dname}", f"f32 -> {dname} with saturate = false: overflow gives "
       f"{'inf' if has_inf else 'NaN'} (ml_dtypes' conversion).", "cast",
       [("f32", x8)], dname, low(x8, dt), EXACT, attrs={"to": dname, "saturate": False})
    # ONNX Cast saturate=1: finite values clamp to the finite range first;
    # infinities stay infinite in a format that has them, else clamp.
    clamped = np.clip(x8, -fmax, fmax)
    if has_inf:
        clamped = np.where(np.isinf(x8), x8, clamped)
    op(f"cast_f32_{dname}_saturate", f"f32 -> {dname} with saturate = true (ONNX Cast saturate=1).",
       "cast", [("f32", x8)], dname, low(clamped, dt), EXACT, attrs={"to": dname})

xi = np.array([2.7, -2.7, 0.5, -0.5, 1e10, -1e10, 1e19, -1e19, np.nan, 3e9, -3e9, 0.0], np.float32)


def trunc_sat(v, lo, hi):
    return 0 if math.isnan(v) else max(lo, min(hi, math.trunc(v)))


op("cast_f32_i64", "f32 -> i64 truncates toward zero, saturates, NaN -> 0.", "cast",
   [("f32", xi)], "i64", np.array([trunc_sat(v, -2**63, 2**63 - 1) for v in xi.tolist()], np.int64),
   EXACT, attrs={"to": "i64"})
op("cast_f32_i32", "f32 -> i32 truncates toward zero, saturates, NaN -> 0.", "cast",
   [("f32", xi)], "i32", np.array([trunc_sat(v, -2**31, 2**31 - 1) for v in xi.tolist()], np.int32),
   EXACT, attrs={"to": "i32"})
xz = np.array([0.0, -0.0, 1e-30, np.nan, -2.5], np.float32)
op("cast_f32_bool", "f32 -> bool is x != 0 (NaN is true).", "cast", [("f32", xz)], "bool",
   np.array([v != 0 for v in xz.tolist()]), EXACT, attrs={"to": "bool"})
# numpy's int64 -> float32 conversion is correctly rounded (checked here).
xl = np.array([2**62 + 2**38 + 1, -(2**62 + 2**38 + 1), 2**53 + 1, 2**24 + 1, -(2**63), 2**63 - 1, 12345], np.int64)
assert float(xl[:1].astype(np.float32)[0]) == 2.0**62 + 2.0**39
op("cast_i64_f32", "i64 -> f32 rounds once to nearest even (2^62+2^38+1 -> 2^62+2^39).", "cast",
   [("i64", xl)], "f32", xl.astype(np.float32), EXACT, attrs={"to": "f32"})
xs = np.array([2**31 - 1, -(2**31), 5, -5, 0], np.int64)
op("cast_i64_i32", "i64 -> i32 for values in range.", "cast", [("i64", xs)], "i32",
   xs.astype(np.int32), EXACT, attrs={"to": "i32"})
op("cast_i64_bool", "i64 -> bool is x != 0.", "cast", [("i64", xl)], "bool", xl != 0, EXACT,
   attrs={"to": "bool"})
fl = rng.random((2, 3)) < 0.5
op("cast_bool_f32", "bool -> f32 gives 0 and 1.", "cast", [("bool", fl)], "f32",
   fl.astype(np.float32), EXACT, attrs={"to": "f32"})
xb16 = low(normal(2, 3, scale=5.0), BF16)
op("cast_bf16_f32", "bf16 -> f32 is exact.", "cast", [("bf16", xb16)], "f32", xb16, EXACT,
   attrs={"to": "f32"})

# ------------------------------------------------------------------ clip

a = normal(3, 4, scale=2.0)
a[0, 0] = np.nan
op("clip_min_max", "clip to [-0.5, 1.25]; NaN stays NaN.", "clip", [("f32", a)], "f32",
   f32(np.clip(f64(a), -0.5, 1.25)), EXACT, attrs={"min": -0.5, "max": 1.25})
op("clip_min_only", "clip with only a lower bound.", "clip", [("f32", a)], "f32",
   f32(np.where(f64(a) < 0.1, 0.1, f64(a))), EXACT, attrs={"min": 0.1})
ci = np.array([2**62 + 1, -(2**62 + 1), 2**53 + 1, -7, 0], np.int64)
# An integer is >= -5.5 exactly when it is >= -5, and <= 1e18 when <= 10^18.
op("clip_i64", "clip on i64 beyond 2^53 with real bounds [-5.5, 1e18].", "clip", [("i64", ci)], "i64",
   np.array([max(-5, min(10**18, v)) for v in ci.tolist()], np.int64), EXACT,
   attrs={"min": -5.5, "max": 1e18})

# ---------------------------------------------------------------- matmul


def mm(a, b):
    return f32(np.matmul(f64(a), f64(b)))


for name, sa, sb, doc in [
    ("matmul_2d", (2, 3), (3, 4), "[2,3] @ [3,4]."),
    ("matmul_1d_left", (3,), (3, 4), "[3] @ [3,4]: a 1-D left operand is a row; result [4]."),
    ("matmul_1d_right", (2, 3), (3,), "[2,3] @ [3]: a 1-D right operand is a column; result [2]."),
    ("matmul_1d_1d", (5,), (5,), "[5] @ [5]: a dot product; result []."),
    ("matmul_batch_broadcast", (2, 1, 2, 3), (3, 3, 4), "[2,1,2,3] @ [3,3,4]: batch [2,1] and [3] broadcast."),
    ("matmul_1d_batched", (3,), (2, 3, 4), "[3] @ [2,3,4]: the vector broadcasts over the batch."),
]:
    a, b = normal(*sa), normal(*sb)
    op(name, doc, "matmul", [("f32", a), ("f32", b)], "f32", mm(a, b), F32_TOL)
a = ints(-2**40, 2**40, 2, 3)
b = ints(-1000, 1000, 3, 2)
op("matmul_i64", "matmul on i64 with sums beyond 2^53 (exact).", "matmul",
   [("i64", a), ("i64", b)], "i64", np.matmul(a, b), EXACT)
a, b = low(normal(2, 8), BF16), low(normal(8, 3), BF16)
op("matmul_bf16", "matmul on bf16: f64 accumulation, one rounding to bf16 (within bf16 precision).",
   "matmul", [("bf16", a), ("bf16", b)], "bf16", low(mm(a, b), BF16), "rel_l2 4e-3")

# ------------------------------------------------------------ reductions

x = normal(2, 3, 4)
op("reduce_sum_axis1", "reduce_sum over axis 1, keep_dims false.", "reduce_sum", [("f32", x)], "f32",
   f32(f64(x).sum(axis=1)), F32_TOL, attrs={"axes": [1], "keep_dims": False})
op("reduce_mean_keep", "reduce_mean over axes 0 and 2, keep_dims true.", "reduce_mean", [("f32", x)],
   "f32", f32(f64(x).mean(axis=(0, 2), keepdims=True)), F32_TOL, attrs={"axes": [0, 2], "keep_dims": True})
op("reduce_mean_negative_axis", "reduce_mean over axis -1 (normalised to 2).", "reduce_mean", [("f32", x)],
   "f32", f32(f64(x).mean(axis=2)), F32_TOL, attrs={"axes": [-1]})
op("reduce_min_all", "reduce_min over every axis gives a scalar.", "reduce_min", [("f32", x)], "f32",
   f32(f64(x).min()), EXACT, attrs={"axes": [0, 1, 2]})
op("reduce_sum_no_axes", "reduce_sum with no axes is the identity.", "reduce_sum", [("f32", x)], "f32",
   x, EXACT, attrs={"axes": []})
xn = normal(3, 4)
xn[1, 2] = np.nan
op("reduce_max_nan", "reduce_max over axis 1; the row holding NaN gives NaN.", "reduce_max",
   [("f32", xn)], "f32", f32(f64(xn).max(axis=1, keepdims=True)), EXACT, attrs={"axes": [1], "keep_dims": True})
xi = np.array([[2**62, 2**62 - 1, 3], [2**53 + 1, 2**53 + 1, -(2**53)]], np.int64)
op("reduce_sum_i64", "reduce_sum on i64 beyond 2^53 (exact).", "reduce_sum", [("i64", xi)], "i64",
   xi.sum(axis=0), EXACT, attrs={"axes": [0]})
op("reduce_max_i64", "reduce_max on i64 neighbours beyond 2^53.", "reduce_max", [("i64", xi)], "i64",
   xi.max(axis=1), EXACT, attrs={"axes": [1]})
xm = np.array([[7, -7, 2**62 + 1], [-(2**62), 1, -2]], np.int64)
# Exact sum, divided with truncation toward zero.
means = [(abs(s) // len(c)) * (1 if s >= 0 else -1) for c in xm.T.tolist() for s in [sum(c)]]
op("reduce_mean_i64", "reduce_mean on i64: exact sum divided with truncation toward zero.",
   "reduce_mean", [("i64", xm)], "i64", np.array(means, np.int64), EXACT, attrs={"axes": [0]})

# ------------------------------------------------------ softmax and norms


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


x = normal(2, 3, 4, scale=3.0)
op("softmax_middle_axis", "softmax along axis 1 of [2,3,4].", "softmax", [("f32", x)], "f32",
   f32(softmax(f64(x), 1)), F32_TOL, attrs={"axis": 1})
xl = normal(2, 5, scale=3.0)
xl[0, 0] = 1000.0  # would overflow exp without the max shift
ls = f64(xl) - f64(xl).max(axis=-1, keepdims=True)
ls = ls - np.log(np.exp(ls).sum(axis=-1, keepdims=True))
op("log_softmax_last_axis", "log_softmax along axis -1, with a value that overflows a naive exp.",
   "log_softmax", [("f32", xl)], "f32", f32(ls), F32_TOL, attrs={"axis": -1})


def layer_norm(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


x, s, bias = normal(2, 3, 4, scale=2.0) + 1.0, normal(3, 4), normal(4)
op("layer_norm_scale_bias", "layer_norm over axes 1..3 with scale [3,4] and bias [4], epsilon 1e-5.",
   "layer_norm", [("f32", x), ("f32", s), ("f32", bias)], "f32",
   f32(layer_norm(f64(x), (1, 2), 1e-5) * f64(s) + f64(bias)), F32_TOL, attrs={"axis": 1, "epsilon": 1e-5})
op("layer_norm_plain", "layer_norm over the last axis, no scale or bias, epsilon 0.001.", "layer_norm",
   [("f32", x)], "f32", f32(layer_norm(f64(x), (2,), 1e-3)), F32_TOL, attrs={"axis": 2, "epsilon": 0.001})
x, s = normal(2, 3, 4, scale=2.0), normal(4)
rms = f64(x) / np.sqrt((f64(x) ** 2).mean(axis=2, keepdims=True) + 1e-6) * f64(s)
op("rms_norm_scale", "rms_norm over the last axis with scale [4], epsilon 1e-6.", "rms_norm",
   [("f32", x), ("f32", s)], "f32", f32(rms), F32_TOL, attrs={"axis": 2, "epsilon": 1e-6})

# ----------------------------------------------------------- layout ops

x = normal(2, 3, 4)
op("transpose", "transpose with perm [2, 0, 1].", "transpose", [("f32", x)], "f32",
   x.transpose(2, 0, 1), EXACT, attrs={"perm": [2, 0, 1]})
xi = np.arange(2**53, 2**53 + 6, dtype=np.int64).reshape(2, 3)
op("transpose_i64", "transpose of i64 values beyond 2^53 copies them exactly.", "transpose",
   [("i64", xi)], "i64", xi.T, EXACT, attrs={"perm": [1, 0]})
xb = low(normal(2, 3, scale=4.0), BF16)
op("transpose_bf16", "transpose of bf16 data.", "transpose", [("bf16", xb)], "bf16", xb.T, EXACT,
   attrs={"perm": [1, 0]})
op("reshape", "reshape [2,3,4] -> [4,6].", "reshape", [("f32", x)], "f32", x.reshape(4, 6), EXACT,
   attrs={"shape": [4, 6]})
e = normal(3, 1)
op("expand", "expand [3,1] to [2,1,4]: the result is the broadcast [2,3,4].", "expand", [("f32", e)],
   "f32", np.broadcast_to(e, (2, 3, 4)), EXACT, attrs={"shape": [2, 1, 4]})
s1 = normal(2, 1, 3)
op("squeeze", "squeeze axis 1 of [2,1,3].", "squeeze", [("f32", s1)], "f32", s1.reshape(2, 3), EXACT,
   attrs={"axes": [1]})
op("unsqueeze", "unsqueeze at output axes 0 and 3: [2,1,3] -> [1,2,1,1,3].", "unsqueeze", [("f32", s1)],
   "f32", s1.reshape(1, 2, 1, 1, 3), EXACT, attrs={"axes": [0, 3]})
x = normal(3, 5, 4)
op("slice_positive", "slice 1:3 on axis 0 and 0:5:2 on axis 1.", "slice", [("f32", x)], "f32",
   x[1:3, 0:5:2], EXACT, attrs={"axes": [0, 1], "starts": [1, 0], "ends": [3, 5], "steps": [1, 2]})
# Normal form: end = -1 means "through index 0" (numpy x[3::-2]).
op("slice_negative_step", "slice 3::-2 on axis 1 (end -1 means through index 0) and 3:0:-1 on axis 2.",
   "slice", [("f32", x)], "f32", x[:, 3::-2, 3:0:-1], EXACT,
   attrs={"axes": [1, 2], "starts": [3, 3], "ends": [-1, 0], "steps": [-2, -1]})
p0, p1, p2 = normal(2, 1, 3), normal(2, 4, 3), normal(2, 2, 3)
op("concat", "concat of [2,1,3], [2,4,3], [2,2,3] along axis 1.", "concat",
   [("f32", p0), ("f32", p1), ("f32", p2)], "f32", np.concatenate([p0, p1, p2], axis=1), EXACT,
   attrs={"axis": 1})
q0, q1 = np.array([[2**53 + 1], [-(2**62)]], np.int64), np.array([[2**60 + 1, 3], [4, 5]], np.int64)
op("concat_i64", "concat of i64 along the last axis.", "concat", [("i64", q0), ("i64", q1)], "i64",
   np.concatenate([q0, q1], axis=1), EXACT, attrs={"axis": 1})
x = normal(2, 4, 3)
gi = np.array([[0, -1], [2, -4], [3, 1]], np.int64)
op("gather_negative", "gather axis 1 of [2,4,3] with [3,2] indices, some negative (numpy.take).",
   "gather", [("f32", x), ("i64", gi)], "f32", np.take(x, gi, axis=1), EXACT, attrs={"axis": 1})
gb = rng.random((3, 2)) < 0.5
g32 = np.array([2, 0, -1, 1], np.int32)
op("gather_bool_i32", "gather axis 0 of bool data with i32 indices.", "gather",
   [("bool", gb), ("i32", g32)], "bool", np.take(gb, g32, axis=0), EXACT, attrs={"axis": 0})
gl = np.array([2**53 + 1, 2**53 + 2, -(2**62)], np.int64)
g0 = np.array(-1, np.int64)
op("gather_scalar_index_i64", "gather with a rank-0 index removes the axis; i64 data kept exact.",
   "gather", [("i64", gl), ("i64", g0)], "i64", np.take(gl, g0, axis=0), EXACT, attrs={"axis": 0})

# ----------------------------------------------------- a small network

x, w, bias = normal(4, 8), normal(8, 6, scale=0.3), normal(6)
h = mm(x, w)
h = f32(f64(h) + f64(bias))
u = math.sqrt(2.0 / math.pi) * (f64(h) + 0.044715 * f64(h) ** 3)
g = f32(0.5 * f64(h) * (1.0 + np.tanh(u)))
m = f32(f64(g).mean(axis=1))
add("mlp_chain", "matmul, add, gelu (tanh) and reduce_mean in a chain; every node rounds to f32.\n"
    "Two outputs: the activation and its row means.",
    [("f32", x), ("f32", w), ("f32", bias)],
    ["%h = matmul %x0, %x1 : f32[4, 6]",
     "%hb = add %h, %x2 : f32[4, 6]",
     '%y0 = gelu %hb {approx = "tanh"} : f32[4, 6]',
     "%y1 = reduce_mean %y0 {axes = [1], keep_dims = false} : f32[4]"],
    [("f32", g), ("f32", m)], F32_TOL)

# ------------------------------------------------------------ attention

def sdpa(q, k, v, scale, mask=None, causal=False):
    s = f64(q) @ np.swapaxes(f64(k), -1, -2) * scale
    if mask is not None:
        s = s + f64(mask)
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)) @ f64(v)


q, k, v = normal(2, 3, 5, 8), normal(2, 3, 7, 8), normal(1, 3, 7, 4)
mask = np.where(rng.random((2, 1, 5, 7)) < 0.3, -1e4, 0).astype(np.float32)
op("attention_additive_mask", "attention with an additive mask and batch broadcasting of v.", "attention",
   [("f32", q), ("f32", k), ("f32", v), ("f32", mask)], "f32", f32(sdpa(q, k, v, 0.125, mask)), F32_TOL,
   attrs={"scale": 0.125, "causal": False})
q, k, v = normal(2, 6, 16), normal(2, 6, 16), normal(2, 6, 16)
op("attention_causal", "causal attention: key j hidden from query i when j > i.", "attention",
   [("f32", q), ("f32", k), ("f32", v)], "f32", f32(sdpa(q, k, v, 0.25, causal=True)), F32_TOL,
   attrs={"scale": 0.25, "causal": True})

if __name__ == "__main__":
    write()
