//! What attention keeps in SBUF and how it gets there: the head group and
//! key block sizes ([`Plan`]), and the loads of q rows, kᵀ, v and mask
//! tiles ([`Loads`]), each done once per the data it holds.

use super::{Dims, View};
use crate::builder::{region, region_at, slab, Builder};
use crate::tiling::split;
use trnc_ir::kernel::{ActFunc, Affine, Engine, HbmAccess, Inst, Memory, Operand, ScalarOperand, TileAccess, TileId};
use trnc_ir::target::{MATMUL_MOVING_FREE, PARTITIONS};
use trnc_ir::{DType, Target};

/// Contiguous bytes per partition from which a DMA runs at full rate
/// (trainium.md §1.6): more heads per transfer than this buys nothing.
const DMA_FULL_RATE_BYTES: usize = 2048;

/// Tile sizes of one attention kernel.
pub(super) struct Plan {
    /// Heads per group: loaded together, one DMA per operand and row tile.
    pub group: usize,
    /// Keys whose kᵀ and v are held at once: all of them (loaded once per
    /// head group), or a multiple of 512 reloaded per query tile.
    pub block: usize,
    /// Heads the mask tile holds: 1 when the mask is the same for every
    /// head (broadcast), else the group.
    pub mask_heads: usize,
}

impl Plan {
    /// The largest head group whose rows still gain from a longer DMA run
    /// and whose tiles fit the target's SBUF with every key resident; else
    /// one head and key blocks of 512.
    pub fn choose(
        dims: &Dims,
        heads: usize,
        dtypes: &[DType],
        out: DType,
        runs: &dyn Fn(usize) -> usize,
        mask: Option<(i64, Option<DType>)>,
        target: Target,
    ) -> Option<Plan> {
        let budget = target.sbuf_bytes_per_partition();
        let mask_heads = |g: usize| match mask {
            Some((0, _)) | None => 1,
            Some(_) => g,
        };
        let fits = |p: &Plan| p.sbuf_bytes(dims, dtypes, out, mask.and_then(|m| m.1)) <= budget;
        // The smallest group with the longest DMA runs (capped where the
        // rate stops growing, trainium.md §1.6): more heads than that only
        // delay the first compute.
        let best = (1..=heads).map(|g| runs(g).min(DMA_FULL_RATE_BYTES)).max().unwrap_or(0);
        let mut groups: Vec<usize> = (1..=heads).filter(|&g| heads.is_multiple_of(g)).collect();
        groups.sort_by_key(|&g| (runs(g).min(DMA_FULL_RATE_BYTES) < best, g));
        for g in groups {
            let p = Plan { group: g, block: dims.sk.max(1), mask_heads: mask_heads(g) };
            if fits(&p) {
                return Some(p);
            }
        }
        let p = Plan { group: 1, block: MATMUL_MOVING_FREE, mask_heads: 1 };
        fits(&p).then_some(p)
    }

    fn chunks(&self) -> usize {
        self.block.div_ceil(PARTITIONS)
    }

    /// SBUF bytes per partition of every tile the kernel declares (two
    /// slots of each loaded tile, so that loads overlap compute).
    pub fn sbuf_bytes(&self, dims: &Dims, dtypes: &[DType], out: DType, mask: Option<DType>) -> usize {
        let (sq, sk, sv) = (dtypes[0].size_bytes(), dtypes[1].size_bytes(), dtypes[2].size_bytes());
        let (g, w) = (self.group, MATMUL_MOVING_FREE);
        let loaded = self.chunks() * g * (dims.d * sk + dims.dv * sv)
            + g * self.block * sk
            + mask.map_or(0, |m| self.mask_heads * self.block * m.size_bytes());
        let fixed = g * dims.d * sq + PARTITIONS * sq + g * dims.dv * out.size_bytes() + 2 * w * sv;
        2 * (loaded + fixed) + w * 4 + dims.dv * 4 + 7 * 4
    }
}

/// The heads of one group: batch index of the first, and how many.
pub(super) struct Group<'g> {
    pub index: &'g [usize],
    pub heads: usize,
}

