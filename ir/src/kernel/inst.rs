//! Instructions, one per NKI ISA call trnc emits (nki-api.md §4–§5).

use super::access::{HbmAccess, Operand, TileAccess};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Engine {
    /// TensorE: the 128×128 systolic array (matmul, transpose).
    Tensor,
    /// VectorE.
    Vector,
    /// ScalarE (activation functions).
    Scalar,
    /// GpSimdE (iota, affine_select).
    GpSimd,
    /// The DMA queues.
    Dma,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Tensor => "tensor",
            Engine::Vector => "vector",
            Engine::Scalar => "scalar",
            Engine::GpSimd => "gpsimd",
            Engine::Dma => "dma",
        }
    }
}

/// ALU operators of tensor_tensor, tensor_scalar and tensor_reduce
/// (nki-api.md §6). There is no divide: kernels multiply by a reciprocal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    Add,
    Subtract,
    Multiply,
    Maximum,
    Minimum,
    Equal,
    NotEqual,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    LogicalAnd,
    LogicalOr,
    /// x ** y (GpSimd; no PSUM operands).
    Power,
    /// Unary, in tensor_scalar's op0 with operand 0.
    Abs,
    /// Unary, in tensor_scalar's op0 with operand 0 (GpSimd).
    Rsqrt,
    /// Unary, in tensor_scalar's op0 with operand 0.
    Reciprocal,
}

impl AluOp {
    /// The `nl.` name.
    pub fn nki_name(self) -> &'static str {
        match self {
            AluOp::Add => "add",
            AluOp::Subtract => "subtract",
            AluOp::Multiply => "multiply",
            AluOp::Maximum => "maximum",
            AluOp::Minimum => "minimum",
            AluOp::Equal => "equal",
            AluOp::NotEqual => "not_equal",
            AluOp::Greater => "greater",
            AluOp::GreaterEqual => "greater_equal",
            AluOp::Less => "less",
            AluOp::LessEqual => "less_equal",
            AluOp::LogicalAnd => "logical_and",
            AluOp::LogicalOr => "logical_or",
            AluOp::Power => "power",
            AluOp::Abs => "abs",
            AluOp::Rsqrt => "rsqrt",
            AluOp::Reciprocal => "reciprocal",
        }
    }

    /// Legal in tensor_reduce ("Y" under legal reduction, nki-api.md §6).
    pub fn reduces(self) -> bool {
        matches!(
            self,
            AluOp::Add | AluOp::Multiply | AluOp::Maximum | AluOp::Minimum | AluOp::LogicalAnd | AluOp::LogicalOr
        )
    }

    pub fn is_unary(self) -> bool {
        matches!(self, AluOp::Abs | AluOp::Rsqrt | AluOp::Reciprocal)
    }
}

/// Scalar Engine activation functions (nki-api.md §6), applied as
/// `f(x * scale + bias)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActFunc {
    /// Identity (`nl.copy`).
    Copy,
    Exp,
    /// Valid on [2^-64, 2^64].
    Log,
    Tanh,
    Sigmoid,
    Relu,
    /// Exact (erf) GELU.
    Gelu,
    /// `nl.gelu_apprx_tanh`.
    GeluTanh,
    Silu,
    Erf,
    /// Valid on [2^-116, 2^118].
    Sqrt,
    /// Valid on [2^-87, 2^97].
    Rsqrt,
    /// Valid on ±[2^-42, 2^42].
    Reciprocal,
    Square,
    Abs,
    /// Valid on [-π, π]: no range reduction.
    Sin,
}

impl ActFunc {
    pub fn nki_name(self) -> &'static str {
        match self {
            ActFunc::Copy => "copy",
            ActFunc::Exp => "exp",
            ActFunc::Log => "log",
            ActFunc::Tanh => "tanh",
            ActFunc::Sigmoid => "sigmoid",
            ActFunc::Relu => "relu",
            ActFunc::Gelu => "gelu",
            ActFunc::GeluTanh => "gelu_apprx_tanh",
            ActFunc::Silu => "silu",
            ActFunc::Erf => "erf",
            ActFunc::Sqrt => "sqrt",
            ActFunc::Rsqrt => "rsqrt",
            ActFunc::Reciprocal => "reciprocal",
            ActFunc::Square => "square",
            ActFunc::Abs => "abs",
            ActFunc::Sin => "sin",
        }
    }
}

