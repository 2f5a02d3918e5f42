//! Row anchors: softmax, log_softmax, layer_norm, rms_norm and the
//! reductions, each as statistics gathered over a row (init, accumulate
//! per chunk, finalize) and an `apply` that produces the result from the
//! input and the statistics.
//!
//! With resident rows (the whole row in one tile) the statistics come from
//! one pass over the tile:
//! - softmax: max → exp with the activation's bias = -max and its reduce
//!   output = the row sum → VectorE reciprocal → multiply (trainium.md §1.4:
//!   `f(x·scale + bias)` with a free-axis sum in one ScalarE instruction);
//! - log_softmax: x - max - log(sum) in one tensor_scalar;
//! - layer_norm: bn_stats on chunks of ≤ 512 elements (bn_stats_fmax,
//!   trainium.md §1.4, §3.1) → bn_aggr → mean, variance → 1/sqrt(var + ε);
//! - rms_norm: square with the activation's sum → 1/sqrt(sum/n + ε);
//! - reductions: tensor_reduce along the free axis.
//!
//! Long rows are chunked: softmax keeps a running max and a running sum
//! rescaled by exp(old max - new max) (online softmax), layer_norm writes
//! every chunk's bn_stats into one tile and aggregates once, the others add
//! (or max/min) per-chunk results into one column.

use crate::body::{Body, Slot};
use crate::builder::{region, region_at, Builder};
use crate::error::LowerError;
use crate::ops::{Ops, Val};
use crate::section::Opd;
use trnc_ir::kernel::{ActFunc, Affine, AluOp, Engine, Inst, Memory, ScalarOperand, TileAccess, TileId};
use trnc_ir::target::PARTITIONS;
use trnc_ir::{DType, Op, ReduceOp};

/// bn_stats reads at most 512 elements per partition (trainium.md §1.4).
const BN_STATS_FMAX: usize = 512;
/// bn_stats writes 6 numbers per partition.
const BN_STATS_WIDTH: usize = 6;

/// The statistics of one anchor for the current row tile.
#[derive(Default)]
pub(crate) struct AnchorState {
    owned: Vec<TileId>,
    /// softmax: running max, then -max; log_softmax: max; layer_norm:
    /// mean; reductions: the accumulator.
    a: Option<TileAccess>,
    /// softmax: running sum, then 1/sum; log_softmax: running sum, then
    /// log(sum); layer_norm and rms_norm: 1/sqrt(.. + ε); rms_norm: the
    /// running sum of squares first.
    b: Option<TileAccess>,
    /// layer_norm: the bn_stats tile.
    stats: Option<TileAccess>,
    /// Resident softmax: the exponentials, reused by apply.
    e: Option<TileId>,
    finalized: bool,
}

impl AnchorState {
    pub fn is_finalized(&self) -> bool {
        self.finalized
    }

    pub fn release(self, b: &mut Builder) {
        for t in self.owned {
            b.release(t);
        }
        if let Some(e) = self.e {
            b.release(e);
        }
    }
}

/// True when a resident apply does not read the input again.
pub(crate) fn apply_keeps_x_free(op: &Op) -> bool {
    matches!(op, Op::Softmax { .. })
}

fn col(body: &Body, b: &mut Builder, st: &mut AnchorState) -> TileAccess {
    let t = b.acquire(Memory::Sbuf, DType::F32, &body.col_shape);
    st.owned.push(t);
    region(t, body.ctx.parts, 1)
}

fn ts(
    b: &mut Builder,
    dst: &TileAccess,
    src: &TileAccess,
    op0: AluOp,
    a: ScalarOperand,
    op1: Option<(AluOp, ScalarOperand)>,
) {
    b.emit(Inst::TensorScalar {
        dst: dst.clone(),
        src: src.clone(),
        op0,
        operand0: a,
        reverse0: false,
        op1: op1.map(|(op, v)| (op, v, false)),
        engine: Engine::Vector,
    });
}

