"""Valid models for trnc's ONNX importer tests, each saved with its inputs
and onnxruntime's outputs (see make_models.py)."""

import os

import numpy as np
import onnx
from model_builders import I64, MODELS, F, const, model, rand, save_case, vi
from onnx import TensorProto, helper


def gemm_mlp(rng):
    """Gemm with transB, alpha/beta and a broadcast bias; Gemm with transA
    and no bias; typed-field initializers (float_data, not raw_data)."""
    w1 = rand(rng, (16, 8))
    b1 = rand(rng, (16,))
    w2 = rand(rng, (16, 4))
    inits = [
        helper.make_tensor("w1", F, w1.shape, w1.flatten().tolist()),  # float_data
        const("b1", b1),
        const("w2", w2),
    ]
    nodes = [
        helper.make_node(
            "Gemm",
            ["x", "w1", "b1"],
            ["h"],
            name="gemm1",
            transB=1,
            alpha=0.5,
            beta=2.0,
        ),
        helper.make_node("Relu", ["h"], ["hr"], name="relu"),
        helper.make_node("Transpose", ["hr"], ["ht"], name="transpose"),
        helper.make_node("Gemm", ["ht", "w2"], ["y"], name="gemm2", transA=1),
    ]
    m = model(nodes, [vi("x", F, [3, 8])], [vi("y", F, [3, 4])], 13, inits)
    save_case("gemm_mlp", m, {"x": rand(rng, (3, 8))})


def elementwise(rng):
    """Unary and binary math, comparisons, logic, Where, Max/Min, Pow with
    an integer exponent, Clip with constant and run-time bounds."""
    n = lambda op, ins, outs, **kw: helper.make_node(
        op, ins, outs, name=op.lower() + "_" + outs[0], **kw
    )
    nodes = [
        n("Add", ["a", "b"], ["add"]),
        n("Sub", ["add", "b"], ["sub"]),
        n("Mul", ["sub", "a"], ["mul"]),
        n("Abs", ["b"], ["absb"]),
        n("Add", ["absb", "one"], ["den"]),
        n("Div", ["mul", "den"], ["div"]),
        n("Pow", ["den", "two_i"], ["pow"]),
        n("Neg", ["pow"], ["neg"]),
        n("Exp", ["neg"], ["exp"]),
        n("Log", ["den"], ["log"]),
        n("Sqrt", ["den"], ["sqrt"]),
        n("Reciprocal", ["sqrt"], ["recip"]),
        n("Tanh", ["a"], ["tanh"]),
        n("Sigmoid", ["a"], ["sigmoid"]),
        n("Erf", ["a"], ["erf"]),
        n("Relu", ["a"], ["relu"]),
        n("LeakyRelu", ["a"], ["leaky"], alpha=0.2),
        n("Sin", ["a"], ["sin"]),
        n("Cos", ["a"], ["cos"]),
        n("Max", ["a", "b", "tanh"], ["max3"]),
        n("Min", ["a", "b"], ["min2"]),
        n("Less", ["a", "b"], ["lt"]),
        n("GreaterOrEqual", ["a", "zero"], ["ge"]),
        n("Not", ["lt"], ["nlt"]),
        n("And", ["nlt", "ge"], ["both"]),
        n("Greater", ["a", "b"], ["gt"]),
        n("LessOrEqual", ["b", "zero"], ["le"]),
        n("Or", ["gt", "le"], ["either"]),
        n("Equal", ["both", "either"], ["same"]),
        n("Where", ["same", "a", "b"], ["where"]),
        n("Clip", ["a", "lo", "hi"], ["clip_const"]),
        n("Clip", ["a", "m"], ["clip_runtime_min"]),
        n("Clip", ["a", "", "hi"], ["clip_max_only"]),
        n("Add", ["div", "exp"], ["s1"]),
        n("Add", ["s1", "log"], ["s2"]),
        n("Add", ["s2", "recip"], ["s3"]),
        n("Add", ["s3", "sigmoid"], ["s4"]),
        n("Add", ["s4", "erf"], ["s5"]),
        n("Add", ["s5", "relu"], ["s6"]),
        n("Add", ["s6", "leaky"], ["s7"]),
        n("Add", ["s7", "sin"], ["s8"]),
        n("Add", ["s8", "cos"], ["s9"]),
        n("Add", ["s9", "max3"], ["s10"]),
        n("Add", ["s10", "min2"], ["s11"]),
        n("Add", ["s11", "where"], ["s12"]),
        n("Add", ["s12", "clip_const"], ["s13"]),
        n("Add", ["s13", "clip_runtime_min"], ["s14"]),
        n("Add", ["s14", "clip_max_only"], ["y"]),
    ]
    inits = [
        const("one", np.float32(1.0)),
        const("zero", np.float32(0.0)),
        const("two_i", np.int64(2)),
        const("lo", np.float32(-0.25)),
        const("hi", np.float32(0.5)),
    ]
    outs = [vi("y", F, [2, 3, 4]), vi("either", TensorProto.BOOL, [2, 3, 4])]
    ins = [vi("a", F, [2, 3, 4]), vi("b", F, [3, 4]), vi("m", F, [])]
    m = model(nodes, ins, outs, 17, inits)
    feeds = {
        "a": rand(rng, (2, 3, 4)),
        "b": rand(rng, (3, 4)),
        "m": np.array(-0.1, np.float32),
    }
    save_case("elementwise", m, feeds)


