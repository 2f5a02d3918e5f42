//! The hardware rules of each instruction (trainium.md §1.3–1.5,
//! nki-api.md §4–5). Each function checks one instruction for the loop
//! values in `loops`: whole ranges when verifying, the current counters
//! when simulating.
//!
//! Compute engines never touch HBM: that holds by construction, since
//! their operands are `TileAccess`es (only `dma_copy` has `Operand::Hbm`).

use super::bounds::{add, mul, LoopBounds};
use super::region::{engine_operand, free_size, hbm_region, tile_region, within_one_bank};
use crate::kernel::{AluOp, Engine, HbmAccess, Inst, Kernel, Memory, Operand, ScalarOperand, Tile, TileAccess};
use crate::target::{Target, MATMUL_MOVING_FREE, MATMUL_STATIONARY_FREE};
use crate::DType;

/// bn_stats reads at most this many elements per partition (nki-api.md §5
/// `bn_stats_fmax`, trainium.md §1.4).
const BN_STATS_FMAX: u128 = 512;
/// VectorE transposes 32x32 blocks (trainium.md §1.4, nki-api.md §5).
const VECTOR_TRANSPOSE_MAX: u128 = 32;
/// iota and affine_select patterns have at most 4 pairs (nki-api.md §5).
const GPSIMD_PATTERN_MAX: usize = 4;

pub(super) struct Rules<'a> {
    pub k: &'a Kernel,
    pub target: Target,
    pub loops: &'a LoopBounds,
}

pub(super) fn shape_text(a: &TileAccess) -> String {
    let dims: Vec<String> = a.shape().iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}

