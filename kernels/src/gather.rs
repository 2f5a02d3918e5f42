//! Embedding lookups: rows of a table gathered by i32 indices with the
//! indirect DMA `Inst::DmaGather` (nki-api.md §3, trainium.md §1.6): 128
//! indices per tile on the partitions, one table row per partition on the
//! free axis, then stored contiguously. An epilogue (position and token
//! type adds, a layer_norm: a BERT's embeddings) runs on the gathered tile
//! before the store, for a gather along axis 0 whose tokens lie along one
//! axis of the result.
//! Negative indices are wrapped on the engines before the DMA, as the
//! graph's gather does.
//!
//! A gather along axis `a` of a table [O.., R, I..] is the same lookup
//! repeated for every outer index o: rows of I.. contiguous elements,
//! `o · R · I` into the table, land at `[o, t, ..]` of the result. The
//! indices are loaded and wrapped once per tile, outside those loops.

use crate::builder::{region, Builder};
use crate::epilogue::{epilogue_and_store, Tail, Window};
use crate::error::LowerError;
use crate::group::{GroupInfo, Source};
use crate::tiling::{scale, split, walk_piece, walk_range};
use trnc_ir::kernel::{Affine, AluOp, Engine, HbmAccess, Inst, Kernel, Memory, Operand, ScalarOperand};
use trnc_ir::target::PARTITIONS;
use trnc_ir::{DType, Op, ValueId};

/// Elements per partition a gathered row may have (the engines' SBUF free
/// limit, trainium.md §1.4).
const ROW_LIMIT: usize = 64 * 1024;

pub(crate) fn lower(info: &GroupInfo) -> Result<Kernel, LowerError> {
    let g = info.g;
    let node = info
        .nodes
        .iter()
        .copied()
        .find(|&i| matches!(g.nodes[i].op, Op::Gather { .. }))
        .ok_or_else(|| info.group_err("no gather in the group"))?;
    let epilogue: Vec<usize> = info.nodes.iter().copied().filter(|&i| i != node).collect();
    let Op::Gather { axis } = g.nodes[node].op else { return Err(info.node_err(node, "not a gather")) };
    let (table_v, index_v) = (g.nodes[node].inputs[0], g.nodes[node].inputs[1]);
    let plain_input = |v| -> Result<usize, LowerError> {
        let read = info.resolve(node, v)?;
        match read.source {
            Source::Input(pos) if read.chain.is_empty() => Ok(pos),
            _ => Err(info.node_err(node, "not implemented yet: a gather whose table or indices are views or computed")),
        }
    };
    let (table, index) = (plain_input(table_v)?, plain_input(index_v)?);
    if info.dtype(index_v) != DType::I32 {
        return Err(info.node_err(node, "gather indices must be i32 on the device (narrow i64 first)"));
    }
    let table_shape = info.shape(table_v);
    let Some(&rows) = table_shape.get(axis) else { return Err(info.node_err(node, "the axis is out of range")) };
    let row: usize = table_shape[axis + 1..].iter().product();
    let tokens: usize = info.shape(index_v).iter().product();
    if row > ROW_LIMIT {
        return Err(info.node_err(
            node,
            format!(
                "a table row of {row} elements exceeds the {ROW_LIMIT} an SBUF partition holds for one instruction"
            ),
        ));
    }
    let out_shape = info.shape(g.nodes[node].output);
    let outputs = tail_outputs(info, node, &epilogue, &out_shape, axis, row)?;
    let tail = Tail { anchor: node, epilogue: &epilogue, out_shape: &out_shape, outputs: &outputs };
    let mut b = info.builder(info.nodes.iter().map(|&i| info.describe(i)).collect());
    b.set_note(info.describe(node));
    let ids = b.acquire(Memory::Sbuf, DType::I32, &[PARTITIONS, 1]);
    let wrap = b.acquire(Memory::Sbuf, DType::I32, &[PARTITIONS, 1]);
    let out = b.acquire(Memory::Sbuf, info.dtype(table_v), &[PARTITIONS, row.max(1)]);
    let output = info.output_pos(g.nodes[node].output);
    for piece in split(tokens, PARTITIONS) {
        walk_piece(&mut b, piece, |b, t0, tt| {
            let src = HbmAccess { tensor: b.input_id(index), offset: t0.clone(), pattern: vec![(1, tt), (1, 1)] };
            b.emit(Inst::DmaCopy { dst: Operand::Tile(region(ids, tt, 1)), src: Operand::Hbm(src) });
            // Negative indices count from the end, as the graph's gather says:
            // idx + rows·(idx < 0), exact on the engines for |idx| < 2^24.
            b.emit(Inst::TensorScalar {
                dst: region(wrap, tt, 1),
                src: region(ids, tt, 1),
                op0: AluOp::Less,
                operand0: ScalarOperand::Imm(0.0),
                reverse0: false,
                op1: Some((AluOp::Multiply, ScalarOperand::Imm(rows as f64), false)),
                engine: Engine::Vector,
            });
            b.emit(Inst::TensorTensor {
                dst: region(ids, tt, 1),
                a: region(ids, tt, 1),
                b: region(wrap, tt, 1),
                op: AluOp::Add,
            });
            walk_outer(b, &table_shape[..axis], Affine::constant(0), &mut |b, o| {
                let table = HbmAccess {
                    tensor: b.input_id(table),
                    offset: scale(&o, (rows * row) as i64),
                    pattern: vec![(1, row)],
                };
                b.emit(Inst::DmaGather {
                    dst: region(out, tt, row),
                    table,
                    row_stride: row as i64,
                    rows,
                    index: region(ids, tt, 1),
                });
                if !epilogue.is_empty() {
                    let batch = vec![0; out_shape.len() - 2];
                    let w = Window { index: &batch, m0: &t0, mt: tt, n0: &Affine::constant(0), nt: row, width: row };
                    return epilogue_and_store(b, info, &tail, region(out, tt, row), &w);
                }
                let output = output.ok_or_else(|| info.node_err(node, "the gather's result is not written"))?;
                let dst = HbmAccess {
                    tensor: b.output_id(output),
                    offset: scale(&t0, row as i64).plus(&scale(&o, (tokens * row) as i64)),
                    pattern: vec![(row as i64, tt), (1, row)],
                };
                b.emit(Inst::DmaCopy { dst: Operand::Hbm(dst), src: Operand::Tile(region(out, tt, row)) });
                Ok(())
            })
        })?;
    }
    Ok(b.finish())
}

