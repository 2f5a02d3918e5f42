//! Importer cases that onnxruntime cannot produce or run (forms outside the
//! spec that trnc still reads, unnamed nodes, outputs left unnamed), built
//! directly from the protobuf messages.

use prost::Message;
use trnc::execute::{execute, Backend};
use trnc::onnx::import_bytes;
use trnc::onnx::proto::tensor_shape_proto::{dimension, Dimension};
use trnc::onnx::proto::{
    attribute_type, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use trnc::LoadOptions;
use trnc_ir::text::print_graph;
use trnc_ir::{DType, Data, Target, Tensor};

const FLOAT: i32 = 1;
const INT32: i32 = 6;
const INT64: i32 = 7;
const BOOL: i32 = 9;
const FLOAT16: i32 = 10;

fn tensor_type(name: &str, elem_type: i32, dims: &[i64]) -> ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { value: Some(dimension::Value::DimValue(d)) }).collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type,
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
    }
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: name.into(),
        op_type: op.into(),
        attribute,
        domain: String::new(),
    }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), ints: values.to_vec(), r#type: attribute_type::INTS, ..Default::default() }
}

fn int64s(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![values.len() as i64],
        data_type: INT64,
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

fn model(
    opset: i64,
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    initializer: Vec<TensorProto>,
) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        producer_name: "trnc-tests".into(),
        graph: Some(GraphProto {
            node: nodes,
            name: "edge".into(),
            initializer,
            input: inputs,
            output: outputs,
            value_info: vec![],
            sparse_initializer: vec![],
        }),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: opset }],
    }
    .encode_to_vec()
}

fn import(bytes: &[u8]) -> Result<String, String> {
    import_bytes(bytes, None, &LoadOptions::default()).map(|g| print_graph(&g)).map_err(|e| e.message)
}

#[test]
fn axes_attributes_of_older_opsets_are_read() {
    // Squeeze/Unsqueeze took axes as an attribute before opset 13; a model
    // that still does is read the same way.
    let bytes = model(
        13,
        vec![
            node("Unsqueeze", "u", &["x"], &["u"], vec![ints("axes", &[0])]),
            node("Squeeze", "s", &["u"], &["y"], vec![ints("axes", &[-3])]),
        ],
        vec![tensor_type("x", FLOAT, &[2, 3])],
        vec![tensor_type("y", FLOAT, &[2, 3])],
        vec![],
    );
    let ir = import(&bytes).unwrap();
    assert!(ir.contains("unsqueeze %x {axes = [0]} : f32[1, 2, 3]"), "{ir}");
    assert!(ir.contains("squeeze %u {axes = [0]} : f32[2, 3]"), "{ir}");
}

#[test]
fn split_outputs_left_unnamed_are_skipped() {
    let bytes = model(
        13,
        vec![node("Split", "split", &["x", "sizes"], &["", "b"], vec![ints("axis", &[])])],
        vec![tensor_type("x", FLOAT, &[5])],
        vec![tensor_type("b", FLOAT, &[3])],
        vec![int64s("sizes", &[2, 3])],
    );
    // `axis` above is an empty list attribute of the wrong type: rejected.
    let e = import(&bytes).unwrap_err();
    assert!(e.contains("node 'split' (Split): attribute 'axis' must be an int"), "{e}");
    let bytes = model(
        13,
        vec![node("Split", "split", &["x", "sizes"], &["", "b"], vec![])],
        vec![tensor_type("x", FLOAT, &[5])],
        vec![tensor_type("b", FLOAT, &[3])],
        vec![int64s("sizes", &[2, 3])],
    );
    let ir = import(&bytes).unwrap();
    assert!(ir.contains("%b = slice %x {axes = [0], starts = [2], ends = [5], steps = [1]} : f32[3]"), "{ir}");
}

