//! Embedding lookups: rows of a 2-D table gathered by i32 indices, with an
//! elementwise epilogue (position add) and an optional layer_norm.
//!
//! Not lowered yet: the kernel IR has no indirect DMA. The smallest
//! addition that makes it possible (the lead owns `ir/src/kernel`):
//!
//! ```text
//! /// dst[p, :] = table[idx[p], :] for p < dst.partitions: one row of the
//! /// table per partition, the row picked by an i32 in SBUF (NKI: dma_copy
//! /// with an `.ap(vector_offset=idx, indirect_dim=0)` source, nki-api.md
//! /// §3; Trn2 SWDGE gathers, trainium.md §1.6). Rows past the table are
//! /// an error (oob_mode=error).
//! Inst::DmaGather { dst: TileAccess, table: HbmId, row: Vec<(i64, usize)>, index: TileAccess }
//! ```
//!
//! With it, a gather group is a row section whose input tile comes from
//! `DmaGather` instead of `DmaCopy`: 128 indices per tile (loaded as a
//! `(P, 1)` i32 column), the gathered rows `[P, D]` on the free axis, then
//! the position add and layer_norm exactly as `row.rs` emits them.

use crate::error::LowerError;
use crate::group::GroupInfo;

pub(crate) fn lower(info: &GroupInfo) -> Result<trnc_ir::kernel::Kernel, LowerError> {
    let at = info.nodes.iter().copied().find(|&i| matches!(info.g.nodes[i].op, trnc_ir::Op::Gather { .. }));
    let msg = "gather needs indirect DMA, which the kernel IR does not have yet (see kernels/src/gather.rs for the proposed Inst::DmaGather)";
    Err(match at {
        Some(i) => info.node_err(i, msg),
        None => info.group_err(msg),
    })
}
