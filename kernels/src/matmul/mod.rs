//! Matmul with an elementwise epilogue (bias, activation, scale, residual,
//! cast): out[.., M, N] = epilogue(a[.., M, K] · b[.., K, N]).
//!
//! Layout (trainium.md §1.3): the contraction axis K goes on the partitions
//! of both operands; `nc_matmul(stationary = aᵀ[K, M], moving = b[K, N])`
//! writes out[M, N] into PSUM, M on the partitions and N on the free axis.
//! Tiles are M ≤ 128 (stationary free), N ≤ 512 (moving free, one fp32 PSUM
//! bank) and K ≤ 128 (partitions), with K accumulated in PSUM: the first K
//! step overwrites, the rest add. A is read row-contiguously and transposed
//! on TensorE once per row block (an element-strided DMA would move 2 or 4
//! bytes per descriptor, §1.6); its row chunks fill as many SBUF slots as
//! fit, so the next row block loads while this one multiplies. Tails of
//! every dimension are handled by `tiling::split`.
//!
//! Schedule (what keeps TensorE busy, §1.3): within a K block the order is
//! row tile, K tile, column tile, so a stationary Aᵀ tile is loaded once for
//! all column tiles, and a row's accumulators finish before the next row's;
//! ScalarE and VectorE take turns emptying them, and transposes alternate
//! between two PSUM banks so that TensorE never waits for one copy.
//!
//! The epilogue runs on each output tile after PSUM is copied to SBUF:
//! operands are the matmul result, results of earlier epilogue ops, HBM
//! inputs read through their views and broadcast to the output window,
//! and immediates.

mod chain;

use crate::builder::{region, region_at, slab, Builder};
use crate::epilogue::{epilogue_and_store, offset_at, Window};
use crate::error::LowerError;
use crate::group::GroupInfo;
use crate::tiling::{split, unravel, walk_piece};
use crate::view::StridedView;
use chain::{chains_of, check_broadcast_epilogue, is_row_norm, Chain};
use trnc_ir::kernel::{
    Accumulate, ActFunc, Affine, Engine, HbmAccess, Inst, Kernel, Memory, Operand, ScalarOperand, TileAccess, TileId,
};
use trnc_ir::target::{MATMUL_MOVING_FREE, PARTITIONS};
use trnc_ir::{DType, Target, ValueId};

/// The strided view of an operand, broadcast to `[batch.., rows, cols]`.
pub(super) struct Operand2 {
    pub(super) input: usize,
    pub(super) view: StridedView,
}

