//! The operations of the graph IR. Each op's exact semantics are those of
//! the reference backend (`backends/cpu`); this file says what they are.
//!
//! Axes are stored non-negative: builders and parsers normalise negative
//! axes against the operand's rank, so every consumer sees one spelling.

use crate::{DType, Tensor};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Abs,
    Exp,
    Log,
    Sqrt,
    /// 1 / sqrt(x)
    Rsqrt,
    Reciprocal,
    Tanh,
    Sigmoid,
    Erf,
    Relu,
    /// x * Φ(x) with Φ from erf, the exact form.
    Gelu,
    /// 0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³))).
    GeluTanh,
    /// x * sigmoid(x)
    Silu,
    Sin,
    Cos,
    Square,
    /// Logical not, on bool.
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// Float division; on integers, truncation toward zero.
    Div,
    /// x^y. On integers exact and wrapping like `mul`; a negative exponent
    /// gives the real power truncated toward zero (0 to a negative power is
    /// an error at run time).
    Pow,
    Max,
    Min,
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinaryOp {
    pub fn is_comparison(self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
    }

    pub fn is_logical(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    Sum,
    Mean,
    Max,
    Min,
}

/// One axis of a slice, already normalised: `0 <= start <= dim` for a
/// positive step; for a negative step `-1 <= end <= start < dim`, where
/// `end = -1` means "through index 0".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SliceAxis {
    pub axis: usize,
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl SliceAxis {
    /// Number of elements the slice selects along its axis.
    pub fn len(&self) -> usize {
        if self.step > 0 {
            ((self.end - self.start).max(0) as u64).div_ceil(self.step as u64) as usize
        } else {
            ((self.start - self.end).max(0) as u64).div_ceil((-self.step) as u64) as usize
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if the fields satisfy the normal form for a dimension of `dim`.
    pub fn is_normalized(&self, dim: usize) -> bool {
        let dim = dim as i64;
        let range = if self.step > 0 { 0..=dim } else { -1..=dim - 1 };
        self.step != 0 && range.contains(&self.start) && range.contains(&self.end)
    }

    /// Normalises `start:end:step` against a dimension of size `dim`, with
    /// the clamping rules of numpy and ONNX Slice.
    pub fn normalize(axis: usize, start: i64, end: i64, step: i64, dim: usize) -> Option<SliceAxis> {
        if step == 0 {
            return None;
        }
        let dim = dim as i64;
        let wrap = |i: i64| if i < 0 { i.saturating_add(dim) } else { i };
        let (start, end) = if step > 0 {
            (wrap(start).clamp(0, dim), wrap(end).clamp(0, dim))
        } else {
            (wrap(start).clamp(-1, dim - 1), wrap(end).clamp(-1, dim - 1))
        };
        Some(SliceAxis { axis, start, end, step })
    }
}

/// A graph operation with its attributes.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A constant; the data is shared, so cloning a graph is cheap.
    Const(Arc<Tensor>),
    Unary(UnaryOp),
    /// x if x >= 0 else alpha * x.
    LeakyRelu {
        alpha: f64,
    },
    /// Elementwise with numpy broadcasting. Arithmetic ops need equal
    /// dtypes; comparisons give bool; and/or take bool.
    Binary(BinaryOp),
    /// where(cond, a, b), broadcasting all three.
    Where,
    /// Conversion, rounding to nearest even for float targets and truncating
    /// toward zero (saturating, NaN → 0) from floats to integers; integer
    /// to narrower integer wraps, as numpy and ONNX Runtime do. `saturate`
    /// clamps fp8 targets to their finite range (ONNX Cast's attribute).
    Cast {
        to: DType,
        saturate: bool,
    },
    /// clamp(x, min, max); NaN stays NaN.
    Clip {
        min: Option<f64>,
        max: Option<f64>,
    },
    /// numpy.matmul: 1-D operands are promoted and the added axis removed,
    /// batch dimensions broadcast; accumulation in f64.
    MatMul,
    /// Reduction over `axes` (sorted, distinct; empty means identity).
    Reduce {
        op: ReduceOp,
        axes: Vec<usize>,
        keep_dims: bool,
    },
    /// exp(x - max) / sum(exp(x - max)) along `axis`.
    Softmax {
        axis: usize,
    },
    /// x - max - log(sum(exp(x - max))) along `axis`.
    LogSoftmax {
        axis: usize,
    },
    /// Normalises over the axes `axis..rank` (ONNX LayerNormalization):
    /// (x - mean) / sqrt(var + epsilon) * scale + bias, population variance.
    /// Operands: x, then optional scale and bias (bias only with scale).
    LayerNorm {
        axis: usize,
        epsilon: f64,
    },
    /// x / sqrt(mean(x²) + epsilon) * scale over the axes `axis..rank`.
    /// Operands: x, then an optional scale.
    RmsNorm {
        axis: usize,
        epsilon: f64,
    },
    /// Output axis i is input axis perm[i].
    Transpose {
        perm: Vec<usize>,
    },
    Reshape {
        shape: Vec<usize>,
    },
    /// Numpy broadcast of the operand to `shape` (the result shape is the
    /// broadcast of both, as in ONNX Expand).
    Expand {
        shape: Vec<usize>,
    },
    /// Removes the listed size-1 axes (sorted).
    Squeeze {
        axes: Vec<usize>,
    },
    /// Inserts size-1 axes at the listed output positions (sorted).
    Unsqueeze {
        axes: Vec<usize>,
    },
    /// Strided slice along the listed axes; other axes are kept whole.
    Slice {
        axes: Vec<SliceAxis>,
    },
    Concat {
        axis: usize,
    },
    /// Scaled-dot-product attention: softmax(q·kᵀ·scale + mask)·v, with the
    /// softmax over the last axis. Operands q [.., Sq, D], k [.., Sk, D],
    /// v [.., Sk, Dv] (batch dimensions broadcast) and an optional additive
    /// mask broadcastable to [.., Sq, Sk]. With `causal`, key j is hidden
    /// from query i when j > i. Computed in f64 and rounded once.
    Attention {
        scale: f64,
        causal: bool,
    },
    /// numpy.take(data, indices, axis): the indices' shape replaces `axis`.
    /// Negative indices count from the end; out-of-range ones are an error
    /// at run time.
    Gather {
        axis: usize,
    },
}

impl UnaryOp {
    pub const ALL: [UnaryOp; 18] = [
        UnaryOp::Neg,
        UnaryOp::Abs,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Rsqrt,
        UnaryOp::Reciprocal,
        UnaryOp::Tanh,
        UnaryOp::Sigmoid,
        UnaryOp::Erf,
        UnaryOp::Relu,
        UnaryOp::Gelu,
        UnaryOp::GeluTanh,
        UnaryOp::Silu,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Square,
        UnaryOp::Not,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Abs => "abs",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Rsqrt => "rsqrt",
            UnaryOp::Reciprocal => "reciprocal",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Erf => "erf",
            UnaryOp::Relu => "relu",
            UnaryOp::Gelu => "gelu",
            // Printed as `gelu {approx = "tanh"}`, the spelling of ONNX Gelu.
            UnaryOp::GeluTanh => "gelu",
            UnaryOp::Silu => "silu",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Square => "square",
            UnaryOp::Not => "not",
        }
    }
}

impl BinaryOp {
    pub const ALL: [BinaryOp; 14] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Eq,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::And,
        BinaryOp::Or,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Max => "max",
            BinaryOp::Min => "min",
            BinaryOp::Eq => "eq",
            BinaryOp::Lt => "lt",
            BinaryOp::Le => "le",
            BinaryOp::Gt => "gt",
            BinaryOp::Ge => "ge",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
        }
    }
}