fn imm(v: f64) -> ScalarOperand {
    ScalarOperand::Imm(v)
}

fn pp(t: &TileAccess) -> ScalarOperand {
    ScalarOperand::PerPartition(t.clone())
}

fn act(
    b: &mut Builder,
    dst: &TileAccess,
    src: &TileAccess,
    func: ActFunc,
    bias: Option<&TileAccess>,
    reduce: Option<&TileAccess>,
) {
    b.emit(Inst::Activation {
        dst: dst.clone(),
        src: src.clone(),
        func,
        scale: imm(1.0),
        bias: bias.cloned(),
        reduce: reduce.cloned(),
    });
}

fn reduce_alu(op: ReduceOp) -> AluOp {
    match op {
        ReduceOp::Sum | ReduceOp::Mean => AluOp::Add,
        ReduceOp::Max => AluOp::Maximum,
        ReduceOp::Min => AluOp::Minimum,
    }
}

/// Number of elements a row reduces over.
fn row_len(body: &Body) -> usize {
    body.plan.m.iter().zip(&body.plan.reduced).filter(|(_, &r)| r).map(|(&n, _)| n).product()
}

/// The input tile of anchor `a` in the current chunk. An input that is
/// constant along the row (a column or an immediate) is spread into a tile
/// that the anchor keeps until the row ends.
fn input(body: &mut Body, b: &mut Builder, a: usize) -> Result<(TileAccess, Opd), LowerError> {
    let x = body.operand(a, 0).ok_or_else(|| body.err(a, "internal: anchor without input"))?;
    let v = body.get(b, &x)?;
    if let Val::Tile(t) = v {
        return Ok((t, x));
    }
    let keep = b.acquire(Memory::Sbuf, DType::F32, &body.full_shape);
    body.anchors.entry(a).or_default().owned.push(keep);
    let t = region(keep, body.ctx.parts, body.ctx.width);
    let mut ops = Ops::new(b, &body.full_shape, &body.col_shape, body.ctx.parts, body.ctx.width);
    let r = ops.copy_into(&t, &v);
    ops.done();
    r.map_err(|m| body.err(a, m))?;
    Ok((t, x))
}

/// Chunked rows: allocates and initialises the running statistics.
pub(crate) fn init(body: &mut Body, b: &mut Builder, a: usize) -> Result<(), LowerError> {
    body.note_node(b, a);
    let mut st = AnchorState::default();
    match body.op(a).clone() {
        Op::Softmax { .. } | Op::LogSoftmax { .. } => {
            // -FLT_MAX rather than -inf: exp(m_old - m_new) stays 0 or 1,
            // never exp(-inf + inf) = NaN when a chunk is all -inf.
            let m = col(body, b, &mut st);
            b.emit(Inst::Memset { dst: m.clone(), value: f32::MIN as f64 });
            let s = col(body, b, &mut st);
            b.emit(Inst::Memset { dst: s.clone(), value: 0.0 });
            st.a = Some(m);
            st.b = Some(s);
        }
        Op::LayerNorm { .. } => {
            let t = b.acquire(Memory::Sbuf, DType::F32, &[body.full_shape[0], BN_STATS_WIDTH * body.bn_slots.max(1)]);
            st.owned.push(t);
            st.stats = Some(region(t, body.ctx.parts, BN_STATS_WIDTH * body.bn_slots.max(1)));
        }
        Op::RmsNorm { .. } => {
            let s = col(body, b, &mut st);
            b.emit(Inst::Memset { dst: s.clone(), value: 0.0 });
            st.b = Some(s);
        }
        Op::Reduce { op, .. } => {
            let acc = col(body, b, &mut st);
            let start = match op {
                ReduceOp::Sum | ReduceOp::Mean => 0.0,
                ReduceOp::Max => f64::NEG_INFINITY,
                ReduceOp::Min => f64::INFINITY,
            };
            b.emit(Inst::Memset { dst: acc.clone(), value: start });
            st.a = Some(acc);
        }
        other => return Err(body.err(a, format!("{} is not a row anchor", other.name()))),
    }
    body.anchors.insert(a, st);
    Ok(())
}

