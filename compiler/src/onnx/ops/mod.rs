//! The ONNX ops trnc imports, each mapped onto IR ops. One file per op
//! family; [`TABLE`] is the single list of what is supported, with the op
//! versions that are read.

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

/// A supported default-domain op.
pub struct OpSpec {
    pub name: &'static str,
    pub import: Handler,
    /// The opsets in which ONNX defined a new version of the op, up to
    /// [`NEWEST_OPSET`] (from the operator schemas of onnx 1.22).
    pub versions: &'static [i64],
    /// The oldest of `versions` that trnc reads. Every version from it on
    /// is read: the versions after it changed only the accepted types, or
    /// added forms that the handler reads (the handler sees the version in
    /// [`NodeCx::version`] where it matters).
    pub oldest: i64,
}

/// The newest default-domain opset trnc knows. A model that imports a
/// newer one is rejected: its ops may have changed in ways trnc cannot
/// know about.
pub const NEWEST_OPSET: i64 = 27;

const fn op(name: &'static str, import: Handler, versions: &'static [i64], oldest: i64) -> OpSpec {
    OpSpec { name, import, versions, oldest }
}

/// Every supported default-domain op type, sorted by name. What changed
/// between versions (from the ONNX operator changelog) and why:
/// - opsets 22 to 27 only widened types (bfloat16 for Sin/Cos, float4,
///   float8e8m0, int2/uint2 for the layout ops, ...), except Cast-24
///   (`round_mode`, which only applies to float8e8m0, a type trnc rejects)
///   and Range-27 (float16/bfloat16 with `stash_type`), both read;
/// - Softmax/LogSoftmax before 13 work on the input coerced to 2-D at
///   `axis` (default 1), Clip before 11 takes its bounds as attributes,
///   Squeeze/Unsqueeze/Split/ReduceSum before 13 and ReduceMean/Max/Min
///   before 18 take axes (and split sizes) as attributes: all read;
/// - older versions with other forms are not read (see [`why_not_older`]).
pub const TABLE: &[OpSpec] = &[
    op("Abs", |cx| unary(cx, UnaryOp::Abs), &[1, 6, 13], 6),
    op("Add", |cx| binary(cx, BinaryOp::Add), &[1, 6, 7, 13, 14], 7),
    op("And", |cx| binary(cx, BinaryOp::And), &[1, 7], 7),
    op("Cast", elementwise::cast, &[1, 6, 9, 13, 19, 21, 23, 24, 25], 6),
    op("CastLike", elementwise::cast_like, &[15, 19, 21, 23, 24, 25], 15),
    op("Clip", elementwise::clip, &[1, 6, 11, 12, 13], 6),
    op("Concat", layout::concat, &[1, 4, 11, 13], 4),
    op("Constant", generate::constant, &[1, 9, 11, 12, 13, 19, 21, 23, 24, 25], 1),
    op("ConstantOfShape", generate::constant_of_shape, &[9, 20, 21, 23, 24, 25], 9),
    op("Cos", |cx| unary(cx, UnaryOp::Cos), &[7, 22], 7),
    op("Div", |cx| binary(cx, BinaryOp::Div), &[1, 6, 7, 13, 14], 7),
    op("Equal", |cx| binary(cx, BinaryOp::Eq), &[1, 7, 11, 13, 19], 7),
    op("Erf", |cx| unary(cx, UnaryOp::Erf), &[9, 13], 9),
    op("Exp", |cx| unary(cx, UnaryOp::Exp), &[1, 6, 13], 6),
    op("Expand", layout::expand, &[8, 13], 8),
    op("Flatten", layout::flatten, &[1, 9, 11, 13, 21, 23, 24, 25], 1),
    op("Gather", layout::gather, &[1, 11, 13], 1),
    op("Gelu", elementwise::gelu, &[20], 20),
    op("Gemm", nn::gemm, &[1, 6, 7, 9, 11, 13], 7),
    op("Greater", |cx| binary(cx, BinaryOp::Gt), &[1, 7, 9, 13], 7),
    op("GreaterOrEqual", |cx| binary(cx, BinaryOp::Ge), &[12, 16], 12),
    op("Identity", elementwise::identity, &[1, 13, 14, 16, 19, 21, 23, 24, 25], 1),
    op("LayerNormalization", nn::layer_norm, &[17], 17),
    op("LeakyRelu", elementwise::leaky_relu, &[1, 6, 16], 6),
    op("Less", |cx| binary(cx, BinaryOp::Lt), &[1, 7, 9, 13], 7),
    op("LessOrEqual", |cx| binary(cx, BinaryOp::Le), &[12, 16], 12),
    op("Log", |cx| unary(cx, UnaryOp::Log), &[1, 6, 13], 6),
    op("LogSoftmax", |cx| nn::softmax(cx, true), &[1, 11, 13], 1),
    op("MatMul", nn::matmul, &[1, 9, 13], 1),
    op("Max", |cx| elementwise::variadic(cx, BinaryOp::Max), &[1, 6, 8, 12, 13], 8),
    op("Min", |cx| elementwise::variadic(cx, BinaryOp::Min), &[1, 6, 8, 12, 13], 8),
    op("Mul", |cx| binary(cx, BinaryOp::Mul), &[1, 6, 7, 13, 14], 7),
    op("Neg", |cx| unary(cx, UnaryOp::Neg), &[1, 6, 13], 6),
    op("Not", |cx| unary(cx, UnaryOp::Not), &[1], 1),
    op("Or", |cx| binary(cx, BinaryOp::Or), &[1, 7], 7),
    op("Pow", elementwise::pow, &[1, 7, 12, 13, 15], 7),
    op("Range", generate::range, &[11, 27], 11),
    op("Reciprocal", |cx| unary(cx, UnaryOp::Reciprocal), &[1, 6, 13], 6),
    op("ReduceMax", |cx| nn::reduce(cx, ReduceOp::Max), &[1, 11, 12, 13, 18, 20], 1),
    op("ReduceMean", |cx| nn::reduce(cx, ReduceOp::Mean), &[1, 11, 13, 18], 1),
    op("ReduceMin", |cx| nn::reduce(cx, ReduceOp::Min), &[1, 11, 12, 13, 18, 20], 1),
    op("ReduceSum", |cx| nn::reduce(cx, ReduceOp::Sum), &[1, 11, 13], 1),
    op("Relu", |cx| unary(cx, UnaryOp::Relu), &[1, 6, 13, 14], 6),
    op("Reshape", layout::reshape, &[1, 5, 13, 14, 19, 21, 23, 24, 25], 5),
    op("Shape", generate::shape, &[1, 13, 15, 19, 21, 23, 24, 25], 1),
    op("Sigmoid", |cx| unary(cx, UnaryOp::Sigmoid), &[1, 6, 13], 6),
    op("Sin", |cx| unary(cx, UnaryOp::Sin), &[7, 22], 7),
    op("Size", generate::size, &[1, 13, 19, 21, 23, 24, 25], 1),
    op("Slice", layout::slice, &[1, 10, 11, 13], 10),
    op("Softmax", |cx| nn::softmax(cx, false), &[1, 11, 13], 1),
    op("Split", layout::split, &[1, 2, 11, 13, 18], 2),
    op("Sqrt", |cx| unary(cx, UnaryOp::Sqrt), &[1, 6, 13], 6),
    op("Squeeze", layout::squeeze, &[1, 11, 13, 21, 23, 24, 25], 1),
    op("Sub", |cx| binary(cx, BinaryOp::Sub), &[1, 6, 7, 13, 14], 7),
    op("Sum", |cx| elementwise::variadic(cx, BinaryOp::Add), &[1, 6, 8, 13], 8),
    op("Tanh", |cx| unary(cx, UnaryOp::Tanh), &[1, 6, 13], 6),
    op("Transpose", layout::transpose, &[1, 13, 21, 23, 24, 25], 1),
    op("Unsqueeze", layout::unsqueeze, &[1, 11, 13, 21, 23, 24, 25], 1),
    op("Where", elementwise::where_, &[9, 16], 9),
];

