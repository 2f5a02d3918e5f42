//! Importer cases that onnxruntime cannot produce or run (forms outside the
//! spec that trnc still reads, unnamed nodes, outputs left unnamed), built
//! directly from the protobuf messages.

use prost::Message;
use trnc::onnx::import_bytes;
use trnc::onnx::proto::tensor_shape_proto::{dimension, Dimension};
use trnc::onnx::proto::{
    attribute_type, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use trnc::LoadOptions;
use trnc_ir::text::print_graph;

const FLOAT: i32 = 1;
const INT64: i32 = 7;

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
