"""`trnc compile --emit nki` end to end, and the NKI test double it runs on.

For every model that lowers, both NKI dialects are emitted, checked with
ruff and py_compile, emitted again to check the bytes are identical, and
run through model.py on the random inputs of `trnc run --random-inputs 0`;
the outputs must match the reference backend's (relative L2 <= 1e-5).

The kernels run on tests/nki_harness (a NumPy double of NKI, see its
README) unless the real `nki` / `neuronxcc` package is installed, in which
case they run on its `nki.simulate` instead. The second half of this file
checks that the double rejects what NKI rejects and has NKI's signatures.
"""

import importlib.util
import inspect
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TRNC = os.environ.get("TRNC_BIN", str(ROOT / "target" / "debug" / "trnc"))
HARNESS = ROOT / "tests" / "nki_harness"
PYTHON = sys.executable
RUFF = pathlib.Path(PYTHON).with_name("ruff")

ONNX_DIMS = ["--dim", "batch=2", "--dim", "sequence=16"]
MODELS = [(f"tests/corpus/{m}.trn", []) for m in ("mlp", "softmax_primitives", "layernorm_primitives", "composites")]
MODELS += [(f"tests/corpus/{m}.trn", []) for m in ("elementwise", "attention")]
MODELS += [("tests/corpus/symbolic.trn", ["--dim", "batch=2"])]
MODELS += [(str(p.relative_to(ROOT)), []) for p in sorted((ROOT / "tests" / "kernels").glob("*.trn"))]
MODELS += [(str(p.relative_to(ROOT)), []) for p in sorted((ROOT / "tests" / "kernels" / "small").glob("*.trn"))]
MODELS += [(f"tests/models/{m}.onnx", ONNX_DIMS) for m in ("bert_encoder_layer", "gpt2_block")]
DIALECTS = ["current", "legacy"]
PACKAGE = {"current": "nki", "legacy": "neuronxcc"}


def model_id(model):
    return pathlib.Path(model[0]).stem


def trnc(*args):
    proc = subprocess.run([TRNC, *map(str, args)], check=False, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc


def real_package(dialect):
    """True where the real NKI package of the dialect is importable (the
    double is not on this process's path)."""
    return importlib.util.find_spec(PACKAGE[dialect]) is not None


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Per model: the folder with trnc run's inputs/ and reference outputs."""
    cache = {}

    def get(model):
        path, dims = model
        if path not in cache:
            out = tmp_path_factory.mktemp(model_id(model) + "_ref")
            trnc("run", path, *dims, "--random-inputs", "0", "--output-dir", out)
            cache[path] = out
        return cache[path]

    return get


def emit(model, dialect, out):
    path, dims = model
    trnc("compile", path, *dims, "--target", "trn2", "--emit", "nki", "--nki-api", dialect, "--output-dir", out)
    return out


def rel_l2(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("model", MODELS, ids=model_id)
def test_emitted_model_matches_the_reference(model, dialect, reference, tmp_path):
    ref = reference(model)
    out = emit(model, dialect, tmp_path / "nki")
    env = dict(os.environ)
    if not real_package(dialect):
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HARNESS), env.get("PYTHONPATH")]))
    inputs = [f"{p.stem}={p}" for p in sorted((ref / "inputs").glob("*.npy"))] if (ref / "inputs").exists() else []
    cmd = [PYTHON, "model.py", "--simulate", *inputs, "--output-dir", str(tmp_path / "out")]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=out, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wanted = sorted(p for p in ref.glob("*.npy"))
    assert wanted
    for p in wanted:
        err = rel_l2(np.load(tmp_path / "out" / p.name), np.load(p))
        assert err <= 1e-5, f"{p.stem}: relative L2 {err:.3e}"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("model", MODELS, ids=model_id)
