//! Flash-style attention: softmax(q·kᵀ·scale + mask)·v with an online
//! softmax over key tiles, so the score matrix never reaches HBM.
//!
//! Data movement follows NKI's flash-attention kernels: q, k and v are read
//! with rows on the partitions and the head dimension contiguous in the
//! free axis (one descriptor per row, not per element, trainium.md §1.6),
//! and q and k are transposed on TensorE (§1.3) so that the head dimension
//! D ≤ 128 lies on the partitions for the score matmul.
//!
//! Heads (the last batch dimension) are handled in groups of G: one DMA
//! brings a tile of rows for all G heads, so a layout whose heads are
//! interleaved in memory (`[b, s, h, d]` seen through a transpose) reads
//! runs of G·D elements. For each group, kᵀ and v of every key stay in
//! SBUF for all query tiles ([`load::Plan`]); when they do not fit, key
//! blocks of 512 are reloaded per query tile instead.
//!
//! Per query tile of ≤ 128 rows and head ([`softmax`]):
//! - scores s = (scale·qᵀ)ᵀ · kᵀ into PSUM, ≤ 512 keys per tile (one bank);
//!   the scale is applied when qᵀ is copied out of PSUM, for free;
//! - plus the mask tile, or the causal mask with affine_select on the
//!   tiles that straddle the diagonal (key j hidden from query i when
//!   j > i); fully hidden tiles are skipped;
//! - running max, p = exp(s - max) on ScalarE with the row sum as the
//!   activation's free-axis reduction (§1.4), correction exp(m_old - m);
//! - p·v: p transposed 128 keys at a time on TensorE, accumulated in PSUM;
//! - o / l at the end, the FlashAttention-2 deferred division (§3.1).

mod load;
mod softmax;

use crate::builder::Builder;
use crate::error::LowerError;
use crate::group::GroupInfo;
use crate::tiling::unravel;
use crate::view::StridedView;
use load::{Loads, Plan};
use trnc_ir::kernel::{Affine, HbmAccess, Inst, Kernel, Operand, TileAccess};
use trnc_ir::target::{MATMUL_MOVING_FREE, PARTITIONS};
use trnc_ir::{DType, Op, Target};

/// Stands for -inf in running maxima and hidden scores: finite, so that
/// exp(m_old - m_new) never computes inf - inf.
const LOWEST: f64 = -3.0e38;

/// An operand as a strided view of `[batch.., rows, cols]`.
struct View {
    input: usize,
    view: StridedView,
}

impl View {
    /// Flat offset of element (batch index, row r, column c).
    fn at(&self, index: &[usize], r: usize, c: usize) -> Affine {
        let base: i64 = index.iter().zip(&self.view.dims).map(|(&i, &(s, _))| i as i64 * s).sum();
        let (rs, cs) = self.strides();
        Affine::constant(self.view.offset + base + r as i64 * rs + c as i64 * cs)
    }

    /// Row and column strides.
    fn strides(&self) -> (i64, i64) {
        let rank = self.view.dims.len();
        (self.view.dims[rank - 2].0, self.view.dims[rank - 1].0)
    }

    /// Stride of the head dimension (the last batch dimension), 0 without one.
    fn head_stride(&self) -> i64 {
        let rank = self.view.dims.len();
        if rank > 2 {
            self.view.dims[rank - 3].0
        } else {
            0
        }
    }

    /// Contiguous elements per row of a [rows, heads, cols] window: the
    /// heads extend a row's run when they follow each other in memory.
    fn run(&self, heads: usize, cols: usize) -> usize {
        let (_, cs) = self.strides();
        match (cs, self.head_stride()) {
            (1, hs) if heads > 1 && hs == cols as i64 => heads * cols,
            (1, _) => cols,
            _ => 1,
        }
    }

    /// `rows` rows from `r0` and `cols` columns from `c0` of `heads` heads
    /// from batch index `index`: a [rows, heads, cols] window.
    #[allow(clippy::too_many_arguments)]
    fn window(
        &self,
        b: &Builder,
        index: &[usize],
        r0: usize,
        rows: usize,
        heads: usize,
        c0: usize,
        cols: usize,
    ) -> HbmAccess {
        let (rs, cs) = self.strides();
        HbmAccess {
            tensor: b.input_id(self.input),
            offset: self.at(index, r0, c0),
            pattern: vec![(rs, rows), (self.head_stride(), heads), (cs, cols)],
        }
    }
}

/// Sizes of one attention node.
#[derive(Clone, Copy)]
struct Dims {
    sq: usize,
    sk: usize,
    d: usize,
    dv: usize,
    scale: f64,
    causal: bool,
}