/// Chunked rows: adds the current chunk of the input to the statistics.
pub(crate) fn stats(body: &mut Body, b: &mut Builder, a: usize) -> Result<(), LowerError> {
    let (x, xo) = input(body, b, a)?;
    body.note_node(b, a);
    let st = body.anchors.remove(&a).ok_or_else(|| body.err(a, "internal: statistics not initialised"))?;
    let parts = body.ctx.parts;
    let mut scratch: Vec<TileId> = Vec::new();
    let col_shape = body.col_shape.clone();
    let tmp_col = |b: &mut Builder, scratch: &mut Vec<TileId>| {
        let t = b.acquire(Memory::Sbuf, DType::F32, &col_shape);
        scratch.push(t);
        region(t, parts, 1)
    };
    match body.op(a).clone() {
        Op::Softmax { .. } | Op::LogSoftmax { .. } => {
            let (m, s) = (st.a.clone().unwrap_or_else(|| x.clone()), st.b.clone().unwrap_or_else(|| x.clone()));
            let cm = tmp_col(b, &mut scratch);
            b.emit(Inst::TensorReduce {
                dst: cm.clone(),
                src: x.clone(),
                op: AluOp::Maximum,
                axes: vec![1],
                negate: false,
            });
            let mn = tmp_col(b, &mut scratch);
            b.emit(Inst::TensorTensor { dst: mn.clone(), a: m.clone(), b: cm, op: AluOp::Maximum });
            let neg = tmp_col(b, &mut scratch);
            ts(b, &neg, &mn, AluOp::Multiply, imm(-1.0), None);
            let corr = tmp_col(b, &mut scratch);
            act(b, &corr, &m, ActFunc::Exp, Some(&neg), None);
            b.emit(Inst::TensorTensor { dst: s.clone(), a: s.clone(), b: corr, op: AluOp::Multiply });
            let e = b.acquire(Memory::Sbuf, DType::F32, &body.full_shape);
            scratch.push(e);
            let cs = tmp_col(b, &mut scratch);
            act(b, &region(e, parts, body.ctx.width), &x, ActFunc::Exp, Some(&neg), Some(&cs));
            b.emit(Inst::TensorTensor { dst: s.clone(), a: s, b: cs, op: AluOp::Add });
            b.emit(Inst::TensorCopy { dst: m, src: mn, engine: Engine::Vector });
        }
        Op::LayerNorm { .. } => {
            let t = st.stats.clone().ok_or_else(|| body.err(a, "internal: no bn_stats tile"))?;
            bn_stats(b, &t, &x, body.ctx.width, &body.bn_slot);
        }
        Op::RmsNorm { .. } => {
            let s = st.b.clone().ok_or_else(|| body.err(a, "internal: no sum"))?;
            let sq = b.acquire(Memory::Sbuf, DType::F32, &body.full_shape);
            scratch.push(sq);
            let cs = tmp_col(b, &mut scratch);
            act(b, &region(sq, parts, body.ctx.width), &x, ActFunc::Square, None, Some(&cs));
            b.emit(Inst::TensorTensor { dst: s.clone(), a: s, b: cs, op: AluOp::Add });
        }
        Op::Reduce { op, .. } => {
            let acc = st.a.clone().ok_or_else(|| body.err(a, "internal: no accumulator"))?;
            let c = tmp_col(b, &mut scratch);
            let alu = reduce_alu(op);
            b.emit(Inst::TensorReduce { dst: c.clone(), src: x, op: alu, axes: vec![1], negate: false });
            b.emit(Inst::TensorTensor { dst: acc.clone(), a: acc, b: c, op: alu });
        }
        other => return Err(body.err(a, format!("{} is not a row anchor", other.name()))),
    }
    for t in scratch {
        b.release(t);
    }
    body.anchors.insert(a, st);
    body.consume(b, &xo);
    Ok(())
}

