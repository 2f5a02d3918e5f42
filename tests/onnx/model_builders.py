"""Helpers shared by the scripts that write trnc's ONNX test models."""

import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models")
ERRORS = os.path.join(HERE, "errors")
F = TensorProto.FLOAT
I64 = TensorProto.INT64


def model(nodes, inputs, outputs, opset, initializers=(), name="test", value_info=()):
    graph = helper.make_graph(
        nodes,
        name,
        inputs,
        outputs,
        initializer=list(initializers),
        value_info=list(value_info),
    )
    m = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="trnc-tests",
    )
    m.ir_version = 8 if opset < 19 else 9 if opset < 21 else 10
    return m


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def rand(rng, shape, dtype=np.float32, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(dtype)


def sanitize(name):
    """The name trnc gives a tensor (trnc_ir::sanitize_name), used for file names."""
    return (
        "".join(c if c.isascii() and (c.isalnum() or c in "_.") else "_" for c in name)
        or "v"
    )


def save_case(case, m, feeds, check=True):
    """Saves a valid model with its inputs and onnxruntime's outputs."""
    if check:
        onnx.checker.check_model(m, full_check=True)
    m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    folder = os.path.join(MODELS, case)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "inputs"))
    os.makedirs(os.path.join(folder, "outputs"))
    onnx.save_model(m, os.path.join(folder, "model.onnx"))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(
        m.SerializeToString(), opts, providers=["CPUExecutionProvider"]
    )
    results = sess.run(None, feeds)
    for name, value in feeds.items():
        np.save(os.path.join(folder, "inputs", sanitize(name) + ".npy"), value)
    for out, value in zip(sess.get_outputs(), results):
        np.save(os.path.join(folder, "outputs", sanitize(out.name) + ".npy"), value)


def save_error(case, m_or_bytes):
    os.makedirs(ERRORS, exist_ok=True)
    data = (
        m_or_bytes if isinstance(m_or_bytes, bytes) else m_or_bytes.SerializeToString()
    )
    with open(os.path.join(ERRORS, case + ".onnx"), "wb") as f:
        f.write(data)