/// Why versions of `op` older than its [`OpSpec::oldest`] are not read.
pub fn why_not_older(op: &str) -> &'static str {
    match op {
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Equal" | "Less" | "Greater" | "And" | "Or" | "Gemm" => {
            "its older versions broadcast only as the legacy 'broadcast' and 'axis' attributes say"
        }
        "Max" | "Min" | "Sum" => "its older versions do not broadcast",
        "Reshape" => "Reshape-1 takes the shape as an attribute",
        "Slice" => "Slice-1 takes starts, ends and axes as attributes",
        "Cast" => "Cast-1 names the target type with a string",
        "Concat" => "Concat-1 has a default axis",
        "Split" => "Split-1 takes the sizes as a second input or an attribute",
        _ => "its older versions have legacy attributes (such as 'consumed_inputs')",
    }
}

/// The spec of a default-domain op type, or `None` if trnc does not
/// support it.
pub fn spec(op_type: &str) -> Option<&'static OpSpec> {
    TABLE.binary_search_by(|s| s.name.cmp(op_type)).ok().map(|i| &TABLE[i])
}

/// The version of `spec` in effect in a model that imports `opset`: the
/// newest version defined at or before it; `None` if the op did not exist
/// yet.
pub fn version_in_effect(spec: &OpSpec, opset: i64) -> Option<i64> {
    spec.versions.iter().copied().filter(|&v| v <= opset).max()
}

