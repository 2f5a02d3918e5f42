//! softmax and log_softmax, as exporters spell them.

use super::matchers::{binary, reduce_keep, unary};
use crate::passes::rewrite::Rewriter;
use trnc_ir::{BinaryOp, Node, Op, ReduceOp, UnaryOp, ValueId};

/// `d - max(x)` with the max over `axes` → x; otherwise `d` itself (the
/// spelling without the max, equal in exact arithmetic).
fn strip_max(rw: &Rewriter, d: ValueId, axes: &[usize]) -> ValueId {
    match binary(rw, d, BinaryOp::Sub) {
        Some((x, m)) if reduce_keep(rw, m, ReduceOp::Max) == Some((x, axes.to_vec())) => x,
        _ => d,
    }
}

/// `exp(d) / sum(exp(d))`, also as `exp(d) * reciprocal(sum(..))`, with
/// `d = x - max(x)` or `d = x`, over one axis.
pub fn softmax(rw: &mut Rewriter, node: &Node) -> Option<ValueId> {
    let (e, s) = match node.op {
        Op::Binary(BinaryOp::Div) => (node.inputs[0], node.inputs[1]),
        Op::Binary(BinaryOp::Mul) => {
            let [a, b] = [node.inputs[0], node.inputs[1]];
            match (unary(rw, b, UnaryOp::Reciprocal), unary(rw, a, UnaryOp::Reciprocal)) {
                (Some(s), _) => (a, s),
                (None, Some(s)) => (b, s),
                _ => return None,
            }
        }
        _ => return None,
    };
    let (summed, axes) = reduce_keep(rw, s, ReduceOp::Sum)?;
    if summed != e || axes.len() != 1 {
        return None;
    }
    let d = unary(rw, e, UnaryOp::Exp)?;
    let x = strip_max(rw, d, &axes);
    rw.add(Op::Softmax { axis: axes[0] }, &[x], "softmax").ok()
}

/// `d - log(sum(exp(d)))` with `d = x - max(x)` or `d = x`, and `log(softmax(x))`.
pub fn log_softmax(rw: &mut Rewriter, node: &Node) -> Option<ValueId> {
    if let Op::Unary(UnaryOp::Log) = node.op {
        if let Some(Op::Softmax { axis }) = rw.op(node.inputs[0]).cloned() {
            let x = rw.operands(node.inputs[0])[0];
            return rw.add(Op::LogSoftmax { axis }, &[x], "log_softmax").ok();
        }
        return None;
    }
    let Op::Binary(BinaryOp::Sub) = node.op else { return None };
    let (d, l) = (node.inputs[0], node.inputs[1]);
    let s = unary(rw, l, UnaryOp::Log)?;
    let (e, axes) = reduce_keep(rw, s, ReduceOp::Sum)?;
    if unary(rw, e, UnaryOp::Exp)? != d || axes.len() != 1 {
        return None;
    }
    let x = strip_max(rw, d, &axes);
    rw.add(Op::LogSoftmax { axis: axes[0] }, &[x], "log_softmax").ok()
}
