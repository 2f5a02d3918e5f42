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

echo "== cargo fmt / clippy"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test"
cargo test --workspace

echo "== python tests"
TRNC_BIN="$PWD/target/debug/trnc" .venv/bin/python -m pytest -q -p no:cacheprovider tests/python
