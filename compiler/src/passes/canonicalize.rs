//! Canonicalisation: local rewrites to a simpler, unique form.
//!
//! The contract of every rule here (as in Cranelift's mid-end rules):
//! - it never makes the graph slower or bigger;
//! - it preserves results exactly (no reassociation, no approximations;
//!   the one liberty is x + 0.0 → x, which keeps -0.0 where IEEE gives
//!   +0.0), so that it can run anywhere in the pipeline;
//! - it fires only when the result type is unchanged.
//!
//! Layout canon: `squeeze` and `unsqueeze` become `reshape`, so that chains
//! of them collapse into one reshape.

use super::rewrite::{rewrite, Rewriter};
use trnc_ir::{BinaryOp, Graph, Node, Op, UnaryOp, ValueId};

pub fn canonicalize(g: &mut Graph) -> bool {
    let mut changed = false;
    // Rules enable each other (reshape → reshape-of-reshape); iterate to a
    // fixed point, which a handful of sweeps reaches.
    for _ in 0..8 {
        if !rewrite(g, simplify) {
            break;
        }
        changed = true;
    }
    changed
}

/// One node: the value that replaces it, if any rule fires.
fn simplify(rw: &mut Rewriter, node: &Node) -> Option<ValueId> {
    let out_ty = rw.graph.ty(node.output).clone();
    let same_type = |rw: &Rewriter, v: ValueId| *rw.graph.ty(v) == out_ty;
    let x = node.inputs.first().copied();
    match &node.op {
        // x * 1, 1 * x, x + 0, 0 + x, x - 0, x / 1.
        Op::Binary(op) => {
            let (a, b) = (node.inputs[0], node.inputs[1]);
            let pick = match op {
                BinaryOp::Mul if rw.is_splat(b, 1.0) => Some(a),
                BinaryOp::Mul if rw.is_splat(a, 1.0) => Some(b),
                BinaryOp::Div if rw.is_splat(b, 1.0) => Some(a),
                BinaryOp::Add if rw.is_splat(b, 0.0) => Some(a),
                BinaryOp::Add if rw.is_splat(a, 0.0) => Some(b),
                BinaryOp::Sub if rw.is_splat(b, 0.0) => Some(a),
                _ => None,
            };
            pick.filter(|&v| same_type(rw, v))
        }
        Op::Unary(UnaryOp::Neg) => match rw.op(x?) {
            Some(Op::Unary(UnaryOp::Neg)) => rw.operands(x?).first().copied().filter(|&v| same_type(rw, v)),
            _ => None,
        },
        Op::Cast { to, .. } if *to == rw.graph.ty(x?).dtype => x,
        Op::Transpose { perm } => {
            if perm.iter().enumerate().all(|(i, &p)| i == p) {
                return x;
            }
            if let Some(Op::Transpose { perm: inner }) = rw.op(x?) {
                // transpose(transpose(y, inner), perm)[i] = y[inner[perm[i]]]
                let composed: Vec<usize> = perm.iter().map(|&p| inner[p]).collect();
                let y = rw.operands(x?)[0];
                if composed.iter().enumerate().all(|(i, &p)| i == p) {
                    return Some(y);
                }
                return Some(rw.replace_op(node, Op::Transpose { perm: composed }, vec![y]));
            }
            None
        }
        Op::Squeeze { .. } | Op::Unsqueeze { .. } => {
            let shape = out_ty.shape().ok()?;
            Some(rw.replace_op(node, Op::Reshape { shape }, vec![x?]))
        }
        Op::Reshape { shape } => {
            if same_type(rw, x?) {
                return x;
            }
            if let Some(Op::Reshape { .. }) = rw.op(x?) {
                let y = rw.operands(x?)[0];
                return Some(rw.replace_op(node, Op::Reshape { shape: shape.clone() }, vec![y]));
            }
            None
        }
        Op::Expand { .. } if same_type(rw, x?) => x,
        Op::Slice { axes } => {
            let shape = rw.graph.ty(x?).shape().ok()?;
            let whole = |s: &trnc_ir::SliceAxis| s.step == 1 && s.start == 0 && s.end == shape[s.axis] as i64;
            axes.iter().all(whole).then_some(x?)
        }
        Op::Concat { .. } if node.inputs.len() == 1 => x,
        Op::Reduce { axes, .. } if axes.is_empty() => x,
        _ => None,
    }
}
