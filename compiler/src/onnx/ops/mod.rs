//! The ONNX ops trnc imports, each mapped onto IR ops. One file per op
//! family; this table is the single list of what is supported.

mod elementwise;
mod generate;
mod layout;
mod nn;

use super::node::{NodeCx, Result};
use elementwise::{binary, unary};
use trnc_ir::{BinaryOp, ReduceOp, UnaryOp};

/// Imports one node: reads its inputs and attributes from the context,
/// adds IR ops, binds its outputs.
pub type Handler = fn(&mut NodeCx) -> Result<()>;

/// Every supported default-domain op type, sorted by name.
const TABLE: &[(&str, Handler)] = &[
    ("Abs", |cx| unary(cx, UnaryOp::Abs)),
    ("Add", |cx| binary(cx, BinaryOp::Add)),
    ("And", |cx| binary(cx, BinaryOp::And)),
    ("Cast", elementwise::cast),
    ("Clip", elementwise::clip),
    ("Concat", layout::concat),
    ("Constant", generate::constant),
    ("ConstantOfShape", generate::constant_of_shape),
    ("Cos", |cx| unary(cx, UnaryOp::Cos)),
    ("Div", |cx| binary(cx, BinaryOp::Div)),
    ("Equal", |cx| binary(cx, BinaryOp::Eq)),
    ("Erf", |cx| unary(cx, UnaryOp::Erf)),
    ("Exp", |cx| unary(cx, UnaryOp::Exp)),
    ("Expand", layout::expand),
    ("Flatten", layout::flatten),
    ("Gather", layout::gather),
    ("Gelu", elementwise::gelu),
    ("Gemm", nn::gemm),
    ("Greater", |cx| binary(cx, BinaryOp::Gt)),
    ("GreaterOrEqual", |cx| binary(cx, BinaryOp::Ge)),
    ("Identity", elementwise::identity),
    ("LayerNormalization", nn::layer_norm),
    ("LeakyRelu", elementwise::leaky_relu),
    ("Less", |cx| binary(cx, BinaryOp::Lt)),
    ("LessOrEqual", |cx| binary(cx, BinaryOp::Le)),
    ("Log", |cx| unary(cx, UnaryOp::Log)),
    ("LogSoftmax", |cx| nn::softmax(cx, true)),
    ("MatMul", nn::matmul),
    ("Max", |cx| elementwise::variadic(cx, BinaryOp::Max)),
    ("Min", |cx| elementwise::variadic(cx, BinaryOp::Min)),
    ("Mul", |cx| binary(cx, BinaryOp::Mul)),
    ("Neg", |cx| unary(cx, UnaryOp::Neg)),
    ("Not", |cx| unary(cx, UnaryOp::Not)),
    ("Or", |cx| binary(cx, BinaryOp::Or)),
    ("Pow", elementwise::pow),
    ("Range", generate::range),
    ("Reciprocal", |cx| unary(cx, UnaryOp::Reciprocal)),
    ("ReduceMax", |cx| nn::reduce(cx, ReduceOp::Max)),
    ("ReduceMean", |cx| nn::reduce(cx, ReduceOp::Mean)),
    ("ReduceMin", |cx| nn::reduce(cx, ReduceOp::Min)),
    ("ReduceSum", |cx| nn::reduce(cx, ReduceOp::Sum)),
    ("Relu", |cx| unary(cx, UnaryOp::Relu)),
    ("Reshape", layout::reshape),
    ("Shape", generate::shape),
    ("Sigmoid", |cx| unary(cx, UnaryOp::Sigmoid)),
    ("Sin", |cx| unary(cx, UnaryOp::Sin)),
    ("Slice", layout::slice),
    ("Softmax", |cx| nn::softmax(cx, false)),
    ("Split", layout::split),
    ("Sqrt", |cx| unary(cx, UnaryOp::Sqrt)),
    ("Squeeze", layout::squeeze),
    ("Sub", |cx| binary(cx, BinaryOp::Sub)),
    ("Tanh", |cx| unary(cx, UnaryOp::Tanh)),
    ("Transpose", layout::transpose),
    ("Unsqueeze", layout::unsqueeze),
    ("Where", elementwise::where_),
];

/// The handler for a default-domain op type, or `None` if trnc does not
/// support it.
pub fn handler(op_type: &str) -> Option<Handler> {
    TABLE.binary_search_by(|(name, _)| name.cmp(&op_type)).ok().map(|i| TABLE[i].1)
}

/// The supported op types, sorted.
pub fn supported() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_is_sorted_for_binary_search() {
        let names: Vec<&str> = super::supported().collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        assert!(super::handler("MatMul").is_some());
        assert!(super::handler("Conv").is_none());
    }
}