/// Checks that trnc reads the version of `spec` in effect at `opset`, and
/// returns it.
pub fn check_version(spec: &OpSpec, opset: i64) -> std::result::Result<i64, String> {
    let name = spec.name;
    let Some(version) = version_in_effect(spec, opset) else {
        return Err(format!("{name} is not defined in opset {opset} (it was added in opset {})", spec.versions[0]));
    };
    if version < spec.oldest {
        return Err(format!(
            "{name}-{version} (the version in opset {opset}) is not supported: trnc reads {name} from version {} \
             (opset {}) on, because {} (re-export the model with a newer opset)",
            spec.oldest,
            spec.oldest,
            why_not_older(name)
        ));
    }
    Ok(version)
}

/// The supported op types, sorted.
pub fn supported() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|s| s.name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_is_sorted_for_binary_search() {
        let names: Vec<&str> = super::supported().collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        assert!(super::spec("MatMul").is_some());
        assert!(super::spec("Conv").is_none());
    }

    #[test]
    fn versions_are_sorted_and_read_from_the_oldest_on() {
        for s in super::TABLE {
            assert!(s.versions.windows(2).all(|w| w[0] < w[1]), "{}", s.name);
            assert!(s.versions.contains(&s.oldest), "{}", s.name);
            assert!(s.versions.iter().all(|&v| v <= super::NEWEST_OPSET), "{}", s.name);
        }
    }

    #[test]
    fn the_version_in_effect_is_the_newest_at_or_before_the_opset() {
        let softmax = super::spec("Softmax").unwrap();
        assert_eq!(super::version_in_effect(softmax, 12), Some(11));
        assert_eq!(super::version_in_effect(softmax, 27), Some(13));
        let gelu = super::spec("Gelu").unwrap();
        assert_eq!(super::check_version(gelu, 20), Ok(20));
        let e = super::check_version(gelu, 17).unwrap_err();
        assert_eq!(e, "Gelu is not defined in opset 17 (it was added in opset 20)");
        let slice = super::spec("Slice").unwrap();
        let e = super::check_version(slice, 9).unwrap_err();
        assert!(
            e.starts_with("Slice-1 (the version in opset 9) is not supported: trnc reads Slice from version 10"),
            "{e}"
        );
        assert_eq!(super::check_version(slice, 27), Ok(13));
    }
}
