//! What one instruction costs on its engine, from the figures in
//! [`TargetCosts`]. The cost depends only on shapes, dtypes and strides,
//! never on loop counters, so it is computed once per static instruction.
//!
//! Formulas (trainium.md section in brackets):
//! - `nc_matmul` [§1.3]: `max(N, 64)` TensorE cycles, N = moving free size,
//!   ×4 when an operand is FP32. A new stationary adds LoadStationary,
//!   `max(M, 64) / 4` cycles (×4 FP32), charged by the scheduler only when
//!   the stationary differs from the previous matmul's.
//! - `nc_transpose` on TensorE [§1.4]: `max(P, min(64, F))` cycles (the
//!   identity matmul with the source as stationary), FP32 ×4 on v2, ×2 on v3+.
//! - Vector/Scalar/GpSimd [§1.4]: `max(work, 64) + 60` cycles, with
//!   `work = inputs × N / rate`: N = free elements per partition, inputs =
//!   2 for `tensor_tensor`, 1 otherwise; rate from the §1.2 widths.
//!   `tensor_reduce` is N/2 for BF16 add/max [§1.4]; `iota` and
//!   `affine_select` are `150 + N` [§1.4]; an `activation` with a
//!   reduction adds the ~64-cycle accumulator read-out [§1.4]. The
//!   "+~100 cycles when tiny or serially dependent" of §1.4 is not
//!   charged: dependencies are scheduled explicitly and the figure is not
//!   given per case.
//! - DMA [§1.1, §1.6]: `bytes / (peak × eff × queues)`: peak =
//!   min(DMA, HBM) GB/s when HBM is touched; eff = min(1, chunk / 2048)
//!   with chunk the contiguous bytes per partition (the smaller of the two
//!   sides); queues = min(1, ceil(P / 8) / 16). Dependents see the data
//!   1300 ns after the last byte.

use trnc_ir::kernel::{AluOp, Engine, HbmAccess, Inst, Kernel, Memory, Operand, TileAccess};
use trnc_ir::DType;

use super::TargetCosts;

