//! Constant folding: a node whose operands are all constants is evaluated
//! with the reference backend and becomes a constant. Results much larger
//! than their operands (an expand of a scalar) are left unfolded, so that
//! folding never inflates the weights.

use super::rewrite::rewrite;
use trnc_ir::{Graph, Op, Tensor};

/// Folded results may have at most this many elements more than the sum
/// of their operands.
const GROWTH_ALLOWANCE: usize = 1024;

pub fn fold_constants(g: &mut Graph) -> bool {
    rewrite(g, |rw, node| {
        if matches!(node.op, Op::Const(_)) || node.inputs.is_empty() {
            return None;
        }
        let operands: Option<Vec<&Tensor>> = node.inputs.iter().map(|&v| rw.constant(v).map(|t| &**t)).collect();
        let operands = operands?;
        let out_ty = rw.graph.ty(node.output).clone();
        let in_elems: usize = operands.iter().map(|t| t.len()).sum();
        if out_ty.num_elements()? > in_elems + GROWTH_ALLOWANCE {
            return None;
        }
        // An op that fails on these constants (an index out of range) is
        // left in place: it fails at run time, where the error belongs.
        let value = trnc_backend_cpu::eval_op(&node.op, &operands, &out_ty).ok()?;
        Some(rw.replace_op(node, Op::Const(std::sync::Arc::new(value)), vec![]))
    })
}
