"""Builds the small ONNX models that test trnc's ONNX importer.

Writes, under tests/onnx/:
  models/<case>/model.onnx      a valid model (shape-inferred, so value_info is set)
  models/<case>/inputs/*.npy    inputs, named after the graph inputs
  models/<case>/outputs/*.npy   what onnxruntime computes on them
  errors/<case>.onnx            broken models, each of which must give a clear error

Run with the repository's venv (onnx 1.22.0, onnxruntime, numpy):
  .venv/bin/python tests/onnx/make_models.py
The output is deterministic; rerunning it rewrites the same files.
"""

import os

import broken_models
import numpy as np
import valid_models
from model_builders import MODELS


def main():
    rng = np.random.default_rng(20240607)
    os.makedirs(MODELS, exist_ok=True)
    for build in valid_models.ALL:
        build(rng)
    broken_models.errors()


if __name__ == "__main__":
    main()