impl ReduceOp {
    pub const ALL: [ReduceOp; 4] = [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min];

    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "reduce_sum",
            ReduceOp::Mean => "reduce_mean",
            ReduceOp::Max => "reduce_max",
            ReduceOp::Min => "reduce_min",
        }
    }
}

impl Op {
    /// The op's name in the text format.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Const(_) => "const",
            Op::Unary(u) => u.name(),
            Op::LeakyRelu { .. } => "leaky_relu",
            Op::Binary(b) => b.name(),
            Op::Where => "where",
            Op::Cast { .. } => "cast",
            Op::Clip { .. } => "clip",
            Op::MatMul => "matmul",
            Op::Reduce { op, .. } => op.name(),
            Op::Softmax { .. } => "softmax",
            Op::LogSoftmax { .. } => "log_softmax",
            Op::LayerNorm { .. } => "layer_norm",
            Op::RmsNorm { .. } => "rms_norm",
            Op::Transpose { .. } => "transpose",
            Op::Reshape { .. } => "reshape",
            Op::Expand { .. } => "expand",
            Op::Squeeze { .. } => "squeeze",
            Op::Unsqueeze { .. } => "unsqueeze",
            Op::Slice { .. } => "slice",
            Op::Concat { .. } => "concat",
            Op::Gather { .. } => "gather",
            Op::Attention { .. } => "attention",
        }
    }

    /// Accepted operand counts (inclusive range).
    pub fn arity(&self) -> (usize, usize) {
        match self {
            Op::Const(_) => (0, 0),
            Op::Binary(_) | Op::MatMul | Op::Gather { .. } => (2, 2),
            Op::Where => (3, 3),
            Op::Attention { .. } => (3, 4),
            Op::LayerNorm { .. } => (1, 3),
            Op::RmsNorm { .. } => (1, 2),
            Op::Concat { .. } => (1, usize::MAX),
            _ => (1, 1),
        }
    }

    /// True for ops that only move or reinterpret data.
    pub fn is_layout(&self) -> bool {
        matches!(
            self,
            Op::Transpose { .. }
                | Op::Reshape { .. }
                | Op::Expand { .. }
                | Op::Squeeze { .. }
                | Op::Unsqueeze { .. }
                | Op::Slice { .. }
                | Op::Concat { .. }
                | Op::Gather { .. }
        )
    }

    /// True for layout ops a consumer can read through with a strided access
    /// pattern (no data of their own): reshape, transpose, squeeze,
    /// unsqueeze, expand, slice.
    pub fn is_view(&self) -> bool {
        matches!(
            self,
            Op::Reshape { .. }
                | Op::Transpose { .. }
                | Op::Squeeze { .. }
                | Op::Unsqueeze { .. }
                | Op::Expand { .. }
                | Op::Slice { .. }
        )
    }

    /// True for ops whose every output element depends only on the operand
    /// elements at the same (broadcast) position.
    pub fn is_elementwise(&self) -> bool {
        matches!(
            self,
            Op::Unary(_) | Op::LeakyRelu { .. } | Op::Binary(_) | Op::Where | Op::Cast { .. } | Op::Clip { .. }
        )
    }
}