/// bn_stats of `width` elements of `x` into consecutive 6-wide slots of
/// `stats`, starting at slot `first`.
fn bn_stats(b: &mut Builder, stats: &TileAccess, x: &TileAccess, width: usize, first: &Affine) {
    let parts = x.partitions;
    let x0 = x.free[0].0.clone();
    for (j, start) in (0..width).step_by(BN_STATS_FMAX).enumerate() {
        let n = BN_STATS_FMAX.min(width - start);
        let slot = crate::tiling::scale(first, BN_STATS_WIDTH as i64).offset((BN_STATS_WIDTH * j) as i64);
        b.emit(Inst::BnStats {
            dst: region_at(stats.tile, parts, slot, BN_STATS_WIDTH),
            src: region_at(x.tile, parts, x0.clone().offset(start as i64), n),
        });
    }
}

/// Turns accumulated statistics into what apply needs.
pub(crate) fn finalize(body: &mut Body, b: &mut Builder, a: usize) -> Result<(), LowerError> {
    body.note_node(b, a);
    let mut st = body.anchors.remove(&a).ok_or_else(|| body.err(a, "internal: statistics not initialised"))?;
    let n = row_len(body) as f64;
    match body.op(a).clone() {
        Op::Softmax { .. } => {
            let (m, s) = (st.a.clone(), st.b.clone());
            if let (Some(m), Some(s)) = (m, s) {
                ts(b, &m, &m, AluOp::Multiply, imm(-1.0), None);
                // VectorE reciprocal: the precise one (trainium.md §1.4).
                ts(b, &s, &s, AluOp::Reciprocal, imm(0.0), None);
            }
        }
        Op::LogSoftmax { .. } => {
            if let Some(s) = st.b.clone() {
                act(b, &s, &s, ActFunc::Log, None, None);
            }
        }
        Op::LayerNorm { epsilon, .. } => {
            let stats = st.stats.clone().ok_or_else(|| body.err(a, "internal: no bn_stats tile"))?;
            let mv_t = b.acquire(Memory::Sbuf, DType::F32, &[body.full_shape[0], 2]);
            st.owned.push(mv_t);
            b.emit(Inst::BnAggr { dst: region(mv_t, body.ctx.parts, 2), src: stats });
            let mean = region_at(mv_t, body.ctx.parts, Affine::constant(0), 1);
            let var = region_at(mv_t, body.ctx.parts, Affine::constant(1), 1);
            let rstd = col(body, b, &mut st);
            rsqrt_plus(b, &rstd, &var, 1.0, epsilon);
            st.a = Some(mean);
            st.b = Some(rstd);
        }
        Op::RmsNorm { epsilon, .. } => {
            if let Some(s) = st.b.clone() {
                rsqrt_plus(b, &s, &s, 1.0 / n, epsilon);
            }
        }
        Op::Reduce { op: ReduceOp::Mean, .. } => {
            if let Some(acc) = st.a.clone() {
                ts(b, &acc, &acc, AluOp::Multiply, imm(1.0 / n), None);
            }
        }
        Op::Reduce { .. } => {}
        other => return Err(body.err(a, format!("{} is not a row anchor", other.name()))),
    }
    st.finalized = true;
    body.anchors.insert(a, st);
    Ok(())
}

/// `dst = 1 / sqrt(src * k + eps)`: ScalarE sqrt, then VectorE's precise
/// reciprocal (trainium.md §1.4), rather than the rsqrt activation.
fn rsqrt_plus(b: &mut Builder, dst: &TileAccess, src: &TileAccess, k: f64, eps: f64) {
    ts(b, dst, src, AluOp::Multiply, imm(k), Some((AluOp::Add, imm(eps))));
    act(b, dst, dst, ActFunc::Sqrt, None, None);
    ts(b, dst, dst, AluOp::Reciprocal, imm(0.0), None);
}

