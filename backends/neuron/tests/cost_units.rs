//! The cost model on single instructions and tiny kernels: every formula
//! against the figure trainium.md documents for it, and the scheduling
//! rules (dependencies, overlap, stationary reuse) on hand-checkable cases.

use trnc_backend_neuron::cost::{estimate, inst_cost, timeline, InstCost, TargetCosts};
use trnc_ir::kernel::{
    Accumulate, ActFunc, Affine, AluOp, Engine, HbmAccess, HbmId, HbmTensor, Inst, Kernel, LoopVar, Memory, Operand,
    ScalarOperand, Stmt, Tile, TileAccess, TileId,
};
use trnc_ir::{DType, Target};

// ------------------------------------------------------------- builders

fn tile(name: &str, memory: Memory, dtype: DType, shape: &[usize]) -> Tile {
    Tile { name: name.into(), memory, dtype, shape: shape.to_vec() }
}

fn kernel(tiles: Vec<Tile>, inputs: Vec<HbmTensor>, body: Vec<Stmt>) -> Kernel {
    Kernel { name: "k".into(), inputs, outputs: Vec::new(), tiles, body, origin: Vec::new() }
}

fn hbm_tensor(dtype: DType, shape: &[usize]) -> HbmTensor {
    HbmTensor { name: "x".into(), dtype, shape: shape.to_vec() }
}

fn whole(k_tiles: &[Tile], id: u32) -> TileAccess {
    TileAccess::whole(TileId(id), &k_tiles[id as usize].shape)
}

fn inst(i: Inst) -> Stmt {
    Stmt::Inst { inst: i, note: None }
}

/// `rows × cols` at the origin of a row-major tensor with rows of `row_len`.
fn hbm_block(row_len: usize, rows: usize, cols: usize) -> Operand {
    Operand::Hbm(HbmAccess {
        tensor: HbmId(0),
        offset: Affine::constant(0),
        pattern: vec![(row_len as i64, rows), (1, cols)],
    })
}

