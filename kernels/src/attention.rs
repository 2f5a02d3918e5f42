//! Flash-style attention: softmax(q·kᵀ·scale + mask)·v with an online
//! softmax over key tiles, so the score matrix never reaches HBM.
//!
//! Per batch and per tile of ≤ 128 queries (on the partitions):
//! - scores s[q, j] = qᵀ-stationary × kᵀ-moving on TensorE (head dim D ≤ 128
//!   on the partitions, ≤ 512 keys per tile: one PSUM bank, trainium.md §1.3);
//! - s·scale + mask (mask tiles read through the mask's broadcast view), or
//!   the causal mask generated with affine_select (key j hidden from query
//!   i when j > i) instead of read;
//! - running max m, p = exp(s - m) on ScalarE with the row sum as the
//!   activation's free-axis reduction (§1.4), correction exp(m_old - m);
//! - p·v: p is transposed 128 keys at a time on TensorE so that keys are
//!   on the partitions, then accumulated in PSUM;
//! - at the end o / l, the FlashAttention-2 deferred division (§3.1).
//!
//! Query and key tiles are unrolled so that the causal mask's offset
//! (first query − first key) is a constant; fully hidden key tiles are
//! skipped.

use crate::builder::{region, region_at, Builder};
use crate::error::LowerError;
use crate::group::GroupInfo;
use crate::tiling::{split, unravel};
use crate::view::StridedView;
use trnc_ir::kernel::{
    Accumulate, ActFunc, Affine, AluOp, Engine, HbmAccess, Inst, Kernel, Memory, Operand, ScalarOperand, TileAccess,
    TileId,
};
use trnc_ir::target::{MATMUL_MOVING_FREE, PARTITIONS};
use trnc_ir::{DType, Op};

/// Stands for -inf in running maxima and hidden scores: finite, so that
/// exp(m_old - m_new) never computes inf - inf.
const LOWEST: f64 = -3.0e38;

struct View {
    input: usize,
    view: StridedView,
}

impl View {
    /// Flat offset of element (batch index, row r, column c).
    fn at(&self, index: &[usize], r: i64, c: i64) -> Affine {
        let rank = self.view.dims.len();
        let base: i64 = index.iter().zip(&self.view.dims).map(|(&i, &(s, _))| i as i64 * s).sum();
        Affine::constant(self.view.offset + base + r * self.view.dims[rank - 2].0 + c * self.view.dims[rank - 1].0)
    }

    fn strides(&self) -> (i64, i64) {
        let rank = self.view.dims.len();
        (self.view.dims[rank - 2].0, self.view.dims[rank - 1].0)
    }
}

fn input_view(info: &GroupInfo, node: usize, k: usize, shape: &[usize]) -> Result<View, LowerError> {
    let (input, view) = info.input_operand(node, k, shape)?;
    Ok(View { input, view })
}

/// The kernel's tiles.
struct Tiles {
    qt: TileId,
    kt: TileId,
    s_ps: TileId,
    s: TileId,
    p: TileId,
    pt_ps: TileId,
    pt: TileId,
    v: TileId,
    pv_ps: TileId,
    o: TileId,
    out: TileId,
    /// Per-query columns: max, new max, -max, row sum, l, correction, 1/l.
    cols: [TileId; 7],
}