/// Resident rows: the statistics straight from the whole row.
fn resident_stats(body: &mut Body, b: &mut Builder, a: usize) -> Result<(), LowerError> {
    let (x, xo) = input(body, b, a)?;
    body.note_node(b, a);
    let mut st = body.anchors.remove(&a).unwrap_or_default();
    let parts = body.ctx.parts;
    let width = body.ctx.width;
    let mut taken = false;
    match body.op(a).clone() {
        Op::Softmax { .. } | Op::LogSoftmax { .. } => {
            let m = col(body, b, &mut st);
            b.emit(Inst::TensorReduce {
                dst: m.clone(),
                src: x.clone(),
                op: AluOp::Maximum,
                axes: vec![1],
                negate: false,
            });
            let neg = col(body, b, &mut st);
            ts(b, &neg, &m, AluOp::Multiply, imm(-1.0), None);
            let s = col(body, b, &mut st);
            // The exponentials overwrite x when this is x's last read.
            let e = match body.take_last_use(b, &xo) {
                Some(t) => {
                    taken = true;
                    t
                }
                None => b.acquire(Memory::Sbuf, DType::F32, &body.full_shape),
            };
            act(b, &region(e, parts, width), &x, ActFunc::Exp, Some(&neg), Some(&s));
            if let Op::Softmax { .. } = body.op(a) {
                ts(b, &s, &s, AluOp::Reciprocal, imm(0.0), None);
                st.e = Some(e);
                st.a = Some(neg);
            } else {
                b.release(e);
                act(b, &s, &s, ActFunc::Log, None, None);
                st.a = Some(m);
            }
            st.b = Some(s);
            st.finalized = true;
        }
        Op::LayerNorm { .. } => {
            let slots = width.div_ceil(BN_STATS_FMAX);
            let t =
                b.acquire(Memory::Sbuf, DType::F32, &[body.full_shape[0], BN_STATS_WIDTH * body.bn_slots.max(slots)]);
            st.owned.push(t);
            let stats = region(t, parts, BN_STATS_WIDTH * slots);
            bn_stats(b, &stats, &x, width, &Affine::constant(0));
            st.stats = Some(stats);
        }
        Op::RmsNorm { .. } => {
            let s = col(body, b, &mut st);
            let sq = b.acquire(Memory::Sbuf, DType::F32, &body.full_shape);
            act(b, &region(sq, parts, width), &x, ActFunc::Square, None, Some(&s));
            b.release(sq);
            st.b = Some(s);
        }
        Op::Reduce { op, .. } => {
            let acc = col(body, b, &mut st);
            b.emit(Inst::TensorReduce { dst: acc.clone(), src: x, op: reduce_alu(op), axes: vec![1], negate: false });
            st.a = Some(acc);
        }
        other => return Err(body.err(a, format!("{} is not a row anchor", other.name()))),
    }
    let done = st.finalized;
    body.anchors.insert(a, st);
    if !done {
        finalize(body, b, a)?;
    }
    if !taken {
        body.consume(b, &xo);
    }
    Ok(())
}

fn ensure_stats(body: &mut Body, b: &mut Builder, a: usize) -> Result<(), LowerError> {
    if body.anchors.get(&a).is_some_and(|s| s.finalized) {
        return Ok(());
    }
    if !body.resident {
        return Err(body.err(a, "internal: result needed before the statistics pass"));
    }
    resident_stats(body, b, a)
}

