"""Broken models for trnc's ONNX importer tests: each must give a clear
error, never a panic (see make_models.py)."""

import os
import shutil

import numpy as np
import onnx
from model_builders import ERRORS, I64, MODELS, F, const, model, save_error, vi
from onnx import TensorProto, helper


def errors():
    """Writes every broken model under errors/."""
    shutil.rmtree(ERRORS, ignore_errors=True)
    good = onnx.load(os.path.join(MODELS, "gemm_mlp", "model.onnx")).SerializeToString()
    save_error("truncated", good[: len(good) * 2 // 3])
    save_error(
        "random_bytes",
        np.random.default_rng(7).integers(0, 256, size=512, dtype=np.uint8).tobytes(),
    )
    save_error("empty", b"")

    x = vi("x", F, [2, 3])
    y = vi("y", F, [2, 3])
    add = lambda ins, name="add": helper.make_node("Add", ins, ["y"], name=name)

    save_error("missing_initializer", model([add(["x", "bias"])], [x], [y], 17))
    save_error(
        "dangling_input",
        model(
            [helper.make_node("Relu", ["x"], ["r"], name="relu"), add(["r", "ghost"])],
            [x],
            [y],
            17,
        ),
    )
    save_error(
        "nodes_out_of_order",
        model(
            [add(["x", "r"]), helper.make_node("Relu", ["x"], ["r"], name="relu")],
            [x],
            [y],
            17,
        ),
    )
    save_error(
        "unsupported_ops",
        model(
            [
                helper.make_node("Conv", ["x", "w"], ["c1"], name="conv1"),
                helper.make_node("Conv", ["c1", "w"], ["c2"], name="conv2"),
                helper.make_node("LSTM", ["c2", "w", "w"], ["l"], name="lstm"),
                helper.make_node(
                    "FusedMatMul",
                    ["l", "w"],
                    ["f"],
                    name="fused",
                    domain="com.microsoft",
                ),
                helper.make_node("Relu", ["f"], ["r"], name="relu"),
                helper.make_node("Conv", ["r", "w"], ["y"]),
            ],
            [x, vi("w", F, [3, 3])],
            [y],
            17,
        ),
    )
    save_error(
        "wrong_dtype", model([add(["x", "n"])], [x, vi("n", I64, [2, 3])], [y], 17)
    )
    save_error(
        "double_input",
        model([add(["x", "x"])], [vi("x", TensorProto.DOUBLE, [2, 3])], [y], 17),
    )
    save_error(
        "cast_to_uint8",
        model(
            [
                helper.make_node(
                    "Cast", ["x"], ["y"], name="to_u8", to=TensorProto.UINT8
                )
            ],
            [x],
            [y],
            17,
        ),
    )
    save_error(
        "matmul_shapes",
        model(
            [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
            [x, vi("w", F, [4, 5])],
            [y],
            17,
        ),
    )
    save_error(
        "broadcast_mismatch", model([add(["x", "b"])], [x, vi("b", F, [4])], [y], 17)
    )
    # Opsets newer than trnc knows are rejected; older ones are read where
    # the version of each op in effect is one trnc reads.
    save_error("opset_28", model([add(["x", "x"])], [x], [y], 28))
    save_error(
        "slice_opset_9",
        model(
            [
                helper.make_node(
                    "Slice", ["x"], ["y"], name="slice", starts=[0], ends=[1]
                )
            ],
            [x],
            [y],
            9,
        ),
    )
    save_error(
        "gelu_opset_17",
        model([helper.make_node("Gelu", ["x"], ["y"], name="gelu")], [x], [y], 17),
    )
    save_error(
        "reshape_runtime_shape",
        model(
            [helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape")],
            [x, vi("s", I64, [2])],
            [y],
            17,
        ),
    )
    save_error(
        "reshape_bad_count",
        model(
            [helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape")],
            [x],
            [y],
            17,
            [const("s", np.array([4, -1], np.int64))],
        ),
    )
    save_error(
        "layernorm_bad_stash_type",
        model(
            [
                helper.make_node(
                    "LayerNormalization",
                    ["x", "g"],
                    ["y"],
                    name="ln",
                    stash_type=TensorProto.INT64,
                ),
            ],
            [x],
            [y],
            17,
            [const("g", np.ones(3, np.float32))],
        ),
    )
    save_error(
        "declared_shape_mismatch",
        model(
            [helper.make_node("Relu", ["x"], ["r"], name="relu"), add(["r", "r"])],
            [x],
            [y],
            17,
            value_info=[vi("r", F, [2, 4])],
        ),
    )
    save_error(
        "symbolic_unbound",
        model(
            [add(["x", "x"])],
            [vi("x", F, ["batch", 3])],
            [vi("y", F, ["batch", 3])],
            17,
        ),
    )
    bad_init = const("b", np.zeros((2, 3), np.float32))
    bad_init.raw_data = bad_init.raw_data[:20]
    save_error(
        "initializer_too_short", model([add(["x", "b"])], [x], [y], 17, [bad_init])
    )
    missing_ext = const("b", np.zeros((2, 3), np.float32))
    missing_ext.ClearField("raw_data")
    missing_ext.data_location = TensorProto.EXTERNAL
    for k, v in [
        ("location", "no_such_weights.bin"),
        ("offset", "0"),
        ("length", "24"),
    ]:
        entry = missing_ext.external_data.add()
        entry.key, entry.value = k, v
    save_error(
        "external_file_missing", model([add(["x", "b"])], [x], [y], 17, [missing_ext])
    )
    escaping = onnx.TensorProto()
    escaping.CopyFrom(missing_ext)
    escaping.external_data[0].value = "../../etc/passwd"
    save_error(
        "external_path_escapes", model([add(["x", "b"])], [x], [y], 17, [escaping])
    )
    save_error(
        "output_never_computed", model([add(["x", "x"])], [x], [y, vi("z", F, [2])], 17)
    )
    save_error(
        "slice_step_zero",
        model(
            [
                helper.make_node(
                    "Slice", ["x", "s", "e", "a", "st"], ["y"], name="slice"
                )
            ],
            [x],
            [y],
            17,
            [
                const("s", np.array([0], np.int64)),
                const("e", np.array([2], np.int64)),
                const("a", np.array([0], np.int64)),
                const("st", np.array([0], np.int64)),
            ],
        ),
    )
    # The shape is computed from constants, but one step cannot be: index 7
    # is out of range for a shape of rank 2.
    save_error(
        "shape_not_computable",
        model(
            [
                helper.make_node("Shape", ["x"], ["s"], name="shape"),
                helper.make_node("Gather", ["s", "i"], ["d"], name="bad_gather"),
                helper.make_node(
                    "Concat", ["d", "d"], ["new_shape"], name="concat", axis=0
                ),
                helper.make_node("Reshape", ["x", "new_shape"], ["y"], name="reshape"),
            ],
            [x],
            [y],
            17,
            [const("i", np.array([7], np.int64))],
        ),
    )
    save_error(
        "gelu_bad_approximate",
        model(
            [helper.make_node("Gelu", ["x"], ["y"], name="gelu", approximate="fast")],
            [x],
            [y],
            20,
        ),
    )