/// Reads `rows` rows from `r0` of the group's heads into `tile`
/// ([128, heads, cols]): one DMA, rows on the partitions.
pub(super) fn rows_tile(b: &mut Builder, tile: &TileId, x: &View, g: &Group, r0: usize, rows: usize, cols: usize) {
    let src = x.window(b, g.index, r0, rows, g.heads, 0, cols);
    let dst = TileAccess {
        tile: *tile,
        partition_start: Affine::constant(0),
        partitions: rows,
        free: vec![(Affine::constant(0), g.heads), (Affine::constant(0), cols)],
    };
    b.emit(Inst::DmaCopy { dst: Operand::Tile(dst), src: Operand::Hbm(src) });
}

/// What a key slot holds: (batch index of the group, first key), and
/// whether kᵀ is done.
type Held = ((Vec<usize>, usize), bool);

/// The loaded tiles, two slots each, and what each slot holds now.
pub(super) struct Loads {
    /// k rows as loaded: [128, chunk, head, D].
    k_rows: [TileId; 2],
    /// kᵀ: [D, head, key].
    pub kt: [TileId; 2],
    /// v rows: [128, chunk, head, dv].
    pub v: [TileId; 2],
    /// Transposed k chunks on their way to kᵀ: [D, 512].
    k_ps: TileId,
    /// Mask rows: [128, head, key].
    pub mask: [Option<TileId>; 2],
    keys_held: [Option<Held>; 2],
    mask_held: [Option<HbmAccess>; 2],
    next_keys: usize,
    next_mask: usize,
}

impl Loads {
    pub fn new(b: &mut Builder, plan: &Plan, dims: &Dims, dtypes: &[DType], mask: Option<DType>) -> Loads {
        let (g, n, kb) = (plan.group, plan.chunks(), plan.block);
        let mut two = |dtype: DType, shape: &[usize]| [0, 1].map(|_| b.acquire(Memory::Sbuf, dtype, shape));
        let k_rows = two(dtypes[1], &[PARTITIONS, n, g, dims.d]);
        let kt = two(dtypes[1], &[PARTITIONS, g, kb]);
        let v = two(dtypes[2], &[PARTITIONS, n, g, dims.dv]);
        let mask = mask.map(|m| two(m, &[PARTITIONS, plan.mask_heads, kb]));
        Loads {
            k_rows,
            kt,
            v,
            k_ps: b.acquire(Memory::Psum, dtypes[1], &[PARTITIONS, MATMUL_MOVING_FREE]),
            mask: [mask.map(|m| m[0]), mask.map(|m| m[1])],
            keys_held: [None, None],
            mask_held: [None, None],
            next_keys: 0,
            next_mask: 0,
        }
    }

    /// Issues the DMAs of k and v rows of the key block from `kb0` for the
    /// group's heads into a free slot, unless a slot holds them already:
    /// full 128-row chunks in one transfer, the tail in another.
    #[allow(clippy::too_many_arguments)]
    pub fn fetch(
        &mut self,
        b: &mut Builder,
        plan: &Plan,
        dims: &Dims,
        g: &Group,
        kb0: usize,
        k: &View,
        v: &View,
    ) -> usize {
        let key = (g.index.to_vec(), kb0);
        if let Some(slot) = self.keys_held.iter().position(|h| h.as_ref().is_some_and(|h| h.0 == key)) {
            return slot;
        }
        let slot = self.next_keys;
        self.next_keys = 1 - slot;
        self.keys_held[slot] = Some((key, false));
        let keys = plan.block.min(dims.sk - kb0);
        for (x, tile, cols) in [(k, self.k_rows[slot], dims.d), (v, self.v[slot], dims.dv)] {
            for piece in split(keys, PARTITIONS) {
                let (rs, _) = x.strides();
                let mut src = x.window(b, g.index, kb0 + piece.start, piece.size, g.heads, 0, cols);
                if piece.count > 1 {
                    src.pattern.insert(1, (rs * PARTITIONS as i64, piece.count));
                }
                let dst = TileAccess {
                    tile,
                    partition_start: Affine::constant(0),
                    partitions: piece.size,
                    free: vec![
                        (Affine::constant((piece.start / PARTITIONS) as i64), piece.count),
                        (Affine::constant(0), g.heads),
                        (Affine::constant(0), cols),
                    ],
                };
                b.emit(Inst::DmaCopy { dst: Operand::Tile(dst), src: Operand::Hbm(src) });
            }
        }
        slot
    }