#[test]
fn unnamed_nodes_are_named_by_position_and_output() {
    let bytes = model(
        17,
        vec![node("Relu", "", &["x"], &["r"], vec![]), node("MatMul", "", &["r", "x"], &["y"], vec![])],
        vec![tensor_type("x", FLOAT, &[2, 3])],
        vec![tensor_type("y", FLOAT, &[2, 2])],
        vec![],
    );
    let e = import(&bytes).unwrap_err();
    assert!(e.starts_with("error: node #1 (MatMul) computing 'y': contraction dimensions differ"), "{e}");
}

#[test]
fn layer_norm_bias_without_scale_gets_a_unit_scale() {
    let bias = TensorProto {
        name: "b".into(),
        dims: vec![3],
        data_type: FLOAT,
        float_data: vec![0.5, 0.5, 0.5],
        ..Default::default()
    };
    let bytes = model(
        17,
        vec![node("LayerNormalization", "ln", &["x", "", "b"], &["y"], vec![])],
        vec![tensor_type("x", FLOAT, &[2, 3])],
        vec![tensor_type("y", FLOAT, &[2, 3])],
        vec![bias],
    );
    let ir = import(&bytes).unwrap();
    assert!(ir.contains("%y_scale = const f32[3] [1.0, 1.0, 1.0]"), "{ir}");
    assert!(ir.contains("layer_norm %x, %y_scale, %b"), "{ir}");
}

#[test]
fn declared_output_types_are_checked() {
    let bytes = model(
        17,
        vec![node("Relu", "relu", &["x"], &["y"], vec![])],
        vec![tensor_type("x", FLOAT, &[2, 3])],
        vec![tensor_type("y", INT64, &[2, 3])],
        vec![],
    );
    let e = import(&bytes).unwrap_err();
    assert_eq!(e, "error: node 'relu' (Relu): output 'y' is computed as f32[2, 3] but the model declares int64[2, 3]");
}

#[test]
fn a_model_without_the_default_opset_is_rejected() {
    let mut m = ModelProto::decode(&*model(17, vec![], vec![], vec![], vec![])).unwrap();
    m.opset_import[0].domain = "ai.onnx.ml".into();
    let e = import(&m.encode_to_vec()).unwrap_err();
    assert!(e.contains("imports no version of the default ONNX operator set"), "{e}");
}

#[test]
fn runtime_clip_bounds_become_max_and_min() {
    let bytes = model(
        13,
        vec![node("Clip", "clip", &["x", "lo", "hi"], &["y"], vec![])],
        vec![tensor_type("x", FLOAT, &[4]), tensor_type("lo", FLOAT, &[]), tensor_type("hi", FLOAT, &[])],
        vec![tensor_type("y", FLOAT, &[4])],
        vec![],
    );
    let ir = import(&bytes).unwrap();
    assert!(ir.contains("%y_max = max %x, %lo"), "{ir}");
    assert!(ir.contains("%y = min %y_max, %hi"), "{ir}");
}

fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), i, r#type: attribute_type::INT, ..Default::default() }
}

fn attr_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto { name: name.into(), f, r#type: attribute_type::FLOAT, ..Default::default() }
}

fn tensor(name: &str, data_type: i32, dims: &[i64], values: &[f64]) -> TensorProto {
    let mut t = TensorProto { name: name.into(), dims: dims.to_vec(), data_type, ..Default::default() };
    match data_type {
        INT64 => t.int64_data = values.iter().map(|&v| v as i64).collect(),
        INT32 => t.int32_data = values.iter().map(|&v| v as i32).collect(),
        _ => t.float_data = values.iter().map(|&v| v as f32).collect(),
    }
    t
}

fn half(name: &str, bits: i32) -> TensorProto {
    TensorProto { name: name.into(), data_type: FLOAT16, int32_data: vec![bits], ..Default::default() }
}

/// Imports and runs a model on the reference backend.
fn run(bytes: &[u8], inputs: &[Tensor]) -> Vec<Tensor> {
    let g = import_bytes(bytes, None, &LoadOptions::default()).unwrap_or_else(|e| panic!("{}", e.message));
    execute(&g, inputs, Backend::Reference, Target::Trn2).unwrap_or_else(|e| panic!("{}", e.message))
}

