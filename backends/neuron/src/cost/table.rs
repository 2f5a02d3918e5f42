//! The hardware figures of the cost model: one table per target.
//!
//! Every number is data here, not code in the formulas, so the three
//! generations differ only by this table. Each figure cites the section of
//! `../shared/trainium.md` it comes from. The model has NO fitted factor:
//! every entry below is a published figure (or arithmetic on published
//! figures, marked "derived"), the same for every kernel.

use trnc_ir::Target;

/// Clocks, data-path widths, fixed overheads and bandwidths of one
/// NeuronCore generation.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetCosts {
    pub target: Target,

    // --- Clocks (trainium.md §1.2), in GHz = cycles per ns. ---
    pub tensor_ghz: f64,
    pub vector_ghz: f64,
    pub scalar_ghz: f64,
    pub gpsimd_ghz: f64,

    // --- Streaming rates of the 128-lane engines (§1.2): elements per
    // cycle per partition = data-path width / 128 lanes. "16-bit" applies
    // when every operand is a 2-byte (or 1-byte) float in SBUF — the
    // widths §1.2 gives for BF16/FP16/FP8 and the "performance mode"
    // conditions of §1.4; every other case streams at the "other" rate. ---
    pub vector_rate_16bit: f64,
    pub vector_rate_other: f64,
    pub scalar_rate_16bit: f64,
    pub scalar_rate_other: f64,
    pub gpsimd_rate: f64,

    // --- TensorE (§1.3). ---
    /// Floor of one MultiplyMoving: `max(N, 64)` cycles (MM_INIT_LATENCY
    /// = 64 on v2, §1.3; same floor assumed on v3/v4, the docs give no
    /// other figure).
    pub matmul_min_cycles: u64,
    /// FP32 operands run the array 4× slower (§1.1 core FP32 = BF16 / 4,
    /// §1.3 "4x for FP32").
    pub matmul_fp32_factor: u64,
    /// LoadStationary is "up to 4x faster than MM of the same free size"
    /// (§1.3): a new stationary of free size M costs `max(M, 64) / 4`
    /// cycles (32 for a full 128-column stationary), charged in full
    /// when the stationary operand changes between matmuls. Background LS
    /// can hide part of it on hardware; charging it keeps reuse visible.
    pub load_stationary_speedup: u64,
    /// nc_transpose with FP32 data: 4× on v2 like matmul; v3+ transposes
    /// FP32 "2x" faster (§1.3), so 2×.
    pub transpose_fp32_factor: u64,
    /// Dense BF16 TensorE peak per core, TFLOPS (§1.1); FP32 peak is this
    /// divided by `matmul_fp32_factor` (§1.1: 23 / 20 / 20).
    pub tensor_bf16_tflops: f64,

    // --- Vector / Scalar / GpSimd fixed costs (§1.4). ---
    /// Minimum initiation interval of one instruction, cycles.
    pub engine_min_cycles: u64,
    /// SBUF/PSUM access-initiation overhead paid by every instruction.
    pub engine_access_cycles: u64,
    /// `iota` and `affine_select`: `150 + N` GpSimd cycles (§1.4).
    pub gpsimd_pattern_cycles: u64,
    /// `activation` with a free-axis reduction: reading the 128 internal
    /// accumulators out costs ~64 cycles more (§1.4).
    pub activation_reduce_cycles: u64,

    // --- DMA and HBM (§1.1, §1.6), GB/s = bytes per ns. ---
    /// DMA bandwidth of one core: 16 queues × 17 / 23 / 33 B/ns (§1.1).
    pub dma_gbps: f64,
    /// HBM bandwidth per core (§1.1 "derived" row): the ceiling of any
    /// DMA that touches HBM.
    pub hbm_gbps: f64,
    /// Contiguous bytes per partition from which a transfer reaches peak
    /// (§1.6: ">= 2 KiB ... approaches peak"). Below it a transfer runs
    /// at `bytes / 2048` of peak (the proportional reading of §1.6).
    pub dma_full_rate_bytes: u64,
    /// Partitions one DMA queue serves (§1.6: 16 engines × 8 partitions of
    /// a 128-partition tile): a transfer over P partitions engages
    /// `ceil(P / 8)` of the 16 queues.
    pub dma_partitions_per_queue: u64,
    pub dma_queues: u64,
    /// Cross-engine DMA setup / semaphore latency, ns (§1.6 "~1300 ns"):
    /// added between a DMA's last byte and its dependents, not to the
    /// queue's occupancy (several transfers are in flight at once).
    pub dma_latency_ns: f64,
}