pub(crate) fn lower(
    info: &GroupInfo,
    matmul_dtype: Option<DType>,
    blocks: Option<MatmulBlocks>,
    target: Target,
) -> Result<Kernel, LowerError> {
    let g = info.g;
    let nodes = chains_of(info)?;
    let first = nodes[0].0;
    let a_shape = info.shape(g.nodes[first].inputs[0]);
    let out_shape = info.shape(g.nodes[first].output);
    if a_shape.len() < 2 {
        return Err(info.node_err(first, "not implemented yet: matmul with a 1-D operand"));
    }
    let (m, k) = (a_shape[a_shape.len() - 2], a_shape[a_shape.len() - 1]);
    let batch = out_shape[..out_shape.len() - 2].to_vec();
    let with_batch = |rows: usize, cols: usize| [batch.clone(), vec![rows, cols]].concat();
    let a = operand(info, first, 0, &with_batch(m, k))?;
    // The operand tiles' dtype: DMA casts on load (trainium.md §1.5).
    let a_dtype = matmul_dtype.unwrap_or(info.dtype(g.nodes[first].inputs[0]));
    let mm_dtype = info.dtype(g.nodes[first].output);
    let mut chains = Vec::new();
    for (mm, epilogue) in nodes {
        let out_shape = info.shape(g.nodes[mm].output);
        let b_shape = info.shape(g.nodes[mm].inputs[1]);
        if b_shape.len() < 2 {
            return Err(info.node_err(mm, "not implemented yet: matmul with a 1-D operand"));
        }
        let n = b_shape[b_shape.len() - 1];
        // Siblings share Aᵀ and every tile, so they must agree on all but N.
        if operand(info, mm, 0, &with_batch(m, k)).ok().map(|o| (o.input, o.view)) != Some((a.input, a.view.clone()))
            || out_shape[..out_shape.len() - 1] != with_batch(m, n)[..batch.len() + 1]
            || info.dtype(g.nodes[mm].output) != mm_dtype
            || info.dtype(g.nodes[mm].inputs[1]) != info.dtype(g.nodes[first].inputs[1])
        {
            return Err(info.node_err(mm, "not implemented yet: sibling matmuls that do not share their left operand"));
        }
        for &i in &epilogue {
            if info.shape(g.nodes[i].output) != out_shape {
                check_broadcast_epilogue(info, i, &epilogue, &out_shape)?;
            }
        }
        let b = operand(info, mm, 1, &with_batch(k, n))?;
        let mut computed: Vec<ValueId> = vec![g.nodes[mm].output];
        computed.extend(epilogue.iter().map(|&i| g.nodes[i].output));
        let outputs = info.outputs.iter().copied().enumerate().filter(|(_, v)| computed.contains(v)).collect();
        let whole_rows = epilogue.iter().any(|&i| is_row_norm(info, i));
        chains.push(Chain { mm, epilogue, out_shape, b, n, outputs, whole_rows });
    }
    for &v in info.outputs {
        if !chains.iter().any(|c| c.outputs.iter().any(|&(_, w)| w == v)) {
            return Err(info.group_err(format!("output %{} is not computed", g.name_of(v))));
        }
    }
    let b_dtype = matmul_dtype.unwrap_or(info.dtype(g.nodes[first].inputs[1]));
    if (a_dtype == DType::F32) != (b_dtype == DType::F32) || !a_dtype.is_float() || !b_dtype.is_float() {
        return Err(info.node_err(first, "nc_matmul needs float operands, both fp32 or both narrower (nki-api.md §5)"));
    }
    let n = chains.iter().map(|c| c.n).max().unwrap_or(1);
    let n_tiles = n.div_ceil(MATMUL_MOVING_FREE).max(1);
    // Column tiles of the widest row a norm needs whole.
    let row_tiles = chains.iter().filter(|c| c.whole_rows).map(|c| c.n.div_ceil(MATMUL_MOVING_FREE)).max();
    if let Some(r) = row_tiles.filter(|&r| r > ACC_BANKS) {
        return Err(info.group_err(format!(
            "not implemented yet: a norm after a matmul whose rows need {r} PSUM banks (at most {ACC_BANKS})"
        )));
    }
    let width = row_tiles.map_or(MATMUL_MOVING_FREE, |r| r.max(1) * MATMUL_MOVING_FREE);

    let origin = info.nodes.iter().map(|&i| info.describe(i)).collect();
    let mut bld = info.builder(origin);

    let extra_tiles = 1 + chains.iter().map(|c| c.epilogue.len()).max().unwrap_or(0) * 2;
    let blocks = blocks.unwrap_or_else(|| default_blocks(m, n, k, a_dtype, b_dtype, extra_tiles, target));
    let mut blocks = MatmulBlocks {
        m: blocks.m.clamp(1, m.div_ceil(PARTITIONS).max(1)),
        n: blocks.n.clamp(1, n_tiles),
        k: blocks.k.clamp(1, k.div_ceil(PARTITIONS).max(1)),
    };
    if let Some(r) = row_tiles {
        blocks.n = blocks.n.max(r);
        blocks.m = blocks.m.min(ACC_BANKS / blocks.n);
    }
    if blocks.m * blocks.n > ACC_BANKS {
        return Err(info.node_err(
            first,
            format!("blocks {blocks:?} need more than the {ACC_BANKS} PSUM banks kept for accumulators"),
        ));
    }
    let need = blocks.sbuf_bytes(k, a_dtype, b_dtype, extra_tiles * width / MATMUL_MOVING_FREE);
    if need > target.sbuf_bytes_per_partition() {
        let whole = if row_tiles.is_some() { "not implemented yet: whole rows for a norm: " } else { "" };
        return Err(info.node_err(
            first,
            format!("{whole}blocks {blocks:?} need {need} B of SBUF per partition (Aᵀ stays resident for all of K = {k}), more than {target} has"),
        ));
    }
    let k_tiles = k.div_ceil(PARTITIONS);
    // As many slots for A's row chunks as SBUF holds, up to a whole row
    // block: the next block's rows then load under this block's matmuls.
    let chunks = blocks.m.min(m.div_ceil(PARTITIONS)) * k.div_ceil(ROWS_CHUNK);
    let spare = target.sbuf_bytes_per_partition() - need;
    let row_slots = (MIN_ROW_SLOTS + spare / (ROWS_CHUNK * a_dtype.size_bytes())).min(chunks).max(1);
    // One set of tiles for the whole kernel (static allocation, §1.1).
    let t = Tiles {
        rows: bld.acquire(Memory::Sbuf, a_dtype, &[PARTITIONS, row_slots, ROWS_CHUNK]),
        row_slots,
        rows_t: bld.acquire(Memory::Psum, a_dtype, &[PARTITIONS, 2, transposes_per_bank(a_dtype), PARTITIONS]),
        at: bld.acquire(Memory::Sbuf, a_dtype, &[PARTITIONS, k_tiles, blocks.m * PARTITIONS]),
        bt: bld.acquire(Memory::Sbuf, b_dtype, &[PARTITIONS, 2 * blocks.k, blocks.n * MATMUL_MOVING_FREE]),
        acc: bld.acquire(Memory::Psum, DType::F32, &[PARTITIONS, blocks.m * blocks.n, MATMUL_MOVING_FREE]),
        ct: bld.acquire(Memory::Sbuf, mm_dtype, &[PARTITIONS, width]),
        width,
    };
    let ctx = Ctx { info, a: &a, t: &t, k, blocks };
    let batches: usize = batch.iter().product();
    for bi in 0..batches.max(1) {
        let index = unravel(bi, &batch);
        for mp in split(m, blocks.m * PARTITIONS) {
            walk_piece(&mut bld, mp, |bld, m0, msize| {
                ctx.transpose_a(bld, &index, &m0, msize, first);
                for chain in &chains {
                    for np in split(chain.n, blocks.n * MATMUL_MOVING_FREE) {
                        walk_piece(bld, np, |bld, n0, nsize| ctx.block(bld, chain, &index, &m0, msize, &n0, nsize))?;
                    }
                }
                Ok(())
            })?;
        }
    }
    Ok(bld.finish())
}

