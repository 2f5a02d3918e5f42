//! Matmul with an elementwise epilogue (bias, activation, scale, residual,
//! cast): out[.., M, N] = epilogue(a[.., M, K] · b[.., K, N]).
//!
//! Layout (trainium.md §1.3): the contraction axis K goes on the partitions
//! of both operands; `nc_matmul(stationary = aᵀ[K, M], moving = b[K, N])`
//! writes out[M, N] into PSUM, M on the partitions and N on the free axis.
//! Tiles are M ≤ 128 (stationary free), N ≤ 512 (moving free, one fp32 PSUM
//! bank) and K ≤ 128 (partitions), with K accumulated in PSUM: the first K
//! step overwrites, the rest add. aᵀ is read by a strided DMA (partition
//! stride = a's K stride), so no transpose instruction is needed. Tails of
//! every dimension are handled by `tiling::split`.
//!
//! The epilogue runs on each output tile after PSUM is copied to SBUF:
//! operands are the matmul result, results of earlier epilogue ops, HBM
//! inputs read through their views and broadcast to the output window,
//! and immediates.

use crate::builder::{region, Builder};
use crate::error::LowerError;
use crate::group::{GroupInfo, Source};
use crate::ops::{Ops, Val};
use crate::pointwise;
use crate::tiling::{split, walk_piece, Piece};
use crate::view::StridedView;
use std::collections::HashMap;
use trnc_ir::kernel::{Accumulate, Affine, Engine, HbmAccess, HbmTensor, Inst, Kernel, Memory, Operand, TileAccess};
use trnc_ir::target::{MATMUL_MOVING_FREE, MATMUL_STATIONARY_FREE, PARTITIONS};
use trnc_ir::{DType, Op, ValueId};

/// The strided view of an operand, broadcast to `[batch.., rows, cols]`.
struct Operand2 {
    input: usize,
    view: StridedView,
}

pub(crate) fn lower(info: &GroupInfo, matmul_dtype: Option<DType>) -> Result<Kernel, LowerError> {
    let g = info.g;
    let mm = *info
        .nodes
        .iter()
        .find(|&&i| matches!(g.nodes[i].op, Op::MatMul))
        .ok_or_else(|| info.group_err("no matmul in the group"))?;
    let out_shape = info.shape(g.nodes[mm].output);
    let epilogue: Vec<usize> = info.nodes.iter().copied().filter(|&i| i != mm).collect();
    for &i in &epilogue {
        let n = &g.nodes[i];
        if !n.op.is_elementwise() {
            return Err(info.node_err(i, format!("not implemented yet: a {} epilogue after a matmul", n.op.name())));
        }
        if info.shape(n.output) != out_shape {
            return Err(info.node_err(i, "epilogue ops must have the matmul's output shape"));
        }
        if i < mm {
            return Err(info.node_err(i, "not implemented yet: an elementwise prologue before a matmul"));
        }
    }
    let a_shape = info.shape(g.nodes[mm].inputs[0]);
    let b_shape = info.shape(g.nodes[mm].inputs[1]);
    if a_shape.len() < 2 || b_shape.len() < 2 {
        return Err(info.node_err(mm, "not implemented yet: matmul with a 1-D operand"));
    }
    let (m, k, n) = (a_shape[a_shape.len() - 2], a_shape[a_shape.len() - 1], b_shape[b_shape.len() - 1]);
    let batch = out_shape[..out_shape.len() - 2].to_vec();
    let (a_dtype, b_dtype) = (info.dtype(g.nodes[mm].inputs[0]), info.dtype(g.nodes[mm].inputs[1]));
    // The operand tiles' dtype: DMA casts on load (trainium.md §1.5).
    let (a_dtype, b_dtype) = matmul_dtype.map_or((a_dtype, b_dtype), |d| (d, d));
    if (a_dtype == DType::F32) != (b_dtype == DType::F32) || !a_dtype.is_float() || !b_dtype.is_float() {
        return Err(info.node_err(mm, "nc_matmul needs float operands, both fp32 or both narrower (nki-api.md §5)"));
    }
    let with_batch = |rows: usize, cols: usize| [batch.clone(), vec![rows, cols]].concat();
    let a = operand(info, mm, 0, &with_batch(m, k))?;
    let b = operand(info, mm, 1, &with_batch(k, n))?;

    let inputs: Vec<HbmTensor> = info
        .inputs
        .iter()
        .map(|&v| HbmTensor { name: hbm_name(info, v), dtype: info.dtype(v), shape: info.shape(v) })
        .collect();
    let outputs: Vec<HbmTensor> = info
        .outputs
        .iter()
        .map(|&v| HbmTensor { name: hbm_name(info, v), dtype: info.dtype(v), shape: info.shape(v) })
        .collect();
    let origin = info.nodes.iter().map(|&i| info.describe(i)).collect();
    let mut bld = Builder::new(&info.name, inputs, outputs, origin);

    // One set of tiles for the whole kernel (static allocation), reused by
    // every output tile.
    let at = bld.acquire(Memory::Sbuf, a_dtype, &[PARTITIONS, MATMUL_STATIONARY_FREE]);
    let bt = bld.acquire(Memory::Sbuf, b_dtype, &[PARTITIONS, MATMUL_MOVING_FREE]);
    let acc = bld.acquire(Memory::Psum, DType::F32, &[PARTITIONS, MATMUL_MOVING_FREE]);
    let mm_dtype = info.dtype(g.nodes[mm].output);
    let ct = bld.acquire(Memory::Sbuf, mm_dtype, &[PARTITIONS, MATMUL_MOVING_FREE]);

    let batches: usize = batch.iter().product();
    let k_pieces = split(k, PARTITIONS);
    for bi in 0..batches.max(1) {
        let index = unravel(bi, &batch);
        for mp in split(m, MATMUL_STATIONARY_FREE) {
            walk_piece(&mut bld, mp, |bld, m0, mt| {
                for np in split(n, MATMUL_MOVING_FREE) {
                    walk_piece(bld, np, |bld, n0, nt| {
                        bld.set_note(info.describe(mm));
                        let window = Window { index: &index, m0: &m0, mt, n0: &n0, nt };
                        contract(bld, &a, &b, &window, &k_pieces, [at, bt, acc]);
                        let result = region(ct, mt, nt);
                        bld.emit(Inst::TensorCopy {
                            dst: result.clone(),
                            src: region(acc, mt, nt),
                            engine: Engine::Vector,
                        });
                        epilogue_and_store(bld, info, mm, &epilogue, result, &window, &out_shape)
                    })?;
                }
                Ok(())
            })?;
        }
    }
    Ok(bld.finish())
}