    /// The slot holding kᵀ and v of the key block from `kb0`, fetching it
    /// first if needed; kᵀ comes from TensorE transposes of the k rows,
    /// 512 keys per PSUM bank and copy, the first time the block is used.
    #[allow(clippy::too_many_arguments)]
    pub fn keys(
        &mut self,
        b: &mut Builder,
        plan: &Plan,
        dims: &Dims,
        g: &Group,
        kb0: usize,
        k: &View,
        v: &View,
    ) -> usize {
        let slot = self.fetch(b, plan, dims, g, kb0, k, v);
        let Some((_, transposed)) = self.keys_held[slot].as_mut() else { return slot };
        if *transposed {
            return slot;
        }
        *transposed = true;
        let keys = plan.block.min(dims.sk - kb0);
        for h in 0..g.heads {
            for (i, start, count) in tiles_of(keys, MATMUL_MOVING_FREE) {
                for (c, c0, kc) in tiles_of(count, PARTITIONS) {
                    let chunk = i * (MATMUL_MOVING_FREE / PARTITIONS) + c;
                    b.emit(Inst::Transpose {
                        dst: region_at(self.k_ps, dims.d, Affine::constant(c0 as i64), kc),
                        src: chunk_of(self.k_rows[slot], kc, chunk, h, dims.d),
                        engine: Engine::Tensor,
                    });
                }
                b.emit(Inst::Activation {
                    dst: slab(self.kt[slot], dims.d, h, start, count),
                    src: region(self.k_ps, dims.d, count),
                    func: ActFunc::Copy,
                    scale: ScalarOperand::Imm(1.0),
                    bias: None,
                    reduce: None,
                });
            }
        }
        slot
    }

    /// The slot holding the mask rows `q0..q0+rows` for the key block from
    /// `kb0`, loading them if no slot does (a mask broadcast over heads or
    /// queries is read once, not per head or query tile).
    #[allow(clippy::too_many_arguments)]
    pub fn mask(
        &mut self,
        b: &mut Builder,
        plan: &Plan,
        dims: &Dims,
        g: &Group,
        q0: usize,
        rows: usize,
        kb0: usize,
        m: &View,
    ) -> TileId {
        let keys = plan.block.min(dims.sk - kb0);
        let src = m.window(b, g.index, q0, rows, plan.mask_heads, kb0, keys);
        let tiles = self.mask.map(|t| t.expect("a mask tile when the node has a mask"));
        if let Some(slot) = self.mask_held.iter().position(|h| h.as_ref() == Some(&src)) {
            return tiles[slot];
        }
        let slot = self.next_mask;
        self.next_mask = 1 - slot;
        self.mask_held[slot] = Some(src.clone());
        let dst = TileAccess {
            tile: tiles[slot],
            partition_start: Affine::constant(0),
            partitions: rows,
            free: vec![(Affine::constant(0), plan.mask_heads), (Affine::constant(0), keys)],
        };
        b.emit(Inst::DmaCopy { dst: Operand::Tile(dst), src: Operand::Hbm(src) });
        tiles[slot]
    }
}

/// Partitions `0..p` of row chunk `chunk`, head `h` of a [128, chunk, head,
/// cols] tile.
pub(super) fn chunk_of(tile: TileId, p: usize, chunk: usize, h: usize, cols: usize) -> TileAccess {
    TileAccess {
        tile,
        partition_start: Affine::constant(0),
        partitions: p,
        free: vec![(Affine::constant(chunk as i64), 1), (Affine::constant(h as i64), 1), (Affine::constant(0), cols)],
    }
}

/// The tiles of an extent: (index, start, size).
pub(super) fn tiles_of(extent: usize, tile: usize) -> Vec<(usize, usize, usize)> {
    (0..extent.div_ceil(tile)).map(|i| (i, i * tile, tile.min(extent - i * tile))).collect()
}