impl TargetCosts {
    pub fn new(target: Target) -> TargetCosts {
        match target {
            Target::Trn1 => TargetCosts::trn1(),
            Target::Trn2 => TargetCosts::trn2(),
            Target::Trn3 => TargetCosts::trn3(),
        }
    }

    /// Trainium1, NeuronCore-v2.
    pub fn trn1() -> TargetCosts {
        TargetCosts {
            target: Target::Trn1,
            tensor_ghz: 2.8,              // §1.2 TensorE @ 2.8 GHz
            vector_ghz: 1.12,             // §1.2 VectorE 128 in/out @ 1.12 GHz
            scalar_ghz: 1.4,              // §1.2 ScalarE 128 @ 1.4 GHz
            gpsimd_ghz: 1.4,              // §1.2 GpSimdE 128 @ 1.4 GHz
            vector_rate_16bit: 1.0,       // §1.2 128 lanes, one element each
            vector_rate_other: 1.0,       // §1.2 128 in/out
            scalar_rate_16bit: 1.0,       // §1.2 ScalarE 128
            scalar_rate_other: 1.0,       // §1.2 ScalarE 128
            gpsimd_rate: 1.0,             // §1.2 GpSimdE 128
            matmul_min_cycles: 64,        // §1.3 MM_INIT_LATENCY
            matmul_fp32_factor: 4,        // §1.3 / §1.1 (92 vs 23 TFLOPS)
            load_stationary_speedup: 4,   // §1.3 LS up to 4× faster than MM
            transpose_fp32_factor: 4,     // §1.3 (v2: FP32 like matmul)
            tensor_bf16_tflops: 92.0,     // §1.1 core BF16 ~92
            engine_min_cycles: 64,        // §1.4 min initiation interval ~64
            engine_access_cycles: 60,     // §1.4 ~60-cycle access overhead
            gpsimd_pattern_cycles: 150,   // §1.4 iota / affine_select 150 + N
            activation_reduce_cycles: 64, // §1.4 accumulator read-out ~64
            dma_gbps: 272.0,              // §1.1 16 × 17 B/ns (2026 DMA guide)
            hbm_gbps: 410.0,              // §1.1 derived 820 GB/s / 2 cores
            dma_full_rate_bytes: 2048,    // §1.6 >= 2 KiB per partition
            dma_partitions_per_queue: 8,  // §1.6 16 engines × 8 partitions
            dma_queues: 16,               // §1.1 / §1.6 16 DMA engines per core
            dma_latency_ns: 1300.0,       // §1.6 ~1300 ns setup/semaphore
        }
    }