/// One output tile: rows `m0..m0+mt`, columns `n0..n0+nt` of batch `index`.
struct Window<'w> {
    index: &'w [usize],
    m0: &'w Affine,
    mt: usize,
    n0: &'w Affine,
    nt: usize,
}

fn hbm_name(info: &GroupInfo, v: ValueId) -> String {
    info.g.name_of(v).to_string()
}

/// Row-major multi-index of flat index `i` in `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        out[d] = i % shape[d];
        i /= shape[d];
    }
    out
}

/// Operand `k` of node `node`, which must come from an HBM input, as a view
/// broadcast to `shape`.
fn operand(info: &GroupInfo, node: usize, k: usize, shape: &[usize]) -> Result<Operand2, LowerError> {
    let v = info.g.nodes[node].inputs[k];
    let read = info.resolve(node, v)?;
    let Source::Input(input) = read.source else {
        return Err(info.node_err(node, "not implemented yet: a matmul operand computed in the same kernel"));
    };
    let base = StridedView::contiguous(&info.shape(read.value));
    let view = info.chain_view(node, &read, base)?;
    let view = view.broadcast_to(shape).map_err(|e| info.node_err(node, e))?;
    Ok(Operand2 { input, view })
}

/// Offset of `view` (rank ≥ 2) at batch `index`, row `r`, column `c`.
fn offset_at(view: &StridedView, index: &[usize], r: &Affine, c: &Affine) -> Affine {
    let rank = view.dims.len();
    let base: i64 = view.offset + index.iter().zip(&view.dims).map(|(&i, &(s, _))| i as i64 * s).sum::<i64>();
    let (rs, cs) = (view.dims[rank - 2].0, view.dims[rank - 1].0);
    crate::tiling::scale(r, rs).plus(&crate::tiling::scale(c, cs)).offset(base)
}