/// A per-partition operand: a compile-time number, or a `(P, 1)` tile
/// region broadcast along the free axis.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarOperand {
    Imm(f64),
    PerPartition(TileAccess),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Accumulate {
    /// The first matmul of a K loop: PSUM is overwritten.
    Overwrite,
    /// Later K steps: the product is added to PSUM (fp32).
    Add,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Inst {
    /// HBM ↔ SBUF (and SBUF → SBUF); never PSUM. Same element count on
    /// both sides; a dtype change is a cast (trainium.md §1.5–1.6).
    DmaCopy {
        dst: Operand,
        src: Operand,
    },
    /// Indirect DMA, an embedding lookup: for every partition p of `dst`,
    /// `dst[p, ..]` = row `index[p]` of `table`, where row r is the window
    /// `table.offset + r * row_stride` with `table.pattern` (one row's free
    /// dimensions). `index` is a (P, 1) i32 column in SBUF; an index outside
    /// `0..rows` is an error (NKI: `dma_copy` from `.ap(vector_offset=index,
    /// indirect_dim=0)`, oob_mode=error, nki-api.md §3; Trn2 SWDGE gathers,
    /// trainium.md §1.6).
    DmaGather {
        dst: TileAccess,
        table: HbmAccess,
        row_stride: i64,
        rows: usize,
        index: TileAccess,
    },
    /// `dst[M, N] (+)= stationary[K, M]ᵀ · moving[K, N]`: K ≤ 128 on the
    /// partitions of both inputs (SBUF), M ≤ 128, N ≤ 512; dst in PSUM, fp32.
    Matmul {
        dst: TileAccess,
        stationary: TileAccess,
        moving: TileAccess,
        accumulate: Accumulate,
    },
    /// Partition ↔ free: `dst[f, p] = src[p, f]`. TensorE: src SBUF ≤
    /// [128, 128], dst PSUM. VectorE: ≤ [32, 32].
    Transpose {
        dst: TileAccess,
        src: TileAccess,
        engine: Engine,
    },
    /// `dst = a op b`, same shape, no broadcasting; not both in PSUM.
    TensorTensor {
        dst: TileAccess,
        a: TileAccess,
        b: TileAccess,
        op: AluOp,
    },
    /// `dst = (src op0 operand0) op1 operand1` (`reverse` swaps operands).
    TensorScalar {
        dst: TileAccess,
        src: TileAccess,
        op0: AluOp,
        operand0: ScalarOperand,
        reverse0: bool,
        op1: Option<(AluOp, ScalarOperand, bool)>,
        engine: Engine,
    },
    /// Reduces the last `axes` free dimensions (never the partitions).
    TensorReduce {
        dst: TileAccess,
        src: TileAccess,
        op: AluOp,
        axes: Vec<usize>,
        negate: bool,
    },
    /// `dst = func(src * scale + bias)` on ScalarE; `reduce` receives the
    /// free-axis sum of the results, `(P, 1)`.
    Activation {
        dst: TileAccess,
        src: TileAccess,
        func: ActFunc,
        scale: ScalarOperand,
        bias: Option<TileAccess>,
        reduce: Option<TileAccess>,
    },
    /// On-chip copy (with a dtype cast) between SBUF/PSUM regions of the same
    /// shape, on VectorE or ScalarE.
    TensorCopy {
        dst: TileAccess,
        src: TileAccess,
        engine: Engine,
    },
    Memset {
        dst: TileAccess,
        value: f64,
    },
    /// `dst[p, i..] = offset + p * channel_multiplier + Σ i_d * step_d`.
    Iota {
        dst: TileAccess,
        pattern: Vec<(i64, usize)>,
        offset: i64,
        channel_multiplier: i64,
    },
    /// `dst = cmp(offset + p * channel_multiplier + Σ i_d * step_d, 0) ?
    /// src : on_false` (causal masks).
    AffineSelect {
        dst: TileAccess,
        src: TileAccess,
        pattern: Vec<(i64, usize)>,
        channel_multiplier: i64,
        offset: i64,
        cmp: AluOp,
        on_false: f64,
    },
    /// Per partition, (count, mean, variance·count) of even and odd
    /// elements: dst `(P, 6)`; src free size ≤ 512.
    BnStats {
        dst: TileAccess,
        src: TileAccess,
    },
    /// Aggregates bn_stats groups: dst `(P, 2)` = (mean, variance).
    BnAggr {
        dst: TileAccess,
        src: TileAccess,
    },
}

impl Inst {
    /// The engine that runs the instruction.
    pub fn engine(&self) -> Engine {
        match self {
            Inst::DmaCopy { .. } | Inst::DmaGather { .. } => Engine::Dma,
            Inst::Matmul { .. } => Engine::Tensor,
            Inst::Transpose { engine, .. } | Inst::TensorCopy { engine, .. } | Inst::TensorScalar { engine, .. } => {
                *engine
            }
            Inst::Activation { .. } => Engine::Scalar,
            Inst::TensorTensor { op: AluOp::Power, .. } => Engine::GpSimd,
            Inst::TensorTensor { .. }
            | Inst::TensorReduce { .. }
            | Inst::Memset { .. }
            | Inst::BnStats { .. }
            | Inst::BnAggr { .. } => Engine::Vector,
            Inst::Iota { .. } | Inst::AffineSelect { .. } => Engine::GpSimd,
        }
    }

    /// The NKI ISA function name.
    pub fn nki_name(&self) -> &'static str {
        match self {
            Inst::DmaCopy { .. } | Inst::DmaGather { .. } => "dma_copy",
            Inst::Matmul { .. } => "nc_matmul",
            Inst::Transpose { .. } => "nc_transpose",
            Inst::TensorTensor { .. } => "tensor_tensor",
            Inst::TensorScalar { .. } => "tensor_scalar",
            Inst::TensorReduce { .. } => "tensor_reduce",
            Inst::Activation { .. } => "activation",
            Inst::TensorCopy { .. } => "tensor_copy",
            Inst::Memset { .. } => "memset",
            Inst::Iota { .. } => "iota",
            Inst::AffineSelect { .. } => "affine_select",
            Inst::BnStats { .. } => "bn_stats",
            Inst::BnAggr { .. } => "bn_aggr",
        }
    }

    /// The region the instruction writes.
    pub fn dst(&self) -> Option<&TileAccess> {
        match self {
            Inst::DmaCopy { dst: Operand::Tile(t), .. } => Some(t),
            Inst::DmaCopy { .. } => None,
            Inst::DmaGather { dst, .. }
            | Inst::Matmul { dst, .. }
            | Inst::Transpose { dst, .. }
            | Inst::TensorTensor { dst, .. }
            | Inst::TensorScalar { dst, .. }
            | Inst::TensorReduce { dst, .. }
            | Inst::Activation { dst, .. }
            | Inst::TensorCopy { dst, .. }
            | Inst::Memset { dst, .. }
            | Inst::Iota { dst, .. }
            | Inst::AffineSelect { dst, .. }
            | Inst::BnStats { dst, .. }
            | Inst::BnAggr { dst, .. } => Some(dst),
        }
    }
}
