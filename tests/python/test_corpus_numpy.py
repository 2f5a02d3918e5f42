"""`trnc run` on the example graphs against NumPy written independently of
trnc: every graph of tests/corpus has its NumPy twin here, computed in
float64 and rounded to the output dtype only where the graph says so."""

import json
import math
import os
import pathlib
import struct
import subprocess

import ml_dtypes
import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
TRNC = os.environ.get("TRNC_BIN", str(ROOT / "target" / "debug" / "trnc"))


def read_safetensors(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[info["dtype"]]
        out[name] = np.frombuffer(raw[8 + n + start : 8 + n + end], dtype=dtype).reshape(info["shape"])
    return out


def run_trnc(graph, tmp_path, *extra):
    out = tmp_path / "out"
    cmd = [TRNC, "run", str(CORPUS / f"{graph}.trn"), "--output-dir", str(out), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    inputs = {p.stem: np.load(p) for p in (out / "inputs").glob("*.npy")} if (out / "inputs").exists() else {}
    return inputs, lambda name: np.load(out / f"{name}.npy")


def rel_l2(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30)


def f64(a):
    return np.asarray(a, np.float64)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layer_norm(x, eps, axis=-1):
    mean = x.mean(axis=axis, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axis, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


erf = np.vectorize(math.erf)


def test_mlp(tmp_path):
    w = read_safetensors(CORPUS / "mlp.safetensors")
    inputs, out = run_trnc("mlp", tmp_path, "--random-inputs", "1")
    b2 = np.array([0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.05, -0.15, 0.25, -0.35, 0.45, -0.55, 0.65, -0.75], np.float32)
    h = gelu_tanh(f64(inputs["x"]) @ f64(w["w1"]) + f64(w["b1"]))
    want = h @ f64(w["w2"]) + f64(b2)
    assert rel_l2(out("y"), want) <= 1e-6


def test_mlp_with_input_file(tmp_path):
    """float64 .npy inputs (NumPy's default) are rounded to the graph's f32."""
    w = read_safetensors(CORPUS / "mlp.safetensors")
    x = np.random.default_rng(5).standard_normal((8, 32))
    np.save(tmp_path / "x.npy", x)
    _, out = run_trnc("mlp", tmp_path, "--input", f"x={tmp_path / 'x.npy'}")
    x32 = f64(x.astype(np.float32))
    b2 = np.array([0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.05, -0.15, 0.25, -0.35, 0.45, -0.55, 0.65, -0.75], np.float32)
    want = gelu_tanh(x32 @ f64(w["w1"]) + f64(w["b1"])) @ f64(w["w2"]) + f64(b2)
    assert rel_l2(out("y"), want) <= 1e-6


def test_softmax_primitives(tmp_path):
    inputs, out = run_trnc("softmax_primitives", tmp_path, "--random-inputs", "2")
    assert rel_l2(out("y"), softmax(f64(inputs["x"]), -1)) <= 1e-6


def test_layernorm_primitives(tmp_path):
    i, out = run_trnc("layernorm_primitives", tmp_path, "--random-inputs", "3")
    want = layer_norm(f64(i["x"]), f64(np.float32(1e-5))) * f64(i["gamma"]) + f64(i["beta"])
    assert rel_l2(out("y"), want) <= 1e-6


def test_attention(tmp_path):
    i, out = run_trnc("attention", tmp_path, "--random-inputs", "4")
    heads = lambda t: f64(i[t]).reshape(2, 16, 4, 8).transpose(0, 2, 1, 3)
    q, k, v = heads("q"), heads("k"), heads("v")
    scores = q @ k.transpose(0, 1, 3, 2) * f64(np.float32(0.35355338)) + f64(i["mask"])
    want = (softmax(scores, -1) @ v).transpose(0, 2, 1, 3).reshape(2, 16, 32)
    assert rel_l2(out("y"), want) <= 1e-6


def test_composites(tmp_path):
    i, out = run_trnc("composites", tmp_path, "--random-inputs", "5")
    x, scale, bias = f64(i["x"]), f64(i["scale"]), f64(i["bias"])
    assert rel_l2(out("sm"), softmax(x, 1)) <= 1e-6
    lsm = x - x.max(axis=2, keepdims=True)
    lsm = lsm - np.log(np.exp(lsm).sum(axis=2, keepdims=True))
    assert rel_l2(out("lsm"), lsm) <= 1e-6
    assert rel_l2(out("ln"), layer_norm(x, f64(np.float32(1e-5))) * scale + bias) <= 1e-6
    rms = x / np.sqrt((x**2).mean(axis=-1, keepdims=True) + f64(np.float32(1e-6))) * scale
    assert rel_l2(out("rms"), rms) <= 1e-6


def test_layout(tmp_path):
    i, out = run_trnc("layout", tmp_path, "--random-inputs", "6")
    x, y = i["x"], i["y"]
    np.testing.assert_array_equal(out("t"), x.transpose(2, 0, 1))
    np.testing.assert_array_equal(out("c"), np.concatenate([x, y], axis=1))
    u = y[:, 0, :][None, :, None, :]
    np.testing.assert_array_equal(out("e"), np.broadcast_to(u, (3, 2, 2, 4)))
    np.testing.assert_array_equal(out("s"), x[:, :, 3::-2])


def test_elementwise(tmp_path):
    i, out = run_trnc("elementwise", tmp_path, "--random-inputs", "7")
    x = f64(i["x"])
    pos = np.abs(x) + 1
    p = np.log(pos) + np.sqrt(pos) + (1 / np.sqrt(pos) + 1 / pos)
    sig = 1 / (1 + np.exp(-x))
    q = (np.exp(-x) + np.tanh(x)) * (sig + erf(x))
    gelu = 0.5 * x * (1 + erf(x / math.sqrt(2)))
    w = (np.maximum(x, 0) + gelu) + (gelu_tanh(x) - x * sig) + (np.sin(x) * np.cos(x) + (x * x + np.where(x >= 0, x, 0.1 * x)))
    for name, want in (("p", p), ("q", q), ("w", w)):
        # Each op rounds to f32 in trnc; a dozen roundings stay well under 1e-6.
        assert rel_l2(out(name), want) <= 1e-6, name


def test_dtypes(tmp_path):
    i, out = run_trnc("dtypes", tmp_path, "--random-inputs", "8")
    x, y, iv = i["x"], i["y"], i["i"]
    bf16 = ml_dtypes.bfloat16
    xb, yb = f64(x.astype(bf16)), f64(y.astype(bf16))
    pb = f64((xb * yb).astype(bf16))
    bf = f64((pb + xb).astype(bf16))
    np.testing.assert_array_equal(out("bf"), bf)
    eh = np.exp(f64(x.astype(np.float16))).astype(np.float16)
    h8 = f64(eh.astype(ml_dtypes.float8_e4m3fn))
    np.testing.assert_array_equal(out("h8"), h8)
    gt, le = x > y, x <= y
    either = gt | (gt & le)
    sel = np.where(either, np.maximum(x, y), np.minimum(x, y))
    np.testing.assert_array_equal(out("cl"), np.clip(sel, np.float32(-0.5), np.float32(0.25)))
    assert iv.min() >= 0  # so that floor division is truncation
    np.testing.assert_array_equal(out("ineg"), -((iv * 3) // 2))
    z = (f64(x) - f64(iv)) * (iv != 1)
    assert rel_l2(out("z"), z) <= 1e-6


def test_embedding(tmp_path):
    w = read_safetensors(CORPUS / "embedding.safetensors")
    i, out = run_trnc("embedding", tmp_path, "--random-inputs", "9")
    ids = i["ids"]
    assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < 50
    s = f64(w["table"])[ids] + f64(w["pos"])[:7]
    want = layer_norm(s.astype(np.float32).astype(np.float64), f64(np.float32(1e-12)))
    assert rel_l2(out("y"), want) <= 1e-6


@pytest.mark.parametrize("how", [("--dim", "batch=3"), ("--input", "x=")])
def test_symbolic_batch(tmp_path, how):
    x = np.random.default_rng(11).standard_normal((3, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    flag, value = how
    args = [flag, value + (str(tmp_path / "x.npy") if flag == "--input" else "")]
    if flag == "--dim":
        args += ["--input", f"x={tmp_path / 'x.npy'}"]
    _, out = run_trnc("symbolic", tmp_path, *args)
    want = np.maximum(f64(x), 0).sum(axis=1, keepdims=True)
    assert rel_l2(out("y"), want) <= 1e-6