pub(crate) fn lower(info: &GroupInfo, matmul_dtype: Option<DType>) -> Result<Kernel, LowerError> {
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
    let (sq, d, sk, dv) =
        (q_shape[q_shape.len() - 2], q_shape[q_shape.len() - 1], k_shape[k_shape.len() - 2], out_shape[rank - 1]);
    if d > PARTITIONS || dv > MATMUL_MOVING_FREE {
        return Err(info.node_err(node, format!("head sizes must be ≤ 128 (q/k) and ≤ 512 (v), got {d} and {dv}")));
    }
    // TensorE operand dtypes: the inputs', or the requested matmul dtype
    // (DMA and tensor_copy cast on the way in).
    let dtypes: Vec<DType> = g.nodes[node].inputs.iter().map(|&v| matmul_dtype.unwrap_or(info.dtype(v))).collect();
    let with = |r: usize, c: usize| [batch.clone(), vec![r, c]].concat();
    let q = input_view(info, node, 0, &with(sq, d))?;
    let k = input_view(info, node, 1, &with(sk, d))?;
    let v = input_view(info, node, 2, &with(sk, dv))?;
    let mask = match g.nodes[node].inputs.len() {
        4 => Some(input_view(info, node, 3, &with(sq, sk))?),
        _ => None,
    };
    let mut b = info.builder(vec![info.describe(node)]);
    b.set_note(info.describe(node));
    let (f32, wide) = (DType::F32, MATMUL_MOVING_FREE);
    let t = Tiles {
        qt: b.acquire(Memory::Sbuf, dtypes[0], &[PARTITIONS, PARTITIONS]),
        kt: b.acquire(Memory::Sbuf, dtypes[1], &[PARTITIONS, wide]),
        s_ps: b.acquire(Memory::Psum, f32, &[PARTITIONS, wide]),
        s: b.acquire(Memory::Sbuf, f32, &[PARTITIONS, wide]),
        p: b.acquire(Memory::Sbuf, f32, &[PARTITIONS, wide]),
        pt_ps: b.acquire(Memory::Psum, f32, &[PARTITIONS, PARTITIONS]),
        pt: b.acquire(Memory::Sbuf, dtypes[2], &[PARTITIONS, PARTITIONS]),
        v: b.acquire(Memory::Sbuf, dtypes[2], &[PARTITIONS, wide]),
        pv_ps: b.acquire(Memory::Psum, f32, &[PARTITIONS, wide]),
        o: b.acquire(Memory::Sbuf, f32, &[PARTITIONS, wide]),
        out: b.acquire(Memory::Sbuf, info.dtype(g.nodes[node].output), &[PARTITIONS, wide]),
        cols: std::array::from_fn(|_| b.acquire(Memory::Sbuf, f32, &[PARTITIONS, 1])),
    };
    let mask_tile =
        mask.as_ref().map(|_| b.acquire(Memory::Sbuf, info.dtype(g.nodes[node].inputs[3]), &[PARTITIONS, wide]));
    let out = View { input: 0, view: StridedView::contiguous(&out_shape) };
    for bi in 0..batch.iter().product::<usize>().max(1) {
        let index = unravel(bi, &batch);
        for qp in split(sq, PARTITIONS) {
            for qi in 0..qp.count {
                let q0 = qp.start + qi * qp.size;
                let rows = qp.size;
                query_tile(
                    &mut b,
                    &t,
                    &index,
                    q0,
                    rows,
                    sk,
                    d,
                    dv,
                    scale,
                    causal,
                    &q,
                    &k,
                    &v,
                    mask.as_ref().zip(mask_tile),
                );
                // out[q0.., :] = o / l
                let [.., inv] = t.cols;
                b.emit(Inst::TensorScalar {
                    dst: region(t.out, rows, dv),
                    src: region(t.o, rows, dv),
                    op0: AluOp::Multiply,
                    operand0: ScalarOperand::PerPartition(region(inv, rows, 1)),
                    reverse0: false,
                    op1: None,
                    engine: Engine::Vector,
                });
                let (rs, cs) = out.strides();
                let dst = HbmAccess {
                    tensor: b.output_id(0),
                    offset: out.at(&index, q0 as i64, 0),
                    pattern: vec![(rs, rows), (cs, dv)],
                };
                b.emit(Inst::DmaCopy { dst: Operand::Hbm(dst), src: Operand::Tile(region(t.out, rows, dv)) });
            }
        }
    }
    Ok(b.finish())
}

fn col(t: TileId, rows: usize) -> TileAccess {
    region(t, rows, 1)
}