/// The outputs an epilogue after the gather writes, after checking that
/// the epilogue can run on the gathered tiles: rows of the table along
/// axis 0, tokens along one axis of the result, every op elementwise (or a
/// norm over the row) at the result's shape.
fn tail_outputs(
    info: &GroupInfo,
    node: usize,
    epilogue: &[usize],
    out_shape: &[usize],
    axis: usize,
    row: usize,
) -> Result<Vec<(usize, ValueId)>, LowerError> {
    let g = info.g;
    if epilogue.is_empty() {
        return Ok(Vec::new());
    }
    let index_shape = info.shape(g.nodes[node].inputs[1]);
    let one_token_axis = index_shape.iter().rev().skip(1).all(|&d| d == 1);
    if axis != 0 || !one_token_axis || out_shape.len() < 2 || out_shape[out_shape.len() - 1] != row {
        return Err(info.node_err(
            node,
            format!(
                "not implemented yet: an epilogue after a gather along axis {axis} with indices {index_shape:?} \
                 (the epilogue needs axis 0 and the tokens along one axis of the result)"
            ),
        ));
    }
    for &i in epilogue {
        let op = &g.nodes[i].op;
        let norm = matches!(op, Op::LayerNorm { axis, .. } | Op::RmsNorm { axis, .. } if axis + 1 == out_shape.len());
        if i < node || !(op.is_elementwise() || norm) || info.shape(g.nodes[i].output) != out_shape {
            return Err(info.node_err(i, format!("not implemented yet: a {} after a gather", op.name())));
        }
    }
    let mut computed = vec![g.nodes[node].output];
    computed.extend(epilogue.iter().map(|&i| g.nodes[i].output));
    if let Some(v) = info.outputs.iter().find(|v| !computed.contains(v)) {
        return Err(info.group_err(format!("output %{} is not computed", g.name_of(*v))));
    }
    Ok(info.outputs.iter().copied().enumerate().collect())
}

/// Emits `body` once per index of the outer dimensions `dims`, one loop per
/// dimension (so that every HBM offset splits into per-dimension indices,
/// as the legacy NKI printer needs); `body` gets the flat outer index.
fn walk_outer(
    b: &mut Builder,
    dims: &[usize],
    flat: Affine,
    body: &mut dyn FnMut(&mut Builder, Affine) -> Result<(), LowerError>,
) -> Result<(), LowerError> {
    match dims.split_first() {
        None => body(b, flat),
        Some((&n, rest)) => walk_range(b, n, |b, i| walk_outer(b, rest, scale(&flat, n as i64).plus(&i), body)),
    }
}
