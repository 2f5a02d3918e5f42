//! layer_norm and rms_norm, with and without their affine parameters.

use super::matchers::{binary, either_order, reduce_keep, scalar_attr, square_of, suffix_axis, unary};
use crate::passes::rewrite::Rewriter;
use trnc_ir::{BinaryOp, Node, Op, ReduceOp, UnaryOp, ValueId};

/// `a / sqrt(v + eps)`, `a * rsqrt(v + eps)` or `a * reciprocal(sqrt(v + eps))`
/// → (a, v, eps).
fn normalised(rw: &Rewriter, node: &Node) -> Option<(ValueId, ValueId, f64)> {
    let (a, denom_sqrt) = match node.op {
        Op::Binary(BinaryOp::Div) => (node.inputs[0], unary(rw, node.inputs[1], UnaryOp::Sqrt)?),
        Op::Binary(BinaryOp::Mul) => {
            let split = |a: ValueId, b: ValueId| {
                let inner = unary(rw, b, UnaryOp::Rsqrt)
                    .or_else(|| unary(rw, unary(rw, b, UnaryOp::Reciprocal)?, UnaryOp::Sqrt))?;
                Some((a, inner))
            };
            let [p, q] = [node.inputs[0], node.inputs[1]];
            split(p, q).or_else(|| split(q, p))?
        }
        _ => return None,
    };
    either_order(rw, denom_sqrt, BinaryOp::Add, |v, e| {
        let eps = scalar_attr(rw, e)?;
        (eps >= 0.0).then_some((a, v, eps))
    })
}

/// `(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps)` over trailing axes.
pub fn layer_norm(rw: &mut Rewriter, node: &Node) -> Option<ValueId> {
    let (xc, var, eps) = normalised(rw, node)?;
    let (x, mean) = binary(rw, xc, BinaryOp::Sub)?;
    let (mean_of, axes) = reduce_keep(rw, mean, ReduceOp::Mean)?;
    let (sq_of, var_axes) = reduce_keep(rw, var, ReduceOp::Mean)?;
    if mean_of != x || var_axes != axes || square_of(rw, sq_of)? != xc {
        return None;
    }
    let axis = suffix_axis(&axes, rw.graph.ty(x).rank())?;
    rw.add(Op::LayerNorm { axis, epsilon: eps }, &[x], "layer_norm").ok()
}

/// `x / sqrt(mean(x^2) + eps)` over trailing axes.
pub fn rms_norm(rw: &mut Rewriter, node: &Node) -> Option<ValueId> {
    let (x, ms, eps) = normalised(rw, node)?;
    let (sq, axes) = reduce_keep(rw, ms, ReduceOp::Mean)?;
    if square_of(rw, sq)? != x {
        return None;
    }
    let axis = suffix_axis(&axes, rw.graph.ty(x).rank())?;
    rw.add(Op::RmsNorm { axis, epsilon: eps }, &[x], "rms_norm").ok()
}

/// `norm(x) * scale` → norm(x, scale); `layer_norm(x, scale) + bias` →
/// layer_norm(x, scale, bias). The scale and bias must broadcast to x
/// without growing it (so the composite means the same thing).
pub fn affine(rw: &mut Rewriter, node: &Node) -> Option<ValueId> {
    let out_ty = rw.graph.ty(node.output).clone();
    let Op::Binary(op @ (BinaryOp::Mul | BinaryOp::Add)) = node.op else { return None };
    let [a, b] = [node.inputs[0], node.inputs[1]];
    let try_absorb = |rw: &mut Rewriter, n: ValueId, p: ValueId| -> Option<ValueId> {
        let norm_op = rw.op(n)?.clone();
        let operands = rw.operands(n).to_vec();
        let wanted_len = match (&norm_op, op) {
            (Op::LayerNorm { .. } | Op::RmsNorm { .. }, BinaryOp::Mul) => 1,
            (Op::LayerNorm { .. }, BinaryOp::Add) => 2,
            _ => return None,
        };
        if operands.len() != wanted_len || *rw.graph.ty(n) != out_ty || rw.graph.ty(p).dtype != out_ty.dtype {
            return None;
        }
        let mut inputs = operands;
        inputs.push(p);
        rw.add(norm_op, &inputs, if op == BinaryOp::Mul { "scaled" } else { "shifted" }).ok()
    };
    try_absorb(rw, a, b)
        .or_else(|| if op == BinaryOp::Mul || op == BinaryOp::Add { try_absorb(rw, b, a) } else { None })
}
