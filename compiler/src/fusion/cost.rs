//! What a group costs: HBM bytes in and out, and an estimate of the SBUF
//! bytes per partition its live tiles need (figures: ../shared/trainium.md
//! §1.1 for SBUF, §1.3 for matmul tiles). The estimate is deliberately
//! simple and conservative; `kernels/` sizes the real tiles.

use super::plan::Planner;
use super::role::{row_axis, Anchor, Role};
use super::{Group, GroupKind};
use trnc_ir::target::{MATMUL_MOVING_FREE, MATMUL_STATIONARY_FREE, PARTITIONS};
use trnc_ir::{Graph, ValueId};

/// Engines compute in fp32 (trainium.md §1.4), so on-chip tiles are
/// costed at 4 bytes per element whatever the HBM dtype.
const ONCHIP_ELEMENT_BYTES: usize = 4;
/// Elementwise kernels stream rows in chunks of this many elements per
/// partition (2 KiB+ per partition keeps DMA efficient, §1.6).
const STREAM_CHUNK: usize = 2048;

pub fn value_bytes(g: &Graph, v: ValueId) -> u64 {
    let t = g.ty(v);
    (t.num_elements().unwrap_or(0) * t.dtype.size_bytes()) as u64
}

/// External inputs of a set of nodes: the sources (behind views) of the
/// values they read that none of them produces, in first-use order.
pub(super) fn external_inputs(p: &Planner, nodes: &[usize]) -> Vec<ValueId> {
    let mut out = Vec::new();
    for &i in nodes {
        for &u in &p.g.nodes[i].inputs {
            let s = p.source(u);
            let inside = p.producer[s.index()].is_some_and(|j| nodes.binary_search(&j).is_ok());
            if !inside && !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Values produced by `nodes` that something outside reads, or that are
/// graph outputs.
pub(super) fn external_outputs(p: &Planner, nodes: &[usize]) -> Vec<ValueId> {
    nodes
        .iter()
        .map(|&i| p.g.nodes[i].output)
        .filter(|v| p.is_output[v.index()] || p.readers[v.index()].iter().any(|r| nodes.binary_search(r).is_err()))
        .collect()
}

/// SBUF bytes per partition for a kernel made of `nodes`.
pub(super) fn sbuf_estimate(p: &Planner, nodes: &[usize]) -> usize {
    let g = p.g;
    let anchors = p.anchors(nodes);
    let inputs = external_inputs(p, nodes).len();
    let shape_elems = |v: ValueId| g.ty(v).num_elements().unwrap_or(0);
    // A whole row resident for each row anchor: the row length in elements.
    let row_len = anchors
        .iter()
        .filter(|(a, _)| *a == Anchor::Row)
        .filter_map(|&(_, i)| {
            let shape = g.ty(g.nodes[i].inputs[0]).shape().ok()?;
            Some(shape[row_axis(g, &g.nodes[i])?..].iter().product::<usize>())
        })
        .max();
    let heavy = anchors.iter().find(|(a, _)| *a != Anchor::Row);
    let elems = match heavy {
        Some(&(Anchor::MatMul, _)) => {
            // Per matmul: K tiles of the moving block [128, 512] and of the
            // stationary block [128, 128], plus one output tile per
            // epilogue operand; a row epilogue keeps full output rows.
            let per_matmul: usize = anchors
                .iter()
                .filter(|(a, _)| *a == Anchor::MatMul)
                .map(|&(_, i)| {
                    let a_shape = g.ty(g.nodes[i].inputs[0]).shape().unwrap_or_default();
                    let k = a_shape.last().copied().unwrap_or(1);
                    k.div_ceil(PARTITIONS) * (MATMUL_MOVING_FREE + MATMUL_STATIONARY_FREE)
                })
                .sum();
            let out_cols = anchors
                .iter()
                .map(|&(_, i)| g.ty(g.nodes[i].output).shape().unwrap_or_default().last().copied().unwrap_or(1))
                .max()
                .unwrap_or(1);
            per_matmul + inputs * MATMUL_MOVING_FREE.min(out_cols) + row_len.map_or(0, |n| 3 * n)
        }
        Some(&(Anchor::Attention, i)) => {
            let d = g.ty(g.nodes[i].inputs[0]).shape().unwrap_or_default().last().copied().unwrap_or(1);
            3 * d + 3 * MATMUL_MOVING_FREE
        }
        Some(&(Anchor::Gather, i)) => {
            let row = g.ty(g.nodes[i].output).shape().unwrap_or_default().last().copied().unwrap_or(1);
            (inputs + 2) * row_len.unwrap_or(row)
        }
        Some(&(Anchor::Reduce | Anchor::Copy, _)) | None => match row_len {
            Some(n) => (inputs + 2) * n,
            None => {
                let largest = nodes.iter().map(|&i| shape_elems(g.nodes[i].output)).max().unwrap_or(0);
                (inputs + 2) * STREAM_CHUNK.min(largest.div_ceil(PARTITIONS).max(1))
            }
        },
        Some(&(Anchor::Row, _)) => unreachable!("row anchors are not heavy"),
    };
    elems * ONCHIP_ELEMENT_BYTES
}

pub(super) fn describe_group(p: &Planner, id: usize, nodes: &[usize]) -> Group {
    let g = p.g;
    let inputs = external_inputs(p, nodes);
    let outputs = external_outputs(p, nodes);
    let anchors = p.anchors(nodes);
    let kind = match anchors.iter().find(|(a, _)| *a != Anchor::Row) {
        Some((Anchor::MatMul, _)) if anchors.iter().filter(|(a, _)| *a == Anchor::MatMul).count() > 1 => {
            GroupKind::SiblingMatMul
        }
        Some((Anchor::MatMul, _)) => GroupKind::MatMul,
        Some((Anchor::Attention, _)) => GroupKind::Attention,
        Some((Anchor::Gather, _)) => GroupKind::Gather,
        Some((Anchor::Reduce, _)) => GroupKind::Reduce,
        Some((Anchor::Copy, _)) => GroupKind::Copy,
        Some((Anchor::Row, _)) => unreachable!("filtered"),
        None if anchors.is_empty() => GroupKind::Elementwise,
        None => GroupKind::Row,
    };
    let unfused_read = nodes.iter().flat_map(|&i| g.nodes[i].inputs.iter()).map(|&u| value_bytes(g, u)).sum();
    let unfused_write = nodes.iter().map(|&i| value_bytes(g, g.nodes[i].output)).sum();
    debug_assert!(nodes.iter().all(|&i| !matches!(p.roles[i], Role::Const | Role::View)));
    Group {
        id,
        kind,
        nodes: nodes.to_vec(),
        hbm_read: inputs.iter().map(|&v| value_bytes(g, v)).sum(),
        hbm_write: outputs.iter().map(|&v| value_bytes(g, v)).sum(),
        inputs,
        outputs,
        unfused_read,
        unfused_write,
        sbuf_bytes: sbuf_estimate(p, nodes),
    }
}
