"""Times onnxruntime's InferenceSession creation for an ONNX model with
every graph optimisation on (ORT_ENABLE_ALL): the part of onnxruntime that
does what `trnc compile` does (load, optimise, plan kernels). `trnc bench
--wall-clock` runs this beside its own compile of the same model; by hand:

    .venv/bin/python bench-results/ort_session_time.py .cache/models/all-MiniLM-L6-v2.onnx --runs 5

Prints {"onnxruntime": VERSION, "runs_ms": [...]} after one warm-up run
(the first load also pays for reading the file from disk).
"""
import argparse
import json
import time

import onnxruntime as ort


def session_ms(path):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # One thread, as trnc compiles on one: the comparison is of work done.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    start = time.perf_counter()
    ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return (time.perf_counter() - start) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    session_ms(args.model)
    runs = [session_ms(args.model) for _ in range(args.runs)]
    print(json.dumps({"onnxruntime": ort.__version__, "runs_ms": runs}))


if __name__ == "__main__":
    main()