#[allow(clippy::too_many_arguments)]
fn query_tile(
    b: &mut Builder,
    t: &Tiles,
    index: &[usize],
    q0: usize,
    rows: usize,
    sk: usize,
    d: usize,
    dv: usize,
    scale: f64,
    causal: bool,
    q: &View,
    k: &View,
    v: &View,
    mask: Option<(&View, TileId)>,
) {
    let [m_old, m_new, neg_m, rowsum, l, corr, inv] = t.cols;
    // qᵀ [d, rows]: partition = head dimension.
    let (q_row, q_col) = q.strides();
    let src = HbmAccess {
        tensor: b.input_id(q.input),
        offset: q.at(index, q0 as i64, 0),
        pattern: vec![(q_col, d), (q_row, rows)],
    };
    b.emit(Inst::DmaCopy { dst: Operand::Tile(region(t.qt, d, rows)), src: Operand::Hbm(src) });
    b.emit(Inst::Memset { dst: col(m_old, rows), value: LOWEST });
    b.emit(Inst::Memset { dst: col(l, rows), value: 0.0 });
    b.emit(Inst::Memset { dst: region(t.o, rows, dv), value: 0.0 });
    for kp in split(sk, MATMUL_MOVING_FREE) {
        for ki in 0..kp.count {
            let k0 = kp.start + ki * kp.size;
            let keys = kp.size;
            if causal && k0 > q0 + rows - 1 {
                continue; // every key of this tile is after every query
            }
            // s = (qᵀ)ᵀ · kᵀ on TensorE.
            let (k_row, k_col) = k.strides();
            let src = HbmAccess {
                tensor: b.input_id(k.input),
                offset: k.at(index, k0 as i64, 0),
                pattern: vec![(k_col, d), (k_row, keys)],
            };
            b.emit(Inst::DmaCopy { dst: Operand::Tile(region(t.kt, d, keys)), src: Operand::Hbm(src) });
            b.emit(Inst::Matmul {
                dst: region(t.s_ps, rows, keys),
                stationary: region(t.qt, d, rows),
                moving: region(t.kt, d, keys),
                accumulate: Accumulate::Overwrite,
            });
            let s = region(t.s, rows, keys);
            b.emit(Inst::TensorScalar {
                dst: s.clone(),
                src: region(t.s_ps, rows, keys),
                op0: AluOp::Multiply,
                operand0: ScalarOperand::Imm(scale),
                reverse0: false,
                op1: None,
                engine: Engine::Vector,
            });
            if let Some((m, mt)) = mask {
                let (m_row, m_col) = m.strides();
                let src = HbmAccess {
                    tensor: b.input_id(m.input),
                    offset: m.at(index, q0 as i64, k0 as i64),
                    pattern: vec![(m_row, rows), (m_col, keys)],
                };
                b.emit(Inst::DmaCopy { dst: Operand::Tile(region(mt, rows, keys)), src: Operand::Hbm(src) });
                b.emit(Inst::TensorTensor { dst: s.clone(), a: s.clone(), b: region(mt, rows, keys), op: AluOp::Add });
            }
            if causal && k0 + keys > q0 + 1 {
                // keep where (q0 + p) - (k0 + j) >= 0
                b.emit(Inst::AffineSelect {
                    dst: s.clone(),
                    src: s.clone(),
                    pattern: vec![(-1, keys)],
                    channel_multiplier: 1,
                    offset: q0 as i64 - k0 as i64,
                    cmp: AluOp::GreaterEqual,
                    on_false: LOWEST,
                });
            }
            // Online softmax.
            b.emit(Inst::TensorReduce {
                dst: col(rowsum, rows),
                src: s.clone(),
                op: AluOp::Maximum,
                axes: vec![1],
                negate: false,
            });
            b.emit(Inst::TensorTensor {
                dst: col(m_new, rows),
                a: col(m_old, rows),
                b: col(rowsum, rows),
                op: AluOp::Maximum,
            });
            b.emit(Inst::TensorScalar {
                dst: col(neg_m, rows),
                src: col(m_new, rows),
                op0: AluOp::Multiply,
                operand0: ScalarOperand::Imm(-1.0),
                reverse0: false,
                op1: None,
                engine: Engine::Vector,
            });
            b.emit(Inst::Activation {
                dst: region(t.p, rows, keys),
                src: s,
                func: ActFunc::Exp,
                scale: ScalarOperand::Imm(1.0),
                bias: Some(col(neg_m, rows)),
                reduce: Some(col(rowsum, rows)),
            });
            b.emit(Inst::Activation {
                dst: col(corr, rows),
                src: col(m_old, rows),
                func: ActFunc::Exp,
                scale: ScalarOperand::Imm(1.0),
                bias: Some(col(neg_m, rows)),
                reduce: None,
            });
            b.emit(Inst::TensorTensor { dst: col(l, rows), a: col(l, rows), b: col(corr, rows), op: AluOp::Multiply });
            b.emit(Inst::TensorTensor { dst: col(l, rows), a: col(l, rows), b: col(rowsum, rows), op: AluOp::Add });
            b.emit(Inst::TensorScalar {
                dst: region(t.o, rows, dv),
                src: region(t.o, rows, dv),
                op0: AluOp::Multiply,
                operand0: ScalarOperand::PerPartition(col(corr, rows)),
                reverse0: false,
                op1: None,
                engine: Engine::Vector,
            });
            // p·v, 128 keys at a time: keys on the partitions.
            let chunks = split(keys, PARTITIONS);
            let mut first = true;
            for cp in chunks {
                for ci in 0..cp.count {
                    let c0 = cp.start + ci * cp.size;
                    let kc = cp.size;
                    b.emit(Inst::Transpose {
                        dst: region(t.pt_ps, kc, rows),
                        src: region_at(t.p, rows, Affine::constant(c0 as i64), kc),
                        engine: Engine::Tensor,
                    });
                    b.emit(Inst::TensorCopy {
                        dst: region(t.pt, kc, rows),
                        src: region(t.pt_ps, kc, rows),
                        engine: Engine::Vector,
                    });
                    let (v_row, v_col) = v.strides();
                    let src = HbmAccess {
                        tensor: b.input_id(v.input),
                        offset: v.at(index, (k0 + c0) as i64, 0),
                        pattern: vec![(v_row, kc), (v_col, dv)],
                    };
                    b.emit(Inst::DmaCopy { dst: Operand::Tile(region(t.v, kc, dv)), src: Operand::Hbm(src) });
                    b.emit(Inst::Matmul {
                        dst: region(t.pv_ps, rows, dv),
                        stationary: region(t.pt, kc, rows),
                        moving: region(t.v, kc, dv),
                        accumulate: if first { Accumulate::Overwrite } else { Accumulate::Add },
                    });
                    first = false;
                }
            }
            b.emit(Inst::TensorTensor {
                dst: region(t.o, rows, dv),
                a: region(t.o, rows, dv),
                b: region(t.pv_ps, rows, dv),
                op: AluOp::Add,
            });
            b.emit(Inst::TensorCopy { dst: col(m_old, rows), src: col(m_new, rows), engine: Engine::Vector });
        }
    }
    b.emit(Inst::TensorScalar {
        dst: col(inv, rows),
        src: col(l, rows),
        op0: AluOp::Reciprocal,
        operand0: ScalarOperand::Imm(0.0),
        reverse0: false,
        op1: None,
        engine: Engine::Vector,
    });
}
