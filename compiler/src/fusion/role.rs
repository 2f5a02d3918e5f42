//! What each op is to the fusion planner: free to read through (views),
//! streamable (elementwise), or the anchor that gives a kernel its shape.

use trnc_ir::{Graph, Node, Op};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Anchor {
    /// matmul, tiled over M/N/K with K accumulated in PSUM.
    MatMul,
    /// Softmax, norms and reductions over the trailing axes: rows on
    /// partitions, the reduced axes on the free axis, a whole row resident.
    Row,
    /// A reduction over leading axes (across partitions): its result is
    /// complete only at the end of the kernel.
    Reduce,
    /// Scaled-dot-product attention, flash-style.
    Attention,
    /// Embedding lookup: rows of a table gathered by index.
    Gather,
    /// Data movement that is not a view: concat.
    Copy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Constants live in HBM; they are inputs, not kernels.
    Const,
    /// Reshape, transpose, squeeze, unsqueeze, expand, slice: the consumer
    /// reads through them with a DMA access pattern.
    View,
    Elementwise,
    Anchor(Anchor),
}

pub fn role(g: &Graph, n: &Node) -> Role {
    let rank = |i: usize| g.ty(n.inputs[i]).rank();
    match &n.op {
        Op::Const(_) => Role::Const,
        op if op.is_view() => Role::View,
        op if op.is_elementwise() => Role::Elementwise,
        Op::MatMul => Role::Anchor(Anchor::MatMul),
        Op::Softmax { axis } | Op::LogSoftmax { axis } if *axis + 1 == rank(0) => Role::Anchor(Anchor::Row),
        Op::LayerNorm { .. } | Op::RmsNorm { .. } => Role::Anchor(Anchor::Row),
        Op::Reduce { axes, .. } if is_trailing(axes, rank(0)) => Role::Anchor(Anchor::Row),
        Op::Softmax { .. } | Op::LogSoftmax { .. } | Op::Reduce { .. } => Role::Anchor(Anchor::Reduce),
        Op::Gather { .. } => Role::Anchor(Anchor::Gather),
        Op::Attention { .. } => Role::Anchor(Anchor::Attention),
        Op::Concat { .. } => Role::Anchor(Anchor::Copy),
        _ => Role::Anchor(Anchor::Copy),
    }
}

/// True if `axes` is a non-empty suffix `k..rank`.
pub fn is_trailing(axes: &[usize], rank: usize) -> bool {
    axes.first().is_some_and(|&k| axes.iter().copied().eq(k..rank))
}

/// For a row anchor, the first reduced axis: rows are the axes before it.
pub fn row_axis(g: &Graph, n: &Node) -> Option<usize> {
    match &n.op {
        Op::Softmax { axis } | Op::LogSoftmax { axis } | Op::LayerNorm { axis, .. } | Op::RmsNorm { axis, .. } => {
            Some(*axis)
        }
        Op::Reduce { axes, .. } if is_trailing(axes, g.ty(n.inputs[0]).rank()) => axes.first().copied(),
        _ => None,
    }
}
