//! Embedding lookups: rows of a table gathered by i32 indices with the
//! indirect DMA `Inst::DmaGather` (nki-api.md §3, trainium.md §1.6): 128
//! indices per tile on the partitions, one table row per partition on the
//! free axis, then stored contiguously. Epilogues (a position add, a
//! layer_norm) are not fused in yet: such a group reports "not implemented
//! yet" and the program lowers it as a gather kernel and a row kernel.
//! Negative indices are wrapped on the engines before the DMA, as the
//! graph's gather does.
//!
//! A gather along axis `a` of a table [O.., R, I..] is the same lookup
//! repeated for every outer index o: rows of I.. contiguous elements,
//! `o · R · I` into the table, land at `[o, t, ..]` of the result. The
//! indices are loaded and wrapped once per tile, outside those loops.

use crate::builder::{region, Builder};
use crate::error::LowerError;
use crate::group::{GroupInfo, Source};
use crate::tiling::{scale, split, walk_piece, walk_range};
use trnc_ir::kernel::{Affine, AluOp, Engine, HbmAccess, Inst, Kernel, Memory, Operand, ScalarOperand};
use trnc_ir::target::PARTITIONS;
use trnc_ir::{DType, Op};

/// Elements per partition a gathered row may have (the engines' SBUF free
/// limit, trainium.md §1.4).
const ROW_LIMIT: usize = 64 * 1024;

pub(crate) fn lower(info: &GroupInfo) -> Result<Kernel, LowerError> {
    let g = info.g;
    let [node] = info.nodes[..] else {
        let at = info.nodes.iter().copied().find(|&i| matches!(g.nodes[i].op, Op::Gather { .. }));
        let msg = "not implemented yet: a gather fused with other ops";
        return Err(at.map_or_else(|| info.group_err(msg), |i| info.node_err(i, msg)));
    };
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
    let mut b = info.builder(vec![info.describe(node)]);
    b.set_note(info.describe(node));
    let ids = b.acquire(Memory::Sbuf, DType::I32, &[PARTITIONS, 1]);
    let wrap = b.acquire(Memory::Sbuf, DType::I32, &[PARTITIONS, 1]);
    let out = b.acquire(Memory::Sbuf, info.dtype(table_v), &[PARTITIONS, row.max(1)]);
    let output = info
        .output_pos(g.nodes[node].output)
        .ok_or_else(|| info.node_err(node, "the gather's result is not written"))?;
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