def norms(rng):
    """Softmax on a middle axis, LogSoftmax on the default axis,
    LayerNormalization (opset 17) with and without bias."""
    scale = rand(rng, (6,))
    bias = rand(rng, (6,))
    nodes = [
        helper.make_node("Softmax", ["x"], ["sm"], name="softmax", axis=1),
        helper.make_node("LogSoftmax", ["x"], ["lsm"], name="log_softmax"),
        helper.make_node(
            "LayerNormalization",
            ["x", "scale", "bias"],
            ["ln"],
            name="ln",
            epsilon=1e-3,
        ),
        helper.make_node(
            "LayerNormalization", ["x", "scale"], ["ln2"], name="ln_nobias", axis=-1
        ),
        helper.make_node(
            "LayerNormalization", ["x", "ones"], ["ln3"], name="ln_axis1", axis=1
        ),
    ]
    inits = [
        const("scale", scale),
        const("bias", bias),
        const("ones", np.ones((4, 6), np.float32)),
    ]
    outs = [vi(n, F, [2, 4, 6]) for n in ["sm", "lsm", "ln", "ln2", "ln3"]]
    m = model(nodes, [vi("x", F, [2, 4, 6])], outs, 17, inits)
    save_case("norms", m, {"x": rand(rng, (2, 4, 6), low=-3, high=3)})


def gelu_opset20(rng):
    nodes = [
        helper.make_node("Gelu", ["x"], ["exact"], name="gelu"),
        helper.make_node("Gelu", ["x"], ["tanh"], name="gelu_tanh", approximate="tanh"),
    ]
    m = model(
        nodes, [vi("x", F, [4, 5])], [vi("exact", F, [4, 5]), vi("tanh", F, [4, 5])], 20
    )
    save_case("gelu_opset20", m, {"x": rand(rng, (4, 5), low=-4, high=4)})


