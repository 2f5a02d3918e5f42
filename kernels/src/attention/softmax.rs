//! One query tile of one head: scores, online softmax, p·v, and the final
//! division into the output tile.

use super::load::{chunk_of, tiles_of, Group, Loads, Plan};
use super::{Dims, View, LOWEST};
use crate::builder::{region, region_at, slab, Builder};
use crate::error::LowerError;
use trnc_ir::kernel::{Accumulate, ActFunc, Affine, AluOp, Engine, Inst, Memory, ScalarOperand, TileAccess, TileId};
use trnc_ir::target::{MATMUL_MOVING_FREE, PARTITIONS};
use trnc_ir::DType;

/// The compute tiles; pairs alternate so that consecutive key tiles (or
/// heads) do not wait for each other's readers.
pub(super) struct Tiles {
    /// q rows as loaded: [128, head, D], per query tile.
    pub q_rows: [TileId; 2],
    q_ps: TileId,
    /// scale·qᵀ: [D, 128], per head.
    qt: [TileId; 2],
    s_ps: [TileId; 2],
    /// Scores that need a mask or an affine_select (GpSimd reads no PSUM).
    s: TileId,
    p: [TileId; 2],
    pt_ps: [TileId; 2],
    pt: [TileId; 2],
    pv_ps: [TileId; 2],
    o: TileId,
    /// The output rows of a query tile: [128, head, dv].
    pub out: [TileId; 2],
    /// Negated running maxima (two, swapped at every key tile).
    neg_max: [TileId; 2],
    /// Per-query columns: this tile's negated max, row sum, l, correction, 1/l.
    cols: [TileId; 5],
}

impl Tiles {
    pub fn acquire(b: &mut Builder, plan: &Plan, dims: &Dims, dtypes: &[DType], out: DType) -> Tiles {
        let (f32, w, p) = (DType::F32, MATMUL_MOVING_FREE, PARTITIONS);
        let mut two = |memory, dtype, shape: &[usize]| [0, 1].map(|_| b.acquire(memory, dtype, shape));
        let q_rows = two(Memory::Sbuf, dtypes[0], &[p, plan.group, dims.d]);
        let qt = two(Memory::Sbuf, dtypes[0], &[p, p]);
        let s_ps = two(Memory::Psum, f32, &[p, w]);
        let pd = dtypes[2];
        let p_tiles = two(Memory::Sbuf, pd, &[p, w]);
        let pt_ps = two(Memory::Psum, pd, &[p, w]);
        let pt = two(Memory::Sbuf, pd, &[p, w]);
        let pv_ps = two(Memory::Psum, f32, &[p, w]);
        let out_tiles = two(Memory::Sbuf, out, &[p, plan.group, dims.dv]);
        let neg_max = two(Memory::Sbuf, f32, &[p, 1]);
        Tiles {
            q_rows,
            q_ps: b.acquire(Memory::Psum, dtypes[0], &[p, p]),
            qt,
            s_ps,
            s: b.acquire(Memory::Sbuf, f32, &[p, w]),
            p: p_tiles,
            pt_ps,
            pt,
            pv_ps,
            o: b.acquire(Memory::Sbuf, f32, &[p, dims.dv]),
            out: out_tiles,
            neg_max,
            cols: std::array::from_fn(|_| b.acquire(Memory::Sbuf, f32, &[p, 1])),
        }
    }
}

/// Where one head's query tile is.
pub(super) struct QueryTile<'c> {
    pub group: &'c Group<'c>,
    pub head: usize,
    pub q0: usize,
    pub rows: usize,
    /// The q rows of the tile, loaded for the group.
    pub q_rows: TileId,
    /// The output slot of the query tile.
    pub slot: usize,
}

fn col(t: TileId, rows: usize) -> TileAccess {
    region(t, rows, 1)
}

fn ts(
    dst: TileAccess,
    src: TileAccess,
    op0: AluOp,
    operand0: ScalarOperand,
    op1: Option<(AluOp, ScalarOperand, bool)>,
) -> Inst {
    Inst::TensorScalar { dst, src, op0, operand0, reverse0: false, op1, engine: Engine::Vector }
}