/// PSUM banks for the block's accumulators; the other two take turns
/// holding A's transposes (8 banks of 2 KiB per partition, trainium.md §1.1).
const ACC_BANKS: usize = 6;
/// Elements of A's rows read per DMA before transposing (2 KiB of bf16
/// per partition, trainium.md §1.6).
const ROWS_CHUNK: usize = 1024;
/// Row chunk slots every blocking must leave room for: one loading while
/// the other is transposed.
const MIN_ROW_SLOTS: usize = 2;

/// 128-column transposes of A that fill one PSUM bank, copied to SBUF by
/// one instruction (trainium.md §1.1: 2 KiB per partition per bank).
fn transposes_per_bank(a: DType) -> usize {
    (trnc_ir::target::PSUM_BANK_BYTES / (PARTITIONS * a.size_bytes())).max(1)
}

/// Block sizes, in tiles: `m` row tiles of 128 and `n` column tiles of 512
/// accumulate in PSUM over all of K, fed `k` contraction tiles of B at a
/// time (double-buffered). Aᵀ for the `m` row tiles stays in SBUF for the
/// whole of K and every column block, so A is read and transposed once;
/// B is read once per row block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulBlocks {
    pub m: usize,
    pub n: usize,
    pub k: usize,
}

impl MatmulBlocks {
    /// SBUF bytes per partition of the kernel's tiles for contraction size
    /// `k`, with `extra` more [128, 512] tiles for the epilogue.
    pub fn sbuf_bytes(&self, k: usize, a: DType, b: DType, extra: usize) -> usize {
        let (sa, sb) = (a.size_bytes(), b.size_bytes());
        MIN_ROW_SLOTS * ROWS_CHUNK * sa
            + k.div_ceil(PARTITIONS) * self.m * PARTITIONS * sa
            + 2 * self.k * self.n * MATMUL_MOVING_FREE * sb
            + (1 + extra) * MATMUL_MOVING_FREE * 4
    }
}

/// The largest blocks that fit the target's SBUF and the PSUM banks, for
/// callers that do not choose.
fn default_blocks(m: usize, n: usize, k: usize, a: DType, b: DType, extra: usize, target: Target) -> MatmulBlocks {
    let (mt, nt, kt) = (m.div_ceil(PARTITIONS), n.div_ceil(MATMUL_MOVING_FREE), k.div_ceil(PARTITIONS));
    for (bm, bn, bk) in [(6, 1, 8), (4, 1, 8), (2, 1, 8), (1, 1, 8), (1, 1, 2), (1, 1, 1)] {
        let blocks = MatmulBlocks { m: bm.min(mt).max(1), n: bn.min(nt).max(1), k: bk.min(kt).max(1) };
        if blocks.sbuf_bytes(k, a, b, extra) <= target.sbuf_bytes_per_partition() {
            return blocks;
        }
    }
    MatmulBlocks { m: 1, n: 1, k: 1 }
}