/// Accumulates aᵀ·b over the K pieces into `acc` for one output window.
fn contract(
    bld: &mut Builder,
    a: &Operand2,
    b: &Operand2,
    w: &Window,
    k_pieces: &[Piece],
    tiles: [trnc_ir::kernel::TileId; 3],
) {
    let [at, bt, acc] = tiles;
    let rank = a.view.dims.len();
    let (a_row, a_k) = (a.view.dims[rank - 2].0, a.view.dims[rank - 1].0);
    let (b_k, b_col) = (b.view.dims[rank - 2].0, b.view.dims[rank - 1].0);
    let step = |bld: &mut Builder, k0: Affine, kt: usize, accumulate: Accumulate| {
        // aᵀ tile [kt, mt]: partition p reads a[m0 + f, k0 + p].
        let a_src = HbmAccess {
            tensor: bld.input_id(a.input),
            offset: offset_at(&a.view, w.index, w.m0, &k0),
            pattern: vec![(a_k, kt), (a_row, w.mt)],
        };
        bld.emit(Inst::DmaCopy { dst: Operand::Tile(region(at, kt, w.mt)), src: Operand::Hbm(a_src) });
        let b_src = HbmAccess {
            tensor: bld.input_id(b.input),
            offset: offset_at(&b.view, w.index, &k0, w.n0),
            pattern: vec![(b_k, kt), (b_col, w.nt)],
        };
        bld.emit(Inst::DmaCopy { dst: Operand::Tile(region(bt, kt, w.nt)), src: Operand::Hbm(b_src) });
        bld.emit(Inst::Matmul {
            dst: region(acc, w.mt, w.nt),
            stationary: region(at, kt, w.mt),
            moving: region(bt, kt, w.nt),
            accumulate,
        });
    };
    // The first K tile overwrites PSUM; it is peeled off its loop so that
    // every later step can add (the kernel IR has no conditional flag).
    let mut first = true;
    for piece in k_pieces {
        let mut rest = *piece;
        if first {
            step(bld, Affine::constant(piece.start as i64), piece.size, Accumulate::Overwrite);
            first = false;
            rest = Piece { start: piece.start + piece.size, size: piece.size, count: piece.count - 1 };
        }
        if rest.count > 0 {
            let _ = walk_piece(bld, rest, |bld, k0, kt| {
                step(bld, k0, kt, Accumulate::Add);
                Ok(())
            });
        }
    }
}

/// Runs the epilogue ops on the output tile and stores every value the
/// group writes.
fn epilogue_and_store(
    bld: &mut Builder,
    info: &GroupInfo,
    mm: usize,
    epilogue: &[usize],
    result: TileAccess,
    w: &Window,
    out_shape: &[usize],
) -> Result<(), LowerError> {
    let g = info.g;
    let mut on_chip: HashMap<ValueId, TileAccess> = HashMap::new();
    on_chip.insert(g.nodes[mm].output, result);
    let mut held = Vec::new();
    for &i in epilogue {
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
                    let t = bld.acquire(Memory::Sbuf, info.dtype(u), &[PARTITIONS, MATMUL_MOVING_FREE]);
                    held.push(t);
                    let src = HbmAccess {
                        tensor: bld.input_id(pos),
                        offset: offset_at(&view, w.index, w.m0, w.n0),
                        pattern: vec![(view.dims[rank - 2].0, w.mt), (view.dims[rank - 1].0, w.nt)],
                    };
                    bld.emit(Inst::DmaCopy { dst: Operand::Tile(region(t, w.mt, w.nt)), src: Operand::Hbm(src) });
                    Val::Tile(region(t, w.mt, w.nt))
                }
            });
        }
        let out_dtype = info.dtype(node.output);
        let t = bld.acquire(Memory::Sbuf, out_dtype, &[PARTITIONS, MATMUL_MOVING_FREE]);
        held.push(t);
        let dst = region(t, w.mt, w.nt);
        let mut ops = Ops::new(bld, &[PARTITIONS, MATMUL_MOVING_FREE], &[PARTITIONS, 1], w.mt, w.nt);
        let emitted = pointwise::emit(&mut ops, &node.op, &vals, &dtypes, out_dtype, &dst);
        ops.done();
        emitted.map_err(|e| info.node_err(i, e))?;
        on_chip.insert(node.output, dst);
    }
    for (pos, &v) in info.outputs.iter().enumerate() {
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
