//! Epilogues: the elementwise ops and norms that follow an anchor (a
//! matmul, a gather) run on the anchor's result tile in SBUF, then every
//! value the group writes is stored. Operands from HBM are read through
//! their views, broadcast to the output window.

use crate::builder::{region, Builder};
use crate::error::LowerError;
use crate::group::{GroupInfo, Source};
use crate::ops::{Ops, Val};
use crate::pointwise;
use crate::view::StridedView;
use std::collections::HashMap;
use trnc_ir::kernel::{Affine, HbmAccess, Inst, Memory, Operand, TileAccess};
use trnc_ir::target::PARTITIONS;
use trnc_ir::{DType, Op, ValueId};

/// An anchor and what follows it in the kernel.
pub(crate) struct Tail<'t> {
    /// The node whose result is the tile the epilogue starts from.
    pub anchor: usize,
    /// Elementwise ops and norms, in graph order.
    pub epilogue: &'t [usize],
    /// The anchor's (and every epilogue op's) result shape.
    pub out_shape: &'t [usize],
    /// (output position, value) of the group's outputs computed here.
    pub outputs: &'t [(usize, ValueId)],
}

/// One output tile: rows `m0..m0+mt`, columns `n0..n0+nt` of batch `index`.
pub(crate) struct Window<'w> {
    pub(crate) index: &'w [usize],
    pub(crate) m0: &'w Affine,
    pub(crate) mt: usize,
    pub(crate) n0: &'w Affine,
    pub(crate) nt: usize,
    /// Free size of the epilogue's tiles.
    pub(crate) width: usize,
}

/// Runs the epilogue ops on the output tile and stores every value the
/// group writes.
pub(crate) fn epilogue_and_store(
    bld: &mut Builder,
    info: &GroupInfo,
    tail: &Tail,
    result: TileAccess,
    w: &Window,
) -> Result<(), LowerError> {
    let g = info.g;
    let (mm, epilogue, out_shape) = (tail.anchor, tail.epilogue, tail.out_shape);
    let mut on_chip: HashMap<ValueId, TileAccess> = HashMap::new();
    on_chip.insert(g.nodes[mm].output, result);
    let mut held = Vec::new();
    for &i in epilogue.iter() {
        let node = &g.nodes[i];
        bld.set_note(info.describe(i));
        let mut vals = Vec::new();
        let mut dtypes = Vec::new();
        for &u in &node.inputs {
            let read = info.resolve(i, u)?;
            dtypes.push(info.dtype(u));
            vals.push(match read.source {
                Source::Imm(x) => Val::Imm(x),
                Source::Node(j) => Val::Tile(
                    on_chip
                        .get(&g.nodes[j].output)
                        .cloned()
                        .ok_or_else(|| info.node_err(i, "reads a value the kernel has not computed"))?,
                ),
                Source::Input(pos) => {
                    // An epilogue operand (bias, residual) read through its
                    // view and broadcast to the output window.
                    let view = info.chain_view(i, &read, StridedView::contiguous(&info.shape(read.value)))?;
                    let view = view.broadcast_to(out_shape).map_err(|e| info.node_err(i, e))?;
                    let rank = view.dims.len();
                    // Broadcast along the row (an attention mask spread over
                    // the hidden axis): one element per partition, spread on
                    // chip, rather than a DMA descriptor per element (§1.6).
                    // Engines read operands as fp32 (§1.4), so the column is
                    // loaded as fp32 where that is all the op does with it.
                    let as_f32 = info.dtype(u) == DType::F32
                        || matches!(node.op, Op::Cast { to, .. } if to.is_float()) && info.dtype(u).is_int();
                    if view.dims[rank - 1].0 == 0 && w.nt > 1 && as_f32 {
                        let t = bld.acquire(Memory::Sbuf, DType::F32, &[PARTITIONS, 1]);
                        held.push(t);
                        let src = HbmAccess {
                            tensor: bld.input_id(pos),
                            offset: offset_at(&view, w.index, w.m0, w.n0),
                            pattern: vec![(view.dims[rank - 2].0, w.mt), (1, 1)],
                        };
                        bld.emit(Inst::DmaCopy { dst: Operand::Tile(region(t, w.mt, 1)), src: Operand::Hbm(src) });
                        Val::Col(region(t, w.mt, 1))
                    } else {
                        let t = bld.acquire(Memory::Sbuf, info.dtype(u), &[PARTITIONS, w.width]);
                        held.push(t);
                        let src = HbmAccess {
                            tensor: bld.input_id(pos),
                            offset: offset_at(&view, w.index, w.m0, w.n0),
                            pattern: vec![(view.dims[rank - 2].0, w.mt), (view.dims[rank - 1].0, w.nt)],
                        };
                        bld.emit(Inst::DmaCopy { dst: Operand::Tile(region(t, w.mt, w.nt)), src: Operand::Hbm(src) });
                        Val::Tile(region(t, w.mt, w.nt))
                    }
                }
            });
        }
        let out_dtype = info.dtype(node.output);
        let t = bld.acquire(Memory::Sbuf, out_dtype, &[PARTITIONS, w.width]);
        held.push(t);
        let dst = region(t, w.mt, w.nt);
        let mut ops = Ops::new(bld, &[PARTITIONS, w.width], &[PARTITIONS, 1], w.mt, w.nt);
        let emitted = if node.op.is_elementwise() {
            pointwise::emit(&mut ops, &node.op, &vals, &dtypes, out_dtype, &dst)
        } else {
            crate::anchors::norm_rows(&mut ops, &node.op, &vals, &dst)
        };
        ops.done();
        emitted.map_err(|e| info.node_err(i, e))?;
        on_chip.insert(node.output, dst);
    }
    for &(pos, v) in tail.outputs {
        let tile = on_chip
            .get(&v)
            .cloned()
            .ok_or_else(|| info.group_err(format!("output %{} is not computed", g.name_of(v))))?;
        let out = StridedView::contiguous(out_shape);
        let rank = out.dims.len();
        let dst = HbmAccess {
            tensor: bld.output_id(pos),
            offset: offset_at(&out, w.index, w.m0, w.n0),
            pattern: vec![(out.dims[rank - 2].0, w.mt), (out.dims[rank - 1].0, w.nt)],
        };
        bld.set_note(format!("store %{}", g.name_of(v)));
        bld.emit(Inst::DmaCopy { dst: Operand::Hbm(dst), src: Operand::Tile(tile) });
    }
    for t in held {
        bld.release(t);
    }
    Ok(())
}

/// Offset of `view` (rank ≥ 2) at batch `index`, row `r`, column `c`.
pub(crate) fn offset_at(view: &StridedView, index: &[usize], r: &Affine, c: &Affine) -> Affine {
    let rank = view.dims.len();
    let base: i64 = view.offset + index.iter().zip(&view.dims).map(|(&i, &(s, _))| i as i64 * s).sum::<i64>();
    let (rs, cs) = (view.dims[rank - 2].0, view.dims[rank - 1].0);
    crate::tiling::scale(r, rs).plus(&crate::tiling::scale(c, cs)).offset(base)
}