fn cost_of(k: &Kernel, target: Target) -> InstCost {
    let Stmt::Inst { inst, .. } = &k.body[0] else { panic!("first statement is not an instruction") };
    inst_cost(k, inst, &TargetCosts::new(target))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

/// One matmul `[K=128, M=128] x [128, n]` with the given operand dtype.
fn matmul_kernel(n: usize, dtype: DType) -> Kernel {
    let tiles = vec![
        tile("st", Memory::Sbuf, dtype, &[128, 128]),
        tile("mv", Memory::Sbuf, dtype, &[128, n]),
        tile("ps", Memory::Psum, DType::F32, &[128, n]),
    ];
    let body = vec![inst(Inst::Matmul {
        dst: whole(&tiles, 2),
        stationary: whole(&tiles, 0),
        moving: whole(&tiles, 1),
        accumulate: Accumulate::Overwrite,
    })];
    kernel(tiles, vec![], body)
}

/// A one-instruction kernel on tiles `a` (src) and `b` (dst) of one shape.
fn unary_kernel(dtype: DType, shape: &[usize], make: impl Fn(TileAccess, TileAccess) -> Inst) -> Kernel {
    let tiles = vec![tile("a", Memory::Sbuf, dtype, shape), tile("b", Memory::Sbuf, dtype, shape)];
    let body = vec![inst(make(whole(&tiles, 0), whole(&tiles, 1)))];
    kernel(tiles, vec![], body)
}

/// A DMA of `rows × cols` of a `[rows, row_len]` HBM tensor into a tile.
fn load_kernel(dtype: DType, row_len: usize, rows: usize, cols: usize) -> Kernel {
    let tiles = vec![tile("t", Memory::Sbuf, dtype, &[rows, cols])];
    let body = vec![inst(Inst::DmaCopy { dst: Operand::Tile(whole(&tiles, 0)), src: hbm_block(row_len, rows, cols) })];
    kernel(tiles, vec![hbm_tensor(dtype, &[rows, row_len])], body)
}

// --------------------------------------------------------------- TensorE

#[test]
fn matmul_n512_bf16_is_512_cycles_at_2_8_ghz() {
    let c = cost_of(&matmul_kernel(512, DType::BF16), Target::Trn1);
    assert_eq!(c.engine, Engine::Tensor);
    assert_eq!(c.cycles, 512);
    assert!(close(c.busy_ns, 512.0 / 2.8), "{}", c.busy_ns);
    assert_eq!(c.flops, 2 * 128 * 512 * 128);
    // LoadStationary: max(128, 64) / 4 cycles (§1.3 "up to 4x faster").
    assert_eq!(c.load_stationary_cycles, 32);
    // At the 92 TFLOPS BF16 peak the same flops take flops / 92e3 ns.
    assert!(close(c.tensor_peak_ns, c.flops as f64 / 92e3));
}

#[test]
fn matmul_small_moving_pays_the_64_cycle_floor() {
    assert_eq!(cost_of(&matmul_kernel(32, DType::BF16), Target::Trn1).cycles, 64);
    assert_eq!(cost_of(&matmul_kernel(64, DType::BF16), Target::Trn1).cycles, 64);
    assert_eq!(cost_of(&matmul_kernel(65, DType::BF16), Target::Trn1).cycles, 65);
}

#[test]
fn matmul_fp32_is_four_times_slower() {
    let c = cost_of(&matmul_kernel(512, DType::F32), Target::Trn1);
    assert_eq!(c.cycles, 4 * 512);
    assert_eq!(c.load_stationary_cycles, 4 * 32);
    // FP32 peak is BF16 / 4 (§1.1: 23 TFLOPS).
    assert!(close(c.tensor_peak_ns, c.flops as f64 / 23e3));
    let c2 = cost_of(&matmul_kernel(512, DType::F32), Target::Trn2);
    assert!(close(c2.busy_ns, 2048.0 / 2.4));
}

#[test]
fn fp8_matmul_runs_at_the_bf16_rate() {
    assert_eq!(cost_of(&matmul_kernel(512, DType::F8E4M3), Target::Trn1).cycles, 512);
}

#[test]
fn tensor_engine_transpose() {
    let make = |dtype| {
        let tiles = vec![tile("a", Memory::Sbuf, dtype, &[128, 128]), tile("t", Memory::Psum, dtype, &[128, 128])];
        let body = vec![inst(Inst::Transpose { dst: whole(&tiles, 1), src: whole(&tiles, 0), engine: Engine::Tensor })];
        kernel(tiles, vec![], body)
    };
    // max(P, min(64, F)) (§1.4); FP32 ×4 on v2, ×2 on v3+ (§1.3).
    assert_eq!(cost_of(&make(DType::BF16), Target::Trn1).cycles, 128);
    assert_eq!(cost_of(&make(DType::F32), Target::Trn1).cycles, 512);
    assert_eq!(cost_of(&make(DType::F32), Target::Trn2).cycles, 256);
}

// ----------------------------------------------- Vector, Scalar, GpSimd

fn tensor_scalar(dst: TileAccess, src: TileAccess) -> Inst {
    Inst::TensorScalar {
        dst,
        src,
        op0: AluOp::Multiply,
        operand0: ScalarOperand::Imm(2.0),
        reverse0: false,
        op1: None,
        engine: Engine::Vector,
    }
}

#[test]
fn vector_op_on_128x2048_is_about_2048_cycles() {
    let c = cost_of(&unary_kernel(DType::BF16, &[128, 2048], tensor_scalar), Target::Trn1);
    assert_eq!(c.engine, Engine::Vector);
    // N cycles + the ~60-cycle access overhead (§1.4), at 1.12 GHz (§1.2).
    assert_eq!(c.cycles, 2048 + 60);
    assert!(close(c.busy_ns, 2108.0 / 1.12));
}

#[test]
fn two_input_tensor_tensor_streams_2n() {
    let tiles = vec![
        tile("a", Memory::Sbuf, DType::F32, &[128, 2048]),
        tile("b", Memory::Sbuf, DType::F32, &[128, 2048]),
        tile("c", Memory::Sbuf, DType::F32, &[128, 2048]),
    ];
    let body = vec![inst(Inst::TensorTensor {
        dst: whole(&tiles, 2),
        a: whole(&tiles, 0),
        b: whole(&tiles, 1),
        op: AluOp::Add,
    })];
    assert_eq!(cost_of(&kernel(tiles, vec![], body), Target::Trn1).cycles, 2 * 2048 + 60);
}

#[test]
fn tiny_instructions_pay_the_64_cycle_minimum() {
    let c = cost_of(&unary_kernel(DType::F32, &[128, 8], tensor_scalar), Target::Trn1);
    assert_eq!(c.cycles, 64 + 60);
}

#[test]
fn activation_runs_on_scalar_engine_clock() {
    let act = |dst, src| Inst::Activation {
        dst,
        src,
        func: ActFunc::Exp,
        scale: ScalarOperand::Imm(1.0),
        bias: None,
        reduce: None,
    };
    let c = cost_of(&unary_kernel(DType::F32, &[128, 1024], act), Target::Trn1);
    assert_eq!(c.engine, Engine::Scalar);
    assert_eq!(c.cycles, 1024 + 60);
    assert!(close(c.busy_ns, 1084.0 / 1.4));
    // A free-axis sum adds the ~64-cycle accumulator read-out (§1.4).
    let tiles = vec![
        tile("a", Memory::Sbuf, DType::F32, &[128, 1024]),
        tile("b", Memory::Sbuf, DType::F32, &[128, 1024]),
        tile("r", Memory::Sbuf, DType::F32, &[128, 1]),
    ];
    let body = vec![inst(Inst::Activation {
        dst: whole(&tiles, 1),
        src: whole(&tiles, 0),
        func: ActFunc::Exp,
        scale: ScalarOperand::Imm(1.0),
        bias: None,
        reduce: Some(whole(&tiles, 2)),
    })];
    assert_eq!(cost_of(&kernel(tiles, vec![], body), Target::Trn1).cycles, 1024 + 60 + 64);
    // Trn3 ScalarE streams 256 BF16 per cycle (§1.2): half the cycles.
    let c3 = cost_of(&unary_kernel(DType::BF16, &[128, 1024], act), Target::Trn3);
    assert_eq!(c3.cycles, 512 + 60);
}

#[test]
fn bf16_add_reduce_is_half_rate() {
    let reduce = |op| {
        move |dst: TileAccess, src: TileAccess| {
            let mut dst = dst;
            dst.free = vec![(Affine::constant(0), 1)];
            Inst::TensorReduce { dst, src, op, axes: vec![1], negate: false }
        }
    };
    assert_eq!(cost_of(&unary_kernel(DType::BF16, &[128, 1024], reduce(AluOp::Add)), Target::Trn1).cycles, 512 + 60);
    assert_eq!(
        cost_of(&unary_kernel(DType::BF16, &[128, 1024], reduce(AluOp::Minimum)), Target::Trn1).cycles,
        1024 + 60
    );
    assert_eq!(cost_of(&unary_kernel(DType::F32, &[128, 1024], reduce(AluOp::Add)), Target::Trn1).cycles, 1024 + 60);
}

#[test]
fn iota_is_150_plus_n_gpsimd_cycles() {
    let tiles = vec![tile("i", Memory::Sbuf, DType::F32, &[128, 300])];
    let body =
        vec![inst(Inst::Iota { dst: whole(&tiles, 0), pattern: vec![(1, 300)], offset: 0, channel_multiplier: 0 })];
    let c = cost_of(&kernel(tiles, vec![], body), Target::Trn1);
    assert_eq!((c.engine, c.cycles), (Engine::GpSimd, 450));
    assert!(close(c.busy_ns, 450.0 / 1.4));
}

#[test]
fn trn2_vector_is_wider_for_16_bit_sbuf_operands() {
    // 512 BF16 or 256 other elements per cycle over 128 lanes, 0.96 GHz (§1.2).
    let bf16 = cost_of(&unary_kernel(DType::BF16, &[128, 2048], tensor_scalar), Target::Trn2);
    assert_eq!(bf16.cycles, 512 + 60);
    assert!(close(bf16.busy_ns, 572.0 / 0.96));
    assert_eq!(cost_of(&unary_kernel(DType::F32, &[128, 2048], tensor_scalar), Target::Trn2).cycles, 1024 + 60);
}

// ------------------------------------------------------------------- DMA

#[test]
fn dma_of_128_rows_of_2_kib_runs_at_the_trn1_rate() {
    let c = cost_of(&load_kernel(DType::BF16, 1024, 128, 1024), Target::Trn1);
    let d = c.dma.clone().unwrap();
    assert_eq!((d.bytes, d.chunk_bytes), (128 * 2048, 2048));
    assert_eq!(d.efficiency, 1.0);
    // 272 GB/s = 272 bytes per ns (§1.1), plus 1300 ns latency (§1.6).
    assert!(close(c.busy_ns, 128.0 * 2048.0 / 272.0), "{}", c.busy_ns);
    assert_eq!(c.latency_ns, 1300.0);
    assert_eq!((c.hbm_read_bytes, c.hbm_write_bytes), (128 * 2048, 0));
}

#[test]
fn dma_below_2_kib_per_partition_is_proportionally_slower() {
    // 128 bf16 = 256 B per partition out of rows of 4096: 1/8 of peak.
    let c = cost_of(&load_kernel(DType::BF16, 4096, 128, 128), Target::Trn1);
    let d = c.dma.unwrap();
    assert_eq!(d.chunk_bytes, 256);
    assert_eq!(d.efficiency, 0.125);
    assert!(close(c.busy_ns, 128.0 * 256.0 / 34.0));
    // A strided (column) read moves one element per descriptor.
    let tiles = vec![tile("t", Memory::Sbuf, DType::F32, &[128, 4])];
    let src =
        Operand::Hbm(HbmAccess { tensor: HbmId(0), offset: Affine::constant(0), pattern: vec![(1, 128), (128, 4)] });
    let body = vec![inst(Inst::DmaCopy { dst: Operand::Tile(whole(&tiles, 0)), src })];
    let k = kernel(tiles, vec![hbm_tensor(DType::F32, &[4, 128])], body);
    assert_eq!(cost_of(&k, Target::Trn1).dma.unwrap().chunk_bytes, 4);
}

#[test]
fn dma_over_few_partitions_uses_few_queues() {
    // 16 partitions engage 2 of the 16 queues (§1.6: 8 partitions each).
    let c = cost_of(&load_kernel(DType::BF16, 1024, 16, 1024), Target::Trn1);
    assert!(close(c.busy_ns, 16.0 * 2048.0 / (272.0 / 8.0)));
}

#[test]
fn dma_rate_per_target_with_hbm_ceiling() {
    let rate = |t| cost_of(&load_kernel(DType::BF16, 1024, 128, 1024), t).dma.unwrap().rate_gbps;
    assert_eq!(rate(Target::Trn1), 272.0);
    // Trn2: DMA 368 GB/s but HBM only ~362 GB/s per core (§1.1).
    assert_eq!(rate(Target::Trn2), 362.0);
    assert_eq!(rate(Target::Trn3), 528.0);
}

#[test]
fn target_tables_follow_trainium_md() {
    let peaks: Vec<(f64, f64, f64)> = Target::ALL
        .iter()
        .map(|&t| {
            let c = TargetCosts::new(t);
            assert_eq!(c.target, t);
            (c.tensor_ghz, c.tensor_bf16_tflops, c.dma_gbps)
        })
        .collect();
    assert_eq!(peaks, vec![(2.8, 92.0, 272.0), (2.4, 79.0, 368.0), (2.4, 79.0, 528.0)]);
    // 128 × 128 PEs × 2 flop × clock ≈ the quoted peak (§1.1 consistency check).
    for &t in &Target::ALL {
        let c = TargetCosts::new(t);
        let derived = 128.0 * 128.0 * 2.0 * c.tensor_ghz / 1e3;
        assert!((derived - c.tensor_bf16_tflops).abs() / c.tensor_bf16_tflops < 0.01, "{t}: {derived}");
    }
}

// ------------------------------------------------------------ scheduling

/// Two matmuls into two PSUM tiles; `same` = they share the stationary.
fn two_matmuls(same: bool) -> Kernel {
    let tiles = vec![
        tile("s0", Memory::Sbuf, DType::BF16, &[128, 128]),
        tile("s1", Memory::Sbuf, DType::BF16, &[128, 128]),
        tile("mv", Memory::Sbuf, DType::BF16, &[128, 512]),
        tile("p0", Memory::Psum, DType::F32, &[128, 512]),
        tile("p1", Memory::Psum, DType::F32, &[128, 512]),
    ];
    let mm = |st: u32, dst: u32| {
        inst(Inst::Matmul {
            dst: whole(&tiles, dst),
            stationary: whole(&tiles, st),
            moving: whole(&tiles, 2),
            accumulate: Accumulate::Overwrite,
        })
    };
    let body = vec![mm(0, 3), mm(if same { 0 } else { 1 }, 4)];
    kernel(tiles, vec![], body)
}

#[test]
fn stationary_reuse_skips_load_stationary() {
    let reused = estimate(&two_matmuls(true), Target::Trn1);
    let changed = estimate(&two_matmuls(false), Target::Trn1);
    let ns = |cycles: f64| (cycles / 2.8 * 1000.0).round() / 1000.0;
    assert!((reused.busy_ns(Engine::Tensor) - 2.0 * ns(512.0) - ns(32.0)).abs() < 0.01);
    assert!((changed.busy_ns(Engine::Tensor) - 2.0 * ns(544.0)).abs() < 0.01);
    assert_eq!(reused.critical_engine, Engine::Tensor);
}

/// Load `t` from HBM, then `use_` reads it.
fn load_then(use_inst: impl Fn(&[Tile]) -> Inst, extra: Vec<Tile>) -> Kernel {
    let mut tiles = vec![tile("t", Memory::Sbuf, DType::BF16, &[128, 1024])];
    tiles.extend(extra);
    let body = vec![
        inst(Inst::DmaCopy { dst: Operand::Tile(whole(&tiles, 0)), src: hbm_block(1024, 128, 1024) }),
        inst(use_inst(&tiles)),
    ];
    kernel(tiles, vec![hbm_tensor(DType::BF16, &[128, 1024])], body)
}

#[test]
fn a_reader_waits_for_the_dma_and_its_latency() {
    let k = load_then(
        |t| tensor_scalar(whole(t, 1), whole(t, 0)),
        vec![tile("u", Memory::Sbuf, DType::BF16, &[128, 1024])],
    );
    let tl = timeline(&k, Target::Trn1);
    let dma_end = tl[0].end_ns;
    assert_eq!(tl[0].engine, Engine::Dma);
    assert!((tl[1].start_ns - (dma_end + 1300.0)).abs() < 0.01, "{:?}", tl);
    let e = estimate(&k, Target::Trn1);
    assert!((e.total_ns - tl[1].end_ns).abs() < 0.01);
}

#[test]
fn independent_dma_and_compute_overlap() {
    // The vector op writes `u` from `v`, unrelated to the loaded `t`.
    let k = load_then(
        |t| tensor_scalar(whole(t, 1), whole(t, 2)),
        vec![tile("u", Memory::Sbuf, DType::BF16, &[128, 1024]), tile("v", Memory::Sbuf, DType::BF16, &[128, 1024])],
    );
    let e = estimate(&k, Target::Trn1);
    let dma = e.busy_ns(Engine::Dma);
    let vector = e.busy_ns(Engine::Vector);
    assert!(e.total_ns < dma + 1300.0 + vector, "overlap expected: {e}");
    assert!((e.total_ns - (dma + 1300.0).max(vector)).abs() < 0.01);
}

#[test]
fn a_write_waits_for_earlier_readers() {
    // Vector reads `t` (long), then a DMA overwrites `t`: write-after-read.
    let tiles =
        vec![tile("t", Memory::Sbuf, DType::BF16, &[128, 1024]), tile("u", Memory::Sbuf, DType::BF16, &[128, 1024])];
    let body = vec![
        inst(tensor_scalar(whole(&tiles, 1), whole(&tiles, 0))),
        inst(Inst::DmaCopy { dst: Operand::Tile(whole(&tiles, 0)), src: hbm_block(1024, 128, 1024) }),
    ];
    let k = kernel(tiles, vec![hbm_tensor(DType::BF16, &[128, 1024])], body);
    let tl = timeline(&k, Target::Trn1);
    assert!(tl[1].start_ns >= tl[0].end_ns - 1e-9, "{tl:?}");
}

/// `n` iterations of: load a [128, 512] bf16 block into slot `i % slots`,
/// then a vector op reads it.
fn pipelined(slots: usize, n: usize) -> Kernel {
    let tiles = vec![
        tile("buf", Memory::Sbuf, DType::BF16, &[128, slots, 512]),
        tile("out", Memory::Sbuf, DType::F32, &[128, 512]),
    ];
    let (hi, lo) = (LoopVar(0), LoopVar(1));
    let slot = TileAccess {
        tile: TileId(0),
        partition_start: Affine::constant(0),
        partitions: 128,
        free: vec![(Affine::var(lo, 1), 1), (Affine::constant(0), 512)],
    };
    let row = Affine::var(hi, (slots * 512) as i64).plus(&Affine::var(lo, 512));
    let src = Operand::Hbm(HbmAccess { tensor: HbmId(0), offset: row, pattern: vec![(512 * n as i64, 128), (1, 512)] });
    let body = vec![Stmt::Loop {
        var: hi,
        count: n / slots,
        body: vec![Stmt::Loop {
            var: lo,
            count: slots,
            body: vec![
                inst(Inst::DmaCopy { dst: Operand::Tile(slot.clone()), src }),
                inst(tensor_scalar(TileAccess::whole(TileId(1), &[128, 512]), slot)),
            ],
        }],
    }];
    kernel(tiles, vec![hbm_tensor(DType::BF16, &[128, 512 * n])], body)
}

#[test]
fn double_buffering_overlaps_loads_with_compute() {
    let single = estimate(&pipelined(1, 16), Target::Trn1);
    let double = estimate(&pipelined(2, 16), Target::Trn1);
    assert!(double.total_ns < 0.8 * single.total_ns, "single {single}\ndouble {double}");
    // Same work either way.
    assert_eq!(single.busy_ns(Engine::Dma), double.busy_ns(Engine::Dma));
}

#[test]
fn estimates_are_deterministic() {
    let k = pipelined(2, 16);
    assert_eq!(estimate(&k, Target::Trn2), estimate(&k, Target::Trn2));
    assert_eq!(timeline(&k, Target::Trn3), timeline(&k, Target::Trn3));
}

#[test]
fn a_million_instructions_estimate_quickly() {
    // 500k iterations of load + vector op = 1M instructions.
    let k = pipelined(2, 500_000);
    let t0 = std::time::Instant::now();
    let e = estimate(&k, Target::Trn1);
    let took = t0.elapsed();
    assert_eq!(e.instructions, 1_000_000);
    println!("1M instructions in {took:?}");
    // Generous bound for unoptimised, shared CI machines; release builds
    // take ~0.1-0.2 s.
    assert!(took.as_secs_f64() < 5.0, "{took:?}");
}
