//! Constant folding: a node whose operands are all constants is evaluated
//! with the reference backend and becomes a constant. Results much larger
//! than their operands (an expand of a scalar) are left unfolded, so that
//! folding never inflates the weights.
//!
//! A value with no elements is a constant too: its type is all there is to
//! know. So a result with no elements folds whatever its operands, and an
//! operand with no elements counts as constant (a sum over an empty axis is
//! the reduction's identity, as the reference computes it). Kernels then
//! never see an empty tensor they would have to write or reduce.

use super::rewrite::rewrite;
use std::borrow::Cow;
use trnc_ir::{Graph, Op, Tensor, TensorType};

/// Folded results may have at most this many elements more than the sum
/// of their operands.
const GROWTH_ALLOWANCE: usize = 1024;

pub fn fold_constants(g: &mut Graph) -> bool {
    rewrite(g, |rw, node| {
        if matches!(node.op, Op::Const(_)) || node.inputs.is_empty() {
            return None;
        }
        let out_ty = rw.graph.ty(node.output).clone();
        let out_elems = out_ty.num_elements()?;
        if out_elems == 0 {
            let value = empty(&out_ty)?;
            return Some(rw.replace_op(node, Op::Const(std::sync::Arc::new(value)), vec![]));
        }
        let operands: Option<Vec<Cow<Tensor>>> = node
            .inputs
            .iter()
            .map(|&v| match rw.constant(v) {
                Some(t) => Some(Cow::Borrowed(&**t)),
                None => empty(rw.graph.ty(v)).map(Cow::Owned),
            })
            .collect();
        let operands = operands?;
        let in_elems: usize = operands.iter().map(|t| t.len()).sum();
        if out_elems > in_elems + GROWTH_ALLOWANCE {
            return None;
        }
        let operands: Vec<&Tensor> = operands.iter().map(|t| &**t).collect();
        // An op that fails on these constants (an index out of range) is
        // left in place: it fails at run time, where the error belongs.
        let value = trnc_backend_cpu::eval_op(&node.op, &operands, &out_ty).ok()?;
        Some(rw.replace_op(node, Op::Const(std::sync::Arc::new(value)), vec![]))
    })
}

/// The tensor of a type with no elements; `None` for any other type.
fn empty(ty: &TensorType) -> Option<Tensor> {
    let shape = ty.shape().ok()?;
    shape.contains(&0).then(|| Tensor::from_f64(ty.dtype, shape, &[]))
}