/// The cost of one instruction on its engine.
#[derive(Clone, Debug, PartialEq)]
pub struct InstCost {
    pub engine: Engine,
    /// Engine cycles the instruction occupies (0 for DMA, timed in bytes).
    pub cycles: u64,
    /// Time the engine (or the DMA queues) is busy, ns.
    pub busy_ns: f64,
    /// Extra TensorE cycles when a matmul's stationary operand changes.
    pub load_stationary_cycles: u64,
    pub load_stationary_ns: f64,
    /// Time between the end of the work and the moment dependents may use
    /// the result (DMA completion latency), ns.
    pub latency_ns: f64,
    /// 2·M·N·K for matmuls, 0 otherwise.
    pub flops: u64,
    /// Time the flops take at TensorE peak (for the achieved fraction), ns.
    pub tensor_peak_ns: f64,
    pub hbm_read_bytes: u64,
    pub hbm_write_bytes: u64,
    /// DMA only: bytes moved, contiguous bytes per partition, efficiency.
    pub dma: Option<DmaCost>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DmaCost {
    pub bytes: u64,
    pub chunk_bytes: u64,
    pub efficiency: f64,
    /// Effective rate, bytes per ns (= GB/s).
    pub rate_gbps: f64,
}

impl InstCost {
    fn compute(engine: Engine, cycles: u64, ghz: f64) -> InstCost {
        InstCost {
            engine,
            cycles,
            busy_ns: cycles as f64 / ghz,
            load_stationary_cycles: 0,
            load_stationary_ns: 0.0,
            latency_ns: 0.0,
            flops: 0,
            tensor_peak_ns: 0.0,
            hbm_read_bytes: 0,
            hbm_write_bytes: 0,
            dma: None,
        }
    }
}

/// The cost of `inst` in kernel `k` under the figures `c`.
pub fn inst_cost(k: &Kernel, inst: &Inst, c: &TargetCosts) -> InstCost {
    let engine = inst.engine();
    match inst {
        Inst::DmaCopy { dst, src } => dma_cost(k, dst, src, c),
        // A gather moves one table row per partition, like a DMA whose HBM
        // side has the row stride as its partition step.
        Inst::DmaGather { dst, table, row_stride, .. } => {
            let mut rows = table.clone();
            rows.pattern.insert(0, (*row_stride, dst.partitions));
            dma_cost(k, &Operand::Tile(dst.clone()), &Operand::Hbm(rows), c)
        }
        Inst::Matmul { stationary, moving, .. } => {
            let fp32 = is_f32(k, stationary) || is_f32(k, moving);
            let f = if fp32 { c.matmul_fp32_factor } else { 1 };
            let n = moving.free_elements() as u64;
            let m = stationary.free_elements() as u64;
            let kk = stationary.partitions as u64;
            let mut cost = InstCost::compute(engine, n.max(c.matmul_min_cycles) * f, c.tensor_ghz);
            cost.load_stationary_cycles = m.max(c.matmul_min_cycles).div_ceil(c.load_stationary_speedup) * f;
            cost.load_stationary_ns = cost.load_stationary_cycles as f64 / c.tensor_ghz;
            cost.flops = 2 * m * n * kk;
            // Peak TFLOPS = 1e3 flop per ns; FP32 peak is BF16 / factor (§1.1).
            // FP8 counts at the BF16 peak: the IR has no double-row / MX
            // matmul, the only forms that run FP8 faster (§1.3).
            cost.tensor_peak_ns = cost.flops as f64 * f as f64 / (c.tensor_bf16_tflops * 1e3);
            cost
        }
        Inst::Transpose { src, engine: Engine::Tensor, .. } => {
            let f = if is_f32(k, src) { c.transpose_fp32_factor } else { 1 };
            let p = src.partitions as u64;
            let free = src.free_elements() as u64;
            InstCost::compute(Engine::Tensor, p.max(free.min(c.matmul_min_cycles)) * f, c.tensor_ghz)
        }
        Inst::Iota { dst, .. } => {
            let work = dst.free_elements() as f64 / c.gpsimd_rate;
            InstCost::compute(engine, c.gpsimd_pattern_cycles + work.ceil() as u64, c.gpsimd_ghz)
        }
        Inst::AffineSelect { src, .. } => {
            let work = src.free_elements() as f64 / c.gpsimd_rate;
            InstCost::compute(engine, c.gpsimd_pattern_cycles + work.ceil() as u64, c.gpsimd_ghz)
        }
        _ => streaming_cost(k, inst, c),
    }
}

/// Vector / Scalar / GpSimd instructions: one pass over the free elements
/// of each input, plus the fixed overheads of §1.4.
fn streaming_cost(k: &Kernel, inst: &Inst, c: &TargetCosts) -> InstCost {
    let engine = inst.engine();
    let dst = inst.dst().expect("every compute instruction writes a tile");
    // Free elements per partition of each input, and the number of inputs;
    // memset (and what `inst_cost` handles itself) streams its destination.
    let ins = streamed_inputs(inst);
    let (n, inputs) = ins.first().map_or((dst.free_elements(), 1), |t| (t.free_elements(), ins.len()));
    let mut elementwise_factor = 1.0;
    // tensor_reduce: N/2 with BF16 in and out and add/max (§1.4).
    if let Inst::TensorReduce { src, op, .. } = inst {
        if matches!(op, AluOp::Add | AluOp::Maximum) && dtype(k, src) == DType::BF16 && dtype(k, dst) == DType::BF16 {
            elementwise_factor = 0.5;
        }
    }
    let fast = streamed_tiles(inst).iter().all(|t| is_16bit_sbuf(k, t));
    let (ghz, rate) = match engine {
        Engine::Scalar => (c.scalar_ghz, if fast { c.scalar_rate_16bit } else { c.scalar_rate_other }),
        Engine::GpSimd => (c.gpsimd_ghz, c.gpsimd_rate),
        // VectorE, and engines the verifier rejects for these instructions
        // (an estimate does not fail on them).
        _ => (c.vector_ghz, if fast { c.vector_rate_16bit } else { c.vector_rate_other }),
    };
    let work = (inputs as f64 * n as f64 * elementwise_factor / rate).ceil() as u64;
    let readout = match inst {
        Inst::Activation { reduce: Some(_), .. } => c.activation_reduce_cycles,
        _ => 0,
    };
    InstCost::compute(engine, work.max(c.engine_min_cycles) + c.engine_access_cycles + readout, ghz)
}

/// The input tiles an instruction streams; per-partition scalar operands
/// and biases are `(P, 1)` and are not streamed.
fn streamed_inputs(inst: &Inst) -> Vec<&TileAccess> {
    match inst {
        Inst::TensorTensor { a, b, .. } => vec![a, b],
        Inst::TensorScalar { src, .. }
        | Inst::TensorCopy { src, .. }
        | Inst::Activation { src, .. }
        | Inst::BnStats { src, .. }
        | Inst::BnAggr { src, .. }
        | Inst::Transpose { src, .. }
        | Inst::TensorReduce { src, .. } => vec![src],
        _ => Vec::new(),
    }
}

/// The tiles an instruction streams (inputs and output), for the 16-bit
/// fast rate.
fn streamed_tiles(inst: &Inst) -> Vec<&TileAccess> {
    let mut v: Vec<&TileAccess> = inst.dst().into_iter().collect();
    v.extend(streamed_inputs(inst));
    v
}

/// A 1- or 2-byte float in SBUF: the operand kind for which §1.2 gives the
/// wide (BF16/FP16/FP8) data path and §1.4 the performance mode.
fn is_16bit_sbuf(k: &Kernel, t: &TileAccess) -> bool {
    let tile = k.tile(t.tile);
    tile.memory == Memory::Sbuf && tile.dtype.is_float() && tile.dtype.size_bytes() <= 2
}

fn dtype(k: &Kernel, t: &TileAccess) -> DType {
    k.tile(t.tile).dtype
}

fn is_f32(k: &Kernel, t: &TileAccess) -> bool {
    dtype(k, t) == DType::F32
}

/// One side of a DMA: bytes, contiguous bytes per partition (the inner run
/// of the access), partitions, whether it is HBM.
struct Side {
    bytes: u64,
    chunk: u64,
    partitions: u64,
    hbm: bool,
}

fn side(k: &Kernel, op: &Operand, other_is_tile: bool) -> Side {
    match op {
        Operand::Hbm(a) => hbm_side(k, a, other_is_tile),
        Operand::Tile(t) => {
            let tile = k.tile(t.tile);
            let size = tile.dtype.size_bytes() as u64;
            // The run is contiguous from the innermost free dimension out
            // while each dimension is taken whole.
            let mut run = 1u64;
            for (d, &(_, count)) in t.free.iter().enumerate().rev() {
                run *= count as u64;
                if count != tile.shape[d + 1] {
                    break;
                }
            }
            Side {
                bytes: t.partitions as u64 * t.free_elements() as u64 * size,
                chunk: run * size,
                partitions: t.partitions as u64,
                hbm: false,
            }
        }
    }
}

fn hbm_side(k: &Kernel, a: &HbmAccess, other_is_tile: bool) -> Side {
    let size = k.hbm(a.tensor).dtype.size_bytes() as u64;
    let elements: u64 = a.pattern.iter().map(|&(_, n)| n as u64).product();
    // With a tile on the other side the first pair maps to partitions
    // (trainium.md §1.5); the run is taken over the free pairs only.
    let free = if other_is_tile && a.pattern.len() > 1 { &a.pattern[1..] } else { &a.pattern[..] };
    let mut run = 1u64;
    for &(stride, count) in free.iter().rev() {
        if count == 1 {
            continue;
        }
        // Contiguous only if this dimension steps over exactly the inner
        // run (stride 1 for the innermost).
        if stride != run as i64 {
            break;
        }
        run *= count as u64;
    }
    let partitions = if other_is_tile { a.pattern.first().map_or(1, |&(_, n)| n as u64) } else { 1 };
    Side { bytes: elements * size, chunk: run * size, partitions, hbm: true }
}

fn dma_cost(k: &Kernel, dst: &Operand, src: &Operand, c: &TargetCosts) -> InstCost {
    let dst_tile = matches!(dst, Operand::Tile(_));
    let src_tile = matches!(src, Operand::Tile(_));
    let d = side(k, dst, src_tile);
    let s = side(k, src, dst_tile);
    let bytes = d.bytes.max(s.bytes);
    let chunk = d.chunk.min(s.chunk).max(1);
    let efficiency = (chunk as f64 / c.dma_full_rate_bytes as f64).min(1.0);
    // Partitions of the tile side (HBM↔HBM: all queues).
    let partitions = if dst_tile {
        d.partitions
    } else if src_tile {
        s.partitions
    } else {
        c.dma_queues * c.dma_partitions_per_queue
    };
    let queues = partitions.div_ceil(c.dma_partitions_per_queue).min(c.dma_queues);
    let queue_share = queues as f64 / c.dma_queues as f64;
    let rate = c.dma_peak_gbps(d.hbm || s.hbm) * efficiency * queue_share;
    InstCost {
        engine: Engine::Dma,
        cycles: 0,
        busy_ns: bytes as f64 / rate,
        load_stationary_cycles: 0,
        load_stationary_ns: 0.0,
        latency_ns: c.dma_latency_ns,
        flops: 0,
        tensor_peak_ns: 0.0,
        hbm_read_bytes: if s.hbm { s.bytes } else { 0 },
        hbm_write_bytes: if d.hbm { d.bytes } else { 0 },
        dma: Some(DmaCost { bytes, chunk_bytes: chunk, efficiency, rate_gbps: rate }),
    }
}