struct Tiles {
    /// Chunks of A's rows as loaded: [m rows, slot, ROWS_CHUNK of k].
    rows: TileId,
    row_slots: usize,
    /// Two banks of 128×128 pieces of A transposed by TensorE: [k, bank,
    /// piece, m].
    rows_t: TileId,
    /// Aᵀ of the row block for all of K: [k, k tile, m].
    at: TileId,
    /// Two slots of B for a K block: [k, slot·k tile, n].
    bt: TileId,
    /// The block's accumulators, one PSUM bank each.
    acc: TileId,
    /// The matmul's result in SBUF: one column tile, or a whole row.
    ct: TileId,
    /// Free size of `ct` and of the epilogue's tiles.
    width: usize,
}

struct Ctx<'c> {
    info: &'c GroupInfo<'c>,
    a: &'c Operand2,
    t: &'c Tiles,
    k: usize,
    blocks: MatmulBlocks,
}

/// The tiles of an extent: (index, start, size).
fn tiles_of(extent: usize, tile: usize) -> Vec<(usize, usize, usize)> {
    (0..extent.div_ceil(tile)).map(|i| (i, i * tile, tile.min(extent - i * tile))).collect()
}

impl Ctx<'_> {
    /// Aᵀ for rows `m0..m0+msize` and all of K: rows read contiguously, each
    /// 128×128 piece transposed on TensorE (trainium.md §1.3) into one of two
    /// PSUM banks, a bank's pieces copied to SBUF by one VectorE copy while
    /// TensorE fills the other.
    fn transpose_a(&self, bld: &mut Builder, index: &[usize], m0: &Affine, msize: usize, mm: usize) {
        let (a, t) = (self.a, self.t);
        let rank = a.view.dims.len();
        let (a_row, a_k) = (a.view.dims[rank - 2].0, a.view.dims[rank - 1].0);
        let per_bank = transposes_per_bank(bld.tile_dtype(t.rows));
        bld.set_note(self.info.describe(mm));
        let (mut chunk, mut bank) = (0, 0);
        for (mi, ms, mt) in tiles_of(msize, PARTITIONS) {
            for (_, cs, cn) in tiles_of(self.k, ROWS_CHUNK) {
                let slot = chunk % t.row_slots;
                chunk += 1;
                let src = HbmAccess {
                    tensor: bld.input_id(a.input),
                    offset: offset_at(&a.view, index, &m0.clone().offset(ms as i64), &Affine::constant(cs as i64)),
                    pattern: vec![(a_row, mt), (a_k, cn)],
                };
                bld.emit(Inst::DmaCopy { dst: Operand::Tile(slab(t.rows, mt, slot, 0, cn)), src: Operand::Hbm(src) });
                // Pieces copied together must have the same height: only
                // K's last piece may be shorter.
                let pieces = tiles_of(cn, PARTITIONS);
                let full: Vec<_> = pieces.iter().copied().filter(|p| p.2 == PARTITIONS).collect();
                let short: Vec<_> = pieces.iter().copied().filter(|p| p.2 != PARTITIONS).collect();
                for group in full.chunks(per_bank).chain(short.chunks(1)) {
                    let kt = group[0].2;
                    for (j, &(_, ks, _)) in group.iter().enumerate() {
                        bld.emit(Inst::Transpose {
                            dst: TileAccess {
                                tile: t.rows_t,
                                partition_start: Affine::constant(0),
                                partitions: kt,
                                free: vec![
                                    (Affine::constant(bank as i64), 1),
                                    (Affine::constant(j as i64), 1),
                                    (Affine::constant(0), mt),
                                ],
                            },
                            src: slab(t.rows, mt, slot, ks, kt),
                            engine: Engine::Tensor,
                        });
                    }
                    bld.emit(Inst::TensorCopy {
                        dst: TileAccess {
                            tile: t.at,
                            partition_start: Affine::constant(0),
                            partitions: kt,
                            free: vec![
                                (Affine::constant(((cs + group[0].1) / PARTITIONS) as i64), group.len()),
                                (Affine::constant((mi * PARTITIONS) as i64), mt),
                            ],
                        },
                        src: TileAccess {
                            tile: t.rows_t,
                            partition_start: Affine::constant(0),
                            partitions: kt,
                            free: vec![
                                (Affine::constant(bank as i64), 1),
                                (Affine::constant(0), group.len()),
                                (Affine::constant(0), mt),
                            ],
                        },
                        engine: Engine::Vector,
                    });
                    bank = 1 - bank;
                }
            }
        }
    }

    /// One output block: rows `m0..m0+msize`, columns `n0..n0+nsize`,
    /// accumulated in PSUM over all K blocks, then the epilogue and stores.
    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        bld: &mut Builder,
        chain: &Chain,
        index: &[usize],
        m0: &Affine,
        msize: usize,
        n0: &Affine,
        nsize: usize,
    ) -> Result<(), LowerError> {
        let (info, b, t) = (self.info, &chain.b, self.t);
        let rank = b.view.dims.len();
        let (b_k, b_col) = (b.view.dims[rank - 2].0, b.view.dims[rank - 1].0);
        bld.set_note(info.describe(chain.mm));
        let m_tiles = tiles_of(msize, PARTITIONS);
        let n_tiles = tiles_of(nsize, MATMUL_MOVING_FREE);
        // K blocks are unrolled so that B alternates between two slots: the
        // DMA of the next block overlaps the matmuls of this one.
        for (kb, kbs, kbn) in tiles_of(self.k, self.blocks.k * PARTITIONS) {
            let slot = (kb % 2) * self.blocks.k;
            let k_tiles = tiles_of(kbn, PARTITIONS);
            for &(ki, ks, kt) in &k_tiles {
                let src = HbmAccess {
                    tensor: bld.input_id(b.input),
                    offset: offset_at(&b.view, index, &Affine::constant((kbs + ks) as i64), n0),
                    pattern: vec![(b_k, kt), (b_col, nsize)],
                };
                bld.emit(Inst::DmaCopy {
                    dst: Operand::Tile(slab(t.bt, kt, slot + ki, 0, nsize)),
                    src: Operand::Hbm(src),
                });
            }
            // Row tile, then K, then column tile: each stationary Aᵀ tile
            // serves every column tile back to back, so TensorE loads it
            // once (trainium.md §1.3), and in the last K block the first
            // row's accumulators finish first, so ScalarE empties them
            // while TensorE works on the others.
            for &(mi, _, mt) in &m_tiles {
                for &(ki, ks, kt) in &k_tiles {
                    for &(ni, ns, nt) in &n_tiles {
                        let first = kbs + ks == 0;
                        bld.emit(Inst::Matmul {
                            dst: slab(t.acc, mt, mi * self.blocks.n + ni, 0, nt),
                            stationary: slab(t.at, kt, (kbs + ks) / PARTITIONS, mi * PARTITIONS, mt),
                            moving: slab(t.bt, kt, slot + ki, ns, nt),
                            accumulate: if first { Accumulate::Overwrite } else { Accumulate::Add },
                        });
                    }
                }
            }
        }
        let whole_rows = chain.whole_rows;
        for &(mi, ms, mt) in &m_tiles {
            for &(ni, ns, nt) in &n_tiles {
                bld.set_note(info.describe(chain.mm));
                let at = if whole_rows { ns } else { 0 };
                let result = region_at(t.ct, mt, Affine::constant(at as i64), nt);
                let acc = slab(t.acc, mt, mi * self.blocks.n + ni, 0, nt);
                // ScalarE and VectorE take turns emptying the accumulators:
                // the block's tail is half as long, and VectorE, which also
                // copies the next row block's transposes out of PSUM, never
                // has a whole block's evacuations queued ahead of them.
                if (mi * self.blocks.n + ni) % 2 == 1 {
                    bld.emit(Inst::Activation {
                        dst: result.clone(),
                        src: acc,
                        func: ActFunc::Copy,
                        scale: ScalarOperand::Imm(1.0),
                        bias: None,
                        reduce: None,
                    });
                } else {
                    bld.emit(Inst::TensorCopy { dst: result.clone(), src: acc, engine: Engine::Vector });
                }
                if !whole_rows {
                    let (m_at, n_at) = (m0.clone().offset(ms as i64), n0.clone().offset(ns as i64));
                    let window = Window { index, m0: &m_at, mt, n0: &n_at, nt, width: t.width };
                    epilogue_and_store(bld, info, &chain.tail(), result, &window)?;
                }
            }
            if whole_rows {
                let m_at = m0.clone().offset(ms as i64);
                let window = Window { index, m0: &m_at, mt, n0, nt: nsize, width: t.width };
                epilogue_and_store(bld, info, &chain.tail(), region(t.ct, mt, nsize), &window)?;
            }
        }
        Ok(())
    }
}

/// Operand `k` of node `node`, which must come from an HBM input, as a view
/// broadcast to `shape`.
fn operand(info: &GroupInfo, node: usize, k: usize, shape: &[usize]) -> Result<Operand2, LowerError> {
    let (input, view) = info.input_operand(node, k, shape)?;
    Ok(Operand2 { input, view })
}