#[test]
fn softmax_before_opset_13_normalises_the_input_coerced_to_2d() {
    // Softmax-11 with axis 1 on [2, 3, 2] normalises each batch row over
    // all 6 trailing elements; Softmax-13 would normalise over axis 1 only.
    let bytes = |opset| {
        model(
            opset,
            vec![node("Softmax", "sm", &["x"], &["y"], vec![attr_int("axis", 1)])],
            vec![tensor_type("x", FLOAT, &[2, 3, 2])],
            vec![tensor_type("y", FLOAT, &[2, 3, 2])],
            vec![],
        )
    };
    let values: Vec<f32> = (0..12).map(|i| i as f32 * 0.25).collect();
    let x = Tensor::from_f32(vec![2, 3, 2], values.clone());
    let old = run(&bytes(11), std::slice::from_ref(&x)).remove(0).to_f64_vec();
    for row in 0..2 {
        let e: Vec<f64> = values[row * 6..row * 6 + 6].iter().map(|&v| f64::from(v).exp()).collect();
        let sum: f64 = e.iter().sum();
        for k in 0..6 {
            assert!((old[row * 6 + k] - e[k] / sum).abs() < 1e-6, "{old:?}");
        }
    }
    let ir = import(&bytes(11)).unwrap();
    assert!(ir.contains("reshape %x {shape = [2, 6]}"), "{ir}");
    let new = run(&bytes(13), &[x]).remove(0).to_f64_vec();
    assert!((new[0] + new[2] + new[4] - 1.0).abs() < 1e-6, "{new:?}");
    // The default axis of Softmax-1/11 is 1, of Softmax-13 the last.
    let ir = import(&model(
        12,
        vec![node("LogSoftmax", "lsm", &["x"], &["y"], vec![])],
        vec![tensor_type("x", FLOAT, &[4, 5])],
        vec![tensor_type("y", FLOAT, &[4, 5])],
        vec![],
    ))
    .unwrap();
    assert!(ir.contains("%y = log_softmax %x {axis = 1} : f32[4, 5]"), "{ir}");
}

#[test]
fn clip_before_opset_11_takes_attribute_bounds() {
    let bytes = model(
        6,
        vec![node("Clip", "clip", &["x"], &["y"], vec![attr_float("min", -0.5)])],
        vec![tensor_type("x", FLOAT, &[3])],
        vec![tensor_type("y", FLOAT, &[3])],
        vec![],
    );
    let x = Tensor::from_f32(vec![3], vec![-1.0, 0.25, f32::INFINITY]);
    // `max` defaults to the largest float: infinity is clipped to it.
    assert_eq!(run(&bytes, &[x]).remove(0).to_f64_vec(), [-0.5, 0.25, f64::from(f32::MAX)]);
}

#[test]
fn old_opsets_are_read_where_the_op_version_in_effect_is_known() {
    // And-7 is the version in effect at opsets 7 to 27.
    let bytes = model(
        7,
        vec![node("And", "and", &["a", "b"], &["y"], vec![])],
        vec![tensor_type("a", BOOL, &[2]), tensor_type("b", BOOL, &[2])],
        vec![tensor_type("y", BOOL, &[2])],
        vec![],
    );
    assert!(import(&bytes).unwrap().contains("and %a, %b"));
    // Add-6 broadcast only with legacy attributes: not read.
    let bytes = model(
        6,
        vec![node("Add", "add", &["a", "a"], &["y"], vec![])],
        vec![tensor_type("a", FLOAT, &[2])],
        vec![tensor_type("y", FLOAT, &[2])],
        vec![],
    );
    let e = import(&bytes).unwrap_err();
    assert!(e.starts_with("error: node 'add' (Add): Add-6 (the version in opset 6) is not supported"), "{e}");
    assert!(e.contains("'broadcast'"), "{e}");
}