impl<'a> Rules<'a> {
    fn operand(&self, engine: Engine, role: &str, a: &TileAccess) -> Result<&'a Tile, String> {
        engine_operand(self.k, self.loops, engine, role, a)
    }

    pub fn check(&self, inst: &Inst) -> Result<(), String> {
        let engine = inst.engine();
        match inst {
            Inst::DmaCopy { dst, src } => self.dma_copy(dst, src),
            Inst::DmaGather { dst, table, row_stride, rows, index } => {
                self.dma_gather(dst, table, *row_stride, *rows, index)
            }
            Inst::Matmul { dst, stationary, moving, .. } => self.matmul(dst, stationary, moving),
            Inst::Transpose { dst, src, engine } => self.transpose(dst, src, *engine),
            Inst::TensorTensor { dst, a, b, op } => self.tensor_tensor(engine, dst, a, b, *op),
            Inst::TensorScalar { dst, src, op0, operand0, op1, engine, .. } => {
                self.tensor_scalar(*engine, dst, src, *op0, operand0, op1.as_ref().map(|(op, o, _)| (*op, o)))
            }
            Inst::TensorReduce { dst, src, op, axes, .. } => self.tensor_reduce(engine, dst, src, *op, axes),
            Inst::Activation { dst, src, scale, bias, reduce, .. } => {
                self.activation(engine, dst, src, scale, bias.as_ref(), reduce.as_ref())
            }
            Inst::TensorCopy { dst, src, engine } => self.tensor_copy(*engine, dst, src),
            Inst::Memset { dst, value } => self.memset(engine, dst, *value),
            Inst::Iota { dst, pattern, offset, channel_multiplier } => {
                let dst_tile = self.operand(engine, "dst", dst)?;
                self.gpsimd_pattern(dst, pattern, *offset, *channel_multiplier)?;
                if dst_tile.dtype == DType::Bool {
                    return Err("dst is bool; iota writes numbers (nki-api.md §5)".into());
                }
                Ok(())
            }
            Inst::AffineSelect { dst, src, pattern, channel_multiplier, offset, cmp, on_false } => {
                self.operand(engine, "dst", dst)?;
                self.operand(engine, "src", src)?;
                same_shape("src", src, "dst", dst)?;
                self.gpsimd_pattern(dst, pattern, *offset, *channel_multiplier)?;
                if !is_comparison(*cmp) {
                    return Err(format!("cmp {} is not a comparison (nki-api.md §5)", cmp.nki_name()));
                }
                // on_false_value is fp32 (nki-api.md §5).
                if on_false.is_finite() && on_false.abs() > f32::MAX as f64 {
                    return Err(format!("on_false {on_false} does not fit f32 (nki-api.md §5)"));
                }
                Ok(())
            }
            Inst::BnStats { dst, src } => {
                self.operand(engine, "dst", dst)?;
                self.operand(engine, "src", src)?;
                same_partitions("src", src, "dst", dst)?;
                // bn_stats_fmax = 512 (nki-api.md §5, trainium.md §1.4).
                if free_size(src) > BN_STATS_FMAX {
                    return Err(format!("src free size {} exceeds bn_stats' 512 (trainium.md §1.4)", free_size(src)));
                }
                if free_size(dst) != 6 {
                    return Err(format!(
                        "dst free size {} must be 6: bn_stats writes (P, 6) (nki-api.md §5)",
                        free_size(dst)
                    ));
                }
                Ok(())
            }
            Inst::BnAggr { dst, src } => {
                self.operand(engine, "dst", dst)?;
                self.operand(engine, "src", src)?;
                same_partitions("src", src, "dst", dst)?;
                // Groups of (count, mean, variance·count) (nki-api.md §5).
                let n = free_size(src);
                if n == 0 || !n.is_multiple_of(3) {
                    return Err(format!(
                        "src free size {n} must be a multiple of 3: bn_aggr reads bn_stats groups (nki-api.md §5)"
                    ));
                }
                if free_size(dst) != 2 {
                    return Err(format!(
                        "dst free size {} must be 2: bn_aggr writes (mean, variance) (nki-api.md §5)",
                        free_size(dst)
                    ));
                }
                Ok(())
            }
        }
    }

    /// dma_copy (nki-api.md §4): each side HBM or SBUF, never PSUM
    /// (trainium.md §1.5); equal element counts; casts are allowed. Each
    /// SBUF partition is its own DMA buffer (trainium.md §1.6), so the
    /// start-partition rule of the compute engines does not apply.
    fn dma_copy(&self, dst: &Operand, src: &Operand) -> Result<(), String> {
        let mut counts = [0u128; 2];
        for (i, (role, side)) in [("dst", dst), ("src", src)].into_iter().enumerate() {
            counts[i] = match side {
                Operand::Hbm(a) => {
                    let t = hbm_region(self.k, self.loops, role, a)?;
                    // Kernel inputs are read-only; results go to outputs (nki-api.md §1).
                    if role == "dst" && (a.tensor.0 as usize) < self.k.inputs.len() {
                        return Err(format!(
                            "dst writes kernel input %{}; inputs are read-only (nki-api.md §1)",
                            t.name
                        ));
                    }
                    a.pattern.iter().try_fold(1u128, |acc, &(_, n)| acc.checked_mul(n as u128)).unwrap_or(u128::MAX)
                }
                Operand::Tile(a) => {
                    let t = tile_region(self.k, self.loops, role, a)?;
                    if t.memory == Memory::Psum {
                        return Err(format!(
                            "{role} %{} is in PSUM; dma_copy moves HBM and SBUF only (trainium.md §1.5, nki-api.md §4)",
                            t.name
                        ));
                    }
                    (a.partitions as u128).saturating_mul(free_size(a))
                }
            };
        }
        if counts[0] != counts[1] {
            return Err(format!(
                "dst has {} elements but src has {}; dma_copy moves equal element counts (nki-api.md §4)",
                counts[0], counts[1]
            ));
        }
        Ok(())
    }

    /// Indirect DMA: every row any index may pick lies in the table, the
    /// index is a (P, 1) i32 SBUF column beside an SBUF destination
    /// (nki-api.md §3, trainium.md §1.6).
    fn dma_gather(
        &self,
        dst: &TileAccess,
        table: &HbmAccess,
        row_stride: i64,
        rows: usize,
        index: &TileAccess,
    ) -> Result<(), String> {
        let d = tile_region(self.k, self.loops, "dst", dst)?;
        let ix = tile_region(self.k, self.loops, "index", index)?;
        for (role, t) in [("dst", d), ("index", ix)] {
            if t.memory != Memory::Sbuf {
                return Err(format!("{role} %{} must be in SBUF for an indirect DMA (nki-api.md §3)", t.name));
            }
        }
        if ix.dtype != DType::I32 || free_size(index) != 1 || index.partitions != dst.partitions {
            return Err(format!(
                "index must be an i32 column with dst's {} partitions, got {} {} (nki-api.md §3)",
                dst.partitions,
                ix.dtype,
                shape_text(index)
            ));
        }
        if rows == 0 {
            return Err("a gather needs a table of at least one row".into());
        }
        let mut covering = table.clone();
        covering.pattern.insert(0, (row_stride, rows));
        hbm_region(self.k, self.loops, "table", &covering)?;
        let row: u128 = table.pattern.iter().map(|&(_, n)| n as u128).product();
        if row != free_size(dst) {
            return Err(format!("dst holds {} elements per partition but a table row has {row}", free_size(dst)));
        }
        Ok(())
    }

    /// nc_matmul (trainium.md §1.3, nki-api.md §5).
    fn matmul(&self, dst: &TileAccess, stationary: &TileAccess, moving: &TileAccess) -> Result<(), String> {
        let e = Engine::Tensor;
        let st = self.operand(e, "stationary", stationary)?;
        let mv = self.operand(e, "moving", moving)?;
        let d = self.operand(e, "dst", dst)?;
        // Inputs from SBUF, output to PSUM (trainium.md §1.3).
        for (role, t, want) in
            [("stationary", st, Memory::Sbuf), ("moving", mv, Memory::Sbuf), ("dst", d, Memory::Psum)]
        {
            if t.memory != want {
                return Err(format!("{role} %{} must be in {} (trainium.md §1.3)", t.name, memory_name(want)));
            }
        }
        // K on the partitions of both inputs (trainium.md §1.3).
        if stationary.partitions != moving.partitions {
            return Err(format!(
                "stationary has {} partitions but moving has {}: both hold the contraction dimension K (trainium.md §1.3)",
                stationary.partitions, moving.partitions
            ));
        }
        let m = free_size(stationary);
        let n = free_size(moving);
        if m > MATMUL_STATIONARY_FREE as u128 {
            return Err(format!("stationary free size {m} exceeds {MATMUL_STATIONARY_FREE} (trainium.md §1.3)"));
        }
        if n > MATMUL_MOVING_FREE as u128 {
            return Err(format!("moving free size {n} exceeds {MATMUL_MOVING_FREE} (trainium.md §1.3)"));
        }
        if dst.partitions as u128 != m || free_size(dst) != n {
            return Err(format!(
                "dst is {} but stationary {} and moving {} give [M, N] = [{m}, {n}] (trainium.md §1.3)",
                shape_text(dst),
                shape_text(stationary),
                shape_text(moving)
            ));
        }
        // fp32 accumulation and output on NeuronCore-v2/v3 (trainium.md §1.3).
        if d.dtype != DType::F32 {
            return Err(format!("dst %{} is {}; nc_matmul writes f32 (trainium.md §1.3)", d.name, d.dtype));
        }
        // Input dtypes: fp8/bf16/f16/f32, and fp32 only with fp32 (nki-api.md §5).
        for (role, t) in [("stationary", st), ("moving", mv)] {
            if !t.dtype.is_float() {
                return Err(format!(
                    "{role} %{} is {}; nc_matmul takes fp8, bf16, f16 or f32 (nki-api.md §5)",
                    t.name, t.dtype
                ));
            }
        }
        if (st.dtype == DType::F32) != (mv.dtype == DType::F32) {
            return Err(format!(
                "stationary is {} and moving is {}; an f32 input needs an f32 partner (nki-api.md §5)",
                st.dtype, mv.dtype
            ));
        }
        within_one_bank(self.loops, "dst", d, dst)
    }

    /// nc_transpose (nki-api.md §5): TensorE SBUF ≤ [128, 128] → PSUM;
    /// VectorE ≤ [32, 32]; partitions and (flattened) free swap; same dtype.
    fn transpose(&self, dst: &TileAccess, src: &TileAccess, engine: Engine) -> Result<(), String> {
        if !matches!(engine, Engine::Tensor | Engine::Vector) {
            return Err(format!("nc_transpose runs on tensor or vector, not {} (nki-api.md §5)", engine.name()));
        }
        let s = self.operand(engine, "src", src)?;
        let d = self.operand(engine, "dst", dst)?;
        let free = free_size(src);
        if engine == Engine::Tensor {
            if s.memory != Memory::Sbuf || d.memory != Memory::Psum {
                return Err("TensorE nc_transpose reads SBUF and writes PSUM (trainium.md §1.3, nki-api.md §5)".into());
            }
            // Partition limit is the tile's; free ≤ 128 (trainium.md §1.3).
            if free > 128 {
                return Err(format!("src free size {free} exceeds 128 for a TensorE transpose (trainium.md §1.3)"));
            }
        } else if src.partitions as u128 > VECTOR_TRANSPOSE_MAX || free > VECTOR_TRANSPOSE_MAX {
            return Err(format!("src {} exceeds [32, 32] for a VectorE transpose (trainium.md §1.4)", shape_text(src)));
        }
        if dst.partitions as u128 != free || free_size(dst) != src.partitions as u128 {
            return Err(format!(
                "dst is {} but the transpose of src {} is [{free}, {}] (nki-api.md §5)",
                shape_text(dst),
                shape_text(src),
                src.partitions
            ));
        }
        if d.dtype != s.dtype {
            return Err(format!(
                "dst is {} but src is {}; nc_transpose keeps the dtype (nki-api.md §5)",
                d.dtype, s.dtype
            ));
        }
        if engine == Engine::Tensor {
            within_one_bank(self.loops, "dst", d, dst)?;
        }
        Ok(())
    }

    /// tensor_tensor (nki-api.md §5): same partitions and free size, not
    /// both inputs in PSUM; power runs on GpSimd (no PSUM).
    fn tensor_tensor(
        &self,
        engine: Engine,
        dst: &TileAccess,
        a: &TileAccess,
        b: &TileAccess,
        op: AluOp,
    ) -> Result<(), String> {
        if op.is_unary() {
            return Err(format!("{} is unary; tensor_tensor takes a binary op (nki-api.md §6)", op.nki_name()));
        }
        let ta = self.operand(engine, "a", a)?;
        let tb = self.operand(engine, "b", b)?;
        self.operand(engine, "dst", dst)?;
        same_shape("a", a, "dst", dst)?;
        same_shape("b", b, "dst", dst)?;
        if ta.memory == Memory::Psum && tb.memory == Memory::Psum {
            return Err(
                "a and b are both in PSUM; tensor_tensor reads at most one input from PSUM (nki-api.md §5)".into()
            );
        }
        Ok(())
    }

    /// tensor_scalar (nki-api.md §5): per-partition operands are (P, 1) f32;
    /// unary ops only in op0 with operand 0; GpSimd only for rsqrt; ScalarE
    /// from v3 and only (multiply, add), (multiply), (add).
    fn tensor_scalar(
        &self,
        engine: Engine,
        dst: &TileAccess,
        src: &TileAccess,
        op0: AluOp,
        operand0: &ScalarOperand,
        op1: Option<(AluOp, &ScalarOperand)>,
    ) -> Result<(), String> {
        if !matches!(engine, Engine::Vector | Engine::Scalar | Engine::GpSimd) {
            return Err(format!(
                "tensor_scalar runs on vector, scalar or gpsimd, not {} (nki-api.md §5)",
                engine.name()
            ));
        }
        self.operand(engine, "src", src)?;
        self.operand(engine, "dst", dst)?;
        same_shape("src", src, "dst", dst)?;
        self.scalar_operand(engine, "operand0", operand0, src)?;
        if op0.is_unary() && !matches!(operand0, ScalarOperand::Imm(x) if *x == 0.0) {
            return Err(format!("op0 {} is unary; operand0 must be 0 (nki-api.md §5)", op0.nki_name()));
        }
        if let Some((op1, operand1)) = op1 {
            self.scalar_operand(engine, "operand1", operand1, src)?;
            if op1.is_unary() {
                return Err(format!("op1 {} is unary; unary ops go in op0 only (nki-api.md §6)", op1.nki_name()));
            }
        }
        // rsqrt is a GpSimd op, and GpSimd takes tensor_scalar only for it (nki-api.md §5–6).
        let rsqrt = op0 == AluOp::Rsqrt;
        if rsqrt != (engine == Engine::GpSimd) || (rsqrt && op1.is_some()) {
            return Err(format!(
                "tensor_scalar with op0 {} on {}: rsqrt runs alone on gpsimd, and gpsimd runs tensor_scalar only for rsqrt (nki-api.md §5–6)",
                op0.nki_name(),
                engine.name()
            ));
        }
        if engine == Engine::Scalar {
            // Add/multiply on ScalarE from NeuronCore-v3 (trainium.md §1.4).
            if self.target == Target::Trn1 {
                return Err("tensor_scalar on ScalarE needs NeuronCore-v3 or later, not trn1 (trainium.md §1.4)".into());
            }
            let ok =
                matches!((op0, op1.map(|(op, _)| op)), (AluOp::Multiply, Some(AluOp::Add) | None) | (AluOp::Add, None));
            if !ok {
                return Err(
                    "tensor_scalar on ScalarE takes only (multiply, add), (multiply) or (add) (nki-api.md §5)".into()
                );
            }
        }
        Ok(())
    }

    fn scalar_operand(&self, engine: Engine, role: &str, s: &ScalarOperand, data: &TileAccess) -> Result<(), String> {
        match s {
            ScalarOperand::Imm(_) => Ok(()),
            ScalarOperand::PerPartition(a) => {
                let t = self.operand(engine, role, a)?;
                per_partition_shape(role, a, data)?;
                // Arithmetic operands are fp32 (nki-api.md §5).
                if t.dtype != DType::F32 {
                    return Err(format!(
                        "{role} %{} is {}; per-partition operands are f32 (nki-api.md §5)",
                        t.name, t.dtype
                    ));
                }
                Ok(())
            }
        }
    }

    /// tensor_reduce (nki-api.md §5): legal op, axes = the last free axes
    /// (never axis 0, the partitions: trainium.md §1.4), dst consistent.
    fn tensor_reduce(
        &self,
        engine: Engine,
        dst: &TileAccess,
        src: &TileAccess,
        op: AluOp,
        axes: &[usize],
    ) -> Result<(), String> {
        if !op.reduces() {
            return Err(format!("{} is not a legal reduction (nki-api.md §6)", op.nki_name()));
        }
        self.operand(engine, "src", src)?;
        self.operand(engine, "dst", dst)?;
        let rank = src.free.len() + 1;
        if axes.contains(&0) {
            return Err(
                "axis 0 is the partition axis; tensor_reduce reduces free axes only (trainium.md §1.4, nki-api.md §5)"
                    .into(),
            );
        }
        let want: Vec<usize> = (rank.saturating_sub(axes.len())..rank).collect();
        if axes.is_empty() || axes != want.as_slice() {
            return Err(format!(
                "axes {axes:?} must be the last free axes of the rank-{rank} src, in order (e.g. [{}]) (nki-api.md §5)",
                rank - 1
            ));
        }
        same_partitions("src", src, "dst", dst)?;
        let kept = src.free[..src.free.len() - axes.len()].iter().map(|&(_, n)| n as u128).product::<u128>();
        if free_size(dst) != kept {
            return Err(format!(
                "dst free size {} must be {kept}: src {} reduced over axes {axes:?} (nki-api.md §5)",
                free_size(dst),
                shape_text(src)
            ));
        }
        Ok(())
    }

    /// activation (nki-api.md §5): func(src * scale + bias) on ScalarE;
    /// scale scalar or (P, 1) f32; bias (P, 1) float; reduce (P, 1).
    fn activation(
        &self,
        engine: Engine,
        dst: &TileAccess,
        src: &TileAccess,
        scale: &ScalarOperand,
        bias: Option<&TileAccess>,
        reduce: Option<&TileAccess>,
    ) -> Result<(), String> {
        self.operand(engine, "src", src)?;
        self.operand(engine, "dst", dst)?;
        same_shape("src", src, "dst", dst)?;
        self.scalar_operand(engine, "scale", scale, src)?;
        if let Some(bias) = bias {
            let t = self.operand(engine, "bias", bias)?;
            per_partition_shape("bias", bias, src)?;
            if !t.dtype.is_float() {
                return Err(format!(
                    "bias %{} is {}; activation bias is a float vector (nki-api.md §5)",
                    t.name, t.dtype
                ));
            }
        }
        if let Some(reduce) = reduce {
            self.operand(engine, "reduce", reduce)?;
            per_partition_shape("reduce", reduce, src)?;
        }
        Ok(())
    }

    /// tensor_copy (nki-api.md §4): same shape; VectorE, ScalarE (not on
    /// NeuronCore-v2) or GpSimd (no PSUM).
    fn tensor_copy(&self, engine: Engine, dst: &TileAccess, src: &TileAccess) -> Result<(), String> {
        match engine {
            Engine::Vector | Engine::GpSimd => {}
            Engine::Scalar if self.target != Target::Trn1 => {}
            Engine::Scalar => {
                return Err("tensor_copy on ScalarE is not supported on NeuronCore-v2 (trn1) (nki-api.md §4)".into())
            }
            _ => {
                return Err(format!(
                    "tensor_copy runs on vector, scalar or gpsimd, not {} (nki-api.md §4)",
                    engine.name()
                ))
            }
        }
        self.operand(engine, "src", src)?;
        self.operand(engine, "dst", dst)?;
        same_shape("src", src, "dst", dst)
    }

    /// memset (nki-api.md §5): the value must be one of dst's dtype.
    fn memset(&self, engine: Engine, dst: &TileAccess, value: f64) -> Result<(), String> {
        let t = self.operand(engine, "dst", dst)?;
        let fits = match t.dtype {
            DType::Bool => value == 0.0 || value == 1.0,
            DType::I32 | DType::I64 => {
                value.fract() == 0.0 && value >= t.dtype.min_value() && value <= t.dtype.max_value()
            }
            // A float overflowing to inf or NaN (fp8 e4m3 has no inf) does not fit.
            d => {
                let r = d.round(value);
                value.is_nan() || (!r.is_nan() && (r.is_finite() || value.is_infinite()))
            }
        };
        if !fits {
            return Err(format!("memset value {value} does not fit dst dtype {} (nki-api.md §5)", t.dtype));
        }
        Ok(())
    }

    /// iota / affine_select patterns (nki-api.md §5): ≤ 4 pairs covering dst's
    /// free elements; values computed in int32.
    fn gpsimd_pattern(&self, dst: &TileAccess, pattern: &[(i64, usize)], offset: i64, cm: i64) -> Result<(), String> {
        if pattern.len() > GPSIMD_PATTERN_MAX {
            return Err(format!("pattern has {} pairs; at most 4 (nki-api.md §5)", pattern.len()));
        }
        let count = pattern.iter().try_fold(1u128, |acc, &(_, n)| acc.checked_mul(n as u128)).unwrap_or(u128::MAX);
        if count != free_size(dst) {
            return Err(format!(
                "pattern covers {count} elements but dst has {} per partition (nki-api.md §5)",
                free_size(dst)
            ));
        }
        // Extremes of offset + p * cm + Σ step * idx, computed in int32.
        let mut lo = offset as i128;
        let mut hi = lo;
        for (k, n) in std::iter::once((cm, dst.partitions)).chain(pattern.iter().copied()) {
            let r = mul(k as i128, n.max(1) as i128 - 1)?;
            lo = add(lo, r.min(0))?;
            hi = add(hi, r.max(0))?;
        }
        if lo < i32::MIN as i128 || hi > i32::MAX as i128 {
            return Err(format!("pattern values reach {lo}..={hi}, outside int32 (nki-api.md §5)"));
        }
        Ok(())
    }
}