def reduce_opset13(rng):
    """ReduceSum takes axes as an input from opset 13; the other reductions
    still take an attribute until opset 18."""
    nodes = [
        helper.make_node("ReduceSum", ["x", "axes"], ["sum"], name="sum", keepdims=0),
        helper.make_node("ReduceSum", ["x"], ["sum_all"], name="sum_all"),
        helper.make_node("ReduceMean", ["x"], ["mean"], name="mean", axes=[-1]),
        helper.make_node(
            "ReduceMax", ["x"], ["max"], name="max", axes=[0, 2], keepdims=0
        ),
        helper.make_node("ReduceMin", ["x"], ["min"], name="min"),
    ]
    outs = [
        vi("sum", F, [3]),
        vi("sum_all", F, [1, 1, 1]),
        vi("mean", F, [2, 3, 1]),
        vi("max", F, [3]),
        vi("min", F, [1, 1, 1]),
    ]
    m = model(
        nodes,
        [vi("x", F, [2, 3, 4])],
        outs,
        13,
        [const("axes", np.array([0, 2], np.int64))],
    )
    save_case("reduce_opset13", m, {"x": rand(rng, (2, 3, 4))})


def reduce_opset18(rng):
    """From opset 18 every reduction takes axes as an input;
    noop_with_empty_axes makes empty axes an identity."""
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes"], ["mean"], name="mean"),
        helper.make_node("ReduceMax", ["x", "axes"], ["max"], name="max", keepdims=0),
        helper.make_node(
            "ReduceMin", ["x", "empty"], ["noop"], name="noop", noop_with_empty_axes=1
        ),
        helper.make_node("ReduceSum", ["x"], ["sum_all"], name="sum_all", keepdims=0),
    ]
    inits = [
        const("axes", np.array([1], np.int64)),
        const("empty", np.zeros((0,), np.int64)),
    ]
    outs = [
        vi("mean", F, [2, 1, 4]),
        vi("max", F, [2, 4]),
        vi("noop", F, [2, 3, 4]),
        vi("sum_all", F, []),
    ]
    m = model(nodes, [vi("x", F, [2, 3, 4])], outs, 18, inits)
    save_case("reduce_opset18", m, {"x": rand(rng, (2, 3, 4))})