#[test]
fn integer_pow_is_exact() {
    let bytes = |exponent_type| {
        model(
            15,
            vec![node("Pow", "pow", &["x", "e"], &["y"], vec![])],
            vec![tensor_type("x", INT64, &[5]), tensor_type("e", exponent_type, &[5])],
            vec![tensor_type("y", INT64, &[5])],
            vec![],
        )
    };
    let x = Tensor::from_i64(vec![5], vec![3, -2, 7, 2, -1]);
    let e = Tensor::from_i64(vec![5], vec![39, 3, 0, -1, -3]);
    let y = run(&bytes(INT64), &[x.clone(), e]).remove(0).to_i64_vec();
    assert_eq!(y, [3i64.pow(39), -8, 1, 0, -1]);
    // An int32 exponent is cast to the base's dtype.
    let e32 = Tensor::from_f64(DType::I32, vec![5], &[2.0, 2.0, 2.0, 2.0, 2.0]);
    assert_eq!(run(&bytes(INT32), &[x.clone(), e32]).remove(0).to_i64_vec(), [9, 4, 49, 4, 1]);
    // A float exponent computes the real power and truncates it, as ONNX
    // Runtime does: 7^0.5 = 2.65 gives 2.
    let ef = Tensor::from_f32(vec![5], vec![2.0, 3.0, 0.5, 10.0, 2.0]);
    assert_eq!(run(&bytes(FLOAT), &[x, ef]).remove(0).to_i64_vec(), [9, -8, 2, 1024, 1]);
    // 0 to a negative power has no integer value.
    let zero = Tensor::from_i64(vec![5], vec![0; 5]);
    let g = import_bytes(&bytes(INT64), None, &LoadOptions::default()).unwrap();
    let e = execute(&g, &[zero, Tensor::from_i64(vec![5], vec![-1; 5])], Backend::Reference, Target::Trn2);
    assert!(e.unwrap_err().message.contains("integer 0 to the negative power -1"));
}

#[test]
fn saturating_casts_to_e5m2_saturate_infinities_too() {
    let bytes = |saturate| {
        model(
            19,
            vec![node("Cast", "cast", &["x"], &["y"], vec![attr_int("to", 19), attr_int("saturate", saturate)])],
            vec![tensor_type("x", FLOAT, &[4])],
            vec![tensor_type("y", 19, &[4])],
            vec![],
        )
    };
    let x = Tensor::from_f32(vec![4], vec![f32::INFINITY, f32::NEG_INFINITY, 1e6, 1.5]);
    let y = run(&bytes(1), std::slice::from_ref(&x)).remove(0).to_f64_vec();
    assert_eq!(y, [57344.0, -57344.0, 57344.0, 1.5]);
    let y = run(&bytes(0), &[x]).remove(0).to_f64_vec();
    assert_eq!(y[..3], [f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY]);
}

#[test]
fn reduce_max_and_min_read_bool_and_empty_inputs() {
    let bytes = |op: &str, input_type, dims: &[i64], output: &[i64]| {
        model(
            20,
            vec![node(op, "r", &["x", "axes"], &["y"], vec![attr_int("keepdims", 0)])],
            vec![tensor_type("x", input_type, dims)],
            vec![tensor_type("y", input_type, output)],
            vec![int64s("axes", &[1])],
        )
    };
    let x = Tensor::new(DType::Bool, vec![2, 2], Data::Bool(vec![true, false, false, false])).unwrap();
    let any = run(&bytes("ReduceMax", BOOL, &[2, 2], &[2]), std::slice::from_ref(&x)).remove(0);
    assert_eq!(any.to_i64_vec(), [1, 0]);
    let all = run(&bytes("ReduceMin", BOOL, &[2, 2], &[2]), &[x]).remove(0);
    assert_eq!(all.to_i64_vec(), [0, 0]);
    // Over nothing: the reduction's identity.
    let empty = Tensor::from_f32(vec![2, 0], vec![]);
    let max = run(&bytes("ReduceMax", FLOAT, &[2, 0], &[2]), std::slice::from_ref(&empty)).remove(0);
    assert_eq!(max.to_f64_vec(), [f64::NEG_INFINITY; 2]);
    let min = run(&bytes("ReduceMin", FLOAT, &[2, 0], &[2]), &[empty]).remove(0);
    assert_eq!(min.to_f64_vec(), [f64::INFINITY; 2]);
    let empty = Tensor::from_i64(vec![2, 0], vec![]);
    let max = run(&bytes("ReduceMax", INT64, &[2, 0], &[2]), &[empty]).remove(0);
    assert_eq!(max.to_i64_vec(), [i64::MIN; 2]);
}