def test_emitted_files_are_deterministic_and_lint_clean(model, dialect, tmp_path):
    a = emit(model, dialect, tmp_path / "a")
    b = emit(model, dialect, tmp_path / "b")
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs between two runs"
    py = sorted(a.glob("*.py"))
    for p in py:
        assert "NotImplementedError" not in p.read_text(), f"{p.name} has a statement the dialect cannot express"
    proc = subprocess.run([PYTHON, "-m", "py_compile", *map(str, py)], check=False, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([str(RUFF), "check", "--no-cache", "."], check=False, capture_output=True, text=True, cwd=a)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_emit_nki_needs_an_output_dir():
    proc = subprocess.run(
        [TRNC, "compile", "tests/corpus/mlp.trn", "--emit", "nki"], check=False, capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 2
    assert "--emit nki needs --output-dir" in proc.stderr


# -- The double rejects what NKI rejects -----------------------------------------
def double(dialect):
    """The double's modules (nki, nl, nisa) for a dialect, imported from
    tests/nki_harness whatever else is installed."""
    sys.path.insert(0, str(HARNESS))
    try:
        for name in list(sys.modules):
            if name.split(".")[0] in ("nki", "neuronxcc", "nkisim"):
                del sys.modules[name]
        package = "nki" if dialect == "current" else "neuronxcc.nki"
        nki = importlib.import_module(package)
        nl = importlib.import_module(package + ".language")
        nisa = importlib.import_module(package + ".isa")
    finally:
        sys.path.remove(str(HARNESS))
    assert nki.IS_TEST_DOUBLE
    return nki, nl, nisa


def run_current(body, *arrays):
    nki, nl, nisa = double("current")
    return nki.simulate(nki.jit(body(nl, nisa)))(*arrays)


def run_legacy(body, *arrays):
    nki, nl, nisa = double("legacy")
    return nki.simulate_kernel(nki.jit(body(nl, nisa)), *arrays)


X = np.arange(256 * 1024, dtype=np.float32).reshape(256, 1024) / 1e5


def test_double_runs_a_small_kernel_in_both_dialects():
    def current(nl, nisa):
        def kernel(x):
            out = nl.ndarray((128, 64), dtype=nl.float32, buffer=nl.shared_hbm)
            t = nl.ndarray((128, 64), dtype=nl.float32, buffer=nl.sbuf)
            nisa.dma_copy(dst=t[0:128, 0:64], src=x.ap(pattern=[[1024, 128], [1, 64]], offset=0))
            nisa.activation(dst=t[0:128, 0:64], op=nl.exp, data=t[0:128, 0:64])
            nisa.dma_copy(dst=out[0:128, 0:64], src=t[0:128, 0:64])
            return out

        return kernel

    def legacy(nl, nisa):
        def kernel(x):
            out = nl.ndarray((128, 64), dtype=nl.float32, buffer=nl.shared_hbm)
            t = nl.ndarray((128, 64), dtype=nl.float32, buffer=nl.sbuf)
            t[0:128, 0:64] = nl.load(x[nl.arange(128)[:, None], nl.arange(64)[None, :]])
            t[0:128, 0:64] = nisa.activation(op=nl.exp, data=t[0:128, 0:64])
            nl.store(out[0:128, 0:64], value=t[0:128, 0:64])
            return out

        return kernel

    want = np.exp(X[:128, :64].astype(np.float64))
    assert rel_l2(run_current(current, X), want) < 1e-7
    assert rel_l2(run_legacy(legacy, X), want) < 1e-7


def test_partition_256_is_rejected():
    def current(nl, nisa):
        def kernel(x):
            nl.ndarray((256, 64), dtype=nl.float32, buffer=nl.sbuf)

        return kernel

    def legacy(nl, nisa):
        def kernel(x):
            t = nl.ndarray((128, 64), dtype=nl.float32, buffer=nl.sbuf)
            t[0:128, 0:64] = nl.load(x[0:256, 0:64])

        return kernel

    message = "Size of partition dimension 256 exceeds architecture limitation of 128"
    with pytest.raises(AssertionError, match=message):
        run_current(current, X)
    with pytest.raises(SyntaxError, match=message):
        run_legacy(legacy, X)


def test_moving_free_size_1024_is_rejected():
    def current(nl, nisa):
        def kernel(x):
            st = nl.ndarray((128, 128), dtype=nl.float32, buffer=nl.sbuf)
            mv = nl.ndarray((128, 1024), dtype=nl.float32, buffer=nl.sbuf)
            ps = nl.ndarray((128, 1024), dtype=nl.float32, buffer=nl.psum)
            nisa.dma_copy(dst=st[0:128, 0:128], src=x[0:128, 0:128])
            nisa.dma_copy(dst=mv[0:128, 0:1024], src=x[0:128, 0:1024])
            nisa.nc_matmul(dst=ps[0:128, 0:1024], stationary=st[0:128, 0:128], moving=mv[0:128, 0:1024])

        return kernel

    def legacy(nl, nisa):
        def kernel(x):
            st = nl.load(x[0:128, 0:128])
            mv = nl.load(x[0:128, 0:1024])
            nisa.nc_matmul(stationary=st, moving=mv)

        return kernel

    message = "moving free size 1024 exceeds architecture limitation of 512"
    with pytest.raises(AssertionError, match=message):
        run_current(current, X)
    with pytest.raises(SyntaxError, match=message):
        run_legacy(legacy, X)


def test_reducing_the_partition_axis_is_rejected():
    def current(nl, nisa):
        def kernel(x):
            t = nl.ndarray((128, 64), dtype=nl.float32, buffer=nl.sbuf)
            r = nl.ndarray((1, 64), dtype=nl.float32, buffer=nl.sbuf)
            nisa.dma_copy(dst=t[0:128, 0:64], src=x[0:128, 0:64])
            nisa.tensor_reduce(dst=r[0:1, 0:64], op=nl.add, data=t[0:128, 0:64], axis=(0,))

        return kernel

    def legacy(nl, nisa):
        def kernel(x):
            nisa.tensor_reduce(op=nl.add, data=nl.load(x[0:128, 0:64]), axis=(0,))

        return kernel

    message = "cannot reduce axis 0, the partition dimension"
    with pytest.raises(AssertionError, match=message):
        run_current(current, X)
    with pytest.raises(SyntaxError, match=message):
        run_legacy(legacy, X)


def test_dma_reading_psum_is_rejected():
    def current(nl, nisa):
        def kernel(x):
            out = nl.ndarray((32, 32), dtype=nl.float32, buffer=nl.shared_hbm)
            t = nl.ndarray((32, 32), dtype=nl.float32, buffer=nl.sbuf)
            ps = nl.ndarray((32, 32), dtype=nl.float32, buffer=nl.psum)
            nisa.dma_copy(dst=t[0:32, 0:32], src=x[0:32, 0:32])
            nisa.nc_transpose(dst=ps[0:32, 0:32], data=t[0:32, 0:32], engine=nisa.engine.tensor)
            nisa.dma_copy(dst=out[0:32, 0:32], src=ps[0:32, 0:32])
            return out

        return kernel

    def legacy(nl, nisa):
        def kernel(x):
            out = nl.ndarray((32, 32), dtype=nl.float32, buffer=nl.shared_hbm)
            ps = nisa.nc_transpose(data=nl.load(x[0:32, 0:32]), engine=nisa.tensor_engine)
            nisa.dma_copy(dst=out[0:32, 0:32], src=ps)
            return out

        return kernel

    message = "dma_copy no longer supports reading directly from PSUM"
    with pytest.raises(AssertionError, match=message):
        run_current(current, X)
    with pytest.raises(SyntaxError, match=message):
        run_legacy(legacy, X)


def test_unknown_keyword_arguments_are_rejected():
    def current(nl, nisa):
        def kernel(x):
            t = nl.ndarray((32, 32), dtype=nl.float32, buffer=nl.sbuf)
            nisa.dma_copy(dst=t[0:32, 0:32], src=x[0:32, 0:32])
            nisa.tensor_tensor(dst=t, data1=t, data2=t, op=nl.add, dtype=nl.float32)

        return kernel

    def legacy(nl, nisa):
        def kernel(x):
            t = nl.load(x[0:32, 0:32])
            nisa.tensor_tensor(data1=t, data2=t, op=nl.add, buffer=nl.sbuf)

        return kernel

    with pytest.raises(TypeError, match="unexpected keyword argument 'dtype'"):
        run_current(current, X)
    with pytest.raises(TypeError, match="unexpected keyword argument 'buffer'"):
        run_legacy(legacy, X)


def test_legacy_indexing_rules():
    def one_d(nl, nisa):
        def kernel(x):
            nl.load(x[nl.arange(8)])

        return kernel

    def mixed(nl, nisa):
        def kernel(x):
            nl.load(x[0:8, nl.arange(8)[None, :]])

        return kernel

    with pytest.raises(SyntaxError, match="1D arange"):
        run_legacy(one_d, X)
    with pytest.raises(SyntaxError, match="Mixing basic tensor indexing and advanced tensor indexing"):
        run_legacy(mixed, X)


# Signatures as nki-api.md §4–5 reproduces them from the NKI stubs; the
# legacy stubs' trailing **kwargs is left out on purpose (unknown keywords
# are rejected, a choice the sheet's §10 leaves to the project).
CURRENT_SIGNATURES = {
    "dma_copy": "dst, src, priority=None, oob_mode=, dge_mode=, engine=, name=None",
    "nc_matmul": "dst, stationary, moving, is_stationary_onezero=False, is_moving_onezero=False, "
    "is_transpose=False, accumulate=None, tile_position=(), tile_size=(), perf_mode=, name=None",
    "nc_transpose": "dst, data, engine=, name=None",
    "tensor_tensor": "dst, data1, data2, op, engine=, name=None",
    "tensor_scalar": "dst, data, op0, operand0, reverse0=False, op1=None, operand1=None, reverse1=False, "
    "engine=, name=None",
    "tensor_reduce": "dst, op, data, axis, negate=False, keepdims=False, name=None",
    "activation": "dst, op, data, bias=None, scale=1.0, reduce_op=None, reduce_res=None, reduce_cmd=, name=None",
    "activation_reduce": "dst, op, data, reduce_op, reduce_res, bias=None, scale=1.0, name=None",
    "tensor_copy": "dst, src, engine=, name=None",
    "memset": "dst, value, engine=, name=None",
    "iota": "dst, pattern, offset=0, channel_multiplier=0, name=None",
    "affine_select": "dst, pattern, channel_multiplier, on_true_tile, on_false_value, cmp_op=, offset=0, name=None",
    "bn_stats": "dst, data, name=None",
    "bn_aggr": "dst, data, name=None",
}
LEGACY_SIGNATURES = {
    "dma_copy": "*, dst, src, mask=None, dst_rmw_op=None, oob_mode=, dge_mode=",
    "nc_matmul": "stationary, moving, *, is_stationary_onezero=False, is_moving_onezero=False, is_transpose=False, "
    "tile_position=(), tile_size=(), mask=None",
    "nc_transpose": "data, *, mask=None, dtype=None, engine=",
    "tensor_tensor": "data1, data2, op, *, dtype=None, mask=None, engine=",
    "tensor_scalar": "data, op0, operand0, reverse0=False, op1=None, operand1=None, reverse1=False, *, "
    "dtype=None, mask=None, engine=",
    "tensor_reduce": "op, data, axis, *, mask=None, dtype=None, negate=False, keepdims=False",
    "activation": "op, data, *, bias=None, scale=1.0, reduce_op=None, reduce_res=None, reduce_cmd=, mask=None, dtype=None",
    "activation_reduce": "op, data, *, reduce_op, reduce_res, bias=None, scale=1.0, mask=None, dtype=None",
    "tensor_copy": "src, *, mask=None, dtype=None, engine=",
    "memset": "shape, value, dtype, *, mask=None, engine=",
    "iota": "expr, dtype, *, mask=None",
    "affine_select": "pred, on_true_tile, on_false_value, *, mask=None, dtype=None",
    "bn_stats": "data, *, mask=None, dtype=None",
    "bn_aggr": "data, *, mask=None, dtype=None",
    "language.load": "src, *, mask=None, dtype=None",
    "language.store": "dst, value, *, mask=None",
    "language.ndarray": "shape, dtype, *, buffer=None, name=''",
    "language.zeros": "shape, dtype, *, buffer=None, name=''",
}


def signature_text(fn):
    """`a, b=1.0, *, c=` : names, kinds and defaults (enum defaults as `=`)."""
    parts, star = [], False
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        default = "" if p.default is p.empty else "=" + ("" if hasattr(p.default, "name") else repr(p.default))
        parts.append(p.name + default)
    return ", ".join(parts)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_double_has_the_documented_signatures(dialect):
    _, nl, nisa = double(dialect)
    table = CURRENT_SIGNATURES if dialect == "current" else LEGACY_SIGNATURES
    for name, want in table.items():
        module, attr = (nl, name.split(".")[1]) if name.startswith("language.") else (nisa, name)
        assert signature_text(getattr(module, attr)) == want, f"{dialect} {name}"
    if dialect == "current":
        assert signature_text(nl.ndarray) == "shape, dtype, buffer=, name='', address=None"