fn memory_name(m: Memory) -> &'static str {
    match m {
        Memory::Sbuf => "SBUF",
        Memory::Psum => "PSUM",
    }
}

fn is_comparison(op: AluOp) -> bool {
    matches!(op, AluOp::Equal | AluOp::NotEqual | AluOp::Greater | AluOp::GreaterEqual | AluOp::Less | AluOp::LessEqual)
}

/// Compute engines pair lane i with partition i: operands have the same
/// partition count (trainium.md §1.5).
fn same_partitions(ra: &str, a: &TileAccess, rb: &str, b: &TileAccess) -> Result<(), String> {
    if a.partitions != b.partitions {
        return Err(format!(
            "{ra} has {} partitions but {rb} has {}; engines keep partition i in lane i (trainium.md §1.5)",
            a.partitions, b.partitions
        ));
    }
    Ok(())
}

/// Same partitions and the same elements per partition (nki-api.md §5).
fn same_shape(ra: &str, a: &TileAccess, rb: &str, b: &TileAccess) -> Result<(), String> {
    same_partitions(ra, a, rb, b)?;
    if free_size(a) != free_size(b) {
        return Err(format!(
            "{ra} {} and {rb} {} differ in elements per partition (nki-api.md §5)",
            shape_text(a),
            shape_text(b)
        ));
    }
    Ok(())
}

/// A (P, 1) operand matching `data`'s partitions (nki-api.md §5).
fn per_partition_shape(role: &str, a: &TileAccess, data: &TileAccess) -> Result<(), String> {
    if a.partitions != data.partitions || free_size(a) != 1 {
        return Err(format!(
            "{role} must be (P, 1) with P = {} partitions, got {} (nki-api.md §5)",
            data.partitions,
            shape_text(a)
        ));
    }
    Ok(())
}
