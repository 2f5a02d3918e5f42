//! Scaled-dot-product attention: `softmax(q·kᵀ·scale + mask)·v`.
//!
//! Spellings: the scale as a multiplication or a division by a scalar (or
//! absent); the mask added (additive) or applied with `where(keep, s, fill)`
//! (boolean), or absent. A constant boolean mask that hides exactly the
//! keys after each query becomes `causal = true`, so kernels generate it
//! instead of reading it. Heads split by reshape/transpose stay outside the
//! op as views.

use super::matchers::{binary, either_order, scalar_attr};
use crate::passes::rewrite::Rewriter;
use std::sync::Arc;
use trnc_ir::{BinaryOp, Node, Op, Tensor, ValueId};

/// `s = sc * c`, `c * sc` or `sc / c` with a scalar constant → (sc, scale).
fn scaled(rw: &Rewriter, s: ValueId) -> (ValueId, f64) {
    if let Some((sc, c)) = binary(rw, s, BinaryOp::Div) {
        if let Some(c) = scalar_attr(rw, c).filter(|c| *c != 0.0) {
            // The reciprocal, written as the shortest decimal of the scores'
            // dtype (1 / 2.828427 reads 0.3535534).
            let r = 1.0 / c;
            let r = match rw.graph.ty(s).dtype {
                trnc_ir::DType::F32 => format!("{:?}", r as f32).parse().unwrap_or(r),
                _ => r,
            };
            return (sc, r);
        }
    }
    either_order(rw, s, BinaryOp::Mul, |sc, c| scalar_attr(rw, c).map(|c| (sc, c))).unwrap_or((s, 1.0))
}

/// `t` = scores with a mask → (scores, mask). `where` masks with constant
/// operands become an additive constant: where(keep, s, fill) equals
/// s + where(keep, 0, fill) for every finite s when fill is -inf or a float
/// far below any score (exporters use the dtype's lowest value).
fn masked(rw: &mut Rewriter, t: ValueId) -> (ValueId, Option<ValueId>) {
    if let Some(Op::Where) = rw.op(t) {
        let [keep, s, fill] = [rw.operands(t)[0], rw.operands(t)[1], rw.operands(t)[2]];
        if let (Some(keep_t), Some(fill_v)) = (rw.constant(keep).cloned(), rw.scalar(fill)) {
            if fill_v <= -1e30 {
                let dtype = rw.graph.ty(s).dtype;
                let values: Vec<f64> =
                    keep_t.to_f64_vec().iter().map(|&k| if k != 0.0 { 0.0 } else { fill_v }).collect();
                let mask = Tensor::from_f64(dtype, keep_t.shape().to_vec(), &values);
                return (s, Some(rw.add_const("mask", mask)));
            }
        }
        return (t, None);
    }
    // An additive mask: of the two addends, the scores are the matmul.
    let is_scores = |rw: &Rewriter, v: ValueId| {
        let base = scaled(rw, v).0;
        matches!(rw.op(base), Some(Op::MatMul))
    };
    match binary(rw, t, BinaryOp::Add) {
        Some((a, m)) if is_scores(rw, a) => (a, Some(m)),
        Some((m, a)) if is_scores(rw, a) => (a, Some(m)),
        _ => (t, None),
    }
}

/// True if `mask` is a constant hiding exactly the keys j > i of every
/// query i (0 elsewhere), identically for every batch.
fn is_causal(mask: &Tensor) -> bool {
    let s = mask.shape();
    if s.len() < 2 || s[..s.len() - 2].iter().any(|&d| d != 1) || s[s.len() - 1] != s[s.len() - 2] {
        return false;
    }
    let n = s[s.len() - 1];
    (0..n * n).all(|k| {
        let (i, j) = (k / n, k % n);
        let m = mask.get_f64(k);
        if j > i {
            m <= -1e30
        } else {
            m == 0.0
        }
    })
}

pub fn attention(rw: &mut Rewriter, node: &Node) -> Option<ValueId> {
    let Op::MatMul = node.op else { return None };
    let (p, v) = (node.inputs[0], node.inputs[1]);
    let Some(Op::Softmax { axis }) = rw.op(p).cloned() else { return None };
    let t = rw.operands(p)[0];
    if axis + 1 != rw.graph.ty(t).rank() || rw.graph.ty(v).rank() < 2 {
        return None;
    }
    let (s, mask) = masked(rw, t);
    let (sc, scale) = scaled(rw, s);
    let Some(Op::MatMul) = rw.op(sc) else { return None };
    let (q, kt) = (rw.operands(sc)[0], rw.operands(sc)[1]);
    let rank = rw.graph.ty(kt).rank();
    if rw.graph.ty(q).rank() < 2 || rank < 2 {
        return None;
    }
    let mut perm: Vec<usize> = (0..rank).collect();
    perm.swap(rank - 2, rank - 1);
    let k = rw.add(Op::Transpose { perm }, &[kt], "k").ok()?;
    let mut inputs = vec![q, k, v];
    let mut causal = false;
    if let Some(m) = mask {
        match rw.constant(m).map(Arc::clone) {
            Some(t) if is_causal(&t) => causal = true,
            _ => inputs.push(m),
        }
    }
    rw.add(Op::Attention { scale, causal }, &inputs, "attention").ok()
}