pub(crate) fn lower(info: &GroupInfo, matmul_dtype: Option<DType>, target: Target) -> Result<Kernel, LowerError> {
    let g = info.g;
    let [node] = info.nodes[..] else {
        return Err(info.group_err("not implemented yet: attention fused with other ops"));
    };
    let Op::Attention { scale, causal } = g.nodes[node].op else {
        return Err(info.node_err(node, "not an attention node"));
    };
    let out_shape = info.shape(g.nodes[node].output);
    let rank = out_shape.len();
    let batch = out_shape[..rank - 2].to_vec();
    let q_shape = info.shape(g.nodes[node].inputs[0]);
    let k_shape = info.shape(g.nodes[node].inputs[1]);
    let dims = Dims {
        sq: q_shape[q_shape.len() - 2],
        d: q_shape[q_shape.len() - 1],
        sk: k_shape[k_shape.len() - 2],
        dv: out_shape[rank - 1],
        scale,
        causal,
    };
    if dims.d > PARTITIONS || dims.dv > MATMUL_MOVING_FREE {
        let (d, dv) = (dims.d, dims.dv);
        return Err(info.node_err(node, format!("head sizes must be ≤ 128 (q/k) and ≤ 512 (v), got {d} and {dv}")));
    }
    // TensorE operand dtypes: the inputs', or the requested matmul dtype
    // (DMA casts on the way in).
    let dtypes: Vec<DType> = g.nodes[node].inputs.iter().map(|&v| matmul_dtype.unwrap_or(info.dtype(v))).collect();
    let with = |r: usize, c: usize| [batch.clone(), vec![r, c]].concat();
    let operand = |k: usize, r: usize, c: usize| -> Result<View, LowerError> {
        let (input, view) = info.input_operand(node, k, &with(r, c))?;
        Ok(View { input, view })
    };
    let q = operand(0, dims.sq, dims.d)?;
    let k = operand(1, dims.sk, dims.d)?;
    let v = operand(2, dims.sk, dims.dv)?;
    let mask = match g.nodes[node].inputs.len() {
        4 => Some(operand(3, dims.sq, dims.sk)?),
        _ => None,
    };
    let (heads, outer) = match batch.split_last() {
        Some((&h, outer)) => (h, outer.to_vec()),
        None => (1, Vec::new()),
    };
    let out_dtype = info.dtype(g.nodes[node].output);
    let mask_dtype = mask.as_ref().map(|_| info.dtype(g.nodes[node].inputs[3]));
    let runs = |g: usize| {
        [(&q, dims.d, dtypes[0]), (&k, dims.d, dtypes[1]), (&v, dims.dv, dtypes[2])]
            .iter()
            .map(|(x, cols, dtype)| x.run(g, *cols) * dtype.size_bytes())
            .min()
            .unwrap_or(0)
    };
    let mask_layout = mask.as_ref().map(|m| (m.head_stride(), mask_dtype));
    let plan = Plan::choose(&dims, heads, &dtypes, out_dtype, &runs, mask_layout, target)
        .ok_or_else(|| info.node_err(node, format!("attention tiles do not fit the SBUF of {target}")))?;

    let mut b = info.builder(vec![info.describe(node)]);
    b.set_note(info.describe(node));
    let t = softmax::Tiles::acquire(&mut b, &plan, &dims, &dtypes, out_dtype);
    let mut loads = Loads::new(&mut b, &plan, &dims, &dtypes, mask_dtype);
    let (out_pos, out_view) = info
        .output_view(g.nodes[node].output)
        .ok_or_else(|| info.node_err(node, "the kernel does not write the attention's result"))?;
    let out = View { input: out_pos, view: out_view };
    // Every (head group, query tile) in order, so that the next one's loads
    // can be issued ahead of this one's compute (the DMA queues run ahead
    // of the engines, trainium.md §1.2).
    let mut work = Vec::new();
    for oi in 0..outer.iter().product::<usize>().max(1) {
        let outer_index = unravel(oi, &outer);
        for gi in 0..heads / plan.group {
            let index: Vec<usize> = match batch.is_empty() {
                true => Vec::new(),
                false => [outer_index.clone(), vec![gi * plan.group]].concat(),
            };
            for (_, q0, rows) in load::tiles_of(dims.sq, PARTITIONS) {
                work.push((index.clone(), q0, rows));
            }
        }
    }
    let group = |index| load::Group { index, heads: plan.group };
    for (n, (index, q0, rows)) in work.iter().enumerate() {
        let (q0, rows, slot) = (*q0, *rows, n % 2);
        let g = group(index);
        if n == 0 {
            load::rows_tile(&mut b, &t.q_rows[slot], &q, &g, q0, rows, dims.d);
        }
        if plan.block >= dims.sk {
            loads.fetch(&mut b, &plan, &dims, &g, 0, &k, &v);
        }
        if let Some((next, nq0, nrows)) = work.get(n + 1) {
            load::rows_tile(&mut b, &t.q_rows[1 - slot], &q, &group(next), *nq0, *nrows, dims.d);
        }
        // k and v of the next head group load while this one computes.
        if let Some((next, ..)) = work[n..].iter().find(|w| w.0 != *index).filter(|_| plan.block >= dims.sk) {
            loads.fetch(&mut b, &plan, &dims, &group(next), 0, &k, &v);
        }
        // One store per query tile when the heads' rows are contiguous in
        // the output, else one per head as soon as it is done.
        let (rs, cs) = out.strides();
        let per_store = if out.run(plan.group, dims.dv) > dims.dv { plan.group } else { 1 };
        for h in 0..plan.group {
            let ctx = softmax::QueryTile { group: &g, head: h, q0, rows, q_rows: t.q_rows[slot], slot };
            softmax::head(&mut b, &t, &mut loads, &plan, &dims, &ctx, &k, &v, mask.as_ref())?;
            if (h + 1) % per_store > 0 {
                continue;
            }
            let h0 = h + 1 - per_store;
            let mut head_index = index.clone();
            if let Some(last) = head_index.last_mut() {
                *last += h0;
            }
            let dst = HbmAccess {
                tensor: b.output_id(out.input),
                offset: out.at(&head_index, q0, 0),
                pattern: vec![(rs, rows), (out.head_stride(), per_store), (cs, dims.dv)],
            };
            let src = TileAccess {
                tile: t.out[slot],
                partition_start: Affine::constant(0),
                partitions: rows,
                free: vec![(Affine::constant(h0 as i64), per_store), (Affine::constant(0), dims.dv)],
            };
            b.emit(Inst::DmaCopy { dst: Operand::Hbm(dst), src: Operand::Tile(src) });
        }
    }
    Ok(b.finish())
}
