//! trnc-kernels: lowers one fusion group of the graph IR to one kernel of
//! the kernel IR (`trnc_ir::kernel`), the program of one NeuronCore.
//!
//! Generators, by the group's anchor:
//! - no anchor: elementwise passes (`elementwise.rs`), streamed through SBUF
//!   in chunks, with broadcasts read as stride-0 access patterns;
//! - softmax, log_softmax, layer_norm, rms_norm, reductions: row sections
//!   (`row.rs`, `anchors.rs`) with their elementwise prologue and epilogue;
//! - a view that is itself an output (a copy group): an identity op in an
//!   elementwise pass; concat: `copy.rs`, one streamed copy per operand;
//! - gather: `gather.rs` (needs indirect DMA, not in the kernel IR yet);
//! - matmul: `matmul.rs`; attention: `attention.rs`.
//!
//! Shared machinery: `view.rs` (view chains and broadcasting as strides),
//! `space.rs` (iteration spaces), `section.rs` (what each value is on chip),
//! `body.rs` (the code of one tile), `ops.rs`/`pointwise.rs` (elementwise
//! ops as instructions), `tiling.rs` (tiles with tails, loops) and
//! `builder.rs` (tiles, notes, loops).
//!
//! Architecture invariant: every kernel returned passes
//! `trnc_ir::kernel::verify_kernel` for the target; anything that cannot be
//! lowered is a [`LowerError`] naming the op and node, never a panic.

mod anchors;
mod attention;
mod body;
mod builder;
mod copy;
mod elementwise;
mod epilogue;
mod error;
mod gather;
mod group;
mod lower;
mod matmul;
mod ops;
mod pointwise;
mod row;
mod section;
mod space;
mod tiling;
mod view;

pub use error::LowerError;
pub use matmul::MatmulBlocks;

use group::GroupInfo;
use trnc_ir::kernel::{verify_kernel, Kernel};
use trnc_ir::{DType, Graph, Op, Target, ValueId};

/// What to lower: nodes of `graph` (indices, in graph order) that form one
/// fusion group. `inputs` are the HBM values the kernel reads (the sources
/// behind views: an operand may be a chain of view ops over an input, and
/// the view nodes are not in `nodes`), `outputs` the values it writes.
pub struct GroupSpec<'a> {
    pub graph: &'a Graph,
    pub nodes: &'a [usize],
    pub inputs: &'a [ValueId],
    pub outputs: &'a [ValueId],
    pub name: String,
}

/// Choices the caller makes for every kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LowerOptions {
    /// Feed TensorE (matmul and attention operands) in this dtype, e.g.
    /// bf16: operands are cast when DMA loads them; PSUM still accumulates
    /// in fp32 and results keep their graph dtype (trainium.md §1.3).
    pub matmul_dtype: Option<DType>,
    /// Matmul blocking; `None` picks the largest blocks that fit SBUF.
    pub matmul_blocks: Option<MatmulBlocks>,
    /// Elements per partition an elementwise pass streams per DMA; `None`
    /// takes the longest (8 KiB of f32), which for small tensors fills few
    /// partitions (and DMA queues).
    pub stream_chunk: Option<usize>,
}

/// Lowers one group. The kernel's HBM inputs are `spec.inputs` in order and
/// its outputs `spec.outputs` in order, with the values' dtypes and shapes.
pub fn lower_group(spec: &GroupSpec, target: Target) -> Result<Kernel, LowerError> {
    lower_group_with(spec, target, LowerOptions::default())
}

/// [`lower_group`] with explicit options.
pub fn lower_group_with(spec: &GroupSpec, target: Target, options: LowerOptions) -> Result<Kernel, LowerError> {
    let info = GroupInfo::new(spec)?;
    let g = info.g;
    let first = |pred: &dyn Fn(&Op) -> bool| info.nodes.iter().copied().find(|&i| pred(&g.nodes[i].op));
    let kernel = if first(&|op| matches!(op, Op::MatMul)).is_some() {
        matmul::lower(&info, options.matmul_dtype, options.matmul_blocks, target)?
    } else if first(&|op| matches!(op, Op::Attention { .. })).is_some() {
        attention::lower(&info, options.matmul_dtype, target)?
    } else if first(&|op| matches!(op, Op::Gather { .. })).is_some() {
        gather::lower(&info)?
    } else if let Some(i) = first(&|op| matches!(op, Op::Concat { .. })) {
        copy::lower_concat(&info, target).map_err(|e| if e.node.is_none() { info.node_err(i, e.message) } else { e })?
    } else {
        lower::lower(&info, target, options.stream_chunk)?
    };
    verify_kernel(&kernel, target)
        .map_err(|e| info.group_err(format!("internal error: the generated kernel breaks a hardware rule: {e}")))?;
    Ok(kernel)
}