/// A reduction's result: its accumulator, rounded to the result's dtype.
pub(crate) fn row_result(body: &mut Body, b: &mut Builder, a: usize) -> Result<Slot, LowerError> {
    ensure_stats(body, b, a)?;
    let no_stats = body.err(a, "internal: no accumulator");
    let st = body.anchors.get_mut(&a).ok_or_else(|| no_stats.clone())?;
    let acc = st.a.take().ok_or(no_stats)?;
    // The column now belongs to the value (released with the row's values).
    st.owned.retain(|&t| t != acc.tile);
    let dtype = body.info.dtype(body.info.g.nodes[a].output);
    if dtype == DType::F32 {
        return Ok(Slot { tile: acc.tile, col: true });
    }
    body.note_node(b, a);
    let narrow = b.acquire(Memory::Sbuf, dtype, &body.col_shape);
    b.emit(Inst::TensorCopy { dst: region(narrow, body.ctx.parts, 1), src: acc.clone(), engine: Engine::Vector });
    b.release(acc.tile);
    Ok(Slot { tile: body.widen(b, narrow), col: true })
}

/// The full result of softmax, log_softmax, layer_norm or rms_norm for the
/// current chunk.
pub(crate) fn apply(body: &mut Body, b: &mut Builder, a: usize) -> Result<Slot, LowerError> {
    ensure_stats(body, b, a)?;
    let info = body.info;
    let out = info.dtype(info.g.nodes[a].output);
    let (parts, width) = (body.ctx.parts, body.ctx.width);
    let (sa, sb, e) = {
        let no_stats = body.err(a, "internal: no statistics");
        let resident = body.resident;
        let st = body.anchors.get_mut(&a).ok_or(no_stats)?;
        (st.a.clone(), st.b.clone(), if resident { st.e.take() } else { None })
    };
    let missing = || body.err(a, "internal: statistics missing");
    if let Some(e) = e {
        // Resident softmax: y = e · (1/sum), in place when y is f32.
        body.note_node(b, a);
        let r = sb.ok_or_else(missing)?;
        let dst = if out == DType::F32 { e } else { b.acquire(Memory::Sbuf, out, &body.full_shape) };
        ts(b, &region(dst, parts, width), &region(e, parts, width), AluOp::Multiply, pp(&r), None);
        if dst != e {
            b.release(e);
        }
        return Ok(Slot { tile: dst, col: false });
    }
    let opds: Vec<Opd> = (0..3).filter_map(|k| body.operand(a, k)).collect();
    let mut vals = Vec::new();
    for o in &opds {
        vals.push(body.get(b, o)?);
    }
    let (tile, reused) = body.full_dst(b, a, out);
    body.note_node(b, a);
    let dst = region(tile, parts, width);
    let mut ops = Ops::new(b, &body.full_shape, &body.col_shape, parts, width);
    let result = apply_with(&mut ops, body.op(a), &vals, sa, sb, &dst, out);
    ops.done();
    result.map_err(|m| body.err(a, m))?;
    body.forget_reused(reused);
    for o in &opds {
        if reused != crate::body::opd_key(o.clone()) {
            body.consume(b, o);
        }
    }
    Ok(Slot { tile, col: false })
}