fn act(
    dst: TileAccess,
    src: TileAccess,
    func: ActFunc,
    scale: f64,
    bias: Option<TileAccess>,
    reduce: Option<TileAccess>,
) -> Inst {
    Inst::Activation { dst, src, func, scale: ScalarOperand::Imm(scale), bias, reduce }
}

/// Attention of one head over one query tile, into the output tile's
/// slice for the head.
#[allow(clippy::too_many_arguments)]
pub(super) fn head(
    b: &mut Builder,
    t: &Tiles,
    loads: &mut Loads,
    plan: &Plan,
    dims: &Dims,
    c: &QueryTile,
    k: &View,
    v: &View,
    mask: Option<&View>,
) -> Result<(), LowerError> {
    let (rows, q0, h, dv) = (c.rows, c.q0, c.head, dims.dv);
    let [neg_tile, rowsum, l, corr, inv] = t.cols;
    // scale·qᵀ [D, rows]: the scale rides on the copy out of PSUM.
    let qt = t.qt[h % 2];
    b.emit(Inst::Transpose {
        dst: region(t.q_ps, dims.d, rows),
        src: TileAccess {
            tile: c.q_rows,
            partition_start: Affine::constant(0),
            partitions: rows,
            free: vec![(Affine::constant(h as i64), 1), (Affine::constant(0), dims.d)],
        },
        engine: Engine::Tensor,
    });
    b.emit(act(region(qt, dims.d, rows), region(t.q_ps, dims.d, rows), ActFunc::Copy, dims.scale, None, None));
    // Key tiles with at least one key visible to some query of the tile.
    let key_tiles: Vec<(usize, usize)> = tiles_of(dims.sk, MATMUL_MOVING_FREE)
        .into_iter()
        .map(|(_, k0, keys)| (k0, keys))
        .filter(|&(k0, _)| !dims.causal || k0 < q0 + rows)
        .collect();
    let mut cur = 0;
    for (n, &(k0, keys)) in key_tiles.iter().enumerate() {
        let (first, last) = (n == 0, n + 1 == key_tiles.len());
        let kb0 = k0 / plan.block * plan.block;
        let slot = loads.keys(b, plan, dims, c.group, kb0, k, v);
        let s_ps = region(t.s_ps[n % 2], rows, keys);
        b.emit(Inst::Matmul {
            dst: s_ps.clone(),
            stationary: region(qt, dims.d, rows),
            moving: slab(loads.kt[slot], dims.d, h, k0 - kb0, keys),
            accumulate: Accumulate::Overwrite,
        });
        let diagonal = dims.causal && k0 + keys > q0 + 1;
        let scores = if let Some(m) = mask {
            let mt = loads.mask(b, plan, dims, c.group, q0, rows, kb0, m);
            let hm = if plan.mask_heads == 1 { 0 } else { h };
            let s = region(t.s, rows, keys);
            b.emit(Inst::TensorTensor {
                dst: s.clone(),
                a: s_ps,
                b: slab(mt, rows, hm, k0 - kb0, keys),
                op: AluOp::Add,
            });
            s
        } else if diagonal {
            let s = region(t.s, rows, keys);
            b.emit(Inst::TensorCopy { dst: s.clone(), src: s_ps, engine: Engine::Vector });
            s
        } else {
            s_ps
        };
        if diagonal {
            // keep where (q0 + p) - (k0 + j) >= 0
            b.emit(Inst::AffineSelect {
                dst: scores.clone(),
                src: scores.clone(),
                pattern: vec![(-1, keys)],
                channel_multiplier: 1,
                offset: q0 as i64 - k0 as i64,
                cmp: AluOp::GreaterEqual,
                on_false: LOWEST,
            });
        }
        // Online softmax on negated maxima: -max comes out of tensor_reduce
        // directly and is exp's bias as it is.
        let reduce =
            |dst| Inst::TensorReduce { dst, src: scores.clone(), op: AluOp::Maximum, axes: vec![1], negate: true };
        let neg_max = t.neg_max[if first { cur } else { 1 - cur }];
        if first {
            b.emit(reduce(col(neg_max, rows)));
        } else {
            b.emit(reduce(col(neg_tile, rows)));
            let old = col(t.neg_max[cur], rows);
            b.emit(Inst::TensorTensor {
                dst: col(neg_max, rows),
                a: old.clone(),
                b: col(neg_tile, rows),
                op: AluOp::Minimum,
            });
            // exp(m_old - m_new) = exp(-(-m_old) + (-m_new))
            b.emit(act(col(corr, rows), old, ActFunc::Exp, -1.0, Some(col(neg_max, rows)), None));
            cur = 1 - cur;
        }
        let p = t.p[n % 2];
        let sum = col(if first { l } else { rowsum }, rows);
        b.emit(act(region(p, rows, keys), scores, ActFunc::Exp, 1.0, Some(col(neg_max, rows)), Some(sum)));
        if !first {
            let per = |t| ScalarOperand::PerPartition(col(t, rows));
            b.emit(ts(col(l, rows), col(l, rows), AluOp::Multiply, per(corr), Some((AluOp::Add, per(rowsum), false))));
            b.emit(ts(region(t.o, rows, dv), region(t.o, rows, dv), AluOp::Multiply, per(corr), None));
        }
        // p·v, 128 keys at a time: pᵀ chunks side by side in one PSUM bank,
        // copied out together (a tail chunk has fewer partitions).
        let (pt_ps, pt) = (t.pt_ps[n % 2], t.pt[n % 2]);
        let chunks = tiles_of(keys, PARTITIONS);
        for &(ci, c0, kc) in &chunks {
            b.emit(Inst::Transpose {
                dst: region_at(pt_ps, kc, Affine::constant((ci * rows) as i64), rows),
                src: region_at(p, rows, Affine::constant(c0 as i64), kc),
                engine: Engine::Tensor,
            });
        }
        let full = keys / PARTITIONS;
        if full > 0 {
            let all = region(pt, PARTITIONS, full * rows);
            b.emit(Inst::TensorCopy { dst: all, src: region(pt_ps, PARTITIONS, full * rows), engine: Engine::Vector });
        }
        if keys % PARTITIONS > 0 {
            let at = Affine::constant((full * rows) as i64);
            let (dst, src) =
                (region_at(pt, keys % PARTITIONS, at.clone(), rows), region_at(pt_ps, keys % PARTITIONS, at, rows));
            b.emit(Inst::TensorCopy { dst, src, engine: Engine::Vector });
        }
        let pv_ps = region(t.pv_ps[n % 2], rows, dv);
        for &(ci, c0, kc) in &chunks {
            b.emit(Inst::Matmul {
                dst: pv_ps.clone(),
                stationary: region_at(pt, kc, Affine::constant((ci * rows) as i64), rows),
                moving: chunk_of(loads.v[slot], kc, (k0 - kb0 + c0) / PARTITIONS, h, dv),
                accumulate: if ci == 0 { Accumulate::Overwrite } else { Accumulate::Add },
            });
        }
        let o = region(t.o, rows, dv);
        let acc = match (first, last) {
            (true, true) => pv_ps,
            (true, false) => {
                b.emit(Inst::TensorCopy { dst: o.clone(), src: pv_ps, engine: Engine::Vector });
                o
            }
            (false, _) => {
                b.emit(Inst::TensorTensor { dst: o.clone(), a: o.clone(), b: pv_ps, op: AluOp::Add });
                o
            }
        };
        if last {
            b.emit(ts(col(inv, rows), col(l, rows), AluOp::Reciprocal, ScalarOperand::Imm(0.0), None));
            let dst = slab(t.out[c.slot], rows, h, 0, dv);
            b.emit(ts(dst, acc, AluOp::Multiply, ScalarOperand::PerPartition(col(inv, rows)), None));
        }
    }
    Ok(())
}