def layout(rng):
    """Layout ops with their opset-13 input forms."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], name="transpose", perm=[0, 2, 1]),
        helper.make_node(
            "Reshape", ["xt", "shape"], ["r"], name="reshape"
        ),  # [0, -1]: copy, infer
        helper.make_node("Flatten", ["x"], ["flat"], name="flatten", axis=-1),
        helper.make_node("Unsqueeze", ["r", "uaxes"], ["u"], name="unsqueeze"),
        helper.make_node("Squeeze", ["u", "saxes"], ["sq"], name="squeeze"),
        helper.make_node("Concat", ["sq", "r"], ["cat"], name="concat", axis=-1),
        helper.make_node(
            "Split", ["cat", "split"], ["p0", "p1", "p2"], name="split", axis=1
        ),
        helper.make_node("Split", ["p1"], ["q0", "q1"], name="split_equal", axis=1),
        helper.make_node(
            "Slice", ["x", "starts", "ends", "axes", "steps"], ["sl"], name="slice"
        ),
        helper.make_node(
            "Slice", ["x", "starts2", "ends2"], ["sl2"], name="slice_default_axes"
        ),
        helper.make_node("Gather", ["x", "idx"], ["g"], name="gather_const", axis=1),
        helper.make_node("Gather", ["table", "ids"], ["emb"], name="gather_runtime"),
        helper.make_node("Expand", ["col", "eshape"], ["ex"], name="expand"),
        helper.make_node("Squeeze", ["one_row"], ["sq_all"], name="squeeze_all"),
    ]
    inits = [
        const("shape", np.array([0, -1], np.int64)),
        const("uaxes", np.array([0, -1], np.int64)),
        const("saxes", np.array([0, 3], np.int64)),
        const("split", np.array([3, 4, 17], np.int64)),
        const("starts", np.array([-1, 1], np.int64)),
        const("ends", np.array([-1000, 100], np.int64)),
        const("axes", np.array([2, -2], np.int64)),
        const("steps", np.array([-2, 1], np.int64)),
        const("starts2", np.array([1], np.int64)),
        const("ends2", np.array([2], np.int64)),
        const("idx", np.array([[2, -1], [0, 0]], np.int64)),
        const("table", rand(rng, (10, 4))),
        const("eshape", np.array([2, 3, 5], np.int64)),
    ]
    ins = [
        vi("x", F, [2, 3, 4]),
        vi("ids", I64, [2, 5]),
        vi("col", F, [3, 1]),
        vi("one_row", F, [1, 5, 1]),
    ]
    outs = [
        vi("flat", F, [6, 4]),
        vi("p0", F, [2, 3]),
        vi("p2", F, [2, 17]),
        vi("q1", F, [2, 2]),
        vi("sl", F, [2, 2, 2]),
        vi("sl2", F, [1, 3, 4]),
        vi("g", F, [2, 2, 2, 4]),
        vi("emb", F, [2, 5, 4]),
        vi("ex", F, [2, 3, 5]),
        vi("sq_all", F, [5]),
    ]
    m = model(nodes, ins, outs, 13, inits)
    feeds = {
        "x": rand(rng, (2, 3, 4)),
        "ids": rng.integers(0, 10, size=(2, 5)).astype(np.int64),
        "col": rand(rng, (3, 1)),
        "one_row": rand(rng, (1, 5, 1)),
    }
    save_case("layout", m, feeds)


def split_opset18(rng):
    """Split by num_outputs (opset 18): chunks of ceil(7/3) = 3, the last smaller."""
    nodes = [
        helper.make_node(
            "Split", ["x"], ["a", "b", "c"], name="split_n", axis=1, num_outputs=3
        ),
        helper.make_node(
            "Split", ["x"], ["d", "e"], name="split_rows", axis=0, num_outputs=2
        ),
    ]
    outs = [
        vi("a", F, [2, 3]),
        vi("b", F, [2, 3]),
        vi("c", F, [2, 1]),
        vi("d", F, [1, 7]),
        vi("e", F, [1, 7]),
    ]
    m = model(nodes, [vi("x", F, [2, 7])], outs, 18)
    save_case("split_opset18", m, {"x": rand(rng, (2, 7))})


def constants(rng):
    """Constant in each attribute form, ConstantOfShape, Range (int and
    float), Shape with start/end (opset 15), Cast including float8 with
    saturate (opset 19), f16 initializers in int32_data."""
    half = rand(rng, (4,)).astype(np.float16)
    nodes = [
        helper.make_node(
            "Constant",
            [],
            ["c_tensor"],
            name="c_tensor",
            value=const("v", rand(rng, (4,))),
        ),
        helper.make_node("Constant", [], ["c_float"], name="c_float", value_float=0.25),
        helper.make_node(
            "Constant",
            [],
            ["c_floats"],
            name="c_floats",
            value_floats=[1.0, 2.0, 3.0, 4.0],
        ),
        helper.make_node("Constant", [], ["c_int"], name="c_int", value_int=3),
        helper.make_node("Constant", [], ["c_ints"], name="c_ints", value_ints=[4]),
        helper.make_node(
            "ConstantOfShape",
            ["c_ints"],
            ["filled"],
            name="fill",
            value=helper.make_tensor("v", F, [1], [1.5]),
        ),
        helper.make_node("ConstantOfShape", ["c_ints"], ["zeros"], name="zeros"),
        helper.make_node(
            "Range", ["r_start", "c_int", "r_delta"], ["r_int"], name="range_int"
        ),
        helper.make_node(
            "Range", ["f_start", "f_limit", "f_delta"], ["r_float"], name="range_float"
        ),
        helper.make_node("Shape", ["x"], ["shape_tail"], name="shape_tail", start=-2),
        helper.make_node(
            "Shape", ["x"], ["shape_mid"], name="shape_mid", start=1, end=2
        ),
        helper.make_node("Cast", ["x"], ["x16"], name="to_f16", to=TensorProto.FLOAT16),
        # f16 arithmetic in onnxruntime is not correctly rounded, so the f16
        # values only pass through casts here.
        helper.make_node("Cast", ["x16"], ["x32"], name="to_f32", to=F),
        helper.make_node("Cast", ["h"], ["h32"], name="h_to_f32", to=F),
        helper.make_node("Add", ["x32", "h32"], ["back32"], name="add_h"),
        helper.make_node("Mul", ["big", "x"], ["bigx"], name="scale_big"),
        helper.make_node(
            "Cast", ["bigx"], ["f8_sat"], name="to_f8_sat", to=TensorProto.FLOAT8E4M3FN
        ),
        helper.make_node(
            "Cast",
            ["bigx"],
            ["f8_nosat"],
            name="to_f8",
            to=TensorProto.FLOAT8E4M3FN,
            saturate=0,
        ),
        helper.make_node("Cast", ["f8_sat"], ["f8_sat32"], name="f8_sat_back", to=F),
        helper.make_node("Cast", ["f8_nosat"], ["f8_nosat32"], name="f8_back", to=F),
        helper.make_node("Cast", ["x"], ["xi"], name="to_int", to=TensorProto.INT32),
        helper.make_node("Mul", ["c_tensor", "c_float"], ["t1"], name="t1"),
        helper.make_node("Add", ["t1", "c_floats"], ["t2"], name="t2"),
        helper.make_node("Add", ["t2", "filled"], ["t3"], name="t3"),
        helper.make_node("Add", ["t3", "zeros"], ["t4"], name="t4"),
        helper.make_node("Add", ["t4", "r_float"], ["t5"], name="t5"),
        helper.make_node("Add", ["t5", "back32"], ["y"], name="t6"),
    ]
    inits = [
        const("r_start", np.int64(0)),
        const("r_delta", np.int64(1)),
        const("f_start", np.float32(0.5)),
        const("f_limit", np.float32(2.5)),
        const("f_delta", np.float32(0.5)),
        helper.make_tensor(
            "h", TensorProto.FLOAT16, [4], half.tolist()
        ),  # int32_data bit patterns
        const("big", np.float32(600.0)),
    ]
    outs = [
        vi("y", F, [4]),
        vi("r_int", I64, [3]),
        vi("shape_tail", I64, [1]),
        vi("shape_mid", I64, [0]),
        vi("f8_sat32", F, [4]),
        vi("f8_nosat32", F, [4]),
        vi("xi", TensorProto.INT32, [4]),
    ]
    m = model(nodes, [vi("x", F, [4])], outs, 19, inits)
    save_case("constants", m, {"x": np.array([0.75, -2.5, 1.0, 0.01], np.float32)})


def identity_outputs(rng):
    """Graph outputs produced by Identity (and a Cast to the same type) keep
    their ONNX names; an output that is directly a graph input."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Identity", ["r"], ["out.0"], name="id"),
        helper.make_node("Cast", ["r"], ["out/1"], name="same_cast", to=F),
        helper.make_node("Identity", ["w"], ["weights_out"], name="id_const"),
    ]
    outs = [
        vi("out.0", F, [3]),
        vi("out/1", F, [3]),
        vi("weights_out", F, [2]),
        vi("x", F, [3]),
        vi("r", F, [3]),
    ]
    m = model(
        nodes,
        [vi("x", F, [3])],
        outs,
        14,
        [const("w", np.array([1.0, 2.0], np.float32))],
    )
    save_case("identity_outputs", m, {"x": rand(rng, (3,))})