    /// Trainium2, NeuronCore-v3.
    pub fn trn2() -> TargetCosts {
        TargetCosts {
            target: Target::Trn2,
            tensor_ghz: 2.4,              // §1.2 @ 2.4 GHz
            vector_ghz: 0.96,             // §1.2 VectorE @ 0.96 GHz
            scalar_ghz: 1.2,              // §1.2 ScalarE @ 1.2 GHz
            gpsimd_ghz: 1.2,              // §1.2 GpSimdE @ 1.2 GHz
            vector_rate_16bit: 4.0,       // §1.2 512 BF16/FP16 per cycle / 128 (§1.4 perf mode 4×)
            vector_rate_other: 2.0,       // §1.2 256 other dtypes / 128
            scalar_rate_16bit: 1.0,       // §1.2 ScalarE 128
            scalar_rate_other: 1.0,       // §1.2 ScalarE 128
            gpsimd_rate: 1.0,             // §1.2 width not given (n/a): 128 lanes assumed
            matmul_min_cycles: 64,        // §1.3 MM_INIT_LATENCY (v2 figure, reused)
            matmul_fp32_factor: 4,        // §1.1 79 vs 20 TFLOPS
            load_stationary_speedup: 4,   // §1.3 LS up to 4× faster than MM
            transpose_fp32_factor: 2,     // §1.3 v3: 2× FP32 transpose speed
            tensor_bf16_tflops: 79.0,     // §1.1 core BF16 79
            engine_min_cycles: 64,        // §1.4 (v2 figure, reused)
            engine_access_cycles: 60,     // §1.4 (v2 figure, reused)
            gpsimd_pattern_cycles: 150,   // §1.4 (v2 figure, reused)
            activation_reduce_cycles: 64, // §1.4 (v2 figure, reused)
            dma_gbps: 368.0,              // §1.1 16 × 23 B/ns
            hbm_gbps: 362.0,              // §1.1 derived 2.9 TB/s / 8 cores
            dma_full_rate_bytes: 2048,    // §1.6
            dma_partitions_per_queue: 8,  // §1.6
            dma_queues: 16,               // §1.1 16 DMA engines per core
            dma_latency_ns: 1300.0,       // §1.6
        }
    }

    /// Trainium3, NeuronCore-v4.
    pub fn trn3() -> TargetCosts {
        TargetCosts {
            target: Target::Trn3,
            tensor_ghz: 2.4,              // §1.2 @ 2.4 GHz
            vector_ghz: 1.2,              // §1.2 VectorE @ 1.2 GHz
            scalar_ghz: 1.2,              // §1.2 ScalarE @ 1.2 GHz
            gpsimd_ghz: 1.2,              // §1.2 GpSimdE 128 @ 1.2 GHz
            vector_rate_16bit: 4.0,       // §1.2 512 BF16/FP16/FP8 / 128
            vector_rate_other: 2.0,       // §1.2 256 other / 128
            scalar_rate_16bit: 2.0,       // §1.2 ScalarE 256 BF16/FP16/FP8 / 128
            scalar_rate_other: 1.0,       // §1.2 128 other
            gpsimd_rate: 1.0,             // §1.2 128
            matmul_min_cycles: 64,        // §1.3 MM_INIT_LATENCY (v2 figure, reused)
            matmul_fp32_factor: 4,        // §1.1 79 vs 20 TFLOPS
            load_stationary_speedup: 4,   // §1.3 LS up to 4× faster than MM
            transpose_fp32_factor: 2,     // §1.3 v3+: 2× FP32 transpose speed
            tensor_bf16_tflops: 79.0,     // §1.1 core BF16 79
            engine_min_cycles: 64,        // §1.4 (v2 figure, reused)
            engine_access_cycles: 60,     // §1.4 (v2 figure, reused)
            gpsimd_pattern_cycles: 150,   // §1.4 (v2 figure, reused)
            activation_reduce_cycles: 64, // §1.4 (v2 figure, reused)
            dma_gbps: 528.0,              // §1.1 16 × 33 B/ns
            hbm_gbps: 612.0,              // §1.1 derived 4.9 TB/s / 8 cores
            dma_full_rate_bytes: 2048,    // §1.6
            dma_partitions_per_queue: 8,  // §1.6
            dma_queues: 16,               // §1.1 16 DMA engines per core
            dma_latency_ns: 1300.0,       // §1.6
        }
    }

    /// Peak DMA rate (bytes per ns) of a transfer; HBM caps transfers that
    /// touch it (§1.1: per-core HBM share).
    pub fn dma_peak_gbps(&self, touches_hbm: bool) -> f64 {
        if touches_hbm {
            self.dma_gbps.min(self.hbm_gbps)
        } else {
            self.dma_gbps
        }
    }
}
