//! A matmul group as chains: each matmul with the ops after it.

use super::Operand2;
use crate::epilogue::Tail;
use crate::error::LowerError;
use crate::group::{GroupInfo, Source};
use std::collections::HashMap;
use trnc_ir::{Op, ValueId};

/// One matmul of the kernel with the elementwise ops that follow it.
/// Sibling matmuls share their left operand: A is loaded and transposed
/// once for all of them (e.g. the Q, K and V projections).
pub(super) struct Chain {
    pub(super) mm: usize,
    pub(super) epilogue: Vec<usize>,
    pub(super) out_shape: Vec<usize>,
    pub(super) b: Operand2,
    pub(super) n: usize,
    /// (output position, value) of the group's outputs this chain computes.
    pub(super) outputs: Vec<(usize, ValueId)>,
    /// A norm in the epilogue needs whole rows of the result: one column
    /// block spans N, its tiles emptied side by side into one SBUF row.
    pub(super) whole_rows: bool,
}

/// Splits the group into one chain per matmul: every other node must be
/// elementwise, come after its matmul and read on-chip values of one chain
/// only.
impl Chain {
    pub(super) fn tail(&self) -> Tail<'_> {
        Tail { anchor: self.mm, epilogue: &self.epilogue, out_shape: &self.out_shape, outputs: &self.outputs }
    }
}

pub(super) fn chains_of(info: &GroupInfo) -> Result<Vec<(usize, Vec<usize>)>, LowerError> {
    let g = info.g;
    let mut chains: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut chain_of: HashMap<usize, usize> = HashMap::new();
    let mut free = Vec::new();
    for &i in &info.nodes {
        let op = &g.nodes[i].op;
        if matches!(op, Op::MatMul) {
            chain_of.insert(i, chains.len());
            chains.push((i, Vec::new()));
            continue;
        }
        if !op.is_elementwise() && !is_row_norm(info, i) {
            return Err(info.node_err(i, format!("not implemented yet: a {} epilogue after a matmul", op.name())));
        }
        let mut owners = Vec::new();
        for &u in &g.nodes[i].inputs {
            if let Source::Node(j) = info.resolve(i, u)?.source {
                if let Some(&c) = chain_of.get(&j) {
                    if !owners.contains(&c) {
                        owners.push(c);
                    }
                }
            }
        }
        match owners[..] {
            [c] => {
                chain_of.insert(i, c);
                chains[c].1.push(i);
            }
            // Reads no matmul result (gemm's beta · C): computed on each
            // output tile if it broadcasts there, with one matmul only.
            [] => free.push(i),
            _ => return Err(info.node_err(i, "not implemented yet: an op combining two sibling matmuls")),
        }
    }
    if chains.is_empty() {
        return Err(info.group_err("no matmul in the group"));
    }
    if let Some(&i) = free.first() {
        if chains.len() > 1 {
            return Err(info.node_err(i, "not implemented yet: an elementwise op beside sibling matmuls"));
        }
        chains[0].1.extend(free);
        chains[0].1.sort_unstable();
    }
    Ok(chains)
}

/// layer_norm or rms_norm over the last axis only: with whole rows of the
/// matmul's output in SBUF, it runs in the epilogue.
pub(super) fn is_row_norm(info: &GroupInfo, i: usize) -> bool {
    let node = &info.g.nodes[i];
    let rank = info.shape(node.output).len();
    matches!(node.op, Op::LayerNorm { axis, .. } | Op::RmsNorm { axis, .. } if axis + 1 == rank)
}

/// An epilogue op whose result is smaller than the matmul's and broadcasts
/// to it (gemm's beta · C) runs on every output tile at the output's shape,
/// its operands broadcast to the tile: elementwise ops commute with
/// broadcasting. That holds while no view lies between it and the other
/// epilogue ops, and the kernel does not store it at its own shape.
pub(super) fn check_broadcast_epilogue(
    info: &GroupInfo,
    i: usize,
    epilogue: &[usize],
    out_shape: &[usize],
) -> Result<(), LowerError> {
    let g = info.g;
    let shape = info.shape(g.nodes[i].output);
    if trnc_ir::broadcast_shapes(&shape, out_shape).as_deref() != Some(out_shape) {
        return Err(info.node_err(i, "epilogue ops must broadcast to the matmul's output shape"));
    }
    if info.output_pos(g.nodes[i].output).is_some() {
        return Err(info.node_err(i, "not implemented yet: an epilogue result smaller than the matmul's is stored"));
    }
    for &r in epilogue {
        for &u in &g.nodes[r].inputs {
            let read = info.resolve(r, u)?;
            if matches!(read.source, Source::Node(j) if j == i || r == i) && !read.chain.is_empty() {
                return Err(info.node_err(r, "not implemented yet: a view between epilogue ops of different shapes"));
            }
        }
    }
    Ok(())
}