def symbolic_dims(rng):
    """Symbolic batch/seq dims, and one dimension with neither size nor name."""
    w = rand(rng, (8, 5))
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="matmul"),
        helper.make_node("Add", ["h", "bias"], ["y"], name="add"),
    ]
    x = vi("x", F, ["batch", "seq", 8])
    bias = vi("bias", F, ["seq", None])
    m = model(nodes, [x, bias], [vi("y", F, ["batch", "seq", 5])], 17, [const("w", w)])
    save_case(
        "symbolic_dims", m, {"x": rand(rng, (2, 3, 8)), "bias": rand(rng, (3, 1))}
    )


def shape_folding(rng):
    """Real-export glue: Shape → Gather → Unsqueeze → Concat → Reshape, Range
    for position ids, ConstantOfShape + Where for a mask. Folds at import."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "i0"], ["batch"], name="gather_batch", axis=0),
        helper.make_node("Gather", ["s", "i1"], ["seq"], name="gather_seq", axis=0),
        helper.make_node(
            "Unsqueeze", ["batch", "ax0"], ["batch1"], name="unsqueeze_batch"
        ),
        helper.make_node("Unsqueeze", ["seq", "ax0"], ["seq1"], name="unsqueeze_seq"),
        helper.make_node(
            "Concat",
            ["batch1", "seq1", "heads", "minus1"],
            ["new_shape"],
            name="concat",
            axis=0,
        ),
        helper.make_node(
            "Reshape", ["x", "new_shape"], ["split_heads"], name="reshape"
        ),
        helper.make_node("Range", ["zero", "seq", "one"], ["pos"], name="range"),
        helper.make_node(
            "Gather", ["pos_table", "pos"], ["pos_emb"], name="pos_lookup"
        ),
        helper.make_node("Add", ["x", "pos_emb"], ["x_pos"], name="add_pos"),
        helper.make_node(
            "Concat", ["seq1", "ax0_plus1"], ["mask_shape"], name="mask_shape", axis=0
        ),
        helper.make_node(
            "ConstantOfShape",
            ["mask_shape"],
            ["mask_ones"],
            name="mask_ones",
            value=helper.make_tensor("v", TensorProto.BOOL, [1], [True]),
        ),
        helper.make_node(
            "Where", ["mask_ones", "x_pos", "zero_f"], ["masked"], name="mask"
        ),
    ]
    inits = [
        const("i0", np.int64(0)),
        const("i1", np.int64(1)),
        const("ax0", np.array([0], np.int64)),
        const("ax0_plus1", np.array([1], np.int64)),
        const("heads", np.array([2], np.int64)),
        const("minus1", np.array([-1], np.int64)),
        const("zero", np.int64(0)),
        const("one", np.int64(1)),
        const("pos_table", rand(rng, (16, 8))),
        const("zero_f", np.float32(0.0)),
    ]
    outs = [
        vi("split_heads", F, ["batch", "seq", 2, 4]),
        vi("masked", F, ["batch", "seq", 8]),
    ]
    m = model(nodes, [vi("x", F, ["batch", "seq", 8])], outs, 17, inits)
    save_case("shape_folding", m, {"x": rand(rng, (1, 8, 8))})


def external_data(rng):
    """Initializers in a file beside the model (data_location = EXTERNAL)."""
    w = rand(rng, (6, 5))
    b = rand(rng, (5,))
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="matmul"),
        helper.make_node("Add", ["h", "b"], ["y"], name="add"),
    ]
    m = model(
        nodes,
        [vi("x", F, [2, 6])],
        [vi("y", F, [2, 5])],
        17,
        [const("w", w), const("b", b)],
    )
    feeds = {"x": rand(rng, (2, 6))}
    save_case("external_data", m, feeds)
    folder = os.path.join(MODELS, "external_data")
    m = onnx.load(os.path.join(folder, "model.onnx"))
    onnx.save_model(
        m,
        os.path.join(folder, "model.onnx"),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )


ALL = [
    gemm_mlp,
    elementwise,
    norms,
    gelu_opset20,
    reduce_opset13,
    reduce_opset18,
    layout,
    split_opset18,
    constants,
    identity_outputs,
    symbolic_dims,
    shape_folding,
    external_data,
]