fn apply_with(
    ops: &mut Ops,
    op: &Op,
    vals: &[Val],
    sa: Option<TileAccess>,
    sb: Option<TileAccess>,
    dst: &TileAccess,
    out: DType,
) -> Result<(), String> {
    let x = vals.first().ok_or("anchor without input")?;
    let x = ops.as_tile(x);
    let missing = || "statistics missing".to_string();
    match op {
        Op::Softmax { .. } => {
            // exp(x - max), then · 1/sum; f32 results go straight to dst.
            let (neg, r) = (sa.ok_or_else(missing)?, sb.ok_or_else(missing)?);
            let e = ops.act_biased(ActFunc::Exp, &x, &neg, out == DType::F32, dst);
            ops.b.emit(Inst::TensorScalar {
                dst: dst.clone(),
                src: e,
                op0: AluOp::Multiply,
                operand0: pp(&r),
                reverse0: false,
                op1: None,
                engine: Engine::Vector,
            });
            Ok(())
        }
        Op::LogSoftmax { .. } => {
            let (m, ls) = (sa.ok_or_else(missing)?, sb.ok_or_else(missing)?);
            ts(ops.b, dst, &x, AluOp::Subtract, pp(&m), Some((AluOp::Subtract, pp(&ls))));
            Ok(())
        }
        Op::LayerNorm { .. } | Op::RmsNorm { .. } => {
            let rstd = sb.ok_or_else(missing)?;
            let scale = vals.get(1);
            let bias = vals.get(2);
            let norm_dst = if scale.is_none() { dst.clone() } else { ops.scratch_tile() };
            match (op, sa) {
                (Op::LayerNorm { .. }, Some(mean)) => {
                    ts(ops.b, &norm_dst, &x, AluOp::Subtract, pp(&mean), Some((AluOp::Multiply, pp(&rstd))))
                }
                (Op::LayerNorm { .. }, None) => return Err(missing()),
                _ => ts(ops.b, &norm_dst, &x, AluOp::Multiply, pp(&rstd), None),
            }
            match (scale, bias) {
                (None, _) => Ok(()),
                (Some(s), None) => ops.alu_into(dst, AluOp::Multiply, &Val::Tile(norm_dst), s),
                (Some(s), Some(bv)) => {
                    // Scale in place in the scratch tile, then add the bias
                    // into dst: one full-width scratch tile, not two.
                    let norm = Val::Tile(norm_dst.clone());
                    ops.alu_into(&norm_dst, AluOp::Multiply, &norm, s)?;
                    ops.alu_into(dst, AluOp::Add, &norm, bv)
                }
            }
        }
        other => Err(format!("{} has no full result", other.name())),
    }
}

/// layer_norm or rms_norm of rows a generator already holds in SBUF (`vals`:
/// x, then scale and bias, each `parts × width` with the normalised axis on
/// the free axis), e.g. a matmul's output rows. The same instructions as a
/// row section's resident path: bn_stats/bn_aggr for the mean and variance,
/// ScalarE square with a free-axis sum for the mean square.
pub(crate) fn norm_rows(ops: &mut Ops, op: &Op, vals: &[Val], dst: &TileAccess) -> Result<(), String> {
    let x = ops.as_tile(vals.first().ok_or("norm without input")?);
    let (parts, width) = (x.partitions, x.free.iter().map(|f| f.1).product::<usize>());
    let mut owned = Vec::new();
    let col = |b: &mut Builder, owned: &mut Vec<TileId>, n: usize| {
        let t = b.acquire(Memory::Sbuf, DType::F32, &[PARTITIONS, n]);
        owned.push(t);
        region(t, parts, n)
    };
    let (mean, rstd) = match *op {
        Op::LayerNorm { epsilon, .. } => {
            let slots = width.div_ceil(BN_STATS_FMAX);
            let stats = col(ops.b, &mut owned, BN_STATS_WIDTH * slots);
            bn_stats(ops.b, &stats, &x, width, &Affine::constant(0));
            let mv = col(ops.b, &mut owned, 2);
            ops.b.emit(Inst::BnAggr { dst: mv.clone(), src: stats });
            let rstd = col(ops.b, &mut owned, 1);
            rsqrt_plus(ops.b, &rstd, &region_at(mv.tile, parts, Affine::constant(1), 1), 1.0, epsilon);
            (Some(region_at(mv.tile, parts, Affine::constant(0), 1)), rstd)
        }
        Op::RmsNorm { epsilon, .. } => {
            let s = col(ops.b, &mut owned, 1);
            let sq = col(ops.b, &mut owned, width);
            act(ops.b, &sq, &x, ActFunc::Square, None, Some(&s));
            rsqrt_plus(ops.b, &s, &s, 1.0 / width as f64, epsilon);
            (None, s)
        }
        ref other => return Err(format!("{} is not a norm", other.name())),
    };
    let result = apply_with(ops, op, vals, mean, Some(rstd), dst, DType::F32);
    for t in owned {
        ops.b.release(t);
    }
    result
}