#[test]
fn layer_norm_computes_mean_and_inv_std_dev() {
    let scale = tensor("g", FLOAT, &[3], &[1.0, 1.0, 1.0]);
    let bytes = |stash: i64| {
        model(
            17,
            vec![node(
                "LayerNormalization",
                "ln",
                &["x", "g"],
                &["y", "mean", "inv"],
                vec![attr_int("stash_type", stash)],
            )],
            vec![tensor_type("x", FLOAT, &[1, 3])],
            vec![
                tensor_type("y", FLOAT, &[1, 3]),
                tensor_type("mean", stash as i32, &[1, 1]),
                tensor_type("inv", stash as i32, &[1, 1]),
            ],
            vec![scale.clone()],
        )
    };
    let x = Tensor::from_f32(vec![1, 3], vec![1.0, 2.0, 6.0]);
    let out = run(&bytes(1), std::slice::from_ref(&x));
    let var = (4.0 + 1.0 + 9.0) / 3.0;
    assert_eq!(out[1].to_f64_vec(), [3.0]);
    assert!((out[2].get_f64(0) - 1.0 / (var + 1e-5f64).sqrt()).abs() < 1e-6);
    assert!((out[0].get_f64(0) - (-2.0 / (var + 1e-5f64).sqrt())).abs() < 1e-6);
    // A bfloat16 stash type computes the first stage in bfloat16: Y is
    // spelled out in ops of that type instead of one layer_norm.
    let ir = import(&bytes(16)).unwrap();
    assert!(ir.contains("cast %x {to = bf16}"), "{ir}");
    assert!(!ir.contains("layer_norm"), "{ir}");
    let out = run(&bytes(16), &[x]);
    assert_eq!(out[1].dtype(), DType::BF16);
    assert!((out[0].get_f64(0) - (-2.0 / var.sqrt())).abs() < 1e-2, "{:?}", out[0]);
}

#[test]
fn half_precision_range_computes_in_its_stash_type() {
    let bytes = |stash: Option<i64>| {
        let attrs = stash.map(|s| vec![attr_int("stash_type", s)]).unwrap_or_default();
        model(
            27,
            vec![node("Range", "range", &["s", "l", "d"], &["y"], attrs)],
            vec![],
            vec![tensor_type("y", FLOAT16, &[4])],
            // float16 1.0, 2.0 and 0.25, as bit patterns in int32_data.
            vec![half("s", 0x3c00), half("l", 0x4000), half("d", 0x3400)],
        )
    };
    let y = run(&bytes(None), &[]).remove(0);
    assert_eq!(y.to_f64_vec(), [1.0, 1.25, 1.5, 1.75]);
    let e = import(&bytes(Some(7))).unwrap_err();
    assert!(e.contains("attribute 'stash_type' must name a float type, got 7"), "{e}");
}

#[test]
fn size_cast_like_and_sum_are_read() {
    let bytes = model(
        21,
        vec![
            node("Size", "size", &["x"], &["n"], vec![]),
            node("CastLike", "like", &["n", "x"], &["nf"], vec![]),
            node("Sum", "sum", &["x", "nf", "x"], &["y"], vec![]),
        ],
        vec![tensor_type("x", FLOAT, &[2, 3])],
        vec![tensor_type("y", FLOAT, &[2, 3])],
        vec![],
    );
    let x = Tensor::from_f32(vec![2, 3], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(run(&bytes, &[x]).remove(0).to_f64_vec(), [6.0, 8.0, 10.0, 12.0, 14.0, 16.0]);
}
